"""The live loop: paced sources, run -> detector -> sinks, outages, signals, local logging."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import wait_until

from emgwatch.commands.run import parse_duration
from emgwatch.config import Config
from emgwatch.episodes import params_for, was_alerted
from emgwatch.errors import UsageError
from emgwatch.live import LiveSession, load_detector
from emgwatch.recording import Recording, write_recording
from emgwatch.sinks.mqtt import MqttSink
from emgwatch.source import PacedSource, ReplaySource, open_source

# Dense synthetic episodes so a few minutes of signal hold several alerts.
RATES = {"spasm_per_h": 150.0, "cramp_per_h": 20.0, "clonus_per_h": 40.0}


def synthetic_recording(duration_s: float, seed: int = 3) -> Recording:
    from emgwatch.synth import simulate

    rec, _truth = simulate("daily", duration_s, 1000.0, seed, **RATES)
    return rec


def cfg_for(tmp_path: Path, url: str = "mqtt://127.0.0.1:1") -> Config:
    cfg = Config()
    cfg.storage.dir = str(tmp_path / "store")
    cfg.mqtt.url = url
    cfg.mqtt.reconnect_max_s = 1.0
    cfg.mqtt.metrics_interval_s = 1.0
    return cfg


def alert_events(summary) -> list[tuple[str, str]]:
    """The (id, event) of every message the MQTT sink sends for sure: an "ongoing" event goes
    out only when it tells a held alert (NotifyPolicy), so the tests check those apart."""
    return [
        (e.episode.id, e.event)
        for e in summary.events
        if was_alerted(e.episode) and e.event != "ongoing"
    ]


def ongoing_ids(summary) -> set[str]:
    return {e.episode.id for e in summary.events if e.event == "ongoing"}


# --- sources ---------------------------------------------------------------------------------
def test_replay_is_paced_to_real_time_in_contiguous_blocks():
    rec = Recording(np.arange(1000.0)[:, None], 1000.0, ["a"])
    src = ReplaySource(rec, speed=1.0)
    src.start()
    t0 = time.monotonic()
    blocks = []
    while src.status == "streaming":
        blocks += src.read(0.1)
    took = time.monotonic() - t0
    assert 0.9 <= took <= 1.4
    data = np.concatenate([b.data for b in blocks])
    assert np.array_equal(data[:, 0], np.arange(1000.0))
    assert [b.t0 for b in blocks] == pytest.approx([i * 0.02 for i in range(50)])
    assert src.status == "ended"


def test_speed_zero_replays_as_fast_as_possible_and_keeps_a_short_last_block():
    rec = Recording(np.ones((1234, 2)), 1000.0, ["a", "b"])
    src = ReplaySource(rec, speed=0)
    src.start()
    blocks = []
    while src.status == "streaming":
        blocks += src.read(0.1)
    assert sum(b.n_samples for b in blocks) == 1234
    assert blocks[-1].n_samples == 14 and blocks[-1].t0 == pytest.approx(1.22)


def test_a_producer_that_runs_dry_ends_the_source():
    src = PacedSource(iter([np.zeros((30, 1)), np.zeros((5, 1))]), 1000.0, ["a"], speed=0)
    src.start()
    got = 0
    for _ in range(10):
        got += sum(b.n_samples for b in src.read(0.05))
    assert got == 35 and src.status == "ended"


def test_unknown_and_incomplete_source_specs_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="unknown source"):
        open_source("usb:3", Config())
    with pytest.raises(UsageError, match="file not found"):
        open_source(f"replay:{tmp_path / 'none.edf'}", Config())


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("8h", 28800), ("1.5h", 5400)]
)
def test_durations_accept_units(text, seconds):
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_a_usage_error():
    with pytest.raises(UsageError, match="--duration"):
        parse_duration("soon")


# --- the loop with a real broker --------------------------------------------------------------
def test_live_session_alerts_logs_and_flushes(broker, subscribe, tmp_path):
    from emgwatch.live import open_storage

    cfg = cfg_for(tmp_path, broker.url)
    sub = subscribe(broker, "emgwatch/#")
    rec = synthetic_recording(60, seed=2)
    src = ReplaySource(rec, speed=0)
    det = load_detector(cfg, src, "auto")
    mqtt = MqttSink(cfg.mqtt, "bed", tmp_path / "outbox.sqlite").start()
    assert mqtt.wait_connected(10)
    src.start()
    mqtt.session_start = src.start_time
    log, recorder = open_storage(
        cfg, src, device_id="bed", context="auto", model_version="t", record=True
    )
    session = LiveSession(src, det, mqtt=mqtt, episode_log=log, recorder=recorder)
    summary = session.run()
    expected = alert_events(summary)
    assert expected, "the synthetic minute should contain alert episodes"
    assert summary.alerts_pending == 0
    sent = mqtt.episodes_queued  # every message, "ongoing" ones too, was acknowledged
    assert sub.wait_for(lambda ms: len([m for m in ms if m.topic.endswith("/episode")]) == sent)
    msgs = [m.json() for m in sub.on("emgwatch/bed/episode")]
    assert [(m["id"], m["event"]) for m in msgs if m["event"] != "ongoing"] == expected
    told = [m for m in msgs if m["event"] == "ongoing"]
    assert {m["id"] for m in told} <= ongoing_ids(summary)
    assert all(m["notify"] and m["kind"] != "plm" for m in told)
    # the status is published last, on close: give the broker a moment to deliver it
    sub.wait_for(
        lambda ms: [m.payload for m in ms if m.topic == "emgwatch/bed/status"][-1:] == [b"offline"]
    )
    assert sub.on("emgwatch/bed/status")[-1].payload == b"offline"
    assert sub.on("emgwatch/bed/state")[-1].json()["state"] == "idle"  # flushed: nothing open
    from emgwatch.sinks.episode_log import EpisodeLog

    stored = EpisodeLog(cfg.database_path, create=False)
    try:
        logged = stored.episodes()
        assert {le.episode.id for le in logged} >= {i for i, _ in expected}
        assert all(le.episode.end is not None for le in logged)  # flushed: every episode closed
    finally:
        stored.close()
    assert list((cfg.storage_dir / "recordings").glob("*.edf"))


def test_wrong_password_keeps_detecting_and_logging_locally(make_broker, tmp_path, caplog):
    broker = make_broker(users={"u": "right"})
    cfg = cfg_for(tmp_path, f"mqtt://u:wrong@{broker.host}:{broker.port}")
    src = ReplaySource(synthetic_recording(60, seed=2), speed=0)
    det = load_detector(cfg, src, "auto")
    mqtt = MqttSink(cfg.mqtt, "bed", tmp_path / "outbox.sqlite").start()
    assert wait_until(lambda: mqtt.status == "refused", 10)
    from emgwatch.live import open_storage

    src.start()
    log, _ = open_storage(
        cfg, src, device_id="bed", context="auto", model_version="t", record=False
    )
    summary = LiveSession(src, det, mqtt=mqtt, episode_log=log).run()
    n_alerts = len(alert_events(summary))
    assert n_alerts > 0
    assert summary.alerts_pending == mqtt.episodes_queued >= n_alerts  # kept for the next start
    from emgwatch.sinks.episode_log import EpisodeLog

    stored = EpisodeLog(cfg.database_path, create=False)
    try:
        assert len(stored.episodes()) >= n_alerts // 2
    finally:
        stored.close()
    assert any("refused the connection" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_broker_outage_of_30_s_loses_no_episode(make_broker, subscribe, tmp_path):
    """Broker killed for 30 s mid-replay: afterwards every alert arrives once per id, in order."""
    broker = make_broker(persistent=True)
    sub = subscribe(broker, "emgwatch/bed/episode", persistent=True, client_id="outage-subscriber")
    cfg = cfg_for(tmp_path, broker.url)
    cfg.mqtt.reconnect_max_s = 2.0
    speed = 4.0
    src = ReplaySource(synthetic_recording(180, seed=4), speed=speed)
    det = load_detector(cfg, src, "auto")
    mqtt = MqttSink(cfg.mqtt, "bed", tmp_path / "outbox.sqlite").start()
    assert mqtt.wait_connected(10)
    session = LiveSession(src, det, mqtt=mqtt)
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("summary", session.run()))
    src.start()
    mqtt.session_start = src.start_time
    runner.start()
    time.sleep(4.0)  # stream ~16 s: the first episodes went out live
    time.sleep(1.2)  # the broker autosaves the subscriber's session every second
    broker.stop()  # SIGKILL
    down_at = session.summary.stream_s
    time.sleep(30.0)
    up_at = session.summary.stream_s
    broker.start()
    runner.join(120)
    summary = result["summary"]
    expected = alert_events(summary)
    during = [
        (e.episode.id, e.event)
        for e in summary.events
        if was_alerted(e.episode) and down_at <= e.detected_at <= up_at and e.event != "ongoing"
    ]
    assert during, "no alert was detected while the broker was down: the test proves nothing"
    assert sub.wait_for(
        lambda ms: {(m.json()["id"], m.json()["event"]) for m in ms} >= set(expected), 30
    )
    first_seen: list[tuple[str, str]] = []
    for m in sub.messages:
        key = (m.json()["id"], m.json()["event"])
        if key[1] == "ongoing":  # sent only when it tells a held alert: checked apart
            assert key[0] in ongoing_ids(summary)
        elif key not in first_seen:
            first_seen.append(key)
    assert first_seen == expected  # exactly once per id after de-duplication, in order
    delayed = {(m.json()["id"], m.json()["event"]) for m in sub.messages if m.json()["delayed"]}
    assert set(during) <= delayed
    assert summary.alerts_pending == 0
    print(
        f"\nbroker down from stream {down_at:.0f} s to {up_at:.0f} s: {len(during)} of {len(expected)} "
        f"alert messages produced during the outage; all {len(expected)} arrived once each, in order, "
        f"{len(set(during) & delayed)} marked delayed"
    )


def test_sigterm_stops_run_cleanly_and_says_offline(broker, subscribe, tmp_path):
    rec_path = tmp_path / "night.edf"
    write_recording(rec_path, synthetic_recording(120, seed=5))
    cfg_file = tmp_path / "cfg.toml"
    cfg_file.write_text(f'[storage]\ndir = "{tmp_path / "store"}"\n')
    sub = subscribe(broker, "emgwatch/#")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emgwatch",
            "--config",
            str(cfg_file),
            "run",
            "--source",
            f"replay:{rec_path}",
            "--speed",
            "4",
            "--broker",
            broker.url,
            "--device-id",
            "bed",
            "--no-record",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert wait_until(lambda: sub.on("emgwatch/bed/status"), 20)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "session ended (stop requested)" in err
    assert "Traceback" not in err
    assert sub.wait_for(
        lambda ms: ms[-1].topic == "emgwatch/bed/status" and ms[-1].payload == b"offline", 10
    )
    starts = [m.json() for m in sub.on("emgwatch/bed/episode") if m.json()["event"] == "start"]
    ends = {m.json()["id"] for m in sub.on("emgwatch/bed/episode") if m.json()["event"] == "end"}
    assert {s["id"] for s in starts} <= ends  # an episode open at SIGTERM was closed and sent


# --- replay through a pseudo-terminal in the firmware's frame format ----------------------------
def test_replay_pty_prints_its_path_first_and_streams_the_recording_as_frames(tmp_path):
    from emgwatch.pty_server import to_adc_counts
    from emgwatch.serial_source import SerialSource

    rec = synthetic_recording(60, seed=2)
    path = tmp_path / "seg.edf"
    write_recording(path, rec)
    proc = subprocess.Popen(
        [sys.executable, "-m", "emgwatch", "replay", str(path), "--pty", "--speed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pty_path = proc.stdout.readline().strip()
        assert pty_path.startswith("/dev/pts/")
        src = SerialSource(pty_path, protocol="frames")
        src.start()
        assert src.fs == rec.fs and len(src.channel_names) == rec.n_channels
        got = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            got += src.read(0.1)
        src.stop()
    finally:
        proc.terminate()
        proc.wait(10)
    data = np.concatenate([b.data for b in got])
    assert data.shape[0] > 4000  # about 3 s at 4x real time
    expected = to_adc_counts(write_and_read(rec, tmp_path))[: data.shape[0]]
    assert np.array_equal(data, expected)
    assert got[0].t0 == 0.0 and not any(b.gap_before for b in got)


def write_and_read(rec: Recording, tmp_path: Path) -> Recording:
    from emgwatch.recording import read_recording

    p = tmp_path / "again.edf"
    write_recording(p, rec)
    return read_recording(p)


def test_run_replay_through_a_pty_sends_alerts_end_to_end(broker, subscribe, tmp_path):
    path = tmp_path / "seg.edf"
    write_recording(path, synthetic_recording(60, seed=2))
    cfg_file = tmp_path / "cfg.toml"
    cfg_file.write_text(f'[storage]\ndir = "{tmp_path / "store"}"\n')
    sub = subscribe(broker, "emgwatch/#")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "emgwatch",
            "--config",
            str(cfg_file),
            "run",
            "--source",
            f"replay:{path}",
            "--pty",
            "--speed",
            "12",
            "--broker",
            broker.url,
            "--device-id",
            "pty",
            "--no-record",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "through /dev/pts/" in proc.stderr and "session ended" in proc.stderr
    episodes = [m.json() for m in sub.on("emgwatch/pty/episode")]
    assert [p["event"] for p in episodes].count("start") >= 1
    assert sub.on("emgwatch/pty/status")[-1].payload == b"offline"


class SilentSource:
    """A board that stopped sending: streaming, but nothing arrives."""

    fs = 1000.0
    channel_names = ["ch1"]
    status = "idle"
    units = "adc"
    sensor = "raw"
    start_time = None

    def start(self):
        self.status = "streaming"
        self.start_time = time.time()

    def read(self, timeout_s):
        time.sleep(timeout_s)
        return []

    def stop(self):
        self.status = "stopped"


def test_a_source_that_stops_sending_is_reported_not_fatal(monkeypatch, caplog, tmp_path):
    import emgwatch.live as live

    monkeypatch.setattr(live, "NO_DATA_WARN_S", 0.3)
    src = SilentSource()
    det = load_detector(cfg_for(tmp_path), src, "auto")
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    summary = LiveSession(src, det).run(stop=stop)
    assert summary.stopped_by == "stop requested"
    assert any("no data from the source" in r.getMessage() for r in caplog.records)


def test_lead_off_in_a_live_session_is_logged_and_annotated(tmp_path):
    """A 4-s lead-off (railed at the ADC limit) becomes one quality event pair in the log and an
    annotation in the EDF+ recording, while the session goes on."""
    import edfio

    from emgwatch.live import open_storage
    from emgwatch.sinks.episode_log import EpisodeLog

    rec = synthetic_recording(30, seed=5)
    x = rec.data.copy()
    i0, i1 = int(12 * rec.fs), int(16 * rec.fs)
    x[i0:i1] = 1023.0  # railed
    rec = Recording(x, rec.fs, rec.channel_names, units=rec.units, sensor=rec.sensor)
    cfg = cfg_for(tmp_path)
    cfg.mqtt.enabled = False
    src = ReplaySource(rec, speed=0)
    src.start()
    det = load_detector(cfg, src, "auto")
    log, recorder = open_storage(
        cfg, src, device_id="d", context="auto", model_version="t", record=True
    )
    summary = LiveSession(src, det, episode_log=log, recorder=recorder).run()
    assert summary.quality_events >= 2
    stored = EpisodeLog(cfg.database_path, create=False)
    try:
        sid = stored.sessions()[-1].id
        q = [e for e in stored.quality_events(sid) if e.kind == "lead_off"]
        files = [p for p, _ in stored.recordings(sid)]
    finally:
        stored.close()
    assert [e.active for e in q] == [True, False]
    assert 11.5 <= q[0].t <= 13.0 and 15.5 <= q[1].t <= 17.5
    texts = [a.text for a in edfio.read_edf(files[0]).annotations]
    assert any(t.startswith("quality lead_off") for t in texts)


@pytest.mark.parametrize(
    ("alerts", "context", "confirmed"),
    [
        ("context", "sleep", True),
        ("context", "exercise", True),
        ("context", "auto", False),
        ("fast", "sleep", False),
        ("confirmed", "auto", True),
    ],
)
def test_the_config_says_when_alerts_go_out(tmp_path, alerts, context, confirmed):
    from emgwatch.config import load_config

    toml = tmp_path / "c.toml"
    toml.write_text(f'[detection]\nalerts = "{alerts}"\n')
    src = ReplaySource(synthetic_recording(10), speed=0)
    p = load_detector(load_config(toml), src, context).tracker.p
    assert p.quiet_leg_movements is confirmed and p.confirm_alerts is confirmed
    assert p.on == params_for(context).on  # the context's other thresholds are kept


@pytest.mark.parametrize("chunk", [1, 10_000])
def test_the_console_prints_a_confirmed_alert_once(chunk):
    """Opened and announced in one block, a held episode comes as "start" (already announced)
    and "announce": one start line, whatever the blocks."""
    from test_episodes import _confirmed, _LengthStage, stream

    from emgwatch.commands.run import _print_event
    from emgwatch.episodes import EpisodeTracker

    class Lines:
        def __init__(self):
            self.lines = []

        def print(self, text, stream=None):
            self.lines.append(text)

    out = Lines()
    show = _print_event(out)
    tracker = EpisodeTracker(["ch1"], params=_confirmed(), stage=_LengthStage(2.0))
    t, pr, lev, us = stream([(5, "rest", 1), (4, "spasm", 0.97), (5, "rest", 1)])
    for i in range(0, len(t), chunk):
        for ev in tracker.push(
            t[i : i + chunk], pr[i : i + chunk], lev[i : i + chunk], us[i : i + chunk]
        ):
            show(ev, 0.0)
    for ev in tracker.flush():
        show(ev, 0.0)
    assert [ln.split()[0] for ln in out.lines] == ["start", "end"]
