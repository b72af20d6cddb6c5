"""``strongroom demo --network`` refusals, before it starts anything: a --nodes out of range or not a number, a
network option without --network (usage errors, exit 2), a home that is not a demo's and a port in use (exit 7,
nothing written); and ``strongroom demo`` without --network is still the one-node tour's command."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.demo_network import NetworkDemo
from strongroom.errors import ConfigError, ExitCode

STRONGROOM = [sys.executable, "-m", "strongroom.cli.main"]


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*STRONGROOM, "demo", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("nodes", ["2", "6", "0", "three"])
def test_a_bad_number_of_nodes_is_a_usage_error(nodes: str, tmp_path: Path) -> None:
    proc = demo("--network", "--nodes", nodes, "--home", str(tmp_path / "tour"))
    assert proc.returncode == ExitCode.USAGE, proc.stdout + proc.stderr
    assert "--nodes" in proc.stderr
    assert not (tmp_path / "tour").exists()


@pytest.mark.parametrize("option", [["--nodes", "4"], ["--port", "9000"], ["--no-wait"]])
def test_network_options_need_network(option: list[str], tmp_path: Path) -> None:
    proc = demo(*option, "--home", str(tmp_path / "tour"))
    assert proc.returncode == ExitCode.USAGE
    assert "--network" in proc.stderr and option[0] in proc.stderr
    assert not (tmp_path / "tour").exists()


def test_a_home_that_is_not_a_demo_home_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "precious"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work", encoding="utf-8")
    proc = demo("--network", "--no-wait", "--home", str(home), "--port", "1")
    assert proc.returncode == ExitCode.CONFIG, proc.stdout + proc.stderr
    assert "is not a demo home" in proc.stderr
    assert sorted(p.name for p in home.iterdir()) == ["thesis.tex"]


def test_a_port_in_use_is_refused_naming_it(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = demo("--network", "--no-wait", "--home", str(tmp_path / "tour"), "--port", str(port - 1))
    assert proc.returncode == ExitCode.CONFIG, proc.stdout + proc.stderr
    assert re.search(rf"ports? .*\b{port}\b.* in use", proc.stderr) and "--port" in proc.stderr, proc.stderr
    assert not (tmp_path / "tour").exists()


def test_the_tour_takes_three_to_five_nodes(tmp_path: Path) -> None:
    for nodes in (2, 6):
        with pytest.raises(ConfigError, match="3 to 5 nodes"):
            NetworkDemo(tmp_path, nodes, say=print)


def test_demo_without_network_is_the_one_node_tour() -> None:
    proc = subprocess.run([*STRONGROOM, "demo", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "Create a node, deposit sample journals" in proc.stdout and "--network" in proc.stdout
