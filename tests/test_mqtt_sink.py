"""The MQTT sink against a real Mosquitto: topics, payloads, retained messages, failures."""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest
from conftest import wait_until
from hypothesis import given, settings
from hypothesis import strategies as st

from emgwatch.config import MqttConfig
from emgwatch.domain import ALERT_KINDS
from emgwatch.episodes import Episode, EpisodeEvent
from emgwatch.errors import ConfigError, UsageError
from emgwatch.sinks.mqtt import MqttSink, Topics, iso_utc, parse_broker_url

SESSION_START = 1_780_000_000.0  # a fixed wall-clock origin makes the ISO times checkable


def events_for(kind: str, start: float, end: float, channel: str = "calf") -> list[EpisodeEvent]:
    ep = Episode(kind=kind, channel=channel, start=start, confidence=0.87, level_db=21.44)
    started = EpisodeEvent("start", ep, detected_at=start + 0.3)
    ended_ep = Episode(**{**ep.__dict__, "end": end})
    return [started, EpisodeEvent("end", ended_ep, detected_at=end + 0.5)]


def make_sink(broker, tmp_path: Path, **cfg_kw) -> MqttSink:
    cfg = MqttConfig(url=cfg_kw.pop("url", broker.url), **cfg_kw)
    return MqttSink(
        cfg, "dev1", tmp_path / "outbox.sqlite", session_start=SESSION_START, reconnect_max_s=1.0
    )


def episodes(sub, topic="emgwatch/dev1/episode") -> list[dict]:
    return [m.json() for m in sub.on(topic)]


def test_episode_start_and_end_arrive_with_the_documented_payload(broker, subscribe, tmp_path):
    sub = subscribe(broker, "emgwatch/#")
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    for e in events_for("cramp", 10.0, 42.5):
        sink.handle(e)
    assert sub.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/episode")]) == 2)
    start, end = episodes(sub)
    assert start["event"] == "start" and end["event"] == "end"
    assert start["id"] == end["id"]
    assert start["kind"] == "cramp" and start["channel"] == "calf" and start["device"] == "dev1"
    assert start["confidence"] == 0.87 and start["level_db"] == 21.4
    assert start["start"] == "2026-05-28T20:26:50.000Z"
    assert datetime.fromisoformat(start["start"]).timestamp() == SESSION_START + 10.0
    assert start["delayed"] is False and "duration_s" not in start
    assert end["duration_s"] == 32.5 and end["end"] == "2026-05-28T20:27:22.500Z"
    assert not any(m.retain for m in sub.on("emgwatch/dev1/episode"))
    sink.close()
    assert sink.pending == 0


def test_voluntary_contractions_are_never_alerted(broker, subscribe, tmp_path):
    sub = subscribe(broker, "emgwatch/dev1/episode")
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    for e in events_for("voluntary", 1.0, 3.0) + events_for("spasm", 5.0, 7.0):
        sink.handle(e)
    assert sub.wait_for(lambda ms: len(ms) >= 2)
    time.sleep(0.2)
    assert [p["kind"] for p in episodes(sub)] == ["spasm", "spasm"]
    sink.close()


def test_late_subscriber_sees_retained_status_state_and_discovery(broker, subscribe, tmp_path):
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    sink.update_state({"calf": "idle"})
    sink.handle(events_for("clonus", 2.0, 6.0)[0])
    sink.update_state({"calf": "clonus"})
    sink.publish_metrics({"quality_ok": True, "quality": {"calf": 0}})
    assert sink.wait_drained(5)
    time.sleep(0.2)
    late = subscribe(broker, "#")
    assert late.wait_for(lambda ms: len([m for m in ms if m.retain]) >= 3 + 8)
    status = late.on("emgwatch/dev1/status")
    assert [(m.payload, m.retain) for m in status] == [(b"online", True)]
    state = late.on("emgwatch/dev1/state")[-1]
    assert state.retain
    s = state.json()
    assert s["state"] == "clonus" and s["episode_in_progress"] is True
    assert s["last_kind"] == "clonus" and s["counts"]["clonus"] == 1 and s["episodes_total"] == 1
    assert late.on("emgwatch/dev1/metrics")[-1].json()["quality_ok"] is True
    configs = {m.topic: m.json() for m in late.messages if m.topic.startswith("homeassistant/")}
    binary = configs["homeassistant/binary_sensor/dev1/episode/config"]
    assert binary["state_topic"] == "emgwatch/dev1/state"
    assert binary["availability_topic"] == "emgwatch/dev1/status"
    assert binary["payload_available"] == "online" and binary["payload_not_available"] == "offline"
    assert binary["device"]["identifiers"] == ["emgwatch_dev1"]
    assert "homeassistant/sensor/dev1/last_kind/config" in configs
    for kind in ALERT_KINDS:
        assert f"homeassistant/sensor/dev1/episodes_{kind}/config" in configs
    assert all(m.retain for m in late.messages if m.topic.startswith("homeassistant/"))
    # no episode message is retained: a late subscriber must not see old alerts as new
    assert late.on("emgwatch/dev1/episode") == []
    sink.close()
    after = subscribe(broker, "emgwatch/dev1/status")
    assert after.wait_for(lambda ms: len(ms) == 1)
    assert after.messages[0].payload == b"offline" and after.messages[0].retain


