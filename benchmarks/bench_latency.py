"""Alert latency end to end: true onset in a replayed recording -> `episode` message at a subscriber.

    .venv/bin/python benchmarks/bench_latency.py [--duration 240] [--via pty|direct] [--seed 11]

A synthetic recording with dense episodes (ground truth known to the millisecond) is replayed in
real time -- through a pseudo-terminal in the firmware's frame format and the serial source
(``--via pty``, the default: the whole live path a board takes), or straight from memory
(``--via direct``) -- into the detector and the MQTT sink, publishing to a private Mosquitto on
loopback. A separate paho subscriber timestamps each `episode` message on arrival.

Two figures, both from wall-clock times on the same machine:
- onset -> arrival: arrival time minus the wall time at which the true onset sample was due
  (replay start + onset / speed); includes acquisition, the detector's confirmation delay,
  the outbox write and MQTT delivery. Target: median <= 0.5 s.
- decided -> arrival: arrival time minus the moment the detector returned the start event;
  the part emgwatch adds after deciding (sinks, SQLite outbox with fsync, paho, broker, TCP).
  Target: <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from emgwatch.commands.demo import PrivateBroker
from emgwatch.config import Config
from emgwatch.domain import ALERT_KINDS
from emgwatch.live import LiveSession, load_detector
from emgwatch.sinks.mqtt import MqttSink, Topics
from emgwatch.source import ReplaySource
from emgwatch.synth import simulate

RATES = {"spasm_per_h": 150.0, "cramp_per_h": 20.0, "clonus_per_h": 60.0}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=float, default=240.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--via", choices=("pty", "direct"), default="pty")
    ap.add_argument("--json", metavar="PATH", help="also write the raw measurements here")
    args = ap.parse_args()

    rec, truth = simulate("daily", args.duration, 1000.0, args.seed, **RATES)
    true_eps = [e for e in truth.episodes if e.kind in ALERT_KINDS]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = PrivateBroker(work)
        cfg = Config()
        cfg.mqtt.url = broker.url
        topics = Topics.for_device(cfg.mqtt.topic_prefix, "bench", "")
        arrivals: list[tuple[float, dict]] = []
        ready = threading.Event()
        sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-sub")
        sub.on_connect = lambda c, *a: c.subscribe(topics.episode, qos=1)
        sub.on_subscribe = lambda *a: ready.set()
        sub.on_message = lambda c, u, m: arrivals.append((time.time(), json.loads(m.payload)))
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        ready.wait(10)

        pty = None
        if args.via == "pty":
            from emgwatch.pty_server import PtyReplay
            from emgwatch.serial_source import SerialSource

            rec_path = work / "bench.edf"
            from emgwatch.recording import read_recording, write_recording

            write_recording(rec_path, rec)
            rec = read_recording(rec_path)
            pty = PtyReplay(rec, speed=1.0).start()
            source = SerialSource(pty.path, protocol="frames")
            source.start()
            t_zero = pty.stream_started_at
        else:
            source = ReplaySource(rec, speed=1.0)
            source.start()
            t_zero = source.start_time
        detector = load_detector(cfg, source, "auto")
        mqtt = MqttSink(cfg.mqtt, "bench", work / "outbox.sqlite", session_start=t_zero).start()
        mqtt.wait_connected(10)
        session = LiveSession(source, detector, mqtt=mqtt, start_time=t_zero)
        summary = session.run(duration_s=args.duration)
        time.sleep(1.0)
        sub.loop_stop()
        if pty is not None:
            pty.stop()
        broker.stop()

    decided = {
        (e.episode.id, e.event): t for e, t in zip(summary.events, summary.decided_at, strict=True)
    }
    detected_at = {e.episode.id: e.detected_at for e in summary.events if e.event == "start"}
    starts = [(t, p) for t, p in arrivals if p["event"] == "start"]
    added = [
        t - decided[(p["id"], p["event"])] for t, p in arrivals if (p["id"], p["event"]) in decided
    ]
    onset, confirm = [], []
    matched = 0
    for e in true_eps:
        hits = []
        for t, p in starts:
            ep_start = next(ev.episode.start for ev in summary.events if ev.episode.id == p["id"])
            if e.start - 1.0 <= ep_start <= e.end:
                hits.append((t, p))
        if hits:
            matched += 1
            t, p = min(hits, key=lambda h: h[0])
            onset.append(t - (t_zero + e.start))
            confirm.append(detected_at[p["id"]] - e.start)
    print(
        f"replay via {args.via}: {args.duration:.0f} s of synthetic 'daily' EMG (seed {args.seed}), real time"
    )
    print(
        f"true alert episodes {len(true_eps)}, with an alert {matched}; episode messages received {len(arrivals)}"
    )
    if onset:
        print(
            f"true onset -> subscriber arrival: median {statistics.median(onset):.3f} s, "
            f"p90 {pct(onset, 0.9):.3f} s, min {min(onset):.3f} s, max {max(onset):.3f} s (n={len(onset)})"
        )
        print(
            f"  of which detector confirmation (stream time): median {statistics.median(confirm):.3f} s"
        )
    if added:
        print(
            f"detector decided -> subscriber arrival: median {1000 * statistics.median(added):.1f} ms, "
            f"p95 {1000 * pct(added, 0.95):.1f} ms, max {1000 * max(added):.1f} ms (n={len(added)}, start+end)"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"onset_s": onset, "added_s": added, "confirm_s": confirm})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
