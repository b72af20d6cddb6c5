"""Sample deposit packages in every accepted form, written deterministically (fixed dates, sorted entries)."""

from __future__ import annotations

import csv
import gzip
import io
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import bagit

from strongroom.samples.corpus import SampleArticle, SampleTitle
from strongroom.samples.jats import article_jats
from strongroom.samples.pdf import article_pdf

FIXED_DATE = (2024, 12, 31, 0, 0, 0)
FIXED_EPOCH = 1735603200  # 2024-12-31T00:00:00Z


def supplement_csv(article: SampleArticle) -> bytes:
    rows = [["district", "households", "value"]]
    for i, kw in enumerate(article.keywords, start=1):
        rows.append([kw, str(40 + 7 * i), f"{article.fpage * i / 10:.2f}"])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _has_supplement(article: SampleArticle, index: int) -> bool:
    return article.with_supplement or index == 0


def write_bag(
    dest: Path,
    articles: Sequence[SampleArticle],
    title: SampleTitle,
    *,
    algorithms: Sequence[str] = ("sha256", "sha512"),
) -> Path:
    """A BagIt 1.0 bag directory: ``data/<article>/article.xml``, ``article.pdf`` and sometimes a supplement."""
    dest.mkdir(parents=True)
    for i, art in enumerate(articles):
        folder = dest / art.slug
        folder.mkdir()
        (folder / "article.xml").write_bytes(article_jats(art, title))
        (folder / "article.pdf").write_bytes(article_pdf(art, title))
        if _has_supplement(art, i):
            (folder / "supplement-1.csv").write_bytes(supplement_csv(art))
    bagit.make_bag(
        str(dest),
        bag_info={
            "Source-Organization": title.publisher.name,
            "External-Identifier": f"{title.slug}-{articles[0].published.year}",
            "External-Description": f"{title.title}: {len(articles)} articles",
            "Bagging-Date": "2024-12-31",
        },
        checksums=list(algorithms),
    )
    return dest


def write_jats_dir(dest: Path, articles: Sequence[SampleArticle], title: SampleTitle) -> Path:
    """A plain folder: ``<slug>.xml`` and ``<slug>.pdf`` per article, and supplements named after them."""
    dest.mkdir(parents=True)
    for i, art in enumerate(articles):
        (dest / f"{art.slug}.xml").write_bytes(article_jats(art, title))
        (dest / f"{art.slug}.pdf").write_bytes(article_pdf(art, title))
        if _has_supplement(art, i):
            (dest / f"{art.slug}-supplement-1.csv").write_bytes(supplement_csv(art))
    return dest


def _zip_bytes(entries: Sequence[tuple[str, bytes]], dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return dest


def write_jasper_zip(dest: Path, articles: Sequence[SampleArticle], title: SampleTitle) -> Path:
    """A JASPER-style ZIP: ``identifiers.csv`` (doi, full_text_url, folder) and one folder per article with its
    PDF; every other article also carries its JATS."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["doi", "full_text_url", "folder"])
    entries: list[tuple[str, bytes]] = []
    for i, art in enumerate(articles):
        url = f"https://journals.example.org/{title.slug}/article/view/{art.slug}"
        writer.writerow([art.doi, url, art.slug])
        entries.append((f"{art.slug}/article.pdf", article_pdf(art, title)))
        if i % 2 == 0:
            entries.append((f"{art.slug}/article.xml", article_jats(art, title)))
    entries.append(("identifiers.csv", buf.getvalue().encode("utf-8")))
    return _zip_bytes(entries, dest)


def _files(src: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(src.parent).as_posix(), p.read_bytes()) for p in sorted(src.rglob("*")) if p.is_file()]


def zip_dir(src: Path, dest: Path) -> Path:
    """Zip a directory deterministically, under a top folder named after it (as most ZIP tools do)."""
    return _zip_bytes(_files(src), dest)


def targz_dir(src: Path, dest: Path) -> Path:
    """A deterministic ``.tar.gz`` of a directory (fixed times, no owner names), under a top folder."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (
        dest.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tf,
    ):
        for name, data in _files(src):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = FIXED_EPOCH
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return dest
