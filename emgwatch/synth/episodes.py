"""Shapes of the episodes and of their look-alikes, each drawn from wide plausible ranges.

Every generator returns a :class:`Group`: activation/motion curves (times relative to the
group's start) plus the ground truth they represent. Amplitudes are fractions of the channel's
maximal voluntary contraction (MVC); the stream turns them into µV per channel. Ranges follow
docs/GENERATOR.md and DOMAIN.md; PLM limits come from ``emgwatch.domain``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from emgwatch.domain import (
    CLONUS_BAND_HZ,
    PLM_MAX_DURATION_S,
    PLM_MAX_INTERVAL_S,
    PLM_MIN_DURATION_S,
    PLM_MIN_INTERVAL_S,
)
from emgwatch.synth.signal import ENV_FS, fluctuation, loguniform, ramp, smooth_noise, taper
from emgwatch.truth import TruthArtifact, TruthEpisode

Rng = np.random.Generator

# Twitches are shorter than this (DOMAIN.md: brief twitches and fasciculations < 0.5 s).
TWITCH_MAX_S = 0.45


@dataclass
class Event:
    """A curve added to the signal: activation (fraction of MVC) or additive µV (motion, pops)."""

    start: float
    rate: float
    values: np.ndarray
    weights: np.ndarray  # per channel
    what: str = "env"  # "env" | "mix" | "add"

    @property
    def end(self) -> float:
        return self.start + (len(self.values) - 1) / self.rate


@dataclass
class Group:
    """Events and truth that belong together (a PLM series, a spasm cluster, an exercise set)."""

    events: list[Event] = field(default_factory=list)
    episodes: list[TruthEpisode] = field(default_factory=list)
    artifacts: list[TruthArtifact] = field(default_factory=list)
    busy: list[tuple[float, float]] = field(default_factory=list)  # spans that must not overlap

    @property
    def span(self) -> tuple[float, float]:
        starts = [s for s, _ in self.busy] + [e.start for e in self.events]
        ends = [e for _, e in self.busy] + [e.end for e in self.events]
        return (min(starts), max(ends)) if starts else (0.0, 0.0)

    def shifted(self, dt: float) -> Group:
        return Group(
            [replace(e, start=e.start + dt) for e in self.events],
            [replace(e, start=e.start + dt, end=e.end + dt) for e in self.episodes],
            [replace(a, start=a.start + dt, end=a.end + dt) for a in self.artifacts],
            [(s + dt, e + dt) for s, e in self.busy],
        )

    def extend(self, other: Group, dt: float = 0.0) -> None:
        o = other.shifted(dt) if dt else other
        self.events += o.events
        self.episodes += o.episodes
        self.artifacts += o.artifacts
        self.busy += o.busy


@dataclass(frozen=True)
class Site:
    """Where an episode happens: the main channel and the names of all channels."""

    channel: int
    names: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.names)

    def weights(self, rng: Rng, crosstalk: float = 0.06) -> np.ndarray:
        w = rng.uniform(0.0, crosstalk, self.n)
        w[self.channel] = 1.0
        return w


def _episode(
    group: Group, rng: Rng, kind: str, env: np.ndarray, site: Site, t0: float = 0.0, **extra
) -> None:
    """Add the activation curve and its truth; the truth spans where activity is above 5% of
    the peak, so soft tails do not stretch the labelled span far beyond visible activity."""
    weights = site.weights(rng)
    group.events.append(Event(t0, ENV_FS, env, weights))
    _spectral_shift(group, rng, env, t0, site.channel, site.n)
    _truth(group, kind, env, site.names[site.channel], t0, **extra)


def _spectral_shift(group: Group, rng: Rng, env: np.ndarray, t0: float, ch: int, n_ch: int) -> None:
    """Half of all episodes, whatever their kind, recruit a different mix of motor units and so
    have a lower spectral peak than the channel's usual one: spectrum alone never tells kinds."""
    if rng.random() < 0.5:
        return
    w = np.zeros(n_ch)
    w[ch] = 1.0
    curve = rng.uniform(0.15, 0.7) * np.minimum(env / max(env.max(), 1e-12) * 5.0, 1.0)
    curve[0] = curve[-1] = 0.0
    group.events.append(Event(t0, ENV_FS, curve, w, "mix"))


