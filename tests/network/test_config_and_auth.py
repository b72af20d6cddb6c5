"""Signed network configuration and authenticated peer messages: forged, unknown, stale and replayed
messages are refused, and so is an unsigned, altered or outdated configuration."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ConfigError
from strongroom.keys import public_key_text
from strongroom.network.auth import (
    MAX_SKEW_SECONDS,
    NONCE,
    RECIPIENT,
    PeerRejected,
    Verifier,
    sign_request,
    sign_response,
    verify_response,
)
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config, verify_config
from strongroom.network.nonces import FileNonces

ADMIN = Ed25519PrivateKey.generate()
KEYS = {f"node-{i}": Ed25519PrivateKey.generate() for i in range(3)}
COUNTRIES = ["GH", "KE", "SN"]


def config(serial: int = 1, policy: NetworkPolicy | None = None) -> NetworkConfig:
    members = tuple(
        Member(node_id, f"http://127.0.0.1:{8000 + i}", public_key_text(key.public_key()), f"Library {i}", COUNTRIES[i])
        for i, (node_id, key) in enumerate(KEYS.items())
    )
    return NetworkConfig("test-net", serial, members, policy or NetworkPolicy())


def test_signed_config_round_trips() -> None:
    doc = sign_config(config(), ADMIN)
    got = verify_config(doc, public_key_text(ADMIN.public_key()))
    assert got == config()
    assert got.member("node-1") is not None and got.member("intruder") is None


def test_unsigned_altered_or_foreign_configs_are_refused() -> None:
    admin = public_key_text(ADMIN.public_key())
    doc = sign_config(config(), ADMIN)
    unsigned = {"config": doc["config"]}
    with pytest.raises(ConfigError, match="unsigned"):
        verify_config(unsigned, admin)
    altered = copy.deepcopy(doc)
    altered["config"]["members"][0]["url"] = "http://evil.example"
    with pytest.raises(ConfigError, match="does not verify"):
        verify_config(altered, admin)
    other = sign_config(config(), Ed25519PrivateKey.generate())
    with pytest.raises(ConfigError, match="does not verify"):
        verify_config(other, admin)
    with pytest.raises(ConfigError, match="older"):
        verify_config(doc, admin, held_serial=2)


def test_bad_member_country_is_refused() -> None:
    doc = config().to_dict()
    doc["members"][0]["country"] = "Atlantis"
    with pytest.raises(ConfigError, match="Atlantis"):
        NetworkConfig.from_dict(doc)


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def test_requests_are_authenticated_and_replay_protected() -> None:
    clock = Clock()
    verifier = Verifier(config=config, node_id="node-0", clock=clock)
    body = b'{"poll": 1}'
    headers = sign_request("node-1", KEYS["node-1"], "POST", "/peer/v1/votes", body, now=clock.t, recipient="node-0")
    assert verifier.verify("POST", "/peer/v1/votes", headers, body) == "node-1"
    with pytest.raises(PeerRejected, match="replayed"):
        verifier.verify("POST", "/peer/v1/votes", headers, body)
    fresh = sign_request("node-1", KEYS["node-1"], "POST", "/peer/v1/votes", body, now=clock.t, recipient="node-0")
    with pytest.raises(PeerRejected, match="bad signature"):
        verifier.verify("POST", "/peer/v1/votes", fresh, b'{"poll": 2}')  # body changed in transit
    with pytest.raises(PeerRejected, match="bad signature"):
        verifier.verify("POST", "/peer/v1/other", fresh, body)  # moved to another endpoint
    forged = sign_request("node-1", KEYS["node-2"], "POST", "/x", body, now=clock.t, recipient="node-0")
    with pytest.raises(PeerRejected, match="bad signature"):
        verifier.verify("POST", "/x", forged, body)
    stranger = sign_request("intruder", Ed25519PrivateKey.generate(), "GET", "/x", b"", now=clock.t, recipient="node-0")
    with pytest.raises(PeerRejected, match="unknown node") as info:
        verifier.verify("GET", "/x", stranger, b"")
    assert info.value.status == 403
    old = sign_request("node-1", KEYS["node-1"], "GET", "/x", b"", now=clock.t - 3600, recipient="node-0")
    with pytest.raises(PeerRejected, match="stale"):
        verifier.verify("GET", "/x", old, b"")
    with pytest.raises(PeerRejected, match="missing"):
        verifier.verify("GET", "/x", {}, b"")


def test_a_peer_is_rate_limited() -> None:
    clock = Clock()
    verifier = Verifier(
        config=lambda: config(policy=NetworkPolicy(max_requests_per_minute=3)), node_id="node-1", clock=clock
    )
    for _ in range(3):
        verifier.verify(
            "GET", "/x", sign_request("node-0", KEYS["node-0"], "GET", "/x", now=clock.t, recipient="node-1"), b""
        )
    with pytest.raises(PeerRejected) as info:
        verifier.verify(
            "GET", "/x", sign_request("node-0", KEYS["node-0"], "GET", "/x", now=clock.t, recipient="node-1"), b""
        )
    assert info.value.status == 429
    verifier.verify(
        "GET", "/x", sign_request("node-2", KEYS["node-2"], "GET", "/x", now=clock.t, recipient="node-1"), b""
    )  # others fine
    clock.t += 61
    verifier.verify(
        "GET", "/x", sign_request("node-0", KEYS["node-0"], "GET", "/x", now=clock.t, recipient="node-1"), b""
    )


def test_responses_are_bound_to_the_request() -> None:
    key = KEYS["node-2"]
    public = public_key_text(key.public_key())
    headers = sign_request("node-1", KEYS["node-1"], "POST", "/vote", b"", recipient="node-0")
    sig = sign_response(key, headers[NONCE], b"vote-body")
    verify_response(public, headers[NONCE], b"vote-body", sig)
    with pytest.raises(PeerRejected):
        verify_response(public, headers[NONCE], b"other-vote", sig)
    with pytest.raises(PeerRejected):
        verify_response(public, "another-nonce", b"vote-body", sig)
    with pytest.raises(PeerRejected, match="not signed"):
        verify_response(public, headers[NONCE], b"vote-body", None)


def test_a_request_is_accepted_only_by_the_node_it_is_addressed_to() -> None:
    clock = Clock()
    to_node_2 = sign_request("node-1", KEYS["node-1"], "GET", "/x", now=clock.t, recipient="node-2")
    with pytest.raises(PeerRejected, match="addressed to 'node-2'") as info:
        Verifier(config=config, node_id="node-0", clock=clock).verify("GET", "/x", to_node_2, b"")
    assert info.value.status == 403
    relabelled = {**to_node_2, RECIPIENT: "node-0"}  # the recipient header rewritten: the signature no longer holds
    with pytest.raises(PeerRejected, match="bad signature"):
        Verifier(config=config, node_id="node-0", clock=clock).verify("GET", "/x", relabelled, b"")
    assert Verifier(config=config, node_id="node-2", clock=clock).verify("GET", "/x", to_node_2, b"") == "node-1"


def test_seen_nonces_survive_a_restart_for_as_long_as_they_are_valid(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "peer-nonces"
    headers = sign_request("node-1", KEYS["node-1"], "GET", "/x", now=clock.t, recipient="node-0")
    assert Verifier(config=config, node_id="node-0", clock=clock, nonces=FileNonces(path)).verify(
        "GET", "/x", headers, b""
    )
    restarted = Verifier(config=config, node_id="node-0", clock=clock, nonces=FileNonces(path))
    with pytest.raises(PeerRejected, match="replayed"):
        restarted.verify("GET", "/x", headers, b"")
    clock.t += MAX_SKEW_SECONDS + 2  # past its validity the clock check refuses it, and the nonce may go
    with pytest.raises(PeerRejected, match="stale"):
        restarted.verify("GET", "/x", headers, b"")
    store = FileNonces(path)
    assert not store.remember("node-1/" + headers[NONCE], clock.t + 10, clock.t - 2 * MAX_SKEW_SECONDS)
    assert store.remember("node-1/" + headers[NONCE], clock.t + 10, clock.t)


def test_the_nonce_file_is_compacted_and_a_torn_line_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("strongroom.network.nonces.COMPACT_AFTER", 3)
    path = tmp_path / "peer-nonces"
    store = FileNonces(path)
    for i in range(3):
        assert store.remember(f"old-{i}", 100, 50)
    assert store.remember("new", 1000, 500)  # the fourth write compacts: the three expired entries go
    assert path.read_text().split() == ["1000", "new"]
    with path.open("a") as fh:
        fh.write("12")  # a crash in the middle of an append
    again = FileNonces(path)
    assert not again.remember("new", 1000, 600)
    assert again.remember("old-1", 1000, 600)
