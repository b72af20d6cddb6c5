"""A real ClamAV daemon for tests, with a signature database of our own.

The public signature database cannot be downloaded in tests (nor should a test depend on it), so each clamd gets
two signatures for the EICAR anti-virus test file: an MD5 hash signature (``.hdb``) and a body signature
(``.ndb``). The EICAR string is built from parts at run time, so no file in the repository holds it (a virus
scanner on a developer's machine would otherwise quarantine the test suite). clamd runs in the foreground, logs
only to a file in its own directory, and loads the tiny database in well under a second.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CLAMD = Path("/usr/sbin/clamd")
HASH_SIGNATURE = "Strongroom.Test.EICAR.MD5"
BODY_SIGNATURE = "Strongroom.Test.EICAR.Body"
# clamd reports signatures from databases it does not ship with a ".UNOFFICIAL" suffix.
SIGNATURES = (HASH_SIGNATURE, BODY_SIGNATURE)
_EICAR_PARTS = (r"X5O!P%@AP[4\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-FILE!", "$H+H*")


def eicar() -> bytes:
    """The 68-byte EICAR anti-virus test file (harmless; every scanner detects it by agreement)."""
    return "".join(_EICAR_PARTS).encode("ascii")


def clamd_binary() -> Path | None:
    if CLAMD.is_file() and os.access(CLAMD, os.X_OK):
        return CLAMD
    found = shutil.which("clamd")
    return Path(found) if found else None


def require_clamd() -> Path:
    """The clamd binary; when it is missing the test is skipped, except under CI (``CI=true``) where it fails."""
    binary = clamd_binary()
    if binary is None:
        message = "clamd is not installed (install Debian's clamav-daemon: apt-get install clamav-daemon)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; the virus-scanning tests must run under CI")
        pytest.skip(message)
    return binary


def write_database(directory: Path) -> None:
    """Our own signature database: the EICAR file by MD5 hash and by body."""
    directory.mkdir(parents=True, exist_ok=True)
    data = eicar()
    (directory / "strongroom-test.hdb").write_text(
        f"{hashlib.md5(data).hexdigest()}:{len(data)}:{HASH_SIGNATURE}\n", encoding="ascii"
    )
    # name:target type (0 = any file):offset (* = anywhere):hex body (the start of the file, a unique string)
    (directory / "strongroom-test.ndb").write_text(f"{BODY_SIGNATURE}:0:*:{data[:40].hex()}\n", encoding="ascii")


@dataclass
class Clamd:
    """A running clamd of our own."""

    address: str
    socket_path: Path
    workdir: Path
    process: subprocess.Popen[bytes]
    startup_seconds: float

    @property
    def stderr(self) -> str:
        return _tail(self.workdir / "clamd.stderr")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-limit:]


def _pong(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(socket_path))
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


def start_clamd(workdir: Path, *, stream_max_length: str = "25M", timeout: float = 30) -> Clamd:
    """Start clamd with a configuration and database under ``workdir``; returns once it answers PING."""
    binary = require_clamd()
    workdir.mkdir(parents=True, exist_ok=True)
    write_database(workdir / "db")
    (workdir / "tmp").mkdir(exist_ok=True)
    socket_dir = workdir
    if len(str(workdir / "clamd.sock")) > 100:  # a unix socket path must fit in 108 bytes
        socket_dir = Path(tempfile.mkdtemp(prefix="clamd-"))
    socket_path = socket_dir / "clamd.sock"
    config = workdir / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"LocalSocket {socket_path}",
                "LocalSocketMode 600",
                "FixStaleSocket yes",
                f"DatabaseDirectory {workdir / 'db'}",
                f"TemporaryDirectory {workdir / 'tmp'}",
                "Foreground yes",
                "LogSyslog no",
                f"LogFile {workdir / 'clamd.log'}",
                "LogTime yes",
                "SelfCheck 0",
                "MaxThreads 4",
                f"StreamMaxLength {stream_max_length}",
                "",
            ]
        ),
        encoding="ascii",
    )
    began = time.monotonic()
    with (workdir / "clamd.stderr").open("wb") as err:
        process = subprocess.Popen(
            [str(binary), "--foreground", f"--config-file={config}"],
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            start_new_session=True,
        )
    running = Clamd(f"unix:{socket_path}", socket_path, workdir, process, 0.0)
    deadline = began + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"clamd exited with status {process.returncode} before answering PING\n"
                f"config: {config}\nstderr and log:\n{running.stderr}\n{_tail(workdir / 'clamd.log')}"
            )
        if socket_path.exists() and _pong(socket_path):
            running.startup_seconds = time.monotonic() - began
            return running
        time.sleep(0.05)
    running.stop()
    raise RuntimeError(
        f"clamd did not answer PING at {socket_path} within {timeout:g} s\n"
        f"config: {config}\nstderr and log:\n{running.stderr}\n{_tail(workdir / 'clamd.log')}"
    )


@contextmanager
def running_clamd(workdir: Path, *, stream_max_length: str = "25M") -> Iterator[Clamd]:
    """A clamd for the duration of a ``with`` block (stopped at its end, even on failure)."""
    running = start_clamd(workdir, stream_max_length=stream_max_length)
    try:
        yield running
    finally:
        running.stop()