def test_an_end_that_revises_the_kind_moves_the_count(broker, subscribe, tmp_path):
    """A cramp first alerted as PLM: the retained counts and last kind follow the final kind."""
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    start, end = events_for("plm", 4.0, 50.0)
    sink.handle(start)
    end.episode.kind = "cramp"
    end.episode.extra["alerted_as"] = "plm"
    sink.handle(end)
    assert sink.wait_drained(5)
    time.sleep(0.2)
    late = subscribe(broker, "emgwatch/dev1/state")
    assert late.wait_for(lambda ms: len(ms) >= 1)
    s = late.on("emgwatch/dev1/state")[-1].json()
    assert s["counts"]["cramp"] == 1 and s["counts"]["plm"] == 0 and s["episodes_total"] == 1
    assert s["last_kind"] == "cramp" and s["episode_in_progress"] is False
    # an alert the whole episode withdraws: its end still goes out, and the count goes back
    sub = subscribe(broker, "emgwatch/dev1/episode")
    start, end = events_for("spasm", 60.0, 64.0)
    sink.handle(start)
    end.episode.kind = "voluntary"
    end.episode.extra["alerted_as"] = "spasm"
    sink.handle(end)
    assert sub.wait_for(lambda ms: len(ms) == 2)
    assert [(p["event"], p["kind"]) for p in episodes(sub)] == [
        ("start", "spasm"),
        ("end", "voluntary"),
    ]
    assert episodes(sub)[1]["extra"]["alerted_as"] == "spasm"
    assert sink.state_payload()["counts"]["spasm"] == 0
    assert sink.state_payload()["episodes_total"] == 1
    # the last episode still standing is the cramp: a withdrawn alert does not erase it
    assert sink.state_payload()["last_kind"] == "cramp"
    assert sink.state_payload()["last_start"] == s["last_start"]
    sink.close()


def test_mqtt_v5_works_like_v311(broker, subscribe, tmp_path):
    sub = subscribe(broker, "emgwatch/dev1/episode")
    sink = make_sink(broker, tmp_path, protocol="v5").start()
    assert sink.wait_connected(10)
    for e in events_for("plm", 3.0, 4.5):
        sink.handle(e)
    assert sub.wait_for(lambda ms: len(ms) == 2)
    assert [p["event"] for p in episodes(sub)] == ["start", "end"]
    sink.close()
    assert sink.pending == 0


def test_broker_outage_queues_alerts_and_sends_them_in_order_marked_delayed(
    make_broker, subscribe, tmp_path
):
    broker = make_broker(persistent=True)
    sub = subscribe(broker, "emgwatch/dev1/episode", persistent=True, client_id="outage-sub")
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    before = events_for("spasm", 1.0, 2.0)
    for e in before:
        sink.handle(e)
    assert sink.wait_drained(5)
    time.sleep(1.5)  # let the broker autosave the subscriber's session
    broker.stop()
    assert wait_until(lambda: not sink.connected, 10)
    during = events_for("cramp", 10.0, 20.0) + events_for("clonus", 30.0, 33.0)
    for e in during:
        sink.handle(e)  # must not block or raise while the broker is down
    assert sink.pending == 4
    broker.start()
    assert wait_until(lambda: sink.pending == 0, 20)
    assert sub.wait_for(lambda ms: len(ms) == 6, 10)
    got = episodes(sub)
    assert [(p["id"], p["event"]) for p in got] == [
        (e.episode.id, e.event) for e in before + during
    ]
    assert [p["delayed"] for p in got] == [False, False, True, True, True, True]
    assert all(p["original_time"] == p["time"] for p in got[2:])
    sink.close()


