"""What the in-memory network tests share: a policy small enough for test packages, and the member entries and
peer clients of nodes made for a test (the countries give the network's five countries), and such nodes joined
to one network served in memory."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.keys import public_key_text
from strongroom.network.client import PeerClient
from strongroom.network.config import Member, NetworkConfig, NetworkPolicy, sign_config
from strongroom.network.memory import InMemoryNetwork
from strongroom.node import Node
from strongroom.peer.api import create_peer_app

POLICY = NetworkPolicy(
    target_copies=5,
    min_countries=3,
    quorum=3,
    vote_margin=0.75,
    invitations=4,
    block_size=2048,
    min_seconds_between_polls=0,
)
COUNTRIES = ("GH", "KE", "SN", "BR", "TZ")


def members_of(nodes: Sequence[Node], urls: Sequence[str] | None = None) -> tuple[Member, ...]:
    """The member entries of ``nodes``, node i at ``urls[i]`` (default ``http://n{i}``) in the i-th of
    :data:`COUNTRIES`."""
    return tuple(
        Member(
            n.settings.node_id,
            urls[i] if urls is not None else f"http://n{i}",
            public_key_text(n.membership.private_key().public_key()),
            f"Library {i}",
            COUNTRIES[i],
        )
        for i, n in enumerate(nodes)
    )


def clients_of(nodes: Sequence[Node], transport: httpx.BaseTransport) -> list[PeerClient]:
    """Each node's peer client over ``transport``."""
    return [PeerClient(n.settings.node_id, n.membership.private_key(), transport=transport) for n in nodes]


def joined(nodes: Sequence[Node], urls: Sequence[str], name: str, policy: NetworkPolicy = POLICY) -> tuple[Member, ...]:
    """``nodes`` joined to one network (version 1 of ``name``, signed by a new administrator's key), node i at
    ``urls[i]``; its members."""
    members = members_of(nodes, urls)
    admin = Ed25519PrivateKey.generate()
    document = sign_config(NetworkConfig(name, 1, members, policy), admin)
    for n in nodes:
        n.membership.join(document, public_key_text(admin.public_key()))
    return members


def network_of(
    nodes: Sequence[Node],
    policy: NetworkPolicy = POLICY,
    *,
    name: str = "memory-net",
    net: InMemoryNetwork | None = None,
) -> tuple[InMemoryNetwork, list[PeerClient]]:
    """``nodes`` joined to one network (version 1 of ``name``, with ``policy``, signed by a new administrator's key),
    node i serving its peer API on ``net`` (a new one if None) as ``n{i}``; the network and each node's client."""
    admin = Ed25519PrivateKey.generate()
    doc = sign_config(NetworkConfig(name, 1, members_of(nodes), policy), admin)
    net = net or InMemoryNetwork()
    for i, n in enumerate(nodes):
        n.membership.join(doc, public_key_text(admin.public_key()))
        net.add(f"n{i}", create_peer_app(n))
    return net, clients_of(nodes, net)
