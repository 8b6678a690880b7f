"""`emgwatch demo`: the whole live path in one command, no hardware needed.

A synthetic sensor stream, paced in real time, goes through the real detector and the real MQTT
sink to a broker (a private Mosquitto on a free loopback port unless ``--broker`` is given);
a subscriber prints every alert as it arrives; at the end one screen compares what was
detected and received with what the simulator planned.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from emgwatch.config import Config, arg_name, arg_seed, arg_speed
from emgwatch.domain import ALERT_KINDS, NON_ALERT_KINDS
from emgwatch.errors import EmgwatchError

HELP = "live simulated session: synthetic stream -> detection -> MQTT alerts, then a summary"
DESCRIPTION = """\
Run a live simulated session end to end: a synthetic EMG stream paced in real time, the
detector, alerts published to an MQTT broker, and a subscriber printing each alert as it
arrives; then a one-screen summary (episodes by kind vs the simulator's truth, messages
received, signal quality, alert latency).

Without --broker a private Mosquitto is started on a free loopback port and stopped at the
end (Debian: apt-get install mosquitto). Nothing is written outside a temporary directory.
emgwatch is a monitoring aid, not a medical device.
"""

# Episodes per hour for the demo: dense enough that one minute shows several alerts.
DEMO_RATES_PER_H = {"spasm": 180.0, "cramp": 40.0, "clonus": 60.0}
DEMO_SEED = 7  # with 'daily' and these rates: spasm, clonus, a posture change, clonus, spasm
DEMO_DEVICE_ID = "demo"
DEMO_PLAN_S = 60.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--duration", type=float, default=60.0, metavar="S", help="seconds of signal (default 60)"
    )
    p.add_argument("--scenario", default="daily", help="simulator scenario (default daily)")
    p.add_argument(
        "--seed", type=arg_seed, default=DEMO_SEED, help=f"simulator seed (default {DEMO_SEED})"
    )
    p.add_argument(
        "--speed",
        type=arg_speed,
        default=1.0,
        metavar="N",
        help="pace relative to real time (default 1)",
    )
    p.add_argument("--broker", metavar="URL", help="use this broker instead of a private mosquitto")
    p.add_argument(
        "--device-id",
        type=arg_name,
        default=DEMO_DEVICE_ID,
        help=f"device id in the topics (default {DEMO_DEVICE_ID})",
    )
    p.add_argument(
        "--natural-rates",
        action="store_true",
        help="use the scenario's own episode rates (few per hour)",
    )


# --- a private broker ---------------------------------------------------------------------------
def find_mosquitto() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
        None,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """Mosquitto on a free loopback port, anonymous, no persistence, gone when stopped."""

    def __init__(self, workdir: Path) -> None:
        exe = find_mosquitto()
        if exe is None:
            raise EmgwatchError(
                "mosquitto is not installed: install it (Debian: sudo apt-get install mosquitto) "
                "or pass --broker mqtt://HOST:PORT"
            )
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to 'mosquitto', which cannot read our tmp dir
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = (
                    self.proc.stderr.read().decode(errors="replace").strip()
                    if self.proc.stderr
                    else ""
                )
                raise EmgwatchError(
                    f"mosquitto failed to start: {err.splitlines()[-1] if err else 'no output'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise EmgwatchError(f"mosquitto did not accept connections on port {self.port}")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- the subscriber that plays "the phone" ------------------------------------------------------
class AlertPrinter:
    """Subscribes to the device's topics and prints each alert the moment it arrives."""

    def __init__(self, url: str, topics, show) -> None:  # noqa: ANN001
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        from emgwatch.sinks.mqtt import parse_broker_url

        addr = parse_broker_url(url)
        self.topics = topics
        self.show = show
        self.received: Counter = Counter()
        self.alerts: list[tuple[float, dict]] = []  # (arrival wall time, payload)
        self.bad: list[str] = []
        self._ready = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"emgwatch-demo-sub-{os.getpid()}"
        )
        if addr.username:
            self.client.username_pw_set(addr.username, addr.password or None)
        if addr.tls:
            self.client.tls_set()
        self.client.on_connect = lambda c, *a: c.subscribe(topics.all, qos=1)
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.on_message = self._on_message
        try:
            self.client.connect(addr.host, addr.port, keepalive=30)
        except OSError as e:
            raise EmgwatchError(
                f"cannot reach broker {addr.display()}: {e.strerror or e}"
            ) from None
        self.client.loop_start()
        if not self._ready.wait(10):
            raise EmgwatchError(f"broker {addr.display()} did not accept the demo subscriber")

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        arrived = time.time()
        kind = msg.topic.rsplit("/", 1)[-1]
        self.received[kind] += 1
        if msg.topic != self.topics.episode:
            return
        try:
            p = json.loads(msg.payload)
            stamp = time.strftime("%H:%M:%S", time.localtime(arrived))
            what = {"start": "ALERT", "end": "  end"}.get(p["event"], p["event"])
            dur = f", lasted {p['duration_s']:.1f} s" if p["event"] == "end" else ""
            late = " (delayed)" if p.get("delayed") else ""
            was = p.get("extra", {}).get("alerted_as")
            if p["event"] == "update":  # a PLM series decided later what this episode was
                series = p.get("extra", {}).get("plm_in_series")
                late += f" (was {p.get('previous_kind')}" + (
                    ", in a PLM series)" if series else ")"
                )
            elif p["event"] == "ongoing":  # a held alert outlasted any leg movement
                late += f" (first called {p.get('previous_kind')}, still going after {p['duration_s']:.0f} s)"
            elif was and p["kind"] not in ALERT_KINDS:
                late += f" (alert withdrawn: it was first called {was})"
            elif was:
                late += f" (alerted as {was})"
            self.show(
                f"[{stamp}] {what} {p['kind']:<7} on {p['channel']}: level {p['level_db']:+.0f} dB, "
                f"confidence {p['confidence']:.2f}{dur}{late}   <- {msg.topic}"
            )
            self.alerts.append((arrived, p))
        except (ValueError, KeyError, TypeError) as e:
            self.bad.append(f"{msg.payload[:80]!r}: {e}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# --- the command ---------------------------------------------------------------------------------
def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.live import LiveSession, load_detector, stop_on_signals
    from emgwatch.sinks.mqtt import MqttSink, Topics
    from emgwatch.source import SimulatedSource

    if args.duration <= 0:
        raise EmgwatchError("--duration must be positive")
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="emgwatch-demo-") as tmp:
        work = Path(tmp)
        rates = {} if args.natural_rates else _demo_rates(args.scenario)
        # Plan at least DEMO_PLAN_S so the first minute is the same whatever --duration says.
        planned_s = max(args.duration, DEMO_PLAN_S)
        source = SimulatedSource(
            args.scenario, planned_s, cfg.device.fs_hz, args.seed, speed=args.speed, **rates
        )
        broker = None if args.broker else PrivateBroker(work)
        url = args.broker or broker.url
        try:
            cfg.mqtt.url = url
            cfg.mqtt.metrics_interval_s = min(cfg.mqtt.metrics_interval_s, 5.0)
            topics = Topics.for_device(
                cfg.mqtt.topic_prefix, args.device_id, cfg.mqtt.discovery_prefix
            )
            detector = load_detector(cfg, source, cfg.detection.context)
            status_stream = sys.stderr
            from emgwatch.live import StatusLine

            line = StatusLine(status_stream)
            printer = AlertPrinter(url, topics, lambda text: line.print(text, out))
            mqtt = MqttSink(
                cfg.mqtt,
                args.device_id,
                work / "outbox.sqlite",
                model_version=detector.model_version,
            )
            mqtt.start()
            if not mqtt.wait_connected(10):
                raise EmgwatchError(
                    f"could not connect to the broker {mqtt.address.display()}: {mqtt.last_error}"
                )
            print(
                f"emgwatch demo: {args.duration:.0f} s of simulated '{args.scenario}' EMG (seed {args.seed}) "
                f"at {args.speed:g}x real time\n"
                f"broker {mqtt.address.display()}{' (private mosquitto)' if broker else ''}, "
                f"alerts on {topics.episode}\n"
                f"watch it yourself: mosquitto_sub -h 127.0.0.1 -p {mqtt.address.port} -v -t '{topics.all}'\n",
                file=out,
                flush=True,
            )
            source.start()
            mqtt.session_start = source.start_time
            session = LiveSession(
                source,
                detector,
                mqtt=mqtt,
                metrics_interval_s=cfg.mqtt.metrics_interval_s,
                status_stream=status_stream,
            )
            session.status = line
            stop = threading.Event()
            with stop_on_signals(stop):
                summary = session.run(duration_s=args.duration, stop=stop)
            deadline = time.monotonic() + 3
            want = mqtt.episodes_queued
            while len(printer.alerts) < want and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            printer.close()
            print(render_summary(summary, source, printer, topics), file=out, flush=True)
        finally:
            if broker is not None:
                broker.stop()
    return 0 if not printer.bad else 1


