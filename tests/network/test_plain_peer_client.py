"""A node whose network is plain http pays nothing for TLS (issue 16, a fast ``au status``): its peer client trusts
no certificate authority (the system's CA bundle is never loaded, and nothing is accepted over TLS), it refuses
https peers, and the X.509 code is imported only for members that carry a certificate, whose certificates are
still checked against their keys."""

from __future__ import annotations

import ssl
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.errors import ConfigError
from strongroom.keys import public_key_text
from strongroom.network.client import PeerClient, PeerError
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config, verify_config
from strongroom.network.tls import certificate_text, node_certificate


def _member(node_id: str, url: str, key: Ed25519PrivateKey, certificate: str = "") -> Member:
    return Member(node_id, url, public_key_text(key.public_key()), "Library", "GH", certificate)


def test_a_client_without_a_tls_identity_trusts_no_certificate_and_refuses_https_peers() -> None:
    client = PeerClient("node-a", Ed25519PrivateKey.generate())
    try:
        context = client.http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert isinstance(context, ssl.SSLContext)
        assert context.get_ca_certs() == [] and context.cert_store_stats()["x509_ca"] == 0  # no CA bundle loaded
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # ... and nothing accepted
        peer = _member("node-b", "https://127.0.0.1:9", Ed25519PrivateKey.generate(), certificate="AAAA")
        with pytest.raises(PeerError, match="has no TLS identity"):
            client.get_json(peer, "/peer/v1/objects")
    finally:
        client.close()


def test_a_members_certificate_is_still_checked_against_its_key() -> None:
    admin, key, other = (Ed25519PrivateKey.generate() for _ in range(3))
    good = certificate_text(node_certificate(key, "node-b"))
    wrong = certificate_text(node_certificate(other, "node-b"))
    policy = NetworkPolicy(target_copies=1, min_countries=1, quorum=1)
    for certificate, ok in ((good, True), (wrong, False)):
        members = (_member("node-b", "https://127.0.0.1:9", key, certificate),)
        document = sign_config(NetworkConfig("net", 1, members, policy), admin)
        if ok:
            assert verify_config(document, public_key_text(admin.public_key())).members[0].certificate == good
        else:
            with pytest.raises(ConfigError, match=r"member node-b: .*not of the member's public key"):
                verify_config(document, public_key_text(admin.public_key()))


def test_a_plain_http_network_does_not_import_x509() -> None:
    """Verifying a configuration without certificates, and making a client to its members, imports no X.509 code
    (checked in ``sys.modules`` of a fresh interpreter, never timed)."""
    code = """
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from strongroom.keys import public_key_text
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config, verify_config
import strongroom.services.membership, strongroom.services.network_status
admin, key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
member = Member("node-a", "http://127.0.0.1:9", public_key_text(key.public_key()), "Library", "GH")
config = NetworkConfig("net", 1, (member,), NetworkPolicy(target_copies=1, min_countries=1, quorum=1))
verify_config(sign_config(config, admin), public_key_text(admin.public_key()))
PeerClient("node-a", key).close()
print(sorted(m for m in sys.modules if m.startswith(("cryptography.x509", "strongroom.network.tls"))))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert proc.stdout.strip() == "[]"
