"""Fixtures the search tests share."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.clock import FixedClock
from strongroom.node import Node
from strongroom.settings import load_settings, write_settings


@pytest.fixture
def stocked_tantivy_node(tmp_path: Path, db_url: str, clock: FixedClock, sample_dir: Path) -> Iterator[Node]:
    """A node on the Tantivy engine holding every sample package."""
    home = tmp_path / "home"
    Node.create(home, database_url=db_url, clock=clock).close()
    write_settings(dataclasses.replace(load_settings(home), search_engine="tantivy"))
    with Node.open(home, clock=clock) as node:
        for package in sorted(sample_dir.iterdir()):
            if package.name.endswith("-bag"):
                node.ingest.deposit(package)
        yield node