def test_wrong_password_is_one_clear_error_and_alerts_stay_queued(make_broker, tmp_path, caplog):
    broker = make_broker(users={"alice": "right"})
    url = f"mqtt://alice:wrong@{broker.host}:{broker.port}"
    caplog.set_level(logging.ERROR, logger="emgwatch.sinks.mqtt")
    sink = make_sink(broker, tmp_path, url=url).start()
    assert wait_until(lambda: sink.status == "refused", 10)
    for e in events_for("cramp", 1.0, 5.0):
        sink.handle(e)  # detection and local logging go on
    assert sink.pending == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "refused the connection" in errors[0] and "mqtt://alice@" in errors[0]
    assert "wrong" not in errors[0]  # never print the password
    assert "logged locally" in errors[0]
    sink.close(drain_timeout_s=0)
    assert Outbox_len(tmp_path) == 2


def test_right_password_from_config_connects(make_broker, subscribe, tmp_path):
    broker = make_broker(users={"alice": "s3cret"})
    sink = make_sink(broker, tmp_path, username="alice", password="s3cret").start()
    assert sink.wait_connected(10)
    sink.close()


def test_tls_with_the_brokers_ca_file_connects(make_broker, subscribe, tmp_path):
    broker = make_broker(tls=True)
    sink = make_sink(broker, tmp_path, ca_file=str(broker.ca_file)).start()
    assert sink.wait_connected(10)
    sink.handle(events_for("spasm", 1.0, 2.0)[0])
    assert sink.wait_drained(5)
    sink.close()


def test_tls_with_a_client_certificate_connects_to_a_broker_that_requires_one(
    make_broker, tmp_path
):
    broker = make_broker(tls=True, require_client_cert=True)
    d = broker.workdir
    sink = make_sink(
        broker,
        tmp_path,
        ca_file=str(broker.ca_file),
        cert_file=str(d / "client.pem"),
        key_file=str(d / "client.key"),
    ).start()
    assert sink.wait_connected(10)
    sink.close()


def test_tls_without_the_required_client_certificate_is_refused_clearly(
    make_broker, tmp_path, caplog
):
    broker = make_broker(tls=True, require_client_cert=True)
    caplog.set_level(logging.ERROR, logger="emgwatch.sinks.mqtt")
    sink = make_sink(broker, tmp_path, ca_file=str(broker.ca_file)).start()
    assert wait_until(lambda: sink.last_error is not None, 10)
    assert not sink.connected
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "mqtts://127.0.0.1" in errors[0]
    # TLS 1.3 rejects the missing certificate after the handshake, TLS 1.2 during it
    assert "client certificate" in errors[0] or "TLS handshake" in errors[0]
    sink.close(drain_timeout_s=0)


def test_tls_failure_is_one_clear_error_and_alerts_stay_queued(make_broker, tmp_path, caplog):
    broker = make_broker(tls=True)  # its certificate is signed by a CA the client does not trust
    caplog.set_level(logging.ERROR, logger="emgwatch.sinks.mqtt")
    sink = make_sink(broker, tmp_path).start()
    assert wait_until(lambda: sink.status == "TLS failed", 10)
    sink.handle(events_for("spasm", 1.0, 2.0)[0])
    assert sink.pending == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert (
        "TLS handshake with mqtts://127.0.0.1" in errors[0]
        and "CERTIFICATE_VERIFY_FAILED" in errors[0]
    )
    sink.close(drain_timeout_s=0)


def test_unreachable_broker_reports_and_keeps_retrying(tmp_path, caplog):
    from conftest import free_port

    caplog.set_level(logging.ERROR, logger="emgwatch.sinks.mqtt")
    cfg = MqttConfig(url=f"mqtt://127.0.0.1:{free_port()}")
    sink = MqttSink(cfg, "dev1", ":memory:", reconnect_max_s=0.2).start()
    assert wait_until(lambda: sink.status == "offline" and sink.last_error is not None, 10)
    time.sleep(1.0)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot reach broker mqtt://127.0.0.1" in errors[0]
    sink.close()


