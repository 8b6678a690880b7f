"""`emgwatch run`: live monitoring from a board, the simulator or a replayed recording."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import threading
import time
from dataclasses import replace

from emgwatch.config import Config, arg_name, arg_seed, arg_speed
from emgwatch.domain import CONTEXTS
from emgwatch.errors import UsageError

log = logging.getLogger(__name__)

HELP = "live monitoring: source -> detection -> episode log, EDF+ recording and MQTT alerts"
DESCRIPTION = """\
Monitor live: read the sensor (or the simulator, or a recording replayed in real time), detect
involuntary contractions, store every episode and the raw signal locally and publish alerts over
MQTT. Without arguments the configured source, broker and device id are used
('emgwatch config show'). Ctrl-C or SIGTERM stops cleanly: open episodes are closed, files
flushed, and alerts the broker has not acknowledged stay in the outbox for the next start.

sources:
  serial:PORT | serial:auto     a board running the emgwatch firmware
  sim[:scenario]                the synthetic generator, paced in real time
  replay:FILE                   a CSV/EDF recording, paced in real time (--speed N for faster);
                                with --pty it goes through a pseudo-terminal in the board's frame
                                format, exercising the whole serial path

examples:
  emgwatch run --source serial:auto --broker mqtt://user:pass@homeassistant.local:1883
  emgwatch run --source sim:night --duration 10m --speed 10 --broker mqtt://localhost:1883
  emgwatch run --source replay:night.edf --pty --device-id bedroom
