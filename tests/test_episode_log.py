from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emgwatch.cli import main
from emgwatch.commands.episodes import write_csv, write_jsonl
from emgwatch.episodes import Episode, EpisodeEvent
from emgwatch.errors import EmgwatchError, InputError
from emgwatch.sinks import episode_log
from emgwatch.sinks.episode_log import MIGRATIONS, SCHEMA_VERSION, EpisodeLog, migrate

NIGHT1 = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
NIGHT2 = datetime(2026, 11, 22, 22, 0, tzinfo=UTC)


def _events(ep: Episode) -> list[EpisodeEvent]:
    ongoing = Episode(ep.kind, ep.channel, ep.start, None, 0.5, 3.0, id=ep.id)
    return [EpisodeEvent("start", ongoing, ep.start + 0.3), EpisodeEvent("end", ep, ep.end + 0.5)]


def _fill(path, nights=((NIGHT1, ["cramp", "plm", "plm"]), (NIGHT2, ["spasm", "plm"]))):
    with EpisodeLog(path) as elog:
        ids = []
        for start, kinds in nights:
            sid = elog.open_session("dev1", start, "sleep", "v0.1", {"mvc": {"ch1": 812.0}})
            ids.append(sid)
            for i, kind in enumerate(kinds):
                ep = Episode(
                    kind, "ch1", 600.0 * (i + 1), 600.0 * (i + 1) + 5, 0.9, 12.5, extra={"n": i}
                )
                for ev in _events(ep):
                    elog.handle(ev)
            elog.handle_quality(
                SimpleNamespace(t=30.0, channel="ch1", kind="lead_off", active=True)
            )
            elog.handle_quality(
                SimpleNamespace(t=42.0, channel="ch1", kind="lead_off", active=False)
            )
            elog.close_session(start + timedelta(hours=8))
    return ids


def test_episode_start_then_end_is_one_row_with_all_fields(tmp_path):
    db = tmp_path / "log.sqlite"
    with EpisodeLog(db) as elog:
        sid = elog.open_session("dev1", NIGHT1, "sleep", "v0.1", {"gain": 2})
        ep = Episode("cramp", "calf", 100.0, 160.5, 0.87, 18.25, id="abc", extra={"peak_hz": 61})
        elog.handle(
            EpisodeEvent("start", Episode("cramp", "calf", 100.0, None, 0.6, 9.0, id="abc"), 100.4)
        )
        ongoing = elog.episodes(session=sid)
        assert ongoing[0].episode.end is None
        elog.handle(EpisodeEvent("end", ep, 161.0))
        rows = elog.episodes(session=sid)
    assert len(rows) == 1
    got = rows[0]
    assert got.episode == ep
    assert got.start_time == NIGHT1 + timedelta(seconds=100)
    assert got.to_row()["duration_s"] == 60.5


def test_log_is_wal_and_schema_is_current(tmp_path):
    db = tmp_path / "log.sqlite"
    EpisodeLog(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_sessions_keep_device_context_model_and_calibration(tmp_path):
    db = tmp_path / "log.sqlite"
    _fill(db)
    with EpisodeLog(db, create=False) as elog:
        s = elog.sessions()
    assert [x.n_episodes for x in s] == [3, 2]
    assert s[0].calibration == {"mvc": {"ch1": 812.0}}
    assert (s[0].device_id, s[0].context, s[0].model_version) == ("dev1", "sleep", "v0.1")
    assert s[0].end_time == NIGHT1 + timedelta(hours=8)


def test_each_event_is_committed_before_close(tmp_path):
    db = tmp_path / "log.sqlite"
    elog = EpisodeLog(db)
    sid = elog.open_session("dev1", NIGHT1, "sleep", "v0")
    elog.handle(EpisodeEvent("start", Episode("spasm", "ch1", 5.0), 5.2))
    # A second connection (another process after a crash) sees it without close().
    other = sqlite3.connect(db)
    assert other.execute("SELECT kind FROM episodes WHERE session_id=?", (sid,)).fetchall() == [
        ("spasm",)
    ]
    elog.close()


def test_version_1_log_is_migrated_keeping_its_episodes(tmp_path):
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, db, target=1)
    conn.execute(
        "INSERT INTO sessions (device_id, start_utc, start_epoch, context, model_version) VALUES (?,?,?,?,?)",
        ("dev0", NIGHT1.isoformat(), NIGHT1.timestamp(), "sleep", "v0"),
    )
    conn.execute(
        "INSERT INTO episodes VALUES (1, 'e1', 'cramp', 'ch1', 10.0, 70.0, 0.9, 15.0, '{}', ?, 10.5)",
        (NIGHT1.timestamp() + 10,),
    )
    conn.close()
    with EpisodeLog(db) as elog:
        assert [e.episode.kind for e in elog.episodes()] == ["cramp"]
        assert elog.recordings(1) == []  # table added by migration 2
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_log_from_a_newer_emgwatch_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "future.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(
        EmgwatchError, match=rf"schema version {SCHEMA_VERSION + 1}.*upgrade emgwatch"
    ):
        EpisodeLog(db)
    assert db.read_bytes() == before
    assert not (tmp_path / "future.sqlite-wal").exists()


