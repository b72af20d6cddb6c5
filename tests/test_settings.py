"""The settings file: a value of the wrong kind is an error that names the key and the fix, at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.errors import ConfigError
from strongroom.node import Node
from strongroom.settings import load_settings


def with_portal_line(home: Path, line: str) -> None:
    path = home / "strongroom.toml"
    text = path.read_text(encoding="utf-8")
    assert "[portal]\n" in text
    path.write_text(text.replace("[portal]\n", f"[portal]\n{line}\n").replace('trusted_proxies = ""\n', "", 1))


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    Node.create(tmp_path / "home").close()
    assert load_settings(tmp_path / "home").portal.trusted_proxies == ""  # the default: no proxy is believed
    with_portal_line(tmp_path / "home", 'trusted_proxies = "127.0.0.1, 10.0.0.0/8, ::1"')
    assert load_settings(tmp_path / "home").portal.trusted_proxies == "127.0.0.1, 10.0.0.0/8, ::1"


@pytest.mark.parametrize("value", ["proxy.example.org", "10.0.0.0/33", "*"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused(tmp_path: Path, value: str) -> None:
    Node.create(tmp_path / "home").close()
    with_portal_line(tmp_path / "home", f'trusted_proxies = "{value}"')
    with pytest.raises(ConfigError, match=r"portal\.trusted_proxies: .* is not an IP address or network"):
        load_settings(tmp_path / "home")
