"""Network administration in the console, over real HTTP against a node in a network (its configuration made and
signed with the command line, as the administrators do): the draft lives in the form, the preview's numbers are
domain/placement's, a policy that can never work is refused with the words ``network sign`` uses, the produced
bytes are what ``network sign`` signs and install once signed offline, tampered or wrongly signed configurations
are refused with nothing changed, and Chromium signs with Web Crypto without the key ever leaving the browser.
Every action is an event naming the person; other roles, strangers and forged form tokens are refused."""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_fixtures import PASSWORD, SAMPLES, csrf_of, new_page, screenshots, sign_in
from playwright.sync_api import expect
from sqlalchemy import select

from strongroom.catalog.models import Event
from strongroom.domain.placement import holders
from strongroom.formats.canonical import canonical_json
from strongroom.ingest.deposit import DepositOptions
from strongroom.network.config import NetworkConfig, NetworkPolicy
from strongroom.node import Node

sys.path.insert(0, str(Path(__file__).parent.parent / "portal"))
from portal_fixtures import LivePortal, start_portal, stop

pytestmark = pytest.mark.slow

EXE = str(Path(sys.executable).parent / "strongroom")
POLICY = NetworkPolicy(target_copies=3, min_countries=2, quorum=2, invitations=4, min_seconds_between_polls=0)
OTHERS = (("Library 1", "KE"), ("Library 2", "SN"), ("Library 3", "BR"), ("Library 4", "TZ"))


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@dataclass
class Net:
    node: Node
    home: Path
    portal: LivePortal
    admins: Path  # admin.key lives here, never given to the node
    admin_key: str
    spare: dict[str, str]  # a member entry printed by `network member` on a node not yet in the network

    @property
    def url(self) -> str:
        return self.portal.url

    def held(self) -> NetworkConfig:
        return NetworkConfig.from_dict(json.loads((self.home / "network.json").read_text())["config"])

    @contextmanager
    def client(self, username: str | None = "nadia-netadmin") -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.url, timeout=60, follow_redirects=False) as c:
            if username is not None:
                assert c.post("/signin", data={"username": username, "password": PASSWORD}).status_code == 303
            yield c

    def events(self, **where: str) -> list[Event]:
        with self.node.catalog.session() as s:
            stmt = select(Event).where(Event.object_type == "network")
            for k, v in where.items():
                stmt = stmt.where(getattr(Event, k) == v)
            return list(s.scalars(stmt.order_by(Event.id)))


def _member_node(home: Path, url: str, institution: str, country: str) -> dict[str, str]:
    """A node made for the test, and its entry as `strongroom network member` prints it."""
    Node.create(home, institution=institution, country=country).close()
    run = cli("network", "member", "--url", url, "--home", str(home))
    assert run.returncode == 0, run.stderr
    entry: dict[str, str] = json.loads(run.stdout)
    return entry


@pytest.fixture(scope="module")
def net(
    module_db_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory, sample_dir: Path
) -> Iterator[Net]:
    base = tmp_path_factory.mktemp("netadmin")
    admins = base / "admins"
    admins.mkdir()
    keygen = cli("network", "keygen", "--out", "admin.key", cwd=admins)
    assert keygen.returncode == 0, keygen.stderr
    admin_key = keygen.stdout.strip()
    home = base / "home"
    node = Node.create(home, database_url=module_db_factory(), name="Netadmin test node", institution="Library 0")
    for name in SAMPLES:
        node.ingest.deposit(sample_dir / name, DepositOptions(platform="ojs"))
    node.accounts.create_staff("nadia-netadmin", PASSWORD, ["network-admin"], named="Nadia", by="test")
    node.accounts.create_staff("olu-operator", PASSWORD, ["operator"], named="Olu", by="test")
    members = [node.membership.entry("http://127.0.0.1:9", "Library 0", "GH")]
    for i, (institution, country) in enumerate(OTHERS, start=1):
        members.append(_member_node(base / f"n{i}", f"http://n{i}.example:8470", institution, country))
    spare = _member_node(base / "n5", "https://n5.example:8470", "Library 5", "NG")
    config = {"name": "Testnet", "serial": 1, "members": members, "policy": asdict(POLICY)}
    (admins / "config.json").write_text(json.dumps(config))
    sign = cli("network", "sign", "config.json", "--key", "admin.key", "--out", "signed.json", cwd=admins)
    assert sign.returncode == 0, sign.stderr
    join = cli("network", "join", str(admins / "signed.json"), "--admin-key", admin_key, "--home", str(home))
    assert join.returncode == 0, join.stderr
    portal = start_portal(home)
    try:
        yield Net(node, home, portal, admins, admin_key, spare)
    finally:
        stop(portal)
        node.close()


