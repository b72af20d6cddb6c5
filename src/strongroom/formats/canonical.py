"""Canonical JSON: the one byte form of a JSON value that signatures are made over (sorted keys, no spaces,
UTF-8), so a signed network configuration or a board member's ballot verifies wherever it is read."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
