"""`emgwatch replay FILE --pty`: a recording played by an emulated board on a pseudo-terminal."""

from __future__ import annotations

import argparse
import sys
import threading
import time

from emgwatch.config import Config, arg_seconds, arg_speed

HELP = "stream a recording through a pseudo-terminal as the firmware would (no hardware needed)"
DESCRIPTION = """\
Play a CSV/EDF recording through a new pseudo-terminal that behaves like a board running the
emgwatch firmware: it answers the host's commands and, once the host starts it, streams the
samples as binary frames in real time (or --speed N times faster). The pty's path is the
first line on stdout, so scripts can pick it up:

  PTY=$(emgwatch replay night.edf --pty | head -n1) ...
  emgwatch replay night.edf --pty &          # prints e.g. /dev/pts/7
  emgwatch run --source serial:/dev/pts/7    # the whole live path, without hardware

Stops when the recording has been sent (or on Ctrl-C / SIGTERM). Recordings not in ADC counts
are scaled to the 10-bit range. 'emgwatch run --source replay:FILE --pty' does both in one go.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="CSV or EDF/EDF+ file")
    p.add_argument(
        "--pty",
        action="store_true",
        help="stream through a pseudo-terminal (the only mode; accepted for clarity)",
    )
    p.add_argument(
        "--speed",
        type=arg_speed,
        default=1.0,
        metavar="N",
        help="pace relative to real time (default 1)",
    )
    p.add_argument(
        "--fs", type=float, metavar="HZ", help="sampling rate of a CSV without a time column"
    )
    p.add_argument(
        "--linger",
        type=arg_seconds,
        default=2.0,
        metavar="S",
        help="keep the pty open this long after the last sample (default 2)",
    )


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.live import stop_on_signals
    from emgwatch.pty_server import start_pty_replay

    server = start_pty_replay(args.recording, speed=args.speed, fs=args.fs)
    rec = server.recording
    print(server.path, flush=True)
    print(
        f"replaying {rec.path}: {rec.duration_s:.1f} s, {rec.n_channels} channel(s) at {rec.fs:g} Hz, "
        f"{args.speed:g}x real time, on {server.path} (waiting for a host to start the stream)",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            while not stop.is_set() and not server.finished.is_set():
                stop.wait(0.1)
            if server.finished.is_set():
                time.sleep(max(args.linger, 0.0))
    finally:
        server.stop()
    sent = server.sent / rec.fs
    print(
        f"replay {'finished' if server.finished.is_set() else 'stopped'}: {sent:.1f} s sent",
        file=sys.stderr,
    )
    return 0
