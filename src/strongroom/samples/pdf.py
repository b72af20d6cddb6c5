"""Small valid PDFs for sample articles, written by hand: one page of Helvetica text (WinAnsiEncoding).

Characters outside Latin-1 (Arabic, for instance) are transliterated where Unicode decomposition allows and
replaced by '?' otherwise, in the PDF only; the JATS keeps the real text.
"""

from __future__ import annotations

import textwrap
import unicodedata

from strongroom.samples.corpus import SampleArticle, SampleTitle


def _latin1(text: str) -> str:
    out = []
    for ch in text:
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(base or "?")
    return "".join(out)


def _escape(text: str) -> str:
    return _latin1(text).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def article_pdf(article: SampleArticle, title: SampleTitle) -> bytes:
    lines: list[tuple[int, str]] = [
        (14, article.title),
        (10, ", ".join(a.name for a in article.authors)),
        (
            9,
            f"{title.title}, vol. {article.volume}, no. {article.issue}, "
            f"pp. {article.fpage}-{article.lpage} ({article.published.year})",
        ),
        (9, f"https://doi.org/{article.doi}"),
        (9, ""),
    ]
    lines += [(10, chunk) for chunk in textwrap.wrap(_latin1(article.abstract), 90)]
    ops = ["BT", "72 770 Td"]
    for size, text in lines:
        ops.append(f"/F1 {size} Tf ({_escape(text)}) Tj 0 -{size + 6} Td")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Title (" + _escape(article.title).encode("latin-1") + b") /Producer (Strongroom samples) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