def test_file_that_is_not_a_database_is_a_clear_input_error(tmp_path):
    db = tmp_path / "junk.sqlite"
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InputError, match="not a usable episode log"):
        EpisodeLog(db)


def test_missing_log_is_not_created_by_readers(tmp_path):
    with pytest.raises(EmgwatchError, match="no episode log"):
        EpisodeLog(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_write_failure_is_logged_and_retried_without_raising(tmp_path, caplog):
    db = tmp_path / "log.sqlite"
    elog = EpisodeLog(db)
    elog.open_session("dev1", NIGHT1, "sleep", "v0")
    real = elog._conn

    class Full:
        def execute(self, *a):
            raise sqlite3.OperationalError("database or disk is full")

    elog._conn = Full()
    elog.handle(EpisodeEvent("start", Episode("spasm", "ch1", 5.0, id="a"), 5.1))
    elog.handle(EpisodeEvent("end", Episode("spasm", "ch1", 5.0, 9.0, id="a"), 9.5))
    assert elog.pending == 2
    assert "disk is full" in caplog.text
    elog._conn = real  # space came back
    elog.handle_quality(SimpleNamespace(t=20.0, channel="ch1", kind="gap", active=True))
    assert elog.pending == 0
    assert [e.episode.end for e in elog.episodes()] == [9.0]
    assert len(elog.quality_events(elog.session_id)) == 1
    elog.close()


def test_filters_by_date_kind_and_session(tmp_path):
    db = tmp_path / "log.sqlite"
    s1, s2 = _fill(db)
    with EpisodeLog(db, create=False) as elog:
        assert len(elog.episodes()) == 5
        assert len(elog.episodes(session=s2)) == 2
        assert [e.episode.kind for e in elog.episodes(kinds=["plm"])] == ["plm", "plm", "plm"]
        assert len(elog.episodes(since=NIGHT2)) == 2
        assert len(elog.episodes(until=NIGHT2)) == 3
        assert (
            len(elog.episodes(since=NIGHT1 + timedelta(seconds=1000), until=NIGHT2, kinds=["plm"]))
            == 2
        )


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_csv_and_jsonl_respect_filters(tmp_path, capsys):
    db = tmp_path / "log.sqlite"
    _fill(db)
    code, out, _ = _cli(
        capsys, "episodes", "export", "--db", str(db), "--kind", "plm", "--format", "csv"
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["kind"] for r in rows] == ["plm"] * 3
    assert float(rows[0]["duration_s"]) == 5.0
    target = tmp_path / "out.jsonl"
    code, _, _ = _cli(
        capsys,
        "episodes",
        "export",
        "--db",
        str(db),
        "--session",
        "2",
        "--format",
        "jsonl",
        "-o",
        str(target),
    )
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["spasm", "plm"]
    assert lines[0]["extra"] == {"n": 0}
    assert lines[0]["start_utc"].startswith("2026-11-22T22:10:00")


def test_export_until_a_date_includes_that_whole_day(tmp_path, capsys):
    db = tmp_path / "log.sqlite"
    _fill(db)
    day1 = NIGHT1.astimezone().date().isoformat()
    code, out, _ = _cli(capsys, "episodes", "export", "--db", str(db), "--until", day1)
    assert len(list(csv.DictReader(io.StringIO(out)))) == 3


def test_list_and_sessions_print_tables(tmp_path, capsys):
    db = tmp_path / "log.sqlite"
    _fill(db)
    code, out, _ = _cli(capsys, "episodes", "list", "--db", str(db), "--kind", "cramp")
    assert code == 0 and "cramp" in out and "1 episodes" in out
    code, out, _ = _cli(capsys, "episodes", "sessions", "--db", str(db))
    assert code == 0 and "dev1" in out and "8.0" in out


def test_bad_date_and_unknown_kind_are_usage_errors(tmp_path, capsys):
    db = tmp_path / "log.sqlite"
    _fill(db)
    code, _, err = _cli(capsys, "episodes", "list", "--db", str(db), "--since", "yesterday")
    assert code == 2 and "cannot read date 'yesterday'" in err
    code, _, err = _cli(capsys, "episodes", "list", "--db", str(db), "--kind", "hiccup")
    assert code == 2 and "unknown kind 'hiccup'" in err


def test_migrations_are_numbered_by_position():
    assert SCHEMA_VERSION == len(episode_log.MIGRATIONS) >= 2


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    channel=st.text(min_size=1, max_size=20),
    start=st.floats(0, 86_400, allow_nan=False),
    dur=st.floats(0, 600, allow_nan=False),
    conf=st.floats(0, 1),
    level=st.floats(-20, 80),
    extra=st.dictionaries(
        st.text(max_size=8), st.one_of(st.integers(-1000, 1000), st.text(max_size=10)), max_size=3
    ),
)
def test_any_episode_survives_log_and_both_exports(
    tmp_path_factory, channel, start, dur, conf, level, extra
):
    db = tmp_path_factory.mktemp("db") / "log.sqlite"
    ep = Episode("cramp", channel, start, start + dur, conf, level, extra=extra)
    with EpisodeLog(db) as elog:
        elog.open_session("d", NIGHT1, "sleep", "v")
        elog.handle(EpisodeEvent("end", ep, start + dur))
        (row,) = elog.episodes()
        assert row.episode == ep
        buf = io.StringIO()
        write_csv([row], buf)
        (back,) = list(csv.DictReader(io.StringIO(buf.getvalue())))
        assert back["channel"] == channel and float(back["start_s"]) == round(start, 3)
        assert (json.loads(back["extra"]) if back["extra"] else {}) == extra
        buf = io.StringIO()
        write_jsonl([row], buf)
        (line,) = buf.getvalue().splitlines()
        assert json.loads(line)["channel"] == channel and json.loads(line)["extra"] == extra