def _demo_rates(scenario: str) -> dict[str, float]:
    from emgwatch.synth.scenarios import get_scenario

    known = set(get_scenario(scenario).param_names())
    return {f"{k}_per_h": v for k, v in DEMO_RATES_PER_H.items() if f"{k}_per_h" in known}


def render_summary(summary, source, printer: AlertPrinter, topics) -> str:  # noqa: ANN001
    """One screen: truth vs detected vs received per kind, messages, quality, latency."""
    dur = summary.stream_s
    truth = [e for e in source.truth.episodes if e.start < dur]
    detected = summary.counts()
    final_kind = {p["id"]: p["kind"] for _, p in printer.alerts}  # an end may revise the kind
    received = Counter(final_kind.values())
    kinds = [k for k in ALERT_KINDS if truth_count(truth, k) or detected[k] or received[k]]
    lookalikes = sum(1 for e in truth if e.kind in NON_ALERT_KINDS)
    lines = [
        "",
        f"=== emgwatch demo summary: {dur:.0f} s of signal in {summary.wall_s:.0f} s ===",
        f"{'kind':<10}{'simulated':>10}{'detected':>10}{'alerts received':>17}",
    ]
    for k in kinds:
        lines.append(f"{k:<10}{truth_count(truth, k):>10}{detected[k]:>10}{received[k]:>17}")
    if not kinds:
        lines.append("(no alert-worthy episodes in this stretch)")
    other = {k: v for k, v in detected.items() if k not in ALERT_KINDS}
    lines.append(
        f"look-alikes simulated (voluntary, turn-over, twitch, posture): {lookalikes}; "
        f"logged as non-alerting: {sum(other.values())}"
    )
    hits = matched_onsets(truth, printer.alerts, source.start_time, source.speed)
    lines.append(
        f"true alert episodes that raised an alert: {len(hits)} of {sum(truth_count(truth, k) for k in ALERT_KINDS)}"
    )
    buzzed = {p["id"] for _, p in printer.alerts if p.get("notify")}
    lines.append(f"phone notifications (messages with notify: true): {len(buzzed)} episodes")
    msgs = ", ".join(f"{k} {v}" for k, v in sorted(printer.received.items()))
    lines.append(f"MQTT messages received under {topics.base}/: {msgs or 'none'}")
    if printer.bad:
        lines.append(f"MALFORMED alert payloads: {len(printer.bad)} (first: {printer.bad[0]})")
    lat = []
    decided = {id(ev): t for ev, t in zip(summary.events, summary.decided_at, strict=True)}
    by_key = {
        (ev.episode.id, ev.event): decided[id(ev)]
        for ev in summary.events
        if not (ev.episode.extra.get("quiet") and ev.event in ("start", "announce"))
    }
    for ev in summary.events:  # a quiet episode's start went out when it was announced, and
        ep = ev.episode  # so did its end, if it was over by then (docs/MQTT.md)
        at = ep.extra.get("detected_at")
        if ep.extra.get("quiet") and at is not None and abs(ev.detected_at - at) < 1e-3:
            told = by_key.setdefault((ep.id, "start"), decided[id(ev)])
            if (ep.id, "end") in by_key:
                by_key[(ep.id, "end")] = max(by_key[(ep.id, "end")], told)
    for arrived, p in printer.alerts:
        if p["event"] == "update":  # may come more than once per episode: alerts only
            continue
        t = by_key.get((p["id"], p["event"]))
        if t is not None:
            lat.append(arrived - t)
    if lat:
        lines.append(
            f"alert latency after the detector decided: median {1000 * statistics.median(lat):.1f} ms, "
            f"max {1000 * max(lat):.1f} ms"
        )
    if hits:
        lines.append(
            f"true onset -> alert on the subscriber: median {statistics.median(hits):.2f} s"
        )
    bad_q = {c: s for c, s in summary.quality_seconds.items() if s > 0}
    quality = ", ".join(
        f"{c} {100 * s / max(dur, 1e-9):.0f}% of the time" for c, s in bad_q.items()
    )
    lines.append(f"signal quality problems: {quality or 'none'}")
    lines.append(f"alerts still waiting in the outbox: {summary.alerts_pending}")
    lines.append("emgwatch is a monitoring aid, not a medical device.")
    return "\n".join(lines)


def truth_count(truth: list, kind: str) -> int:
    return sum(1 for e in truth if e.kind == kind)


def matched_onsets(
    truth: list, alerts: list[tuple[float, dict]], start_time: float, speed: float
) -> list[float]:
    """For each true alert-kind episode that got an alert: seconds from true onset to arrival.

    Payload times are ``start_time + stream seconds``; wall time of a true onset is
    ``start_time + onset / speed``.
    """
    from datetime import datetime

    starts = []
    for arrived, p in alerts:
        if p["event"] == "start":
            t = datetime.fromisoformat(p["start"].replace("Z", "+00:00")).timestamp() - start_time
            starts.append((arrived, t))
    out = []
    for e in truth:
        if e.kind not in ALERT_KINDS:
            continue
        hits = [arrived for arrived, t in starts if e.start - 1.0 <= t <= e.end]
        if hits:
            out.append(min(hits) - (start_time + e.start / (speed or 1.0)))
    return out