def _truth(group: Group, kind: str, env: np.ndarray, channel: str, t0: float, **extra) -> None:
    above = np.flatnonzero(env >= 0.05 * env.max())
    s, e = float(t0 + above[0] / ENV_FS), float(t0 + above[-1] / ENV_FS)
    inside = env[above[0] : above[-1] + 1]
    extra = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in extra.items()}
    group.episodes.append(TruthEpisode(s, e, kind, channel, float(inside.mean()), extra))
    group.busy.append((t0, t0 + (len(env) - 1) / ENV_FS))


def _mix(group: Group, rng: Rng, n: int, t0: float, site: Site, final: float) -> None:
    """Spectral compression during sustained effort (fatigue): mix in the lower-peaked carrier."""
    w = np.zeros(site.n)
    w[site.channel] = 1.0
    curve = final * ramp(rng, n)
    curve[-1] = 0.0
    group.events.append(Event(t0, ENV_FS, curve, w, "mix"))


def motion(rng: Rng, duration_s: float, amp_uv: float, n_ch: int, main: int | None = None) -> Event:
    """A motion artifact: large, below ~20 Hz, a mix of smooth swings and sharper jolts."""
    n = max(int(duration_s * ENV_FS), 8)
    slow = smooth_noise(rng, n, rng.uniform(0.15, 0.8))
    jolt = smooth_noise(rng, n, rng.uniform(0.02, 0.08))
    x = slow + rng.uniform(0.0, 0.8) * jolt
    x *= taper(
        rng, np.ones(n), rng.uniform(0.05, 0.4) * duration_s, rng.uniform(0.1, 0.4) * duration_s
    )
    w = rng.uniform(0.2, 1.0, n_ch) * rng.choice([-1.0, 1.0], n_ch)
    if main is not None:
        w[main] = rng.choice([-1.0, 1.0])
    return Event(0.0, ENV_FS, x * amp_uv, w, "add")


# --- involuntary episodes ----------------------------------------------------------------------


