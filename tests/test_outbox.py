"""The durable outbox: order, acknowledgement, survival across processes."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgwatch.errors import EmgwatchError
from emgwatch.sinks.outbox import Outbox


def test_pending_messages_come_back_in_the_order_they_were_written(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    seqs = [ob.put("t/episode", {"n": i}, 1, 100.0 + i) for i in range(5)]
    assert seqs == sorted(seqs)
    assert [it.payload["n"] for it in ob.pending()] == [0, 1, 2, 3, 4]
    assert [it.payload["n"] for it in ob.pending(after_seq=seqs[2])] == [3, 4]
    ob.close()


def test_an_acknowledged_message_is_gone_and_others_stay(tmp_path):
    ob = Outbox(tmp_path / "o.sqlite")
    a = ob.put("t", {"a": 1}, 1, 1.0)
    b = ob.put("t", {"b": 2}, 1, 2.0)
    ob.ack(a)
    assert [it.seq for it in ob.pending()] == [b]
    assert len(ob) == 1
    ob.close()


def test_unacknowledged_messages_survive_reopening(tmp_path):
    path = tmp_path / "sub" / "o.sqlite"
    ob = Outbox(path)
    ob.put("t", {"x": "é"}, 1, 5.5)
    ob.close()  # as if the process died: nothing else is kept in memory
    again = Outbox(path)
    (item,) = again.pending()
    assert (item.topic, item.payload, item.qos, item.created) == ("t", {"x": "é"}, 1, 5.5)
    again.close()


def test_sequence_numbers_never_go_back_after_acks_and_reopen(tmp_path):
    path = tmp_path / "o.sqlite"
    ob = Outbox(path)
    last = ob.put("t", {}, 1, 0.0)
    ob.ack(last)
    ob.close()
    again = Outbox(path)
    assert again.put("t", {}, 1, 0.0) > last  # AUTOINCREMENT: order holds across restarts
    again.close()


def test_the_outbox_uses_write_ahead_logging(tmp_path):
    path = tmp_path / "o.sqlite"
    Outbox(path).close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_outbox_from_a_newer_emgwatch_is_refused_clearly(tmp_path):
    path = tmp_path / "o.sqlite"
    Outbox(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(EmgwatchError, match="outbox schema version 99"):
        Outbox(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "o.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(EmgwatchError, match="cannot open the alert outbox"):
        Outbox(path)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), max_size=30))
def test_pending_is_exactly_the_unacked_messages_in_order(acks):
    ob = Outbox(":memory:")
    kept = []
    for i, ack in enumerate(acks):
        seq = ob.put("t", {"i": i}, 1, float(i))
        if ack:
            ob.ack(seq)
        else:
            kept.append(i)
    assert [it.payload["i"] for it in ob.pending()] == kept
    ob.close()