"""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(ms|s|m|min|h)?\s*$")


def parse_duration(text: str) -> float:
    """'90', '90s', '10m', '8h' -> seconds."""
    m = _DURATION.match(text)
    if not m:
        raise UsageError(
            f"--duration {text!r}: expected a number with an optional unit s, m or h (e.g. 90s, 10m, 8h)"
        )
    value = float(m.group(1))
    return value * {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        metavar="SPEC",
        help="serial:PORT|serial:auto|sim[:scenario]|replay:FILE (default: source.spec)",
    )
    p.add_argument(
        "--pty",
        action="store_true",
        help="with replay:FILE, stream it through a pseudo-terminal in the firmware's frame format",
    )
    p.add_argument(
        "--broker",
        metavar="URL",
        help="mqtt://[user:pass@]host:port or mqtts://... (default: mqtt.url)",
    )
    p.add_argument(
        "--no-mqtt", action="store_true", help="do not publish alerts (local logging only)"
    )
    p.add_argument(
        "--device-id",
        type=arg_name,
        metavar="ID",
        help="device id in topics and the episode log (default: device.id)",
    )
    p.add_argument(
        "--context", choices=CONTEXTS, help="detection context (default: detection.context)"
    )
    p.add_argument(
        "--fs",
        type=float,
        metavar="HZ",
        help="sampling rate for sources that do not carry one (text-line serial, CSV without time)",
    )
    p.add_argument(
        "--duration",
        metavar="D",
        help="stop after this much signal (e.g. 90s, 10m, 8h; default: until the source ends or Ctrl-C)",
    )
    p.add_argument(
        "--speed",
        type=arg_speed,
        metavar="N",
        help="sim/replay pace relative to real time (default: source.speed)",
    )
    p.add_argument("--seed", type=arg_seed, help="simulator seed")
    p.add_argument("--no-record", action="store_true", help="do not write the raw signal to EDF+")
    p.add_argument(
        "--outbox",
        metavar="PATH",
        help="alert outbox database (default: <storage.dir>/outbox.sqlite)",
    )


def apply_overrides(args: argparse.Namespace, cfg: Config) -> None:
    if args.broker:
        cfg.mqtt.url = args.broker
    if args.no_mqtt:
        cfg.mqtt.enabled = False
    if args.device_id:
        cfg.device.id = args.device_id
    if args.context:
        cfg.detection.context = args.context
    if args.source:
        cfg.source.spec = args.source
    if args.speed is not None:
        cfg.source.speed = args.speed


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.live import LiveSession, load_detector, open_storage, stop_on_signals
    from emgwatch.source import open_source, source_start_time

    apply_overrides(args, cfg)
    duration_s = parse_duration(args.duration) if args.duration else None
    if cfg.mqtt.enabled:
        from emgwatch.sinks.mqtt import parse_broker_url

        try:  # a typo in the URL is a usage error before anything starts; say where it came from
            parse_broker_url(cfg.mqtt.url)
        except UsageError as e:
            raise UsageError(f"{'--broker' if args.broker else 'mqtt.url'}: {e}") from None
    spec = cfg.source.spec
    pty_server = None
    channel_names = None
    if args.pty:
        if not spec.startswith("replay:"):
            raise UsageError("--pty needs --source replay:FILE")
        from emgwatch.pty_server import start_pty_replay

        pty_server = start_pty_replay(
            spec.partition(":")[2], speed=cfg.source.speed or 1.0, fs=args.fs
        )
        rec_s = pty_server.recording.duration_s
        duration_s = rec_s if duration_s is None else min(duration_s, rec_s)
        spec, channel_names = f"serial:{pty_server.path}", []  # the emulated board's own channels
        print(f"replaying {pty_server.recording.path} through {pty_server.path}", file=sys.stderr)
    stop = threading.Event()
    try:
        source = open_source(
            spec,
            cfg,
            duration_s=duration_s,
            fs=args.fs,
            seed=args.seed,
            channel_names=channel_names,
        )
        source.start()  # a board reports its rate and channels here: the detector needs them
        start_time = source_start_time(source)
        try:
            detector = load_detector(cfg, source, cfg.detection.context)
            mqtt = None
            if cfg.mqtt.enabled:
                from emgwatch.sinks.mqtt import MqttSink

                outbox = args.outbox or cfg.storage_dir / "outbox.sqlite"
                model_version = getattr(detector, "model_version", "")
                mqtt = MqttSink(
                    cfg.mqtt,
                    cfg.device.id,
                    outbox,
                    session_start=start_time,
                    model_version=model_version,
                )
                mqtt.start()
                # usually immediate; a broker that is down is never a reason not to monitor
                mqtt.wait_connected(2.0)
        except BaseException:
            source.stop()
            raise
        episode_log, recorder = open_storage(
            cfg,
            source,
            device_id=cfg.device.id,
            context=cfg.detection.context,
            model_version=getattr(detector, "model_version", ""),
            record=not args.no_record,
        )
        session = LiveSession(
            source,
            detector,
            mqtt=mqtt,
            recorder=recorder,
            episode_log=episode_log,
            metrics_interval_s=cfg.mqtt.metrics_interval_s,
            status_stream=sys.stderr,
            start_time=start_time,
        )
        session.on_event = _print_event(session.status)
        if pty_server is not None:
            threading.Thread(
                target=_stop_after_replay, args=(pty_server, stop), daemon=True
            ).start()
        with stop_on_signals(stop):
            summary = session.run(duration_s=duration_s, stop=stop)
    finally:
        if pty_server is not None:
            pty_server.stop()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts().items())) or "none"
    print(
        f"session ended ({summary.stopped_by}): {summary.stream_s:.1f} s of signal, episodes: {counts}; "
        f"mqtt {summary.mqtt_status}, {summary.alerts_pending} alert(s) waiting in the outbox",
        file=sys.stderr,
    )
    return 0


def _stop_after_replay(pty_server, stop: threading.Event) -> None:  # noqa: ANN001
    """The replay is over once every sample went out and the reader had time to drain the pty."""
    pty_server.finished.wait()
    time.sleep(2.0)
    stop.set()


def _print_event(status):  # noqa: ANN001, ANN202
    """One line per episode start/end on stdout, for people watching."""
    from emgwatch.domain import ALERT_KINDS
    from emgwatch.episodes import announced

    started: set[str] = set()  # ids whose start was printed (a quiet one's start comes once)

    def show(ev, wall):  # noqa: ANN001, ANN202
        ep = ev.episode
        if not announced(ep):  # quiet: said once a series or the second stage keeps it
            return
        if ev.event == "ongoing" and ev.previous == ep.kind:
            return  # outlasted any leg movement, as the kind it alerted as: nothing new
        if ev.event == "announce":  # a quiet episode kept while it lasts: its alert goes out now
            ev = replace(ev, event="start")
        if ev.event == "start":
            if ep.id in started:  # opened and announced in one block: both events say it
                return
            started.add(ep.id)
        elif ev.event == "end":
            started.discard(ep.id)
        tag = "ALERT" if ep.kind in ALERT_KINDS else "log"
        if ev.event == "end" and ep.extra.get("alerted_as") in ALERT_KINDS:
            tag = f"ALERT ({ep.extra['alerted_as']} at start)"
        elif ev.event == "ongoing":  # outlasted any leg movement: what it is so far
            tag = f"(was {ev.previous}, going on)"
        elif ev.event == "update":  # a PLM series decided later what this episode was
            tag = f"(was {ev.previous}" + (
                ", PLM series)" if ep.extra.get("plm_in_series") else ")"
            )
        extra = (
            f" duration {ep.end - ep.start:.1f} s"
            if ev.event in ("end", "update") and ep.end is not None
            else ""
        )
        status.print(
            f"{ev.event:5s} {tag:5s} {ep.kind:9s} {ep.channel:8s} t={ep.start:8.1f}s "
            f"level {ep.level_db:+.1f} dB conf {ep.confidence:.2f}{extra}  id={ep.id}",
            sys.stdout,
        )

    return show
