"""Virus scanning through a running ClamAV daemon (clamd), speaking its documented socket protocol directly.

Each request is one connection: a NUL-terminated command with the ``z`` prefix (``zPING``, ``zVERSION``,
``zINSTREAM``), and a NUL-terminated reply. ``INSTREAM`` sends the file as chunks, each prefixed by its length as
a 4-byte big-endian integer, ended by a zero-length chunk; clamd answers ``stream: OK``, ``stream: <Signature>
FOUND`` or ``<reason> ERROR``. Files are streamed, never read whole, so clamd needs no access to our disk (it may
run as another user, in a container or on another host).

clamd refuses a stream longer than its ``StreamMaxLength`` (default 25 MiB): set it in clamd.conf to at least the
largest deposit the node accepts (``pkppn.max_upload_mb``); a larger file raises :class:`ScanLimitExceeded`, never
passes as clean. Any failure to reach clamd or to understand it raises :class:`ScannerUnavailable`: no file is
ever taken as clean without clamd's ``OK``.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from strongroom.errors import ConfigError, ExitCode, StrongroomError
from strongroom.settings import parse_clamd_address

CHUNK_BYTES = 1024 * 1024
MAX_REPLY_BYTES = 64 * 1024
SIZE_LIMIT_REPLY = "INSTREAM size limit exceeded"
FIX_HINT = "start clamd, or set [pkppn] clamd in settings (unix:/path/to/clamd.ctl or tcp:host:port)"


class ScannerUnavailable(StrongroomError):
    """clamd cannot be reached at its address, or what answered there is not clamd (or clamd failed to scan)."""

    # Like an unreachable catalog database: a service the node's configuration names cannot be used.
    exit_code = ExitCode.CONFIG


class ScanLimitExceeded(StrongroomError):
    """A file is longer than clamd's StreamMaxLength, so clamd refused to scan it (it is not known to be clean)."""

    exit_code = ExitCode.CONFIG


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str | None = None


