"""Windowed sEMG features on a 50 ms hop, relative to each channel's own noise floor.

The classifier has to tell rest, voluntary effort, spasm, cramp, clonus, PLM and artifacts apart
whatever the amplifier gain and sampling rate, so every feature is either a ratio to the
channel's running baseline (dB), a rate on the common analysis stream (Hz, counts per second), or
a duration. The design, per hop of ``HOP_N`` analysis samples:

1. hop statistics (power, mean |x|, waveform length, thresholded zero crossings and slope-sign
   changes, a 100 Hz envelope for rhythm) — reshapes, no per-sample Python;
2. the baseline: the mean power of each clean second goes into a ring of the last few minutes
   and its low percentile is the noise floor; a contraction would have to fill most of the ring
   to pull it up, and flagged seconds (lead-off, clipping, gaps) never enter it;
3. multi-scale window features as sums over the last W hop statistics, computed window by
   window from the same values whatever the chunking;
4. activity context (hysteresis on the 0.1 s level) for onset, duration, pauses, duty cycle and
   repetition rhythm — vectorised with forward fills, state carried between pushes.

See docs/FEATURES.md for each feature's definition and why it is there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from emgwatch.block import Block
from emgwatch.domain import CLONUS_BAND_HZ
from emgwatch.dsp import (
    ANALYSIS_BAND_HZ,
    ANALYSIS_FS_HZ,
    Conditioned,
    Conditioner,
    SosFilter,
    fresh_samples,
)
from emgwatch.errors import UsageError
from emgwatch.quality import (
    GAP,
    MAINS,
    NONFINITE,
    UNUSABLE,
    WARMUP,
    RawQualityMonitor,
    feeds_detection,
)

log = logging.getLogger(__name__)

HOP_S = 0.05
HOP_N = int(round(HOP_S * ANALYSIS_FS_HZ))  # 25 analysis samples
BIN_N = 5  # 100 Hz envelope for the burst-rhythm features
BINS_PER_HOP = HOP_N // BIN_N
PEAK_REACH_DB = 3.0  # time_to_peak_s: onset until the level first came this close to the peak
_PEAK_LOOKBACK = 20  # hops of level kept to find a peak reached before a period was confirmed
RHYTHM_HIGHPASS_HZ = 1.5  # envelope changes slower than this are trend, not rhythm

FEATURE_NAMES = (
    "rms_db",  # RMS over the window vs baseline RMS
    "mav_db",  # mean absolute value vs baseline RMS
    "wl_db",  # waveform length per sample vs baseline RMS
    "wl_ratio",  # waveform length / MAV: a gain-free frequency measure
    "zc_hz",  # zero crossings per second (threshold: baseline RMS)
    "ssc_hz",  # slope-sign changes per second (same threshold)
    "mnf_hz",  # mean frequency, 20-200 Hz (NaN for envelope sensors)
    "mdf_hz",  # median frequency, 20-200 Hz (NaN for envelope sensors)
    "env_db_0p1",  # envelope above baseline at 0.1 s
    "env_db_1",  # ... 1 s
    "env_db_4",  # ... 4 s
    "env_max_db_4",  # max of the 0.1 s envelope over the last 4 s
    "env_cv_1",  # coefficient of variation of the hop amplitude over 1 s
    "env_cv_4",  # ... over 4 s
    "rise_db_0p25",  # 0.1 s envelope now minus 0.25 s ago (onset steepness)
    "rise_db_0p5",  # ... minus 0.5 s ago
    "onset_rise_db",  # rise_db_0p5 at the onset of the current active period (NaN if idle)
    "rhythm_strength",  # share of envelope fluctuation (> 1.5 Hz) in the clonus band, 2 s (0-1)
    "rhythm_hz",  # dominant envelope rhythm in the clonus band over 2 s
    "active",  # 1 while the channel is in an active period (hysteresis on env_db_0p1)
    "active_s",  # duration so far of the current active period (0 if idle)
    "since_active_s",  # idle: time since the last period ended; active: the pause before it
    "duty_30s",  # share of the last 30 s spent active
    "bursts_60s",  # active-period onsets in the last 60 s
    "burst_period_s",  # mean onset-to-onset interval in the last 60 s (NaN if < 2 onsets)
    "peak_db",  # highest env_db_0p1 so far in the current active period (NaN if idle)
    "time_to_peak_s",  # onset until within 3 dB of that peak: abrupt vs ramped (NaN if idle)
    "from_peak_db",  # env_db_0p1 now minus the period's peak: release shape (NaN if idle)
    "prev_active_s",  # duration of the previous active period (NaN before the first ends)
    "mains_db",  # hum removed by the notches vs baseline (NaN for envelope sensors)
)
_F = {name: i for i, name in enumerate(FEATURE_NAMES)}
# NaN for envelope sensors: an envelope has no spectrum to speak of, and what it has above 20 Hz
# (mains_db) is its board's smoothing ripple and quantisation, not the muscle - a feature a
# classifier would learn one simulator's boards from (indepsim's smoother envelopes read over 20 dB
# lower than ours, and their leg movements were called artifacts).
_SPECTRAL_ONLY_RAW = ("wl_db", "wl_ratio", "zc_hz", "ssc_hz", "mnf_hz", "mdf_hz", "mains_db")


@dataclass(frozen=True)
class FeatureConfig:
    """Window lengths and thresholds of the feature extractor (seconds, dB)."""

    window_s: float = 0.25  # MAV/RMS/WL/ZC/SSC window
    spectral_n: int = 128  # analysis samples per spectrum (0.256 s)
    baseline_s: float = 600.0  # history of clean seconds the noise floor is taken from
    baseline_percentile: float = 10.0
    # clean seconds before the baseline counts as established: short, so an episode early in a
    # session still alarms (the 10th percentile of a few seconds is their quietest one)
    warmup_s: float = 3.0
    settle_s: float = 0.5  # filter settling after the start or a gap
    zc_threshold: float = 1.0  # ZC/SSC amplitude threshold in baseline-RMS units
    on_db: float = 9.0  # an active period starts when env_db_0p1 reaches this
    off_db: float = 3.0  # ... and ends when it stays below this for off_hold_s
    off_hold_s: float = 0.5
    # ... but only once the level has stayed above off_db this long: a QRS complex of ECG on a
    # trunk or thigh channel (~1 a second) lifts the 0.1 s level for 0.1-0.25 s, and counted as
    # activity it made a resting muscle look busy (duty, bursts) so that a spasm there read as
    # a voluntary repetition. Twitches this short are not movements either (DOMAIN.md).
    on_hold_s: float = 0.3
    lead_off_s: float = 0.5  # flat raw signal this long = lead-off
    envelope_lead_off_s: float = 5.0  # envelope outputs can be flat at rest for a while
    mains_excess_db: float = 40.0  # hum this far above what is left = unusable (floating lead)
    envelope_hf_db: float = -10.0  # envelope sensors: content > 20 Hz vs the level = unusable
    # envelope sensors: changes smaller than this fraction of the resting output are not
    # activity (its drift and the board's smoothing ripple); the floor is at least this much
    envelope_rest_fraction: float = 0.1
    rhythm_s: float = 2.0
    duty_s: float = 30.0
    bursts_s: float = 60.0
    cap_s: float = 600.0  # since_active_s before any activity / beyond this


@dataclass
class FeatureFrame:
    """Feature rows: ``t[n]`` (time of each window's last sample), ``X[n, ch, f]``,
    ``quality[n, ch]`` (flag bits from ``emgwatch.quality``), ``names`` == FEATURE_NAMES."""

    t: np.ndarray
    X: np.ndarray
    quality: np.ndarray
    names: tuple[str, ...] = field(default=FEATURE_NAMES)

    @classmethod
    def empty(cls, n_channels: int) -> FeatureFrame:
        return cls(
            np.zeros(0),
            np.zeros((0, n_channels, len(FEATURE_NAMES)), dtype=np.float32),
            np.zeros((0, n_channels), dtype=np.uint8),
        )

    def __len__(self) -> int:
        return len(self.t)

    def feature(self, name: str) -> np.ndarray:
        """Column ``name`` as (n, ch)."""
        return self.X[:, :, _F[name]]

    @classmethod
    def concat(cls, frames: list[FeatureFrame], n_channels: int) -> FeatureFrame:
        frames = [f for f in frames if len(f)]
        if not frames:
            return cls.empty(n_channels)
        return cls(
            np.concatenate([f.t for f in frames]),
            np.concatenate([f.X for f in frames]),
            np.concatenate([f.quality for f in frames]),
        )


def _windows(hist: np.ndarray, new: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(sliding windows of length w ending at each new hop, updated history of w-1 hops).

    A strided view built directly: sliding_window_view costs ~30 us per call, too much for the
    per-push budget of a live stream."""
    # C order is what the strides below assume; concatenate keeps a Fortran-ordered input's order
    comb = np.ascontiguousarray(np.concatenate([hist, new], axis=-1))
    ch, n = comb.shape
    item = comb.itemsize
    view = np.ndarray(
        (ch, n - w + 1, w), dtype=comb.dtype, buffer=comb, strides=(n * item, item, item)
    )
    return view, comb[:, n - (w - 1) :]


def _ffill(mask: np.ndarray, values: np.ndarray, carry: np.ndarray) -> np.ndarray:
    """Along the last axis: the value at the latest True of ``mask`` so far, else ``carry``."""
    n = mask.shape[-1]
    if not mask.any():  # the common live case: nothing happened in this push
        return np.repeat(carry[:, None], n, axis=1)
    idx = np.maximum.accumulate(np.where(mask, np.arange(n), -1), axis=-1)
    if values.ndim == 1:  # the same values for every channel (hop indices)
        got = values[np.maximum(idx, 0)]
    else:
        got = values[np.arange(mask.shape[0])[:, None], np.maximum(idx, 0)]
    return np.where(idx >= 0, got, carry[:, None])


def _db(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(num / den)  # callers run under np.errstate(all="ignore")


class FeatureExtractor:
    """Streaming features: ``push(block) -> FeatureFrame`` as far as the input allows.

    Offline use is the same object fed large blocks (``extract_features``); chunking never
    changes the output. Output is held back for the first ``dsp.DECISION_S`` seconds (up to
    ``dsp.DECISION_STEPS_S[-1]`` when the sensor type is unclear), while the sensor type and mains
    frequency are decided.
    """

    def __init__(
        self,
        fs_hz: float,
        n_channels: int,
        *,
        sensor: str = "auto",
        mains_hz: float = 0.0,
        config: FeatureConfig | None = None,
    ) -> None:
        self.fs_hz = float(fs_hz)
        self.n_channels = int(n_channels)
        self.config = config or FeatureConfig()
        _check_config(self.config)
        self._cond = Conditioner(fs_hz, n_channels, sensor=sensor, mains_hz=mains_hz)
        c, ch = self.config, self.n_channels
        self._w = max(1, int(round(c.window_s / HOP_S)))
        self._hops_per_s = int(round(1.0 / HOP_S))
        self._base_n = int(round(c.baseline_s))
        self._warm_n = int(round(c.warmup_s))
        self._settle_n = int(round(c.settle_s * ANALYSIS_FS_HZ))
        self._off_hold = int(round(c.off_hold_s / HOP_S))
        self._on_hold = int(round(c.on_hold_s / HOP_S))
        self._rhythm_w = int(round(c.rhythm_s / HOP_S))
        self._duty_w = int(round(c.duty_s / HOP_S))
        self._bursts_w = int(round(c.bursts_s / HOP_S))
        # pending analysis samples (less than one hop)
        self._pend: Conditioned | None = None
        self._seg = -1  # segment counter (0 = first)
        # carried sample tails
        self._tail = np.zeros((ch, max(c.spectral_n, 2)))
        self._taper = np.hanning(c.spectral_n)
        f = np.fft.rfftfreq(c.spectral_n, 1.0 / ANALYSIS_FS_HZ)
        self._band = (f >= ANALYSIS_BAND_HZ[0]) & (f <= ANALYSIS_BAND_HZ[1])
        self._f = f[self._band]
        # hop-level histories (last w-1 hops), NaN = before the stream started
        nan = np.nan
        self._h = {
            "p": np.full((ch, 79), nan),
            "a": np.full((ch, 79), nan),
            "pm2": np.full((ch, 1), nan),
            "pm2max": np.full((ch, 79), nan),
            "abs": np.full((ch, self._w - 1), nan),
            "wl": np.full((ch, self._w - 1), nan),
            "zc": np.full((ch, self._w - 1), nan),
            "ssc": np.full((ch, self._w - 1), nan),
            "bp2": np.full((ch, self._rhythm_w - 1), nan),
            "hp2": np.full((ch, self._rhythm_w - 1), nan),
            "bpzc": np.full((ch, self._rhythm_w - 1), nan),
            "lvl": np.full((ch, 10), nan),  # 10*log10(pm2 + floor), for rises
        }
        self._duty_hist = np.zeros((ch, self._duty_w), dtype=np.int64)
        self._duty_sum = np.zeros(ch, dtype=np.int64)
        self._onsets = [np.zeros(0, dtype=np.int64) for _ in range(ch)]
        # baseline: noise-floor power, and (envelope sensors) the resting output level
        self._floor = _SecondRing(ch, self._hops_per_s, self._base_n, c.baseline_percentile)
        self._rest = _SecondRing(ch, self._hops_per_s, self._base_n, c.baseline_percentile)
        self._n_hops = 0
        # rhythm filter on the 100 Hz envelope
        self._bp = SosFilter(
            signal.butter(2, CLONUS_BAND_HZ, "bandpass", fs=ANALYSIS_FS_HZ / BIN_N, output="sos")
        )
        # the denominator: envelope fluctuation above the slow trend (steps, ramps, repetitions)
        self._hp = SosFilter(
            signal.butter(
                2, RHYTHM_HIGHPASS_HZ, "highpass", fs=ANALYSIS_FS_HZ / BIN_N, output="sos"
            )
        )
        self._bp_last = np.zeros(ch)
        # activity state (global hop indices)
        self._act = np.zeros(ch, dtype=bool)
        self._last_on = np.full(ch, -1, dtype=np.int64)
        self._last_off = np.full(ch, -1, dtype=np.int64)
        self._last_not_below = np.full(ch, -1, dtype=np.int64)
        self._last_below = np.full(ch, -1, dtype=np.int64)
        self._onset_k = np.full(ch, -1, dtype=np.int64)
        self._end_k = np.full(ch, np.nan)
        self._gap_before = np.full(ch, np.nan)
        self._onset_rise = np.full(ch, np.nan)
        self._prev_dur = np.full(ch, np.nan)
        self._stair_v = [np.zeros(0) for _ in range(ch)]  # see _period_peaks
        self._stair_k = [np.zeros(0) for _ in range(ch)]
        self._level_hist = np.full((ch, _PEAK_LOOKBACK), -np.inf)
        self._raw_q: RawQualityMonitor | None = None
        # for the live status line
        self.env_db = np.full(ch, np.nan)  # env_db_1 of the latest window
        self.quality = np.zeros(ch, dtype=np.uint8)  # flags of the latest window

    # --- public state ---------------------------------------------------------------------------
    @property
    def sensor(self) -> str | None:
        """ "raw" or "envelope" once decided (None during the first seconds)."""
        return self._cond.sensor if self._cond.decided else None

    @property
    def channel_sensors(self) -> list[str] | None:
        """Each channel's own type, once decided, when the channels clearly differ (else None)."""
        return self._cond.channel_sensors if self._cond.decided else None

    @property
    def mains_hz(self) -> float | None:
        return self._cond.mains_hz if self._cond.decided else None

    @property
    def baseline_db(self) -> np.ndarray:
        """Current noise-floor power per channel, in dB of input units squared."""
        return _db(self._floor.value, 1.0)

    @property
    def stats(self) -> dict:
        return dict(self._cond.stats)

    # --- streaming ------------------------------------------------------------------------------
    def push(self, block: Block) -> FeatureFrame:
        return self._consume(self._cond.push(block), final=False)

    def flush(self) -> FeatureFrame:
        return self._consume(self._cond.flush(), final=True)

    def _consume(self, pieces: list[Conditioned], final: bool) -> FeatureFrame:
        with np.errstate(all="ignore"):  # NaN/inf in dB and ratios are handled explicitly
            return self._consume_pieces(pieces)

    def _consume_pieces(self, pieces: list[Conditioned]) -> FeatureFrame:
        frames = []
        for piece in pieces:
            if piece.k[0] == 0:
                self._seg += 1
                self._pend = None  # a partial hop before a gap is dropped
            piece = self._join(piece)
            n_full = (piece.y.shape[1] // HOP_N) * HOP_N
            if n_full < piece.y.shape[1]:
                self._pend = _slice(piece, n_full, None)
            else:
                self._pend = None
            if n_full:
                frames.append(self._hops(_slice(piece, 0, n_full)))
        return FeatureFrame.concat(frames, self.n_channels)

    def _join(self, piece: Conditioned) -> Conditioned:
        p = self._pend
        if p is None:
            return piece

        def cat(a, b, axis=-1):
            if a is None and b is None:
                return None
            if a is None:
                a = np.zeros(p.y.shape, dtype=bool)
            if b is None:
                b = np.zeros(piece.y.shape, dtype=bool)
            return np.concatenate([a, b], axis=axis)

        return Conditioned(
            t=np.concatenate([p.t, piece.t]),
            k=np.concatenate([p.k, piece.k]),
            y=np.concatenate([p.y, piece.y], axis=1),
            raw=np.concatenate([p.raw, piece.raw], axis=1),
            mains=None if piece.mains is None else np.concatenate([p.mains, piece.mains], axis=1),
            bad=cat(p.bad, piece.bad),
        )

    # --- the per-hop work, vectorised over all hops of a push --------------------------------
    def _hops(self, c: Conditioned) -> FeatureFrame:
        cfg, ch = self.config, self.n_channels
        H = c.y.shape[1] // HOP_N
        envelope = self._cond.sensor == "envelope"
        q = self._cond.q
        floor = q**2 / 12.0 + 1e-300  # quantisation noise power: the lowest meaningful floor
        if self._raw_q is None:
            flat_s = cfg.envelope_lead_off_s if envelope else cfg.lead_off_s
            self._raw_q = RawQualityMonitor(ch, q, int(round(flat_s / HOP_S)))
        y = c.y
        yh = y.reshape(ch, H, HOP_N)
        k_glob = self._n_hops + np.arange(H)

        # --- 1. hop statistics -----------------------------------------------------------------
        p = (yh * yh).sum(axis=2) / HOP_N

        # quality flags that do not depend on the baseline
        fresh = fresh_samples(c.k, self.fs_hz)
        qual = self._raw_q.flags(
            c.raw.reshape(ch, H, HOP_N), None if fresh is None else fresh.reshape(H, HOP_N)
        )
        if c.bad is not None:
            qual |= np.where(c.bad.reshape(ch, H, HOP_N).any(axis=2), NONFINITE, 0)
        settling = c.k.reshape(H, HOP_N)[:, 0] < self._settle_n
        qual |= np.where(settling[None, :], WARMUP if self._seg == 0 else GAP, 0)
        mp = (c.mains.reshape(ch, H, HOP_N) ** 2).sum(axis=2) / HOP_N
        if envelope:  # anything above 20 Hz in an envelope output: hum / floating input
            excess = _db(mp, p + 12 * floor[:, None]) > cfg.envelope_hf_db
        else:
            excess = _db(mp, p + floor[:, None]) > cfg.mains_excess_db
        qual |= np.where(excess, MAINS, 0)
        hard = (qual & (UNUSABLE | WARMUP)) != 0  # kept out of the baseline and resting level
        quiet = ~feeds_detection(qual)  # counts as no activity (clipping does not)

        if envelope:
            # An envelope output sits at a resting level (the board's offset plus rectified
            # noise) that a raw sensor's high-pass would have removed: activity is what rises
            # above it (WASM measures leg movements the same way, in uV above the resting
            # level). Left in, the offset compresses a leg movement to a few dB above rest.
            rest, _ = self._rest.update(yh.sum(axis=2) / HOP_N, ~hard, self._n_hops)
            no_rest = np.isnan(rest)  # before the first clean second: no level above rest yet
            hard |= no_rest
            quiet |= no_rest
            yh = yh - np.nan_to_num(rest, nan=0.0)[:, :, None]
            y = yh.reshape(ch, H * HOP_N)
            p = (yh * yh).sum(axis=2) / HOP_N
        a = np.sqrt(p)
        absm = np.abs(yh).sum(axis=2) / HOP_N
        seq = np.concatenate([self._tail[:, -2:], y], axis=1)  # two samples of history
        d = np.diff(seq, axis=1)  # d[:, i] = seq[i+1] - seq[i]
        wl = np.abs(d[:, 1:]).reshape(ch, H, HOP_N).sum(axis=2) / HOP_N

        # --- 2. baseline -------------------------------------------------------------------------
        b, n_clean = self._floor.update(p, ~hard, self._n_hops)
        if envelope:
            # Without this, the floor is the quantisation or ripple of a smoothed output (sensor
            # and ADC properties, 20-60 dB apart between boards) and slow drift of the resting
            # level reads as activity.
            b = b + (cfg.envelope_rest_fraction * rest) ** 2
        warm = (n_clean < self._warm_n) | np.isnan(b)
        qual |= np.where(warm & ~settling[None, :], WARMUP, 0)
        bf = b + floor[:, None]
        rms_b = np.sqrt(b)

        # --- thresholded ZC / SSC ------------------------------------------------------------------
        thr = np.repeat(cfg.zc_threshold * rms_b, HOP_N, axis=1)  # per sample, (ch, n)
        x0, x1 = seq[:, 1:-1], seq[:, 2:]
        zc = ((x0 * x1 < 0) & (np.abs(x1 - x0) >= thr)).reshape(ch, H, HOP_N).sum(axis=2)
        dl, dr = d[:, :-1], d[:, 1:]  # into and out of the middle sample seq[1:-1]
        ssc = ((dl * dr < 0) & ((np.abs(dl) >= thr) | (np.abs(dr) >= thr))).reshape(ch, H, HOP_N)
        ssc = ssc.sum(axis=2)
        zc = np.where(np.isnan(b), np.nan, zc)
        ssc = np.where(np.isnan(b), np.nan, ssc)

        # --- spectra: window of spectral_n samples ending at each hop end ------------------------
        n_spec = cfg.spectral_n
        spec_src = np.ascontiguousarray(np.concatenate([self._tail[:, -(n_spec - 1) :], y], axis=1))
        # the window ending at each hop end: a strided view, hop by hop
        item = spec_src.itemsize
        row = spec_src.shape[1] * item
        wins = np.ndarray(
            (ch, H, n_spec), spec_src.dtype, spec_src, (HOP_N - 1) * item, (row, HOP_N * item, item)
        )
        if not envelope:
            spec = np.fft.rfft(wins * self._taper, axis=2)[:, :, self._band]
            psd = spec.real**2 + spec.imag**2
            f = self._f
            tot = psd.sum(axis=2)
            mnf = (psd * f).sum(axis=2) / tot
            cum = np.cumsum(psd, axis=2)
            half = tot[..., None] / 2
            i = np.clip((cum < half).sum(axis=2), 1, len(f) - 1)
            flat = cum.reshape(-1, cum.shape[2])
            rows = np.arange(flat.shape[0])
            c0 = flat[rows, (i - 1).ravel()].reshape(i.shape)
            c1 = flat[rows, i.ravel()].reshape(i.shape)
            frac = np.clip((half[..., 0] - c0) / (c1 - c0), 0, 1)
            mdf = f[i - 1] + frac * (f[i] - f[i - 1])
        else:
            mnf = mdf = np.full((ch, H), np.nan)
        self._tail = np.concatenate([self._tail, y], axis=1)[:, -self._tail.shape[1] :]

        # --- rhythm on the 100 Hz envelope -------------------------------------------------------
        e = (c.y if envelope else np.abs(y)).reshape(ch, H * BINS_PER_HOP, BIN_N).sum(axis=2)
        e /= BIN_N
        bp = self._bp(e)
        hpe = self._hp(e)
        bp_prev = np.concatenate([self._bp_last[:, None], bp[:, :-1]], axis=1)
        self._bp_last = bp[:, -1].copy()
        hph = hpe.reshape(ch, H, BINS_PER_HOP)
        bph = bp.reshape(ch, H, BINS_PER_HOP)
        bpzc = ((bp * bp_prev) < 0).reshape(ch, H, BINS_PER_HOP).sum(axis=2)

        # --- 3. window features ------------------------------------------------------------------
        h = self._h
        pm2_w, h["pm2"] = _windows(h["pm2"], p, 2)
        pm2 = pm2_w.sum(axis=2) / 2
        p_w, h["p"] = _windows(h["p"], p, 80)
        win = slice(80 - self._w, None)
        ms_win = p_w[:, :, win].sum(axis=2) / self._w
        p1 = p_w[:, :, 60:].sum(axis=2) / 20
        p4 = p_w.sum(axis=2) / 80
        env1 = _db(p1 + floor[:, None], bf)
        env4 = _db(p4 + floor[:, None], bf)
        env01 = _db(pm2 + floor[:, None], bf)
        pm2max_w, h["pm2max"] = _windows(h["pm2max"], pm2, 80)
        envmax4 = _db(pm2max_w.max(axis=2) + floor[:, None], bf)
        a_w, h["a"] = _windows(h["a"], a, 80)
        # CV of the hop amplitude a = sqrt(p): mean(a^2) is just the mean power
        a_1 = a_w[:, :, 60:].sum(axis=2) / 20
        a_4 = a_w.sum(axis=2) / 80
        cv1 = np.sqrt(np.maximum(p1 - a_1 * a_1, 0.0)) / a_1
        cv4 = np.sqrt(np.maximum(p4 - a_4 * a_4, 0.0)) / a_4
        abs_w, h["abs"] = _windows(h["abs"], absm, self._w)
        wl_w, h["wl"] = _windows(h["wl"], wl, self._w)
        zc_w, h["zc"] = _windows(h["zc"], zc, self._w)
        ssc_w, h["ssc"] = _windows(h["ssc"], ssc, self._w)
        mav = abs_w.sum(axis=2) / self._w
        wlm = wl_w.sum(axis=2) / self._w
        win_s = self._w * HOP_S
        zc_hz = zc_w.sum(axis=2) / win_s
        ssc_hz = ssc_w.sum(axis=2) / win_s
        lvl = 10.0 * np.log10(pm2 + floor[:, None])
        lvl_all = np.concatenate([h["lvl"], lvl], axis=1)
        rise025 = lvl - lvl_all[:, 5:-5]
        rise05 = lvl - lvl_all[:, :-10]
        h["lvl"] = lvl_all[:, -10:]
        bp2_w, h["bp2"] = _windows(h["bp2"], (bph * bph).sum(axis=2), self._rhythm_w)
        hp2_w, h["hp2"] = _windows(h["hp2"], (hph * hph).sum(axis=2), self._rhythm_w)
        bpzc_w, h["bpzc"] = _windows(h["bpzc"], bpzc, self._rhythm_w)
        e_var = hp2_w.sum(axis=2)
        rhythm = np.clip(bp2_w.sum(axis=2) / e_var, 0.0, 1.0)
        rhythm = np.where(e_var > 0, rhythm, np.nan)
        rhythm_hz = bpzc_w.sum(axis=2) / (2.0 * cfg.rhythm_s)

        # --- 4. activity context -------------------------------------------------------------------
        # a clipped contraction is still one contraction, not a string of short ones
        ctx = self._activity(env01, quiet, rise05, k_glob)

        # --- assemble ------------------------------------------------------------------------------
        cols = {
            "rms_db": _db(ms_win + floor[:, None], bf),
            "mav_db": 2 * _db(mav + np.sqrt(floor)[:, None], np.sqrt(bf)),
            "wl_db": 2 * _db(wlm + np.sqrt(floor)[:, None], np.sqrt(bf)),
            "wl_ratio": wlm / (mav + np.sqrt(floor)[:, None]),
            "zc_hz": zc_hz,
            "ssc_hz": ssc_hz,
            "mnf_hz": mnf,
            "mdf_hz": mdf,
            "env_db_0p1": env01,
            "env_db_1": env1,
            "env_db_4": env4,
            "env_max_db_4": envmax4,
            "env_cv_1": cv1,
            "env_cv_4": cv4,
            "rise_db_0p25": rise025,
            "rise_db_0p5": rise05,
            "rhythm_strength": rhythm,
            "rhythm_hz": rhythm_hz,
            "mains_db": _db(mp + floor[:, None], bf),
            **ctx,
        }
        if envelope:
            cols.update(dict.fromkeys(_SPECTRAL_ONLY_RAW, np.nan))
        X = np.empty((H, ch, len(FEATURE_NAMES)), dtype=np.float32)
        for i, name in enumerate(FEATURE_NAMES):
            col = cols[name]
            X[:, :, i] = col.T if isinstance(col, np.ndarray) else col
        t = c.t.reshape(H, HOP_N)[:, -1]
        quality = qual.T.astype(np.uint8)
        self._n_hops += H
        self.env_db = X[-1, :, _F["env_db_1"]].astype(float)
        self.quality = quality[-1].copy()
        return FeatureFrame(t=t.copy(), X=X, quality=quality)

    def _activity(
        self, level: np.ndarray, quiet: np.ndarray, rise05: np.ndarray, k: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Hysteresis on the 0.1 s level and the context derived from it; ``k`` = global hops."""
        cfg = self.config
        ch, H = level.shape
        below = ~(~quiet & (level >= cfg.off_db))
        last_below = _ffill(below, k, self._last_below)
        rise_k = last_below + 1  # first hop of the current stretch above off_db
        on_ev = ~below & (level >= cfg.on_db) & (k - last_below >= self._on_hold)
        last_not_below = _ffill(~below, k, self._last_not_below)
        run = k - last_not_below
        off_ev = below & (run >= self._off_hold)
        last_on = _ffill(on_ev, k, self._last_on)
        last_off = _ffill(off_ev, k, self._last_off)
        state = last_on > last_off
        prev = np.concatenate([self._act[:, None], state[:, :-1]], axis=1)
        onset = state & ~prev
        offset = ~state & prev
        # a period starts where its level rose above off_db, not where it was confirmed
        onset_k = _ffill(onset, rise_k, self._onset_k)
        end_k = _ffill(offset, (k - run + 1).astype(float), self._end_k)
        # pause before each onset: its rise minus the end of the previous period (as of then)
        gap_before = _ffill(onset, rise_k - end_k, self._gap_before)
        onset_rise = _ffill(onset, rise05, self._onset_rise)
        prev_dur = _ffill(offset, (k - run + 1 - onset_k) * HOP_S, self._prev_dur)
        peak, peak_k = self._period_peaks(level, onset, state, k, k - rise_k)
        cap = cfg.cap_s
        since_idle = np.where(np.isnan(end_k), cap, np.minimum((k - end_k + 1) * HOP_S, cap))
        since_act = np.where(np.isnan(gap_before), cap, np.minimum(gap_before * HOP_S, cap))
        since = np.where(state, since_act, since_idle)
        active_s = np.where(state, (k - onset_k + 1) * HOP_S, 0.0)
        # duty cycle: running window sum, exact in integers, O(new hops) per push
        st = state.astype(np.int64)
        comb = np.concatenate([self._duty_hist, st], axis=1)
        duty_sum = self._duty_sum[:, None] + np.cumsum(st - comb[:, :H], axis=1)
        self._duty_sum = duty_sum[:, -1].copy()
        self._duty_hist = comb[:, H:]
        duty = duty_sum / self._duty_w
        # onsets in the last bursts_s, and the mean interval between them
        bursts = np.empty((ch, H))
        period = np.empty((ch, H))
        lo = k - self._bursts_w + 1  # first hop inside each hop's window
        for c in range(ch):
            ons = np.concatenate([self._onsets[c], k[onset[c]]])
            i0 = np.searchsorted(ons, lo)
            i1 = np.searchsorted(ons, k, side="right")
            n = i1 - i0
            bursts[c] = n
            first = ons[np.minimum(i0, max(len(ons) - 1, 0))] if len(ons) else np.zeros(H)
            period[c] = np.where(
                n >= 2, (onset_k[c] - first) * HOP_S / np.maximum(n - 1, 1), np.nan
            )
            self._onsets[c] = ons[ons >= k[-1] - self._bursts_w + 1]
        # carry
        self._act = state[:, -1].copy()
        self._last_on, self._last_off = last_on[:, -1].copy(), last_off[:, -1].copy()
        self._last_not_below = last_not_below[:, -1].copy()
        self._last_below = last_below[:, -1].copy()
        self._onset_k = onset_k[:, -1].copy()
        self._end_k = end_k[:, -1].copy()
        self._gap_before = gap_before[:, -1].copy()
        self._onset_rise = onset_rise[:, -1].copy()
        self._prev_dur = prev_dur[:, -1].copy()
        return {
            "peak_db": np.where(state, peak, np.nan),
            "time_to_peak_s": np.where(state, (peak_k - onset_k) * HOP_S, np.nan),
            "from_peak_db": np.where(state, level - peak, np.nan),
            "prev_active_s": prev_dur,
            "onset_rise_db": np.where(state, onset_rise, np.nan),
            "active": state.astype(float),
            "active_s": active_s,
            "since_active_s": since,
            "duty_30s": duty,
            "bursts_60s": bursts,
            "burst_period_s": period,
        }

    def _period_peaks(
        self,
        level: np.ndarray,
        onset: np.ndarray,
        state: np.ndarray,
        k: np.ndarray,
        risen: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Running maximum of ``level`` since the latest onset, and the hop at which the level
        first came within ``PEAK_REACH_DB`` of it (a plain argmax would wander with the noise
        of a steady hold). A period is confirmed ``risen`` hops after its level rose, so its
        search starts there (up to ``_PEAK_LOOKBACK`` hops back): a spasm peaks within that
        time, and its time to peak must not read as the confirmation delay.

        The running maximum never decreases, so "first hop within 3 dB of it" is a binary search
        in its own history; only the steps within 3 dB of the current maximum can still be an
        answer, so that history stays short. A loop over the periods starting in this push (a
        handful at most), not over hops."""
        ch, H = level.shape
        L = _PEAK_LOOKBACK
        lv = np.where(np.isnan(level), -np.inf, level)
        lv_ext = np.concatenate([self._level_hist, lv], axis=1)  # L hops before this push first
        k_ext = np.arange(k[0] - L, k[-1] + 1, dtype=float)
        self._level_hist = lv_ext[:, -L:]
        peak = np.empty((ch, H))
        reach_k = np.empty((ch, H))
        for c in range(ch):
            if not state[c].any():  # idle all push: nothing to report, the next onset resets
                peak[c], reach_k[c] = np.nan, 0.0
                continue
            starts = np.flatnonzero(onset[c])
            edges = [0, *starts[starts > 0].tolist(), H]
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                seg = lv[c, a:b]
                if a == 0 and not onset[c, 0]:  # continues the period of the last push
                    vals, ks = self._stair_v[c], self._stair_k[c]
                    rm = np.maximum.accumulate(np.concatenate([vals[-1:], seg]))[len(vals[-1:]) :]
                else:  # a new period: from where its level rose
                    back = int(min(risen[c, a], L))
                    pre = np.maximum.accumulate(lv_ext[c, L + a - back : L + b])
                    vals, ks = pre[:back], k_ext[L + a - back : L + a]
                    rm = pre[back:]
                all_v = np.concatenate([vals, rm])
                all_k = np.concatenate([ks, k[a:b].astype(float)])
                j = np.searchsorted(all_v, rm - PEAK_REACH_DB, side="left")
                peak[c, a:b] = rm
                reach_k[c, a:b] = all_k[np.minimum(j, len(all_k) - 1)]
                keep = slice(int(j[-1]), None)
                v, kk = all_v[keep], all_k[keep]
                step = np.concatenate([[True], np.diff(v) > 0]) if len(v) else np.zeros(0, bool)
                self._stair_v[c], self._stair_k[c] = v[step], kk[step]
        return np.where(np.isfinite(peak), peak, np.nan), reach_k


def _check_config(c: FeatureConfig) -> None:
    """Window lengths must fit the fixed histories kept per hop (4 s) and the hop grid."""
    if not HOP_S <= c.window_s <= 4.0:
        raise UsageError(f"window_s must be between {HOP_S:g} and 4 s, got {c.window_s:g}")
    if not 32 <= c.spectral_n <= 512:
        raise UsageError(f"spectral_n must be between 32 and 512 samples, got {c.spectral_n}")
    for name in (
        "baseline_s",
        "warmup_s",
        "rhythm_s",
        "duty_s",
        "bursts_s",
        "off_hold_s",
        "on_hold_s",
    ):
        if getattr(c, name) < HOP_S:
            raise UsageError(f"{name} must be at least {HOP_S:g} s, got {getattr(c, name):g}")
    if c.on_hold_s > _PEAK_LOOKBACK * HOP_S:  # a period's peak is searched back to its rise
        raise UsageError(
            f"on_hold_s must be at most {_PEAK_LOOKBACK * HOP_S:g} s, got {c.on_hold_s:g}"
        )
    if c.off_db >= c.on_db:
        raise UsageError(f"off_db ({c.off_db:g}) must be below on_db ({c.on_db:g})")


class _SecondRing:
    """A per-channel value that follows the quiet seconds of the last ``n`` clean ones.

    Each completed second with at least half of its hops clean adds its mean to a ring of the
    last ``n`` such seconds; the value is the ring's ``pct`` percentile, updated once a second
    and applied from the next second on (NaN until the first clean second). So a contraction
    has to fill most of the ring to move it, and flagged seconds never enter it.
    """

    def __init__(self, ch: int, hops_per_s: int, n: int, pct: float) -> None:
        self.hps, self.n, self.pct = hops_per_s, n, pct
        self.ring = [np.zeros(0) for _ in range(ch)]
        self.count = np.zeros(ch, dtype=np.int64)  # clean seconds seen
        self.value = np.full(ch, np.nan)  # as of the last completed second
        self._sec_v = np.zeros((ch, 0))  # hops of the second in progress
        self._sec_ok = np.zeros((ch, 0), dtype=bool)

    def update(self, v: np.ndarray, ok: np.ndarray, n_hops: int) -> tuple[np.ndarray, np.ndarray]:
        """Value per new hop (ch, H) and the number of clean seconds behind it; ``n_hops`` is
        the global index of the first new hop."""
        ch, H = v.shape
        hps = self.hps
        start = n_hops - self._sec_v.shape[1]  # global hop index of the first pending hop
        sv = np.concatenate([self._sec_v, v], axis=1)
        so = np.concatenate([self._sec_ok, ok], axis=1)
        n_sec = sv.shape[1] // hps
        out_b = np.empty((ch, H))
        out_n = np.empty((ch, H), dtype=np.int64)
        sec_of_hop = (n_hops + np.arange(H)) // hps  # global second of each new hop
        first_sec = start // hps  # global index of the first second completing in this push
        if n_sec:
            svc = sv[:, : n_sec * hps].reshape(ch, n_sec, hps)
            soc = so[:, : n_sec * hps].reshape(ch, n_sec, hps)
            n_ok = soc.sum(axis=2)
            val = np.where(soc, svc, 0.0).sum(axis=2) / n_ok
            usable = n_ok * 2 >= hps  # at least half of the second is clean
            after = np.empty((ch, n_sec))  # value after each completed second
            count_after = np.empty((ch, n_sec), dtype=np.int64)
            n_before = self.count.copy()[:, None]  # clean seconds before this push
            for c in range(ch):
                bl, self.ring[c] = _ring_percentiles(
                    self.ring[c], val[c][usable[c]], self.n, self.pct
                )
                cum = np.cumsum(usable[c])
                if len(bl):
                    after[c] = np.where(cum > 0, bl[np.maximum(cum - 1, 0)], self.value[c])
                else:  # no clean second in this push (lead-off, clipping...): keep the value
                    after[c] = self.value[c]
                count_after[c] = self.count[c] + cum
                self.count[c] += int(usable[c].sum())
            prev = sec_of_hop - 1 - first_sec  # index into `after` of the governing second
            got = after[:, np.clip(prev, 0, n_sec - 1)]
            out_b[:] = np.where(prev[None, :] >= 0, got, self.value[:, None])
            got_n = count_after[:, np.clip(prev, 0, n_sec - 1)]
            out_n[:] = np.where(prev[None, :] >= 0, got_n, n_before)
            self.value = after[:, -1].copy()
            self._sec_v = sv[:, n_sec * hps :]
            self._sec_ok = so[:, n_sec * hps :]
        else:
            out_b[:] = self.value[:, None]
            out_n[:] = self.count[:, None]
            self._sec_v, self._sec_ok = sv, so
        return out_b, out_n


def _ring_percentiles(
    ring: np.ndarray, new_vals: np.ndarray, n: int, pct: float
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile of the last ``n`` ring values after each new value is appended, and the ring."""
    comb = np.concatenate([ring, new_vals])
    L0 = len(ring)
    lens = np.arange(L0 + 1, L0 + len(new_vals) + 1)
    out = np.empty(len(new_vals))
    small = lens < n
    for i in np.flatnonzero(small):  # warm-up only: at most n iterations per session
        out[i] = np.percentile(comb[: lens[i]], pct)
    big = ~small
    if big.any():
        w = sliding_window_view(comb, n)[lens[big] - n]
        out[big] = np.percentile(w, pct, axis=1)
    return out, comb[-n:]


def _slice(c: Conditioned, a: int, b: int | None) -> Conditioned:
    s = slice(a, b)
    return Conditioned(
        t=c.t[s],
        k=c.k[s],
        y=c.y[:, s],
        raw=c.raw[:, s],
        mains=None if c.mains is None else c.mains[:, s],
        bad=None if c.bad is None else c.bad[:, s],
    )


def extract_features(
    data: np.ndarray, fs_hz: float, *, chunk_s: float = 60.0, t0: float = 0.0, **kw
) -> FeatureFrame:
    """Features of a whole recording: the streaming extractor fed ``chunk_s`` blocks.

    ``data`` is (n,) or (n, channels); ``kw`` goes to ``FeatureExtractor`` (sensor, mains_hz,
    config). Memory stays bounded by the chunk size plus the output.
    """
    x = _as_columns(data)
    return extract_with(FeatureExtractor(fs_hz, x.shape[1], **kw), x, fs_hz, chunk_s, t0)


def _as_columns(data: np.ndarray) -> np.ndarray:
    x = np.asarray(data, dtype=float)
    return x[:, None] if x.ndim == 1 else x


def extract_with(
    fx,  # noqa: ANN001 - anything with FeatureExtractor's push/flush
    data: np.ndarray,
    fs_hz: float,
    chunk_s: float = 60.0,
    t0: float = 0.0,
) -> FeatureFrame:
    """A whole recording through a streaming extractor (``push``/``flush``), in ``chunk_s``
    blocks: memory stays bounded by the chunk size plus the output."""
    x = _as_columns(data)
    step = max(1, int(round(chunk_s * fs_hz)))
    frames = [
        fx.push(Block(t0 + i / fs_hz, fs_hz, x[i : i + step])) for i in range(0, len(x), step)
    ]
    frames.append(fx.flush())
    return FeatureFrame.concat(frames, x.shape[1])
