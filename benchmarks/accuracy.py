"""Accuracy on held-out recordings, and its invariance to gain, sampling rate and sensor type.

Runs the shipped model on the 'test' split of datasets/manifest.json (seeds never used in
training), then on the same test recordings re-rendered at gains 0.1x/1x/10x, at 500/1000/2000 Hz
and as envelope-output sensors, and prints the tables that docs/ACCURACY.md records.

    .venv/bin/python benchmarks/accuracy.py [--json out.json] [--model M] [--conditions NAME ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from emgwatch.commands.evaluate import evaluate_pairs, pooled_score
from emgwatch.domain import ALERT_KINDS
from emgwatch.model import load_model
from emgwatch.scoring import format_report
from emgwatch.synth.datasets import dataset_entries

CONDITIONS = {
    "as drawn (mixed gains, rates, sensors)": {},
    "gain 0.1x": {"gain": 0.1, "sensor": "raw"},
    "gain 1x": {"gain": 1.0, "sensor": "raw"},
    "gain 10x": {"gain": 10.0, "sensor": "raw"},
    "500 Hz": {"fs": 500.0, "sensor": "raw", "gain": 1.0},
    "1000 Hz": {"fs": 1000.0, "sensor": "raw", "gain": 1.0},
    "2000 Hz": {"fs": 2000.0, "sensor": "raw", "gain": 1.0},
    "envelope sensor": {"sensor": "envelope", "gain": 1.0},
}


def row(name: str, rep: dict) -> str:
    k = rep["per_kind"]

    def pct(x):
        return "-" if x is None else f"{100 * x:.0f}%"

    cells = [name]
    for kind in ("spasm", "cramp", "clonus"):
        cells.append(
            f"{pct(k[kind]['sensitivity'])} / {pct(k[kind]['precision'])} (n={k[kind]['n_true']})"
        )
    plm = rep.get("plm", {})
    cells.append(pct(plm.get("movement_sensitivity")))
    ti, di = plm.get("truth_index_per_h"), plm.get("detected_index_per_h")
    cells.append("-" if ti is None else f"{ti:.1f} / {di:.1f}")
    fa = rep["false_alarms"]
    cells.append(f"{fa['total']} ({fa['per_hour']:.2f}/h)")
    lat = rep["latency"]["decision"]
    cells.append("-" if lat["median_s"] is None else f"{lat['median_s']:.2f} / {lat['p95_s']:.2f}")
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", help="write all reports here")
    ap.add_argument("--conditions", nargs="*", help="subset of condition names")
    ap.add_argument("--model", help="window model to measure (default: the shipped one)")
    args = ap.parse_args()
    model = load_model(args.model)
    entries = dataset_entries("test")
    out = {"model_version": model.version, "conditions": {}}
    header = (
        "| condition | spasm sens / prec | cramp sens / prec | clonus sens / prec | PLM movements found | "
        "PLM index truth / detected (/h) | false alarms | decision latency median / p95 (s) |"
    )
    rows = []
    for name, override in CONDITIONS.items():
        if args.conditions and name not in args.conditions:
            continue
        t0 = time.perf_counter()
        pairs = (dataclasses.replace(e, **override).simulate() for e in entries)
        records = evaluate_pairs(pairs, model=model, context=None)
        rep = pooled_score(records)
        out["conditions"][name] = rep
        rows.append(row(name, rep))
        print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if not override:
            print(format_report(rep))
            by = {}
            for r in records:
                by.setdefault(r["context"], []).append(r)
            out["by_context"] = {}
            for ctx, rs in by.items():
                sub = pooled_score(rs)
                out["by_context"][ctx] = sub
                fa = sub["false_alarms"]
                print(
                    f"context {ctx}: {sum(x['duration_s'] for x in rs) / 3600:.2f} h, "
                    f"false alarms {fa['total']} ({fa['per_hour']:.2f}/h)",
                    file=sys.stderr,
                )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    print("\n".join(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=str)
    assert set(ALERT_KINDS) >= {"spasm", "cramp", "clonus", "plm"}
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
