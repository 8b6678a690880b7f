"""How abruptly each kind of labelled episode begins, per generator: a question for the detector.

DOMAIN.md says a spasm is "abrupt (tens of ms to reach high activity)" and a voluntary effort
ramps up. Whether recordings bear that out, and whether the detector's current alerts respect
it, is measured here on recordings with emgwatch truth JSON beside them (ours from
``emgwatch simulate``, or the outside simulators' from ``benchmarks/crossgen.py --keep DIR``).

For every labelled episode on a raw-EMG channel (envelope boards have no fast onsets to see):

- ``rise``: seconds from the labelled onset until the 50-ms RMS level first comes within 6 dB
  of the episode's peak;
- ``d150`` / ``d300``: the highest level in the first 0.15 / 0.3 s after the onset, minus the
  highest in its first second (dB; 0 means the episode was already at full height).

Episodes are split into those the detector alerted on (``auto`` context, shipped model unless
``--model``) and the rest; the quartiles of each measure are printed per kind. An offline look
with a zero-phase filter, not a detector feature: a feature would have to be causal.

    .venv/bin/python benchmarks/onset_shape.py DIR/*.csv DIR/*.edf
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import signal

from emgwatch.detector import detect_recording
from emgwatch.domain import ALERT_KINDS
from emgwatch.recording import read_recording
from emgwatch.synth.output import truth_path_for
from emgwatch.truth import load_truth

RMS_S, HOP_S = 0.05, 0.01
KINDS = ("spasm", "cramp", "clonus", "plm", "voluntary", "posture", "turnover")


def level_db(x: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    """50-ms RMS level about every 10 ms, in dB above the channel's 10th percentile, and the
    exact hop in seconds (a whole number of samples: 9.33 ms at 750 Hz)."""
    sos = signal.butter(4, [20.0, min(450.0, 0.45 * fs)], "bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, x)
    w, h = max(round(RMS_S * fs), 1), max(round(HOP_S * fs), 1)
    p = np.convolve(y * y, np.ones(w) / w, "same")[::h]
    d = 10.0 * np.log10(p + 1e-30)
    return d - np.percentile(d, 10), h / fs


def measure(path: Path, model: str | None) -> list[dict]:
    truth = load_truth(truth_path_for(path))
    if truth.sensor == "envelope":
        return []
    rec = read_recording(path)
    found = [d for d in detect_recording(rec, context="auto", model=model) if d.kind in ALERT_KINDS]
    rows = []
    for c, name in enumerate(rec.channel_names):
        lev, hop = level_db(rec.data[:, c].astype(np.float64), rec.fs)
        n1, n150, n300 = (round(s / hop) for s in (1.0, 0.15, 0.3))
        for e in truth.episodes:
            if e.channel != name or e.kind not in KINDS:
                continue
            a, b = int(e.start / hop), int(e.end / hop)
            if b - a < 5 or a + n1 > len(lev):
                continue
            seg, first_s = lev[a:b], lev[a : a + n1].max()
            alerted = any(
                d.channel == name and d.start < e.end and (d.end or d.start) > e.start
                for d in found
            )
            rows.append(
                {
                    "kind": e.kind,
                    "alerted": alerted,
                    "rise": float(np.argmax(seg >= seg.max() - 6.0)) * hop,
                    "d150": float(lev[a : a + n150 + 1].max() - first_s),
                    "d300": float(lev[a : a + n300 + 1].max() - first_s),
                }
            )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("recordings", nargs="+", type=Path)
    ap.add_argument("--model", help="model file (default: the shipped model)")
    args = ap.parse_args()
    rows = [r for p in args.recordings for r in measure(p, args.model)]
    print(f"{'kind':10s} {'alerted':8s} {'n':>4s}   quartiles of rise (s) | d150 (dB) | d300 (dB)")
    for kind in KINDS:
        for alerted in (True, False):
            sel = [r for r in rows if r["kind"] == kind and r["alerted"] == alerted]
            if not sel:
                continue

            def q(key: str, sel: list[dict] = sel) -> str:
                return " ".join(
                    f"{v:6.2f}" for v in np.percentile([r[key] for r in sel], [25, 50, 75])
                )

            print(
                f"{kind:10s} {'yes' if alerted else 'no':8s} {len(sel):4d}   "
                f"{q('rise')} | {q('d150')} | {q('d300')}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
