#!/usr/bin/env python3
"""indepsim — an independent surface-EMG simulator with ground truth.

Written from physiology (not from any detector's generator) to test how a detector generalises.

Signal model (per channel):
  * Motor-unit pool (Fuglevand-style): ~150 motor units with exponentially distributed recruitment
    thresholds, rate coding (7 Hz at recruitment, +35 Hz per unit excitation, onion-skin peak rates),
    gamma-renewal inter-spike intervals (CV ~0.2), firing-rate slowing with fatigue.
  * Each unit has its own surface MUAP: Hermite-Rodriguez shape whose width grows with depth,
    amplitude ~ size^0.6 * exp(-depth), recorded by a bipolar electrode pair
    (m(t) - m(t - IED/CV)) with a per-unit conduction velocity; templates are band-limited by the
    analog front end and sampled with sub-sample phase.
  * Fatigue state integrates excitation^2 (recovers with tau ~90 s); it slows conduction velocity and
    widens MUAPs (spectral compression, amplitude growth) and lowers firing rates.
  * Each episode kind is an excitation profile (fraction of MVC) driving the pool: abrupt irregular
    spasms, sustained waxing/waning cramps, 3-8 Hz clonus burst trains, PLM movements in WASM-like
    series, ramp/hold/release repetitions, gait bursts, twitches, turnovers, posture shifts.
  * Electrode-level artifacts: motion (low-frequency + triboelectric crackle), electrode pops
    (step + exponential recovery), baseline wander, ECG (P-QRS-T with heart-rate variability),
    mains with harmonics and drifting amplitude; output-stage lead-off (rail / flat / hum),
    clipping at the rails, quantisation (10-bit ADC or 16-bit converter), cross-talk between
    same-side muscles, slow electrode-gain drift.
  * Sensors: 'raw' (AC-coupled, band-limited) or 'envelope' (MyoWare-like: high-pass, full-wave
    rectifier, 4th-order 5 Hz low-pass, offset).

Usage:
  python indepsim.py suite --out DIR [--seed0 N]
  python indepsim.py one --out DIR --name NAME --scenario night --minutes 30 --fs 1000 --gain 1 \
        --sensor raw --units adc --seed 7 [--channels 1|2] [--mains 0|50|60] [--edf]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from scipy import signal

FS_E = 500.0           # excitation / fatigue grid rate (Hz)
DT_E = 1.0 / FS_E
EPISODE_KINDS = ("spasm", "cramp", "clonus", "plm", "voluntary", "turnover", "twitch", "posture")
ARTIFACT_KINDS = ("lead_off", "pop", "motion", "clipping", "mains", "ecg", "wander")
CONTEXT = {"night": "sleep", "exercise": "exercise", "daily": "auto", "mixed": "auto"}

ADC_COUNTS_PER_MV = 120.0      # raw front end: electrode mV -> ADC counts at gain 1
ENV_COUNTS_PER_MV = 400.0      # envelope: mean-rectified electrode mV -> counts at gain 1
VOLT_RAIL_UV = 10000.0         # output range of the voltage-output device, +-10 mV (output units)
VOLT_BITS = 16
UNIT_SCALE = {"uV": 1.0, "mV": 1e-3, "V": 1e-6}
UNIT_DECIMALS = {"adc": 0, "uV": 3, "mV": 6, "V": 9}


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------
def lpnoise(rng, n, fc, fs=FS_E, order=2):
    """Unit-variance low-pass Gaussian noise of length n."""
    n = int(n)
    if n <= 0:
        return np.zeros(0)
    pad = int(min(3 * fs / max(fc, 1e-3), 20 * fs))
    w = rng.standard_normal(n + pad)
    sos = signal.butter(order, min(fc, 0.45 * fs), "low", fs=fs, output="sos")
    y = signal.sosfilt(sos, w)[pad:]
    s = y.std()
    return y / s if s > 0 else y


def unif(rng, a, b):
    """Uniform draw that degrades gracefully when the interval is empty (short recordings)."""
    return float(a) if b <= a else float(rng.uniform(a, b))


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def ramp_hold_release(n_up, n_hold, n_down):
    up = 0.5 - 0.5 * np.cos(np.pi * np.arange(n_up) / max(n_up, 1))
    dn = 0.5 + 0.5 * np.cos(np.pi * np.arange(n_down) / max(n_down, 1))
    return np.concatenate([up, np.ones(n_hold), dn])


def n_e(seconds):
    return max(1, int(round(seconds * FS_E)))


# ----------------------------------------------------------------------------------------------
# excitation profiles (fraction of MVC on the FS_E grid), one per episode kind
# ----------------------------------------------------------------------------------------------
def prof_spasm(rng, dur, level):
    n = n_e(dur)
    t = np.arange(n) * DT_E
    tau_r = rng.uniform(0.006, 0.022)                    # rise: 90% within ~15-50 ms
    rise = 1 - np.exp(-t / tau_r)
    over = rng.uniform(0.0, 1.0) * np.exp(-t / rng.uniform(0.2, 1.5))   # initial overshoot
    irregular = np.exp(rng.uniform(0.25, 0.55) * lpnoise(rng, n, rng.uniform(0.7, 3.5)))
    jerks = np.zeros(n)
    for _ in range(rng.poisson(dur * rng.uniform(0.3, 1.5))):
        c = rng.uniform(0, dur)
        w = rng.uniform(0.04, 0.3)
        jerks += rng.uniform(0.2, 0.6) * np.exp(-0.5 * ((t - c) / (w / 2.5)) ** 2)
    toff = rng.uniform(0.1, min(1.0, 0.3 * dur))
    tail = np.clip((dur - t) / toff, 0, 1) ** rng.uniform(0.7, 2.0)
    p = level * rise * (1 + over + jerks) * irregular * tail
    return np.clip(p, 0, 1.2)


def prof_cramp(rng, dur, level, fast_onset=False):
    n = n_e(dur)
    t = np.arange(n) * DT_E
    t_on = rng.uniform(0.3, 1.5) if fast_onset else rng.uniform(1.0, 6.0)
    onset = smoothstep(t / t_on) ** 0.7
    slow = lpnoise(rng, n, rng.uniform(0.08, 0.6))
    fast = lpnoise(rng, n, rng.uniform(2.0, 5.0))
    m = np.exp(rng.uniform(0.18, 0.35) * slow + rng.uniform(0.06, 0.14) * fast)
    # partial relief and resurgence
    for _ in range(rng.poisson(dur / 40.0)):
        c = rng.uniform(0.2, 0.8) * dur
        w = rng.uniform(1.0, 5.0)
        m *= 1 - rng.uniform(0.3, 0.65) * np.exp(-0.5 * ((t - c) / w) ** 2)
    if rng.random() < 0.5:        # relieved by stretching: quick end
        toff = rng.uniform(0.4, 1.5)
    else:                         # fades out
        toff = rng.uniform(3.0, min(12.0, 0.3 * dur))
    tail = smoothstep((dur - t) / toff)
    return np.clip(level * onset * m * tail, 0, 1.2)


def prof_clonus(rng, dur, f0, width, amp):
    n = n_e(dur)
    p = np.zeros(n)
    period = 1.0 / f0
    t = rng.uniform(0, 0.02)
    k = 0
    decay = rng.uniform(0.0, 0.6)
    while t < dur - width:
        a = amp * (1 - decay * t / dur) * rng.uniform(0.8, 1.2)
        w = width * rng.uniform(0.85, 1.15)
        i0 = int(t * FS_E)
        m = max(3, int(round(w * FS_E)))
        x = np.arange(m) / m
        shape = np.sin(np.pi * x) ** 2 * np.exp(-1.5 * x) / 0.6   # sharp-ish rise, slower fall
        j1 = min(n, i0 + m)
        p[i0:j1] = np.maximum(p[i0:j1], a * shape[: j1 - i0])
        t += period * (1 + 0.03 * rng.standard_normal())
        k += 1
    return np.clip(p, 0, 1.2)


def prof_plm(rng, dur, level):
    n = n_e(dur)
    t = np.arange(n) * DT_E
    up = rng.uniform(0.05, 0.3)
    dn = rng.uniform(0.1, 0.4)
    env = smoothstep(t / up) * smoothstep((dur - t) / dn)
    # polyphasic: a few sub-bursts on a floor (never dropping to rest for >0.5 s)
    sub = np.full(n, rng.uniform(0.35, 0.7))
    for _ in range(rng.integers(1, 4)):
        c = rng.uniform(0, dur)
        w = rng.uniform(0.15, 0.6)
        sub += np.exp(-0.5 * ((t - c) / (w / 2)) ** 2)
    sub /= sub.max()
    irr = np.exp(0.3 * lpnoise(rng, n, 3.0))
    return np.clip(level * env * sub * irr, 0, 1.2)


def prof_twitch(rng, dur, level):
    n = n_e(dur)
    x = np.arange(n) / max(n - 1, 1)
    shape = np.sin(np.pi * x) ** rng.uniform(1.0, 3.0)
    return np.clip(level * shape, 0, 1.2)


def prof_bump(rng, up, hold, down, level, tremor=0.05, wobble=0.08):
    p = ramp_hold_release(n_e(up), n_e(hold), n_e(down))
    n = len(p)
    t = np.arange(n) * DT_E
    trem = 1 + tremor * np.sin(2 * np.pi * rng.uniform(8, 12) * t + rng.uniform(0, 6.3))
    wob = np.exp(wobble * lpnoise(rng, n, 1.5))
    return np.clip(level * p * trem * wob, 0, 1.2)


def prof_hold(rng, dur, level):
    up = rng.uniform(0.5, 1.5)
    down = rng.uniform(0.3, 1.0)
    hold = max(0.5, dur - up - down)
    p = ramp_hold_release(n_e(up), n_e(hold), n_e(down))
    n = len(p)
    t = np.arange(n) * DT_E
    drift = 1 + rng.uniform(0.1, 0.3) * smoothstep(t / dur)  # more drive as units fatigue
    wob = np.exp(0.07 * lpnoise(rng, n, 0.8) + 0.04 * lpnoise(rng, n, 4.0))
    trem = 1 + 0.05 * np.sin(2 * np.pi * rng.uniform(8, 12) * t)
    return np.clip(level * p * drift * wob * trem, 0, 1.2)


def prof_multibump(rng, dur, level, nb=(2, 5)):
    """Turnover / posture: several overlapping smooth bursts."""
    n = n_e(dur)
    t = np.arange(n) * DT_E
    p = np.zeros(n)
    for _ in range(rng.integers(nb[0], nb[1])):
        c = rng.uniform(0.15, 0.85) * dur
        w = rng.uniform(0.15, 0.45) * dur
        p = np.maximum(p, rng.uniform(0.4, 1.0) * np.exp(-0.5 * ((t - c) / (w / 2.5)) ** 2))
    p *= smoothstep(t / 0.08) * smoothstep((dur - t) / 0.08)
    p /= max(p.max(), 1e-9)
    return np.clip(level * p * np.exp(0.15 * lpnoise(rng, n, 3.0)), 0, 1.2)


def prof_walk(rng, dur, stride, phase, muscle, level):
    """Gait: calf burst in late stance, thigh burst at heel strike, back small bursts."""
    n = n_e(dur)
    t = np.arange(n) * DT_E
    # stride-to-stride variability: cumulative phase with slowly varying stride time
    st = stride * (1 + 0.025 * lpnoise(rng, n, 0.5))
    ph = (np.cumsum(DT_E / st) + phase) % 1.0
    if muscle.startswith("calf"):
        c, w = 0.35, 0.38
    elif muscle.startswith("thigh"):
        c, w = 0.05, 0.22
    else:
        c, w = 0.02, 0.15
    d = (ph - c + 0.5) % 1.0 - 0.5
    burst = np.where(np.abs(d) < w / 2, np.cos(np.pi * d / w) ** 2, 0.0)
    amp = np.exp(0.12 * lpnoise(rng, n, 0.3))
    start = smoothstep(t / 1.5) * smoothstep((dur - t) / 1.5)
    return np.clip(level * burst * amp * start, 0, 1.2)


# ----------------------------------------------------------------------------------------------
# recording: schedule, truth, excitation
# ----------------------------------------------------------------------------------------------
class Recording:
    def __init__(self, scenario, seed, fs, duration_s, gain, sensor, units, channels, mains_hz):
        self.scenario = scenario
        self.seed = int(seed)
        self.fs = float(fs)
        self.T = float(duration_s)
        self.gain = float(gain)
        self.sensor = sensor
        self.units = units
        self.channels = list(channels)
        self.mains_hz = float(mains_hz)
        self.rng = np.random.default_rng(self.seed)
        self.ne = int(round(self.T * FS_E))
        self.E = {c: np.zeros(self.ne) for c in self.channels}
        self.tonic = {c: np.zeros(self.ne) for c in self.channels}
        self.busy = {c: [] for c in self.channels}
        self.episodes = []
        self.artifacts = []
        self.art_specs = []    # (kind, channel, params) for synthesis
        self.plm_series_next = 1

    # --- schedule ---
    def is_free(self, chs, s, e, pad):
        if s < 0.5 or e > self.T - 0.5:
            return False
        for c in chs:
            for (a, b) in self.busy[c]:
                if s < b + pad and e > a - pad:
                    return False
        return True

    def reserve(self, chs, s, e):
        for c in chs:
            self.busy[c].append((s, e))

    def find_slot(self, chs, dur, lo=0.0, hi=None, pad=1.5, tries=300):
        hi = self.T if hi is None else hi
        if hi - lo < dur + 1.0:
            return None
        for _ in range(tries):
            s = self.rng.uniform(lo, hi - dur)
            if self.is_free(chs, s, s + dur, pad):
                return s
        return None

    # --- truth + excitation ---
    def put(self, ch, t0, prof, kind, **extra):
        assert kind in EPISODE_KINDS
        i0 = int(round(t0 * FS_E))
        i1 = min(self.ne, i0 + len(prof))
        prof = prof[: i1 - i0]
        if len(prof) == 0 or prof.max() <= 0:
            return None
        seg = self.E[ch][i0:i1]
        np.maximum(seg, prof, out=seg)
        above = np.nonzero(prof > 0.05 * prof.max())[0]
        s = (i0 + above[0]) * DT_E
        e = (i0 + above[-1] + 1) * DT_E
        ep = {"start": s, "end": e, "kind": kind, "channel": ch}
        ep.update(extra)
        self.episodes.append(ep)
        return ep

    def add_tonic(self, lo, hi, level, ch=None):
        chs = self.channels if ch is None else [ch]
        i0, i1 = int(lo * FS_E), int(hi * FS_E)
        for c in chs:
            n = i1 - i0
            lev = level * np.exp(0.25 * lpnoise(self.rng, n, 0.01))
            self.tonic[c][i0:i1] = lev

    def artifact(self, kind, ch, s, e, **params):
        assert kind in ARTIFACT_KINDS
        s = max(0.0, s)
        e = min(self.T, e)
        if e <= s:
            return
        self.artifacts.append({"start": s, "end": e, "kind": kind, "channel": ch})
        self.art_specs.append((kind, ch, s, e, params))


def leg_channels(rec):
    return [c for c in rec.channels if c.startswith(("calf", "thigh"))]


def calf_channels(rec):
    return [c for c in rec.channels if c.startswith("calf")]


def poisson_count(rng, rate_per_h, span_s):
    return int(rng.poisson(max(rate_per_h, 0) * span_s / 3600.0))


# ----------------------------------------------------------------------------------------------
# event placers
# ----------------------------------------------------------------------------------------------
def place_motion(rec, chs, s, dur, amp_mv=None):
    rng = rec.rng
    amp = amp_mv if amp_mv is not None else rng.uniform(0.2, 3.0)
    for c in chs:
        rec.artifact("motion", c, s, s + dur, amp_uv=1000 * amp * rng.uniform(0.6, 1.3),
                     fc=rng.uniform(1.5, 10.0), step=rng.random() < 0.4,
                     crackle=rng.random() < 0.35, seed=int(rng.integers(1 << 31)))


def place_pop(rec, ch, s):
    rng = rec.rng
    tau = rng.uniform(0.05, 0.8)
    rec.artifact("pop", ch, s, s + max(0.15, 3 * tau), amp_uv=rng.choice([-1, 1]) * 1000 * rng.uniform(0.5, 8.0),
                 tau=tau)


def place_spasm_cluster(rec, lo, hi, chs_pool, cluster_prob=0.35):
    rng = rec.rng
    ch = chs_pool[rng.integers(len(chs_pool))]
    others = [c for c in rec.channels if c != ch]
    n = int(rng.integers(2, 6)) if rng.random() < cluster_prob else 1
    durs = np.clip(np.exp(rng.normal(np.log(4.0), 0.8, n)), 1.0, 30.0)
    gaps = rng.uniform(1.5, 15.0, n)
    total = float(durs.sum() + gaps[:-1].sum()) if n > 1 else float(durs[0])
    co = others and rng.random() < 0.5     # flexor/extensor pattern: other muscle too
    chs = [ch] + (others if co else [])
    s0 = rec.find_slot(chs, total + 0.5, lo, hi, pad=2.0)
    if s0 is None:
        return 0
    t = s0
    for k in range(n):
        rec.reserve(chs, t, t + durs[k] + 0.3)
        lvl = rng.uniform(0.3, 0.9)
        rec.put(ch, t, prof_spasm(rng, durs[k], lvl), "spasm")
        if co:
            for c in others:
                lag = rng.uniform(0.0, 0.25)
                d2 = max(1.0, durs[k] * rng.uniform(0.6, 1.0) - lag)
                rec.put(c, t + lag, prof_spasm(rng, d2, lvl * rng.uniform(0.4, 1.0)), "spasm")
        if rng.random() < 0.15:
            place_motion(rec, chs, t + rng.uniform(0, 0.5), rng.uniform(0.3, 1.5), rng.uniform(0.2, 1.5))
        t += durs[k] + (gaps[k] if k < n - 1 else 0)
    return n


def place_cramp(rec, lo, hi, ch=None, start=None, dur=None, fast=False, level=None):
    rng = rec.rng
    if ch is None:
        pool = calf_channels(rec) or rec.channels
        ch = pool[rng.integers(len(pool))]
    dur = dur if dur is not None else rng.uniform(20, 150)
    if start is None:
        start = rec.find_slot([ch], dur + 1, lo, hi, pad=3.0)
        if start is None:
            return None
    elif not rec.is_free([ch], start, start + dur + 1, 0.3):
        return None
    rec.reserve([ch], start, start + dur + 0.5)
    lvl = level if level is not None else rng.uniform(0.45, 0.95)
    ep = rec.put(ch, start, prof_cramp(rng, dur, lvl, fast_onset=fast), "cramp")
    # the sufferer moves to stretch: motion near the end
    if rng.random() < 0.5:
        place_motion(rec, [ch], start + dur - rng.uniform(0.5, 3.0), rng.uniform(0.5, 2.5))
    return ep


def place_clonus(rec, lo, hi):
    rng = rec.rng
    pool = calf_channels(rec) or [c for c in rec.channels if c.startswith("thigh")]
    if not pool:
        return 0
    ch = pool[rng.integers(len(pool))]
    f0 = rng.uniform(5.0, 7.0) if rng.random() < 0.7 else rng.uniform(3.0, 8.0)
    width = min(rng.uniform(0.02, 0.08), 0.45 / f0)
    dur = rng.uniform(2.0, 20.0)
    pre = rng.random() < 0.65
    pre_d = rng.uniform(0.3, 1.0)
    pre_gap = rng.uniform(0.1, 0.5)
    total = dur + (pre_d + pre_gap if pre else 0)
    s = rec.find_slot([ch], total + 0.5, lo, hi, pad=2.0)
    if s is None:
        return 0
    rec.reserve([ch], s, s + total + 0.3)
    t = s
    if pre:
        up = pre_d * 0.4
        rec.put(ch, t, prof_bump(rng, up, pre_d * 0.2, pre_d * 0.4, rng.uniform(0.15, 0.45)), "voluntary")
        t += pre_d + pre_gap
    rec.put(ch, t, prof_clonus(rng, dur, f0, width, rng.uniform(0.3, 0.9)), "clonus")
    return 1


def place_twitches(rec, lo, hi, rate_per_h):
    rng = rec.rng
    for c in rec.channels:
        for _ in range(poisson_count(rng, rate_per_h, hi - lo)):
            if rng.random() < 0.4:   # fasciculation-like: a very brief small discharge
                d, lvl = rng.uniform(0.02, 0.06), rng.uniform(0.05, 0.25)
            else:                    # myoclonic twitch / hypnic jerk
                d, lvl = rng.uniform(0.06, 0.42), rng.uniform(0.1, 0.6)
            s = rec.find_slot([c], d, lo, hi, pad=1.0, tries=50)
            if s is None:
                continue
            rec.reserve([c], s, s + d)
            rec.put(c, s, prof_twitch(rng, d, lvl), "twitch")


def place_posture(rec, lo, hi, rate_per_h, sleep=False):
    rng = rec.rng
    for _ in range(poisson_count(rng, rate_per_h, hi - lo)):
        d = rng.uniform(1.0, 5.0) if sleep else rng.uniform(1.5, 8.0)
        chs = rec.channels if rng.random() < 0.5 else [rec.channels[rng.integers(len(rec.channels))]]
        s = rec.find_slot(chs, d, lo, hi, pad=1.5, tries=80)
        if s is None:
            continue
        rec.reserve(chs, s, s + d)
        for c in chs:
            rec.put(c, s, prof_multibump(rng, d, rng.uniform(0.05, 0.25), nb=(1, 3)), "posture")
        if rng.random() < 0.35:
            place_motion(rec, chs, s + rng.uniform(0, d * 0.5), rng.uniform(0.3, 2.0), rng.uniform(0.1, 1.0))


def place_turnovers(rec, lo, hi, rate_per_h):
    rng = rec.rng
    for _ in range(poisson_count(rng, rate_per_h, hi - lo)):
        d = rng.uniform(1.0, 4.0)
        chs = rec.channels if rng.random() < 0.85 else [rec.channels[0]]
        s = rec.find_slot(chs, d + 0.4, lo, hi, pad=2.0, tries=80)
        if s is None:
            continue
        rec.reserve(chs, s, s + d + 0.4)
        for c in chs:
            lag = rng.uniform(0, 0.3)
            rec.put(c, s + lag, prof_multibump(rng, d, rng.uniform(0.15, 0.6)), "turnover")
        if rng.random() < 0.85:
            place_motion(rec, rec.channels, s + rng.uniform(-0.2, 0.5), d * rng.uniform(0.6, 1.2),
                         rng.uniform(0.3, 2.5))
        if rng.random() < 0.1:
            place_pop(rec, rec.channels[rng.integers(len(rec.channels))], s + rng.uniform(0, d))


def place_single_voluntary(rec, lo, hi, rate_per_h):
    rng = rec.rng
    for _ in range(poisson_count(rng, rate_per_h, hi - lo)):
        up, hold, dn = rng.uniform(0.2, 1.0), rng.uniform(0.0, 2.5), rng.uniform(0.2, 1.0)
        d = up + hold + dn
        chs = rec.channels if rng.random() < 0.4 else [rec.channels[rng.integers(len(rec.channels))]]
        s = rec.find_slot(chs, d, lo, hi, pad=1.5, tries=80)
        if s is None:
            continue
        rec.reserve(chs, s, s + d)
        lvl = rng.uniform(0.1, 0.6)
        for c in chs:
            rec.put(c, s, prof_bump(rng, up, hold, dn, lvl * rng.uniform(0.5, 1.0)), "voluntary")


def place_walk(rec, lo, hi, dur, start=None):
    rng = rec.rng
    chs = rec.channels
    s = start if start is not None else rec.find_slot(chs, dur, lo, hi, pad=3.0)
    if s is None or not rec.is_free(chs, s, s + dur, 0.5):
        return None
    rec.reserve(chs, s, s + dur)
    stride = rng.uniform(0.95, 1.25)
    base_phase = rng.uniform(0, 1)
    for c in chs:
        ph = base_phase + (0.5 if c.endswith("_r") else 0.0)
        lvl = rng.uniform(0.15, 0.4) if not c.startswith("back") else rng.uniform(0.05, 0.15)
        rec.put(c, s, prof_walk(rng, dur, stride, ph, c, lvl), "voluntary")
    for _ in range(rng.poisson(dur / 60.0)):
        place_motion(rec, chs, s + rng.uniform(0, dur - 1), rng.uniform(0.2, 1.0), rng.uniform(0.1, 0.8))
    return s + dur


def place_set(rec, start, n_reps, period, level, chs, main):
    """A set of repetitions; returns end time or None. One 'voluntary' episode per repetition."""
    rng = rec.rng
    dur = n_reps * period
    if not rec.is_free(chs, start, start + dur, 0.5):
        return None
    rec.reserve(chs, start, start + dur)
    frac = rng.uniform(0.5, 0.8)          # fraction of period that is active
    scale = {c: (1.0 if c == main else rng.uniform(0.3, 0.8)) for c in chs}
    lag = {c: (0.0 if c == main else rng.uniform(0.0, 0.1)) for c in chs}
    motion_set = rng.random() < 0.35
    t = start
    for r in range(n_reps):
        p = period * rng.uniform(0.93, 1.07)
        act = p * frac
        up, hold, dn = act * rng.uniform(0.3, 0.4), act * rng.uniform(0.1, 0.3), 0.0
        dn = act - up - hold
        lvl = level * rng.uniform(0.9, 1.1) * (1 + 0.15 * r / n_reps)   # effort creeps up in a set
        for c in chs:
            if t + lag[c] + act > start + dur:
                continue
            rec.put(c, t + lag[c], prof_bump(rng, up, hold, dn, lvl * scale[c]), "voluntary")
        if motion_set and rng.random() < 0.3:
            place_motion(rec, chs, t + rng.uniform(0, act), rng.uniform(0.2, 0.8), rng.uniform(0.2, 1.5))
        t += p
        if t + period * 0.5 > start + dur:
            break
    return t


def place_plm_series(rec, lo, hi, legs, n_mv):
    rng = rec.rng
    base = rng.uniform(15.0, 45.0)
    ivals = np.clip(base * (1 + 0.2 * rng.standard_normal(n_mv - 1)), 12.0, 85.0)
    durs = np.clip(np.exp(rng.normal(np.log(1.6), 0.5, n_mv)), 0.8, 5.0)
    onsets = np.concatenate([[0.0], np.cumsum(ivals)])
    span = onsets[-1] + durs[-1] + 1.0
    s0 = rec.find_slot(legs, span, lo, hi, pad=5.0, tries=100)
    if s0 is None:
        return 0
    # reserve the individual movements (other short events may occur in between)
    sid = rec.plm_series_next
    rec.plm_series_next += 1
    lvl0 = rng.uniform(0.04, 0.25)
    for k in range(n_mv):
        for j, c in enumerate(legs):
            lag = 0.0 if j == 0 else rng.uniform(-0.4, 0.4)
            t = s0 + onsets[k] + max(lag, 0.0)
            d = max(0.8, durs[k] * rng.uniform(0.8, 1.0))
            rec.reserve([c], t - 0.5, t + d + 0.5)
            rec.put(c, t, prof_plm(rng, d, lvl0 * rng.uniform(0.6, 1.5)), "plm", series=sid)
    return n_mv


def place_isolated_lm(rec, lo, hi, rate_per_h):
    rng = rec.rng
    legs = leg_channels(rec)
    if not legs:
        return
    for _ in range(poisson_count(rng, rate_per_h, hi - lo)):
        c = legs[rng.integers(len(legs))]
        d = float(np.clip(np.exp(rng.normal(np.log(1.5), 0.5)), 0.8, 5.0))
        s = rec.find_slot([c], d, lo, hi, pad=3.0, tries=80)
        if s is None:
            continue
        rec.reserve([c], s, s + d)
        rec.put(c, s, prof_plm(rng, d, rng.uniform(0.04, 0.3)), "plm")


def place_common_artifacts(rec, lo, hi, pops_h, leadoff_h, wander_h, mains_h, motion_h, ecg=True):
    rng = rec.rng
    span = hi - lo
    for c in rec.channels:
        for _ in range(poisson_count(rng, pops_h, span)):
            place_pop(rec, c, unif(rng, lo, hi - 3))
        for _ in range(poisson_count(rng, leadoff_h, span)):
            d = float(np.clip(np.exp(rng.normal(np.log(4.0), 1.0)), 0.5, 40.0))
            s = unif(rng, lo, hi - d - 1)
            rec.artifact("lead_off", c, s, s + d, mode=str(rng.choice(["rail_hi", "rail_lo", "flat", "hum"])))
        for _ in range(poisson_count(rng, wander_h, span)):
            d = rng.uniform(10, 120)
            s = rng.uniform(lo, max(lo + 1, hi - d))
            rec.artifact("wander", c, s, s + d, amp_uv=1000 * rng.uniform(0.3, 3.0), fc=rng.uniform(0.05, 0.5),
                         seed=int(rng.integers(1 << 31)))
        for _ in range(poisson_count(rng, motion_h, span)):
            place_motion(rec, [c], unif(rng, lo, hi - 3), rng.uniform(0.2, 2.5))
        if ecg:
            amp = {"back": (60, 300), "thigh": (8, 40)}.get(c.split("_")[0])
            if amp is not None and rng.random() < 0.8:
                for _ in range(rng.integers(1, 3)):
                    d = unif(rng, min(60, 0.5 * span), min(600, span * 0.6))
                    s = unif(rng, lo, hi - d)
                    rec.artifact("ecg", c, s, s + d, amp_uv=rng.uniform(*amp))
    if rec.mains_hz > 0:
        for _ in range(poisson_count(rng, mains_h, span)):
            d = rng.uniform(10, 300)
            s = rng.uniform(lo, max(lo + 1, hi - d))
            chs = rec.channels if rng.random() < 0.7 else [rec.channels[0]]
            a = rng.uniform(15, 300)
            for c in chs:
                rec.artifact("mains", c, s, s + d, amp_uv=a * rng.uniform(0.7, 1.3))


# ----------------------------------------------------------------------------------------------
# scenarios (each fills a window [lo, hi])
# ----------------------------------------------------------------------------------------------
def gen_sleep(rec, lo, hi, o):
    rng = rec.rng
    span = hi - lo
    legs = leg_channels(rec) or rec.channels
    # settling-in: a few voluntary movements/posture changes in the first minutes
    settle = min(600.0, 0.1 * span)
    place_single_voluntary(rec, lo, lo + settle, 30.0)
    # PLM series
    plm_rate = o.get("plm_series_per_h", float(rng.choice([0.0, 0.0, 1.5, 3.0, 5.0])))
    n_series = poisson_count(rng, plm_rate, span)
    if plm_rate > 0:
        n_series = max(n_series, o.get("min_series", 0))
    for _ in range(n_series):
        if len(legs) >= 2:
            u = rng.random()
            chs = legs[:2] if u < 0.4 else [legs[int(u > 0.7)]]
        else:
            chs = legs[:1]
        n_mv = int(np.clip(4 + rng.geometric(1 / 10.0) - 1, 4, 40))
        n_mv = min(n_mv, o.get("max_series_len", 40))
        place_plm_series(rec, lo + settle, hi, chs, n_mv)
    # nocturnal cramp(s)
    n_cr = o.get("cramps", int(rng.random() < 0.45) + int(rng.random() < 0.1))
    for _ in range(n_cr):
        place_cramp(rec, lo + settle, hi, dur=rng.uniform(20, 180))
    # occasional spasm
    for _ in range(poisson_count(rng, o.get("spasm_per_h", 0.6), span) + o.get("spasms", 0)):
        place_spasm_cluster(rec, lo, hi, legs, cluster_prob=0.2)
    place_turnovers(rec, lo, hi, rng.uniform(2.0, 5.0))
    place_posture(rec, lo, hi, rng.uniform(1.0, 3.0), sleep=True)
    place_isolated_lm(rec, lo, hi, rng.uniform(2.0, 8.0))
    place_twitches(rec, lo, hi, rng.uniform(5.0, 20.0))
    place_common_artifacts(rec, lo, hi, pops_h=1.0, leadoff_h=0.5, wander_h=1.5, mains_h=1.0, motion_h=1.0)


def gen_exercise(rec, lo, hi, o):
    rng = rec.rng
    chs_all = rec.channels
    rec.add_tonic(lo, hi, rng.uniform(0.004, 0.012))
    t = lo + rng.uniform(10, 40)
    if o.get("walk", True) and hi - lo > 400:
        end = place_walk(rec, lo, hi, unif(rng, 90, min(300, 0.15 * (hi - lo))), start=t)
        t = (end or t) + rng.uniform(20, 60)
    n_sets = o.get("sets", int(rng.integers(4, 8)))
    n_holds = o.get("holds", int(rng.integers(2, 4)))
    program = ["set"] * n_sets + ["hold"] * n_holds
    rng.shuffle(program)
    cramp_budget = o.get("cramps", 1 + int(rng.random() < 0.4))
    cramp_slots = set(rng.choice(np.arange(len(program)), size=min(cramp_budget, len(program)), replace=False).tolist())
    for k, item in enumerate(program):
        if t > hi - 60:
            break
        main = chs_all[rng.integers(len(chs_all))]
        chs = chs_all if rng.random() < 0.7 else [main]
        if item == "set":
            reps = int(rng.integers(8, 16))
            period = rng.uniform(1.5, 5.0)
            if t + reps * period > hi - 5:
                reps = max(4, int((hi - 5 - t) / period))
            end = place_set(rec, t, reps, period, rng.uniform(0.3, 0.9), chs, main)
        else:
            d = rng.uniform(10, 40)
            if rec.is_free(chs, t, t + d, 0.5) and t + d < hi - 5:
                rec.reserve(chs, t, t + d)
                lvl = rng.uniform(0.2, 0.7)
                for c in chs:
                    rec.put(c, t, prof_hold(rng, d, lvl * (1.0 if c == main else rng.uniform(0.3, 0.7))), "voluntary")
                end = t + d
            else:
                end = None
        end = end if end is not None else t + 5
        if k in cramp_slots:
            after = rng.random() < 0.75
            cs = end + (rng.uniform(0.5, 8.0) if after else rng.uniform(20, 60))
            dur = rng.uniform(15, 120)
            cch = main if rng.random() < 0.8 else chs_all[rng.integers(len(chs_all))]
            ep = place_cramp(rec, lo, hi, ch=cch, start=cs, dur=min(dur, hi - cs - 5), fast=after)
            if ep is not None:
                end = ep["end"]
        t = end + rng.uniform(40, 150)
    # cool-down walk
    if o.get("walk", True) and t < hi - 150:
        place_walk(rec, lo, hi, unif(rng, 60, min(200, hi - t - 20)), start=t)
    for _ in range(o.get("spasms", int(rng.random() < 0.35))):
        place_spasm_cluster(rec, lo, hi, chs_all, cluster_prob=0.1)
    place_posture(rec, lo, hi, rng.uniform(6, 15))
    place_single_voluntary(rec, lo, hi, rng.uniform(10, 30))
    place_twitches(rec, lo, hi, rng.uniform(6.0, 20.0))
    place_common_artifacts(rec, lo, hi, pops_h=2.0, leadoff_h=0.8, wander_h=3.0, mains_h=1.5, motion_h=10.0)


def gen_daily(rec, lo, hi, o):
    rng = rec.rng
    span = hi - lo
    rec.add_tonic(lo, hi, rng.uniform(0.0, 0.012))
    for _ in range(o.get("walks", int(rng.integers(1, 4)))):
        place_walk(rec, lo, hi, unif(rng, 30, min(180, 0.2 * span)))
    n_cr = o.get("cramps", int(rng.random() < 0.6))
    for _ in range(n_cr):
        place_cramp(rec, lo, hi, dur=rng.uniform(15, 120))
    for _ in range(max(1, poisson_count(rng, o.get("spasm_clusters_per_h", rng.uniform(8, 16)), span))):
        place_spasm_cluster(rec, lo, hi, rec.channels, cluster_prob=0.35)
    for _ in range(max(1, poisson_count(rng, o.get("clonus_per_h", rng.uniform(8, 14)), span))):
        place_clonus(rec, lo, hi)
    if o.get("mini_set", rng.random() < 0.5):
        main = rec.channels[rng.integers(len(rec.channels))]
        period = rng.uniform(1.5, 4.0)
        reps = int(rng.integers(6, 12))
        s = rec.find_slot(rec.channels, reps * period + 1, lo, hi, pad=3.0)
        if s is not None:
            place_set(rec, s, reps, period, rng.uniform(0.25, 0.7), rec.channels, main)
    place_single_voluntary(rec, lo, hi, rng.uniform(30, 60))
    place_posture(rec, lo, hi, rng.uniform(10, 20))
    place_twitches(rec, lo, hi, rng.uniform(15, 35))
    place_common_artifacts(rec, lo, hi, pops_h=6.0, leadoff_h=2.0, wander_h=4.0, mains_h=3.0, motion_h=15.0)


def gen_mixed(rec, o):
    """Blocks of lying rest (with PLM-like movements), exercise and daily life, in random order."""
    rng = rec.rng
    fr = rng.dirichlet([4, 3, 4])
    fr = 0.15 + 0.55 * fr
    fr /= fr.sum()
    names = ["lying", "exercise", "daily"]
    order = rng.permutation(3)
    t = 0.0
    for k in order:
        d = fr[k] * rec.T
        lo, hi = t, t + d
        if names[k] == "lying":
            gen_sleep(rec, lo, hi, {"plm_series_per_h": 4.0, "min_series": 1, "max_series_len": 8,
                                    "cramps": 0, "spasm_per_h": 2.0})
        elif names[k] == "exercise":
            gen_exercise(rec, lo, hi, {"sets": 2, "holds": 1, "cramps": int(rng.random() < 0.7), "walk": False})
        else:
            gen_daily(rec, lo, hi, {})
        t = hi


# ----------------------------------------------------------------------------------------------
# motor-unit pool and MUAP templates
# ----------------------------------------------------------------------------------------------
N_FATIGUE = 8
FATIGUE_STEP = 0.05   # time-scale stretch per level (1.00 .. 1.35)
N_SUB = 4             # sub-sample phases


def butter_analog_response(f, fc, order=4):
    b, a = signal.butter(order, 2 * np.pi * fc, "low", analog=True)
    _, h = signal.freqs(b, a, worN=2 * np.pi * f)
    return h


class MotorUnitPool:
    def __init__(self, rng, muscle, fs_int, mvc_rms_uv):
        self.fs = fs_int
        N = 120 if muscle.startswith("back") else 150
        self.N = N
        i = np.arange(N) / N
        self.thr = 0.01 * np.exp(np.log(70.0) * i)                  # 0.01 .. 0.7 of max excitation
        self.mfr = 7.0
        self.g = 35.0
        self.pfr = 32.0 - 10.0 * i
        self.k_isi = 25.0                                            # ISI CV = 0.2
        size = np.exp(np.log(100.0) * i)
        depth = rng.uniform(2.0, 18.0, N)                            # mm below the electrodes
        amp = size ** 0.6 * np.exp(-(depth - 2.0) / 6.0) * rng.uniform(0.7, 1.3, N)
        lam = (1.7 + 0.13 * depth) * rng.uniform(0.85, 1.15, N)      # ms; deeper units are wider
        cv = np.clip(3.2 + 1.8 * i + rng.normal(0, 0.25, N), 2.6, 5.8)  # m/s
        ied = rng.uniform(15.0, 22.0)                                # mm inter-electrode distance
        delay = ied / cv                                             # ms
        c1 = rng.uniform(0.6, 1.0, N)
        c2 = rng.uniform(-0.6, 0.6, N)
        pol = rng.choice([-1.0, 1.0], N)
        L = int(math.ceil(0.060 * fs_int))
        U = N_SUB * int(math.ceil(16000.0 / (fs_int * N_SUB)))
        J = (L + 1) * U
        fs_hr = fs_int * U
        tau = (np.arange(J) - U) / fs_hr * 1000.0                    # ms, grid starts one sample early
        stretch = 1.0 + FATIGUE_STEP * np.arange(N_FATIGUE)
        lam_k = lam[:, None] * stretch[None, :]                      # (N, K)
        del_k = delay[:, None] * stretch[None, :]
        t0 = 3.0 * lam_k
        def hr(x):
            e = np.exp(-x * x)
            return c1[:, None, None] * (x * e * 2.3316) + c2[:, None, None] * ((1 - 2 * x * x) * e)
        x1 = (tau[None, None, :] - t0[:, :, None]) / lam_k[:, :, None]
        x2 = (tau[None, None, :] - t0[:, :, None] - del_k[:, :, None]) / lam_k[:, :, None]
        m = hr(x1) - hr(x2)                                          # bipolar (differential) recording
        m /= np.abs(m[:, :1, :]).max(axis=2, keepdims=True)          # unit peak at fatigue level 0
        m *= (pol * amp)[:, None, None]
        nfft = 2 * J
        f = np.fft.rfftfreq(nfft, 1.0 / fs_hr)
        M = np.fft.rfft(m, nfft, axis=2)
        fc = min(450.0, 0.45 * fs_int)
        ref = np.fft.irfft(M * butter_analog_response(f, 450.0)[None, None, :], nfft, axis=2)[..., :J]
        filt = np.fft.irfft(M * butter_analog_response(f, fc)[None, None, :], nfft, axis=2)[..., :J]
        # calibration: power of superposed renewal trains ~ sum_i rate_i * energy_i
        rate_mvc = np.minimum(self.mfr + self.g * (1.0 - self.thr), self.pfr)
        energy = (ref[:, 0, :] ** 2).sum(axis=1) / fs_hr
        scale = mvc_rms_uv / math.sqrt(float((rate_mvc * energy).sum()))
        filt *= scale
        # sub-sample phases: value at sample n for a spike at fractional offset p/N_SUB
        idx = (np.arange(L)[None, :] + 1) * U - (np.arange(N_SUB)[:, None] * (U // N_SUB))
        self.templates = filt[:, :, idx].astype(np.float32)          # (N, K, P, L)
        self.L = L
        self.rem = rng.gamma(self.k_isi, 1.0 / self.k_isi, N) * rng.uniform(0, 1, N)

    def synthesize(self, rng, E, fatigue_idx, slow, weight, n_out):
        """Sum of MUAP trains driven by excitation E (FS_E grid). Returns array of length n_out."""
        fs = self.fs
        out = np.zeros(n_out + self.L + 2)
        ne = len(E)
        chunk = 5000
        thr_min = self.thr[0]
        for c0 in range(0, ne, chunk):
            c1 = min(ne, c0 + chunk)
            Ec = E[c0:c1]
            emax = Ec.max()
            if emax <= thr_min:
                continue
            act = np.nonzero(self.thr < emax)[0]
            thr = self.thr[act][:, None]
            R = self.mfr + self.g * (Ec[None, :] - thr)
            boost = 1.0 + 0.5 * np.clip(Ec - 1.0, 0.0, None)
            R = np.minimum(R, self.pfr[act][:, None] * boost[None, :])
            R *= (Ec[None, :] > thr)
            R *= slow[c0:c1][None, :]
            Phi = np.cumsum(R, axis=1) * DT_E
            tot = Phi[:, -1]
            na, n = Phi.shape
            mx = float(tot.max())
            Mk = int(math.ceil(mx + 6 * math.sqrt(mx + 1) * 0.2 + 6))
            G = rng.gamma(self.k_isi, 1.0 / self.k_isi, (na, Mk))
            T = np.empty((na, Mk))
            T[:, 0] = self.rem[act]
            np.cumsum(G[:, :-1], axis=1, out=T[:, 1:])
            T[:, 1:] += self.rem[act][:, None]
            valid = T < tot[:, None]
            cnt = valid.sum(axis=1)
            assert (cnt < Mk).all()
            self.rem[act] = T[np.arange(na), cnt] - tot
            if cnt.sum() == 0:
                continue
            rows = np.repeat(np.arange(na), cnt)
            big = mx + 2.0
            tgt = T[valid] + rows * big
            Phio = (Phi + (np.arange(na) * big)[:, None]).ravel()
            pos = np.searchsorted(Phio, tgt, side="left")
            j = pos - rows * n
            j = np.clip(j, 0, n - 1)
            ph_hi = Phi[rows, j]
            ph_lo = np.where(j > 0, Phi[rows, np.maximum(j - 1, 0)], 0.0)
            frac = np.clip((T[valid] - ph_lo) / np.maximum(ph_hi - ph_lo, 1e-12), 0.0, 1.0)
            t_sp = (c0 + j + frac) * DT_E
            gi = c0 + j
            ssamp = t_sp * fs
            s = np.floor(ssamp).astype(np.int64)
            p = np.minimum(((ssamp - s) * N_SUB).astype(np.int64), N_SUB - 1)
            mu = act[rows]
            vals = self.templates[mu, fatigue_idx[gi], p] * weight[gi][:, None].astype(np.float32)
            s0 = int(s.min())
            s1 = int(s.max()) + self.L
            pos2 = (s - s0)[:, None] + np.arange(self.L)[None, :]
            acc = np.bincount(pos2.ravel(), weights=vals.ravel(), minlength=s1 - s0)
            e1 = min(len(out), s0 + len(acc))
            out[s0:e1] += acc[: e1 - s0]
        return out[:n_out]


# ----------------------------------------------------------------------------------------------
# artifact synthesis (electrode level, µV, at fs_int)
# ----------------------------------------------------------------------------------------------
def tukey_window(n, alpha=0.3):
    return signal.windows.tukey(max(n, 1), alpha)[:n]


def synth_artifacts(rec, ch, fs, n, rng):
    x = np.zeros(n)
    for (kind, c, s, e, p) in rec.art_specs:
        if c != ch:
            continue
        i0 = int(s * fs)
        i1 = min(n, int(e * fs))
        m = i1 - i0
        if m <= 2:
            continue
        tt = np.arange(m) / fs
        if kind == "motion":
            r = np.random.default_rng(p["seed"])
            y = lpnoise(r, m, p["fc"], fs=fs, order=2) if m > 10 else np.zeros(m)
            y *= tukey_window(m, 0.5)
            if p["step"]:
                y += r.uniform(-1.5, 1.5) * smoothstep(tt / max(0.05, 0.3 * m / fs))
            pk = np.abs(y).max()
            y = y / pk * p["amp_uv"] if pk > 0 else y
            if p["crackle"]:
                k = r.poisson(max(1, m / fs * 15))
                loc = r.integers(0, m, k)
                w = np.zeros(m)
                w[loc] = r.normal(0, p["amp_uv"] * 0.15, k)
                ker = np.exp(-np.arange(int(0.004 * fs) + 1) / (0.001 * fs))
                y += np.convolve(w, ker)[:m]
            x[i0:i1] += y
        elif kind == "pop":
            tail = int(min(n - i0, 6 * p["tau"] * fs))
            t2 = np.arange(tail) / fs
            x[i0:i0 + tail] += p["amp_uv"] * np.exp(-t2 / p["tau"]) * smoothstep(t2 / 0.002)
        elif kind == "wander":
            r = np.random.default_rng(p["seed"])
            ne_ = max(4, int(m / fs * 20))
            y = lpnoise(r, ne_, p["fc"], fs=20.0, order=4)
            y = np.interp(np.arange(m) / fs * 20.0, np.arange(ne_), y)
            y *= tukey_window(m, 0.3)
            x[i0:i1] += p["amp_uv"] * y / max(np.abs(y).max(), 1e-9)
        elif kind == "ecg":
            hr = rng.uniform(55, 90) / 60.0
            beats = []
            t = rng.uniform(0, 1 / hr)
            while t < m / fs:
                beats.append(t)
                t += (1 / hr) * (1 + 0.04 * math.sin(2 * math.pi * 0.25 * t) + 0.02 * rng.standard_normal())
            beats = np.array(beats)
            L = int(0.6 * fs)
            tb = np.arange(L) / fs
            def g(c, w, a):
                return a * np.exp(-0.5 * ((tb - c) / w) ** 2)
            beat = g(0.10, 0.025, 0.12) + g(0.19, 0.007, -0.15) + g(0.205, 0.009, 1.0) + \
                g(0.222, 0.008, -0.3) + g(0.45, 0.045, 0.25)
            beat *= p["amp_uv"] * rng.choice([-1.0, 1.0])
            idx = (beats * fs).astype(np.int64)
            pos = (idx[:, None] + np.arange(L)[None, :]).ravel()
            ok = pos < m
            y = np.bincount(pos[ok], weights=np.tile(beat, len(idx))[ok], minlength=m)[:m]
            x[i0:i1] += y * tukey_window(m, 0.02)
    return x


def synth_mains(rec, ch, fs, n, rng):
    if rec.mains_hz <= 0:
        return np.zeros(n)
    t = np.arange(n) / fs
    ne = max(4, int(rec.T * 2) + 2)
    base = rng.uniform(0.5, 4.0) * np.exp(0.3 * lpnoise(rng, ne, 0.02, fs=2.0))
    amp2 = base.copy()
    for (kind, c, s, e, p) in rec.art_specs:
        if kind == "mains" and c == ch:
            i0, i1 = int(s * 2), min(ne, int(e * 2) + 1)
            amp2[i0:i1] += p["amp_uv"] * tukey_window(i1 - i0, 0.2)
    A = np.interp(t * 2.0, np.arange(ne), amp2)
    drift = 0.03 * lpnoise(rng, ne, 0.01, fs=2.0)
    fdev = np.interp(t * 2.0, np.arange(ne), drift)
    theta = 2 * np.pi * rec.mains_hz * t + 2 * np.pi * np.cumsum(fdev) / fs + rng.uniform(0, 6.3)
    y = np.sin(theta)
    for h, a in ((2, 0.05), (3, 0.3), (5, 0.12)):
        if h * rec.mains_hz < 0.5 * fs:
            y += a * np.sin(h * theta + rng.uniform(0, 6.3))
    return A * y


# ----------------------------------------------------------------------------------------------
# full synthesis
# ----------------------------------------------------------------------------------------------
MVC_RANGE = {"calf": (400, 1000), "thigh": (300, 900), "back": (150, 500)}


def synthesize(rec):
    rng = np.random.default_rng(rec.seed + 1000003)
    fs = rec.fs
    k_int = 1 if rec.sensor == "raw" else int(math.ceil(2000.0 / fs))
    fs_int = fs * k_int
    n_int = int(round(rec.T * fs_int))
    n_out = int(round(rec.T * fs))
    fc_lp = min(450.0, 0.45 * fs_int)
    sos_lp = signal.butter(4, fc_lp, "low", fs=fs_int, output="sos")
    fc_hp = rng.choice([0.1, 0.3, 0.5, 1.0])
    sos_hp = signal.butter(1, fc_hp, "high", fs=fs_int, output="sos")
    # fatigue: d phi/dt = E^2/40 - phi/90
    a = math.exp(-DT_E / 90.0)
    emg = {}
    for ch in rec.channels:
        E = np.maximum(rec.E[ch], rec.tonic[ch])
        rec.E[ch] = E
        phi = signal.lfilter([DT_E / 40.0], [1.0, -a], E * E)
        th = np.tanh(phi)
        fidx = np.clip(np.rint(0.3 * th / FATIGUE_STEP), 0, N_FATIGUE - 1).astype(np.int64)
        slow = 1.0 - 0.15 * th
        drift = np.exp(0.08 * lpnoise(rng, rec.ne, 1 / 600.0, fs=FS_E, order=1))
        lo_, hi_ = MVC_RANGE[ch.split("_")[0]]
        pool = MotorUnitPool(rng, ch, fs_int, rng.uniform(lo_, hi_))
        emg[ch] = pool.synthesize(rng, E, fidx, slow, drift, n_int)
    # cross-talk between muscles of the same side (low-passed by the tissue)
    sos_xt = signal.butter(2, 150.0 if fs_int > 400 else 0.4 * fs_int, "low", fs=fs_int, output="sos")
    chs = rec.channels
    if len(chs) == 2 and chs[0][-1] == chs[1][-1] and chs[0].split("_")[0] != chs[1].split("_")[0] \
            or len(chs) == 2 and chs[0].startswith("back") and chs[1].startswith("back"):
        c01, c10 = rng.uniform(0.03, 0.08, 2)
        x0 = signal.sosfilt(sos_xt, emg[chs[1]])
        x1 = signal.sosfilt(sos_xt, emg[chs[0]])
        emg[chs[0]] = emg[chs[0]] + c01 * x0
        emg[chs[1]] = emg[chs[1]] + c10 * x1
    outs = {}
    leadoff_specs = [(c, s, e, p) for (k, c, s, e, p) in rec.art_specs if k == "lead_off"]
    for ch in chs:
        noise_uv = rng.uniform(0.8, 2.5)
        w = signal.sosfilt(sos_lp, rng.standard_normal(n_int))
        w *= noise_uv / w.std()
        # 1/f-ish electrode noise (mostly removed by the high-pass)
        w += 3.0 * lpnoise(rng, n_int, 2.0, fs=fs_int, order=1)
        other = synth_artifacts(rec, ch, fs_int, n_int, rng) + synth_mains(rec, ch, fs_int, n_int, rng)
        x = emg[ch] + w + signal.sosfilt(sos_lp, other)
        x = signal.sosfilt(sos_hp, x)                      # AC coupling of the front end
        if rec.sensor == "raw":
            y_uv = x
        else:
            sos_ehp = signal.butter(2, 15.0, "high", fs=fs_int, output="sos")
            sos_elp = signal.butter(4, 5.0, "low", fs=fs_int, output="sos")
            env = signal.sosfilt(sos_elp, np.abs(signal.sosfilt(sos_ehp, x)))
            y_uv = env[::k_int][:n_out]
        outs[ch] = to_units(rec, ch, y_uv, fs, rng, [(s, e, p) for (c, s, e, p) in leadoff_specs if c == ch])
        del x, w, other
    return outs


def to_units(rec, ch, y_uv, fs, rng, leadoffs):
    """Apply gain, device range, quantisation, lead-off; record clipping; return output array."""
    n = len(y_uv)
    g = rec.gain
    if rec.units == "adc":
        lo_r, hi_r = 0.0, 1023.0
        if rec.sensor == "raw":
            base = 512.0 + rng.uniform(-8, 8)
            v = base + g * ADC_COUNTS_PER_MV * y_uv / 1000.0 + 0.4 * rng.standard_normal(n)
            flat_level = base
        else:
            base = rng.uniform(5, 40)
            v = base + g * ENV_COUNTS_PER_MV * y_uv / 1000.0 + 0.4 * rng.standard_normal(n)
            flat_level = base
        q = 1.0
    else:
        if rec.sensor == "raw":
            lo_r, hi_r = -VOLT_RAIL_UV, VOLT_RAIL_UV
            v = g * y_uv + 0.2 * rng.standard_normal(n)
            flat_level = 0.0
        else:
            lo_r, hi_r = 0.0, VOLT_RAIL_UV
            base = g * rng.uniform(3.0, 15.0)
            v = base + g * y_uv
            flat_level = base
        q = (hi_r - lo_r) / 2 ** VOLT_BITS
    t = np.arange(n) / fs
    lo_mask = np.zeros(n, bool)
    for (s, e, p) in leadoffs:
        i0, i1 = int(s * fs), min(n, int(e * fs))
        mode = p["mode"]
        if rec.sensor == "envelope" and mode in ("rail_lo", "hum"):
            mode = "rail_hi" if mode == "hum" else "flat"
        if mode == "hum" and rec.mains_hz <= 0:
            mode = "rail_hi"
        if mode == "rail_hi":
            v[i0:i1] = hi_r
        elif mode == "rail_lo":
            v[i0:i1] = lo_r
        elif mode == "flat":
            v[i0:i1] = flat_level + (0.3 * q * rng.standard_normal(i1 - i0) if rec.units == "adc" else 0.0)
        else:
            mid = 0.5 * (lo_r + hi_r) if rec.sensor == "raw" else flat_level
            v[i0:i1] = mid + 0.8 * (hi_r - lo_r) * np.sin(2 * np.pi * rec.mains_hz * t[i0:i1])
        lo_mask[max(0, i0 - int(0.3 * fs)):min(n, i1 + int(0.3 * fs))] = True
    v = np.clip(v, lo_r, hi_r)
    v = np.rint((v - lo_r) / q) * q + lo_r
    v = np.clip(v, lo_r, hi_r)
    # clipping truth
    at_rail = ((v <= lo_r) | (v >= hi_r - 0.5 * q)) & ~lo_mask
    if rec.units == "adc" and rec.sensor == "envelope":
        at_rail = (v >= hi_r - 0.5 * q) & ~lo_mask
    if at_rail.any():
        idx = np.nonzero(at_rail)[0]
        breaks = np.nonzero(np.diff(idx) > int(0.25 * fs))[0]
        starts = np.concatenate([[idx[0]], idx[breaks + 1]])
        ends = np.concatenate([idx[breaks], [idx[-1]]])
        for a, b in zip(starts, ends):
            rec.artifacts.append({"start": a / fs, "end": (b + 1) / fs, "kind": "clipping", "channel": ch})
    if rec.units != "adc":
        v = v * UNIT_SCALE[rec.units]
    return v


# ----------------------------------------------------------------------------------------------
# truth finalisation and writers
# ----------------------------------------------------------------------------------------------
def relabel_plm_series(rec):
    """Per channel, mark runs of >= 4 PLMs with onset-to-onset intervals 10-90 s as a series.

    The planned series id is kept when a run contains planned members, so bilateral series share it;
    movements that end up in no qualifying run lose the label (isolated leg movements)."""
    plms_all = [e for e in rec.episodes if e["kind"] == "plm"]
    for e in plms_all:
        e["_planned"] = e.pop("series", None)
    next_id = max([e["_planned"] or 0 for e in plms_all] + [0]) + 1
    used = {}
    for ch in rec.channels:
        plms = sorted([e for e in plms_all if e["channel"] == ch], key=lambda e: e["start"])
        runs, run = [], []
        for e in plms:
            if run and 10.0 <= e["start"] - run[-1]["start"] <= 90.0:
                run.append(e)
            else:
                runs.append(run)
                run = [e]
        runs.append(run)
        for run in runs:
            if len(run) < 4:
                continue
            planned = [e["_planned"] for e in run if e["_planned"] is not None]
            if planned and (ch, planned[0]) not in used:
                sid = planned[0]
            else:
                sid = next_id
                next_id += 1
            used[(ch, sid)] = True
            for e in run:
                e["series"] = sid
    for e in plms_all:
        e.pop("_planned", None)


def finalize_truth(rec):
    for ep in rec.episodes:
        i0, i1 = int(round(ep["start"] * FS_E)), int(round(ep["end"] * FS_E))
        ep["intensity"] = float(np.clip(rec.E[ep["channel"]][i0:max(i1, i0 + 1)].mean(), 0, 1.2))
    relabel_plm_series(rec)
    # sanity: no overlaps per channel
    for ch in rec.channels:
        eps = sorted([e for e in rec.episodes if e["channel"] == ch], key=lambda e: e["start"])
        for a, b in zip(eps, eps[1:]):
            assert a["end"] <= b["start"] + 1e-9, (ch, a, b)
    def r(x):
        return round(float(x), 4)
    eps = []
    for e in sorted(rec.episodes, key=lambda e: (e["start"], e["channel"])):
        d = {"start": r(e["start"]), "end": r(min(e["end"], rec.T)), "kind": e["kind"], "channel": e["channel"],
             "intensity": round(e["intensity"], 3)}
        if "series" in e:
            d["series"] = int(e["series"])
        if d["end"] > d["start"]:
            eps.append(d)
    arts = []
    for a in sorted(rec.artifacts, key=lambda a: (a["start"], a["channel"])):
        d = {"start": r(max(0.0, a["start"])), "end": r(min(a["end"], rec.T)), "kind": a["kind"], "channel": a["channel"]}
        if d["end"] > d["start"]:
            arts.append(d)
    return {"version": 1, "scenario": rec.scenario, "seed": rec.seed, "fs": float(rec.fs),
            "duration_s": float(rec.T), "channels": rec.channels, "sensor": rec.sensor, "gain": float(rec.gain),
            "mains_hz": float(rec.mains_hz), "episodes": eps, "artifacts": arts}


def _fixed_chars(q, dec):
    """Vectorised fixed-point formatting of int64 values q (value * 10**dec) -> (chars, mask)."""
    n = len(q)
    neg = q < 0
    a = np.abs(q)
    p10 = 10 ** dec
    ip = a // p10
    fp = a % p10
    nd = np.ones(n, np.int64)
    k = 1
    while True:
        m = ip >= 10 ** k
        if not m.any():
            break
        nd += m
        k += 1
    W = int(nd.max()) + 1
    cols = []
    masks = []
    for c in range(W):
        pw = W - 1 - c
        d = (ip // (10 ** pw)) % 10 if pw < 19 else np.zeros(n, np.int64)
        ch = (48 + d).astype(np.uint8)
        ok = pw < nd
        sign_here = neg & (pw == nd)
        ch = np.where(sign_here, np.uint8(45), ch)
        cols.append(ch)
        masks.append(ok | sign_here)
    if dec > 0:
        cols.append(np.full(n, 46, np.uint8))
        masks.append(np.ones(n, bool))
        for c in range(dec):
            pw = dec - 1 - c
            cols.append((48 + (fp // 10 ** pw) % 10).astype(np.uint8))
            masks.append(np.ones(n, bool))
    return np.stack(cols, 1), np.stack(masks, 1)


def write_csv(path, fs, channels, data, units):
    n = len(data[0])
    dec = UNIT_DECIMALS[units]
    with open(path, "wb") as f:
        f.write(("time," + ",".join(channels) + "\n").encode())
        step = 500000
        for a in range(0, n, step):
            b = min(n, a + step)
            i = np.arange(a, b, dtype=np.int64)
            tq = np.rint(i * (1e6 / fs)).astype(np.int64)
            parts = [_fixed_chars(tq, 6)]
            for d in data:
                parts.append((np.full((b - a, 1), 44, np.uint8), np.ones((b - a, 1), bool)))
                parts.append(_fixed_chars(np.rint(d[a:b] * 10 ** dec).astype(np.int64), dec))
            parts.append((np.full((b - a, 1), 10, np.uint8), np.ones((b - a, 1), bool)))
            C = np.concatenate([p[0] for p in parts], 1)
            M = np.concatenate([p[1] for p in parts], 1)
            f.write(C[M].tobytes())


def write_edf(path, fs, channels, data, rec):
    import pyedflib
    if abs(fs - round(fs)) > 1e-9:
        raise SystemExit("EDF output needs an integer sampling rate")
    fs_i = int(round(fs))
    n_rec = len(data[0]) // fs_i
    units = rec.units
    if units == "adc":
        pmin, pmax, dim = 0.0, 1023.0, "adc"
    else:
        sc = UNIT_SCALE[units]
        lo = -VOLT_RAIL_UV if rec.sensor == "raw" else 0.0
        pmin, pmax, dim = lo * sc, VOLT_RAIL_UV * sc, units
    w = pyedflib.EdfWriter(path, len(channels), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        hdrs = []
        for c in channels:
            hdrs.append({"label": c, "dimension": dim, "sample_frequency": fs_i, "physical_max": pmax,
                         "physical_min": pmin, "digital_max": 32767, "digital_min": -32768,
                         "transducer": "sEMG Ag/AgCl" if rec.sensor == "raw" else "sEMG envelope",
                         "prefilter": "indepsim"})
        w.setSignalHeaders(hdrs)
        w.writeSamples([np.ascontiguousarray(d[: n_rec * fs_i], dtype=np.float64) for d in data])
    finally:
        w.close()


# ----------------------------------------------------------------------------------------------
# top level
# ----------------------------------------------------------------------------------------------
def default_channels(scenario, n, rng):
    if scenario == "night":
        return ["calf_l", "calf_r"] if n == 2 else [str(rng.choice(["calf_l", "calf_r"]))]
    if scenario == "exercise":
        opts2 = [["calf_l", "thigh_l"], ["calf_l", "calf_r"], ["thigh_r", "calf_r"]]
        opts1 = [["calf_l"], ["thigh_r"], ["calf_r"]]
    else:
        opts2 = [["calf_l", "calf_r"], ["calf_l", "thigh_l"], ["back_l", "calf_l"], ["thigh_r", "calf_r"]]
        opts1 = [["calf_l"], ["calf_r"], ["thigh_l"], ["back_l"]]
    o = opts2 if n == 2 else opts1
    return list(o[rng.integers(len(o))])


def make_recording(out_dir, name, scenario, minutes, fs, gain, sensor, units, seed, channels=1, mains=50,
                   edf=False, channel_names=None, overrides=None):
    t0 = time.time()
    os.makedirs(out_dir, exist_ok=True)
    rng0 = np.random.default_rng(seed + 77)
    chs = channel_names or default_channels(scenario, int(channels), rng0)
    rec = Recording(scenario, seed, fs, minutes * 60.0, gain, sensor, units, chs, mains)
    o = dict(overrides or {})
    if scenario == "night":
        gen_sleep(rec, 0.0, rec.T, o)
    elif scenario == "exercise":
        gen_exercise(rec, 0.0, rec.T, o)
    elif scenario == "daily":
        gen_daily(rec, 0.0, rec.T, o)
    elif scenario == "mixed":
        gen_mixed(rec, o)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    outs = synthesize(rec)
    truth = finalize_truth(rec)
    data = [outs[c] for c in chs]
    ext = "edf" if edf else "csv"
    path = os.path.join(out_dir, f"{name}.{ext}")
    if edf:
        write_edf(path, fs, chs, data, rec)
    else:
        write_csv(path, fs, chs, data, units)
    with open(os.path.join(out_dir, f"{name}.truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    return {"file": os.path.basename(path), "truth": f"{name}.truth.json", "scenario": scenario,
            "context": CONTEXT[scenario], "fs": float(fs), "gain": float(gain), "sensor": sensor, "units": units,
            "channels": chs, "duration_s": rec.T, "mains_hz": float(mains), "format": ext, "seed": int(seed),
            "n_episodes": len(truth["episodes"]), "n_artifacts": len(truth["artifacts"]),
            "seconds_to_generate": round(time.time() - t0, 2)}


# scenario, minutes, fs, gain, sensor, units, channels, mains, edf, overrides
SUITE = [
    ("night", 120, 1000, 1.0, "raw", "adc", ["calf_l", "calf_r"], 50, False, {"plm_series_per_h": 3.5, "min_series": 4, "cramps": 2}),
    ("night", 120, 2000, 2.0, "raw", "uV", ["calf_r"], 60, True, {"plm_series_per_h": 0.0, "cramps": 1, "spasms": 1}),
    ("night", 60, 500, 1.0, "envelope", "mV", ["calf_l"], 50, False, {"plm_series_per_h": 2.5, "min_series": 2, "cramps": 0}),
    ("exercise", 30, 1000, 1.0, "raw", "adc", ["calf_l", "thigh_l"], 50, False, {"cramps": 2}),
    ("exercise", 30, 2000, 0.1, "raw", "uV", ["calf_r"], 60, False, {"cramps": 1, "spasms": 1}),
    ("exercise", 30, 500, 10.0, "envelope", "adc", ["calf_l", "calf_r"], 50, False, {"cramps": 2}),
    ("mixed", 20, 4000, 0.3, "raw", "V", ["calf_l", "thigh_l"], 50, False, {}),
    ("daily", 30, 1500, 3.0, "raw", "uV", ["calf_l", "calf_r"], 60, False, {"cramps": 1}),
    ("mixed", 25, 800, 0.5, "raw", "adc", ["calf_r"], 50, False, {}),
    ("daily", 20, 500, 5.0, "raw", "mV", ["back_l"], 50, False, {}),
    ("mixed", 30, 1000, 1.0, "envelope", "adc", ["calf_l", "calf_r"], 0, False, {}),
    ("daily", 25, 2000, 0.15, "raw", "adc", ["calf_l"], 50, False, {"cramps": 1}),
    ("daily", 30, 1000, 1.0, "raw", "uV", ["thigh_l", "calf_l"], 50, True, {"cramps": 1}),
    ("mixed", 25, 2500, 2.0, "raw", "mV", ["calf_r", "thigh_r"], 60, False, {}),
]


def rec_name(scenario, fs, gain, sensor, units):
    return f"{scenario}-{fs:g}hz-g{float(gain)!r}-{sensor}-{units}"


def run_suite(out_dir, seed0):
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    items = []
    for k, (sc, mins, fs, g, sensor, units, chs, mains, edf, ov) in enumerate(SUITE):
        name = rec_name(sc, fs, g, sensor, units)
        if any(i["file"].rsplit(".", 1)[0] == name for i in items):
            name += f"-{k + 1:02d}"
        info = make_recording(out_dir, name, sc, mins, fs, g, sensor, units, seed0 + k, mains=mains, edf=edf,
                              channel_names=chs, overrides=ov)
        items.append(info)
        print(f"[{time.time() - t0:6.1f}s] {info['file']}: {mins} min, {len(chs)} ch, "
              f"{info['n_episodes']} episodes, {info['n_artifacts']} artifacts", flush=True)
    suite = {"version": 1, "generator": "indepsim", "seed0": seed0,
             "total_hours": round(sum(i["duration_s"] for i in items) / 3600.0, 3), "recordings": items}
    with open(os.path.join(out_dir, "suite.json"), "w") as f:
        json.dump(suite, f, indent=1)
    print(f"suite: {len(items)} recordings, {suite['total_hours']} h, {time.time() - t0:.1f} s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("suite")
    s.add_argument("--out", required=True)
    s.add_argument("--seed0", type=int, default=1000)
    o = sub.add_parser("one")
    o.add_argument("--out", required=True)
    o.add_argument("--name", required=True)
    o.add_argument("--scenario", required=True, choices=["night", "exercise", "daily", "mixed"])
    o.add_argument("--minutes", type=float, required=True)
    o.add_argument("--fs", type=float, required=True)
    o.add_argument("--gain", type=float, default=1.0)
    o.add_argument("--sensor", choices=["raw", "envelope"], default="raw")
    o.add_argument("--units", choices=["adc", "uV", "mV", "V"], default="adc")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--channels", type=int, choices=[1, 2], default=1)
    o.add_argument("--mains", type=int, choices=[0, 50, 60], default=50)
    o.add_argument("--edf", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "suite":
        run_suite(a.out, a.seed0)
    else:
        if not (0.1 <= a.gain <= 10.0):
            raise SystemExit("--gain must be in 0.1..10")
        if a.fs < 200:
            raise SystemExit("--fs must be >= 200")
        info = make_recording(a.out, a.name, a.scenario, a.minutes, a.fs, a.gain, a.sensor, a.units, a.seed,
                              channels=a.channels, mains=a.mains, edf=a.edf)
        print(json.dumps(info))


if __name__ == "__main__":
    main()
