"""A static copy of the released portal: a folder any web server or mirror can host at its root.

Every public page (in each language, under ``/fr/`` and so on, and in English at the root), every released file,
the RIS references, the sitemap, the release feed and robots.txt are written by asking the portal itself, so the
copy is exactly what the live portal serves. So is the holdings room: its index and a page per title (in each
language), and its reports at their stable addresses (KBART for all titles, the access programme and each
publisher, the ONIX-PH feed, DOAJ's values), as of the export. Search and OAI-PMH need the live portal and are left out.

A list shown a page at a time (titles, publishers, a country's publishers, a publisher's titles, the holdings) links
to its next page by a query string (``?after=CURSOR``), which a folder of files cannot answer: every page of every
such list is written, its next link followed as a reader would, the page after ``LIST/`` as ``LIST/page-2.html``
and so on beside it, and the next link of each page written is pointed at that file. (A cursor can run to hundreds
of characters, more than a file name may hold, hence numbers; beside the first page, so every other relative link
of the page, "first page" (``./``) among them, leads where it does on the live portal.)

The folder is built beside the destination and moved into place at the end, so a failed export leaves nothing.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from strongroom.errors import ConfigError, StrongroomError
from strongroom.inprocess import TestClient
from strongroom.node import Node
from strongroom.portal.app import create_portal
from strongroom.portal.feeds import page_paths, sitemap_part_numbers
from strongroom.portal.i18n import LANGUAGES


@dataclass
class StaticExport:
    dest: Path
    pages: int = 0
    files: int = 0
    bytes: int = 0


def _target(root: Path, path: str) -> Path:
    rel = unquote(path).lstrip("/")
    target = (root / rel / "index.html") if path.endswith("/") else root / rel
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise StrongroomError(f"refusing to write {path!r} outside the export folder")
    return target


# The next-page link of a list (templates/pager.html): relative, so it keeps the page's language prefix.
_NEXT_LINK = re.compile(rb'href="\?after=([^"]*)"')


def _continuation(path: str, number: int) -> str:
    """Where the ``number``-th page (2, 3, ...) of the list at ``path`` is written in the static copy."""
    return f"{path}page-{number}.html"


def holdings_paths(node: Node) -> tuple[list[str], list[str]]:
    """The holdings room's pages (its index and one per title, written in every language) and its reports (one
    copy each: a report is the same in every language)."""
    report = node.holdings.report()
    pages = ["/holdings/", *(f"/holdings/titles/{quote(t.key, safe=':')}/" for t in report.titles)]
    publishers = sorted({t.publisher_key for t in report.titles if t.publisher_key})
    reports = ["/holdings/kbart.txt", "/holdings/kbart/programme.txt"]
    reports += [f"/holdings/kbart/publishers/{quote(key, safe='')}.txt" for key in publishers]
    reports += ["/holdings/onix.xml", "/holdings/doaj.json"]
    return pages, reports


def export_static(node: Node, dest: Path, progress: Callable[[int, int], None] | None = None) -> StaticExport:
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest} exists and is not empty", hint="choose a new folder; an export never overwrites")
    work = dest.parent / f".{dest.name}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result = StaticExport(dest)
    released = node.released()
    pages = [p for p, _ in page_paths(released)]
    parts = [f"/sitemaps/{n}.xml" for n in sitemap_part_numbers(released)]
    holdings_pages, holdings_reports = holdings_paths(node)
    pages += holdings_pages
    extra = ["/sitemap.xml", *parts, "/releases.atom", "/robots.txt", *holdings_reports]
    extra += [f"/{lang}/releases.atom" for lang in LANGUAGES]  # where a page in that language links to the feed
    files: list[str] = []
    after = 0
    while batch := released.page(after_id=after, limit=1000):
        after = batch[-1].id
        for item in batch:
            pages.append(f"/articles/{item.public_id}/")
            files.append(f"/articles/{item.public_id}/cite.ris")
            files += [f"/articles/{item.public_id}/{f.name}" for f in item.files]
    file_set = set(files)
    # (address to ask the portal, address written in the copy; for a list's page: the list's and its number)
    wanted: list[tuple[str, str, tuple[str, int] | None]] = [
        (p, p, None) for p in pages + [f"/{lang}{p}" for lang in LANGUAGES for p in pages] + extra + files
    ]
    written = {p for _, p, _ in wanted}
    try:
        with TestClient(create_portal(node), base_url=node.settings.portal.base_url) as client:
            n = 0
            while n < len(wanted):
                path, static_path, listed = wanted[n]
                n += 1
                response = client.get(path, headers={"Accept-Language": "en"})
                if response.status_code != 200:
                    raise StrongroomError(f"the portal answered {response.status_code} for {path}; export stopped")
                content = response.content
                if static_path not in file_set and (following := _NEXT_LINK.search(content)):
                    # the list goes on: its next page is written too, and this page's link points at that file
                    base, number = listed or (path, 1)
                    next_path = _continuation(base, number + 1)
                    if next_path in written:
                        raise StrongroomError(f"{next_path} would be written twice; export stopped")
                    written.add(next_path)
                    cursor = html.unescape(following.group(1).decode())
                    wanted.append((f"{base}?after={cursor}", next_path, (base, number + 1)))
                    href = f'href="{next_path.rsplit("/", 1)[1]}"'.encode()
                    content = content[: following.start()] + href + content[following.end() :]
                target = _target(work, static_path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
                result.bytes += len(content)
                if static_path in file_set:
                    result.files += 1
                else:
                    result.pages += 1
                if progress:
                    progress(n, len(wanted))
        if dest.exists():
            dest.rmdir()
        os.replace(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return result
