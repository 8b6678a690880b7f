"""Signal quality: the flag bits every window carries, and the events a sink hears about.

A window with lead-off, a gap, repaired samples or hum drowning the signal must never become an
alarm, and a failing sensor must be reported rather than shown as "no spasms" (the Safety rules
in the project's domain notes). A clipped window is not a clean measurement either, but it may
raise an alarm: the contraction under it is real (``feeds_detection``). The feature extractor
computes the flags per window from the raw samples, independent of the amplitude baseline, so
they can also keep bad data out of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- flag bits (this module owns them) ---------------------------------------------------------
LEAD_OFF = 1  # flat line (electrode off, wire broken) or stuck at a rail
SATURATION = 2  # samples keep hitting the recording's own min/max (clipping: gain too high)
MAINS = 4  # hum removed by the notches is far stronger than what is left
GAP = 8  # samples were lost just before; filters are still settling after the restart
NONFINITE = 16  # NaN/inf input samples were replaced by the last finite value
WARMUP = 32  # stream start: filters settling or the baseline not yet established

FLAG_NAMES = {
    LEAD_OFF: "lead_off",
    SATURATION: "saturation",
    MAINS: "mains",
    GAP: "gap",
    NONFINITE: "nonfinite",
    WARMUP: "warmup",
}
# What each condition means to a person reading a warning.
FLAG_MEANINGS = {
    "lead_off": "flat or stuck at a rail (electrode off, broken wire, or gain far too high)",
    "saturation": "clipping (gain too high)",
    "mains": "mains hum drowning the signal",
    "gap": "samples missing",
    "nonfinite": "empty or non-numeric samples",
}
# Windows with any of these are not a clean measurement (levels, spectra are off).
UNUSABLE = LEAD_OFF | SATURATION | MAINS | GAP | NONFINITE
# ... and these may not raise or extend an alarm. Clipping is not among them: it means the gain
# is too high for the contraction, not that the electrode failed, and a spasm that rails the ADC
# is a strong spasm (in our exercise sessions at gain 5, most missed spasms were clipped in
# 30-97 % of their windows). The classifier learns clipped windows from training data too.
BLOCKS_DETECTION = (UNUSABLE | WARMUP) & ~SATURATION
# Kinds reported as QualityEvents (warm-up happens every session; it is not news).
EVENT_FLAGS = (LEAD_OFF, SATURATION, MAINS, GAP, NONFINITE)


def describe(flags: int) -> list[str]:
    """Names of the bits set in ``flags`` (for logs and the status line)."""
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]


flag_names = describe  # the name emgwatch.live looks for


def is_usable(quality: np.ndarray) -> np.ndarray:
    """True where a window is a clean measurement (no ``UNUSABLE`` bit)."""
    return (np.asarray(quality) & UNUSABLE) == 0


def feeds_detection(quality: np.ndarray) -> np.ndarray:
    """True where a window may raise or extend an alarm (clean, or only clipped)."""
    return (np.asarray(quality) & BLOCKS_DETECTION) == 0


@dataclass(frozen=True)
class QualityEvent:
    """A quality condition started (``active``) or cleared on one channel at stream time ``t``."""

    t: float
    channel: str
    kind: str  # one of FLAG_NAMES' values except "warmup"
    active: bool


class QualityEventTracker:
    """Turns per-window flags into events on change, so sinks log conditions, not windows.

    Short flickers are smoothed by requiring ``min_windows`` consecutive windows in the new state
    before an event is emitted (default 1: every change).
    """

    def __init__(self, channel_names: list[str], *, min_windows: int = 1) -> None:
        self.channel_names = list(channel_names)
        self.min_windows = int(min_windows)
        n = len(self.channel_names)
        self._state = np.zeros(n, dtype=np.int64)  # reported flags per channel
        self._pending = np.zeros((n, len(EVENT_FLAGS)), dtype=np.int64)  # windows in a new state

    def update(self, t: np.ndarray, quality: np.ndarray) -> list[QualityEvent]:
        """Events for windows at times ``t[n]`` with flags ``quality[n, ch]``, in time order."""
        t = np.asarray(t, dtype=float)
        q = np.asarray(quality, dtype=np.int64).reshape(len(t), len(self.channel_names))
        events: list[QualityEvent] = []
        if len(t) == 0:
            return events
        for c, name in enumerate(self.channel_names):
            for b, bit in enumerate(EVENT_FLAGS):
                on = (q[:, c] & bit) != 0
                reported = bool(self._state[c] & bit)
                if self.min_windows <= 1:
                    prev = np.concatenate([[reported], on[:-1]])
                    for i in np.flatnonzero(on != prev):
                        events.append(QualityEvent(float(t[i]), name, FLAG_NAMES[bit], bool(on[i])))
                    now = bool(on[-1])
                elif self._pending[c, b] == 0 and (on == reported).all():
                    now = reported  # nothing changed in this push (almost always): no loop
                else:
                    now = reported
                    run = self._pending[c, b]
                    for i in range(len(on)):
                        run = run + 1 if on[i] != now else 0
                        if run >= self.min_windows:
                            now = bool(on[i])
                            events.append(QualityEvent(float(t[i]), name, FLAG_NAMES[bit], now))
                            run = 0
                    self._pending[c, b] = run
                self._state[c] = (self._state[c] | bit) if now else (self._state[c] & ~bit)
        events.sort(key=lambda e: e.t)
        return events


# --- per-window flags from raw samples (used by features.FeatureExtractor) ---------------------
class RawQualityMonitor:
    """Flat-line and clipping detection on the raw input, with the state that needs carrying.

    Works on the raw samples taken at the analysis-rate positions (channels, hops, hop_n):
    clipping plateaus and flat lines last many native samples, so they survive the down-sampling.
    """

    def __init__(self, n_channels: int, q: np.ndarray, flat_hops: int) -> None:
        self.q = np.asarray(q, dtype=float)
        self.flat_hops = int(flat_hops)
        self._max = np.full(n_channels, -np.inf)
        self._min = np.full(n_channels, np.inf)
        self.min_touches = 5  # per hop: real clipping hits the rail again and again
        self._flat_run = np.zeros(n_channels, dtype=np.int64)

    def flags(self, raw: np.ndarray, fresh: np.ndarray | None = None) -> np.ndarray:
        """LEAD_OFF | SATURATION per hop for ``raw`` shaped (channels, hops, hop_n).

        ``fresh`` (hops, hop_n), for a recording slower than the analysis rate: which positions
        hold a native sample for the first time (``dsp.fresh_samples``). The others repeat it
        and are not further hits of a rail."""
        ch, n_hops, hop_n = raw.shape
        flat_tol = self.q[:, None] / 2
        rng = raw.max(axis=2) - raw.min(axis=2)
        flat = rng <= flat_tol
        # length of the flat run ending at each hop (carried across pushes)
        k = np.arange(1, n_hops + 1)[None, :]
        last_not = np.maximum.accumulate(np.where(~flat, k, 0), axis=1)
        run = np.where(last_not == 0, self._flat_run[:, None] + k, k - last_not)
        self._flat_run = run[:, -1].copy()
        out = np.where(run >= self.flat_hops, LEAD_OFF, 0)

        flat_raw = raw.reshape(ch, -1)
        run_max = np.maximum.accumulate(np.concatenate([self._max[:, None], flat_raw], 1), 1)
        run_min = np.minimum.accumulate(np.concatenate([self._min[:, None], flat_raw], 1), 1)
        # touching the extreme established before this sample: repeated hits of one ceiling
        touch = (flat_raw == run_max[:, :-1]) | (flat_raw == run_min[:, :-1])
        span = run_max[:, 1:] - run_min[:, 1:]
        touch &= span > 64 * self.q[:, None]
        # ... far from where the signal is now: wander hovering near its maximum is not clipping
        centre = np.repeat(raw.sum(axis=2) / hop_n, hop_n, axis=1)
        touch &= np.abs(flat_raw - centre) > 0.25 * span
        need: float | np.ndarray = self.min_touches
        if fresh is not None:
            touch &= fresh.reshape(1, -1)
            # 5 of the 25-200 native samples a full-band hop holds; of a slower one's 10-25, a fifth
            need = np.minimum(self.min_touches, np.ceil(0.2 * fresh.sum(axis=1)))[None, :]
        clipped = touch.reshape(ch, n_hops, hop_n).sum(axis=2) >= need
        self._max, self._min = run_max[:, -1].copy(), run_min[:, -1].copy()
        return out | np.where(clipped, SATURATION, 0)


def time_affected(
    events: list[QualityEvent], duration_s: float
) -> dict[tuple[str, str], tuple[float, float]]:
    """Seconds each (channel, condition) held over a recording, and when it first began.

    What an offline pass tells its user: a channel that was flat or clipping for much of the
    night found no episodes there because it could not, not because there were none.
    """
    since: dict[tuple[str, str], float] = {}
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for e in sorted(events, key=lambda e: e.t):
        key = (e.channel, e.kind)
        if e.active:
            since.setdefault(key, e.t)
        elif key in since:
            t0 = since.pop(key)
            total, first = out.get(key, (0.0, t0))
            out[key] = (total + max(e.t - t0, 0.0), first)
    for key, t0 in since.items():
        total, first = out.get(key, (0.0, t0))
        out[key] = (total + max(duration_s - t0, 0.0), first)
    return out
