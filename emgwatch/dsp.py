"""Causal conditioning of surface EMG: from native-rate samples to one fixed analysis stream.

Every full-band input rate (500-4000 Hz) is brought to the same analysis rate and band before any
feature is computed, so a recording at 500 Hz and one at 4 kHz of the same muscle give the same
features:
anti-alias low-pass at the native rate, pick (integer ratio) or cubic-interpolate (any other
ratio) down to ``ANALYSIS_FS_HZ``, then high-pass and mains notches there. The common band is
20-200 Hz: the upper edge has to sit below the Nyquist frequency of the slowest full-band rate,
and it still holds most sEMG power (50-150 Hz). Slower recordings (200-500 Hz, the leg EMG of
sleep studies) are interpolated *up* to the analysis rate; their band ends at 0.45 x their rate,
and a second low-pass at the analysis rate removes the images that interpolation leaves above
it. What they lack above that edge is lost, not made up.

Decisions that change the whole stream (sensor type, mains frequency, quantisation step) are
taken once, on exactly the first ``DECISION_S`` seconds of samples — or, when the sensor type is
auto-detected and those seconds are ambiguous (a resting raw channel with strong baseline wander
looks much like a resting envelope output), on the first ``DECISION_STEPS_S`` checkpoint whose
evidence is clear, at most ``DECISION_STEPS_S[-1]`` seconds. The checkpoints are fixed sample
counts, so the decision cannot depend on how the stream was chunked; output is held back until
then (a delay at session start only: held samples are processed, not dropped). All filters are IIR second-order
sections whose state is carried between pushes (``sosfilt`` with ``zi``), so pushing one big
block or a thousand small ones gives the same samples bit for bit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import signal

from emgwatch.block import Block
from emgwatch.domain import (
    ADC_FULL_SCALES,
    EMG_BAND_HZ,
    FS_FULL_BAND_HZ,
    FS_TOLERANCE,
    MAINS_CHOICES_HZ,
    SENSORS,
    fs_out_of_range,
)
from emgwatch.errors import EmgwatchError, UsageError

log = logging.getLogger(__name__)

# The analysis stream every input rate is converted to (see module docstring).
ANALYSIS_FS_HZ = 500.0
ANALYSIS_BAND_HZ = (EMG_BAND_HZ[0], 200.0)
MAINS_DEFAULT_HZ = MAINS_CHOICES_HZ[0]  # used when no mains peak is found in the decision window
NOTCH_Q = 30.0  # ~1.7 Hz wide at 50 Hz: removes hum, keeps almost all EMG power
DECISION_S = 2.0  # sensor type, mains frequency and quantisation step are decided on this much data
# ...unless the sensor evidence is weaker than this (|log-odds|); then on more data, at these
# checkpoints (seconds from the stream start), the last one deciding whatever the evidence.
SENSOR_EVIDENCE_MIN = 0.5
DECISION_STEPS_S = (DECISION_S, 4.0, 8.0, 10.0)
# A block whose start time is further than this from the expected one starts a new segment.
TIME_TOLERANCE_S = 0.05


def band_top_hz(fs_hz: float) -> float:
    """Upper edge of the band a recording at ``fs_hz`` gives the analysis: 200 Hz, or 0.45 x the
    rate when that is lower (below ``domain.FS_FULL_BAND_HZ``)."""
    return min(ANALYSIS_BAND_HZ[1], 0.45 * fs_hz)


def narrow_band_note(fs_hz: float) -> str | None:
    """What a recording slower than the full-band rate lacks, in words (None if nothing)."""
    if fs_hz >= FS_FULL_BAND_HZ * (1 - FS_TOLERANCE):
        return None
    return (
        f"sampled at {fs_hz:.6g} Hz, below {FS_FULL_BAND_HZ:g} Hz: muscle activity above "
        f"{band_top_hz(fs_hz):.0f} Hz is not in the recording, so spasms, cramps and voluntary "
        "effort are told apart less surely (leg movements in sleep were measured at 200-256 Hz: "
        "docs/ACCURACY.md)"
    )


def antialias_sos(fs_hz: float) -> np.ndarray:
    """Elliptic low-pass: flat to 200 Hz, -60 dB by ~230 Hz so 60 Hz harmonics cannot alias in
    (below 444 Hz: flat to ``band_top_hz``, -60 dB about 15 % above it)."""
    return signal.ellip(6, 0.1, 60.0, band_top_hz(fs_hz), fs=fs_hz, output="sos")


def images_sos(fs_hz: float) -> np.ndarray:
    """At the analysis rate, for a slower recording: the same low-pass at its band's top, so the
    images that interpolating up leaves between that and 250 Hz do not pass for muscle."""
    if fs_hz >= ANALYSIS_FS_HZ:
        return np.zeros((0, 6))
    return signal.ellip(6, 0.1, 60.0, band_top_hz(fs_hz), fs=ANALYSIS_FS_HZ, output="sos")


def highpass_sos() -> np.ndarray:
    """EMG high-pass at the analysis rate; also removes the ADC mid-rail offset and motion wander."""
    return signal.butter(4, ANALYSIS_BAND_HZ[0], "highpass", fs=ANALYSIS_FS_HZ, output="sos")


def notch_sos(mains_hz: float) -> np.ndarray:
    """Notches at the mains frequency and every harmonic below the analysis Nyquist frequency."""
    sections = []
    k = 1
    while mains_hz > 0 and k * mains_hz < 0.49 * ANALYSIS_FS_HZ:
        b, a = signal.iirnotch(k * mains_hz, NOTCH_Q, fs=ANALYSIS_FS_HZ)
        sections.append(signal.tf2sos(b, a))
        k += 1
    return np.vstack(sections) if sections else np.zeros((0, 6))


def dc_gain(sos: np.ndarray) -> float:
    return float(np.prod([s[:3].sum() / s[3:].sum() for s in sos])) if len(sos) else 1.0


def _kernel_works() -> bool:
    try:
        from scipy.signal._sosfilt import _sosfilt

        sos = signal.butter(2, 0.2, output="sos")
        x = np.ones((1, 8))
        zi = np.zeros((1, 1, 2))
        _sosfilt(sos, x, zi)
        ref, _ = signal.sosfilt(sos, np.ones((1, 8)), axis=-1, zi=np.zeros((1, 1, 2)))
        return bool(np.array_equal(x, ref))
    except Exception:  # private API moved or changed: use the public one
        return False


# scipy's public sosfilt spends ~100 us per call validating and moving axes, which is most of the
# cost of a 50 ms live push; its compiled kernel (the same arithmetic) is used when it is there.
if _kernel_works():
    from scipy.signal._sosfilt import _sosfilt as _SOSFILT_KERNEL
else:  # pragma: no cover
    _SOSFILT_KERNEL = None


class SosFilter:
    """A cascade of second-order sections with its state; channels first, samples last."""

    def __init__(self, sos: np.ndarray) -> None:
        self.sos = np.ascontiguousarray(sos, dtype=float)
        self._zi_unit = signal.sosfilt_zi(self.sos) if len(self.sos) else None
        self.zi: np.ndarray | None = None  # (channels, sections, 2)

    def reset(self, x0: np.ndarray) -> None:
        """Start in the steady state for a constant input ``x0`` (per channel): no start-up step."""
        if self._zi_unit is not None:
            x0 = np.asarray(x0, dtype=float)
            self.zi = np.ascontiguousarray(self._zi_unit[None, :, :] * x0[:, None, None])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self._zi_unit is None:
            return x
        if self.zi is None:
            self.reset(x[:, 0])
        if _SOSFILT_KERNEL is not None:
            y = np.array(x, dtype=float, order="C")  # filtered in place
            _SOSFILT_KERNEL(self.sos, y, self.zi)
            return y
        y, zf = signal.sosfilt(self.sos, x, axis=-1, zi=self.zi.transpose(1, 0, 2))
        self.zi = np.ascontiguousarray(zf.transpose(1, 0, 2))
        return y


def native_position(j, ratio: float):  # noqa: ANN001, ANN201 - an int or an index array
    """Where output ``j`` of a segment sits among the native samples (``ratio`` = native /
    analysis rate): ``(j + 1) * ratio - 1``, or ``j * ratio`` when the native rate is the slower
    one, so that no output sits before the first sample. Written for full-band rates as before
    slower ones were read, so their outputs stay bit for bit."""
    return (j + 1) * ratio - 1 if ratio >= 1.0 else j * ratio


class AnalysisRateConverter:
    """Native rate to ``ANALYSIS_FS_HZ`` on an anti-aliased stream, chunk-invariant.

    Output sample ``j`` of a segment sits at native position ``(j + 1) * r - 1`` (``r`` = native /
    analysis rate; ``j * r`` when the native rate is the slower one, so that no output sits before
    the first sample), computed from ``j`` alone, so its value never depends on where a chunk
    ended. Integer ratios pick samples; other ratios use Catmull-Rom cubic interpolation, which
    waits for two samples of look-ahead.
    """

    def __init__(self, fs_hz: float) -> None:
        self.fs_hz = float(fs_hz)
        self.ratio = self.fs_hz / ANALYSIS_FS_HZ
        self.integer = abs(self.ratio - round(self.ratio)) < 1e-9
        self.reset()

    def reset(self) -> None:
        self.n_in = 0  # native samples consumed in this segment
        self.j = 0  # next output index in this segment
        self._tail: np.ndarray | None = None  # last native samples (fractional ratio only)
        self._raw_tail: np.ndarray | None = None
        self._bad_tail: np.ndarray | None = None

    def positions(self, n_available: int) -> tuple[np.ndarray, np.ndarray]:
        """Output indices j and their native positions that the first ``n_available`` allow."""
        if self.integer:
            r = round(self.ratio)
            j_end = n_available // r
            j = np.arange(self.j, j_end)
            return j, ((j + 1) * r - 1).astype(float)
        # floor(pos) + 2 <= n_available - 1  <=>  pos(j) < n_available - 2
        r = self.ratio
        j_end = max(int(np.ceil((n_available - 2 - native_position(0, r)) / r)), self.j)
        while j_end > self.j and native_position(j_end - 1, r) >= n_available - 2:
            j_end -= 1
        while native_position(j_end, r) < n_available - 2:
            j_end += 1
        j = np.arange(self.j, j_end)
        return j, native_position(j, r)

    def __call__(
        self, y: np.ndarray, raw: np.ndarray, bad: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(positions, y_out, raw_out, bad_out) for native chunk ``y``/``raw`` (channels, n)."""
        n = y.shape[1]
        j, pos = self.positions(self.n_in + n)
        if self.integer:
            local = pos.astype(np.int64) - self.n_in
            y_out = y[:, local]
            raw_out = raw[:, local]
            bad_out = None
            if bad is not None:
                # any bad native sample since the previous output sample
                r = round(self.ratio)
                start = np.maximum(local - r + 1, 0)
                c = np.concatenate([np.zeros((bad.shape[0], 1)), np.cumsum(bad, axis=1)], axis=1)
                bad_out = (c[:, local + 1] - c[:, start]) > 0
        else:
            keep = 4  # the next output may need one sample before the last consumed floor
            if self._tail is None:
                tail = np.repeat(y[:, :1], 0, axis=1)
                raw_tail = np.repeat(raw[:, :1], 0, axis=1)
                bad_tail = np.zeros((y.shape[0], 0), dtype=bool)
            else:
                tail, raw_tail, bad_tail = self._tail, self._raw_tail, self._bad_tail
            buf = np.concatenate([tail, y], axis=1)
            rbuf = np.concatenate([raw_tail, raw], axis=1)
            bbuf = np.concatenate(
                [bad_tail, bad if bad is not None else np.zeros(y.shape, dtype=bool)], axis=1
            )
            base = self.n_in - tail.shape[1]
            i1 = np.floor(pos).astype(np.int64) - base
            frac = pos - np.floor(pos)
            last = buf.shape[1] - 1
            i0 = np.clip(i1 - 1, 0, last)
            i2 = np.clip(i1 + 1, 0, last)
            i3 = np.clip(i1 + 2, 0, last)
            p0, p1, p2, p3 = buf[:, i0], buf[:, i1], buf[:, i2], buf[:, i3]
            t = frac
            y_out = p1 + 0.5 * t * (
                p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0))
            )
            near = np.clip(np.rint(pos).astype(np.int64) - base, 0, last)
            raw_out = rbuf[:, near]
            bad_out = (bbuf[:, i1] | bbuf[:, i2]) if bad is not None or bad_tail.any() else None
            self._tail = buf[:, -keep:]
            self._raw_tail = rbuf[:, -keep:]
            self._bad_tail = bbuf[:, -keep:]
        self.n_in += n
        self.j += len(j)
        return pos, y_out, raw_out, bad_out