def draft_fields(
    config: NetworkConfig, *, retire: tuple[str, ...] = (), add: str = "", **policy: Any
) -> dict[str, str]:
    """The draft form's fields, as the page fills them for ``config`` (serial raised), with changes."""
    fields = {"name": config.name, "serial": str(config.serial + 1), "members": str(len(config.members)), "add": add}
    for i, m in enumerate(config.members):
        for k, v in m.to_dict().items():
            fields[f"m{i}.{k}"] = v
        if m.id in retire:
            fields[f"m{i}.retire"] = "1"
    for k, v in asdict(config.policy).items():
        fields[f"policy.{k}"] = str(policy.get(k, v))
    return fields


def placed(object_id: str, config: NetworkConfig) -> set[str]:
    p = config.policy
    return set(holders(object_id, [(m.id, m.country) for m in config.members], p.target_copies, p.min_countries))


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


def test_only_the_network_administrator_and_only_with_the_form_token(net: Net) -> None:
    with net.client() as c:
        page = c.get("/console/network/admin/")
        assert page.status_code == 200
        held = net.held()
        for m in held.members:
            assert f'data-member="{m.id}"' in page.text and m.url in page.text
        assert 'value="2"' in page.text and net.admin_key in page.text  # the draft's serial, the trusted key
        fields = draft_fields(held)
        assert c.post("/console/network/admin/", data=fields).status_code == 403  # no token
        assert c.post("/console/network/admin/", data=fields | {"csrf": "0" * 64}).status_code == 403
        r = c.post(
            "/console/network/admin/", data=fields | {"csrf": csrf_of(c)}, headers={"origin": "https://x.example"}
        )
        assert r.status_code == 403
        assert c.post("/console/network/admin/install", data={"csrf": "f" * 64}).status_code == 403
    with net.client("olu-operator") as c:
        assert c.get("/console/network/admin/").status_code == 403
        for path in ("", "preview.json", "unsigned", "install"):
            r = c.post(f"/console/network/admin/{path}", data=fields | {"csrf": csrf_of(c), "action": "preview"})
            assert r.status_code == 403, path
    with net.client(None) as c:
        assert c.get("/console/network/admin/").headers["location"].startswith("/signin?next=")
        assert c.post("/console/network/admin/preview.json", data=fields).status_code == 401
    assert net.held().serial == held.serial and not net.events()


