"""Cost of the episode tracker's PLM-series logic over a monitor left running for days.

Whether a leg movement is in a series is settled by the movements after it, so the tracker keeps
a channel's movements; it forgets those before a gap of more than 90 s (no series spans one).
This feeds the tracker alone (no signal, no classifier) window probabilities with a 1-3 s leg
movement every 15-40 s, and with ``--gap-share`` of the intervals 100-600 s instead (a night
with waking spells; 0 = one unbroken series, the worst case), and reports the time.

    .venv/bin/python benchmarks/bench_tracker.py --hours 24 72
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emgwatch.domain import WINDOW_CLASSES
from emgwatch.episodes import EpisodeTracker
from emgwatch.features import HOP_S


def movements(hours: float, gap_share: float, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Window times, probabilities, levels and usability for one leg channel."""
    n = int(hours * 3600 / HOP_S)
    t = (np.arange(n) + 1) * HOP_S
    proba = np.zeros((n, 1, len(WINDOW_CLASSES)))
    proba[:, 0, 0] = 1.0
    rng = np.random.default_rng(seed)
    plm = WINDOW_CLASSES.index("plm")
    s = 30.0
    while s < t[-1] - 10:
        i = int(s / HOP_S)
        j = i + int(rng.uniform(1, 3) / HOP_S)
        proba[i:j, 0, :] = 0.0
        proba[i:j, 0, plm], proba[i:j, 0, 0] = 0.9, 0.1
        s += rng.uniform(100, 600) if rng.random() < gap_share else rng.uniform(15, 40)
    level = np.where(proba[:, :, 0] > 0.5, 0.0, 20.0)
    return t, proba, level, np.ones(level.shape, bool)


def run(hours: float, gap_share: float, context: str) -> tuple[int, float]:
    t, proba, level, usable = movements(hours, gap_share)
    tracker = EpisodeTracker(["leg"], context=context)
    t0 = time.perf_counter()
    ended = 0
    step = 6000  # 5 minutes of windows per push, as a live run's blocks add up
    for a in range(0, len(t), step):
        events = tracker.push(
            t[a : a + step], proba[a : a + step], level[a : a + step], usable[a : a + step]
        )
        ended += sum(e.event == "end" for e in events)
    ended += sum(e.event == "end" for e in tracker.flush())
    return ended, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hours", type=float, nargs="+", default=[8.0, 24.0, 72.0])
    ap.add_argument("--gap-share", type=float, nargs="+", default=[0.02, 0.0])
    ap.add_argument("--context", default="sleep")
    a = ap.parse_args()
    print(f"{'hours':>6} {'gap share':>9} {'movements':>9} {'seconds':>8}")
    for gap in a.gap_share:
        for h in a.hours:
            n, dt = run(h, gap, a.context)
            print(f"{h:6.0f} {gap:9.2f} {n:9d} {dt:8.2f}")


if __name__ == "__main__":
    main()
