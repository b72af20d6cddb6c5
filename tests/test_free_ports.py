"""The loopback ports tests give their servers: two test workers never pick the same one."""

from __future__ import annotations

import pytest

from tests_support import _worker_slice, free_ports


def test_each_test_worker_picks_from_its_own_share_of_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    shares = []
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        shares.append(_worker_slice(10000, 32768))
    (low0, high0), (low1, high1) = shares
    assert low0 == 10000 and high1 <= 32768
    assert high0 <= low1, "the two workers' shares overlap"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert _worker_slice(10000, 32768) == (10000, 32768)


def test_a_port_is_never_handed_out_twice() -> None:
    picked = [free_ports(3) for _ in range(50)]
    ports = [p + i for p in picked for i in range(3)]
    assert len(ports) == len(set(ports))