def fresh_samples(k: np.ndarray, fs_hz: float) -> np.ndarray | None:
    """For a recording slower than the analysis rate: which analysis samples (by their index
    ``k`` in the segment) take a native sample that the one before did not (the converter's
    nearest native sample to ``native_position``). None at full-band rates, where every one
    does."""
    r = fs_hz / ANALYSIS_FS_HZ
    if r >= 1.0:
        return None
    k = np.asarray(k)
    return (np.rint(native_position(k, r)) != np.rint(native_position(k - 1, r))) | (k == 0)


@dataclass
class Conditioned:
    """Analysis-rate output of one push: all arrays are (channels, m) except ``t`` and ``k``."""

    t: np.ndarray  # time of each analysis sample (s since session start)
    k: np.ndarray  # index of each analysis sample within its segment (0 = segment start)
    y: np.ndarray  # conditioned signal (band-passed and notched; the envelope itself for sensors
    #              that output one)
    raw: np.ndarray  # the input sample at that position (non-finite values held), for quality
    mains: np.ndarray  # raw sensors: what the notches removed; envelope sensors: content > 20 Hz
    bad: np.ndarray | None  # True where a non-finite input sample was replaced (None: none)


def detect_mains(x: np.ndarray, fs_hz: float) -> float:
    """50 or 60 from the decision window if a hum line stands out, else 0.0."""
    x = np.asarray(x, dtype=float)
    if x.shape[-1] < fs_hz * 0.5:
        return 0.0
    x = x - x.mean(axis=-1, keepdims=True)
    n = x.shape[-1]
    spec = (np.abs(np.fft.rfft(x * np.hanning(n), axis=-1)) ** 2).sum(axis=0)
    f = np.fft.rfftfreq(n, 1.0 / fs_hz)
    band = (f > 30) & (f < min(400.0, fs_hz / 2))
    ref = np.median(spec[band]) + 1e-300
    best, best_score = 0.0, 10.0  # a line must stand 10x above the median EMG bin
    for mains in MAINS_CHOICES_HZ:
        score = 0.0
        for h in (1, 2, 3):
            if h * mains < fs_hz / 2:
                near = np.abs(f - h * mains) <= 1.0
                score = max(score, spec[near].max() / ref if near.any() else 0.0)
        if score > best_score:
            best, best_score = mains, score
    return best


