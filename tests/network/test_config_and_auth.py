"""Signed network configuration and authenticated peer messages: forged, unknown, stale and replayed
messages are refused, and so is an unsigned, altered or outdated configuration."""

from __future__ import annotations

import copy

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ConfigError
from strongroom.keys import public_key_text
from strongroom.network.auth import (
    NONCE,
    PeerRejected,
    Verifier,
    sign_request,
    sign_response,
    verify_response,
)
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config, verify_config

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
    verifier = Verifier(config=config, clock=clock)
    body = b'{"poll": 1}'
    headers = sign_request("node-1", KEYS["node-1"], "POST", "/peer/v1/votes", body, now=clock.t)
    assert verifier.verify("POST", "/peer/v1/votes", headers, body) == "node-1"
    with pytest.raises(PeerRejected, match="replayed"):
        verifier.verify("POST", "/peer/v1/votes", headers, body)
    fresh = sign_request("node-1", KEYS["node-1"], "POST", "/peer/v1/votes", body, now=clock.t)
    with pytest.raises(PeerRejected, match="bad signature"):
        verifier.verify("POST", "/peer/v1/votes", fresh, b'{"poll": 2}')  # body changed in transit
    with pytest.raises(PeerRejected, match="bad signature"):
        verifier.verify("POST", "/peer/v1/other", fresh, body)  # moved to another endpoint
    forged = sign_request("node-1", KEYS["node-2"], "POST", "/x", body, now=clock.t)
    with pytest.raises(PeerRejected, match="bad signature"):
        verifier.verify("POST", "/x", forged, body)
    stranger = sign_request("intruder", Ed25519PrivateKey.generate(), "GET", "/x", b"", now=clock.t)
    with pytest.raises(PeerRejected, match="unknown node") as info:
        verifier.verify("GET", "/x", stranger, b"")
    assert info.value.status == 403
    old = sign_request("node-1", KEYS["node-1"], "GET", "/x", b"", now=clock.t - 3600)
    with pytest.raises(PeerRejected, match="stale"):
        verifier.verify("GET", "/x", old, b"")
    with pytest.raises(PeerRejected, match="missing"):
        verifier.verify("GET", "/x", {}, b"")


def test_a_peer_is_rate_limited() -> None:
    clock = Clock()
    verifier = Verifier(config=lambda: config(policy=NetworkPolicy(max_requests_per_minute=3)), clock=clock)
    for _ in range(3):
        verifier.verify("GET", "/x", sign_request("node-0", KEYS["node-0"], "GET", "/x", now=clock.t), b"")
    with pytest.raises(PeerRejected) as info:
        verifier.verify("GET", "/x", sign_request("node-0", KEYS["node-0"], "GET", "/x", now=clock.t), b"")
    assert info.value.status == 429
    verifier.verify("GET", "/x", sign_request("node-2", KEYS["node-2"], "GET", "/x", now=clock.t), b"")  # others fine
    clock.t += 61
    verifier.verify("GET", "/x", sign_request("node-0", KEYS["node-0"], "GET", "/x", now=clock.t), b"")


def test_responses_are_bound_to_the_request() -> None:
    key = KEYS["node-2"]
    public = public_key_text(key.public_key())
    headers = sign_request("node-1", KEYS["node-1"], "POST", "/vote", b"")
    sig = sign_response(key, headers[NONCE], b"vote-body")
    verify_response(public, headers[NONCE], b"vote-body", sig)
    with pytest.raises(PeerRejected):
        verify_response(public, headers[NONCE], b"other-vote", sig)
    with pytest.raises(PeerRejected):
        verify_response(public, "another-nonce", b"vote-body", sig)
    with pytest.raises(PeerRejected, match="not signed"):
        verify_response(public, headers[NONCE], b"vote-body", None)
