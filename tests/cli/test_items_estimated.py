"""``strongroom items TERM`` when the search engine estimated the total (a search matching millions of items):
the table's title and the paging note say "about", and --json carries ``"total_exact": false``; an exact total
reads as before, with ``"total_exact": true``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.node import Node
from strongroom.search.base import SearchHits, SearchQuery
from strongroom.search.tantivy_index import TantivyIndex
from strongroom.settings import load_settings, write_settings


@pytest.fixture
def home(node: Node, sample_dir: Path) -> Path:
    """A node holding one package, its search on the tantivy engine."""
    node.ingest.deposit(sorted(p for p in sample_dir.iterdir() if p.name.endswith("-bag.zip"))[0])
    home = node.settings.home
    node.close()
    write_settings(dataclasses.replace(load_settings(home), search_engine="tantivy"))
    with Node.open(home) as reopened:
        assert reopened.search.name == "tantivy" and reopened.search.count() > 0
    return home


def items(home: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["items", *args, "--home", str(home)], catch_exceptions=False, terminal_width=250)
    assert result.exit_code == 0, result.output
    return result.output


def test_an_estimated_total_is_said_to_be_one(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exact = json.loads(items(home, "journal", "--json"))
    assert exact["total_exact"] is True and exact["total"] > 0
    assert "about" not in items(home, "journal")
    real = TantivyIndex.search

    def estimating(self: TantivyIndex, query: SearchQuery) -> SearchHits:
        return dataclasses.replace(real(self, query), total=6_500_000, exact=False)

    monkeypatch.setattr(TantivyIndex, "search", estimating)
    estimated = json.loads(items(home, "journal", "--json"))
    assert estimated["total_exact"] is False and estimated["total"] == 6_500_000
    assert [i["id"] for i in estimated["items"]] == [i["id"] for i in exact["items"]]
    shown = items(home, "journal", "--limit", "1")
    assert "1 of about 6,500,000 items matching 'journal'" in shown
    assert "showing 1-1 of about 6,500,000 items; about 6,499,999 more" in shown