def test_missing_ca_file_is_a_config_error(tmp_path):
    cfg = MqttConfig(url="mqtts://localhost", ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="mqtt.ca_file: file not found"):
        MqttSink(cfg, "dev1", ":memory:")


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user", "password"),
    [
        ("mqtt://localhost:1883", "localhost", 1883, False, "", ""),
        ("mqtts://u:p%40ss@broker.example:8884", "broker.example", 8884, True, "u", "p@ss"),
        ("mqtts://h", "h", 8883, True, "", ""),
        ("10.0.0.2", "10.0.0.2", 1883, False, "", ""),
    ],
)
def test_broker_urls_are_parsed(url, host, port, tls, user, password):
    a = parse_broker_url(url)
    assert (a.host, a.port, a.tls, a.username, a.password) == (host, port, tls, user, password)


@pytest.mark.parametrize(
    "url", ["http://h:1", "mqtt://h:notaport", "mqtt://:1883", "mqtt://h:99999"]
)
def test_bad_broker_urls_are_usage_errors(url):
    with pytest.raises(UsageError, match="broker URL"):
        parse_broker_url(url)


def test_topic_names_come_from_prefix_and_device():
    t = Topics.for_device("home/emg/", "left calf", "homeassistant")
    assert t.episode == "home/emg/left calf/episode"
    assert t.discovery("sensor", "x") == "homeassistant/sensor/left_calf/x/config"


def Outbox_len(tmp_path: Path) -> int:
    from emgwatch.sinks.outbox import Outbox

    ob = Outbox(tmp_path / "outbox.sqlite")
    try:
        return len(ob)
    finally:
        ob.close()


CRASHY_MONITOR = textwrap.dedent(
    """
    import sys, time
    from emgwatch.config import MqttConfig
    from emgwatch.episodes import Episode, EpisodeEvent
    from emgwatch.sinks.mqtt import MqttSink
    url, outbox = sys.argv[1], sys.argv[2]
    sink = MqttSink(MqttConfig(url=url), "dev1", outbox, reconnect_max_s=0.5).start()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "episode":
            ep = Episode(kind="spasm", channel="calf", start=float(cmd[2]), id=cmd[1])
            sink.handle(EpisodeEvent("start", ep, detected_at=float(cmd[2])))
            print("queued", sink.pending, flush=True)
        elif cmd[0] == "drain":
            print("drained", sink.wait_drained(10), flush=True)
        elif cmd[0] == "wait_offline":
            while sink.connected:
                time.sleep(0.05)
            print("offline", flush=True)
    """
)


