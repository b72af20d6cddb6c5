"""`strongroom portal serve --workers N`: N processes answer on one port, each with its own node, and stopping the
server stops all of them (none is left running)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from lxml import html
from portal_fixtures import small_archive, start_portal, stop


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_several_processes_serve_the_portal_and_stop_together(
    db_factory: Callable[[], str], tmp_path: Path, sample_dir: Path
) -> None:
    home = tmp_path / "home"
    small_archive(home, db_factory(), sample_dir, "east-african-").close()
    portal = start_portal(home, "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while len(workers := children(portal.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) >= 2, (home / "portal.log").read_text()
        with httpx.Client(base_url=portal.url, timeout=30) as client:
            titles = html.fromstring(client.get("/titles/").text).xpath("//main//a/@href")
            title = next(h for h in titles if h.startswith("/titles/"))
            for _ in range(20):  # keep-alive off: each request may reach either process
                page = client.get(title, headers={"Connection": "close"})
                assert page.status_code == 200
            found = client.get("/search", params={"q": "agriculture"})
            assert found.status_code == 200
            listed = client.get("/oai", params={"verb": "ListRecords", "metadataPrefix": "oai_dc"})
            assert listed.status_code == 200 and b"<record>" in listed.content
    finally:
        stop(portal)
    deadline = time.monotonic() + 20
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [w for w in workers if alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert left == []
