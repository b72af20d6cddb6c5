"""Text from packages, publishers' sites and peers, made safe to show: a title may say anything, and is kept exactly
as it came in storage and the catalog, but on a terminal or a page it must not be able to act. Control characters
(terminal escape sequences among them) and the bidirectional embeddings, overrides and isolates that can make text
read backwards are shown as visible escapes; everything else, right-to-left scripts included, is left alone.

Must not import: anything but the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# C0 and C1 controls (but tab and newline), DEL, the bidi embeddings and overrides (U+202A-U+202E) and isolates
# (U+2066-U+2069), and the line and paragraph separators some terminals and scripts treat as line breaks.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
# XML 1.0 forbids these characters outright (a parser refuses the whole document).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def visible(text: str) -> str:
    """``text`` with every control or bidi-override character shown as ``\\uXXXX``."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def xml_safe(text: str) -> str:
    """``text`` with the characters XML cannot carry replaced by U+FFFD, so one record cannot break a feed."""
    return _NOT_XML.sub("\ufffd", text)


def chunked(pieces: Iterable[str], size: int) -> Iterator[str]:
    """``pieces`` joined into chunks of about ``size`` characters (the last may be shorter; none is empty): what a
    streamed file is written in, where a write per piece would cost more than the piece."""
    pending: list[str] = []
    held = 0
    for piece in pieces:
        pending.append(piece)
        held += len(piece)
        if held >= size:
            yield "".join(pending)
            pending.clear()
            held = 0
    if held:
        yield "".join(pending)
