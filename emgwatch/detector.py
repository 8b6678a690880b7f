"""The detector: Block in, EpisodeEvents out — the one code path for live runs and offline files.

First version (to be replaced by the feature + classifier pipeline): band-pass, RMS envelope
over 50 ms hops, a slow robust baseline, and a hysteresis tracker on the level above baseline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy import signal

from emgwatch.block import Block
from emgwatch.domain import EMG_BAND_HZ
from emgwatch.episodes import Episode, EpisodeEvent
from emgwatch.recording import Recording

log = logging.getLogger(__name__)

HOP_S = 0.05


class Detector:
    """Streaming detector over all channels of a source."""

    def __init__(
        self,
        fs_hz: float,
        channel_names: Sequence[str],
        *,
        context: str = "auto",
        model: object | None = None,
        sensor: str = "auto",
        mains_hz: float = 0.0,
    ) -> None:
        self.fs = float(fs_hz)
        self.channel_names = list(channel_names)
        self.context = context
        self.model_version = "heuristic-0"
        n = len(self.channel_names)
        hi = min(EMG_BAND_HZ[1], 0.45 * self.fs)
        self._sos = signal.butter(4, [EMG_BAND_HZ[0], hi], btype="bandpass", fs=self.fs, output="sos")
        self._zi = np.zeros((self._sos.shape[0], 2, n))
        self._first = True
        self._hop = max(1, int(round(HOP_S * self.fs)))
        self._pending = np.zeros((0, n))
        self._t = 0.0  # stream time of the next pending sample
        self._hist: list[np.ndarray] = []  # recent hop levels (dB) for the baseline
        self._baseline = np.full(n, np.nan)
        self._open: list[Episode | None] = [None] * n
        self._above = np.zeros(n, int)
        self._below = np.zeros(n, int)
        self.state = {c: "idle" for c in self.channel_names}
        self.level_db = {c: 0.0 for c in self.channel_names}
        self.quality = {c: 0 for c in self.channel_names}

    def push(self, block: Block) -> list[EpisodeEvent]:
        x = np.nan_to_num(np.asarray(block.data, dtype=float))
        if self._first:
            self._zi = signal.sosfilt_zi(self._sos)[:, :, None] * x[0][None, None, :]
            self._first = False
        y, self._zi = signal.sosfilt(self._sos, x, axis=0, zi=self._zi)
        buf = np.vstack([self._pending, y])
        n_hops = buf.shape[0] // self._hop
        t_start = self._t
        self._pending = buf[n_hops * self._hop :]
        self._t += (buf.shape[0] - self._pending.shape[0]) / self.fs
        if n_hops == 0:
            return []
        hops = buf[: n_hops * self._hop].reshape(n_hops, self._hop, -1)
        lev = 10 * np.log10(np.mean(hops**2, axis=1) + 1e-20)  # (n_hops, ch) dB
        times = t_start + (np.arange(n_hops) + 1) * self._hop / self.fs
        return self._track(times, lev)

    def _track(self, times: np.ndarray, lev: np.ndarray) -> list[EpisodeEvent]:
        events: list[EpisodeEvent] = []
        for i, t in enumerate(times):
            self._hist.append(lev[i])
            if len(self._hist) > 2400:
                self._hist = self._hist[-2400:]
            if len(self._hist) % 20 == 0 or np.isnan(self._baseline).any():
                self._baseline = np.percentile(np.array(self._hist), 10, axis=0)
            rel = lev[i] - self._baseline
            for c, name in enumerate(self.channel_names):
                self.level_db[name] = float(rel[c])
                if rel[c] > 12:
                    self._above[c] += 1
                    self._below[c] = 0
                else:
                    self._below[c] += 1
                    self._above[c] = 0
                ep = self._open[c]
                if ep is None and self._above[c] >= 10:
                    ep = Episode(kind="spasm", channel=name, start=float(t - 10 * HOP_S), confidence=0.5)
                    self._open[c] = ep
                    self.state[name] = ep.kind
                    events.append(EpisodeEvent("start", ep, float(t)))
                if ep is not None:
                    ep.level_db = max(ep.level_db, float(rel[c]))
                    if self._below[c] >= 10:
                        ep.end = float(t - 10 * HOP_S)
                        events.append(EpisodeEvent("end", ep, float(t)))
                        self._open[c] = None
                        self.state[name] = "idle"
        return events

    def flush(self) -> list[EpisodeEvent]:
        events = []
        for c, ep in enumerate(self._open):
            if ep is not None:
                ep.end = self._t
                events.append(EpisodeEvent("end", ep, self._t))
                self._open[c] = None
                self.state[self.channel_names[c]] = "idle"
        return events


def detect_recording(
    rec: Recording, *, context: str = "auto", model: object | None = None, sensor: str | None = None
) -> list[Episode]:
    """Run the streaming detector over a whole recording; completed episodes in start order."""
    det = Detector(rec.fs, rec.channel_names, context=context, model=model, sensor=sensor or "auto")
    done: list[Episode] = []
    for block in rec.blocks(10.0):
        done += [e.episode for e in det.push(block) if e.event == "end"]
    done += [e.episode for e in det.flush() if e.event == "end"]
    return sorted(done, key=lambda e: e.start)
