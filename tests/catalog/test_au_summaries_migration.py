"""Revision 0016 fills each AU's summaries (stored bytes, last audit, polls) from the files and events a catalog
made before it already holds, on both backends."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import command

from strongroom.catalog.db import _alembic_config, current_revision, head_revision, make_engine, migrate

NOW = "2026-01-15 09:00:00"


def _event(conn: sa.Connection, n: int, type_: str, outcome: str, key: str, at: str, detail: str, data: dict) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO events (id, uuid, type, outcome, agent, time, detail, object_type, object_key, data) "
            "VALUES (:id, :uuid, :type, :outcome, 'test', :time, :detail, 'au', :key, :data)"
        ),
        {
            "id": n,
            "uuid": f"00000000-0000-0000-0000-{n:012d}",
            "type": type_,
            "outcome": outcome,
            "time": at,
            "detail": detail,
            "key": key,
            "data": json.dumps(data),
        },
    )


def test_revision_0016_fills_the_summaries_from_files_and_events(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0015")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO titles (id, key, name, kind, languages, created_at) "
                f"VALUES (1, 'issn:x', 'X', 'journal', '[]', '{NOW}')"
            )
        )
        for au_id, key in ((1, "issn:x/2023"), (2, "issn:x/2024"), (3, "issn:x/2025")):
            conn.execute(
                sa.text(
                    "INSERT INTO archival_units (id, key, title_id, label, state, object_id, head_version, "
                    f"created_at, updated_at) VALUES (:id, :key, 1, 'y', 'collected', :obj, 1, '{NOW}', '{NOW}')"
                ),
                {"id": au_id, "key": key, "obj": f"obj-{au_id}"},
            )
        for n, (au_id, size) in enumerate(((1, 1000), (1, 2_500_000_000), (2, 7)), 1):
            conn.execute(
                sa.text(
                    "INSERT INTO files (id, au_id, logical_path, size, sha512, sha256, media_type, role, source, "
                    "version) VALUES (:id, :au, :path, :size, 'x', 'y', 'application/pdf', 'pdf', 'deposit', 1)"
                ),
                {"id": n, "au": au_id, "path": f"f{n}", "size": size},
            )
        # AU 1: audited intact, then damaged (the newest says failure); AU 2: damaged, then intact; AU 3: never
        _event(conn, 1, "fixity check", "success", "issn:x/2023", "2026-01-01 10:00:00", "ok", {})
        _event(conn, 2, "fixity check", "failure", "issn:x/2023", "2026-01-02 10:00:00", "damaged", {})
        _event(conn, 3, "fixity check", "failure", "issn:x/2024", "2026-01-01 11:00:00", "damaged", {})
        _event(conn, 4, "fixity check", "success", "issn:x/2024", "2026-01-03 11:00:00", "ok", {})
        # AU 1's polls: a conclusive one, then one with too few votes (an alarm), then a receipt from a peer
        # about AU 2 (conclusive, though not called here); a vote is no poll called here
        poller = {"role": "poller", "outcome": "agree", "voters": ["b", "c"], "alarms": []}
        _event(conn, 5, "poll", "success", "issn:x/2023", "2026-01-04 08:00:00", "poll: agree", poller)
        alarm = {"role": "poller", "outcome": "inconclusive", "voters": [], "alarms": ["too few votes"]}
        _event(conn, 6, "poll", "warning", "issn:x/2023", "2026-01-05 08:00:00", "ALARM: too few votes", alarm)
        _event(conn, 7, "poll", "success", "issn:x/2023", "2026-01-05 09:00:00", "vote", {"role": "voter"})
        _event(conn, 8, "poll", "success", "issn:x/2024", "2026-01-06 08:00:00", "receipt", {"receipt": "agree"})
    assert migrate(engine) is True and current_revision(engine) == head_revision()
    with engine.connect() as conn:
        rows = {
            r.key: r
            for r in conn.execute(
                sa.text(
                    "SELECT key, stored_files, stored_bytes, last_audit_at, last_audit_ok, last_poll_at, "
                    "last_poll_outcome, last_conclusive_poll_at, poll_alarms FROM archival_units"
                )
            )
        }
    one, two, three = rows["issn:x/2023"], rows["issn:x/2024"], rows["issn:x/2025"]
    assert (one.stored_files, one.stored_bytes, two.stored_files, two.stored_bytes) == (2, 2_500_001_000, 1, 7)
    assert (three.stored_files, three.stored_bytes) == (0, 0)
    assert [_at(one.last_audit_at), _at(two.last_audit_at), three.last_audit_at] == [
        dt.datetime(2026, 1, 2, 10, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 3, 11, 0, tzinfo=dt.UTC),
        None,
    ]
    assert (bool(one.last_audit_ok), bool(two.last_audit_ok), three.last_audit_ok) == (False, True, None)
    assert (_at(one.last_poll_at), one.last_poll_outcome) == (dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC), "warning")
    assert _at(one.last_conclusive_poll_at) == dt.datetime(2026, 1, 4, 8, tzinfo=dt.UTC)
    assert _json(one.poll_alarms) == ["2026-01-05 08:00 ALARM: too few votes"]
    assert (two.last_poll_at, two.last_poll_outcome, _json(two.poll_alarms)) == (None, None, [])
    assert _at(two.last_conclusive_poll_at) == dt.datetime(2026, 1, 6, 8, tzinfo=dt.UTC)
    assert (three.last_poll_at, three.last_conclusive_poll_at, _json(three.poll_alarms)) == (None, None, [])
    engine.dispose()


def _at(value: dt.datetime | str) -> dt.datetime:
    """A time as the raw connection returns it (SQLite: text without a zone; PostgreSQL: aware), in UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value