def quantisation_step(x: np.ndarray) -> np.ndarray:
    """Smallest step between distinct values per channel (1 for ADC counts; 0 for a flat line).

    It sets a noise floor under the baseline, so a quantised quiet channel cannot produce a
    baseline of exactly zero (and infinite dB) — and it scales with gain like everything else.
    """
    out = np.zeros(x.shape[0])
    for c in range(x.shape[0]):
        v = np.unique(x[c][np.isfinite(x[c])])
        if v.size > 1:
            out[c] = float(np.min(np.diff(v)))
    return out


def adc_full_scale(x: np.ndarray) -> int | None:
    """The smallest ADC full scale (``ADC_FULL_SCALES``) that integer samples >= 0 fit, or None
    when they are not ADC counts: an Arduino-class board's raw counts."""
    v = x[np.isfinite(x)]
    if not v.size or v.min() < 0 or not np.all(v == np.round(v)):
        return None
    return next((full for full in ADC_FULL_SCALES if v.max() <= full), None)


def detect_sensor(x: np.ndarray, fs_hz: float) -> str:
    """ "raw" or "envelope" from the decision window (channels, n); see ``sensor_evidence``."""
    return sensor_from(channel_evidence(x, fs_hz))


def sensor_from(evidence: list[float | None]) -> str:
    """The decision from each channel's evidence (``channel_evidence``): their sum < 0 is an
    envelope output; a tie goes to "raw"."""
    return "envelope" if _total(evidence) < 0 else "raw"


