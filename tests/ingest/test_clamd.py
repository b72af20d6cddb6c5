"""Virus scanning through a real clamd (with a signature database of our own: the EICAR test file), and every way
of failing to reach it: each is a ScannerUnavailable that names the address and the fix, never a clean verdict."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from clamd_support import BODY_SIGNATURE, SIGNATURES, eicar, running_clamd
from strongroom.errors import ConfigError, ExitCode
from strongroom.ingest.clamd import CHUNK_BYTES, ClamdScanner, ScanLimitExceeded, ScannerUnavailable, ScanResult
from tests_support import free_port


def is_ours(signature: str | None) -> bool:
    return signature is not None and signature.removesuffix(".UNOFFICIAL") in SIGNATURES


def test_ping_answers_with_the_version(clamd_address: str) -> None:
    assert ClamdScanner(clamd_address).ping().startswith("ClamAV 1.")


def test_a_clean_file_is_clean(clamd_address: str, tmp_path: Path) -> None:
    (tmp_path / "article.xml").write_text("<article>Nothing to see here.</article>", encoding="utf-8")
    (tmp_path / "empty").write_bytes(b"")
    scanner = ClamdScanner(clamd_address)
    assert scanner.scan_file(tmp_path / "article.xml") == ScanResult(clean=True, signature=None)
    assert scanner.scan_file(tmp_path / "empty") == ScanResult(clean=True, signature=None)


def test_the_eicar_file_is_found_with_its_signature(clamd_address: str, tmp_path: Path) -> None:
    (tmp_path / "eicar.com").write_bytes(eicar())
    result = ClamdScanner(clamd_address).scan_file(tmp_path / "eicar.com")
    assert not result.clean
    assert is_ours(result.signature), result.signature


def test_a_signature_across_a_chunk_boundary_is_found(clamd_address: str, tmp_path: Path) -> None:
    """Files go in 1 MiB chunks; clamd sees one stream, so a body split between two chunks is still found."""
    data = bytearray(b"A" * (2 * CHUNK_BYTES + 100))
    at = CHUNK_BYTES - 30
    data[at : at + len(eicar())] = eicar()
    (tmp_path / "big.bin").write_bytes(bytes(data))
    (tmp_path / "big-clean.bin").write_bytes(b"B" * (3 * CHUNK_BYTES + 7))
    scanner = ClamdScanner(clamd_address)
    result = scanner.scan_file(tmp_path / "big.bin")
    assert not result.clean
    assert result.signature is not None and result.signature.startswith(BODY_SIGNATURE)
    assert scanner.scan_file(tmp_path / "big-clean.bin").clean


def test_scan_tree_says_which_files_are_infected(clamd_address: str, tmp_path: Path) -> None:
    root = tmp_path / "bag"
    (root / "data" / "files" / "3").mkdir(parents=True)
    (root / "bagit.txt").write_text("BagIt-Version: 1.0\n", encoding="utf-8")
    (root / "data" / "Issue1.xml").write_text("<issue/>", encoding="utf-8")
    (root / "data" / "files" / "3" / "galley.pdf").write_bytes(b"%PDF-1.4\n" + eicar() + b"\n%%EOF\n")
    (root / "data" / "files" / "clean.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    outside = tmp_path / "outside.com"
    outside.write_bytes(eicar())
    (root / "data" / "link.com").symlink_to(outside)  # a link is not followed out of the tree
    found = ClamdScanner(clamd_address).scan_tree(root)
    assert [path for path, _ in found] == ["data/files/3/galley.pdf"]
    assert is_ours(found[0][1])
    (root / "data" / "files" / "3" / "galley.pdf").unlink()
    assert ClamdScanner(clamd_address).scan_tree(root) == []


def test_a_file_over_stream_max_length_is_a_clear_error(tmp_path: Path) -> None:
    with running_clamd(tmp_path / "clamd", stream_max_length="1M") as small:
        (tmp_path / "big.bin").write_bytes(b"C" * (3 * CHUNK_BYTES))
        (tmp_path / "fits.bin").write_bytes(b"C" * 1000)
        scanner = ClamdScanner(small.address)
        assert scanner.scan_file(tmp_path / "fits.bin").clean
        with pytest.raises(ScanLimitExceeded, match=r"StreamMaxLength") as caught:
            scanner.scan_file(tmp_path / "big.bin")
        assert "big.bin" in str(caught.value) and "not scanned" in str(caught.value)
        assert "max_upload_mb" in str(caught.value)  # the hint: what to raise it to
        assert caught.value.exit_code == ExitCode.CONFIG


def test_clamd_stopped_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    with running_clamd(tmp_path / "clamd") as own:
        scanner = ClamdScanner(own.address)
        assert scanner.scan_file(tmp_path / "f.txt").clean
    with pytest.raises(ScannerUnavailable) as caught:
        scanner.scan_file(tmp_path / "f.txt")
    message = str(caught.value)
    assert own.address in message
    assert "start clamd, or set [pkppn] clamd in settings" in message
    assert caught.value.exit_code == ExitCode.CONFIG


def test_a_missing_socket_is_unavailable(tmp_path: Path) -> None:
    address = f"unix:{tmp_path / 'nowhere.ctl'}"
    with pytest.raises(ScannerUnavailable, match=r"no clamd socket at unix:.*nowhere\.ctl") as caught:
        ClamdScanner(address).ping()
    assert "hint: start clamd" in str(caught.value)


def test_a_stale_socket_and_a_closed_port_are_refused(tmp_path: Path) -> None:
    stale = tmp_path / "stale.ctl"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(stale))  # bound, never listening: what a crashed clamd leaves behind
    with pytest.raises(ScannerUnavailable, match=r"refused the connection at unix:"):
        ClamdScanner(f"unix:{stale}").ping()
    port = free_port()
    with pytest.raises(ScannerUnavailable, match=rf"refused the connection at tcp:127\.0\.0\.1:{port}"):
        ClamdScanner(f"tcp:127.0.0.1:{port}").ping()


def fake_server(path: Path, answer: bytes | None) -> Iterator[str]:
    """A unix socket server that reads a little and answers ``answer`` (``None``: never answers)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            if answer is None:
                held.append(conn)
                continue
            conn.sendall(answer)
            # Read on until the client hangs up, as clamd reads a whole stream: closing with its bytes unread would
            # make the kernel reset the connection, and the client could lose the answer before reading it.
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                while conn.recv(65536):
                    pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix:{path}"
    finally:
        stop.set()
        server.shutdown(socket.SHUT_RDWR)
        server.close()
        for conn in held:
            conn.close()
        thread.join(5)