def spasm(rng: Rng, site: Site, level: float | None = None, **extra) -> Group:
    """Abrupt onset (tens of ms), irregular activity, seconds to minutes, varied profiles."""
    g = Group()
    dur = float(np.clip(rng.lognormal(np.log(6.0), 0.9), 1.0, 150.0))
    n = int(dur * ENV_FS)
    level = level if level is not None else loguniform(rng, 0.12, 0.95)
    t = np.arange(n) / ENV_FS
    profile = rng.integers(4)
    if profile == 0:  # tonic
        base = np.ones(n)
    elif profile == 1:  # decrescendo to a lower plateau
        base = rng.uniform(0.2, 0.6) + (1 - rng.uniform(0.2, 0.6)) * np.exp(
            -t / rng.uniform(0.5, 0.5 + dur / 2)
        )
    elif profile == 2:  # several jerks on a tonic base
        base = np.full(n, rng.uniform(0.1, 0.5))
        for tj in rng.uniform(0, dur * 0.9, rng.integers(2, 2 + int(dur) // 2 + 2)):
            base += rng.uniform(0.4, 1.0) * np.exp(-0.5 * ((t - tj) / rng.uniform(0.08, 0.4)) ** 2)
        base[: int(0.05 * ENV_FS)] = np.maximum(base[: int(0.05 * ENV_FS)], 0.8)
        base /= base.max()
    else:  # crescendo after the abrupt onset
        base = 0.6 + 0.4 * np.minimum(t / rng.uniform(0.5, max(dur, 0.6)), 1.0)
    env = level * base * fluctuation(rng, n, rng.uniform(0.06, 0.4), rng.uniform(0.2, 0.6))
    env *= fluctuation(rng, n, rng.uniform(1.0, 6.0), rng.uniform(0.05, 0.45))
    env = taper(rng, env, rng.uniform(0.02, 0.15), min(rng.uniform(0.15, 3.0), 0.4 * dur))
    _episode(g, rng, "spasm", env, site, **extra)
    if dur > 8 and rng.random() < 0.5:
        _mix(g, rng, n, 0.0, site, rng.uniform(0.1, 0.6))
    return g


def spasm_cluster(rng: Rng, site: Site, cluster_id: int, n: int | None = None) -> Group:
    g = Group()
    n = n if n is not None else int(rng.choice([1, 1, 2, 2, 3, 4, 5, 6]))
    t = 0.0
    for _ in range(n):
        one = spasm(rng, site, cluster=cluster_id)
        g.extend(one, t)
        t += one.span[1] + rng.uniform(2.0, 60.0)
    return g


def cramp(rng: Rng, site: Site, **extra) -> Group:
    """Sustained, high and fluctuating; tens of seconds to minutes; fatigue shifts the spectrum
    down; ends gradually or abruptly (stretching)."""
    g = Group()
    dur = float(np.clip(rng.lognormal(np.log(50.0), 0.7), 10.0, 400.0))
    n = int(dur * ENV_FS)
    level = rng.uniform(0.35, 1.05)
    env = level * fluctuation(rng, n, rng.uniform(2.0, 15.0), rng.uniform(0.15, 0.45))
    env *= fluctuation(rng, n, rng.uniform(0.08, 0.4), rng.uniform(0.15, 0.45))
    fall = rng.uniform(0.3, 1.0) if rng.random() < 0.4 else rng.uniform(2.0, 15.0)
    env = taper(rng, env, rng.uniform(0.3, 5.0), min(fall, 0.3 * dur))
    _episode(g, rng, "cramp", env, site, **extra)
    _mix(g, rng, n, 0.0, site, rng.uniform(0.3, 1.0))
    return g


def clonus(rng: Rng, site: Site, with_stretch: bool | None = None, **extra) -> Group:
    """Rhythmic bursts at 3-8 Hz (ankle typically 5-7 Hz), jittered, lasting seconds; often
    provoked by a stretch (a small motion artifact just before)."""
    g = Group()
    lo, hi = CLONUS_BAND_HZ
    f0 = rng.uniform(5.0, 7.0) if rng.random() < 0.6 else rng.uniform(lo + 0.1, hi - 0.2)
    dur = float(np.clip(rng.lognormal(np.log(6.0), 0.6), 1.5, 45.0))
    drift = rng.uniform(-0.12, 0.05)  # clonus usually slows slightly as it fades
    jitter = rng.uniform(0.02, 0.1)
    times = [0.15]
    while times[-1] < dur - 0.2:
        f = f0 * (1 + drift * times[-1] / dur)
        times.append(
            times[-1] + np.clip(1.0 / f * (1 + jitter * rng.standard_normal()), 1 / hi, 1 / lo)
        )
    times = np.array(times[:-1])
    n = int((times[-1] + 0.4) * ENV_FS) + 1
    t = np.arange(n) / ENV_FS
    level = loguniform(rng, 0.08, 0.8)
    width = rng.uniform(0.07, 0.14) / f0  # burst sd: bursts fill roughly 30-60 % of the period
    amps = level * rng.lognormal(0, rng.uniform(0.1, 0.35), len(times))
    trend = rng.integers(3)
    if trend == 1:
        amps *= np.exp(-times / rng.uniform(dur / 2, 2 * dur))
    elif trend == 2:
        amps *= np.sin(np.pi * (times + 0.2) / (times[-1] + 0.4)) ** 0.5
    env = np.zeros(n)
    span = int(4 * width * ENV_FS) + 1
    for tb, a in zip(times, amps, strict=True):
        i = int(tb * ENV_FS)
        lo_i, hi_i = max(i - span, 0), min(i + span, n)
        env[lo_i:hi_i] += a * np.exp(-0.5 * ((t[lo_i:hi_i] - tb) / width) ** 2)
    env += rng.uniform(0.0, 0.15) * level * taper(rng, np.ones(n), 0.2, 0.2)
    env[0] = env[-1] = 0.0
    if with_stretch is None:
        with_stretch = rng.random() < 0.5
    t0 = 0.0
    if with_stretch:
        m = motion(rng, rng.uniform(0.3, 1.2), loguniform(rng, 20, 600), site.n, site.channel)
        g.events.append(m)
        g.artifacts.append(TruthArtifact(0.0, m.end, "motion", site.names[site.channel]))
        t0 = m.end * rng.uniform(0.5, 1.0)
    _episode(g, rng, "clonus", env, site, t0, rate_hz=round(float(f0), 2), **extra)
    return g


def plm(
    rng: Rng, site: Site, typical_s: float | None = None, level: float | None = None, **extra
) -> Group:
    """One periodic-limb movement: 0.5-10 s, modest level, smooth or double-peaked."""
    g = Group()
    typical_s = typical_s if typical_s is not None else rng.uniform(1.2, 4.0)
    dur = float(
        np.clip(
            typical_s * rng.lognormal(0, 0.35), PLM_MIN_DURATION_S + 0.3, PLM_MAX_DURATION_S - 0.5
        )
    )
    n = int(dur * ENV_FS)
    level = (level if level is not None else loguniform(rng, 0.06, 0.5)) * rng.lognormal(0, 0.25)
    env = level * fluctuation(rng, n, rng.uniform(0.05, 0.3), rng.uniform(0.2, 0.5))
    if rng.random() < 0.3:  # double-peaked movement
        t = np.linspace(0, 1, n)
        env *= 0.45 + 0.55 * np.abs(np.sin(2 * np.pi * t * rng.uniform(0.8, 1.2)))
    env = taper(rng, env, rng.uniform(0.08, 0.3) * dur, rng.uniform(0.15, 0.4) * dur)
    _episode(g, rng, "plm", env, site, **extra)
    return g


def plm_series(rng: Rng, site: Site, series_id: int, n: int | None = None) -> Group:
    """>= 4 movements with onset-to-onset intervals inside 10-90 s (WASM/IRLSSG)."""
    g = Group()
    n = n if n is not None else int(4 + min(rng.geometric(1 / 14), 70))
    median = rng.uniform(15.0, 45.0)
    typical = rng.uniform(1.0, 4.5)
    level = loguniform(rng, 0.06, 0.45)
    onset = 0.0
    for i in range(n):
        one = plm(rng, site, typical, level, series=series_id)
        # align onsets: the truth start is where the movement begins
        g.extend(one, onset - one.episodes[0].start)
        if i < n - 1:
            gap = median * rng.lognormal(0, rng.uniform(0.1, 0.3))
            onset += float(np.clip(gap, PLM_MIN_INTERVAL_S + 0.6, PLM_MAX_INTERVAL_S - 1.0))
    return g.shifted(-g.span[0])


# --- look-alikes that must not alarm -----------------------------------------------------------


def twitch(rng: Rng, site: Site, **extra) -> Group:
    """Brief (< 0.5 s), sometimes strong; single or double jerk; often in small clusters."""
    g = Group()
    t = 0.0
    for _ in range(int(rng.choice([1, 1, 1, 2, 3, 4]))):
        dur = rng.uniform(0.04, TWITCH_MAX_S)
        n = max(int(dur * ENV_FS), 6)
        level = loguniform(rng, 0.03, 0.9)
        x = np.linspace(0, 1, n)
        env = level * np.sin(np.pi * x) ** rng.uniform(0.5, 3.0)
        if rng.random() < 0.3:
            env *= 0.4 + 0.6 * np.abs(np.sin(2 * np.pi * x))
        env[0] = env[-1] = 0.0
        _episode(g, rng, "twitch", env, site, t, **extra)
        t += dur + rng.uniform(0.3, 4.0)
    return g


def turnover(rng: Rng, site: Site, kind: str = "turnover", **extra) -> Group:
    """Turning over / changing posture: short, several muscles at once, with motion artifact
    on every channel and sometimes an electrode shift (step)."""
    g = Group()
    short = kind == "posture"
    dur = rng.uniform(0.5, 4.0) if short else rng.uniform(1.0, 8.0)
    n = int(dur * ENV_FS)
    active = rng.random(site.n) < 0.6
    active[site.channel] = True
    level = loguniform(rng, 0.05, 0.7)
    for ch in np.flatnonzero(active):
        env = (
            level
            * rng.uniform(0.3, 1.0)
            * fluctuation(rng, n, rng.uniform(0.1, 0.6), rng.uniform(0.3, 0.7))
        )
        env = taper(rng, env, rng.uniform(0.1, 0.5) * dur, rng.uniform(0.1, 0.5) * dur)
        w = np.zeros(site.n)
        w[ch] = 1.0
        g.events.append(Event(0.0, ENV_FS, env, w))
        _spectral_shift(g, rng, env, 0.0, int(ch), site.n)
        _truth(g, kind, env, site.names[ch], 0.0, **extra)
    if rng.random() < 0.9:
        m = motion(rng, dur * rng.uniform(0.6, 1.3), loguniform(rng, 15, 3000), site.n)
        m.start = rng.uniform(-0.2, 0.3) * dur
        g.events.append(m)
        for ch in range(site.n):
            g.artifacts.append(TruthArtifact(m.start, m.end, "motion", site.names[ch]))
    return g.shifted(-min(0.0, g.span[0]))


def voluntary(
    rng: Rng, site: Site, pattern: str | None = None, level: float | None = None, **extra
) -> Group:
    """Voluntary activity: repetitions, isometric holds, slow ramps or walking."""
    pattern = pattern or str(rng.choice(["reps", "reps", "hold", "ramp", "walking"]))
    level = level if level is not None else loguniform(rng, 0.12, 1.0)
    g = Group()
    if pattern == "reps":
        reps = int(rng.integers(4, 21))
        period = rng.uniform(1.0, 5.0)
        up, hold_f, down = rng.uniform(0.15, 0.4), rng.uniform(0.0, 0.35), rng.uniform(0.15, 0.4)
        total = period * reps
        n = int(total * ENV_FS) + 2
        env = np.zeros(n)
        t = 0.1
        for i in range(reps):
            p = period * rng.lognormal(0, rng.uniform(0.03, 0.12))
            a = level * rng.lognormal(0, 0.1) * (1 + 0.2 * i / reps)
            nu, nh, nd = (int(max(f * p, 0.08) * ENV_FS) for f in (up, hold_f, down))
            i0 = int(t * ENV_FS)
            seg = np.concatenate([ramp(rng, nu), np.ones(nh), ramp(rng, nd)[::-1]])
            seg = a * seg * fluctuation(rng, len(seg), 0.1, 0.2)
            seg = seg[: max(n - i0 - 1, 0)]
            env[i0 : i0 + len(seg)] += seg
            t += p
        env = env[: int(t * ENV_FS) + 1]
    elif pattern == "hold":
        dur = float(np.clip(rng.lognormal(np.log(15.0), 0.6), 3.0, 90.0))
        n = int(dur * ENV_FS)
        tremor = 1 + rng.uniform(0.02, 0.12) * np.sin(
            2 * np.pi * rng.uniform(7, 12) * np.arange(n) / ENV_FS
        )
        env = level * tremor * fluctuation(rng, n, rng.uniform(1.0, 5.0), rng.uniform(0.03, 0.2))
        env = taper(rng, env, rng.uniform(0.3, 3.0), rng.uniform(0.3, 3.0))
    elif pattern == "ramp":
        up, down, top = rng.uniform(1.5, 10.0), rng.uniform(1.0, 10.0), rng.uniform(0.0, 4.0)
        n = int((up + down + top) * ENV_FS)
        env = level * fluctuation(rng, n, 0.5, 0.1)
        env = taper(rng, env, up, down)
    elif pattern == "walking":
        dur = float(np.clip(rng.lognormal(np.log(60.0), 0.8), 10.0, 900.0))
        stride = 1.0 / rng.uniform(0.75, 1.1)
        duty = rng.uniform(0.25, 0.5)
        n = int(dur * ENV_FS)
        t = np.arange(n) / ENV_FS
        phase = (t / stride + rng.random()) % 1.0
        bump = np.clip(np.sin(np.pi * np.minimum(phase / duty, 1.0)), 0, None) ** 1.5
        env = level * 0.6 * (bump + rng.uniform(0.05, 0.2)) * fluctuation(rng, n, 0.3, 0.2)
        env = taper(rng, env, 1.0, 1.0)
        steps = motion(rng, dur, loguniform(rng, 3, 80), site.n)
        steps.values = steps.values * (
            0.3 + np.interp(np.arange(len(steps.values)) / ENV_FS, t, bump)
        )
        g.events.append(steps)
    else:
        raise ValueError(f"unknown voluntary pattern {pattern!r}")
    env[0] = env[-1] = 0.0
    _episode(g, rng, "voluntary", env, site, pattern=pattern, **extra)
    if pattern in ("reps", "hold") and len(env) > 10 * ENV_FS:
        _mix(g, rng, len(env), 0.0, site, rng.uniform(0.1, 0.5))
    return g


def exercise_sets(rng: Rng, site: Site, sets: int, pattern: str, **extra) -> Group:
    """A block of sets of the same exercise with rests between them."""
    g = Group()
    level = loguniform(rng, 0.25, 1.0)
    t = 0.0
    for _ in range(sets):
        one = voluntary(rng, site, pattern, level * rng.lognormal(0, 0.1), **extra)
        g.extend(one, t)
        t = g.span[1] + rng.uniform(20.0, 150.0)
    return g
