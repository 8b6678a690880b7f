"""Accuracy on recordings from two simulators that emgwatch did not write.

``benchmarks/crossgen/indepsim.py`` and ``benchmarks/crossgen/thirdsim.py`` were each written from
``DOMAIN.md`` alone, by someone who had not read emgwatch's generator, detector or each other
(motor-unit spike trains in one, STFT-shaped noise with a Shwedyk spectrum in the other; their
own episode statistics, artifacts, envelope smoothing and labelling conventions). Nothing is
trained or tuned on them: they answer "does it generalise beyond our own generator's habits?".
Each writes a fixed suite (CSV/EDF files with emgwatch truth JSON beside them); this script
generates both into a temporary directory, runs ``emgwatch evaluate`` on every recording with
the context a user would choose (sleep at night, exercise, auto otherwise) and prints one
summary line per suite and per recording.

    .venv/bin/python benchmarks/crossgen.py [--json out.json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent / "crossgen"
SUITES = {
    "indepsim (motor-unit model)": ("indepsim.py", ["suite", "--seed0", "1000"]),
    "thirdsim (shaped-noise model)": ("thirdsim.py", ["suite", "--seed0", "1"]),
}


def line(name: str, rep: dict) -> str:
    a, fa, k = rep["all_alert"], rep["false_alarms"], rep["per_kind"]

    def pct(x):
        return "-" if x is None else f"{100 * x:.0f}%"

    kinds = " ".join(
        f"{n}: {k[n]['found']}/{k[n]['n_true']}" for n in ("spasm", "cramp", "clonus", "plm")
    )
    return (
        f"| {name} | {rep['duration_s'] / 3600:.1f} h | {pct(a['sensitivity'])} | {pct(a['precision'])} | "
        f"{fa['total']} ({fa['per_hour']:.1f}/h) | {kinds} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", help="write both reports here")
    ap.add_argument("--keep", help="generate into this directory and keep the recordings")
    ap.add_argument("--model", help="model file (default: the shipped model)")
    args = ap.parse_args()
    if args.keep:
        return run(Path(args.keep), args)
    with tempfile.TemporaryDirectory(prefix="emgwatch-crossgen-") as tmp:  # ~1.4 GB of recordings
        return run(Path(tmp), args)


def run(root: Path, args: argparse.Namespace) -> int:
    out: dict = {}
    rows = []
    for name, (script, gen_args) in SUITES.items():
        d = root / script.removesuffix(".py")
        d.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if not (d / "suite.json").exists():
            subprocess.run(
                [sys.executable, str(HERE / script), *gen_args, "--out", str(d)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        files = [
            str(d / r["file"]) for r in json.loads((d / "suite.json").read_text())["recordings"]
        ]
        rep_path = d / "report.json"
        cmd = [
            sys.executable,
            "-m",
            "emgwatch",
            "evaluate",
            *files,
            "--by",
            "recording",
            "--json",
            str(rep_path),
        ]
        if args.model:
            cmd += ["--model", args.model]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        rep = json.loads(rep_path.read_text())
        out[name] = rep
        rows.append(line(f"**{name}**", rep))
        rows += [line(f"{name.split()[0]} / {rec}", r) for rec, r in rep["groups"].items()]
        print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(
        "| suite / recording | time | alert episodes found | precision | false alarms | found per kind |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
