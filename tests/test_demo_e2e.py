"""End to end: `emgwatch demo` streams, detects and alerts through a real Mosquitto."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

from emgwatch.cli import main
from emgwatch.domain import ALERT_KINDS

EPISODE_FIELDS = {
    "event",
    "id",
    "device",
    "kind",
    "channel",
    "confidence",
    "level_db",
    "start",
    "time",
    "delayed",
    "notify",
}


def test_demo_publishes_well_formed_alerts_on_the_episode_topic(broker, subscribe, capsys):
    sub = subscribe(broker, "emgwatch/demo/#")
    rc = main(["demo", "--duration", "10", "--speed", "2", "--broker", broker.url])
    out = capsys.readouterr().out
    assert rc == 0, out
    episodes = [m.json() for m in sub.on("emgwatch/demo/episode")]
    assert episodes, f"no alert arrived; demo output:\n{out}"
    first = episodes[0]
    assert EPISODE_FIELDS <= set(first)
    assert first["event"] == "start" and first["kind"] in ALERT_KINDS and first["device"] == "demo"
    assert 0.0 <= first["confidence"] <= 1.0
    assert datetime.fromisoformat(first["start"]).tzinfo is not None
    ends = [p for p in episodes if p["event"] == "end"]
    assert all(p["id"] in {s["id"] for s in episodes if s["event"] == "start"} for p in ends)
    assert "ALERT" in out and "emgwatch demo summary" in out
    buzzed = {p["id"] for p in episodes if p["notify"]}
    assert f"phone notifications (messages with notify: true): {len(buzzed)} episodes" in out
    assert sub.on("emgwatch/demo/status")[-1].payload == b"offline"


def test_demo_starts_its_own_broker_when_none_is_given():
    proc = subprocess.run(
        [sys.executable, "-m", "emgwatch", "demo", "--duration", "8", "--speed", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "(private mosquitto)" in proc.stdout
    assert "ALERT" in proc.stdout and "alerts received" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_demo_without_mosquitto_says_how_to_get_it(monkeypatch, capsys):
    from emgwatch.commands import demo

    monkeypatch.setattr(demo, "find_mosquitto", lambda: None)
    rc = main(["demo", "--duration", "2"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "mosquitto is not installed" in err and "--broker" in err
    assert "Traceback" not in err


def test_demo_latency_of_a_quiet_episode_counts_from_its_announcement():
    """A leg movement kept quiet ends at 15 s and is announced by a series at 40 s: the sink
    sends its start and end together then, 5 ms later; that is the latency, not 25 s."""
    from collections import Counter
    from types import SimpleNamespace as NS

    from emgwatch.commands.demo import render_summary
    from emgwatch.episodes import Episode, EpisodeEvent
    from emgwatch.live import LiveSummary

    ep = Episode("plm", "L", 9.5, None, 0.8, 20.0, id="lm1", extra={"quiet": True})
    s = LiveSummary(stream_s=60, wall_s=60)
    for event, t in (("start", 10.0), ("end", 15.0)):
        s.events.append(EpisodeEvent(event, ep, t))
        s.decided_at.append(1000.0 + t)
    ep.end, ep.extra["plm_in_series"], ep.extra["detected_at"] = 14.0, True, 40.0
    s.events.append(EpisodeEvent("update", ep, 40.0, previous="plm"))
    s.decided_at.append(1040.0)
    payload = {"id": "lm1", "kind": "plm", "start": "1970-01-01T00:16:49.5Z"}
    printer = NS(
        alerts=[(1040.005, {**payload, "event": "start"}), (1040.006, {**payload, "event": "end"})],
        received=Counter(episode=2),
        bad=[],
    )
    source = NS(truth=NS(episodes=[]), start_time=1000.0, speed=1.0)
    text = render_summary(s, source, printer, NS(base="emgwatch/x"))
    line = next(ln for ln in text.splitlines() if "alert latency" in ln)
    assert "median 5.5 ms, max 6.0 ms" in line