def test_the_preview_is_domain_placement_on_the_old_and_new_configuration(net: Net) -> None:
    held = net.held()
    aus = [(au.key, au.object_id) for au, *_ in net.node.catalog.aus()]
    assert aus
    # retire the member holding the most AUs, add the spare node, and ask for a copy more in more countries
    busiest = Counter(n for _, o in aus for n in placed(o, held)).most_common(1)[0][0]
    fields = draft_fields(held, retire=(busiest,), add=json.dumps(net.spare, indent=2), target_copies=4, quorum=3)
    new = NetworkConfig.from_dict(
        {
            "name": held.name,
            "serial": held.serial + 1,
            "members": [m.to_dict() for m in held.members if m.id != busiest] + [net.spare],
            "policy": asdict(held.policy) | {"target_copies": 4, "quorum": 3},
        }
    )
    expected = {key: (placed(o, held), placed(o, new)) for key, o in aus if placed(o, held) != placed(o, new)}
    fetch = Counter(n for before, after in expected.values() for n in after - before)
    release = Counter(n for before, after in expected.values() for n in before - after)
    assert expected and release[busiest] > 0
    with net.client() as c:
        r = c.post("/console/network/admin/preview.json", data=fields | {"csrf": csrf_of(c)})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["ok"] and got["aus"] == len(aus)
        assert {x["au"]: (set(x["before"]), set(x["after"])) for x in got["replaced"]} == expected
        assert got["fetch"] == dict(fetch) and got["release"] == dict(release)
        assert got["members"][busiest] == "retired" and got["members"][net.spare["id"]] == "new"
        assert {p["field"] for p in got["policy"]} == {"target_copies", "quorum"}
        page = c.post("/console/network/admin/", data=fields | {"csrf": csrf_of(c), "action": "preview"})
        assert page.status_code == 200
        text = page.text
        assert f'data-replaced="{len(expected)}"' in text and f'data-count="replaced">{len(expected)}<' in text
        assert 'data-count="new">1<' in text and 'data-count="retired">1<' in text
        for node_id in set(fetch) | set(release):
            assert f'data-node="{node_id}" data-fetch="{fetch[node_id]}" data-release="{release[node_id]}"' in text
        # the draft is kept as typed: the retirement ticked, the pasted member now a row, the policy as changed
        assert re.search(rf'data-member="{busiest}">(?:(?!</tr>).)*checked', text, re.S)
        assert f'data-member="{net.spare["id"]}"' in text and net.spare["certificate"] in text
        assert 'name="policy.target_copies" value="4"' in text
    assert net.held().serial == held.serial  # a preview changes nothing


def test_a_bad_policy_is_refused_with_the_words_network_sign_uses(net: Net, tmp_path: Path) -> None:
    held = net.held()
    fields = draft_fields(held, quorum=7, poll_interval_days=0.01, min_seconds_between_polls=3600)
    with net.client() as c:
        r = c.post("/console/network/admin/", data=fields | {"csrf": csrf_of(c), "action": "produce"})
        assert r.status_code == 422 and "nothing was produced" in r.text
        shown = [html.unescape(p) for p in re.findall(r'<span class="problem">(.*?)</span>', r.text, re.S)]
        fixes = [html.unescape(p) for p in re.findall(r'<span class="fix">(.*?)</span>', r.text, re.S)]
        assert len(shown) == 2 and len(fixes) == 2
        assert 'name="policy.quorum" value="7"' in r.text and 'name="policy.poll_interval_days" value="0.01"' in r.text
        data = c.post("/console/network/admin/preview.json", data=fields | {"csrf": csrf_of(c)})
        assert data.status_code == 422 and [p["problem"] for p in data.json()["problems"]] == shown
        typo = c.post(
            "/console/network/admin/",
            data=draft_fields(held, quorum="three") | {"csrf": csrf_of(c), "action": "produce"},
        )
        assert typo.status_code == 422 and "is not a whole number" in typo.text
        assert 'name="policy.quorum" value="three"' in typo.text
        bad_paste = c.post(
            "/console/network/admin/",
            data=draft_fields(held, add="{not json") | {"csrf": csrf_of(c), "action": "update"},
        )
        assert bad_paste.status_code == 422 and "{not json</textarea>" in bad_paste.text
    # the same draft, signed with the command line: refused with the same problems and fixes
    draft = {
        "name": held.name,
        "serial": held.serial + 1,
        "members": [m.to_dict() for m in held.members],
        "policy": asdict(held.policy) | {"quorum": 7, "poll_interval_days": 0.01, "min_seconds_between_polls": 3600},
    }
    (tmp_path / "draft.json").write_text(json.dumps(draft))
    run = cli("network", "sign", "draft.json", "--key", str(net.admins / "admin.key"), "--out", "s.json", cwd=tmp_path)
    assert run.returncode != 0 and not (tmp_path / "s.json").exists()
    said = " ".join(run.stderr.split())
    for text in shown + fixes:
        assert " ".join(text.split()) in said, text
    assert not net.events(outcome="success")


def _produce(c: httpx.Client, fields: dict[str, str]) -> str:
    r = c.post("/console/network/admin/", data=fields | {"csrf": csrf_of(c), "action": "produce"})
    assert r.status_code == 200, r.text
    return r.text


