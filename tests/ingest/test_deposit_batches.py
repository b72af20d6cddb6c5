"""Cataloguing a deposit writes its items in batches of plain rows: with batches smaller than the package, every
item and file is catalogued and linked as one write would; a corrected package keeps the ids of the items it keeps,
removes those it drops and adds the new, and every change reaches the search index (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import strongroom.services.indexer as indexer
from strongroom.ingest.deposit import DepositOptions, plan_deposit, write_record
from strongroom.ingest.package import open_package
from strongroom.node import Node
from strongroom.samples import generate_corpus
from strongroom.samples.packages import write_jats_dir
from strongroom.settings import IngestLimits
from strongroom.store.hashing import JSON_CHUNK


def _catalogue(node: Node) -> tuple[dict[str, int], dict[str, str | None], int]:
    """Items' ids by DOI, each file's item DOI by logical path, and the search queue's length."""
    with node.catalog.engine.connect() as conn:
        items = dict(conn.execute(sa.text("SELECT doi, id FROM items")).all())
        files = dict(
            conn.execute(
                sa.text("SELECT f.logical_path, i.doi FROM files f LEFT JOIN items i ON i.id = f.item_id")
            ).all()
        )
        queued = conn.execute(sa.text("SELECT count(*) FROM search_queue")).scalar_one()
    return items, files, queued


def test_items_written_in_batches_are_all_catalogued_and_linked(
    node: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer, "ITEM_BATCH", 4)
    monkeypatch.setattr(indexer, "FILE_BATCH", 5)
    corpus = generate_corpus(5, publishers=1, titles_per_publisher=1, years=(2024,), articles_per_issue=7)
    title, _year, articles = corpus.groups()[0]
    assert len(articles) >= 13
    slugs = {a.doi: a.slug for a in articles}

    first = node.ingest.deposit(write_jats_dir(tmp_path / "v1", articles[:10], title))
    items, files, queued = _catalogue(node)
    assert set(items) == {a.doi for a in articles[:10]}
    assert queued == 0 and node.search.count() == 10  # every item reached the search index
    assert files.pop("strongroom/deposit.json") is None
    assert len(files) == first.files
    for path, doi in files.items():  # every payload file is linked to its own article
        assert doi is not None and Path(path).name.startswith(slugs[doi])
    [(au, count, _files, _bytes)] = node.catalog.aus()
    assert count == au.item_count == 10

    second = node.ingest.deposit(write_jats_dir(tmp_path / "v2", articles[3:13], title))
    assert second.version == 2 and second.au_key == first.au_key
    kept, files, queued = _catalogue(node)
    assert set(kept) == {a.doi for a in articles[3:13]}
    assert all(kept[a.doi] == items[a.doi] for a in articles[3:10])  # an item kept keeps its id
    assert queued == 0 and node.search.count() == 10  # three removed from the index, three added
    files.pop("strongroom/deposit.json")
    assert all(doi is not None and Path(p).name.startswith(slugs[doi]) for p, doi in files.items())
    [(au, count, _files, _bytes)] = node.catalog.aus()
    assert count == au.item_count == 10
    assert sum(n for _key, _year, n in au.volumes) == 10


def test_the_deposit_record_is_written_as_to_bytes_gives_it(tmp_path: Path) -> None:
    """Streamed to its file, the record keeps the bytes of DepositRecord.to_bytes: a package deposited again is
    recognised as unchanged, whichever way its record was first written."""
    corpus = generate_corpus(6, publishers=1, titles_per_publisher=1, years=(2024,), articles_per_issue=40)
    title, _year, articles = corpus.groups()[0]
    package = open_package(write_jats_dir(tmp_path / "pkg", articles, title), tmp_path / "work", IngestLimits())
    plan = plan_deposit(package, DepositOptions())
    written = write_record(plan, tmp_path).read_bytes()
    assert len(written) > JSON_CHUNK  # more than one piece was written
    assert written == plan.whole_record().to_bytes()
