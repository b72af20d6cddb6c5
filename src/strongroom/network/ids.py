"""Object ids in URLs: base64url without padding, so ids with '/' and ':' stay one path segment."""

from __future__ import annotations

import base64
import binascii


def encode_id(object_id: str) -> str:
    return base64.urlsafe_b64encode(object_id.encode("utf-8")).decode("ascii").rstrip("=")


def decode_id(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"not an encoded object id: {text[:40]!r}") from None
