"""The operators' room of the console over real HTTP against the live portal, with a real worker process running
the jobs (``strongroom worker``, on SQLite as on PostgreSQL): the node page's numbers against its
JSON and the services; audits, harvests and exports started with the form's token (and refused without it, or to
anyone but an operator), each an event naming the operator, followed to ``succeeded`` with progress reported;
exports written only inside HOME/exports; a job followed to its end in Chromium with JavaScript (the progress bar
full) and without (the page refreshing itself)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_fixtures import Console, csrf_of, new_page, screenshots, sign_in

from strongroom.domain.model import EventOutcome, EventType
from strongroom.harvest.permission import STATEMENTS
from tests_support import serving

pytestmark = pytest.mark.slow

OPERATOR = "olu-operator"
OTHERS = ("nadia-netadmin", "bola-board", "east-staff", "muhas-library", "grace-reader")
HARVESTED = "issn:console-harvest"


class Site(BaseHTTPRequestHandler):
    """A publisher's small site for the harvest: a page with the permission statement and two articles."""

    def do_GET(self) -> None:
        if self.path == "/":
            body = f'<html><body><p>{STATEMENTS[0]}</p><a href="/a1">1</a><a href="/a2">2</a></body></html>'
        elif self.path in ("/a1", "/a2"):
            body = f"<html><body>article {self.path}</body></html>"
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Ops:
    console: Console
    site: str


@pytest.fixture(scope="module")
def ops(console: Console) -> Iterator[Ops]:
    """The console's node with a title collected by a harvest plan (from a site served here), a peer its polls
    reported as a suspect, and a publisher's deposit refused."""
    node = console.node
    au = sorted(a.key for a, *_ in node.catalog.aus())[0]
    with node.catalog.session() as s:
        node.catalog.record_event(
            s,
            EventType.POLL,
            EventOutcome.WARNING,
            agent="node-a",
            object_type="au",
            object_key=au,
            detail="SUSPECT peer node-b: in the minority again after being told",
            data={"role": "poller", "suspect": "node-b", "finding": "still-disagrees"},
        )
        node.catalog.record_event(
            s,
            EventType.INGESTION,
            EventOutcome.FAILURE,
            agent="publisher:east-staff",
            object_type="publisher",
            object_key=console.publisher,
            detail="the package was refused",
            data={"by": "east-staff", "findings": [["P020", "data/a.pdf", "the checksum differs"]]},
        )
    with serving(Site) as site:
        console.node.harvests.configure(
            HARVESTED,
            name="Console Harvest Journal",
            publisher="Harvested Press",
            country="KE",
            plan="generic",
            settings={"start_urls": [f"{site}/"], "delay": 0, "concurrency": 1},
        )
        yield Ops(console, site)


