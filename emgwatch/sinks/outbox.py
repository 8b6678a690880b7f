"""Durable outbox: an alert is on disk before anyone tries to send it.

The MQTT sink writes every episode message here first and deletes it only when the broker has
acknowledged it (QoS 1 PUBACK). Whatever is still here after a broker outage, a network drop or a
crash of the monitor is published again, in order, on the next connection. SQLite in WAL mode
makes each ``put`` one small durable append; the connection is shared between the detector
thread (put) and the MQTT network thread (ack), hence the lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from emgwatch.errors import EmgwatchError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    qos INTEGER NOT NULL,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class OutboxItem:
    seq: int  # strictly increasing: the order in which messages must reach the broker
    topic: str
    payload: dict
    qos: int
    created: float  # wall-clock time (Unix seconds) when the message was written


class Outbox:
    """Messages waiting for a broker acknowledgement, oldest first.

    ``path`` may be ``":memory:"`` (tests, or when no storage directory is writable): the
    ordering and acknowledgement logic stays the same, only crash survival is lost.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed put survives power loss, not only a crash of the process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise EmgwatchError(
                    f"{self.path}: outbox schema version {version}, this emgwatch reads "
                    f"version {SCHEMA_VERSION}"
                )
        except sqlite3.Error as e:
            raise EmgwatchError(f"{self.path}: cannot open the alert outbox ({e})") from None

    def put(self, topic: str, payload: dict, qos: int, created: float) -> int:
        """Store a message durably; returns its sequence number."""
        text = json.dumps(payload, separators=(",", ":"))
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox (topic, payload, qos, created) VALUES (?, ?, ?, ?)",
                (topic, text, qos, created),
            )
            return int(cur.lastrowid)

    def ack(self, seq: int) -> None:
        """The broker has the message: forget it."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def pending(self, after_seq: int = 0) -> list[OutboxItem]:
        """Unacknowledged messages with ``seq > after_seq``, in the order they were written."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload, qos, created FROM outbox WHERE seq > ? ORDER BY seq",
                (after_seq,),
            ).fetchall()
        return [OutboxItem(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