@pytest.fixture
def garbage_server(tmp_path: Path) -> Iterator[str]:
    yield from fake_server(tmp_path / "garbage.ctl", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def silent_server(tmp_path: Path) -> Iterator[str]:
    yield from fake_server(tmp_path / "silent.ctl", None)


def test_a_server_that_answers_garbage_is_not_clamd(garbage_server: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    scanner = ClamdScanner(garbage_server, timeout=5)
    with pytest.raises(ScannerUnavailable, match=r"is not clamd: its reply to PING was 'HTTP/1.1 400") as caught:
        scanner.ping()
    assert garbage_server in str(caught.value)
    with pytest.raises(ScannerUnavailable, match=r"is not clamd: its reply to INSTREAM was"):
        scanner.scan_file(tmp_path / "f.txt")


def test_a_server_that_never_answers_times_out(silent_server: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ScannerUnavailable, match=r"did not answer within 0\.5 s") as caught:
        ClamdScanner(silent_server, timeout=0.5).scan_file(tmp_path / "f.txt")
    assert "start clamd" in str(caught.value)


@pytest.mark.parametrize(
    "address", ["clamd.ctl", "unix:relative/clamd.ctl", "tcp:localhost", "tcp::3310", "tcp:h:99999"]
)
def test_a_malformed_address_is_a_config_error(address: str) -> None:
    with pytest.raises(ConfigError, match="clamd address"):
        ClamdScanner(address)


def test_the_clamd_of_the_tests_starts_quickly(tmp_path: Path) -> None:
    with running_clamd(tmp_path / "clamd") as own:
        assert own.startup_seconds < 2, own.stderr
        assert os.path.exists(own.socket_path)
    assert own.process.returncode is not None
