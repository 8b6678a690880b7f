"""Benchmark: emgwatch's filters + features against NeuroKit2 and BioSPPy on the same signals.

Targets (issue 5): an 8-hour single-channel 1 kHz night at >= 5,000x real time (< 6 s) with
peak memory < 500 MB, >= 50x faster than NeuroKit2 ``emg_process`` and >= 5x faster than BioSPPy
``signals.emg.emg``; live 1 kHz in 50 ms blocks under 1 % of one core per channel; memory flat
while streaming.

The signals are generated once (``emgwatch.synth``, scenario "night", ADC counts) and saved as
.npy; every case then runs in a fresh subprocess that loads the signal, so its time and memory
are its own. "Peak memory" is the highest RSS sampled every 5 ms while the tool runs, minus the
RSS just before it starts (the loaded input and the imports are not counted). Usage:

    .venv/bin/pip install -e '.[bench]'     # neurokit2, biosppy (+ peakutils, which biosppy
                                            # imports without declaring it)
    .venv/bin/python benchmarks/bench_pipeline.py                     # 10 min, 1 h, 8 h
    .venv/bin/python benchmarks/bench_pipeline.py --durations 600 --no-live   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FS = 1000.0

CASE = r"""
import json, sys, threading, time
import numpy as np

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

class PeakRss(threading.Thread):
    # samples RSS every 5 ms while the tool runs: peak above the RSS at the start
    def __init__(self):
        super().__init__(daemon=True)
        self.base = rss_mb()
        self.peak = self.base
        self.running = True
    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.005)
tool, path, fs = sys.argv[1], sys.argv[2], float(sys.argv[3])
if tool == "neurokit2":
    import neurokit2 as nk
elif tool == "biosppy":
    from biosppy.signals import emg as bemg
else:
    from emgwatch.features import extract_features
x = np.load(path)  # read fully: the input counts in the baseline, not in the peak
sampler = PeakRss()
sampler.start()
t0 = time.perf_counter()
c0 = time.process_time()
if tool == "neurokit2":
    out, info = nk.emg_process(x, sampling_rate=int(fs))
    n_out = len(out)
elif tool == "biosppy":
    out = bemg.emg(signal=x, sampling_rate=fs, show=False)
    n_out = len(out["filtered"])
else:
    F = extract_features(x, fs, chunk_s=60.0)
    n_out = F.X.size
wall = time.perf_counter() - t0
cpu = time.process_time() - c0
sampler.running = False
sampler.join()
peak = max(sampler.peak, rss_mb())
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_mb": peak - sampler.base,
                  "peak_rss_mb": peak, "n_out": int(n_out)}))
"""

LIVE = r"""
import json, resource, sys, time
import numpy as np
from emgwatch.block import Block
from emgwatch.features import FeatureExtractor
path, fs, block_s, hours_mem = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n_ch = int(sys.argv[5])
x = np.array(np.load(path), dtype=float)[:, None]
x = np.concatenate([np.roll(x, 7919 * c, axis=0) for c in range(n_ch)], axis=1)
n_blk = int(round(block_s * fs))
# 1. CPU share at live block size over the whole signal
fx = FeatureExtractor(fs, n_ch)
c0 = time.process_time()
pushes = 0
for i in range(0, len(x) - n_blk + 1, n_blk):
    fx.push(Block(i / fs, fs, x[i:i + n_blk]))
    pushes += 1
cpu = time.process_time() - c0
stream_s = pushes * block_s
# 2. memory while streaming hours_mem hours (the signal looped) in 1 s blocks, output dropped
def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
fx = FeatureExtractor(fs, n_ch)
n1 = int(fs)
rss = []
t = 0
total = int(hours_mem * 3600 * fs)
k = 0
while t < total:
    i = t % (len(x) - n1)
    fx.push(Block(t / fs, fs, x[i:i + n1]))
    t += n1
    k += 1
    if k % 3600 == 0:
        rss.append(rss_mb())
print(json.dumps({"cpu_s": cpu, "stream_s": stream_s, "pushes": pushes,
                  "per_push_us": cpu / pushes * 1e6, "core_pct": cpu / stream_s * 100,
                  "rss_by_hour_mb": rss}))
"""


def make_signal(duration_s: float, path: Path, seed: int = 1) -> None:
    from emgwatch.synth import stream

    s = stream("night", duration_s, FS, seed, channels=1)
    parts = [c[:, 0].astype(np.float64) for c in s.chunks(int(FS * 60))]
    np.save(path, np.concatenate(parts))


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"benchmark case {args[:1]} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def label(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--durations", type=float, nargs="+", default=[600.0, 3600.0, 28800.0])
    ap.add_argument("--peers", nargs="*", default=["neurokit2", "biosppy"])
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--mem-hours", type=float, default=8.0, help="simulated streaming hours")
    args = ap.parse_args()

    print(f"# emgwatch pipeline benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"# {platform.node()} {platform.machine()} {platform.processor() or ''} "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}"
    )
    try:
        print(f"# load average at start: {os.getloadavg()}")
    except OSError:
        pass
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for dur in args.durations:
            path = Path(d) / f"sig_{int(dur)}.npy"
            t0 = time.perf_counter()
            make_signal(dur, path)
            print(f"# generated {label(dur)} in {time.perf_counter() - t0:.1f} s", flush=True)
            res = {}
            for tool in ["emgwatch", *args.peers]:
                r = run(CASE, tool, str(path), str(FS))
                res[tool] = r
                print(
                    f"{label(dur):>7}  {tool:<10} {r['wall_s']:8.2f} s  "
                    f"{dur / r['wall_s']:9.0f}x real time  peak +{r['peak_mb']:.0f} MB",
                    flush=True,
                )
            rows.append((dur, res))
        live = {}
        if not args.no_live:
            path = Path(d) / "live.npy"
            make_signal(600.0, path, seed=2)
            for n_ch in (1, 2):
                hours = str(args.mem_hours if n_ch == 1 else 0.0)
                live[n_ch] = run(LIVE, str(path), str(FS), "0.05", hours, str(n_ch))

    print()
    print(
        "| signal (1 ch, 1 kHz) | tool | time (s) | real-time factor | peak memory (MB) | "
        "peak RSS incl. input (MB) | emgwatch speed-up |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for dur, res in rows:
        ew = res["emgwatch"]["wall_s"]
        for tool, r in res.items():
            ratio = "" if tool == "emgwatch" else f"{r['wall_s'] / ew:.0f}x"
            print(
                f"| {label(dur)} | {tool} | {r['wall_s']:.2f} | {dur / r['wall_s']:,.0f}x | "
                f"{r['peak_mb']:.0f} | {r['peak_rss_mb']:.0f} | {ratio} |"
            )
    for n_ch, r in live.items():
        print()
        print(
            f"Live, 1 kHz, 50 ms blocks, {n_ch} channel(s): {r['per_push_us']:.0f} us per push = "
            f"{r['core_pct']:.2f} % of one core, {r['core_pct'] / n_ch:.2f} % per channel "
            f"({r['pushes']} pushes, {r['stream_s']:.0f} s of signal)."
        )
        if r["rss_by_hour_mb"]:
            rss = ", ".join(f"{v:.0f}" for v in r["rss_by_hour_mb"])
            print(
                f"Memory while streaming {args.mem_hours:g} h in 1 s blocks ({n_ch} ch), RSS (MB) "
                f"after each hour: {rss}."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