def test_an_update_revises_the_row_and_keeps_when_the_alert_was_decided(tmp_path):
    """A PLM series decided after the end that this spasm was a periodic leg movement."""
    with EpisodeLog(tmp_path / "log.sqlite") as elog:
        sid = elog.open_session("dev1", NIGHT1, "sleep", "v0.1", None)
        ep = Episode("spasm", "leg", 30.0, 32.0, 0.7, 15.0, id="lm2")
        elog.handle(EpisodeEvent("start", Episode("spasm", "leg", 30.0, id="lm2"), 30.4))
        elog.handle(EpisodeEvent("end", ep, 32.5))
        revised = Episode(
            "plm", "leg", 30.0, 32.0, 0.7, 15.0, id="lm2", extra={"alerted_as": "spasm"}
        )
        revised.extra["plm_in_series"] = True
        elog.handle(EpisodeEvent("update", revised, 80.0, previous="spasm"))
        (row,) = elog.episodes(session=sid)
    assert row.episode == revised
    with sqlite3.connect(tmp_path / "log.sqlite") as db:
        (decided,) = db.execute("SELECT detected_at_s FROM episodes").fetchone()
    assert decided == 30.4


def test_a_quiet_movement_is_logged_with_the_moment_it_was_announced(tmp_path):
    """A quiet leg movement's alert is decided when a series keeps it, not when it opened; one
    never announced has no alert time."""
    db = tmp_path / "log.sqlite"
    with EpisodeLog(db) as elog:
        sid = elog.open_session("dev1", NIGHT1, "sleep", "v0.1", {})
        kept = Episode("plm", "leg", 5.0, 7.0, 0.9, 20.0, id="kept", extra={"quiet": True})
        alone = Episode("plm", "leg", 280.0, 282.0, 0.9, 20.0, id="alone", extra={"quiet": True})
        for ep in (kept, alone):
            elog.handle(EpisodeEvent("start", ep, ep.start + 0.6))
            elog.handle(EpisodeEvent("end", ep, ep.end + 1.0))
        kept.extra.update(plm_in_series=True, detected_at=83.1)
        elog.handle(EpisodeEvent("update", kept, 83.1, previous="plm"))
    assert sid
    with sqlite3.connect(db) as con:
        at = dict(con.execute("SELECT episode_id, detected_at_s FROM episodes").fetchall())
    assert at == {"kept": 83.1, "alone": None}