def split_sensors(
    evidence: list[float | None], spectral: list[float | None], pooled: str
) -> list[str] | None:
    """Each channel's own sensor type when the channels clearly disagree, else None.

    ``evidence`` is ``channel_evidence`` as decided, ``spectral`` the same from the spectrum
    alone (they are one reading except for ADC counts, where the median decides). A channel is
    surely raw when both readings say so: the median alone misreads an envelope board with a
    large offset. It is surely an envelope when the decided reading says so: an envelope output
    at rest is flat but for the ADC's flicker, whose spectrum is white, so the spectrum cannot
    confirm it, while a raw front end never sits near 0 V. A channel that is neither (flat,
    empty, ambiguous) takes the pooled decision.
    """
    raw = [
        e is not None and s is not None and e >= 0.5 and s >= 0.5
        for e, s in zip(evidence, spectral, strict=True)
    ]
    env = [e is not None and e <= -0.5 for e in evidence]
    if not (any(raw) and any(env)):
        return None
    return ["raw" if r else "envelope" if v else pooled for r, v in zip(raw, env, strict=True)]


def _total(evidence: list[float | None]) -> float:
    return float(sum(e for e in evidence if e is not None))


def sensor_evidence(x: np.ndarray, fs_hz: float) -> float:
    """Log-odds that the decision window (channels, n) comes from a raw sensor (< 0: envelope).

    ADC counts: raw front ends are biased to mid-rail, envelope outputs sit just above 0 V, so the
    median decides (robust even at rest and at very low gain, where the spectrum is only
    quantisation noise). Other units: a raw channel has most of its 3-200 Hz power above 20 Hz
    (up to ``band_top_hz`` for a slower recording, against a share scaled to the band it keeps),
    an envelope output (cut off at 2-10 Hz) has almost none. Channels add their log-evidence, so
    one clear channel outweighs an ambiguous one; a tie goes to "raw".
    """
    return _total(channel_evidence(x, fs_hz))


