"""Sleep stages from a recording's annotations: when the recording was sleep.

The PLM index counts periodic leg movements *in sleep* per hour *of sleep* (WASM/IRLSSG 2016,
DOMAIN.md). A sleep study's EDF+ often carries its scored hypnogram as annotations; then
``detect`` can give that index as a clinician reads it, beside the per-hour-of-recording one
that is all a night without a hypnogram allows.

Recognised (case and punctuation aside; each part of an NSRR ``name|code`` is tried):
``Sleep stage W/1/2/3/4/R/N1/N2/N3/?`` (Sleep-EDF, MNE), ``Stage 2 sleep``, ``REM sleep``,
``Wake``, and the bare ``W N1 N2 N3 R REM``. An unscored epoch (``Sleep stage ?``,
``Unscored``, ``Movement time``) is neither sleep nor wake. A stage given as an instant (a
duration of 0, one per epoch) lasts until the next stage annotation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from emgwatch.recording import Annotation

_SLEEP = re.compile(
    r"^((sleep )?stage (n?[1-4]|r|rem)( sleep)?|n[1-3]|r|rem|rem sleep|nrem [1-4]|s[1-4])$"
)
_WAKE = re.compile(r"^((sleep )?stage w|w|wake|awake|wakefulness|stage 0)$")
_UNSCORED = re.compile(r"^((sleep )?stage \?|sleep stage unknown|unscored|movement time|mt)$")


def stage_of(text: str) -> str | None:
    """ "sleep", "wake" or "unscored" for a stage annotation; None for any other text."""
    for part in text.split("|"):
        t = " ".join(re.sub(r"[-_:()/,.]", " ", part.lower()).split())
        for name, pattern in (("sleep", _SLEEP), ("wake", _WAKE), ("unscored", _UNSCORED)):
            if pattern.match(t):
                return name
    return None


def sleep_spans(annotations: Sequence[Annotation], duration_s: float) -> np.ndarray | None:
    """(start, end) rows of the time scored as sleep, within the recording; None when no
    annotation is a sleep stage (no hypnogram: the caller falls back to the whole recording)."""
    staged = sorted(
        ((a.onset, a.duration, s) for a in annotations if (s := stage_of(a.description))),
        key=lambda x: x[0],
    )
    if not staged:
        return None
    rows = []
    for i, (onset, dur, stage) in enumerate(staged):
        end = onset + dur if dur > 0 else (staged[i + 1][0] if i + 1 < len(staged) else duration_s)
        lo, hi = max(onset, 0.0), min(end, duration_s)
        if stage == "sleep" and hi > lo:
            rows.append((lo, hi))
    return np.array(rows, dtype=float).reshape(-1, 2)


def in_spans(t: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Which times fall inside any span (spans may overlap or touch)."""
    t = np.asarray(t, dtype=float)
    return ((t[:, None] >= spans[None, :, 0]) & (t[:, None] < spans[None, :, 1])).any(axis=1)


def total_s(spans: np.ndarray) -> float:
    """Time covered by the spans, overlaps counted once."""
    if len(spans) == 0:
        return 0.0
    s = spans[np.argsort(spans[:, 0])]
    total, lo, hi = 0.0, s[0, 0], s[0, 1]
    for a, b in s[1:]:
        if a > hi:
            total, lo, hi = total + hi - lo, a, b
        else:
            hi = max(hi, b)
    return total + hi - lo
