"""The whole path, from a failing publisher to a released, findable, citable article: the monitor watches a
publisher's site (real HTTP) go down and stay down until the title is a trigger candidate; the proposal carries
the monitor's evidence; board members with their own key files vote through the CLI; the trigger is released;
and a portal process serves the article, found by search, by DOI and through OAI-PMH, with the evidence and
votes on record."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import httpx
from lxml import html
from portal_fixtures import start_portal, stop

from strongroom.ingest.deposit import DepositOptions
from strongroom.node import Node
from strongroom.services.monitor import Monitor
from strongroom.settings import MonitorSettings
from tests_support import Publisher, SettableClock


def sr(home: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", *args, *(["--home", str(home)] if home else [])],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_from_a_failing_publisher_to_a_cited_article(
    tmp_path: Path, db_url: str, sample_dir: Path, site: tuple[str, Publisher]
) -> None:
    url, publisher = site
    home = tmp_path / "home"
    clock = SettableClock()
    with Node.create(home, database_url=db_url, clock=clock) as node:
        node.ingest.deposit(
            next(p for p in sorted(sample_dir.iterdir()) if p.name.endswith("-2024-jats")), DepositOptions()
        )
        title = node.catalog.titles()[0][0]
        words = [w for w in node.browse.items(limit=1)[0].title.split() if len(w) > 6]  # a reader remembers a word
        monitor = Monitor(node.catalog, MonitorSettings(30, url + "/doi/"), agent=node.agent)
        monitor.watch(title.key, landing_url=url + "/journal", oai_url=url + "/oai")
        assert monitor.run()[0].state == "available"
        publisher.mode = "down"
        for _ in range(31):
            clock.t += dt.timedelta(days=1)
            [status] = monitor.run()
        assert status.state == "candidate"

    # the operator proposes from the command line, with the monitor's evidence and a note of their own
    proposed = sr(
        home,
        "trigger",
        "propose",
        "--title",
        title.key,
        "--reason",
        "platform-failure",
        "--from-monitor",
        "--evidence",
        "publisher's email of 2026-03-20: no funds to restore the site",
        "--json",
    )
    assert proposed.returncode == 0, proposed.stderr
    trigger_key = json.loads(proposed.stdout)["key"]
    for member in ("ama", "bakari", "chiara"):
        key = tmp_path / f"{member}.key"
        public = sr(None, "board", "keygen", "--out", str(key))
        assert public.returncode == 0, public.stderr
        assert sr(home, "board", "add", member, "--public-key", public.stdout.strip()).returncode == 0
    for member in ("ama", "bakari", "chiara"):
        vote = sr(
            home,
            "trigger",
            "vote",
            trigger_key,
            "--member",
            member,
            "--key",
            str(tmp_path / f"{member}.key"),
            "--for",
            "--statement",
            "the site has been gone for a month",
        )
        assert vote.returncode == 0, vote.stderr
    released = sr(home, "trigger", "release", trigger_key)
    assert released.returncode == 0, released.stderr
    [record] = [t for t in json.loads(sr(home, "trigger", "list", "--json").stdout) if t["key"] == trigger_key]
    assert record["state"] == "released" and len(record["votes"]) == 3
    assert record["evidence"][0].startswith("publisher's email")
    assert (
        record["evidence"][1].startswith("monitor: ")
        and "unreachable at its publisher for 30 days" in record["evidence"][1]
    )
    assert any("HTTP 503" in e for e in record["evidence"])
    assert all(v["signature"] for v in record["votes"])

    portal = start_portal(home)
    try:
        base = portal.url
        found = httpx.get(base + "/search", params={"q": words[0]}, timeout=10).text
        article = next(h for h in html.fromstring(found).xpath("//main//a/@href") if h.startswith("/articles/"))
        page = html.fromstring(httpx.get(base + article, timeout=10).text)
        doi = page.xpath("//meta[@name='citation_doi']/@content")[0]
        assert httpx.get(f"{base}/doi/{doi}", timeout=10, follow_redirects=True).url.path == article
        note = page.xpath("string(//p[@class='note'])")
        assert trigger_key in note and "platform failed" in note
        assert page.xpath("string(//p[@class='cite'])").endswith(f"https://doi.org/{doi}")
        oai = httpx.get(base + "/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}, timeout=10)
        assert article.split("/")[2] in oai.text
    finally:
        stop(portal)