def channel_evidence(
    x: np.ndarray, fs_hz: float, *, spectral_only: bool = False
) -> list[float | None]:
    """Each channel's log-evidence for a raw sensor, clamped to +-3 (None: no evidence).

    ``spectral_only``: from the spectrum even for ADC counts, whose median (mid-rail or near
    0 V) decides otherwise but misleads for an envelope board with a large offset."""
    x = np.asarray(x, dtype=float)
    out: list[float | None] = []
    for c in range(x.shape[0]):
        xc = x[c][np.isfinite(x[c])]
        if xc.size < 16 or np.ptp(xc) == 0:
            out.append(None)  # a dead or unplugged channel (flat, empty) says nothing
            continue
        full = None if spectral_only else adc_full_scale(xc)
        if full is not None:
            # the median sits at mid-rail (raw) or near 0 V (envelope): a factor of 2 either side
            # of a quarter of the range is already clear, hence the steeper scale
            ratio = (max(float(np.median(xc)), 0.5) / ((full + 1) / 4)) ** 3
        else:
            xc = xc - np.median(xc)
            f, p = signal.welch(xc, fs_hz, nperseg=min(xc.size, int(fs_hz / 2)))
            top = band_top_hz(fs_hz)  # what a slow recording holds
            total = p[(f >= 3) & (f <= top)].sum()
            if total <= 0:
                out.append(None)  # flat: no evidence
                continue
            high = p[(f >= EMG_BAND_HZ[0]) & (f <= top)].sum()
            # a slow recording keeps only part of the muscle's band (taken as even over it)
            kept = (top - EMG_BAND_HZ[0]) / (ANALYSIS_BAND_HZ[1] - EMG_BAND_HZ[0])
            ratio = max(high / total, 1e-6) / (0.45 * kept)
        out.append(float(np.clip(np.log(ratio), -3.0, 3.0)))
    return out


