"""The EMG signal model: shaped stochastic carriers, activation curves and channel physiology.

Surface EMG is modelled as a band-limited stochastic carrier (unit variance, spectrum peaking
at 60-120 Hz) multiplied by a smooth activation envelope (µV RMS), plus the electrode and
amplifier noise floor. Everything a detector could latch onto as a constant is drawn per
recording and per channel from a wide range instead: spectral peak and width, how spiky the
carrier is at low activation (sparse MUAP-like trains vs Gaussian interference pattern), noise
floor level and colour, resting tone, muscle size (µV at maximal voluntary contraction) and
electrode quality.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

# Event curves (activation, spectral mix, motion) are drawn at this rate and interpolated to fs:
# 5 ms resolves a 20 ms spasm onset and the bursts of 8 Hz clonus.
ENV_FS = 200.0
# Background curves spanning the whole recording (tone, wander, mains amplitude) are drawn at
# this rate, so an 8-hour plan stays small.
SLOW_FS = 4.0


@dataclass(frozen=True)
class Curve:
    """A sampled curve starting at ``start`` seconds, linearly interpolated between samples."""

    start: float
    rate: float
    values: np.ndarray

    @property
    def end(self) -> float:
        return self.start + (len(self.values) - 1) / self.rate

    def at(self, t: np.ndarray) -> np.ndarray:
        pos = (t - self.start) * self.rate
        return np.interp(pos, np.arange(len(self.values), dtype=float), self.values)


def loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def smooth_noise(
    rng: np.random.Generator, n: int, corr_s: float, rate: float = ENV_FS
) -> np.ndarray:
    """Zero-mean, unit-variance random curve whose features last about ``corr_s`` seconds."""
    n = max(int(n), 1)
    step = max(corr_s * rate, 1.0)
    k = int(n / step) + 4
    knots = rng.standard_normal(k)
    x = np.interp(np.arange(n) / step, np.arange(k, dtype=float), knots)
    w = int(step / 2)
    if w >= 2 and n > w:
        x = np.convolve(x, np.ones(w) / w, mode="same")
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-12 else np.zeros(n)


def fluctuation(
    rng: np.random.Generator, n: int, corr_s: float, depth: float, rate: float = ENV_FS
) -> np.ndarray:
    """Positive multiplicative fluctuation with mean ~1 (log-normal), for irregular activity."""
    return np.exp(depth * smooth_noise(rng, n, corr_s, rate) - 0.5 * depth * depth)


def stage_levels(rng: np.random.Generator, n: int, rate: float = SLOW_FS) -> np.ndarray:
    """Piecewise levels lasting 10-60 min with 1-min transitions: sleep stages change muscle
    tone (lowest in REM), so the resting baseline of a night is not one number."""
    out = np.empty(n)
    i = 0
    while i < n:
        m = int(rng.uniform(600, 3600) * rate)
        out[i : i + m] = loguniform(rng, 0.3, 1.6)
        i += m
    w = int(60 * rate)
    if n > 2 * w:
        out = np.convolve(np.pad(out, w, mode="edge"), np.ones(w) / w, mode="same")[w:-w]
    return out


def ramp(rng: np.random.Generator, n: int) -> np.ndarray:
    """A 0 -> 1 transition of ``n`` samples with a randomly chosen steepness profile."""
    if n <= 0:
        return np.zeros(0)
    x = (np.arange(n) + 1.0) / (n + 1.0)
    kind = rng.integers(4)
    if kind == 0:
        return x
    if kind == 1:
        return 0.5 - 0.5 * np.cos(np.pi * x)
    if kind == 2:
        k = rng.uniform(2.0, 6.0)
        return (1 - np.exp(-k * x)) / (1 - np.exp(-k))
    return x ** rng.uniform(0.5, 2.5)


def taper(rng: np.random.Generator, env: np.ndarray, rise_s: float, fall_s: float) -> np.ndarray:
    """Shape the onset and release of an activation curve; both ends reach exactly zero."""
    n = len(env)
    nr = int(np.clip(rise_s * ENV_FS, 1, n // 2))
    nf = int(np.clip(fall_s * ENV_FS, 1, n - nr - 1 if n - nr > 1 else 1))
    out = env.copy()
    out[:nr] *= ramp(rng, nr)
    out[n - nf :] *= ramp(rng, nf)[::-1]
    out[0] = 0.0
    out[-1] = 0.0
    return out


def bandpass_sos(
    fs: float, peak_hz: float, width_ratio: float, order: int, tissue_ratio: float = 3.0
) -> np.ndarray:
    """Resonant band-pass(es) whose power peaks at ``peak_hz`` (geometric band centre), with a
    broad (``width_ratio`` = high/low corner) skirt like the classic sEMG spectrum; ``order`` 2
    cascades a second, wider section for steeper skirts. Normalised to unit output variance for
    unit white input, so activation curves alone set the EMG level."""
    # corners are placed in the bilinear transform's pre-warped frequency axis, so the digital
    # peak stays at peak_hz even close to Nyquist (fs = 500 Hz)
    warp = np.tan(np.pi * peak_hz / fs)
    cap = np.tan(np.pi * min(0.45 * fs, 480.0) / fs)
    sections = []
    for k in range(order):
        r = width_ratio * (1.0 + 1.5 * k)
        w_hi = min(warp * np.sqrt(r), cap)
        w_lo = warp * warp / w_hi  # keep the centre on the peak when the top is capped
        lo, hi = (fs / np.pi * np.arctan(w) for w in (w_lo, w_hi))
        sections.append(sps.butter(1, [lo, hi], btype="bandpass", fs=fs, output="sos"))
    # volume conduction through tissue low-passes the signal: the spectrum above the peak falls
    # steeply whatever the sampling rate, so median frequencies stay near 60-140 Hz
    tissue_hz = min(peak_hz * tissue_ratio, 0.45 * fs)
    sections.append(sps.butter(2, tissue_hz, btype="lowpass", fs=fs, output="sos"))
    return _unit_variance(np.vstack(sections), fs)


def lowpass_sos(fs: float, cutoff_hz: float, order: int = 1) -> np.ndarray:
    return sps.butter(order, min(cutoff_hz, 0.45 * fs), btype="lowpass", fs=fs, output="sos")


def _unit_variance(sos: np.ndarray, fs: float) -> np.ndarray:
    n = int(fs)  # the band-passes of interest ring for well under a second
    imp = np.zeros(n)
    imp[0] = 1.0
    h = sps.sosfilt(sos, imp)
    sos = sos.copy()
    sos[0, :3] /= np.sqrt(np.sum(h * h))
    return sos


@dataclass
class ChannelModel:
    """Per-recording physiology and electrode properties of one channel (all randomised)."""

    mvc_uv: float  # EMG RMS at maximal voluntary contraction, µV
    peak_hz: float  # spectral peak of the fresh muscle
    fatigue_shift: float  # peak of the "fatigued/deep" carrier relative to peak_hz
    width_ratio: float
    order: int
    tissue_ratio: float  # tissue low-pass corner relative to the peak
    sparsity: float  # probability of a MUAP impulse per sample at rest (1.0: Gaussian model)
    floor_uv: float  # electrode/amplifier noise RMS, µV
    floor_colour: float  # 0 white .. 1 strongly low-frequency
    floor_corner_hz: float
    quality: float  # electrode quality 0.15 (poor) .. 1 (good)
    base_mix: float  # spectral mix at rest
    crosstalk: float  # fraction of other channels' activity picked up

    def carrier_sos(self, fs: float) -> tuple[np.ndarray, np.ndarray]:
        a = bandpass_sos(fs, self.peak_hz, self.width_ratio, self.order, self.tissue_ratio)
        b = bandpass_sos(
            fs, self.peak_hz * self.fatigue_shift, self.width_ratio, self.order, self.tissue_ratio
        )
        return a, b


def draw_channel(rng: np.random.Generator) -> ChannelModel:
    """Muscle size is tied to the noise floor through a signal-to-noise ratio (MVC RMS over
    floor RMS, 32-64 dB, worse with poor electrodes), so even a weak labelled movement (PLM at
    6 % MVC) stands at least ~2.5x above the floor instead of being an invisible label."""
    quality = float(rng.uniform(0.15, 1.0))
    floor_uv = loguniform(rng, 0.4, 4.0) / np.sqrt(quality)
    snr_db = rng.uniform(40.0, 64.0) + 10 * np.log10(quality)
    mvc_uv = float(np.clip(floor_uv * 10 ** (snr_db / 20), 60.0, 2500.0))
    return ChannelModel(
        mvc_uv=mvc_uv,
        peak_hz=float(rng.uniform(64.0, 118.0)),
        fatigue_shift=float(rng.uniform(0.65, 0.9)),
        width_ratio=float(rng.uniform(2.5, 6.5)),
        order=int(rng.integers(1, 3)),
        tissue_ratio=float(rng.uniform(2.0, 3.5)),
        sparsity=1.0 if rng.random() < 0.35 else loguniform(rng, 0.005, 0.15),
        floor_uv=floor_uv,
        floor_colour=float(rng.uniform(0.0, 0.7)),
        floor_corner_hz=loguniform(rng, 1.0, 40.0),
        quality=quality,
        base_mix=float(rng.uniform(0.0, 0.2)),
        crosstalk=float(rng.uniform(0.0, 0.08)),
    )


def muap_gate(rng_u: np.ndarray, activation_mvc: np.ndarray, sparsity: float) -> np.ndarray:
    """Sparse impulse gating with unit mean power: few motor units at rest (spiky, MUAP-like
    waveforms after band-passing), dense and Gaussian once many units are recruited."""
    if sparsity >= 1.0:
        return np.ones_like(rng_u)
    p = np.clip(sparsity + activation_mvc * 4.0, sparsity, 1.0)
    return (rng_u < p) / np.sqrt(p)