class ClamdScanner:
    """A client of one clamd, at ``unix:/path/to/clamd.ctl`` or ``tcp:host:port``."""

    def __init__(self, address: str, timeout: float = 60) -> None:
        try:
            self._target = parse_clamd_address(address)
        except ValueError as exc:
            raise ConfigError(f"clamd address {address!r}: {exc}", hint=FIX_HINT) from None
        self.address = address
        self.timeout = timeout

    # -- requests ---------------------------------------------------------------------------------------------

    def ping(self) -> str:
        """Check clamd answers ``PONG``; returns its version (``ClamAV 1.4.6/27000/…``)."""
        with self._connect() as sock:
            self._send(sock, b"zPING\0")
            reply = self._reply(sock)
        if reply != "PONG":
            raise self._garbled("PING", reply)
        with self._connect() as sock:
            self._send(sock, b"zVERSION\0")
            version = self._reply(sock)
        if not version.startswith("ClamAV "):
            raise self._garbled("VERSION", version)
        return version

    def scan_file(self, path: str | os.PathLike[str]) -> ScanResult:
        """Stream one file to clamd in 1 MiB chunks and return its verdict."""
        path = Path(path)
        with path.open("rb") as f, self._connect() as sock:
            self._send(sock, b"zINSTREAM\0")
            sent = 0
            try:
                while chunk := f.read(CHUNK_BYTES):
                    sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                    sent += len(chunk)
                sock.sendall(struct.pack(">I", 0))
            except (BrokenPipeError, ConnectionResetError):
                # clamd closes the stream when it is over StreamMaxLength: its reply, if any, says so.
                reply = self._reply(sock, missing_ok=True)
                if reply.startswith(SIZE_LIMIT_REPLY):
                    raise self._too_large(path, sent) from None
                if reply and not reply.endswith(" ERROR"):
                    raise self._garbled("INSTREAM", reply) from None
                if reply:  # never a verdict: clamd did not read the whole file
                    raise self._unavailable(
                        f"clamd at {self.address} stopped reading {path} after {sent:,} bytes: {reply[:80]!r}"
                    ) from None
                raise self._unavailable(
                    f"clamd at {self.address} closed the connection after {sent:,} bytes of {path} without an "
                    "answer (if the file is longer than clamd's StreamMaxLength, raise that in clamd.conf)"
                ) from None
            except TimeoutError:
                raise self._unavailable(f"clamd at {self.address} stopped reading {path}") from None
            except OSError as exc:
                raise self._unavailable(f"lost the connection to clamd at {self.address}: {exc}") from None
            reply = self._reply(sock)
        return self._verdict(path, reply, sent)

    def scan_tree(self, root: str | os.PathLike[str]) -> list[tuple[str, str]]:
        """Scan every regular file under ``root`` (symbolic links are not followed); the infected ones, as
        ``(path relative to root, signature)`` in path order."""
        root = Path(root)
        found: list[tuple[str, str]] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if path.is_symlink() or not path.is_file():
                    continue
                result = self.scan_file(path)
                if not result.clean:
                    found.append((path.relative_to(root).as_posix(), result.signature or "unknown"))
        return sorted(found)

    # -- the socket -------------------------------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        kind, where = self._target
        try:
            if kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(str(where))
                except BaseException:
                    sock.close()
                    raise
            else:
                assert isinstance(where, tuple)
                sock = socket.create_connection(where, timeout=self.timeout)
        except FileNotFoundError:
            raise self._unavailable(f"no clamd socket at {self.address} (the file does not exist)") from None
        except ConnectionRefusedError:
            raise self._unavailable(f"clamd refused the connection at {self.address} (is it running?)") from None
        except TimeoutError:
            raise self._unavailable(f"clamd at {self.address} did not answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise self._unavailable(f"cannot connect to clamd at {self.address}: {exc.strerror or exc}") from None
        return sock

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except TimeoutError:
            raise self._unavailable(f"clamd at {self.address} did not answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise self._unavailable(f"lost the connection to clamd at {self.address}: {exc}") from None

    def _reply(self, sock: socket.socket, *, missing_ok: bool = False) -> str:
        """One NUL-terminated reply (or everything until the connection closes), decoded and stripped."""
        buf = b""
        try:
            while b"\0" not in buf and len(buf) < MAX_REPLY_BYTES:
                data = sock.recv(4096)
                if not data:
                    break
                buf += data
        except TimeoutError:
            if missing_ok:
                return ""
            raise self._unavailable(f"clamd at {self.address} did not answer within {self.timeout:g} s") from None
        except OSError as exc:
            if missing_ok:
                return buf.partition(b"\0")[0].decode("utf-8", "replace").strip()
            raise self._unavailable(f"lost the connection to clamd at {self.address}: {exc}") from None
        if not buf and not missing_ok:
            raise self._unavailable(f"clamd at {self.address} closed the connection without an answer")
        return buf.partition(b"\0")[0].decode("utf-8", "replace").strip()

    # -- replies ----------------------------------------------------------------------------------------------

    def _verdict(self, path: Path, reply: str, sent: int) -> ScanResult:
        if reply == "stream: OK":
            return ScanResult(clean=True)
        if reply.startswith("stream: ") and reply.endswith(" FOUND"):
            signature = reply[len("stream: ") : -len(" FOUND")].strip()
            if signature:
                return ScanResult(clean=False, signature=signature)
        if reply.startswith(SIZE_LIMIT_REPLY):
            raise self._too_large(path, sent)
        if reply.endswith(" ERROR"):
            raise self._unavailable(f"clamd at {self.address} could not scan {path}: {reply}")
        raise self._garbled("INSTREAM", reply)

    def _unavailable(self, message: str) -> ScannerUnavailable:
        return ScannerUnavailable(message, hint=FIX_HINT)

    def _garbled(self, command: str, reply: str) -> ScannerUnavailable:
        shown = reply if len(reply) <= 80 else reply[:77] + "..."
        return self._unavailable(
            f"what answers at {self.address} is not clamd: its reply to {command} was {shown!r}",
        )

    def _too_large(self, path: Path, sent: int) -> ScanLimitExceeded:
        size = path.stat().st_size
        return ScanLimitExceeded(
            f"clamd at {self.address} refused to scan {path} ({size:,} bytes): it is longer than clamd's "
            f"StreamMaxLength (INSTREAM size limit exceeded after {sent:,} bytes); the file was not scanned",
            hint="raise StreamMaxLength in clamd.conf to at least the largest deposit accepted "
            "([pkppn] max_upload_mb) and restart clamd",
        )
