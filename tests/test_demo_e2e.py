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
