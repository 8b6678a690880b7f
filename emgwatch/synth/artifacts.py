"""Artifacts and the sensor front end: mains, ECG, wander, pops, lead-off, envelope boards and
the 10-bit ADC. Each artifact is switchable and randomised per recording.

Front-end scale: a hobby EMG board amplifies about 1000x into a 5 V, 10-bit ADC, i.e. about
0.2 counts per µV at the electrode (``COUNTS_PER_UV``). The user's ``gain`` and a random
board/pot factor (0.5-2x) multiply that, so at gain 1 a strong contraction reaches a few hundred
counts and rest sits within a few counts of mid-rail - like a real Arduino recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emgwatch.domain import ADC_MAX, ADC_MIDRAIL
from emgwatch.synth.episodes import Event
from emgwatch.synth.signal import SLOW_FS, Curve, loguniform, smooth_noise
from emgwatch.truth import TruthArtifact

FRONT_END_GAIN = 1000.0
ADC_REF_V = 5.0
COUNTS_PER_UV = FRONT_END_GAIN * 1e-6 * (ADC_MAX + 1) / ADC_REF_V

ARTIFACT_SWITCHES = ("mains", "wander", "motion", "pops", "lead_off", "ecg")


VOLT_UNITS = {"uV": 1.0, "mV": 1e-3, "V": 1e-6}  # output units per µV when not using the ADC
OUTPUT_UNITS = ("adc", *VOLT_UNITS)


@dataclass
class FrontEnd:
    """How one channel's electrode signal (µV) becomes the sensor's output."""

    sensor: str  # "raw" | "envelope"
    adc: bool
    scale: float  # output units per µV (counts, or µV/mV/V per µV)
    offset: float  # output units
    env_cutoff_hz: float
    env_order: int
    volt_units: str = "uV"  # units when not using the ADC

    @property
    def units(self) -> str:
        return "adc" if self.adc else self.volt_units

    def rail(self, high: bool) -> float:
        if self.adc:
            return float(ADC_MAX if high else 0)
        # an amplifier driven to its rail: about +-2.5 mV at the electrode at gain 1
        rail_uv = ADC_MIDRAIL / COUNTS_PER_UV
        return (1.0 if high else -1.0) * rail_uv * VOLT_UNITS[self.volt_units] + self.offset


def draw_front_end(
    rng: np.random.Generator, sensor: str, adc: bool, gain: float, volt_units: str = "uV"
) -> FrontEnd:
    board = loguniform(rng, 0.5, 2.0)
    if sensor == "envelope":
        # envelope boards add gain after rectification and most sit a little above 0 V; a third
        # (trimmed, or rail-to-rail output stages) rest right at it, where the rectified noise
        # alone is the resting output. One draw either way, so the rest of the stream is as before.
        scale = gain * board * loguniform(rng, 1.5, 5.0) * (COUNTS_PER_UV if adc else 1.0)
        lo, hi = (2.0, 40.0) if adc else (0.0, 10.0)
        u = rng.random()
        offset = 3 * u * (1.0 if adc else 0.3) if u < 1 / 3 else lo + (hi - lo) * (1.5 * u - 0.5)
    else:
        scale = gain * board * (COUNTS_PER_UV if adc else 1.0)
        offset = ADC_MIDRAIL + rng.uniform(-40.0, 40.0) if adc else rng.uniform(-50.0, 50.0)
    if not adc:
        scale *= VOLT_UNITS[volt_units]
        offset *= VOLT_UNITS[volt_units]
    cutoff, order = loguniform(rng, 2.5, 10.0), int(rng.integers(1, 3))
    return FrontEnd(sensor, adc, scale, offset, cutoff, order, volt_units)


def quantise(x: np.ndarray) -> np.ndarray:
    """A 10-bit ADC: round to integer counts and clip to 0..ADC_MAX (in place)."""
    np.rint(x, out=x)
    np.clip(x, 0.0, ADC_MAX, out=x)
    return x


# --- mains -----------------------------------------------------------------------------------


@dataclass
class Mains:
    hz: float
    amp_uv: np.ndarray  # per channel
    harmonics: np.ndarray  # relative amplitude of harmonics 1..5
    phase: np.ndarray  # per harmonic
    am: Curve  # slow amplitude modulation (people and cables move)
    _tables: dict = field(default_factory=dict, repr=False)

    def render(self, t: np.ndarray, ch: int) -> np.ndarray:
        """Fundamental plus harmonics below Nyquist.

        sin(k w (t0 + n/fs) + phase) = sin(k w n/fs) cos(k w t0 + phase) + cos(k w n/fs) sin(...):
        the per-sample tables depend only on the block length, so each block costs two
        multiply-adds per harmonic instead of a sine each.
        """
        if self.amp_uv[ch] <= 0 or self.hz <= 0 or len(t) == 0:
            return np.zeros_like(t)
        n = len(t)
        dt = (t[-1] - t[0]) / (n - 1) if n > 1 else 1e-3
        key = (n, round(1.0 / dt, 6))
        tables = self._tables.get(key)
        if tables is None:
            ks = [
                k
                for k in range(1, len(self.harmonics) + 1)
                if self.harmonics[k - 1] > 0 and k * self.hz < 0.5 / dt
            ]
            arg = 2 * np.pi * self.hz * dt * np.arange(n)
            tables = [(k, np.sin(k * arg), np.cos(k * arg)) for k in ks]
            self._tables = {key: tables}  # one block length at a time (the last block differs)
        out = np.zeros(n)
        for k, sn, cs in tables:
            ph = k * 2 * np.pi * self.hz * t[0] + self.phase[k - 1]
            a = self.harmonics[k - 1]
            out += (a * np.cos(ph)) * sn
            out += (a * np.sin(ph)) * cs
        out *= self.amp_uv[ch] * self.am.at(t)
        return out


def draw_mains(
    rng: np.random.Generator, hz: float, quality: np.ndarray, duration_s: float
) -> Mains:
    n_ch = len(quality)
    hz = hz * (1 + rng.uniform(-0.0008, 0.0008))  # grid frequency is never exact
    amp = np.array([loguniform(rng, 0.3, 25.0) / q for q in quality]) if hz > 0 else np.zeros(n_ch)
    harmonics = np.array(
        [1.0, rng.uniform(0, 0.2), rng.uniform(0.02, 0.5), rng.uniform(0, 0.1), rng.uniform(0, 0.3)]
    )
    am = np.exp(0.3 * smooth_noise(rng, int(duration_s * SLOW_FS) + 2, 60.0, SLOW_FS))
    return Mains(hz, amp, harmonics, rng.uniform(0, 2 * np.pi, 5), Curve(0.0, SLOW_FS, am))


# --- ECG ---------------------------------------------------------------------------------------


@dataclass
class Ecg:
    beats: np.ndarray  # R-peak times, s
    amp_uv: np.ndarray  # per channel (0: no contamination)
    template_s: np.ndarray  # template time axis relative to the R peak
    template: np.ndarray  # unit-amplitude QRS-T shape sampled at template_fs
    template_fs: float

    def render(self, t0: float, n: int, fs: float, ch: int) -> np.ndarray:
        out = np.zeros(n)
        if self.amp_uv[ch] == 0:  # the sign is the lead's polarity: negative ones pick it up too
            return out
        pre = -self.template_s[0]
        post = self.template_s[-1]
        i0, i1 = np.searchsorted(self.beats, [t0 - post, t0 + n / fs + pre])
        if i1 <= i0:
            return out
        m = int((pre + post) * fs)
        shape = np.interp(np.arange(m) / fs - pre, self.template_s, self.template)
        starts = np.rint((self.beats[i0:i1] - pre - t0) * fs).astype(np.int64)
        idx = starts[:, None] + np.arange(m)[None, :]
        ok = (idx >= 0) & (idx < n)
        np.add.at(out, idx[ok], np.broadcast_to(shape, idx.shape)[ok])
        return out * self.amp_uv[ch]


def draw_ecg(
    rng: np.random.Generator,
    n_ch: int,
    duration_s: float,
    enabled: bool | None,
    sleep: bool,
    amp_uv: float | None = None,
    intermittent: bool = False,
) -> Ecg:
    present = rng.random(n_ch) < 0.3 if enabled is None else np.full(n_ch, bool(enabled))
    amp = np.where(present, [loguniform(rng, 4.0, 200.0) for _ in range(n_ch)], 0.0)
    if amp_uv is not None:  # fixed after the draw, so every other draw stays the same
        amp = np.where(present, float(amp_uv), 0.0)
    amp *= rng.choice([-1.0, 1.0], n_ch)
    hr = rng.uniform(48, 68) if sleep else rng.uniform(58, 95)
    n_beats = int(duration_s * hr / 60 * 1.3) + 10
    rr = 60.0 / hr * (1 + 0.04 * rng.standard_normal(n_beats))
    rr *= 1 + 0.05 * np.sin(2 * np.pi * np.cumsum(rr) / rng.uniform(3.5, 6.0))  # respiratory
    beats = rng.uniform(0, 1) + np.cumsum(rr)
    beats = beats[beats < duration_s + 1]
    tfs = 1000.0
    ts = np.arange(-0.1, 0.4, 1 / tfs)
    w = rng.uniform(0.8, 1.3)

    def g(c: float, s: float) -> np.ndarray:
        return np.exp(-0.5 * ((ts - c) / (s * w)) ** 2)

    tpl = -0.12 * g(-0.025, 0.008) + g(0.0, 0.009) - rng.uniform(0.1, 0.4) * g(0.03, 0.01)
    tpl += rng.uniform(0.05, 0.3) * g(rng.uniform(0.22, 0.3), 0.04)
    if intermittent:  # picked up for minutes at a time (posture, electrode contact), then not
        sub = np.random.default_rng(rng.integers(2**63))  # only here: other draws stay
        lengths = sub.uniform(120.0, 480.0, int(duration_s / 120.0) + 2)
        edges = sub.uniform(0.0, 300.0) + np.concatenate([[0.0], np.cumsum(lengths)])
        on = np.searchsorted(edges, beats, side="right") % 2 == 1  # on, off, on, off...
        beats = beats[on]
    return Ecg(beats, amp, ts, tpl, tfs)


# --- slow curves, pops, lead-off, stray motion ------------------------------------------------


def draw_wander(
    rng: np.random.Generator, quality: float, duration_s: float, enabled: bool
) -> Curve:
    """Baseline wander (< 1 Hz): slow electrode drift plus sometimes breathing."""
    n = int(duration_s * SLOW_FS) + 2
    if not enabled:
        return Curve(0.0, SLOW_FS, np.zeros(n))
    amp = loguniform(rng, 2.0, 120.0) / quality
    x = smooth_noise(rng, n, rng.uniform(2.0, 30.0), SLOW_FS)
    x += 0.3 * smooth_noise(rng, n, 0.5, SLOW_FS)
    if rng.random() < 0.4:
        x += rng.uniform(0.2, 1.0) * np.sin(
            2 * np.pi * rng.uniform(0.15, 0.35) * np.arange(n) / SLOW_FS
        )
    return Curve(0.0, SLOW_FS, amp * x)


def pop(rng: np.random.Generator, fs: float, ch: int, n_ch: int, quality: float) -> Event:
    """Electrode pop: an abrupt step decaying over tens of ms to a second or two."""
    tau = loguniform(rng, 0.03, 1.5)
    n = int(min(5 * tau, 6.0) * fs)
    amp = loguniform(rng, 30.0, 3000.0) / np.sqrt(quality) * rng.choice([-1.0, 1.0])
    x = amp * np.exp(-np.arange(n) / (tau * fs))
    x[-1] = 0.0
    w = np.zeros(n_ch)
    w[ch] = 1.0
    return Event(0.0, fs, x, w, "add")


def pop_truth_end(ev: Event) -> float:
    """Pops are labelled until they have decayed to 10 % of the step."""
    above = np.flatnonzero(np.abs(ev.values) >= 0.1 * np.abs(ev.values[0]))
    return ev.start + (above[-1] + 1) / ev.rate


@dataclass(frozen=True)
class LeadOff:
    start: float
    end: float
    channel: int
    mode: str  # "flat" | "rail_high" | "rail_low" | "floating"

    def truth(self, names: list[str]) -> TruthArtifact:
        return TruthArtifact(self.start, self.end, "lead_off", names[self.channel])


def lead_off_modes() -> tuple[str, ...]:
    return ("flat", "rail_high", "rail_low", "floating")