def test_produced_bytes_signed_offline_install_and_tampering_is_refused(net: Net, tmp_path: Path) -> None:
    held = net.held()
    with net.client() as c:
        page = _produce(c, draft_fields(held, add=json.dumps(net.spare)))
        unsigned = hidden(page, "config")
        download = c.post("/console/network/admin/unsigned", data={"csrf": csrf_of(c), "config": unsigned})
        assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
        body = download.content
        assert body == unsigned.encode() and body == canonical_json(json.loads(body))
        (produced,) = net.events(outcome="success")
        assert produced.agent == "console:nadia-netadmin" and f"serial {held.serial + 1}" in produced.detail
        (tmp_path / "next.json").write_bytes(body)
        run = cli(
            "network", "sign", "next.json", "--key", str(net.admins / "admin.key"), "--out", "signed.json", cwd=tmp_path
        )
        assert run.returncode == 0, run.stderr
        signed = json.loads((tmp_path / "signed.json").read_text())
        assert canonical_json(signed["config"]) == body  # the bytes the CLI signed are the bytes produced

        def upload(document: dict[str, Any]) -> httpx.Response:
            return c.post(
                "/console/network/admin/install",
                data={"csrf": csrf_of(c)},
                files={"signed": ("signed.json", json.dumps(document).encode(), "application/json")},
            )

        before = (net.home / "network.json").read_bytes()
        tampered = json.loads(json.dumps(signed))
        tampered["config"]["members"][0]["url"] = "http://evil.example:8470"
        r = upload(tampered)
        assert r.status_code == 422 and "does not verify with the administrative key" in r.text
        assert "nothing was changed" in r.text
        other = cli("network", "keygen", "--out", "other.key", cwd=tmp_path)
        assert other.returncode == 0
        assert (
            cli("network", "sign", "next.json", "--key", "other.key", "--out", "o.json", cwd=tmp_path).returncode == 0
        )
        r = upload(json.loads((tmp_path / "o.json").read_text()))
        assert r.status_code == 422 and "does not verify" in r.text
        r = upload({"config": signed["config"], "signature": ""})
        assert r.status_code == 422 and "unsigned" in r.text
        assert (net.home / "network.json").read_bytes() == before
        refusals = net.events(outcome="failure")
        assert len(refusals) == 3 and {e.agent for e in refusals} == {"console:nadia-netadmin"}

        r = upload(signed)
        assert r.status_code == 200 and f'data-serial="{held.serial + 1}"' in r.text, r.text
        assert net.held().serial == held.serial + 1 and net.held().member(net.spare["id"]) is not None
        installed = net.events(outcome="success")[-1]
        assert installed.agent == "console:nadia-netadmin" and "installed" in installed.detail
        assert installed.data["serial"] == held.serial + 1
        r = upload(json.loads((net.admins / "signed.json").read_text()))  # serial 1 again: a replay
        assert r.status_code == 422 and "older than the one held" in r.text
        assert net.held().serial == held.serial + 1
        page = c.get("/console/network/admin/").text
        assert f'data-member="{net.spare["id"]}"' in page and f'value="{held.serial + 2}"' in page


def test_the_browser_signs_with_web_crypto_and_the_key_never_leaves_it(net: Net, browser: Any) -> None:
    held = net.held()
    pem = (net.admins / "admin.key").read_text()
    secrets = [pem, "".join(pem.strip().splitlines()[1:-1])]
    page = new_page(browser)
    bodies: list[bytes] = []
    page.on("request", lambda req: bodies.append(req.url.encode() + b"\n" + (req.post_data_buffer or b"")))
    try:
        sign_in(page, net.url, "nadia-netadmin")
        page.goto(net.url + "/console/network/admin/")
        page.check(f'tr[data-member="{held.members[-1].id}"] input[type=checkbox]')
        page.click("button[value=preview]")
        assert page.locator("#preview").get_attribute("data-ok") == "true"
        assert page.locator(f'tr[data-member="{held.members[-1].id}"] input[type=checkbox]').is_checked()
        screenshots(page, "netadmin-preview")
        page.click("button[value=produce]")
        assert page.locator("#produced").get_attribute("data-serial") == str(held.serial + 1)
        assert page.locator("#admin-key").get_attribute("name") is None
        page.wait_for_selector("#sign-here", state="visible")  # shown by the script, once it has run
        page.set_input_files("#admin-key", str(net.admins / "admin.key"))
        page.click("#sign-button")
        # (not wait_for_function: the page's CSP forbids the eval it needs)
        expect(page.locator("#signature")).not_to_have_value("", timeout=30000)
        assert "Signed in this browser" in page.locator("#sign-status").inner_text()
        screenshots(page, "netadmin-produce")
        page.click("#install-button")
        page.wait_for_load_state()
        assert page.locator("#installed").get_attribute("data-serial") == str(held.serial + 1)
        screenshots(page, "netadmin-installed")
    finally:
        page.context.close()
    assert net.held().serial == held.serial + 1 and net.held().member(held.members[-1].id) is None
    sent = b"\n".join(bodies)
    assert b"signature=" in sent or b'name="signature"' in sent  # the install form's body was seen
    for secret in secrets:
        assert secret.encode() not in sent and base64.b64encode(secret.encode()) not in sent
    assert net.events(outcome="success")[-1].agent == "console:nadia-netadmin"