def start_monitor(broker, outbox: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHY_MONITOR, broker.url, str(outbox)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def ask(proc: subprocess.Popen, command: str) -> str:
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_monitor_killed_and_restarted_resends_nothing_acked_and_loses_nothing_unacked(
    make_broker, subscribe, tmp_path
):
    broker = make_broker(persistent=True)
    sub = subscribe(broker, "emgwatch/dev1/#", persistent=True, client_id="crash-sub")
    outbox = tmp_path / "outbox.sqlite"
    first = start_monitor(broker, outbox)
    assert wait_until(lambda: sub.on("emgwatch/dev1/status"), 10)
    for i in range(3):
        ask(first, f"episode acked{i} {i}")
    assert ask(first, "drain") == "drained True"
    time.sleep(1.5)  # broker autosave of the subscriber session
    broker.stop()
    assert ask(first, "wait_offline") == "offline"
    for i in range(3):
        ask(first, f"episode unacked{i} {10 + i}")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    broker.start()
    second = start_monitor(broker, outbox)
    assert ask(second, "drain") == "drained True"
    assert sub.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/episode")]) == 6, 10)
    got = episodes(sub, "emgwatch/dev1/episode")
    assert [p["id"] for p in got] == [f"acked{i}" for i in range(3)] + [
        f"unacked{i}" for i in range(3)
    ]
    assert [p["delayed"] for p in got] == [False] * 3 + [True] * 3
    second.send_signal(signal.SIGKILL)
    second.wait(10)
    # the last will: a SIGKILLed monitor shows offline on its retained status
    assert sub.wait_for(
        lambda ms: ms[-1].topic.endswith("/status") and ms[-1].payload == b"offline", 10
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_broker_url_text_parses_or_is_a_usage_error(text):
    try:
        a = parse_broker_url(text)
    except UsageError as e:
        assert "broker URL" in str(e)
    else:
        assert a.host and 0 < a.port < 65536


def test_an_outbox_that_cannot_be_written_still_lets_the_alert_out(
    broker, subscribe, tmp_path, caplog
):
    sub = subscribe(broker, "emgwatch/dev1/episode")
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    sink.outbox.put = disk_full
    sink.handle(events_for("cramp", 1.0, 2.0)[0])
    assert sub.wait_for(lambda ms: len(ms) == 1)
    assert sub.messages[0].json()["kind"] == "cramp"
    assert any("cannot store alert" in r.getMessage() for r in caplog.records)
    sink.close()


def test_an_update_after_the_end_moves_the_count_and_leaves_the_channel_state(
    broker, subscribe, tmp_path
):
    """A spasm that a later PLM series claims: an update message, counts follow, and the
    channel, busy with a new episode by then, stays in that episode."""
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    sub = subscribe(broker, "emgwatch/dev1/episode")
    start, end = events_for("spasm", 30.0, 32.0, channel="leg")
    sink.handle(start)
    sink.handle(end)
    (now_start, _) = events_for("plm", 80.0, 82.0, channel="leg")
    sink.handle(now_start)
    ep = end.episode
    ep.kind = "plm"
    ep.extra.update(alerted_as="spasm", plm_in_series=True)
    sink.handle(EpisodeEvent("update", ep, 82.5, previous="spasm"))
    assert sub.wait_for(lambda ms: len(ms) == 4)
    msgs = episodes(sub)
    assert [(p["event"], p["kind"]) for p in msgs] == [
        ("start", "spasm"),
        ("end", "spasm"),
        ("start", "plm"),
        ("update", "plm"),
    ]
    up = msgs[3]
    assert up["previous_kind"] == "spasm" and up["id"] == ep.id
    assert up["extra"] == {"alerted_as": "spasm", "plm_in_series": True}
    assert up["end"] == iso_utc(SESSION_START + 32.0)
    assert up["duration_s"] == 2.0
    state = sink.state_payload()
    assert state["counts"]["spasm"] == 0 and state["counts"]["plm"] == 2
    assert state["channels"]["leg"] == "plm" and state["episode_in_progress"] is True
    assert sink.episodes_queued == 4
    # released again by a later movement: back to a spasm; a mark-only change moves no count
    ep.kind = "spasm"
    sink.handle(EpisodeEvent("update", ep, 95.0, previous="plm"))
    assert sink.state_payload()["counts"]["spasm"] == 1
    assert sink.state_payload()["last_kind"] == "plm"  # the newest standing is the one at 80 s
    sink.handle(EpisodeEvent("update", now_start.episode, 96.0, previous="plm"))
    assert sink.state_payload()["counts"] == {**state["counts"], "spasm": 1, "plm": 1}
    # a voluntary movement a series never claimed: nothing to say
    vol = Episode("voluntary", "leg", 100.0, 101.0)
    sink.handle(EpisodeEvent("update", vol, 110.0, previous="voluntary"))
    assert sink.episodes_queued == 6
    sink.close()


@pytest.mark.parametrize("chunk", [1, 2000])
@pytest.mark.parametrize("fourth", ["plm", "voluntary"])
def test_counts_follow_the_tracker_whatever_the_blocks(tmp_path, chunk, fourth):
    """Events from a real tracker: a spasm a series claims later, and (fourth = voluntary) a
    movement a series claims at its own end, which never alerted as itself. Counted once each,
    whether the sink hears every window's events at once (live) or a whole night's (batch)."""
    from test_episodes import _KindStage, _plm_night, fast, stream

    from emgwatch.episodes import EpisodeTracker

    segs = _plm_night([25, 25, 25])
    if fourth == "voluntary":
        segs[-2] = (2, "voluntary", 0.95)
    t, pr, lev, us = stream(segs)
    tracker = EpisodeTracker(
        ["leg"],
        context="sleep",
        params=fast("sleep"),
        stage=_KindStage(["plm", "spasm", "plm", "plm"]),
    )
    sink = MqttSink(
        MqttConfig(url="mqtt://127.0.0.1:1"), "dev1", tmp_path / "o.sqlite", session_start=0.0
    )
    final = {}
    for i in range(0, len(t), chunk):
        for ev in tracker.push(
            t[i : i + chunk], pr[i : i + chunk], lev[i : i + chunk], us[i : i + chunk]
        ):
            sink.handle(ev)
            final[ev.episode.id] = ev.episode
    for ev in tracker.flush():
        sink.handle(ev)
    assert [e.kind for e in final.values()] == ["plm"] * 4
    state = sink.state_payload()
    assert state["counts"] == {"spasm": 0, "cramp": 0, "clonus": 0, "plm": 4}
    assert state["episodes_total"] == 4 and state["last_kind"] == "plm"
    sink.outbox.close()


@pytest.mark.parametrize("chunk", [20, 100_000])
def test_leg_movements_are_announced_only_as_part_of_a_series(broker, subscribe, tmp_path, chunk):
    """Events from a real tracker in bed: six leg movements, five in a series, the last alone
    200 s later. The first four say nothing until the fourth settles the series; then each
    gets its start and end together. The fifth continues the series and alerts when it opens;
    the lone sixth is never announced."""
    from test_episodes import _plm_night, stream

    from emgwatch.episodes import EpisodeTracker, params_for

    sub = subscribe(broker, "emgwatch/dev1/episode")
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    quiet = dataclasses.replace(params_for("sleep"), quiet_leg_movements=True)
    tracker = EpisodeTracker(["leg"], context="sleep", params=quiet)
    t, pr, lev, us = stream(_plm_night([25] * 4 + [200]))
    ids = []
    for i in range(0, len(t) + chunk, chunk):  # a second at a time (live) or all at once
        part = slice(i, i + chunk)
        done = i >= len(t)
        for ev in tracker.flush() if done else tracker.push(t[part], pr[part], lev[part], us[part]):
            if ev.event == "start":
                ids.append(ev.episode.id)
            sink.handle(ev)
    assert sub.wait_for(lambda ms: len(ms) >= 10)
    time.sleep(0.3)
    msgs = [(p["event"], p["id"]) for p in episodes(sub)]
    assert sorted(msgs) == sorted((e, i) for i in ids[:5] for e in ("start", "end"))
    if chunk == 20:  # live, in the order things became known
        first_four = [(e, i) for i in (ids[3], ids[0], ids[1], ids[2]) for e in ("start", "end")]
        assert msgs == [*first_four, ("start", ids[4]), ("end", ids[4])]
    settled = {p["time"] for p in episodes(sub)[:8]}
    assert len(settled) == 1  # all announced at the moment the fourth movement settled it
    assert all(p["kind"] == "plm" and p["extra"]["plm_in_series"] for p in episodes(sub)[1::2])
    # the phone buzzes once for the series: its first message's start and end, nothing after
    assert [p["notify"] for p in episodes(sub)] == [True] + [False] * 9
    assert episodes(sub)[1]["notified"] is True  # its end can replace the notification
    assert sink.state_payload()["counts"]["plm"] == 5
    sink.close()


def test_a_confirmed_alert_goes_out_when_the_stage_agrees(broker, subscribe, tmp_path):
    """Events from a real tracker with confirmed alerts: a spasm the second stage doubts when it
    opens and keeps from 2 s on is sent then (start, the channel busy), and its end after; one
    the stage never keeps is never sent, not even withdrawn."""
    from test_episodes import _LengthStage, stream

    from emgwatch.episodes import EpisodeTracker, params_for

    sub = subscribe(broker, "emgwatch/dev1/episode")
    sink = make_sink(broker, tmp_path).start()
    assert sink.wait_connected(10)
    segs = [(5, "rest", 1), (4, "spasm", 0.97), (5, "rest", 1)]
    t, pr, lev, us = stream(segs)
    states = []
    for keep_after in (2.0, 99.0):
        tracker = EpisodeTracker(
            ["leg"], params=params_for("auto", "confirmed"), stage=_LengthStage(keep_after)
        )
        for i in range(0, len(t) + 10, 10):
            done = i >= len(t)
            part = slice(i, i + 10)
            for ev in (
                tracker.flush() if done else tracker.push(t[part], pr[part], lev[part], us[part])
            ):
                sink.handle(ev)
                states.append((keep_after, ev.event, sink.state_payload()["channels"].get("leg")))
    assert sub.wait_for(lambda ms: len(ms) >= 2)
    time.sleep(0.5)
    got = episodes(sub)
    assert [p["event"] for p in got] == ["start", "end"]
    assert got[0]["kind"] == got[1]["kind"] == "spasm" and got[0]["id"] == got[1]["id"]
    assert got[0]["extra"]["quiet"] is True
    # nothing shown while held, the spasm once announced, idle again at its end
    assert [(e, s) for k, e, s in states if k == 2.0] == [
        ("start", None),
        ("announce", "spasm"),
        ("end", "idle"),
    ]
    assert all(s in (None, "idle") for k, _, s in states if k == 99.0)
    assert sink.state_payload()["counts"]["spasm"] == 1
    sink.close()


def test_a_sink_running_for_weeks_remembers_a_bounded_number_of_episodes(tmp_path, monkeypatch):
    """Counts keep every episode; the per-episode memory behind them keeps only the newest."""
    import emgwatch.sinks.mqtt as mqtt_sink
    from emgwatch.episodes import Episode, EpisodeEvent

    monkeypatch.setattr(mqtt_sink, "REMEMBERED_EPISODES", 5)
    sink = MqttSink(
        MqttConfig(url="mqtt://127.0.0.1:1"), "dev1", tmp_path / "o.sqlite", session_start=0.0
    )
    for i in range(20):
        ep = Episode("spasm", "leg", 10.0 * i, None, 0.9, 20.0, extra={"quiet": True})
        sink.handle(EpisodeEvent("start", ep, 10.0 * i))  # held: not sent, not remembered
        ep.extra["detected_at"] = 10.0 * i + 1
        sink.handle(EpisodeEvent("announce", ep, 10.0 * i + 1))
        ep.end = 10.0 * i + 3
        sink.handle(EpisodeEvent("end", ep, 10.0 * i + 4))
    assert sink.state_payload()["counts"]["spasm"] == 20
    assert len(sink._counted) == 5 and len(sink._announced) == 5
    assert len(sink.outbox) == 40  # a start and an end each
    sink.outbox.close()


def test_a_phone_is_notified_once_per_plm_series_and_for_every_other_alert():
    from emgwatch.sinks.mqtt import NotifyPolicy

    policy = NotifyPolicy()

    def ev(event, kind, start, at, channel="leg", end=None, **extra):
        ep = Episode(kind=kind, channel=channel, start=start, confidence=0.8, level_db=20.0)
        ep.end, ep.extra = end, dict(extra)
        return policy(EpisodeEvent(event, ep, detected_at=at, previous="spasm")), ep

    # a series settled by its fourth movement: told once, whichever message shows it first
    assert ev("end", "plm", 90.0, 93.0, plm_in_series=True)[0] is True
    assert [ev("update", "plm", s, 93.0, plm_in_series=True)[0] for s in (0, 30, 60)] == [False] * 3
    # its next movements (onsets <= 90 s apart), announced at once or held, say nothing more
    assert ev("start", "plm", 120.0, 120.4, plm_in_series=True)[0] is False
    assert ev("start", "plm", 208.0, 208.4)[0] is False
    assert ev("end", "plm", 208.0, 218.0, end=217.0, plm_in_series=True)[0] is False
    # the other leg's series at the same time is the same finding: no second buzz
    assert ev("end", "plm", 190.0, 191.0, channel="other_leg", plm_in_series=True)[0] is False
    # a spasm starting in a series is most often its next movement: held to its end
    held, ep = ev("start", "spasm", 230.0, 230.3)
    assert held is False
    ep.end = 232.0
    assert policy(EpisodeEvent("end", ep, detected_at=233.0)) is True  # still a spasm: told
    held, ep = ev("start", "spasm", 260.0, 260.3)
    ep.end, ep.kind, ep.extra = 262.0, "plm", {"plm_in_series": True}
    assert held is False and policy(EpisodeEvent("end", ep, detected_at=263.0)) is False
    # on another channel too (the other leg's movement of a bilateral series); a spasm it
    # was is told at its end
    held, ep = ev("start", "spasm", 260.0, 260.3, channel="other_leg")
    ep.end = 263.0
    assert held is False and policy(EpisodeEvent("end", ep, detected_at=264.0)) is True
    assert ev("start", "spasm", 400.0, 400.3, channel="arm")[0] is True  # no series under way
    # a leg movement no series holds yet: held; told if it ends a spasm, cramp or clonus run
    assert ev("start", "plm", 1000.0, 1000.5)[0] is False
    assert ev("end", "plm", 1000.0, 1003.0, end=1002.0, plm_in_series=False)[0] is False
    held, ep = ev("start", "plm", 1100.0, 1100.5)
    ep.end, ep.kind = 1160.0, "cramp"
    assert held is False and policy(EpisodeEvent("end", ep, detected_at=1161.0)) is True
    # a cramp tells once: not its continuations (max_duration_s), not its end
    told, cramp = ev("start", "cramp", 2000.0, 2000.4)
    assert told is True and ev("start", "spasm", 2600.0, 2600.0, continued=True)[0] is False
    cramp.end = 2900.0
    assert policy(EpisodeEvent("end", cramp, detected_at=2901.0)) is False
    assert policy.told(cramp.id) is True
    assert ev("start", "voluntary", 3000.0, 3000.5)[0] is False


def test_a_held_episode_that_outlasts_any_leg_movement_is_told_while_it_lasts(tmp_path):
    """A cramp that opened looking like a leg movement: the phone hears of it with the
    tracker's "ongoing" event (it outlasted any leg movement), not at its end minutes later;
    an "ongoing" event of an episode already told, or never held, says nothing."""
    sink = MqttSink(
        MqttConfig(url="mqtt://127.0.0.1:1"), "dev1", tmp_path / "o.sqlite", session_start=0.0
    )
    cramp = Episode("plm", "calf", 100.0, None, 0.8, 25.0)
    spasm = Episode("spasm", "arm", 101.0, None, 0.8, 25.0)
    sink.handle(EpisodeEvent("start", cramp, 100.4))
    sink.handle(EpisodeEvent("start", spasm, 101.4))  # told at its start
    so_far = dataclasses.replace(cramp, kind="spasm", extra=dict(cramp.extra))
    sink.handle(EpisodeEvent("ongoing", so_far, 111.0, previous="plm"))
    sink.handle(EpisodeEvent("ongoing", so_far, 111.5, previous="plm"))  # once
    sink.handle(EpisodeEvent("ongoing", dataclasses.replace(spasm), 112.0, previous="spasm"))
    assert sink.state_payload()["channels"]["calf"] == "spasm"
    cramp.end, cramp.kind = 160.0, "cramp"
    sink.handle(EpisodeEvent("end", cramp, 160.5))
    got = [
        (i.payload["id"], i.payload["event"], i.payload["kind"], i.payload["notify"])
        for i in sink.outbox.pending()
    ]
    assert got == [
        (cramp.id, "start", "plm", False),
        (spasm.id, "start", "spasm", True),
        (cramp.id, "ongoing", "spasm", True),
        (cramp.id, "end", "cramp", False),
    ]
    msgs = [i.payload for i in sink.outbox.pending()]
    assert msgs[2]["previous_kind"] == "plm" and msgs[2]["duration_s"] == 11.0
    assert "end" not in msgs[2] and msgs[2]["time"] == iso_utc(111.0)
    assert msgs[3].get("notified") is True
    counts = sink.state_payload()["counts"]  # the ongoing spasm became the cramp it was
    assert {k: v for k, v in counts.items() if v} == {"cramp": 1, "spasm": 1}
    sink.outbox.close()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # which episode
            st.sampled_from(["start", "end", "update", "ongoing"]),
            st.sampled_from(["plm", "spasm", "cramp", "clonus", "voluntary"]),
            st.booleans(),  # plm_in_series
            st.sampled_from(["leg_l", "leg_r"]),
        ),
        max_size=40,
    )
)
def test_whatever_the_messages_an_episode_notifies_at_most_once(steps):
    """Any order of starts, ends, updates and ongoing events, in any kinds: never a second buzz
    for one episode, never one for a voluntary movement or for an ongoing leg movement."""
    from emgwatch.sinks.mqtt import NotifyPolicy

    policy = NotifyPolicy()
    eps: dict[int, Episode] = {}
    told: dict[str, int] = {}
    for t, (i, event, kind, series, channel) in enumerate(steps):
        ep = eps.setdefault(i, Episode(kind, channel, start=20.0 * i))
        ep.kind, ep.extra = kind, {"plm_in_series": series}
        if policy(EpisodeEvent(event, ep, detected_at=20.0 * i + t)):
            told[ep.id] = told.get(ep.id, 0) + 1
            assert kind in ALERT_KINDS and not (event == "ongoing" and kind == "plm")
            assert policy.told(ep.id)
    assert all(n == 1 for n in told.values())
