"""The durable episode log: every session, episode and signal-quality event in one SQLite file.

SQLite in WAL mode with ``synchronous=FULL`` makes each committed event survive a power cut at
the cost of one fsync per event; episodes arrive a few times a minute at most, so committing
each one is cheap and nothing the detector reported waits in memory for a batch.
The schema is versioned with ``PRAGMA user_version`` and upgraded by the ordered
``MIGRATIONS``; a file written by a newer emgwatch is refused before anything is written.
A sink must never stop the detector: write failures (disk full, locked file) are logged and the
event is kept in memory and retried with the next one.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emgwatch.episodes import Episode, EpisodeEvent, alert_time
from emgwatch.errors import EmgwatchError, InputError

log = logging.getLogger(__name__)

# Each entry upgrades the schema by one version; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    # 1: sessions, episodes, quality events
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL,
        start_utc TEXT NOT NULL,
        start_epoch REAL NOT NULL,
        end_utc TEXT,
        context TEXT NOT NULL,
        model_version TEXT NOT NULL,
        calibration TEXT
    );
    CREATE TABLE episodes (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        episode_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        channel TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL,
        confidence REAL NOT NULL,
        level_db REAL NOT NULL,
        extra TEXT NOT NULL,
        start_epoch REAL NOT NULL,
        detected_at_s REAL,
        PRIMARY KEY (session_id, episode_id)
    );
    CREATE TABLE quality_events (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        t_s REAL NOT NULL,
        t_epoch REAL NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        active INTEGER NOT NULL
    );
    """,
    # 2: raw-recording files of a session, and indexes for date/kind filters
    """
    CREATE TABLE recordings (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        path TEXT NOT NULL,
        start_s REAL NOT NULL
    );
    CREATE INDEX episodes_by_time ON episodes(start_epoch);
    CREATE INDEX episodes_by_kind ON episodes(kind);
    CREATE INDEX quality_by_session ON quality_events(session_id, t_s);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
MAX_PENDING = 10_000  # events kept in memory while the disk refuses writes


@dataclass(frozen=True)
class SessionInfo:
    id: int
    device_id: str
    start_time: datetime
    end_time: datetime | None
    context: str
    model_version: str
    calibration: dict | None
    n_episodes: int = 0


@dataclass(frozen=True)
class LoggedEpisode:
    """An episode as stored: the detector's Episode plus where and when it happened."""

    session_id: int
    episode: Episode
    start_time: datetime  # wall clock (UTC) of the episode start

    def to_row(self) -> dict[str, Any]:
        e = self.episode
        return {
            "session": self.session_id,
            "id": e.id,
            "kind": e.kind,
            "channel": e.channel,
            "start_utc": self.start_time.isoformat(timespec="milliseconds"),
            "start_s": round(e.start, 3),
            "end_s": None if e.end is None else round(e.end, 3),
            "duration_s": None if e.duration_s is None else round(e.duration_s, 3),
            "confidence": round(e.confidence, 3),
            "level_db": round(e.level_db, 2),
            "extra": e.extra,
        }


@dataclass(frozen=True)
class LoggedQuality:
    t: float
    channel: str
    kind: str
    active: bool