class Conditioner:
    """Blocks at the native rate in, analysis-rate conditioned samples out (see module docstring).

    Bad input is handled here, once: non-finite samples are replaced by the last finite value and
    counted; a block whose ``t0`` jumps ahead is a gap (filters restart, segment restarts); a block
    that overlaps the previous one has its repeated samples dropped.
    """

    def __init__(
        self, fs_hz: float, n_channels: int, *, sensor: str = "auto", mains_hz: float = 0.0
    ) -> None:
        if (problem := fs_out_of_range(fs_hz)) is not None:
            raise UsageError(problem)
        if sensor not in (*SENSORS, "auto"):
            raise UsageError(f"sensor must be raw, envelope or auto, got {sensor!r}")
        if mains_hz not in (0.0, *MAINS_CHOICES_HZ):
            raise UsageError(f"mains_hz must be 0 (detect), 50 or 60, got {mains_hz:g}")
        self.fs_hz = float(fs_hz)
        self.n_channels = int(n_channels)
        self.sensor: str | None = None if sensor == "auto" else sensor
        # per channel, when the channels clearly came from different sensor types (a MyoWare's
        # RAW and ENV outputs side by side); None when one type serves them all
        self.channel_sensors: list[str] | None = None
        self.mains_hz: float | None = float(mains_hz) if mains_hz else None
        self.q: np.ndarray | None = None  # quantisation step per channel, once decided
        self.stats = {"nonfinite": 0, "gaps": 0, "overlap_dropped": 0}
        self._held: list[tuple] = []  # sanitised blocks waiting for the decision
        self._held_n = 0
        self._step = 0  # index into DECISION_STEPS_S of the checkpoint being waited for
        # each channel's sensor evidence at the checkpoint that settled the decision
        self._evidence: list[float | None] | None = None
        self._last = np.zeros(self.n_channels)  # last finite value (non-finite replacement)
        self._have_last = np.zeros(self.n_channels, dtype=bool)
        self._bad: np.ndarray | None = None  # which samples of the last block were not finite
        self._expected_t0: float | None = None
        self._seg_t0 = 0.0
        self._aa = SosFilter(antialias_sos(self.fs_hz))
        self._conv = AnalysisRateConverter(self.fs_hz)
        self._images = SosFilter(images_sos(self.fs_hz))
        self._hp: SosFilter | None = None
        self._notch: SosFilter | None = None
        self._new_segment = True

    @property
    def decided(self) -> bool:
        return self.q is not None

    # --- input hygiene ----------------------------------------------------------------------
    def _sanitise(self, block: Block) -> tuple[np.ndarray, float, bool] | None:
        if block.data.shape[1] != self.n_channels:
            raise EmgwatchError(
                f"block has {block.data.shape[1]} channels, the pipeline was set up for "
                f"{self.n_channels}"
            )
        if abs(block.fs - self.fs_hz) > 1e-6 * self.fs_hz:
            raise EmgwatchError(
                f"block sampling rate {block.fs:g} Hz differs from the pipeline's {self.fs_hz:g} Hz"
            )
        x = np.array(block.data, dtype=float).T  # (channels, n), own copy
        t0, gap = float(block.t0), bool(block.gap_before)
        if self._expected_t0 is not None and not gap:
            dt = t0 - self._expected_t0
            if dt > TIME_TOLERANCE_S:
                log.warning("gap of %.3f s before t=%.3f s: filters restart", dt, t0)
                gap = True
            elif dt < -TIME_TOLERANCE_S:
                drop = int(round(-dt * self.fs_hz))
                self.stats["overlap_dropped"] += min(drop, x.shape[1])
                log.warning("block at t=%.3f s repeats %d samples already seen: dropped", t0, drop)
                if drop >= x.shape[1]:
                    return None
                x = x[:, drop:]
                t0 = self._expected_t0
        if gap and self._expected_t0 is not None:
            self.stats["gaps"] += 1
        if x.shape[1] == 0:
            return None
        self._expected_t0 = t0 + x.shape[1] / self.fs_hz
        finite = np.isfinite(x)
        if not finite.all():
            n_bad = int(x.size - finite.sum())
            self.stats["nonfinite"] += n_bad
            first_bad = int(np.argmin(finite.all(axis=0)))
            continuing = self._bad is not None and bool(first_bad == 0) and self._bad[:, -1].any()
            # a channel with no value yet has no last one to hold: say so, not "the last value"
            hollow = np.flatnonzero(~self._have_last & ~finite.any(axis=1)) + 1
            (log.debug if continuing else log.warning)(  # a long empty stretch: one line
                "%d non-finite samples from t=%.3f s replaced by the last finite value%s",
                n_bad,
                t0 + first_bad / self.fs_hz,
                f" (channel {', '.join(map(str, hollow))}: no value at all yet, held at 0)"
                if hollow.size
                else "",
            )
            idx = np.where(finite, np.arange(x.shape[1])[None, :], -1)
            idx = np.maximum.accumulate(idx, axis=1)
            first_ok = np.where(finite.any(axis=1), np.argmax(finite, axis=1), 0)
            fill = np.where(self._have_last, self._last, x[np.arange(x.shape[0]), first_ok])
            fill = np.where(np.isfinite(fill), fill, 0.0)
            x = np.where(idx >= 0, np.take_along_axis(x, np.maximum(idx, 0), axis=1), fill[:, None])
            x = np.where(np.isfinite(x), x, 0.0)
            self._bad = ~finite
        else:
            self._bad = None
        self._last = x[:, -1].copy()
        self._have_last[:] = True
        return x, t0, gap

    # --- streaming ----------------------------------------------------------------------------
    def push(self, block: Block) -> list[Conditioned]:
        clean = self._sanitise(block)
        if clean is None:
            return []
        x, t0, gap = clean
        if not self.decided:
            self._held.append((x, t0, gap, self._bad))
            self._held_n += x.shape[1]
            if not self._ready_to_decide():
                return []
            return self._decide_and_release()
        out = self._process(x, t0, gap, self._bad)
        return [out] if out is not None else []

    def flush(self) -> list[Conditioned]:
        if not self.decided and self._held:
            return self._decide_and_release()
        return []

    def _ready_to_decide(self) -> bool:
        """Whether enough samples are held: the first checkpoint, and while the sensor evidence
        stays weak, the next ones (fixed sample counts, so chunking cannot change the outcome)."""
        while self._held_n >= self._checkpoint_n():
            if self.sensor is not None or self._step + 1 >= len(DECISION_STEPS_S):
                return True
            first = np.concatenate([h[0] for h in self._held], axis=1)[:, : self._checkpoint_n()]
            evidence = channel_evidence(first, self.fs_hz)
            if abs(_total(evidence)) >= SENSOR_EVIDENCE_MIN:
                self._evidence = evidence  # of exactly the samples the decision reads
                return True
            self._step += 1
        return False

    def _checkpoint_n(self) -> int:
        return int(round(DECISION_STEPS_S[self._step] * self.fs_hz))

    def _decide_and_release(self) -> list[Conditioned]:
        n_dec = self._checkpoint_n()
        first = np.concatenate([h[0] for h in self._held], axis=1)[:, :n_dec]
        if self.sensor is None:
            evidence = self._evidence
            if evidence is None:  # decided at the last checkpoint or by a flush
                evidence = channel_evidence(first, self.fs_hz)
            self.sensor = sensor_from(evidence)
            log.info(
                "sensor type detected from the first %.1f s: %s",
                first.shape[1] / self.fs_hz,
                self.sensor,
            )
            if self.n_channels > 1:  # one channel is one sensor type
                self.channel_sensors = split_sensors(
                    evidence, channel_evidence(first, self.fs_hz, spectral_only=True), self.sensor
                )
        if self.mains_hz is None:
            found = detect_mains(first, self.fs_hz) if self.sensor == "raw" else 0.0
            self.mains_hz = found or MAINS_DEFAULT_HZ
            log.info(
                "mains %s: notch at %g Hz and harmonics",
                "detected" if found else "not detected, default",
                self.mains_hz,
            )
        self.q = quantisation_step(first)
        self._hp = SosFilter(highpass_sos())
        if self.sensor == "raw":
            self._notch = SosFilter(notch_sos(self.mains_hz))
        held, self._held = self._held, []
        outs = [self._process(*h) for h in held]
        return [o for o in outs if o is not None]

    def _process(
        self, x: np.ndarray, t0: float, gap: bool, bad: np.ndarray | None
    ) -> Conditioned | None:
        if gap or self._new_segment:
            self._aa.reset(x[:, 0])
            self._conv.reset()
            self._seg_t0 = t0
            self._x0 = x[:, 0].copy()
            self._k0_pending = True
            self._new_segment = False
        a = self._aa(x)
        j0 = self._conv.j
        pos, y, raw, bad_out = self._conv(a, x, bad)
        if y.shape[1] == 0:
            return None
        if self._k0_pending:
            level = self._x0 * dc_gain(self._aa.sos)
            self._images.reset(level)
            self._hp.reset(level * dc_gain(self._images.sos))
            if self._notch is not None:
                self._notch.reset(np.zeros(self.n_channels))
            self._k0_pending = False
        h = self._hp(self._images(y))
        if self.sensor == "raw":
            y = self._notch(h)
            mains = h - y  # what the notches removed
        else:
            mains = h  # an envelope output has no business above 20 Hz: hum or a floating input
        t = self._seg_t0 + pos / self.fs_hz
        k = np.arange(j0, j0 + y.shape[1])
        # (channels, n) in C order whatever the path: the feature stage builds strided views
        y, raw, mains = (np.ascontiguousarray(a) for a in (y, raw, mains))
        return Conditioned(t=t, k=k, y=y, raw=raw, mains=mains, bad=bad_out)
