"""Benchmark: an 8-hour single-channel 1 kHz night, generated and written to EDF+.

Target (issue 4): under 20 s with bounded memory. Each case runs in a fresh subprocess so the
peak RSS (ru_maxrss) is that case's own. Usage:

    .venv/bin/python benchmarks/bench_synth.py            # all cases
    .venv/bin/python benchmarks/bench_synth.py --quick    # 1-hour night only
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time

CASE = r"""
import json, resource, sys, time, tempfile, os
from emgwatch.synth import stream
from emgwatch.synth.output import write_stream
from emgwatch.truth import save_truth
scenario, hours, fs, ch, mode = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
s = stream(scenario, hours * 3600, fs, 1, channels=ch)
t_plan = time.perf_counter() - t0
n = 0
with tempfile.TemporaryDirectory() as d:
    if mode == "edf":
        write_stream(os.path.join(d, "x.edf"), s)
        save_truth(os.path.join(d, "x.truth.json"), s.truth)
        size = os.path.getsize(os.path.join(d, "x.edf"))
    else:
        for c in s.chunks(int(fs)):
            n += len(c)
        size = 0
total = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"plan_s": t_plan, "total_s": total, "peak_rss_mb": peak / 1024,
                  "import_rss_mb": base / 1024, "episodes": len(s.truth.episodes), "bytes": size}))
"""


def run_case(scenario: str, hours: float, fs: float, ch: int, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CASE, scenario, str(hours), str(fs), str(ch), mode],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    cases = [("night", 1, 1000, 1, "edf")]
    if not args.quick:
        cases = [
            ("night", 8, 1000, 1, "edf"),
            ("night", 8, 1000, 1, "chunks"),
            ("night", 1, 1000, 1, "edf"),
            ("night", 1, 4000, 2, "edf"),
            ("mixed", 1, 1000, 1, "edf"),
        ]
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()} python {platform.python_version()}"
    )
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        "| scenario | hours | fs | ch | output | plan s | total s | RSS after imports MB "
        "| peak RSS MB | episodes | file MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for sc, h, fs, ch, mode in cases:
        r = run_case(sc, h, fs, ch, mode)
        print(
            f"| {sc} | {h} | {fs} | {ch} | {mode} | {r['plan_s']:.2f} | {r['total_s']:.2f} | "
            f"{r['import_rss_mb']:.0f} | {r['peak_rss_mb']:.0f} | {r['episodes']} | {r['bytes'] / 1e6:.1f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        sys.exit(main())