@dataclass
class _Pending:
    sql: str
    params: tuple
    tries: int = 0
    label: str = field(default="event")


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _from_iso(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def _newer_schema(path: object, version: int) -> EmgwatchError:
    return EmgwatchError(
        f"{path}: episode log has schema version {version}, this emgwatch understands up to "
        f"{SCHEMA_VERSION}; upgrade emgwatch (the file was left untouched)"
    )


def migrate(conn: sqlite3.Connection, path: object, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to ``target``; refuse a newer file before writing anything."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise _newer_schema(path, version)
    for v in range(version, target):
        # The version bump is in the same transaction as the migration, so a crash mid-way
        # leaves the previous version recorded and the whole step is re-run next time.
        try:
            conn.executescript(f"BEGIN; {MIGRATIONS[v]} PRAGMA user_version = {v + 1}; COMMIT;")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("%s: episode log schema migrated to version %d", path, v + 1)
    return max(version, target)


class EpisodeLog:
    """SQLite sink for episode events and quality events of live sessions, and their reader.

    ``create=False`` (for `emgwatch episodes` and `report`) refuses to make a new empty file
    where the user expected a log.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self.session_id: int | None = None
        self._session_epoch = 0.0
        self._pending: list[_Pending] = []
        self.failed_writes = 0
        if not create and not self.path.exists():
            raise EmgwatchError(f"{self.path}: no episode log here (nothing recorded yet?)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The sink may be opened by one thread and fed by the detector loop in another;
            # the connection is never used by two threads at once.
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            # Check the version before anything (even the journal mode) is written.
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                self._conn.close()
                raise _newer_schema(self.path, version)
            if version == 0 and not create:  # an empty file or another program's database:
                self._conn.close()  # reading it must not write emgwatch's tables into it
                raise InputError(
                    self.path, None, "not an emgwatch episode log (no emgwatch tables)"
                )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            migrate(self._conn, self.path)
        except sqlite3.DatabaseError as e:
            raise InputError(self.path, None, f"not a usable episode log ({e})") from None
        except OSError as e:
            raise EmgwatchError(f"{self.path}: cannot open episode log ({e.strerror})") from None

    # --- writing (the sink) -------------------------------------------------------------------
    def open_session(
        self,
        device_id: str,
        start_time: datetime,
        context: str,
        model_version: str,
        calibration: dict | None = None,
    ) -> int:
        """Start a session; episode and quality times that follow are seconds since start_time."""
        start = _utc(start_time)
        try:
            cur = self._insert_session(start, device_id, context, model_version, calibration)
        except sqlite3.Error as e:
            raise EmgwatchError(
                f"{self.path}: cannot start a session in the episode log ({e})"
            ) from None
        self.session_id = int(cur.lastrowid)
        self._session_epoch = start.timestamp()
        return self.session_id

    def _insert_session(
        self,
        start: datetime,
        device_id: str,
        context: str,
        model_version: str,
        calibration: dict | None,
    ) -> sqlite3.Cursor:
        return self._conn.execute(
            "INSERT INTO sessions (device_id, start_utc, start_epoch, context, model_version, "
            "calibration) VALUES (?, ?, ?, ?, ?, ?)",
            (
                device_id,
                start.isoformat(),
                start.timestamp(),
                context,
                model_version,
                None if calibration is None else json.dumps(calibration),
            ),
        )

    def _require_session(self) -> int:
        if self.session_id is None:
            raise EmgwatchError(f"{self.path}: no open session (call open_session first)")
        return self.session_id

    def handle(self, event: EpisodeEvent) -> None:
        """Store a new episode on "start", complete it on "end", revise it on "update" (and on
        "ongoing", to what it is so far); one durable commit each; the row keeps the moment the
        alert was decided."""
        sid = self._require_session()
        e: Episode = event.episode
        params = (
            sid,
            e.id,
            e.kind,
            e.channel,
            float(e.start),
            None if e.end is None else float(e.end),
            float(e.confidence),
            float(e.level_db),
            json.dumps(e.extra, default=str),
            self._session_epoch + float(e.start),
            alert_time(event),
        )
        sql = (
            "INSERT INTO episodes (session_id, episode_id, kind, channel, start_s, end_s, "
            "confidence, level_db, extra, start_epoch, detected_at_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(session_id, episode_id) DO UPDATE SET kind=excluded.kind, "
            "start_s=excluded.start_s, end_s=excluded.end_s, confidence=excluded.confidence, "
            "level_db=excluded.level_db, extra=excluded.extra, start_epoch=excluded.start_epoch, "
            "detected_at_s=COALESCE(episodes.detected_at_s, excluded.detected_at_s)"
        )
        self._execute(sql, params, f"episode {e.id} {event.event}")

    def handle_quality(self, qe: Any) -> None:
        """Store a signal-quality change (``quality.QualityEvent``: t, channel, kind, active)."""
        sid = self._require_session()
        params = (
            sid,
            float(qe.t),
            self._session_epoch + float(qe.t),
            str(qe.channel),
            str(qe.kind),
            int(bool(qe.active)),
        )
        sql = (
            "INSERT INTO quality_events (session_id, t_s, t_epoch, channel, kind, active) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        self._execute(sql, params, f"quality {qe.kind}")

    def add_recording(self, path: str | Path, start_s: float) -> None:
        """Link a raw-recording file (EDF+) to the open session; ``start_s`` is its offset."""
        sid = self._require_session()
        sql = "INSERT INTO recordings (session_id, path, start_s) VALUES (?, ?, ?)"
        self._execute(sql, (sid, str(Path(path).resolve()), float(start_s)), "recording")

    def close_session(self, end_time: datetime) -> None:
        sid = self._require_session()
        sql = "UPDATE sessions SET end_utc = ? WHERE id = ?"
        self._execute(sql, (_utc(end_time).isoformat(), sid), "session end")
        if self._pending:
            log.error(
                "%s: %d events of session %d could not be stored",
                self.path,
                len(self._pending),
                sid,
            )
        self.session_id = None

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error as e:  # pragma: no cover - closing a broken connection
            log.error("%s: closing episode log failed: %s", self.path, e)

    def _execute(self, sql: str, params: tuple, label: str) -> None:
        """Commit now; on failure keep the event and retry it before the next one."""
        self._pending.append(_Pending(sql, params, label=label))
        if len(self._pending) > MAX_PENDING:  # disk full for days: keep memory bounded
            dropped = self._pending.pop(0)
            log.error(
                "%s: dropped unstored %s (over %d waiting)", self.path, dropped.label, MAX_PENDING
            )
        while self._pending:
            item = self._pending[0]
            try:
                self._conn.execute(item.sql, item.params)
            except sqlite3.Error as e:
                item.tries += 1
                self.failed_writes += 1
                if item.tries == 1:
                    log.error(
                        "%s: cannot store %s (%s); keeping it in memory and retrying",
                        self.path,
                        item.label,
                        e,
                    )
                return
            self._pending.pop(0)

    @property
    def pending(self) -> int:
        """Events not yet stored because of write failures."""
        return len(self._pending)

    # --- reading ------------------------------------------------------------------------------
    def sessions(self) -> list[SessionInfo]:
        rows = self._conn.execute(
            "SELECT s.id, s.device_id, s.start_utc, s.end_utc, s.context, s.model_version, "
            "s.calibration, (SELECT COUNT(*) FROM episodes e WHERE e.session_id = s.id) "
            "FROM sessions s ORDER BY s.id"
        ).fetchall()
        return [
            SessionInfo(
                id=r[0],
                device_id=r[1],
                start_time=datetime.fromisoformat(r[2]),
                end_time=_from_iso(r[3]),
                context=r[4],
                model_version=r[5],
                calibration=None if r[6] is None else json.loads(r[6]),
                n_episodes=r[7],
            )
            for r in rows
        ]

    def session(self, session_id: int) -> SessionInfo:
        for s in self.sessions():
            if s.id == session_id:
                return s
        raise EmgwatchError(
            f"{self.path}: no session {session_id} (see 'emgwatch episodes sessions')"
        )

    def episodes(
        self,
        *,
        session: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: list[str] | None = None,
    ) -> list[LoggedEpisode]:
        """Episodes in start order; ``since`` inclusive, ``until`` exclusive (wall clock)."""
        where, params = [], []
        if session is not None:
            where.append("session_id = ?")
            params.append(session)
        if since is not None:
            where.append("start_epoch >= ?")
            params.append(_utc(since).timestamp())
        if until is not None:
            where.append("start_epoch < ?")
            params.append(_utc(until).timestamp())
        if kinds:
            where.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params.extend(kinds)
        sql = (
            "SELECT session_id, episode_id, kind, channel, start_s, end_s, confidence, level_db, "
            "extra, start_epoch FROM episodes"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY start_epoch, episode_id"
        )
        out = []
        for r in self._conn.execute(sql, params):
            ep = Episode(
                kind=r[2],
                channel=r[3],
                start=r[4],
                end=r[5],
                confidence=r[6],
                level_db=r[7],
                id=r[1],
                extra=json.loads(r[8]),
            )
            out.append(LoggedEpisode(r[0], ep, datetime.fromtimestamp(r[9], UTC)))
        return out

    def quality_events(self, session: int) -> list[LoggedQuality]:
        rows = self._conn.execute(
            "SELECT t_s, channel, kind, active FROM quality_events WHERE session_id = ? "
            "ORDER BY t_s, rowid",
            (session,),
        )
        return [LoggedQuality(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def recordings(self, session: int) -> list[tuple[Path, float]]:
        rows = self._conn.execute(
            "SELECT path, start_s FROM recordings WHERE session_id = ? ORDER BY start_s",
            (session,),
        )
        return [(Path(r[0]), r[1]) for r in rows]

    def __enter__(self) -> EpisodeLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