def test_a_key_that_is_not_the_trusted_one_signs_nothing(net: Net, browser: Any, tmp_path: Path) -> None:
    assert cli("network", "keygen", "--out", "stranger.key", cwd=tmp_path).returncode == 0
    held = net.held()
    page = new_page(browser, phone=True)
    try:
        sign_in(page, net.url, "nadia-netadmin")
        page.goto(net.url + "/console/network/admin/")
        page.click("button[value=produce]")
        page.set_input_files("#admin-key", str(tmp_path / "stranger.key"))
        page.click("#sign-button")
        expect(page.locator("#sign-status")).not_to_be_empty(timeout=30000)
        assert "not the administrative key" in page.locator("#sign-status").inner_text()
        assert page.locator("#signature").input_value() == ""
    finally:
        page.context.close()
    assert net.held().serial == held.serial


def test_a_node_in_no_network_drafts_a_first_configuration_but_joins_at_the_command_line(
    console: Any, net: Net, tmp_path: Path
) -> None:
    with console.client("nadia-netadmin") as c:
        page = c.get("/console/network/admin/")
        assert page.status_code == 200 and "has not joined a network yet" in page.text
        fields = draft_fields(net.held(), retire=(), add="") | {"name": "Firstnet", "serial": "1"}
        got = c.post("/console/network/admin/preview.json", data=fields | {"csrf": csrf_of(c)}).json()
        assert got["ok"] and set(got["members"].values()) == {"new"}
        # every AU is placed for the first time: nobody holds it by a configuration yet
        assert len(got["replaced"]) == got["aus"] == len(console.node.browse.aus()) > 0
        assert all(x["before"] == [] and len(x["after"]) == POLICY.target_copies for x in got["replaced"])
        signed = net.admins / "signed.json"
        r = c.post(
            "/console/network/admin/install",
            data={"csrf": csrf_of(c)},
            files={"signed": ("signed.json", signed.read_bytes(), "application/json")},
        )
        assert r.status_code == 422 and "trusts no administrative key yet" in r.text
    assert not (console.home / "network.json").exists()


