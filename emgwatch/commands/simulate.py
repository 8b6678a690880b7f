"""`emgwatch simulate`: write a synthetic recording, its ground truth and optionally a plot."""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import time
from pathlib import Path

from emgwatch.config import Config, arg_seed
from emgwatch.domain import FS_DEFAULT_HZ, FS_FULL_BAND_HZ, FS_MAX_HZ, SENSORS
from emgwatch.errors import UsageError

log = logging.getLogger(__name__)

HELP = "generate synthetic surface EMG with ground truth (scenarios night, exercise, daily, mixed)"
DESCRIPTION = """\
Generate a synthetic surface-EMG recording with its ground truth: episodes (spasm, cramp,
clonus, plm) among look-alikes (voluntary, turnover, posture, twitch) and artifacts.

Output format from the extension: .edf (EDF+ with the truth as annotations) or .csv (time
column + channels, annotations in <stem>.annotations.csv). The truth JSON goes to
<stem>.truth.json unless --truth says otherwise.

Units: by default 10-bit ADC counts (0-1023; raw biased to mid-rail, envelope just above 0),
quantised and clipped like an Arduino; --no-adc gives microvolts (times --gain).

examples:
  emgwatch simulate --scenario night --duration 8h --fs 1000 --seed 1 -o night.edf
  emgwatch simulate --scenario exercise --duration 10m -o ex.csv --plot ex.png
  emgwatch simulate --scenario daily --duration 30m --channels 3 --mains 60 --param spasm_per_h=10 -o d.edf
"""

ARTIFACT_FLAGS = {
    "ecg": "ecg",
    "wander": "wander",
    "motion": "motion_artifacts",
    "pops": "pops",
    "lead_off": "lead_off",
}
_UNITS_S = {"ms": 1e-3, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """'90s', '10m', '8h', '1h30m', '2.5h' or plain seconds -> seconds."""
    t = text.strip().lower().replace(" ", "")
    try:
        value = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise UsageError(f"cannot read duration {text!r} (use e.g. 90s, 10m, 8h, 1h30m)")
        return value
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|sec|min|s|m|h|d)", t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise UsageError(f"cannot read duration {text!r} (use e.g. 90s, 10m, 8h, 1h30m)")
    return sum(float(n) * _UNITS_S[u] for n, u in parts)


def parse_channels(text: str) -> int | list[str]:
    t = text.strip()
    if t.isdigit():
        return int(t)
    return [c.strip() for c in t.split(",")]


