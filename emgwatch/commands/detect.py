from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TextIO

from emgwatch.annotation_files import add_argument as add_annotations_argument
from emgwatch.config import Config
from emgwatch.domain import ALERT_KINDS, CONTEXTS, SENSORS, fs_out_of_range, sensor_to_read
from emgwatch.errors import EmgwatchError, UsageError
from emgwatch.outfile import check_output, written_when_done

HELP = "find episodes in a CSV or EDF recording; one JSON line per episode"
DESCRIPTION = """\
Find involuntary-contraction episodes in a recording and print one line per episode.

Reads CSV (header optional; a time column named time/time_s/t gives the rate, else pass --fs)
or EDF/EDF+, at any gain and any sampling rate from 500 to 4000 Hz (200-500 Hz, the leg EMG of
sleep studies, with a warning: the muscle's upper band is missing), raw EMG (ADC counts, V, mV,
uV) or the rectified envelope of MyoWare-style sensors (detected automatically; --sensor forces).
It runs the same causal pipeline as a live 'emgwatch run', so what it prints is what a live
monitor would have flagged.

Output (JSON lines, by default only alerting kinds: spasm, cramp, clonus, plm):
  {"start": 12.35, "end": 18.2, "kind": "spasm", "confidence": 0.91, "channel": "ch1",
   "level_db": 24.0, "id": "...", ...}
start/end are seconds from the recording start. A leg movement is printed as "plm" only when it
belongs to a PLM series (4 or more, 10-90 s apart: "periodic"; each line then carries
plm_index_per_h, per hour of recording, and when the recording's annotations hold a
hypnogram with sleep in it, plm_index_per_h_sleep: members that began in sleep per hour of
sleep), in every context; without --context sleep the series must also keep a steady
pace, with the leg at rest between its movements (at most one other episode in a gap); there a
brief movement on a leg that was active in at most 10 % of the last 5 minutes ("spasm" or
voluntary-looking) can be a leg movement of a series, as in bed (printed as "plm", with
"alerted_as" when it alerted as something else). On a channel
whose activity looked voluntary in at least 10 % of the 5 minutes before an episode (daily
activity, a workout) a doubtful alert is withdrawn sooner, as with --context exercise. --all
also prints voluntary episodes (withdrawn alerts among them, with "alerted_as") and isolated
leg movements.

Signal problems that last more than 1 % of the recording (lead-off or a flat line, clipping,
mains hum, gaps) are reported on stderr, one warning per channel and problem: nothing can be
found where the signal is unusable, and an empty output must not read as "no spasms". Clipped
signal is still searched (a contraction that rails the ADC is a strong one), but its levels
read low: lower the gain.

examples:
  emgwatch detect night.edf
  emgwatch detect arduino.csv --fs 1000 --context sleep
  emgwatch detect session.csv --channel calf --format csv -o episodes.csv
  emgwatch detect mesa-sleep-0001.edf --annotations mesa-sleep-0001-nsrr.xml --context sleep
                             a sleep study scored in a file of its own: PLM index per h of sleep
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="CSV or EDF/EDF+ file")
    p.add_argument("--fs", type=float, help="sampling rate in Hz (CSV without a time column)")
    p.add_argument(
        "--context", choices=CONTEXTS, help="sleep | exercise | auto (default: config, auto)"
    )
    p.add_argument("--model", help="model file (.skops; default: the shipped model)")
    p.add_argument("--channel", help="only this channel (name or 1-based number)")
    p.add_argument(
        "--sensor", choices=[*SENSORS, "auto"], help="sensor output type (default: auto)"
    )
    p.add_argument(
        "--format", choices=["jsonl", "csv"], default="jsonl", help="output format (default jsonl)"
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="also print voluntary episodes and isolated (not periodic) leg movements",
    )
    add_annotations_argument(p)
    p.add_argument("-o", "--output", help="write to this file instead of stdout")


FIELDS = ("start", "end", "kind", "confidence", "channel", "level_db", "id")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.annotation_files import with_annotation_file
    from emgwatch.detector import detect_recording
    from emgwatch.episodes import params_for
    from emgwatch.model import load_model
    from emgwatch.recording import read_recording

    if args.fs is not None and (problem := fs_out_of_range(args.fs)) is not None:
        raise UsageError(f"--fs {args.fs:g}: {problem}")  # before reading a long file
    to_file = args.output not in (None, "", "-")  # "-" is standard output, as for most tools
    reading = (args.recording, *([args.annotations] if args.annotations else []))
    out_path = check_output(args.output, reading=reading) if to_file else None
    rec = read_recording(args.recording, fs=args.fs, channel=args.channel)
    rec = with_annotation_file(rec, args.annotations)
    model = load_model(args.model or cfg.detection.model or None)
    sensor = sensor_to_read(rec.sensor, args.sensor or cfg.detection.sensor)
    quality: list = []
    read_as: list[str] = []
    context = args.context or cfg.detection.context
    episodes = detect_recording(
        rec,
        context=context,
        params=params_for(context, cfg.detection.alerts),  # detected_at as a live run's
        model=model,
        sensor=sensor,
        progress=sys.stderr.isatty(),
        isolated_plm=args.all,
        quality_events=quality,
        sensors=read_as,
    )
    guessed = dict(zip(rec.channel_names, read_as, strict=False)) if sensor == "auto" else {}
    _warn_quality(args.recording, quality, rec.duration_s, guessed)
    if not args.all:
        episodes = [e for e in episodes if e.kind in ALERT_KINDS]
    if out_path is None:
        if sys.stdout is None:  # started with standard output closed
            raise EmgwatchError("standard output is closed; name a file with -o")
        _write(sys.stdout, episodes, args.format)
    else:
        with written_when_done(out_path, newline="") as out:
            _write(out, episodes, args.format)
    return 0


def _write(out: TextIO, episodes: list, fmt: str) -> None:
    if fmt == "jsonl":
        for e in episodes:
            d = e.to_dict()
            d["start"], d["end"] = round(d["start"], 3), round(d["end"], 3)
            out.write(
                json.dumps(
                    {k: d[k] for k in FIELDS} | {k: v for k, v in d.items() if k not in FIELDS}
                )
                + "\n"
            )
    else:
        w = csv.writer(out)
        w.writerow(FIELDS)
        for e in episodes:
            d = e.to_dict()
            w.writerow([round(d[k], 3) if k in ("start", "end") else d[k] for k in FIELDS])


# An envelope output has nothing above ~10 Hz, so there "mains" is any content above 20 Hz: hum
# or a floating input, or a raw output whose first seconds (baseline wander, a movement) looked
# like an envelope's when the type was detected
_MISREAD_ENVELOPE = (
    "; the channel was read as an envelope output, detected from its first seconds: if it is a"
    " raw EMG output, pass --sensor raw"
)
QUALITY_WARN_FRACTION = 0.01  # conditions holding longer than this share of a recording are told


def _warn_quality(
    path: str, events: list, duration_s: float, guessed: dict[str, str] | None = None
) -> None:
    """One stderr line per channel and condition that held for a noticeable time: a flat
    channel finds nothing there, and silence must not read as "no spasms". ``guessed``: the
    sensor type of each channel whose type was detected from the signal, not given."""
    from emgwatch.quality import BLOCKS_DETECTION, FLAG_MEANINGS, FLAG_NAMES, time_affected

    searched = {name for bit, name in FLAG_NAMES.items() if not bit & BLOCKS_DETECTION}
    for (ch, kind), (secs, first) in sorted(time_affected(events, duration_s).items()):
        if duration_s > 0 and secs >= QUALITY_WARN_FRACTION * duration_s:
            print(
                f"emgwatch detect: warning: {path}: channel {ch}: {kind}, "
                f"{FLAG_MEANINGS.get(kind, kind)}, for {secs:.0f} s "
                f"({100 * secs / duration_s:.0f}% of the recording, first at {first:.1f} s); "
                + (
                    "episodes there are still detected, but their levels read low"
                    if kind in searched
                    else "episodes there cannot be detected"
                )
                + (
                    _MISREAD_ENVELOPE
                    if kind == "mains" and (guessed or {}).get(ch) == "envelope"
                    else ""
                ),
                file=sys.stderr,
            )