def test_the_french_preview_says_the_problems_and_fixes_in_french_and_the_cli_in_english(
    net: Net, tmp_path: Path
) -> None:
    held = net.held()
    pasted = json.dumps({"id": "n9", "colour": "blue"})
    fields = draft_fields(held, add=pasted, quorum=7, poll_interval_days=0.01, min_seconds_between_polls=3600)
    voters = min(held.policy.target_copies - 1, held.policy.invitations)
    with net.client() as c:
        r = c.post("/fr/console/network/admin/", data=fields | {"csrf": csrf_of(c), "action": "preview"})
        assert r.status_code == 422 and 'lang="fr"' in r.text
        shown = [html.unescape(p) for p in re.findall(r'<span class="problem">(.*?)</span>', r.text, re.S)]
        fixes = [html.unescape(p) for p in re.findall(r'<span class="fix">(.*?)</span>', r.text, re.S)]
        assert shown == [
            "une entrée de membre collée n'est pas de celles qu'imprime 'network member' : il y manque url, "
            "public_key, institution, country : champs inconnus colour",
            f"le quorum 7 ne peut jamais être atteint : les votants d'un scrutin sont les autres détenteurs de l'UA, "
            f"au plus {voters} (target_copies {held.policy.target_copies} - 1), donc chaque scrutin se terminerait "
            "sans conclusion",
            "poll_interval_days 0.01 (864 s) est plus court que min_seconds_between_polls 3600 : les votants "
            "refuseraient les scrutins (429)",
        ]
        assert fixes == [
            "collez l'entrée exactement telle que 'strongroom network member --url ...' l'imprime",
            f"mettez quorum à au plus {voters}, ou portez target_copies à au moins 8 et invitations à au moins 7",
            "mettez poll_interval_days à au moins 0.0416667, ou abaissez min_seconds_between_polls",
        ]
        assert "can never be reached" not in r.text and "paste the entry" not in r.text
        kept = re.search(r'<textarea id="add" name="add"[^>]*>(.*?)</textarea>', r.text, re.S)
        assert kept and html.unescape(kept.group(1)) == pasted  # what was typed is kept
        assert 'name="policy.quorum" value="7"' in r.text
        # the JSON keeps the English, word for word what the command line says
        data = c.post("/fr/console/network/admin/preview.json", data=fields | {"csrf": csrf_of(c)})
        assert data.status_code == 422
        english = data.json()["problems"]
        assert len(english) == 3 and "it lacks url, public_key, institution, country" in english[0]["problem"]
        # an install refused in French, with its fix; the refusal is an event naming the person
        document = {"config": held.to_dict(), "signature": ""}
        r = c.post(
            "/fr/console/network/admin/install",
            data={"csrf": csrf_of(c)},
            files={"signed": ("signed.json", json.dumps(document).encode(), "application/json")},
        )
        assert r.status_code == 422
        assert "la configuration du réseau n&#39;est pas signée" in r.text
        assert "demandez une copie signée aux administrateurs du réseau" in r.text
        refused = net.events(outcome="failure")[-1]
        assert refused.agent == "console:nadia-netadmin" and "is unsigned" in refused.detail
    assert net.held().serial == held.serial
    # the same policy signed with the command line: the English words, unchanged
    draft = {
        "name": held.name,
        "serial": held.serial + 1,
        "members": [m.to_dict() for m in held.members],
        "policy": asdict(held.policy) | {"quorum": 7, "poll_interval_days": 0.01, "min_seconds_between_polls": 3600},
    }
    (tmp_path / "draft.json").write_text(json.dumps(draft))
    run = cli("network", "sign", "draft.json", "--key", str(net.admins / "admin.key"), "--out", "s.json", cwd=tmp_path)
    assert run.returncode != 0 and not (tmp_path / "s.json").exists()
    said = " ".join(run.stderr.split())
    for problem in english[1:]:
        assert " ".join(problem["problem"].split()) in said and " ".join(problem["fix"].split()) in said
    assert (
        f"quorum 7 can never be reached: a poller's voters are the other holders of the AU, at most {voters} "
        f"(target_copies {held.policy.target_copies} - 1), so every poll would end inconclusive" in said
    )
    assert "poll_interval_days 0.01 (864 s) is shorter than min_seconds_between_polls 3600" in said
    assert "and invitations to at least 7" in said and "ne peut jamais" not in said


def test_json_nested_past_the_parsers_depth_is_refused_as_not_json(net: Net) -> None:
    """A configuration pasted or uploaded as JSON nested thousands deep is "not JSON" (422), not a server error."""
    before = (net.home / "network.json").read_bytes()
    nested = "[" * 5000
    with net.client() as c:
        r = c.post("/console/network/admin/unsigned", data={"csrf": csrf_of(c), "config": nested})
        assert r.status_code == 422 and "not JSON" in r.text
        r = c.post(
            "/console/network/admin/install",
            data={"csrf": csrf_of(c)},
            files={"signed": ("signed.json", nested.encode(), "application/json")},
        )
        assert r.status_code == 422 and "not JSON" in r.text
        r = c.post("/console/network/admin/install", data={"csrf": csrf_of(c), "config": nested, "signature": "x"})
        assert r.status_code == 422 and "not JSON" in r.text
    assert (net.home / "network.json").read_bytes() == before
