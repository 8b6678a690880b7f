"""Sleep stages from a recording's annotations: when the recording was sleep.

The PLM index counts periodic leg movements *in sleep* per hour *of sleep* (WASM/IRLSSG 2016,
DOMAIN.md). A sleep study's EDF+ often carries its scored hypnogram as annotations; then
``detect`` can give that index as a clinician reads it, beside the per-hour-of-recording one
that is all a night without a hypnogram allows.

Recognised (case and punctuation aside; each part of an NSRR ``name|code`` is tried):
``Sleep stage W/1/2/3/4/R/N1/N2/N3/?`` (Sleep-EDF, MNE), ``Stage 2 sleep``, ``REM sleep``,
``Wake``, Compumedics' ``SLEEP-S0..S4``, ``SLEEP-REM``, ``NREM2``, and the bare ``W N1 N2 N3
R REM``. An unscored epoch (``Sleep stage ?``, ``Unscored``, ``Movement time``, ``SLEEP-MT``)
is neither sleep nor wake. A stage given as an instant (a duration of 0, one per epoch) lasts
until the next stage annotation, at most one 30-s epoch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from emgwatch.recording import Annotation, annotation_parts, classify_annotation

_SLEEP = re.compile(
    r"^((sleep )?stage (n?[1-4]|nrem ?[1-4]|r|rem)( sleep)?"
    r"|(sleep )?(n[1-4]|nrem ?[1-4]|s[1-4]|r|rem)( sleep)?)$"
)
_WAKE = re.compile(r"^((sleep )?stage (w|0|wake)|(sleep )?(w|s0|wake|awake|wakefulness))$")
_UNSCORED = re.compile(
    r"^((sleep )?stage (\?|unscored|unknown|no stage|mt)"
    r"|(sleep )?(unscored|unknown|mt|movement|movement time|no stage))$"
)
# A hypnogram scores the whole night: at least this many stage annotations of both sleep and
# wake. Fewer is a stray marker ("R" for an ECG R peak, "S1" for a stimulus), not a hypnogram.
MIN_STAGES = 4
EPOCH_S = 30.0  # the scoring epoch (AASM): the longest a stage given as an instant lasts


def stage_of(text: str) -> str | None:
    """ "sleep", "wake" or "unscored" for a stage annotation; None for any other text."""
    for t in annotation_parts(text):
        for name, pattern in (("sleep", _SLEEP), ("wake", _WAKE), ("unscored", _UNSCORED)):
            if pattern.match(t):
                return name
    return None


def sleep_spans(annotations: Sequence[Annotation], duration_s: float) -> np.ndarray | None:
    """(start, end) rows of the time scored as sleep, within the recording; None when the
    annotations hold no hypnogram (fewer than ``MIN_STAGES`` stages, or no sleep and wake
    among them): the caller falls back to the whole recording. A stage given as an instant
    lasts until the next one, at most ``EPOCH_S``."""
    stages = ((a, classify_annotation(a, stage_of)[0]) for a in annotations)
    staged = sorted(((a.onset, a.duration, s) for a, s in stages if s), key=_key)
    kinds = {s for _, _, s in staged}
    if len(staged) < MIN_STAGES or not {"sleep", "wake"} <= kinds:
        return None
    rows = []
    for i, (onset, dur, stage) in enumerate(staged):
        nxt = staged[i + 1][0] if i + 1 < len(staged) else duration_s
        end = onset + dur if dur > 0 else min(nxt, onset + EPOCH_S)
        lo, hi = max(onset, 0.0), min(end, duration_s)
        if stage == "sleep" and hi > lo:
            rows.append((lo, hi))
    return np.array(rows, dtype=float).reshape(-1, 2)


def _key(item: tuple[float, float, str]) -> tuple[float, int]:
    # stages at the same onset: wake and unscored first, so that sleep is not taken for them
    return item[0], item[2] == "sleep"


def in_spans(t: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Which times fall inside any span (spans may overlap or touch)."""
    t = np.asarray(t, dtype=float)
    return ((t[:, None] >= spans[None, :, 0]) & (t[:, None] < spans[None, :, 1])).any(axis=1)


def total_s(spans: np.ndarray) -> float:
    """Time covered by the spans, overlaps counted once."""
    if len(spans) == 0:
        return 0.0
    spans = np.asarray(spans, dtype=float)
    s = spans[np.argsort(spans[:, 0])]
    total, lo, hi = 0.0, s[0, 0], s[0, 1]
    for a, b in s[1:]:
        if a > hi:
            total, lo, hi = total + hi - lo, a, b
        else:
            hi = max(hi, b)
    return float(total + hi - lo)
