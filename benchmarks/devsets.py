"""Where detector choices are made: the validation split plus development sets in no split.

Thresholds and rules are chosen here, never on the test split (docs/ACCURACY.md). Besides the
`validation` split of datasets/manifest.json, development sets are generated on the fly
with seeds that no split uses, because the validation split holds little of what the
`sleep` and `exercise` contexts decide on:

- ``dev-nights``: 7 one-hour nights (seeds 910001-910007, 1 kHz, gain 1, raw ADC);
- ``dev-exercise``: 8 half-hour exercise sessions (seeds 920001-920008) at gains 0.2-5x,
  500-2000 Hz, raw and envelope sensors;
- ``dev-exercise-dense``: the same conditions (seeds 930001-930008) with cramps, spasms and
  clonus several times an hour, so that what the exercise context finds can be measured;
- ``dev-nights-gain``: 6 one-hour nights (seeds 950001-950006) at gains 10x, 0.1x and 5x, where
  clipping and quantisation decide;
- ``dev-envelope``: 8 half-hour envelope-board recordings (seeds 940001-940008; nights and mixed
  days, ADC counts and mV, gains 0.5-3x), boards from 0 V offset up;
- ``dev-envelope-nights``: 6 one-hour envelope-board nights (seeds 960001-960006, ADC counts,
  gain 3x, 512 and 1000 Hz), where turnovers are the hard case;
- ``dev-ecg``: 6 half-hour days (seeds 970001-970006, `daily` and `mixed`, gains 0.5-3x,
  500-2000 Hz) whose channel picks up ECG with QRS complexes of 30, 100 or 300 µV for minutes
  at a time, as trunk, shoulder and thigh channels do;
- ``crossgen``: the outside simulators' recordings, when ``--crossgen DIR`` names a directory
  made by ``benchmarks/crossgen.py --keep DIR`` (a check after a choice, not a place to make it).

Each set is scored per context (the one a user would pick: sleep at night, exercise, auto
otherwise). ``--param CONTEXT.FIELD=VALUE`` overrides one tracker threshold
(``emgwatch.episodes.TrackerParams``) to measure a candidate choice, e.g.

    .venv/bin/python benchmarks/devsets.py
    .venv/bin/python benchmarks/devsets.py --sets dev-nights --param sleep.reject_at=0.3 --false-alarms
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from emgwatch.synth.datasets import DatasetEntry, dataset_entries

SETS = (
    "validation",
    "dev-nights",
    "dev-nights-gain",
    "dev-exercise",
    "dev-exercise-dense",
    "dev-envelope",
    "dev-envelope-nights",
    "dev-ecg",
    "crossgen",
)
DEV_NIGHT_SEEDS = range(910001, 910008)
DEV_EXERCISE_SEEDS = range(920001, 920009)
DEV_DENSE_SEEDS = range(930001, 930009)
DEV_ENVELOPE_SEEDS = range(940001, 940009)
DEV_NIGHT_GAIN_SEEDS = range(950001, 950007)
DEV_ENVELOPE_NIGHT_SEEDS = range(960001, 960007)
DEV_ECG_SEEDS = range(970001, 970007)
# (scenario, gain, fs, QRS amplitude in µV) cycled over the ECG recordings
DEV_ECG_CONDITIONS = (
    ("daily", 1.0, 1000.0, 30.0),
    ("mixed", 3.0, 500.0, 100.0),
    ("daily", 0.5, 2000.0, 300.0),
)
# nights at the gains the targets name beyond 1x: clipping at 10x, quantisation at 0.1x
DEV_NIGHT_GAINS = (10.0, 0.1, 5.0)
# the exercise scenario draws ~1 cramp per hour: too few to measure what the context finds
DEV_DENSE_RATES = {"cramp_per_h": 6.0, "spasm_per_h": 3.0, "clonus_per_h": 2.0}
# (gain, sensor, fs) cycled over the exercise sessions: the conditions the targets name
DEV_EXERCISE_CONDITIONS = (
    (1.0, "raw", 1000.0),
    (0.2, "raw", 2000.0),
    (5.0, "raw", 500.0),
    (1.0, "envelope", 1000.0),
)
# (scenario, gain, fs, units) cycled over envelope-board recordings: offsets from about 0 V up
DEV_ENVELOPE_CONDITIONS = (
    ("night", 1.0, 1000.0, "adc"),
    ("mixed", 3.0, 500.0, "adc"),
    ("night", 0.5, 2000.0, "mV"),
    ("mixed", 1.0, 1000.0, "mV"),
)


def _entry(
    name: str,
    scenario: str,
    seed: int,
    duration_s: float,
    gain,
    sensor,
    fs,
    params=None,
    units="adc",
):
    return DatasetEntry(
        name=name,
        split="dev",
        scenario=scenario,
        duration_s=duration_s,
        fs=fs,
        seed=seed,
        gain=gain,
        sensor=sensor,
        units=units,
        mains_hz=50.0,
        channels=1,
        params=dict(params or {}),
    )


def items(name: str, crossgen: Path | None) -> list[tuple[str, object]]:
    """What to evaluate for one set: ("entry", DatasetEntry) or ("file", path)."""
    if name == "validation":
        return [("entry", e) for e in dataset_entries("validation")]
    if name == "dev-nights":
        return [
            ("entry", _entry(f"dev-night-{s}", "night", s, 3600.0, 1.0, "raw", 1000.0))
            for s in DEV_NIGHT_SEEDS
        ]
    if name == "dev-nights-gain":
        return [
            (
                "entry",
                _entry(
                    f"dev-night-gain-{s}",
                    "night",
                    s,
                    3600.0,
                    DEV_NIGHT_GAINS[i % len(DEV_NIGHT_GAINS)],
                    "raw",
                    1000.0,
                ),
            )
            for i, s in enumerate(DEV_NIGHT_GAIN_SEEDS)
        ]
    if name == "dev-exercise":
        return [
            (
                "entry",
                _entry(
                    f"dev-exercise-{s}",
                    "exercise",
                    s,
                    1800.0,
                    *DEV_EXERCISE_CONDITIONS[i % len(DEV_EXERCISE_CONDITIONS)],
                ),
            )
            for i, s in enumerate(DEV_EXERCISE_SEEDS)
        ]
    if name == "dev-exercise-dense":
        return [
            (
                "entry",
                _entry(
                    f"dev-exercise-dense-{s}",
                    "exercise",
                    s,
                    1800.0,
                    *DEV_EXERCISE_CONDITIONS[i % len(DEV_EXERCISE_CONDITIONS)],
                    DEV_DENSE_RATES,
                ),
            )
            for i, s in enumerate(DEV_DENSE_SEEDS)
        ]
    if name == "dev-envelope":
        out = []
        for i, s in enumerate(DEV_ENVELOPE_SEEDS):
            scenario, gain, fs, units = DEV_ENVELOPE_CONDITIONS[i % len(DEV_ENVELOPE_CONDITIONS)]
            e = _entry(f"dev-envelope-{s}", scenario, s, 1800.0, gain, "envelope", fs, units=units)
            out.append(("entry", e))
        return out
    if name == "dev-envelope-nights":  # envelope ADC nights at gain 3, 512 and 1000 Hz
        return [
            ("entry", _entry(f"dev-envelope-night-{s}", "night", s, 3600.0, 3.0, "envelope", fs))
            for s, fs in zip(DEV_ENVELOPE_NIGHT_SEEDS, (512.0, 1000.0) * 3, strict=True)
        ]
    if name == "dev-ecg":
        out = []
        for i, s in enumerate(DEV_ECG_SEEDS):
            scenario, gain, fs, qrs_uv = DEV_ECG_CONDITIONS[i % len(DEV_ECG_CONDITIONS)]
            # ECG comes and goes, so the noise floor is also measured without it (as on the
            # outside simulators): beats then stand 20-30 dB above it
            params = {"ecg": True, "ecg_uv": qrs_uv, "ecg_intermittent": True}
            e = _entry(f"dev-ecg-{s}", scenario, s, 1800.0, gain, "raw", fs, params)
            out.append(("entry", e))
        return out
    if name == "crossgen":
        if crossgen is None:
            return []
        out = []
        for suite in sorted(p for p in crossgen.iterdir() if (p / "suite.json").exists()):
            recs = json.loads((suite / "suite.json").read_text())["recordings"]
            out += [("file", str(suite / r["file"])) for r in recs]
        return out
    raise SystemExit(f"devsets: unknown set '{name}' (one of {', '.join(SETS)})")


def _apply_params(params: list[str]) -> None:
    from emgwatch import episodes

    for spec in params:
        key, _, value = spec.partition("=")
        ctx, _, field = key.partition(".")
        if ctx not in episodes.CONTEXT_PARAMS or not value:
            raise SystemExit(f"devsets: --param {spec}: expected CONTEXT.FIELD=VALUE")
        base = episodes.CONTEXT_PARAMS[ctx]
        if field not in {f.name for f in dataclasses.fields(base)}:
            raise SystemExit(f"devsets: --param {spec}: TrackerParams has no field '{field}'")
        episodes.CONTEXT_PARAMS[ctx] = dataclasses.replace(base, **{field: json.loads(value)})


def _evaluate(job: tuple[tuple[str, object], list[str], str | None, str | None]) -> dict:
    (kind, what), params, model, context = job
    logging.disable(logging.WARNING)
    _apply_params(params)
    from emgwatch.commands.evaluate import evaluate_pairs
    from emgwatch.model import load_model

    if kind == "entry":
        pair = what.simulate()
    else:
        from emgwatch.synth.outside import read_pair

        pair = read_pair(Path(what), known_sensor=False)  # detected, as crossgen.py's runs
    (rec,) = evaluate_pairs([pair], model=load_model(model), context=context)
    rec["name"] = getattr(what, "name", None) or Path(str(what)).name
    return rec


def _false_alarms(records: list[dict]) -> list[str]:
    from emgwatch.domain import ALERT_KINDS

    def as_dict(x):
        return x if isinstance(x, dict) else {**x.__dict__, **getattr(x, "extra", {})}

    lines = []
    for r in records:
        truth = [as_dict(t) for t in r["truth"]]
        for e in map(as_dict, r["detected"]):
            if e["kind"] not in ALERT_KINDS:
                continue
            over = [
                t
                for t in truth
                if min(e["end"], t["end"]) > max(e["start"], t["start"])
                and t.get("channel") in (None, "", "all", e["channel"])
            ]
            if any(t["kind"] in ALERT_KINDS for t in over):
                continue
            fell_on = ", ".join(sorted({t["kind"] for t in over})) or "nothing"
            lines.append(
                f"  {r['name']} {r['context']} {e['kind']} at {e['start']:.1f} s for "
                f"{e['end'] - e['start']:.1f} s, confidence {e['confidence']:.2f} "
                f"(alerted as {e.get('alerted_as', e['kind'])}), fell on {fell_on}"
            )
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sets", nargs="*", default=list(SETS[:3]), help=f"of {', '.join(SETS)}")
    ap.add_argument("--crossgen", type=Path, help="directory from crossgen.py --keep")
    ap.add_argument("--param", action="append", default=[], help="CONTEXT.FIELD=VALUE")
    ap.add_argument("--false-alarms", action="store_true", help="list every false alarm")
    ap.add_argument("--model", help="window model to measure (default: the shipped one)")
    ap.add_argument("--json", help="write the pooled reports here")
    ap.add_argument(
        "--context",
        choices=("auto", "sleep", "exercise"),
        help="score every recording in this context (default: the one a user would pick); "
        "'auto' is what detect does unless told",
    )
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    _apply_params(args.param)  # fail early on a bad --param
    from emgwatch.commands.evaluate import pooled_score

    out: dict = {"params": args.param, "sets": {}}
    for name in args.sets:
        jobs = [(it, args.param, args.model, args.context) for it in items(name, args.crossgen)]
        if not jobs:
            print(f"{name}: nothing to evaluate", file=sys.stderr)
            continue
        with ProcessPoolExecutor(args.jobs) as ex:
            records = list(ex.map(_evaluate, jobs))
        by: dict[str, list[dict]] = {}
        for r in records:
            by.setdefault(r["context"], []).append(r)
        for ctx, rs in sorted(by.items()):
            rep = pooled_score(rs)
            out["sets"][f"{name}/{ctx}"] = rep
            a, fa, k = rep["all_alert"], rep["false_alarms"], rep["per_kind"]

            def pct(x):
                return "-" if x is None else f"{100 * x:.0f}%"

            plm = rep.get("plm", {})
            kinds = " ".join(
                f"{n} {k[n]['found']}/{k[n]['n_true']}" for n in ("spasm", "cramp", "clonus", "plm")
            )
            kinds += f"; right kind {pct(a['correct_kind_sensitivity'])}"
            hours = sum(x["duration_s"] for x in rs) / 3600

            ti, di = plm.get("truth_index_per_h"), plm.get("detected_index_per_h")
            index = "" if not ti else f", PLM index {di:.1f} vs {ti:.1f}/h"
            print(
                f"{name:12s} {ctx:8s} {hours:5.1f} h: found {pct(a['sensitivity'])}, "
                f"precision {pct(a['precision'])}, false alarms {fa['total']} "
                f"({fa['per_hour']:.2f}/h); {kinds}{index}"
            )
            if args.false_alarms:
                print("\n".join(_false_alarms(rs)))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
