"""``strongroom network join FILE`` with a file that is not a signed configuration at all: a configuration error
naming the file and what to join with, before the node is opened, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli.main import cli
from strongroom.errors import ExitCode


@pytest.mark.parametrize(
    "content",
    [b"<html>not a configuration</html>", b"[" * 5000, b"\xff\xfe{}"],
    ids=["html", "nested past the parser's depth", "not UTF-8"],
)
def test_joining_with_what_is_not_json_is_a_configuration_error(tmp_path: Path, content: bytes) -> None:
    signed = tmp_path / "signed.json"
    signed.write_bytes(content)
    result = CliRunner().invoke(cli, ["network", "join", str(signed), "--home", str(tmp_path / "home")])
    assert result.exit_code == ExitCode.CONFIG, result.output
    assert f"{signed}: not a signed network configuration (not JSON" in result.output
    assert "strongroom network sign" in result.output  # the hint
    assert not (tmp_path / "home").exists()  # refused before the node was opened (or made)
