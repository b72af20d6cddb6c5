"""A PostgreSQL catalog server gone silent (it takes the connection and never answers, as a host behind a dropped
route or a hung server does) is given up on after a limit, with the database's error, instead of holding a command
or a starting node for ever (libpq's own default). The URL's own ``connect_timeout`` wins."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from strongroom.catalog import db


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port whose connections the kernel completes but no one ever reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def _connect(url: str) -> BaseException | None:
    """What connecting to ``url`` ended with; the test fails if it is still waiting after 60 seconds."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            outcome.append(None)
        except BaseException as exc:  # handed to the test to inspect
            outcome.append(exc)
        finally:
            engine.dispose()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "connecting to a silent server did not give up"
    return outcome[0]


def test_a_silent_server_is_given_up_on_after_the_default_limit(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "DATABASE_CONNECT_TIMEOUT", 2)  # (libpq's least; the default is 10)
    error = _connect(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/test")
    assert isinstance(error, OperationalError) and "timeout" in str(error).lower(), error


def test_the_urls_own_connect_timeout_wins(silent_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "DATABASE_CONNECT_TIMEOUT", 3600)  # would outlast the test's patience
    error = _connect(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/test?connect_timeout=2")
    assert isinstance(error, OperationalError) and "timeout" in str(error).lower(), error