@pytest.fixture(scope="module")
def worker(ops: Ops) -> Iterator[subprocess.Popen[bytes]]:
    """What runs the node's jobs, in its own process: ``strongroom worker`` (on SQLite the node's one local runner,
    as ``strongroom serve`` would be; this node has joined no network, so it does not serve)."""
    home = ops.console.home
    args = ["-m", "strongroom.cli.main", "worker", "--home", str(home)]
    with (home / "worker.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=log)
    yield proc
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


def _start(c: httpx.Client, kind: str, subject: str, *, csrf: str | None = None) -> httpx.Response:
    return c.post("/console/jobs/", data={"csrf": csrf or csrf_of(c), "kind": kind, "subject": subject})


def _job_id(r: httpx.Response) -> int:
    assert r.status_code == 303, r.text[:2000]
    m = re.fullmatch(r"/console/jobs/(\d+)(\?already=1)?", r.headers["location"])
    assert m, r.headers["location"]
    return int(m.group(1))


def _follow(c: httpx.Client, job_id: int, timeout: float = 180) -> dict[str, Any]:
    """The job's JSON once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = c.get(f"/console/jobs/{job_id}.json").json()
        if job["ended"]:
            return job
        assert time.monotonic() < deadline, f"job {job_id} never ended: {job}"
        time.sleep(0.3)


def _events_of(console: Console, job_id: int) -> list[Any]:
    return [e for e in console.node.catalog.events(type="console", limit=500) if e.object_key == str(job_id)]


# ---- the node's health ---------------------------------------------------------------------------------------


def test_the_node_page_shows_the_numbers_of_its_json_and_of_the_services(ops: Ops) -> None:
    console, node = ops.console, ops.console.node
    with console.client(OPERATOR) as c:
        view = c.get("/console/node.json").json()
        page = c.get("/console/node/")
    assert page.status_code == 200
    aus = node.catalog.aus()
    assert view["storage"]["aus"] == len(aus) == 3
    assert view["storage"]["files"] == sum(f for _, _, f, _ in aus)
    assert view["storage"]["used"] == sum(b for *_, b in aus) > 0
    assert view["storage"]["free"] > 0
    counts = node.jobs.counts()
    assert view["jobs"]["queued"] == sum(n for (s, _), n in counts.items() if s == "todo")
    assert view["jobs"]["running"] == sum(n for (s, _), n in counts.items() if s == "doing")
    assert view["network"] is False  # the console's node is in no network: its own copy only
    keys = [r["key"] for r in view["aus"]["rows"]]
    assert keys == sorted(au.key for au, *_ in aus)
    assert all(r["copies"] == 1 for r in view["aus"]["rows"])
    assert [h["title"] for h in view["harvests"]["plans"]] == [HARVESTED]
    assert view["last_audit"]["failing"] == []
    [suspect] = view["suspects"]
    assert (suspect["peer"], suspect["why"], suspect["au"]) == ("node-b", "still-disagrees", keys[0])
    assert "ask the network administrator to retire" in suspect["advice"]
    [refused] = view["deposits"]["refused"]
    assert refused["detail"] == "the package was refused"
    assert refused["findings"] == ["P020 data/a.pdf: the checksum differs"]
    assert [e["detail"] for e in view["errors"]] == ["the package was refused"]  # the newest failed events
    # the page draws the same numbers
    html = page.text
    assert f'data-used="{view["storage"]["used"]}"' in html and 'data-free="' in html
    assert f'data-queued="{view["jobs"]["queued"]}"' in html
    for row in view["aus"]["rows"]:
        assert f'data-au="{row["key"]}" data-copies="{row["copies"]}"' in html
    assert "This node is in no network" in html and "Console Harvest Journal" in html
    assert "node-b" in html and "ask the network administrator to retire" in html
    assert "P020 data/a.pdf: the checksum differs" in html
    # AUs a page at a time, by key
    with console.client(OPERATOR) as c:
        after = c.get("/console/node.json", params={"after": keys[0]}).json()
        french = c.get("/fr/console/node/")
    assert [r["key"] for r in after["aus"]["rows"]] == keys[1:]
    assert french.status_code == 200 and 'lang="fr"' in french.text


def test_only_operators_see_the_node_and_its_jobs(ops: Ops) -> None:
    console = ops.console
    for who in OTHERS:
        with console.client(who) as c:
            for path in ("/console/node/", "/console/node.json", "/console/jobs/", "/console/jobs/1"):
                assert c.get(path).status_code == 403, (who, path)
            assert c.get("/console/node.json").json()["error"]
            assert _start(c, "audit", "*").status_code == 403  # a valid token, the wrong role
    with console.client() as c:
        assert c.get("/console/node/").status_code == 303
        assert c.get("/console/node.json").status_code == 401
        assert c.get("/console/jobs/1.json").status_code == 401
        assert c.post("/console/jobs/", data={"kind": "audit", "subject": "*"}).status_code in (303, 401, 403)
    with console.client(OPERATOR) as c:
        assert c.get("/console/jobs/999999").status_code == 404
        assert c.get("/console/jobs/999999.json").status_code == 404


def test_a_form_without_the_sessions_token_starts_nothing(ops: Ops) -> None:
    console = ops.console
    before = console.node.jobs.rows(limit=1000)
    with console.client(OPERATOR) as c:
        r = c.post("/console/jobs/", data={"kind": "audit", "subject": "*"})
        assert r.status_code == 403 and "expired or came from another site" in r.text
        assert _start(c, "audit", "*", csrf="0" * 64).status_code == 403
    assert console.node.jobs.rows(limit=1000) == before


def test_a_job_already_waiting_is_not_queued_twice(ops: Ops) -> None:
    console = ops.console
    au = sorted(console.titles.values())[0]
    key = next(a.key for a, *_ in console.node.catalog.aus() if a.title.key == au)
    with console.client(OPERATOR) as c:
        first = _job_id(_start(c, "audit", key))
        again = _start(c, "audit", key)
        assert _job_id(again) == first and again.headers["location"].endswith("?already=1")
        page = c.get(again.headers["location"])
    assert "already waiting in the queue" in page.text
    assert len(_events_of(console, first)) == 1  # one job, one event


def test_the_jobs_page_goes_back_through_older_jobs(ops: Ops) -> None:
    console = ops.console
    aus = sorted(a.key for a, *_ in console.node.catalog.aus())
    with console.client(OPERATOR) as c:
        ids = sorted({_job_id(_start(c, "export", key)) for key in aus[:2]} | {_job_id(_start(c, "audit", aus[0]))})
        newest = max(ids)
        older = c.get("/console/jobs/", params={"before": newest})
        assert older.status_code == 200
        listed = [int(j) for j in re.findall(r'data-job="(\d+)"', older.text)]
        assert listed and max(listed) < newest and listed == sorted(listed, reverse=True)
        assert "Newest jobs" in older.text  # the way back
        for bad in ("x", "0", "-3", "9" * 30):
            assert c.get("/console/jobs/", params={"before": bad}).status_code == 400


def test_a_hostile_export_is_refused_and_writes_nothing(ops: Ops) -> None:
    console = ops.console
    exports = console.home / "exports"
    before = sorted(exports.iterdir()) if exports.exists() else []
    jobs = console.node.jobs.rows(limit=1000)
    with console.client(OPERATOR) as c:
        for hostile in ("../../etc", "/etc/passwd", "a/../../../tmp/x", "..", "", "x" * 400):
            r = _start(c, "export", hostile)
            assert r.status_code == 422, hostile
            assert "nothing was exported" in r.text and "exports folder" in r.text
            assert f'value="{hostile[:300]}"' in r.text  # what was typed is still there
        assert _start(c, "audit", "../../etc").status_code == 422
        r = _start(c, "harvest", "issn:no-such-plan")
        assert r.status_code == 422 and "has no harvest plan" in r.text
        assert _start(c, "reindex", "").status_code == 422  # the console starts three kinds only
    assert console.node.jobs.rows(limit=1000) == jobs
    assert (sorted(exports.iterdir()) if exports.exists() else []) == before


# ---- jobs run by a real worker -------------------------------------------------------------------------------


def test_each_kind_of_job_runs_to_the_end_with_its_progress(ops: Ops, worker: subprocess.Popen[bytes]) -> None:
    console = ops.console
    key = sorted(a.key for a, *_ in console.node.catalog.aus())[-1]
    with console.client(OPERATOR) as c:
        audit = _job_id(_start(c, "audit", key))
        harvest = _job_id(_start(c, "harvest", HARVESTED))
        export = _job_id(_start(c, "export", key))
        ended = {job: _follow(c, job) for job in (audit, harvest, export)}
        queue = c.get("/console/jobs/").text
        done = c.get("/console/jobs/", params={"state": "succeeded"}).text
    for job_id, job in ended.items():
        assert job["state"] == "succeeded", job
        assert job["progress"]["done"] > 0 and job["progress"]["done"] == job["progress"]["total"], job
        assert job["progress"]["started_by"] == "console:olu-operator"
        assert job["worker"] and job["attempts"] >= 1
        [event] = _events_of(console, job_id)
        assert event.agent == "console:olu-operator" and event.type == "console"
        assert f'data-job="{job_id}" data-state="succeeded"' in queue and f'data-job="{job_id}"' in done
    assert ended[audit]["progress"]["message"].startswith(f"audit of {key}: intact")
    assert ended[harvest]["progress"]["message"].startswith(f"harvest of {HARVESTED}")
    # the export is a bag inside the node's own exports folder, named here, never by the browser
    [event] = _events_of(console, export)
    dest = Path(event.data["dest"])
    assert dest.parent == (console.home / "exports").resolve()
    assert (dest / "bagit.txt").is_file() and (dest / "manifest-sha512.txt").is_file()
    assert f"exported {key}" in ended[export]["progress"]["message"]
    with console.client(OPERATOR) as c:
        view = c.get("/console/node.json").json()
    assert view["last_audit"]["at"] is not None and view["last_audit"]["failing"] == []
    assert [j["id"] for j in view["harvests"]["recent"]][:1] == [harvest]


def test_an_audit_is_followed_to_its_end_in_the_browser_with_javascript(
    ops: Ops, worker: subprocess.Popen[bytes], browser: Any
) -> None:
    page = new_page(browser)
    try:
        sign_in(page, ops.console.url, OPERATOR)
        page.goto(ops.console.url + "/console/node/")
        screenshots(page, "console-node")
        page.goto(ops.console.url + "/console/jobs/")
        page.fill("#audit-au", "*")
        page.click("form:has(#audit-au) button[type=submit]")
        page.wait_for_url(re.compile(r".*/console/jobs/\d+$"))
        url = page.url
        page.wait_for_selector("#job[data-ended=yes]", timeout=180_000)
        assert page.url == url  # followed by the script, not by reloading
        assert page.locator("#job-state").inner_text() == "succeeded"
        bar = page.locator("#job-progress")
        value, top = bar.evaluate("b => [b.value, b.max]")
        assert value == top > 1  # the bar full, counted in bytes
        assert "all intact" in page.locator("#job-end").inner_text()
        screenshots(page, "console-job")
    finally:
        page.context.close()


def test_without_javascript_the_job_page_refreshes_itself_until_the_end(
    ops: Ops, worker: subprocess.Popen[bytes], browser: Any
) -> None:
    page = new_page(browser, javascript=False)
    try:
        sign_in(page, ops.console.url, OPERATOR)
        page.goto(ops.console.url + "/console/jobs/")
        key = sorted(a.key for a, *_ in ops.console.node.catalog.aus())[0]
        page.fill("#export-au", key)
        page.click("form:has(#export-au) button[type=submit]")
        page.wait_for_url(re.compile(r".*/console/jobs/\d+$"))
        deadline = time.monotonic() + 180
        ended = None
        while time.monotonic() < deadline:  # the page reloads itself every 3 seconds; the test never reloads it
            try:
                ended = page.get_attribute("#job", "data-ended", timeout=5000)
            except Exception:
                ended = None
            if ended == "yes":
                break
            page.wait_for_timeout(500)
        assert ended == "yes"
        assert "The job has ended: succeeded." in page.locator("#job-end").inner_text()
        assert 'http-equiv="refresh"' not in page.content()  # an ended job's page stays still
    finally:
        page.context.close()