def parse_params(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
            if not math.isfinite(out[key.strip()]):
                raise ValueError
        except ValueError:
            raise UsageError(
                f"--param expects NAME=NUMBER (e.g. spasm_per_h=4), got {item!r}"
            ) from None
        # a rate far beyond any scenario's would only fill the recording (or never finish)
        if key.strip().endswith("_per_h") and not 0 <= out[key.strip()] <= MAX_RATE_PER_H:
            raise UsageError(f"--param {item}: a rate per hour must be 0-{MAX_RATE_PER_H:g}")
    return out


MAX_RATE_PER_H = 600.0  # one every 6 s; beyond, the recording is only that


def add_arguments(p: argparse.ArgumentParser) -> None:
    from emgwatch.synth.scenarios import SCENARIOS

    p.add_argument(
        "--scenario",
        default="night",
        metavar="NAME",
        help=f"one of {', '.join(SCENARIOS)} (default night)",
    )
    p.add_argument("--duration", default="10m", help="length: 90s, 10m, 8h, 1h30m (default 10m)")
    p.add_argument(
        "--fs",
        type=float,
        default=FS_DEFAULT_HZ,
        help=f"sampling rate in Hz, {FS_FULL_BAND_HZ:g}-{FS_MAX_HZ:g} (default %(default)g)",
    )
    p.add_argument(
        "--seed",
        type=arg_seed,
        default=0,
        help="random seed; same seed, same recording (default 0)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="recording to write (.edf or .csv)")
    p.add_argument(
        "--truth",
        metavar="PATH",
        help="ground-truth JSON (default: <stem>.truth.json beside the output)",
    )
    p.add_argument(
        "--channels", default="1", help="number of channels or comma-separated names (default 1)"
    )
    p.add_argument(
        "--mains",
        type=float,
        default=50.0,
        help="mains interference 50, 60 or 0 for none (default 50)",
    )
    p.add_argument(
        "--gain",
        type=float,
        default=1.0,
        help="amplifier gain multiplier before the ADC, 0.1-10 typical (default 1)",
    )
    p.add_argument(
        "--sensor",
        choices=SENSORS,
        default="raw",
        help="raw EMG or a MyoWare-style rectified envelope",
    )
    p.add_argument(
        "--adc",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="10-bit ADC counts (default) or, with --no-adc, microvolts",
    )
    p.add_argument(
        "--units",
        choices=("adc", "uV", "mV", "V"),
        help="output units: adc (default; same as --adc), or uV/mV/V floats (implies --no-adc)",
    )
    p.add_argument(
        "--no-artifact",
        action="append",
        default=[],
        choices=sorted(ARTIFACT_FLAGS),
        metavar="KIND",
        help=f"switch an artifact off (repeatable): {', '.join(sorted(ARTIFACT_FLAGS))}; --mains 0 for mains",
    )
    p.add_argument("--ecg", action="store_true", help="force ECG contamination on every channel")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=X",
        help="fix a rate per hour, e.g. spasm_per_h=4 (repeatable)",
    )
    p.add_argument(
        "--kinds",
        metavar="K,K",
        help="only these episode kinds, e.g. plm,turnover (default: all the scenario has)",
    )
    p.add_argument(
        "--plot", metavar="PNG", help="also write a picture of signal, envelope and episodes"
    )
    p.add_argument("--plot-start", default="0s", help="plot window start (default 0s)")
    p.add_argument(
        "--plot-duration", default=None, help="plot window length (default: the whole recording)"
    )


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.synth import stream
    from emgwatch.synth.output import truth_path_for, write_stream
    from emgwatch.truth import save_truth

    if not args.output and not args.plot:
        raise UsageError("nothing to do: give -o FILE (.edf or .csv) and/or --plot PNG")
    if args.output and Path(args.output).suffix.lower() not in (".edf", ".csv", ".tsv", ".txt"):
        raise UsageError(f"{args.output}: unknown output format (use .edf or .csv)")
    duration = parse_duration(args.duration)
    params: dict = dict(
        channels=parse_channels(args.channels),
        mains_hz=args.mains,
        gain=args.gain,
        sensor=args.sensor,
        adc=args.adc,
        units=args.units,
        **parse_params(args.param),
    )
    if args.kinds:
        params["kinds"] = [k.strip() for k in args.kinds.split(",") if k.strip()]
    for kind in args.no_artifact:
        params[ARTIFACT_FLAGS[kind]] = False
    if args.ecg:
        if "ecg" in args.no_artifact:
            raise UsageError("--ecg and --no-artifact ecg contradict each other")
        params["ecg"] = True
    s = stream(args.scenario, duration, args.fs, args.seed, **params)
    t0 = time.perf_counter()
    if args.output:
        from emgwatch.outfile import check_output
        from emgwatch.recording import annotations_sidecar

        out = check_output(args.output)
        truth_path = check_output(args.truth) if args.truth else truth_path_for(out)
        if truth_path.resolve() in (out.resolve(), annotations_sidecar(out).resolve()):
            raise UsageError(f"{truth_path}: the truth file would overwrite the recording's files")
        write_stream(out, s, _progress(duration))
        save_truth(truth_path, s.truth)
        print(
            f"wrote {out} ({s.duration_s:g} s, {s.fs:g} Hz, {len(s.channel_names)} ch, {s.units}) "
            f"and {truth_path}: {_summary(s.truth)} in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
    elif args.truth:
        save_truth(args.truth, s.truth)
    if args.plot:
        from emgwatch.synth.plot import plot_stream

        start = parse_duration(args.plot_start)
        length = parse_duration(args.plot_duration) if args.plot_duration else None
        try:
            plot_stream(args.plot, s, start_s=start, duration_s=length)
        except ValueError as e:
            raise UsageError(f"--plot: {e}") from None
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0


def _summary(truth) -> str:
    from collections import Counter

    c = Counter(e.kind for e in truth.episodes)
    return ", ".join(f"{n} {k}" for k, n in sorted(c.items())) or "no episodes"


def _progress(duration_s: float):
    """Progress on stderr for long runs (an hour of signal or more)."""
    if duration_s < 3600:
        return None
    state = {"next": 0.1}

    def report(frac: float) -> None:
        if frac >= state["next"] or frac >= 1.0:
            print(f"simulate: {min(frac, 1.0) * 100:3.0f}%", file=sys.stderr, flush=True)
            while state["next"] <= frac:
                state["next"] += 0.1

    return report
