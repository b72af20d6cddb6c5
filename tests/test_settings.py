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


def with_pkppn_lines(home: Path, *lines: str) -> None:
    """Replace the [pkppn] section `init` wrote by one holding only ``lines``."""
    path = home / "strongroom.toml"
    text = path.read_text(encoding="utf-8")
    assert "[pkppn]\n" in text
    head = text[: text.index("[pkppn]\n")]
    path.write_text(head + "[pkppn]\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")


def test_the_pkppn_section_has_defaults(tmp_path: Path) -> None:
    Node.create(tmp_path / "home").close()
    pkppn = load_settings(tmp_path / "home").pkppn
    assert pkppn.clamd == "unix:/var/run/clamav/clamd.ctl"
    assert pkppn.accepting is True
    assert pkppn.accepting_message == ""  # the built-in message, in the journal manager's language
    assert (pkppn.min_ojs_version, pkppn.max_upload_mb, pkppn.checksum_type) == ("3.3.0", 1000, "SHA-1")
    assert (pkppn.harvest_attempts, pkppn.retry_seconds) == (5, 600)
    with_pkppn_lines(tmp_path / "home")  # an empty section, or none at all, means the defaults
    assert load_settings(tmp_path / "home").pkppn == pkppn


@pytest.mark.parametrize(
    "address", ["unix:/run/clamd.ctl", "tcp:127.0.0.1:3310", "tcp:clamav.internal:3310", "tcp:[::1]:3310"]
)
def test_a_clamd_address_is_a_socket_path_or_a_host_and_port(tmp_path: Path, address: str) -> None:
    Node.create(tmp_path / "home").close()
    with_pkppn_lines(tmp_path / "home", f'clamd = "{address}"', "accepting = false", 'checksum_type = "MD5"')
    pkppn = load_settings(tmp_path / "home").pkppn
    assert (pkppn.clamd, pkppn.accepting, pkppn.checksum_type) == (address, False, "MD5")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('clamd = "/var/run/clamav/clamd.ctl"', r"pkppn\.clamd '/var/run/clamav/clamd\.ctl': not an address"),
        ('clamd = "unix:clamd.ctl"', r"pkppn\.clamd 'unix:clamd\.ctl': a unix socket address needs an absolute path"),
        ('clamd = "tcp:127.0.0.1"', r"pkppn\.clamd 'tcp:127\.0\.0\.1': a TCP address needs a host and a port"),
        ('clamd = "tcp:localhost:http"', r"pkppn\.clamd .*'http' is not a port number"),
        ('checksum_type = "SHA-256"', r"pkppn\.checksum_type is 'SHA-256'"),
        ('min_ojs_version = "three"', r"pkppn\.min_ojs_version 'three' is not a release number"),
        ("max_upload_mb = 0", r"pkppn\.max_upload_mb must be at least 1"),
        ("retry_seconds = -5", r"pkppn\.retry_seconds must be at least 1"),
        ('accepting = "yes"', r"pkppn\.accepting must be a bool"),
        ('harvest_attempts = "5"', r"pkppn\.harvest_attempts must be a int"),
        ('clamd_socket = "unix:/x"', r"unknown setting\(s\) pkppn\.clamd_socket"),
    ],
)
def test_a_bad_pkppn_setting_is_refused_naming_the_key(tmp_path: Path, line: str, expected: str) -> None:
    Node.create(tmp_path / "home").close()
    with_pkppn_lines(tmp_path / "home", line)
    with pytest.raises(ConfigError, match=expected):
        load_settings(tmp_path / "home")
