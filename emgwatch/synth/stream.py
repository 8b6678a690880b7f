"""Planning a recording up front and rendering it block by block.

The plan (episodes, artifacts, per-channel physiology, front end) is drawn first from the seed,
so the ground truth exists before a single sample does. Samples are then rendered in fixed
internal blocks, each with its own random stream derived from (seed, channel, block) and with
filter state carried across blocks; ``chunks(n)`` only re-slices those blocks. So the output is
identical whatever chunk size a consumer asks for, and memory stays bounded for an 8-hour night.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy import signal as sps

from emgwatch.block import Block
from emgwatch.domain import ADC_MAX, FS_FULL_BAND_HZ, MAINS_CHOICES_HZ, SENSORS, fs_out_of_range
from emgwatch.errors import UsageError
from emgwatch.recording import Recording
from emgwatch.synth import artifacts as art
from emgwatch.synth.episodes import Event, Group, Site, motion
from emgwatch.synth.scenarios import draw_rates, get_scenario
from emgwatch.synth.signal import (
    SLOW_FS,
    ChannelModel,
    Curve,
    draw_channel,
    fluctuation,
    loguniform,
    lowpass_sos,
    muap_gate,
    stage_levels,
)
from emgwatch.truth import Truth, TruthArtifact

log = logging.getLogger(__name__)

BLOCK_SAMPLES = 1 << 15
MAX_CHANNELS = 16
CLIP_MERGE_S = 0.25  # clipped runs closer than this are one clipping artifact


@dataclass
class _ChannelPlan:
    model: ChannelModel
    front: art.FrontEnd
    tone: Curve  # resting tone, fraction of MVC
    wander: Curve  # µV
    sos_a: np.ndarray
    sos_b: np.ndarray
    sos_floor: np.ndarray
    floor_norm: float
    sos_env: np.ndarray


@dataclass
class SynthStream:
    """A planned synthetic recording; iterate ``chunks(n)`` for its samples (any n, same data)."""

    scenario: str
    seed: int
    fs: float
    n_samples: int
    channel_names: list[str]
    truth: Truth
    units: str
    sensor: str
    start_time: datetime
    _channels: list[_ChannelPlan] = field(repr=False)
    _events: list[Event] = field(repr=False)
    _lead_offs: list[art.LeadOff] = field(repr=False)
    _mains: art.Mains = field(repr=False)
    _ecg: art.Ecg = field(repr=False)
    _planned_artifacts: list[TruthArtifact] = field(repr=False)

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def chunks(self, n_samples: int) -> Iterator[np.ndarray]:
        """Arrays of shape (n_samples, channels), the last one possibly shorter.

        ``truth.artifacts`` gains the ``clipping`` spans as they are rendered (they depend on the
        samples); every other truth entry is fixed before the first chunk.
        """
        if n_samples < 1:
            raise UsageError(f"chunk size must be >= 1 sample, got {n_samples}")
        self.truth.artifacts = list(self._planned_artifacts)
        pending = np.empty((0, len(self.channel_names)))
        for block in self._render():
            pending = block if len(pending) == 0 else np.concatenate([pending, block])
            while len(pending) >= n_samples:
                yield pending[:n_samples].copy()
                pending = pending[n_samples:]
        if len(pending):
            yield pending.copy()

    def blocks(self, block_s: float = 1.0) -> Iterator[Block]:
        """The stream as pipeline Blocks, as a simulated source delivers them."""
        step = max(1, int(round(block_s * self.fs)))
        i = 0
        for chunk in self.chunks(step):
            yield Block(t0=i / self.fs, fs=self.fs, data=chunk)
            i += len(chunk)

    # --- rendering -----------------------------------------------------------------------------

    def _render(self) -> Iterator[np.ndarray]:
        fs, n_ch = self.fs, len(self.channel_names)
        ev_start = np.array([e.start for e in self._events])
        ev_end = np.array([e.end for e in self._events])
        zi = []
        for c, cp in enumerate(self._channels):
            warm = np.random.default_rng([self.seed, 0xA11, c]).standard_normal((2, int(fs)))
            za = sps.sosfilt(cp.sos_a, warm[0], zi=np.zeros((cp.sos_a.shape[0], 2)))[1]
            zb = sps.sosfilt(cp.sos_b, warm[1], zi=np.zeros((cp.sos_b.shape[0], 2)))[1]
            zf = np.zeros((cp.sos_floor.shape[0], 2))
            ze = np.zeros((cp.sos_env.shape[0], 2))
            zi.append([za, zb, zf, ze])
        clip_open: list[list[float] | None] = [None] * n_ch
        for k in range(math.ceil(self.n_samples / BLOCK_SAMPLES)):
            i0 = k * BLOCK_SAMPLES
            n = min(BLOCK_SAMPLES, self.n_samples - i0)
            t = (i0 + np.arange(n)) / fs
            act = np.zeros((n_ch, n))
            mix = np.zeros((n_ch, n))
            add = np.zeros((n_ch, n))
            targets = {"env": act, "mix": mix, "add": add}
            for j in np.flatnonzero((ev_start <= t[-1]) & (ev_end >= t[0])):
                e = self._events[j]
                a = max(0, math.ceil((e.start - t[0]) * fs - 1e-9))
                b = min(n, math.floor((e.end - t[0]) * fs + 1e-9) + 1)
                if b <= a:
                    continue
                v = np.interp(
                    (t[a:b] - e.start) * e.rate, np.arange(len(e.values), dtype=float), e.values
                )
                tgt = targets[e.what]
                for c in np.flatnonzero(e.weights):
                    tgt[c, a:b] += e.weights[c] * v
            out = np.empty((n, n_ch))
            for c, cp in enumerate(self._channels):
                out[:, c] = self._render_channel(c, cp, k, t, act, mix, add, zi[c])
                if cp.front.adc:
                    clip_open[c] = self._track_clipping(c, t, out[:, c], clip_open[c], k == 0)
            yield out
        for c in range(n_ch):
            if clip_open[c] is not None:
                self._add_clip(c, clip_open[c])

    def _render_channel(self, c, cp: _ChannelPlan, k, t, act, mix, add, z) -> np.ndarray:
        m, fe = cp.model, cp.front
        n = len(t)
        rng = np.random.default_rng([self.seed, 0x5EED, c, k])
        g = rng.standard_normal((3, n))
        # cross-talk: a little of every other channel's activity
        a_mvc = cp.tone.at(t) + act[c]
        if len(self._channels) > 1 and m.crosstalk > 0:
            a_mvc = a_mvc + m.crosstalk * (act.sum(axis=0) - act[c])
        if m.sparsity < 1.0:
            gate = muap_gate(rng.random(n), a_mvc, m.sparsity)
            g[0] *= gate
            g[1] *= gate
        ca, z[0] = sps.sosfilt(cp.sos_a, g[0], zi=z[0])
        cb, z[1] = sps.sosfilt(cp.sos_b, g[1], zi=z[1])
        if mix[c].any():
            w = np.clip(m.base_mix + mix[c], 0.0, 1.0)
            x = np.sqrt(1.0 - w) * ca + np.sqrt(w) * cb
        else:  # most blocks: no fatiguing effort, a constant blend
            x = math.sqrt(1.0 - m.base_mix) * ca + math.sqrt(m.base_mix) * cb
        x *= a_mvc * m.mvc_uv
        coloured, z[2] = sps.sosfilt(cp.sos_floor, g[2], zi=z[2])
        x += m.floor_uv * (
            math.sqrt(1 - m.floor_colour) * g[2]
            + math.sqrt(m.floor_colour) * cp.floor_norm * coloured
        )
        x += self._mains.render(t, c)
        x += self._ecg.render(t[0], n, self.fs, c)
        if fe.sensor == "envelope":
            # the board high-passes before rectifying: wander is gone, motion mostly
            x += 0.3 * add[c]
            y, z[3] = sps.sosfilt(cp.sos_env, np.abs(x), zi=z[3])
            y = fe.offset + fe.scale * np.maximum(y, 0.0)
        else:
            x += add[c] + cp.wander.at(t)
            y = fe.offset + fe.scale * x
        for lo in self._lead_offs:
            if lo.channel != c or lo.end < t[0] or lo.start > t[-1]:
                continue
            a = max(0, math.ceil((lo.start - t[0]) * self.fs))
            b = min(n, math.floor((lo.end - t[0]) * self.fs) + 1)
            if lo.mode == "flat":
                y[a:b] = fe.offset if fe.sensor == "raw" else 0.3 * fe.offset
            elif lo.mode in ("rail_high", "rail_low"):
                y[a:b] = fe.rail(lo.mode == "rail_high")
            else:  # floating electrode: huge mains pickup and drift
                hz = self._mains.hz or MAINS_CHOICES_HZ[0]
                big = 3000.0 * np.sin(2 * np.pi * hz * t[a:b]) + 20 * cp.wander.at(t[a:b])
                y[a:b] = fe.offset + fe.scale * (
                    np.abs(big) * 0.6 if fe.sensor == "envelope" else big
                )
        if fe.adc:
            art.quantise(y)
        return y

    def _track_clipping(self, c, t, y, open_span, first) -> list[float] | None:
        clipped = np.flatnonzero((y <= 0) | (y >= ADC_MAX))
        if len(clipped) == 0:
            if open_span is not None and t[0] - open_span[1] > CLIP_MERGE_S:
                self._add_clip(c, open_span)
                return None
            return open_span
        # split into runs separated by more than CLIP_MERGE_S
        gaps = np.flatnonzero(np.diff(clipped) > CLIP_MERGE_S * self.fs)
        run_starts = np.concatenate([[clipped[0]], clipped[gaps + 1]])
        run_ends = np.concatenate([clipped[gaps], [clipped[-1]]])
        for s_i, e_i in zip(run_starts, run_ends, strict=True):
            s, e = float(t[s_i]), float(t[e_i]) + 1 / self.fs
            if open_span is not None and s - open_span[1] <= CLIP_MERGE_S:
                open_span[1] = e
            else:
                if open_span is not None:
                    self._add_clip(c, open_span)
                open_span = [s, e]
        return open_span

    def _add_clip(self, c: int, span: list[float]) -> None:
        self.truth.artifacts.append(
            TruthArtifact(span[0], span[1], "clipping", self.channel_names[c])
        )


def _channel_names(channels: int | list[str] | tuple[str, ...]) -> list[str]:
    if isinstance(channels, int):
        if not 1 <= channels <= MAX_CHANNELS:
            raise UsageError(f"channels must be 1..{MAX_CHANNELS}, got {channels}")
        return [f"ch{i + 1}" for i in range(channels)]
    names = [str(c).strip() for c in channels]
    if (
        not 1 <= len(names) <= MAX_CHANNELS
        or any(not n for n in names)
        or len(set(names)) != len(names)
    ):
        raise UsageError(
            f"channel names must be 1..{MAX_CHANNELS} distinct non-empty names, got {names}"
        )
    return names


def check_rate(fs: float) -> None:
    """The generator's spectra need the whole analysis band: 500-4000 Hz, not the 200 Hz up
    that recordings may have (a configured device rate below 500 Hz cannot be simulated)."""
    if (problem := fs_out_of_range(fs, FS_FULL_BAND_HZ, "the simulator")) is not None:
        raise UsageError(problem)


def _check(duration_s: float, fs: float, gain: float, sensor: str, mains_hz: float) -> None:
    if not (isinstance(duration_s, int | float) and math.isfinite(duration_s) and duration_s > 0):
        raise UsageError(f"duration must be > 0 seconds, got {duration_s!r}")
    if duration_s > 7 * 86400:
        raise UsageError(f"duration must be at most 7 days, got {duration_s} s")
    check_rate(fs)
    if not (math.isfinite(gain) and 0.01 <= gain <= 100):
        raise UsageError(f"gain must be between 0.01 and 100, got {gain!r}")
    if sensor not in SENSORS:
        raise UsageError(f"sensor must be one of {', '.join(SENSORS)}, got {sensor!r}")
    if mains_hz not in (0, *MAINS_CHOICES_HZ):
        raise UsageError(
            f"mains must be 0 or one of {', '.join(f'{m:g}' for m in MAINS_CHOICES_HZ)}, got {mains_hz!r}"
        )


def stream(
    scenario: str,
    duration_s: float,
    fs: float = 1000.0,
    seed: int = 0,
    *,
    channels: int | list[str] = 1,
    mains_hz: float = MAINS_CHOICES_HZ[0],
    gain: float = 1.0,
    sensor: str = "raw",
    adc: bool = True,
    units: str | None = None,
    ecg: bool | None = None,
    ecg_uv: float | None = None,
    ecg_intermittent: bool = False,
    wander: bool = True,
    motion_artifacts: bool = True,
    pops: bool = True,
    lead_off: bool = True,
    kinds: list[str] | tuple[str, ...] | None = None,
    **rates: float,
) -> SynthStream:
    """Plan a synthetic recording; ``rates`` fix per-hour rates such as ``spasm_per_h=4``.

    ``adc=True`` gives 10-bit ADC counts (0..1023, raw biased to mid-rail, quantised and
    clipped) as an Arduino would record; ``adc=False`` gives µV (times ``gain``). ``units``
    ("adc", "uV", "mV", "V") says the same and more: mV or V floats, as other tools write.
    ``ecg=None`` lets each channel draw whether it picks up ECG (about 30 %); ``ecg_uv`` fixes
    the QRS amplitude of those that do (default: drawn, 4-200 µV), and ``ecg_intermittent`` has
    it come and go every 2-8 minutes instead of lasting the whole recording. ``kinds`` keeps
    only those episode kinds (e.g. ``["plm", "turnover"]``); artifacts are unaffected.
    """
    sc = get_scenario(scenario)
    if units is not None:
        if units not in art.OUTPUT_UNITS:
            raise UsageError(f"units must be one of {', '.join(art.OUTPUT_UNITS)}, got {units!r}")
        adc = units == "adc"
    volt_units = "uV" if units in (None, "adc") else units
    fs = float(fs)
    _check(duration_s, fs, gain, sensor, mains_hz)
    names = _channel_names(channels)
    n_ch = len(names)
    rng = np.random.default_rng([int(seed), 0x9A1])
    r = draw_rates(rng, sc, rates, list(kinds) if kinds is not None else None)
    n_samples = int(round(duration_s * fs))
    duration_s = n_samples / fs
    if n_samples < 1:
        raise UsageError(f"duration {duration_s} s is shorter than one sample at {fs:g} Hz")

    models = [draw_channel(rng) for _ in names]
    fronts = [art.draw_front_end(rng, sensor, adc, gain, volt_units) for _ in names]
    quality = np.array([m.quality for m in models])
    chans = []
    tone_lo, tone_hi = sc.tone
    for m, fe in zip(models, fronts, strict=True):
        n_slow = int(duration_s * SLOW_FS) + 2
        tone = loguniform(rng, tone_lo, tone_hi) * fluctuation(
            rng, n_slow, rng.uniform(30, 600), rng.uniform(0.2, 0.8), SLOW_FS
        )
        if sc.context == "sleep":
            tone *= stage_levels(rng, n_slow)
        sos_a, sos_b = m.carrier_sos(fs)
        sos_floor = lowpass_sos(fs, m.floor_corner_hz)
        h = sps.sosfilt(sos_floor, np.r_[1.0, np.zeros(int(fs * 2))])
        chans.append(
            _ChannelPlan(
                m,
                fe,
                Curve(0.0, SLOW_FS, tone),
                art.draw_wander(rng, m.quality, duration_s, wander),
                sos_a,
                sos_b,
                sos_floor,
                float(1 / np.sqrt(np.sum(h * h))),
                lowpass_sos(fs, fe.env_cutoff_hz, fe.env_order),
            )
        )
    mains = art.draw_mains(rng, float(mains_hz), quality, duration_s)
    ecg_model = art.draw_ecg(
        rng, n_ch, duration_s, ecg, sc.context == "sleep", ecg_uv, ecg_intermittent
    )

    site = Site(0, tuple(names))
    if not lead_off:
        r["lead_off"] = 0.0
    group, lead_spans = sc.plan(rng, duration_s, site, r)
    lead_offs = [
        art.LeadOff(s, e, int(rng.integers(n_ch)), str(rng.choice(art.lead_off_modes())))
        for s, e in lead_spans
    ]
    extra = Group()
    if pops:
        for _ in range(int(rng.poisson(r["pops"] * duration_s / 3600 / np.mean(quality) * 0.5))):
            c = int(rng.integers(n_ch))
            ev = art.pop(rng, fs, c, n_ch, models[c].quality)
            ev.start = float(rng.uniform(0, duration_s))
            extra.events.append(ev)
            extra.artifacts.append(TruthArtifact(ev.start, art.pop_truth_end(ev), "pop", names[c]))
    if motion_artifacts:
        for _ in range(int(rng.poisson(r["motion"] * duration_s / 3600))):
            c = int(rng.integers(n_ch))
            ev = motion(rng, loguniform(rng, 0.3, 5.0), loguniform(rng, 10.0, 2000.0), n_ch, c)
            ev.start = float(rng.uniform(0, duration_s))
            extra.events.append(ev)
            for cc in range(n_ch):
                extra.artifacts.append(TruthArtifact(ev.start, ev.end, "motion", names[cc]))
    else:
        group.events = [e for e in group.events if e.what != "add"]
        group.artifacts = [a for a in group.artifacts if a.kind != "motion"]
    group.extend(extra)
    events = sorted(group.events, key=lambda e: e.start)
    episodes = [e for e in group.episodes if e.end <= duration_s]
    planned = [a for a in group.artifacts if a.start < duration_s]
    for a in planned:
        a.start, a.end = max(a.start, 0.0), min(a.end, duration_s)
    planned += [lo.truth(names) for lo in lead_offs]
    truth = Truth(
        scenario=sc.name,
        seed=int(seed),
        fs=fs,
        duration_s=duration_s,
        channels=names,
        sensor=sensor,
        gain=float(gain),
        mains_hz=float(mains_hz),
        episodes=sorted(episodes, key=lambda e: (e.start, e.channel)),
        artifacts=list(planned),
    )
    start_time = datetime(2026, 1, 5) + timedelta(hours=sc.start_hour)
    log.debug(
        "planned %s: %d episodes, %d events, rates %s", sc.name, len(episodes), len(events), r
    )
    return SynthStream(
        sc.name,
        int(seed),
        fs,
        n_samples,
        names,
        truth,
        fronts[0].units,
        sensor,
        start_time,
        chans,
        events,
        lead_offs,
        mains,
        ecg_model,
        list(planned),
    )


def simulate(
    scenario: str, duration_s: float, fs: float = 1000.0, seed: int = 0, **params
) -> tuple[Recording, Truth]:
    """The whole stream collected into one Recording (one float64 array, no copies)."""
    s = stream(scenario, duration_s, fs, seed, **params)
    data = np.empty((s.n_samples, len(s.channel_names)))
    i = 0
    for chunk in s.chunks(BLOCK_SAMPLES):
        data[i : i + len(chunk)] = chunk
        i += len(chunk)
    rec = Recording(
        data=data,
        fs=s.fs,
        channel_names=list(s.channel_names),
        annotations=s.truth.annotations(),
        units=s.units,
        sensor=s.sensor,
        start_time=s.start_time,
    )
    return rec, s.truth
