"""Object ids in URLs: base64url without padding, so ids with '/' and ':' stay one path segment.

An id that arrives in a URL is checked before anything looks it up (:func:`object_id_from_url`): it must be the
one canonical spelling of its id, and the id must keep the rules for object ids on the wire (:func:`wire_id_problem`:
not empty, at most :data:`MAX_ID_BYTES` bytes of UTF-8, no control characters). An id is never joined into a path
anyway (the store finds an object by the sha256 of its id), but a hostile one is refused before it gets that far.

A file's path inside an object, the rest of a file request's URL, is checked the same way
(:func:`content_path_from_url`): a relative '/'-separated path with no '.', '..' or empty segment and no NUL. The
store serves only the paths its inventory names, so this only names the problem of a path no object can have,
before anything is looked up."""

from __future__ import annotations

import base64
import binascii
import unicodedata

MAX_ID_BYTES = 2048  # far above any AU's id ("strongroom:au/" + title key + "/" + a label of at most 100 characters)


def encode_id(object_id: str) -> str:
    return base64.urlsafe_b64encode(object_id.encode("utf-8")).decode("ascii").rstrip("=")


def _decode(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"not an encoded object id: {text[:40]!r}") from None


def wire_id_problem(object_id: str) -> str | None:
    """Why ``object_id`` breaks the rules for object ids in peer requests, or None when it keeps them."""
    if not object_id:
        return "an empty object id"
    if len(object_id.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        return f"an object id over {MAX_ID_BYTES} bytes"
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in object_id):
        return "an object id with a control character"
    return None


def object_id_from_url(text: str) -> str:
    """The object id a URL's path segment encodes; ValueError naming the problem when the segment is not the
    canonical base64url (unpadded) spelling of an id that keeps the rules of :func:`wire_id_problem`."""
    if len(text) > MAX_ID_BYTES * 4 // 3 + 4:
        raise ValueError(f"object id segment of {len(text)} characters: ids are at most {MAX_ID_BYTES} bytes")
    object_id = _decode(text)
    if encode_id(object_id) != text:  # padding, '+' or '/', stray bits: another spelling of some id
        raise ValueError(f"not the canonical encoding of an object id: {text[:40]!r} (unpadded base64url)")
    if problem := wire_id_problem(object_id):
        raise ValueError(f"{problem}: {text[:40]!r}")
    return object_id


MAX_PATH_BYTES = 4096  # a content path is "vN/content/" and a logical path (PATH_MAX on most systems)


def content_path_from_url(relpath: str) -> str:
    """``relpath``, a file's path inside an object as a URL names it (already percent-decoded, once), when it is
    one a file of an object can have; ValueError naming the problem otherwise."""
    shown = relpath[:80]
    if not relpath:
        raise ValueError("an empty file path")
    if len(relpath.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise ValueError(f"a file path over {MAX_PATH_BYTES} bytes: {shown!r}")
    # the rules the store keeps for logical paths (strongroom.store.paths.check_logical_paths), which a content
    # path ("vN/content/" and a logical path) keeps too; other control characters are legal in a file's name
    if "\0" in relpath:
        raise ValueError(f"a file path with a NUL character: {shown!r}")
    if relpath.startswith("/") or "\\" in relpath:
        raise ValueError(f"not a relative '/'-separated file path: {shown!r}")
    if any(segment in ("", ".", "..") for segment in relpath.split("/")):
        raise ValueError(f"a file path with an empty, '.' or '..' segment: {shown!r}")
    return relpath
