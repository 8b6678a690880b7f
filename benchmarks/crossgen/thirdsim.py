#!/usr/bin/env python3
"""thirdsim - an independent surface-EMG simulator with ground truth.

Written from /work/shared/DOMAIN.md and general physiology / sensor knowledge only,
to test how a detector generalises to data it was never tuned on.

Usage:
    python thirdsim.py suite  --out DIR [--seed0 N] [--jobs 2] [--only NAME]
    python thirdsim.py verify --out DIR

Model summary (see report / README section at the bottom of this docstring):

* Activation a(t) (fraction of MVC) is built per channel at a control rate of 250 Hz from
  episode profiles (spasm, cramp, clonus, PLM, voluntary, turnover, posture, twitch) on top of
  a slowly varying postural background tone.
* EMG = Gaussian noise shaped in the STFT domain (random-phase overlap-add synthesis, 128 ms
  frames, sqrt-Hann windows) whose per-frame spectrum is a Shwedyk-type shape
  f^2 / ((f^2+fl^2)(f^2+fh^2)^2) multiplied by a bipolar-electrode (dipole) filter
  sin^2(pi f d / v) averaged over a conduction-velocity spread and an exponential tissue
  low-pass; the spectrum is compressed (Lindstrom scaling G(f/s)) with a fatigue state
  (leaky integral of activation) and slightly expanded with force (recruitment).
* Amplitude = MVC_RMS * a^gamma * lognormal fast jitter (OU process on log amplitude)
  * fatigue amplitude gain; per-person / per-muscle parameters drawn per recording.
* Sensor chain: skin signal + electrode/amplifier white noise (scaled by sqrt of a drifting
  electrode-skin impedance) + 1/f noise + mains (50/60 Hz + harmonics, scaled by impedance)
  + ECG (trunk channels) + motion / pop transients + crosstalk -> causal Butterworth band-pass
  -> raw output (gain, rails, DC drift, quantisation) or envelope output (rectify + causal low-pass
  2-10 Hz or moving RMS 50-150 ms, computed at >=1 kHz internally then decimated).
* Output-side imperfections: baseline wander, lead-off (rail / floating / flat), data dropouts
  (held sample value, labelled lead_off), clipping (labelled from the final signal).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
from scipy import signal

FC = 250.0  # control rate (Hz) for activation profiles
DT = 1.0 / FC

# ----------------------------------------------------------------------------------------
# muscles
# ----------------------------------------------------------------------------------------
MUSCLES = {
    # base MVC RMS at skin (uV), group, region
    "tib_ant": (600.0, "flex", "leg"),
    "gastroc": (500.0, "ext", "leg"),
    "soleus": (450.0, "ext", "leg"),
    "quad": (450.0, "ext", "leg"),
    "hamstr": (400.0, "flex", "leg"),
    "erector": (300.0, "trunk", "trunk"),
    "trapezius": (400.0, "trunk", "trunk"),
    "neck_ext": (260.0, "neck", "neck"),
    "biceps": (700.0, "armflex", "arm"),
    "forearm_flex": (500.0, "armflex", "arm"),
}


def muscle_of(ch):
    return ch.rsplit("_", 1)[0]


def side_of(ch):
    return ch.rsplit("_", 1)[1]


def region_of(ch):
    return MUSCLES[muscle_of(ch)][2]


def group_of(ch):
    return MUSCLES[muscle_of(ch)][1]


# ----------------------------------------------------------------------------------------
# suite definition
# ----------------------------------------------------------------------------------------
SUITE = [
    dict(name="n1_night_raw", scenario="night", dur=5400, fs=1000.0, ch=["tib_ant_l", "tib_ant_r"],
         sensor="raw", units="counts", gain=2.0, mains=50.0, fmt="csv",
         opts=dict(plm_series=True, spasm=1, cramp=0, iso_lm=6)),
    dict(name="n2_night_env", scenario="night", dur=5400, fs=500.0,
         ch=["tib_ant_l", "tib_ant_r", "gastroc_r"], sensor="envelope", units="counts", gain=1.6,
         mains=60.0, fmt="csv", opts=dict(plm_series=False, spasm=2, cramp=1, iso_lm=8)),
    dict(name="e1_exercise_quad", scenario="exercise", dur=1800, fs=2000.0, ch=["quad_r"],
         sensor="raw", units="uV", gain=0.3, mains=50.0, fmt="csv",
         opts=dict(cramps=2, spasm=1, warm="cycle")),
    dict(name="e2_exercise_calf", scenario="exercise", dur=1800, fs=1200.0,
         ch=["gastroc_r", "tib_ant_r"], sensor="raw", units="V", gain=4.0, mains=60.0, fmt="csv",
         opts=dict(cramps=3, spasm=0, warm="walk")),
    dict(name="e3_exercise_arm_env", scenario="exercise", dur=1800, fs=750.0,
         ch=["biceps_r", "forearm_flex_r"], sensor="envelope", units="mV", gain=0.8, mains=None,
         fmt="edf", opts=dict(cramps=2, spasm=1, warm=None)),
    dict(name="d1_daily_ankle", scenario="daily", dur=1800, fs=1000.0, ch=["gastroc_l", "tib_ant_l"],
         sensor="raw", units="counts", gain=1.5, mains=50.0, fmt="csv",
         opts=dict(spasm=9, clonus=4, cramp=1)),
    dict(name="m1_mixed_thigh", scenario="mixed", dur=1500, fs=4000.0, ch=["quad_l"],
         sensor="raw", units="uV", gain=0.1, mains=60.0, fmt="edf",
         opts=dict(spasm=10, clonus=3, cramp=1)),
    dict(name="d2_daily_back", scenario="daily", dur=1800, fs=1500.0,
         ch=["erector_l", "erector_r", "hamstr_l"], sensor="raw", units="mV", gain=1.0, mains=50.0,
         fmt="csv", opts=dict(spasm=8, clonus=0, cramp=1)),
    dict(name="m2_mixed_calf_env", scenario="mixed", dur=1800, fs=1000.0, ch=["gastroc_r"],
         sensor="envelope", units="counts", gain=1.2, mains=50.0, fmt="csv",
         opts=dict(spasm=9, clonus=5, cramp=2)),
    dict(name="d3_daily_neck", scenario="daily", dur=1800, fs=2500.0, ch=["trapezius_l", "neck_ext_r"],
         sensor="raw", units="V", gain=6.0, mains=50.0, fmt="csv",
         opts=dict(spasm=8, clonus=0, cramp=1)),
    dict(name="m3_mixed_leg3", scenario="mixed", dur=1800, fs=800.0,
         ch=["tib_ant_r", "gastroc_r", "quad_r"], sensor="raw", units="counts", gain=0.7, mains=None,
         fmt="csv", opts=dict(spasm=10, clonus=5, cramp=2)),
    dict(name="d4_daily_soleus", scenario="daily", dur=1500, fs=750.0, ch=["soleus_l", "tib_ant_l"],
         sensor="raw", units="mV", gain=0.4, mains=60.0, fmt="csv",
         opts=dict(spasm=8, clonus=5, cramp=1)),
]

CONTEXT = {"night": "sleep", "exercise": "exercise", "daily": "auto", "mixed": "auto"}


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------
def ou(rng, n, tau, sigma, dt=DT):
    """Stationary Ornstein-Uhlenbeck / AR(1) sequence (vectorised via lfilter)."""
    n = int(n)
    if n <= 0:
        return np.zeros(0)
    phi = math.exp(-dt / max(tau, 1e-6))
    e = rng.standard_normal(n) * sigma * math.sqrt(1.0 - phi * phi)
    x0 = rng.standard_normal() * sigma
    y, _ = signal.lfilter([1.0], [1.0, -phi], e, zi=[phi * x0])
    return y


def lognorm_jitter(rng, n, tau, sigma):
    return np.exp(ou(rng, n, tau, sigma) - 0.5 * sigma * sigma)


def cosramp(n):
    """0 -> 1 raised-cosine ramp of n samples."""
    n = max(int(n), 1)
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)


def trapezoid(n, nup, ndown):
    """Envelope: cosine up, plateau, cosine down; total length n."""
    n = int(n)
    nup = int(min(max(nup, 1), n // 2))
    ndown = int(min(max(ndown, 1), n - nup))
    e = np.ones(n)
    e[:nup] = cosramp(nup)
    e[n - ndown:] = cosramp(ndown)[::-1]
    return e


def gbump(t, c, w):
    return np.exp(-0.5 * ((t - c) / w) ** 2)


def interval_runs(mask):
    """Start/stop indices of True runs."""
    if not mask.any():
        return np.zeros(0, int), np.zeros(0, int)
    d = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    return np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]


# ----------------------------------------------------------------------------------------
# episode profile generators (activation, fraction of MVC, at FC)
# ----------------------------------------------------------------------------------------
def prof_spasm(rng, dur, I, style):
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    tr = rng.uniform(0.01, 0.06)                      # abrupt onset: tens of ms
    rise = np.clip(t / tr, 0, 1) ** 1.5
    td = rng.uniform(0.15, 1.2)
    tail = min(3 * td, 0.4 * dur)
    decay = np.where(t > dur - tail, np.exp(-(t - (dur - tail)) / td), 1.0)
    if style == "phasic":
        base, sig, tau, jrate = 0.45, rng.uniform(0.4, 0.65), rng.uniform(0.06, 0.25), rng.uniform(1.0, 3.0)
    else:
        base, sig, tau, jrate = 1.0, rng.uniform(0.25, 0.45), rng.uniform(0.15, 0.5), rng.uniform(0.2, 1.0)
    lvl = lognorm_jitter(rng, n, tau, sig)
    jerk = np.zeros(n)
    nj = rng.poisson(jrate * dur) + (1 if style == "phasic" else 0)
    cs = rng.uniform(0, dur, nj)
    if nj:
        cs[0] = min(cs[0], rng.uniform(0.0, 0.2))
    for c in cs:
        w = rng.uniform(0.03, 0.15)
        lo, hi = max(int((c - 4 * w) * FC), 0), min(int((c + 4 * w) * FC) + 1, n)
        jerk[lo:hi] += rng.uniform(0.4, 1.0) * gbump(t[lo:hi], c, w)
    p = I * lvl * (base + jerk) * rise * decay
    k = min(int(0.04 * FC), n // 4)
    p[n - k:] *= cosramp(k)[::-1]
    return np.clip(p, 0, 1.2)


def prof_cramp(rng, dur, I):
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    pro = rng.uniform(0.5, 2.0) if rng.random() < 0.5 else 0.0
    tr = rng.uniform(0.5, 4.0)
    tend = rng.uniform(1.0, 6.0)
    sig = rng.uniform(0.25, 0.45)
    lvl = I * lognorm_jitter(rng, n, rng.uniform(0.4, 2.5), sig) * lognorm_jitter(rng, n, 0.05, 0.15)
    lvl *= 1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.05, 0.25) * t + rng.uniform(0, 6.3))
    if rng.random() < 0.45:                           # partial relaxations
        for _ in range(rng.integers(1, 4)):
            c = rng.uniform(pro + tr + 3, max(dur - tend - 3, pro + tr + 3.1))
            lvl *= 1 - rng.uniform(0.4, 0.75) * gbump(t, c, rng.uniform(0.5, 1.5))
    env = np.zeros(n)
    i0 = int(pro * FC)
    nr = int(tr * FC)
    ne = int(tend * FC)
    m = n - i0
    env[i0:] = trapezoid(m, nr, ne)
    # irregular rise: a few overshoots during build-up
    env[i0:i0 + nr] *= 1 + 0.3 * np.abs(ou(rng, nr, 0.2, 1.0))[:len(env[i0:i0 + nr])]
    p = lvl * env
    if pro > 0:                                       # fasciculation-like prodrome
        cs = np.sort(rng.uniform(0, pro, rng.poisson(4 * pro) + 1))
        for c in cs:
            lo, hi = max(int((c - 0.1) * FC), 0), min(int((c + 0.1) * FC), n)
            p[lo:hi] += rng.uniform(0.03, 0.1) * gbump(t[lo:hi], c, 0.02)
    return np.clip(p, 0, 1.2)


def prof_clonus(rng, dur, f0, I, pattern):
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    T0 = 1.0 / f0
    nb = int(dur * f0 * 1.3) + 4
    drift = 1 + rng.uniform(-0.06, 0.08) * np.linspace(0, 1, nb)
    T = T0 * drift * (1 + rng.uniform(0.02, 0.07) * rng.standard_normal(nb))
    tk = 0.05 + np.concatenate([[0], np.cumsum(T[:-1])])
    tk = tk[tk < dur - 0.08]
    u = tk / dur
    if pattern == "decay":
        env = np.exp(-u * rng.uniform(0.8, 2.0))
    elif pattern == "wax":
        env = np.sin(np.pi * np.clip(u * 0.95 + 0.05, 0, 1)) ** 0.7
    else:
        env = 1 - 0.3 * u
    A = I * env * rng.lognormal(0, 0.2, len(tk))
    if len(A):
        A[0] *= rng.uniform(1.2, 1.8)                 # stretch-evoked first burst
    w = rng.uniform(0.1, 0.2) * T0
    p = np.zeros(n)
    half = int(4 * w * FC) + 1
    for c, a in zip(tk, A):
        ic = int(c * FC)
        lo, hi = max(ic - half, 0), min(ic + half, n)
        p[lo:hi] += a * gbump(t[lo:hi], c, w)
    p *= lognorm_jitter(rng, n, 0.02, 0.15)
    return np.clip(p, 0, 1.2), tk


def prof_plm(rng, dur, I):
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    nsub = rng.choice([1, 1, 2, 3])
    p = np.zeros(n)
    edges = np.sort(rng.uniform(0.15, 0.85, nsub - 1)) * dur
    segs = np.concatenate([[0], edges, [dur]])
    for a, b in zip(segs[:-1], segs[1:]):
        i0, i1 = int(a * FC), max(int(b * FC), int(a * FC) + 4)
        m = min(i1, n) - i0
        if m <= 2:
            continue
        up = int(rng.uniform(0.05, 0.3) * FC)
        p[i0:i0 + m] = np.maximum(p[i0:i0 + m], rng.uniform(0.6, 1.0) * trapezoid(m, up, int(rng.uniform(0.1, 0.4) * FC)))
    p *= I * lognorm_jitter(rng, n, rng.uniform(0.05, 0.2), 0.3)
    return np.clip(p, 0, 1.0)


def prof_reps(rng, nreps, period, I, cocontr=1.0):
    """Exercise set: ramp up / hold / controlled release, every `period` s."""
    parts = []
    for k in range(nreps):
        P = period * rng.uniform(0.9, 1.1)
        up = rng.uniform(0.3, 1.0)
        down = rng.uniform(0.3, 1.0)
        hold = rng.uniform(0.3, 2.0)
        s = up + hold + down
        if s > P - 0.3:
            f = (P - 0.3) / s
            up, hold, down = up * f, hold * f, down * f
        rest = P - (up + hold + down)
        lvl = I * cocontr * (1 + 0.015 * k) * rng.lognormal(0, 0.08)
        m = int((up + hold + down) * FC)
        e = trapezoid(m, up * FC, down * FC) * lvl
        parts.append(e)
        if k < nreps - 1:
            parts.append(np.zeros(int(rest * FC)))
    p = np.concatenate(parts)
    p *= lognorm_jitter(rng, len(p), 0.08, 0.12)
    return np.clip(p, 0, 1.1)


def prof_hold(rng, dur, I):
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    lvl = I * (1 + rng.uniform(0.001, 0.004) * t)      # more drive as fatigue sets in
    lvl *= lognorm_jitter(rng, n, 0.6, 0.07) * (1 + 0.04 * np.sin(2 * np.pi * rng.uniform(8, 12) * t))
    return np.clip(lvl * trapezoid(n, rng.uniform(0.5, 1.5) * FC, rng.uniform(0.5, 1.2) * FC), 0, 1.1)


def prof_rhythmic(rng, dur, cadence, I, duty, phase):
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    ph = (np.cumsum(cadence * (1 + 0.03 * ou(rng, n, 3.0, 1.0))) * DT + phase) % 1.0
    burst = np.where(ph < duty, np.sin(np.pi * ph / duty) ** 2, 0.0)
    cyc = np.floor(np.cumsum(cadence * np.ones(n)) * DT + phase).astype(int)
    amps = rng.lognormal(0, 0.12, cyc.max() + 2)
    p = I * burst * amps[cyc] * trapezoid(n, 2.5 / cadence * FC, 2.0 / cadence * FC)
    return np.clip(p, 0, 1.1)


def prof_move(rng, dur, I, sub=True):
    """Everyday voluntary movement: smooth ramp, a few sub-movements, controlled release."""
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    e = trapezoid(n, rng.uniform(0.15, 0.8) * FC, rng.uniform(0.2, 0.8) * FC)
    if sub and dur > 2 and rng.random() < 0.6:
        for _ in range(rng.integers(1, 4)):
            e *= 1 - rng.uniform(0.2, 0.6) * gbump(t, rng.uniform(0.2, 0.8) * dur, rng.uniform(0.15, 0.5))
    return np.clip(I * e * lognorm_jitter(rng, n, 0.25, 0.15), 0, 1.1)


def prof_turnover(rng, dur, I):
    n = max(int(dur * FC), 8)
    t = np.arange(n) * DT
    p = np.zeros(n)
    for _ in range(rng.integers(2, 5)):
        c = rng.uniform(0.15, 0.85) * dur
        p = np.maximum(p, rng.uniform(0.4, 1.0) * gbump(t, c, rng.uniform(0.2, 0.6)))
    p *= trapezoid(n, 0.15 * FC, 0.25 * FC)
    return np.clip(I * p * lognorm_jitter(rng, n, 0.1, 0.3), 0, 1.0)


def prof_twitch(rng, I):
    w = rng.uniform(0.012, 0.07)
    n = int(6 * w * FC) + 2
    t = np.arange(n) * DT
    return I * gbump(t, 3 * w, w)


# ----------------------------------------------------------------------------------------
# the timeline / simulator
# ----------------------------------------------------------------------------------------
class Sim:
    def __init__(self, cfg, seed):
        self.cfg = cfg
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.dur = float(cfg["dur"])
        self.ch = list(cfg["ch"])
        self.nc = int(round(self.dur * FC))
        self.act = {c: np.zeros(self.nc) for c in self.ch}
        self.bg = {c: np.zeros(self.nc) for c in self.ch}
        self.smod = {c: np.ones(self.nc) for c in self.ch}
        self.occ = {c: [] for c in self.ch}
        self.eps = []
        self.arts = []
        self.muaps = []          # (ch, t, amp_uV, width_s)
        self.lm_onsets = []      # leg movements (PLM / LM) onsets, any leg
        self.series_id = 0

    # ---- scheduling -------------------------------------------------------------------
    def is_free(self, chs, s, e, gap):
        for c in chs:
            for (a, b) in self.occ[c]:
                if s < b + gap and a < e + gap:
                    return False
        return True

    def place(self, chs, dur, lo=None, hi=None, gap=3.0, tries=400):
        lo = 8.0 if lo is None else lo
        hi = self.dur - 8.0 if hi is None else hi
        if hi - lo < dur:
            return None
        for _ in range(tries):
            t0 = self.rng.uniform(lo, hi - dur)
            if self.is_free(chs, t0, t0 + dur, gap):
                return t0
        return None

    def reserve(self, chs, s, e):
        for c in chs:
            self.occ[c].append((s, e))

    def add(self, ch, t0, prof, kind, smod=None, extra=None, reserve=True):
        i0 = int(round(t0 * FC))
        i1 = min(i0 + len(prof), self.nc)
        prof = prof[: i1 - i0]
        if len(prof) == 0 or prof.max() <= 0:
            return None
        self.act[ch][i0:i1] += prof
        if smod is not None:
            self.smod[ch][i0:i1] = smod
        thr = 0.02 * prof.max()
        idx = np.nonzero(prof > thr)[0]
        a, b = idx[0], idx[-1] + 1
        ep = {"start": round((i0 + a) / FC, 3), "end": round((i0 + b) / FC, 3), "kind": kind,
              "channel": ch, "intensity": round(float(prof[a:b].mean()), 4)}
        if extra:
            ep.update(extra)
        self.eps.append(ep)
        if reserve:
            self.reserve([ch], i0 / FC, i1 / FC)
        return ep

    def art(self, kind, ch, s, e, **p):
        s = max(0.0, s)
        e = min(self.dur, e)
        if e <= s:
            return
        self.arts.append({"start": round(s, 3), "end": round(e, 3), "kind": kind, "channel": ch, "_p": p})

    # ---- channel-group helpers ------------------------------------------------------------
    def legs(self):
        return [c for c in self.ch if region_of(c) == "leg"]

    def antagonist(self, ch):
        m, s = muscle_of(ch), side_of(ch)
        pairs = {"gastroc": ["tib_ant"], "soleus": ["tib_ant"], "tib_ant": ["gastroc", "soleus"],
                 "quad": ["hamstr"], "hamstr": ["quad"], "biceps": [], "forearm_flex": []}
        for a in pairs.get(m, []):
            if f"{a}_{s}" in self.ch:
                return f"{a}_{s}"
        return None

    # ---- composite events -----------------------------------------------------------------
    def spasm_event(self, lo=None, hi=None, cluster_ok=True, chans=None):
        rng = self.rng
        if chans is None:
            flex = [c for c in self.ch if group_of(c) in ("flex",)]
            ext = [c for c in self.ch if group_of(c) in ("ext",)]
            other = [c for c in self.ch if group_of(c) not in ("flex", "ext")]
            pools = [p for p in (flex, ext) if p]
            if other:
                pools.append(other)
            pool = pools[rng.integers(len(pools))]
            prim = pool[rng.integers(len(pool))]
            chans = [prim] + [c for c in pool if c != prim and rng.random() < 0.6]
            # extensor / flexor synergies can include the other leg muscles of the same side weakly
        k = 1
        if cluster_ok and rng.random() < 0.3:
            k = int(rng.integers(2, 5))
        durs = np.clip(rng.lognormal(math.log(4.0), 0.75, k), 1.0, 30.0)
        gaps = rng.uniform(3.0, 40.0, k)
        total = float(durs.sum() + gaps[:-1].sum()) + 0.5
        t0 = self.place(chans, total, lo, hi, gap=4.0)
        if t0 is None:
            return 0
        self.reserve(chans, t0, t0 + total)
        t = t0
        style = "phasic" if rng.random() < 0.55 else "tonic"
        for j in range(k):
            Ip = rng.uniform(0.2, 0.8)
            for ci, c in enumerate(chans):
                d = 0.0 if ci == 0 else rng.uniform(0.0, 0.12)
                Ic = Ip if ci == 0 else Ip * rng.uniform(0.3, 0.9)
                pr = prof_spasm(rng, max(durs[j] - d * rng.uniform(0, 2), 1.0), Ic, style)
                self.add(c, t + d, pr, "spasm", reserve=False)
            t += durs[j] + gaps[j]
        return k

    def cramp_event(self, ch=None, t0=None, dur=None, lo=None, hi=None, I=None):
        rng = self.rng
        if ch is None:
            prefs = [c for c in self.ch if muscle_of(c) in ("gastroc", "soleus", "hamstr", "quad", "forearm_flex")]
            pool = prefs or self.ch
            ch = pool[rng.integers(len(pool))]
        if dur is None:
            dur = float(np.clip(rng.lognormal(math.log(60), 0.6), 20, 200))
        if t0 is None:
            t0 = self.place([ch], dur, lo, hi, gap=5.0)
            if t0 is None:
                return 0
        I = rng.uniform(0.35, 0.85) if I is None else I
        pr = prof_cramp(rng, dur, I)
        self.add(ch, t0, pr, "cramp", smod=rng.uniform(1.04, 1.12))
        return 1

    def clonus_event(self, lo=None, hi=None):
        rng = self.rng
        prefs = [c for c in self.ch if muscle_of(c) in ("gastroc", "soleus")]
        if not prefs:
            prefs = [c for c in self.ch if region_of(c) == "leg"] or self.ch
        ch = prefs[rng.integers(len(prefs))]
        ank = muscle_of(ch) in ("gastroc", "soleus", "tib_ant")
        f0 = rng.uniform(5.0, 7.0) if ank else rng.uniform(3.0, 8.0)
        dur = float(np.clip(rng.lognormal(math.log(7), 0.55), 2.0, 20.0))
        ant = self.antagonist(ch)
        chans = [ch] + ([ant] if ant and rng.random() < 0.5 else [])
        t0 = self.place(chans, dur + 1.0, lo, hi, gap=4.0)
        if t0 is None:
            return 0
        self.reserve(chans, t0, t0 + dur + 1.0)
        pattern = rng.choice(["decay", "wax", "sustain"])
        I = rng.uniform(0.2, 0.55)
        pr, tk = prof_clonus(rng, dur, f0, I, pattern)
        self.add(ch, t0, pr, "clonus", reserve=False)
        if len(chans) > 1:
            # antagonist: weaker bursts in anti-phase (reciprocal)
            n = len(pr)
            t = np.arange(n) * DT
            w = rng.uniform(0.1, 0.18) / f0
            pa = np.zeros(n)
            for c in tk[1:]:
                c2 = c - 0.5 / f0 * rng.uniform(0.85, 1.15)
                lo_, hi_ = max(int((c2 - 4 * w) * FC), 0), min(int((c2 + 4 * w) * FC) + 1, n)
                pa[lo_:hi_] += I * rng.uniform(0.15, 0.4) * gbump(t[lo_:hi_], c2, w)
            if pa.max() > 0:
                self.add(chans[1], t0, pa, "clonus", reserve=False)
        if rng.random() < 0.65:                           # stretch trigger -> cable motion at onset
            self.art("motion", ch, t0 - rng.uniform(0.2, 0.6), t0 + rng.uniform(0.2, 0.8),
                     amp=rng.uniform(200, 1500), fc=rng.uniform(3, 10))
        if rng.random() < 0.4:                            # foot beating -> motion at clonus rate
            self.art("motion", ch, t0, t0 + dur, amp=rng.uniform(50, 400), fc=f0 * 1.5, rhythm=f0)
        return 1

    def twitch_event(self, lo=None, hi=None, chans=None):
        rng = self.rng
        pool = chans or self.ch
        ch = pool[rng.integers(len(pool))]
        if rng.random() < 0.3:                           # fasciculation: single MU potential
            t0 = self.place([ch], 0.1, lo, hi, gap=2.0)
            if t0 is None:
                return 0
            w = rng.uniform(0.0015, 0.004)
            amp = rng.uniform(40, 200)
            nrep = rng.choice([1, 1, 2, 3])
            for r in range(nrep):
                self.muaps.append((ch, t0 + 0.02 + r * rng.uniform(0.008, 0.02), amp * rng.uniform(0.9, 1.1), w))
            self.eps.append({"start": round(t0 + 0.01, 3), "end": round(t0 + 0.04 + nrep * 0.02, 3),
                             "kind": "twitch", "channel": ch, "intensity": round(amp / 4000.0, 4)})
            self.reserve([ch], t0, t0 + 0.1)
            return 1
        pr = prof_twitch(rng, rng.uniform(0.05, 0.45))
        t0 = self.place([ch], len(pr) * DT, lo, hi, gap=2.0)
        if t0 is None:
            return 0
        self.add(ch, t0, pr, "twitch")
        return 1

    def posture_event(self, lo=None, hi=None, motion_p=0.3, Imax=0.25):
        rng = self.rng
        k = 1 if len(self.ch) == 1 or rng.random() < 0.5 else 2
        chans = list(rng.choice(self.ch, size=min(k, len(self.ch)), replace=False))
        dur = rng.uniform(0.6, 4.0)
        t0 = self.place(chans, dur + 0.3, lo, hi, gap=2.5)
        if t0 is None:
            return 0
        for c in chans:
            self.add(c, t0 + rng.uniform(0, 0.25), prof_move(rng, dur, rng.uniform(0.04, Imax), sub=False), "posture")
            if rng.random() < motion_p:
                self.art("motion", c, t0, t0 + dur * rng.uniform(0.3, 1.0), amp=rng.uniform(100, 800), fc=rng.uniform(2, 8))
        return 1

    def turnover_event(self, lo=None, hi=None):
        rng = self.rng
        dur = rng.uniform(1.5, 6.0)
        t0 = self.place(self.ch, dur + 0.6, lo, hi, gap=3.0)
        if t0 is None:
            return 0
        for c in self.ch:
            d = rng.uniform(0, 0.5)
            self.add(c, t0 + d, prof_turnover(rng, dur * rng.uniform(0.7, 1.0), rng.uniform(0.08, 0.4)), "turnover")
            self.art("motion", c, t0 + rng.uniform(0, 0.4), t0 + dur * rng.uniform(0.6, 1.0),
                     amp=rng.uniform(500, 4000), fc=rng.uniform(2, 12))
        return 1

    def voluntary_move(self, lo=None, hi=None, Irange=(0.1, 0.5), drange=(1.0, 10.0), chans=None):
        rng = self.rng
        pool = chans or self.ch
        k = 1 if len(pool) == 1 or rng.random() < 0.6 else 2
        cs = list(rng.choice(pool, size=min(k, len(pool)), replace=False))
        dur = rng.uniform(*drange)
        t0 = self.place(cs, dur + 0.3, lo, hi, gap=2.5)
        if t0 is None:
            return 0
        I = rng.uniform(*Irange)
        for j, c in enumerate(cs):
            self.add(c, t0 + (0 if j == 0 else rng.uniform(0, 0.3)),
                     prof_move(rng, dur, I if j == 0 else I * rng.uniform(0.2, 0.7)), "voluntary")
        return 1

    def rhythmic_bout(self, t0, dur, kind_of="walk"):
        """Walking or cycling bout on all channels (phase offsets by muscle)."""
        rng = self.rng
        cad = rng.uniform(0.8, 1.05) if kind_of == "walk" else rng.uniform(1.0, 1.5)
        base_phase = rng.uniform(0, 1)
        for c in self.ch:
            m = muscle_of(c)
            side_off = 0.5 if side_of(c) == "l" else 0.0
            if region_of(c) == "leg":
                phase = {"tib_ant": 0.55, "gastroc": 0.1, "soleus": 0.12, "quad": 0.85, "hamstr": 0.7}.get(m, 0)
                I = rng.uniform(0.12, 0.3) if kind_of == "walk" else rng.uniform(0.15, 0.35)
                duty = rng.uniform(0.3, 0.45)
                cc = cad
            elif region_of(c) == "trunk":       # erector bursts at each heel strike (2 per stride)
                phase, I, duty, cc = 0.0, rng.uniform(0.04, 0.12), 0.25, cad * 2
            else:                                 # arm swing / neck stabilisation
                phase, I, duty, cc = 0.3, rng.uniform(0.03, 0.08), 0.4, cad
            pr = prof_rhythmic(rng, dur, cc, I, duty, (base_phase + phase + side_off) % 1.0)
            self.add(c, t0, pr, "voluntary")
        if self.cfg["sensor"] == "raw" and rng.random() < 0.5:   # cable swing while walking
            c = self.ch[rng.integers(len(self.ch))]
            self.art("motion", c, t0, t0 + dur, amp=rng.uniform(60, 300), fc=6.0, rhythm=cad)

    def plm_series(self, chans, nmov, mean_int, lo=None, hi=None):
        rng = self.rng
        ints = np.clip(rng.normal(mean_int, rng.uniform(2.0, 5.0), nmov - 1), 15.0, 40.0)
        durs = np.clip(rng.lognormal(math.log(1.8), 0.45, nmov), 0.7, 7.0)
        onsets = np.concatenate([[0], np.cumsum(ints)])
        total = float(onsets[-1] + durs[-1] + 1.0)
        t0 = self.place(chans, total, lo, hi, gap=95.0)
        if t0 is None:
            return 0
        # do not fall within 95 s of other leg movements either
        if any(abs(t0 - x) < 95 + total for x in self.lm_onsets):
            t0 = None
            for _ in range(200):
                tt = self.place(chans, total, lo, hi, gap=95.0)
                if tt is not None and all((x < tt - 95) or (x > tt + total + 95) for x in self.lm_onsets):
                    t0 = tt
                    break
            if t0 is None:
                return 0
        self.reserve(chans, t0, t0 + total)
        self.series_id += 1
        sid = self.series_id
        cnt = 0
        for k in range(nmov):
            I = rng.uniform(0.03, 0.15)
            for j, c in enumerate(chans):
                d = 0.0 if j == 0 else rng.uniform(0.0, 0.5)
                pr = prof_plm(rng, durs[k] * (1 if j == 0 else rng.uniform(0.7, 1.1)), I * (1 if j == 0 else rng.uniform(0.5, 1.2)))
                ep = self.add(c, t0 + onsets[k] + d, pr, "plm", extra={"series": sid}, reserve=False)
                if ep is not None:
                    cnt += 1
            self.lm_onsets.append(t0 + onsets[k])
        return cnt

    def isolated_lm(self, lo=None, hi=None):
        rng = self.rng
        legs = self.legs()
        ch = legs[rng.integers(len(legs))]
        dur = float(np.clip(rng.lognormal(math.log(2.0), 0.5), 0.7, 8.0))
        for _ in range(100):
            t0 = self.place([ch], dur + 0.5, lo, hi, gap=5.0)
            if t0 is None:
                return 0
            if all(abs(t0 - x) > 95.0 for x in self.lm_onsets):
                break
        else:
            return 0
        self.add(ch, t0, prof_plm(rng, dur, rng.uniform(0.04, 0.2)), "plm")
        self.lm_onsets.append(t0)
        return 1

    # ---- background tone -----------------------------------------------------------------
    def background(self, mode):
        rng = self.rng
        if mode == "sleep":
            for c in self.ch:
                b = np.full(self.nc, rng.uniform(0.0005, 0.002))
                wake = int(rng.uniform(300, 600) * FC)
                b[:wake] += rng.uniform(0.003, 0.01) * cosramp(wake)[::-1]
                self.bg[c] = b
            return
        # state machine: lie / sit / stand segments
        levels = {"leg": {"lie": 0.002, "sit": 0.004, "stand": 0.03},
                  "trunk": {"lie": 0.003, "sit": 0.025, "stand": 0.035},
                  "neck": {"lie": 0.003, "sit": 0.03, "stand": 0.03},
                  "arm": {"lie": 0.002, "sit": 0.006, "stand": 0.008}}
        states = ["sit", "stand", "lie"] if mode == "daily" else ["stand", "sit"]
        segs = []
        t = 0.0
        while t < self.dur:
            d = rng.uniform(60, 300)
            segs.append((t, min(t + d, self.dur), states[rng.integers(len(states))]))
            t += d
        for c in self.ch:
            lv = np.zeros(self.nc)
            mfac = rng.uniform(0.5, 1.5)
            if muscle_of(c) == "tib_ant":
                mfac *= 0.3
            for (a, b, s) in segs:
                lv[int(a * FC):int(b * FC)] = levels[region_of(c)][s] * mfac
            k = int(1.5 * FC)
            lv = np.convolve(lv, np.ones(k) / k, mode="same")
            lv *= lognorm_jitter(rng, self.nc, 20.0, 0.25)
            self.bg[c] = lv

    # ---- artifacts common -------------------------------------------------------------------
    def common_artifacts(self, n_pop, n_motion, n_lead, n_drop, n_mains, n_wander):
        rng = self.rng
        cfg = self.cfg
        for _ in range(n_pop):
            c = self.ch[rng.integers(len(self.ch))]
            s = rng.uniform(5, self.dur - 10)
            tau = rng.uniform(0.03, 0.5)
            self.art("pop", c, s, s + 4 * tau, amp=rng.uniform(800, 8000) * rng.choice([-1, 1]), tau=tau)
        for _ in range(n_motion):
            c = self.ch[rng.integers(len(self.ch))]
            s = rng.uniform(5, self.dur - 10)
            self.art("motion", c, s, s + rng.uniform(0.3, 3.0), amp=rng.uniform(150, 2500), fc=rng.uniform(2, 15))
        for _ in range(n_lead):
            c = self.ch[rng.integers(len(self.ch))]
            d = rng.uniform(3, 60)
            t0 = self.place([c], d, gap=3.0)
            if t0 is None:
                continue
            self.reserve([c], t0, t0 + d)
            modes = ["rail_hi", "rail_lo", "float"] if cfg["sensor"] == "raw" else ["rail_hi", "zero", "float"]
            if cfg["mains"] is None:
                modes = [m for m in modes if m != "float"] + ["flat"]
            self.art("lead_off", c, t0, t0 + d, mode=modes[rng.integers(len(modes))])
        for _ in range(n_drop):
            c = self.ch[rng.integers(len(self.ch))]
            d = rng.uniform(0.05, 0.6)
            s = rng.uniform(5, self.dur - 5)
            # a transport dropout freezes all channels of the stream
            for cc in self.ch:
                self.art("lead_off", cc, s, s + d, mode="hold")
        if cfg["mains"] is not None:
            for _ in range(n_mains):
                c = self.ch[rng.integers(len(self.ch))]
                s = rng.uniform(5, self.dur - 130)
                self.art("mains", c, s, s + rng.uniform(10, 120), boost=rng.uniform(10, 40))
        for _ in range(n_wander):
            c = self.ch[rng.integers(len(self.ch))]
            s = rng.uniform(5, self.dur - 130)
            self.art("wander", c, s, s + rng.uniform(10, 120), amp=rng.uniform(50, 400), f=rng.uniform(0.08, 0.6))
        for c in self.ch:
            if region_of(c) == "trunk":
                self.art("ecg", c, 0.0, self.dur, amp=rng.uniform(40, 250), hr=rng.uniform(58, 90))


# ----------------------------------------------------------------------------------------
# scenarios
# ----------------------------------------------------------------------------------------
def build_night(sim):
    rng = sim.rng
    o = sim.cfg["opts"]
    sim.background("sleep")
    wake_end = 480.0
    # settling-in: a few posture shifts and voluntary leg movements
    for _ in range(3):
        sim.posture_event(lo=10, hi=wake_end, motion_p=0.5)
    for _ in range(2):
        sim.voluntary_move(lo=10, hi=wake_end, Irange=(0.05, 0.25), drange=(1, 5))
    if o.get("plm_series"):
        legs = sim.legs()
        plan = [(legs, 18, rng.uniform(22, 30)), ([legs[0]], 38, rng.uniform(18, 26)),
                ([legs[1]], 24, rng.uniform(24, 32)), ([legs[0]], 10, rng.uniform(28, 36))]
        for chans, nmov, mi in plan:
            sim.plm_series(chans, nmov, mi, lo=wake_end)
    for _ in range(o.get("iso_lm", 6)):
        sim.isolated_lm(lo=wake_end)
    for _ in range(o.get("cramp", 0)):
        calf = [c for c in sim.ch if muscle_of(c) in ("gastroc", "soleus")] or sim.legs()
        sim.cramp_event(ch=calf[0], dur=float(rng.uniform(40, 180)), lo=wake_end)
    for _ in range(o.get("spasm", 1)):
        sim.spasm_event(lo=wake_end, cluster_ok=False)
    for _ in range(int(rng.integers(4, 7))):
        sim.turnover_event(lo=wake_end)
    for _ in range(int(rng.integers(4, 8))):
        sim.posture_event(lo=wake_end, motion_p=0.3, Imax=0.15)
    for _ in range(int(rng.integers(15, 25))):
        sim.twitch_event(lo=wake_end)
    sim.common_artifacts(n_pop=int(rng.integers(2, 5)), n_motion=int(rng.integers(1, 4)), n_lead=1,
                         n_drop=int(rng.integers(2, 5)), n_mains=int(rng.integers(1, 3)), n_wander=int(rng.integers(1, 3)))


def build_exercise(sim):
    rng = sim.rng
    o = sim.cfg["opts"]
    sim.background("exercise")
    prim = sim.ch[0]
    others = sim.ch[1:]
    cur = rng.uniform(20, 40)
    ncr = o.get("cramps", 2)
    cramp_after = set(rng.choice(np.arange(1, 6), size=min(ncr, 5), replace=False).tolist())
    item = 0

    def maybe_cramp(t):
        nonlocal item
        item += 1
        if item in cramp_after:
            dur = float(rng.uniform(20, 150))
            t0 = t + rng.uniform(1.5, 10)
            if t0 + dur < sim.dur - 10:
                sim.cramp_event(ch=prim, t0=t0, dur=dur, I=rng.uniform(0.45, 0.9))
                return t0 + dur + rng.uniform(30, 60)
        return t

    if o.get("warm"):
        d = rng.uniform(200, 320)
        sim.rhythmic_bout(cur, d, o["warm"])
        sim.reserve(sim.ch, cur, cur + d)
        cur += d + rng.uniform(60, 100)
    nsets = int(rng.integers(4, 6))
    for s in range(nsets):
        nreps = int(rng.integers(8, 16))
        period = rng.uniform(1.5, 4.5)
        I = rng.uniform(0.35, 0.75)
        pr = prof_reps(rng, nreps, period, I)
        if cur + len(pr) * DT > sim.dur - 60:
            break
        sim.add(prim, cur, pr, "voluntary")
        for c in others:
            sim.add(c, cur + 0.05, prof_reps(rng, nreps, period, I * rng.uniform(0.1, 0.3)), "voluntary")
        end = cur + len(pr) * DT
        sim.reserve(sim.ch, cur, end)
        cur = maybe_cramp(end)
        cur += rng.uniform(60, 110)
    for h in range(int(rng.integers(2, 4))):
        d = rng.uniform(15, 55)
        if cur + d > sim.dur - 40:
            break
        I = rng.uniform(0.3, 0.7)
        sim.add(prim, cur, prof_hold(rng, d, I), "voluntary")
        for c in others:
            sim.add(c, cur, prof_hold(rng, d, I * rng.uniform(0.08, 0.25)), "voluntary")
        sim.reserve(sim.ch, cur, cur + d)
        cur = maybe_cramp(cur + d)
        cur += rng.uniform(50, 90)
    # remaining cramps that did not fit the plan: place in free time
    ncr_done = sum(1 for e in sim.eps if e["kind"] == "cramp")
    for _ in range(max(ncr - ncr_done, 0)):
        sim.cramp_event(ch=prim, dur=float(rng.uniform(20, 120)), I=rng.uniform(0.45, 0.9))
    if cur < sim.dur - 200 and o.get("warm"):
        d = rng.uniform(100, min(180, sim.dur - cur - 40))
        t0 = sim.place(sim.ch, d, lo=cur, gap=5.0)
        if t0 is not None:
            sim.rhythmic_bout(t0, d, o["warm"])
            sim.reserve(sim.ch, t0, t0 + d)
    for _ in range(o.get("spasm", 0)):
        sim.spasm_event(cluster_ok=False)
    for _ in range(int(rng.integers(4, 9))):
        sim.posture_event(motion_p=0.4)
    for _ in range(int(rng.integers(3, 8))):
        sim.voluntary_move(Irange=(0.1, 0.4), drange=(1, 6))
    for _ in range(int(rng.integers(4, 9))):
        sim.twitch_event()
    sim.common_artifacts(n_pop=int(rng.integers(2, 5)), n_motion=int(rng.integers(3, 7)), n_lead=int(rng.integers(0, 2)),
                         n_drop=int(rng.integers(1, 4)), n_mains=int(rng.integers(1, 3)), n_wander=int(rng.integers(1, 3)))


def build_daily(sim, mixed=False):
    rng = sim.rng
    o = sim.cfg["opts"]
    sim.background("daily" if not mixed else "mixed")
    # walking bouts
    for _ in range(int(rng.integers(2, 4))):
        d = rng.uniform(40, 200)
        t0 = sim.place(sim.ch, d, gap=10.0)
        if t0 is not None:
            sim.rhythmic_bout(t0, d, "walk")
            sim.reserve(sim.ch, t0, t0 + d)
    if mixed:   # a short exercise block: a couple of sets and one hold
        prim = sim.ch[0]
        for _ in range(2):
            nreps, period, I = int(rng.integers(6, 12)), rng.uniform(2, 4.5), rng.uniform(0.3, 0.7)
            pr = prof_reps(rng, nreps, period, I)
            t0 = sim.place([prim], len(pr) * DT, gap=20.0)
            if t0 is not None:
                sim.add(prim, t0, pr, "voluntary")
        d = rng.uniform(15, 40)
        t0 = sim.place([prim], d, gap=20.0)
        if t0 is not None:
            sim.add(prim, t0, prof_hold(rng, d, rng.uniform(0.3, 0.6)), "voluntary")
    # alerting episodes
    for _ in range(o.get("cramp", 1)):
        sim.cramp_event()
    n = 0
    tries = 0
    while n < o.get("spasm", 8) and tries < 60:
        tries += 1
        n += sim.spasm_event(cluster_ok=(o.get("spasm", 8) - n) >= 2)
    for _ in range(o.get("clonus", 0)):
        sim.clonus_event()
    # hard negatives: strong voluntary efforts, everyday movements, posture, twitches
    for _ in range(int(rng.integers(2, 5))):
        sim.voluntary_move(Irange=(0.5, 0.85), drange=(3, 12))
    for _ in range(int(rng.integers(12, 20))):
        sim.voluntary_move(Irange=(0.08, 0.45), drange=(1, 10))
    for _ in range(int(rng.integers(8, 13))):
        sim.posture_event(motion_p=0.35)
    for _ in range(int(rng.integers(6, 12))):
        sim.twitch_event()
    sim.common_artifacts(n_pop=int(rng.integers(3, 7)), n_motion=int(rng.integers(4, 9)), n_lead=1,
                         n_drop=int(rng.integers(2, 6)), n_mains=int(rng.integers(1, 3)), n_wander=int(rng.integers(1, 4)))


# ----------------------------------------------------------------------------------------
# signal synthesis
# ----------------------------------------------------------------------------------------
def person_params(rng, chans):
    P = dict(fl=rng.uniform(35, 60), fh=rng.uniform(90, 140), d=rng.uniform(0.015, 0.025),
             v0=rng.uniform(3.6, 4.6), ft=rng.uniform(180, 350), kf=rng.uniform(0.6, 1.3),
             ka=rng.uniform(0.5, 1.0), gamma=rng.uniform(0.8, 1.2), sig_fast=rng.uniform(0.12, 0.25),
             tau_up=rng.uniform(60, 140), tau_rec=rng.uniform(60, 180), pfac=rng.lognormal(0, 0.3))
    P["ch"] = {}
    for c in chans:
        P["ch"][c] = dict(mvc=MUSCLES[muscle_of(c)][0] * P["pfac"] * rng.lognormal(0, 0.35),
                          fl=P["fl"] * rng.uniform(0.9, 1.1), fh=P["fh"] * rng.uniform(0.9, 1.1),
                          noise=rng.lognormal(math.log(2.2), 0.35), pink=rng.uniform(1, 6),
                          mains=rng.lognormal(math.log(4.0), 0.6))
    return P


def emg_psd(f, s, fl, fh, d, v0, ft):
    """Per-frame PSD: Shwedyk shape compressed by s (Lindstrom scaling) x dipole x tissue."""
    fs_ = f[None, :] / s[:, None]
    G = fs_ ** 2 / ((fs_ ** 2 + fl ** 2) * (fs_ ** 2 + fh ** 2) ** 2)
    H = np.zeros_like(G)
    for cspread in (0.75, 0.88, 1.0, 1.15, 1.3):
        H += np.sin(np.pi * f[None, :] * d / (v0 * s[:, None] * cspread)) ** 2
    return G * H * np.exp(-f / ft)[None, :]


def shaped_noise(rng, n, fs, s_t, t_c, pc, P):
    """Gaussian noise with a time-varying spectrum: random-phase STFT synthesis, OLA."""
    N = int(2 ** round(math.log2(0.128 * fs)))
    hop = N // 2
    nfr = n // hop + 3
    f = np.fft.rfftfreq(N, 1.0 / fs)
    w = np.sin(np.pi * (np.arange(N) + 0.5) / N)
    out = np.zeros((nfr + 1) * hop)
    tc = (np.arange(nfr) * hop - hop + N / 2) / fs
    s_fr = np.interp(tc, t_c, s_t)
    # quantise s to reduce PSD evaluations (s varies slowly)
    sq = np.round(s_fr / 0.005) * 0.005
    us, inv = np.unique(sq, return_inverse=True)
    psd = emg_psd(f, us, pc["fl"], pc["fh"], P["d"], P["v0"], P["ft"])
    psd[:, 0] = 0
    psd[:, -1] = 0
    A = np.sqrt(psd)
    A *= N / np.sqrt(2 * psd.sum(axis=1, keepdims=True))
    CH = 8192
    for a in range(0, nfr, CH):
        b = min(a + CH, nfr)
        m = b - a
        Z = (rng.standard_normal((m, len(f))) + 1j * rng.standard_normal((m, len(f)))) * (A[inv[a:b]] / math.sqrt(2))
        fr = np.fft.irfft(Z, n=N, axis=1) * w
        out[a * hop:b * hop] += fr[:, :hop].ravel()
        out[(a + 1) * hop:(b + 1) * hop] += fr[:, hop:].ravel()
    return out[hop:hop + n]


def pink_noise(rng, n, fs, rms, fmin=0.05):
    X = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / fs)
    X *= 1.0 / np.sqrt(np.maximum(f, fmin))
    X[0] = 0
    x = np.fft.irfft(X, n=n)
    return x * (rms / (x.std() + 1e-12))


def ecg_signal(rng, n, fs, amp, hr):
    dur = n / fs
    nb = int(dur * hr / 60 * 1.3) + 5
    rr = 60.0 / hr * (1 + 0.04 * ou(rng, nb, 20.0, 1.0, dt=1.0))
    tb = rng.uniform(0, 1) + np.cumsum(rr)
    tb = tb[tb < dur - 1]
    tt = np.arange(int(0.7 * fs)) / fs - 0.25
    tmpl = (0.12 * gbump(tt, -0.17, 0.025) - 0.15 * gbump(tt, -0.025, 0.008) + 1.0 * gbump(tt, 0.0, 0.010)
            - 0.3 * gbump(tt, 0.028, 0.010) + 0.3 * gbump(tt, 0.24, 0.045))
    imp = np.zeros(n)
    idx = (tb * fs).astype(int)
    np.add.at(imp, idx, rng.lognormal(0, 0.05, len(idx)))
    x = signal.oaconvolve(imp, tmpl * amp, mode="full")[int(0.25 * fs):int(0.25 * fs) + n]
    return x


def render_motion(rng, L, fs, amp, fc, rhythm=None):
    fc = min(fc, 0.4 * fs)
    sos = signal.butter(2, fc, "low", fs=fs, output="sos")
    x = signal.sosfiltfilt(sos, rng.standard_normal(L + int(fs)))[int(fs / 2):int(fs / 2) + L]
    x /= x.std() + 1e-12
    t = np.arange(L) / fs
    if rhythm:
        x = x * 0.4 + np.sin(2 * np.pi * rhythm * t + rng.uniform(0, 6.3)) ** 7 * 2.0
        x /= np.abs(x).max() + 1e-12
    else:
        # cable tug: a slow hump plus band-limited jiggle
        x = 0.6 * x / (np.abs(x).max() + 1e-12) + rng.uniform(-1, 1) * np.sin(np.pi * t / t[-1]) ** 2
    return amp * x * signal.windows.tukey(L, 0.3)


class Frontend:
    """Raw / envelope output conversion (units, gain, rails, quantisation)."""

    def __init__(self, cfg, rng):
        self.cfg = cfg
        self.units = cfg["units"]
        self.sensor = cfg["sensor"]
        self.gain = cfg["gain"]
        g = self.gain
        if self.sensor == "raw":
            if self.units == "counts":
                self.vref = float(rng.choice([5.0, 3.3]))
                self.G0 = 1000.0
                self.mid = self.vref / 2 * rng.uniform(0.98, 1.02)
                self.lo, self.hi = 0.0, 1023.0
            elif self.units == "V":
                self.vref, self.G0 = 3.3, 330.0
                self.mid = 1.65 * rng.uniform(0.98, 1.02)
                self.lo, self.hi = 0.0, 3.3
            elif self.units == "uV":
                self.lo, self.hi = -5000.0, 5000.0
            else:
                self.lo, self.hi = -5.0, 5.0
        else:
            self.Genv = 3000.0
            self.voff = rng.uniform(0.01, 0.04)
            if self.units == "counts":
                self.vref = float(rng.choice([5.0, 3.3]))
                self.vsat = self.vref * rng.uniform(0.86, 0.94)
                self.lo, self.hi = 0.0, float(np.round(self.vsat / self.vref * 1023))
            elif self.units == "V":
                self.vref = 3.3
                self.vsat = 3.3 * rng.uniform(0.86, 0.94)
                self.lo, self.hi = 0.0, self.vsat
            else:   # mV
                self.vref = 3.3
                self.vsat = 3.3 * rng.uniform(0.86, 0.94)
                self.lo, self.hi = 0.0, self.vsat * 1000
        self.g = g

    def raw_out(self, x_uV):
        """x in input-referred uV (already filtered + wander + dc) -> output units (float, unclipped)."""
        u = self.units
        if u == "counts":
            return (self.mid + self.G0 * self.g * x_uV * 1e-6) / self.vref * 1023.0
        if u == "V":
            return self.mid + self.G0 * self.g * x_uV * 1e-6
        if u == "uV":
            return self.g * x_uV
        return self.g * x_uV * 1e-3

    def env_out(self, env_uV):
        v = self.voff + self.Genv * self.g * env_uV * 1e-6
        if self.units == "counts":
            return v / self.vref * 1023.0
        if self.units == "V":
            return v
        return v * 1000.0

    def mid_value(self):
        if self.sensor == "raw":
            if self.units in ("counts", "V"):
                return self.raw_out(0.0)
            return 0.0
        return self.env_out(0.0)

    def finalize(self, y, rng):
        y = np.clip(y, self.lo, self.hi)
        u = self.units
        if u == "counts":
            y = np.round(y)
        elif u == "V":
            q = 3.3 / 4095
            y = np.clip(np.round(y / q) * q, self.lo, self.hi)
        elif u == "mV" and self.sensor == "envelope":
            y = np.round(y, 1)
        return y


def synth_channel(sim, c, P, emg_c, fs, n, fe, rng, t_fs):
    """Skin-level extras + front end for one channel; returns output (final units) and clip mask."""
    cfg = sim.cfg
    pc = P["ch"][c]
    # impedance: wetting (decays) x slow log-normal drift
    t_c = np.arange(sim.nc) * DT
    w0 = sim.rng_imp.uniform(0.3, 2.0) if cfg["scenario"] == "exercise" else sim.rng_imp.uniform(0.0, 1.0)
    Zr = (1 + w0 * np.exp(-t_c / sim.rng_imp.uniform(300, 900))) * np.exp(ou(sim.rng_imp, sim.nc, 400.0, 0.2))
    Zr_fs = np.interp(t_fs, t_c, Zr)
    bw = min(450.0, 0.45 * fs) - 20.0
    x = emg_c.copy()
    x += rng.standard_normal(n) * (pc["noise"] * math.sqrt((fs / 2) / bw)) * np.sqrt(Zr_fs)
    x += pink_noise(rng, n, fs, pc["pink"])
    if cfg["mains"]:
        fm = cfg["mains"] * (1 + rng.uniform(-3e-4, 3e-4))
        ph = 2 * np.pi * fm * t_fs + rng.uniform(0, 6.3)
        boost = np.ones(n)
        for a in sim.arts:
            if a["channel"] == c and a["kind"] == "mains":
                i0, i1 = int(a["start"] * fs), int(a["end"] * fs)
                boost[i0:i1] += (a["_p"]["boost"] - 1) * signal.windows.tukey(i1 - i0, 0.2)
        mains = np.sin(ph) + 0.3 * np.sin(3 * ph + 0.7) + 0.1 * np.sin(5 * ph + 1.3) + 0.05 * np.sin(2 * ph)
        x += pc["mains"] * Zr_fs * boost * mains
    for a in sim.arts:
        if a["channel"] != c:
            continue
        p = a["_p"]
        i0, i1 = int(a["start"] * fs), min(int(a["end"] * fs), n)
        if i1 - i0 < 4:
            continue
        if a["kind"] == "motion":
            x[i0:i1] += render_motion(rng, i1 - i0, fs, p["amp"], p["fc"], p.get("rhythm"))
        elif a["kind"] == "pop":
            L = min(int(6 * p["tau"] * fs), n - i0)
            x[i0:i0 + L] += p["amp"] * np.exp(-np.arange(L) / (p["tau"] * fs))
        elif a["kind"] == "ecg":
            x += ecg_signal(rng, n, fs, p["amp"], p["hr"])
    for (ch, tm, amp, w) in sim.muaps:
        if ch != c:
            continue
        i = int(tm * fs)
        L = int(8 * w * fs) + 1
        tt = (np.arange(L) - L // 2) / fs
        if i + L < n:
            x[i:i + L] += amp * (-tt / w) * np.exp(0.5 - 0.5 * (tt / w) ** 2)
    # front-end band-pass (causal, like analogue hardware)
    hp = sim.fe_hp
    lp = min(sim.fe_lp, 0.45 * fs)
    sos = signal.butter(2, [hp, lp], "bandpass", fs=fs, output="sos")
    xf = signal.sosfilt(sos, x)
    # slow DC drift (input-referred uV) + labelled wander
    dc = np.interp(t_fs, t_c, ou(rng, sim.nc, 600.0, rng.uniform(2, 15)))
    wander = np.zeros(n)
    for a in sim.arts:
        if a["channel"] == c and a["kind"] == "wander":
            i0, i1 = int(a["start"] * fs), min(int(a["end"] * fs), n)
            tt = np.arange(i1 - i0) / fs
            p = a["_p"]
            wv = sum(rng.uniform(0.4, 1.0) * np.sin(2 * np.pi * p["f"] * k * tt + rng.uniform(0, 6.3)) for k in (1.0, 0.45, 2.2))
            wander[i0:i1] += p["amp"] * wv / 2.0 * signal.windows.tukey(i1 - i0, 0.3)
    if cfg["sensor"] == "raw":
        y = fe.raw_out(xf + dc + wander)
    else:
        r = np.abs(xf)
        if sim.env_mode == "rms":
            k = max(int(sim.env_win * fs), 1)
            cs = np.concatenate([[0.0], np.cumsum(xf * xf)])
            ms = (cs[k:] - cs[:-k]) / k
            env = np.sqrt(np.maximum(np.concatenate([np.full(k - 1, ms[0]), ms]), 0))
        else:
            sos2 = signal.butter(sim.env_order, sim.env_fc, "low", fs=fs, output="sos")
            env = signal.sosfilt(sos2, r)
        # envelope-level wander: offset creep expressed as a fraction of the envelope scale
        env = env + np.abs(dc) * 0.2 + np.abs(wander) * 0.15
        y = fe.env_out(np.maximum(env, 0.0))
        y += rng.standard_normal(n) * (0.3 if fe.units == "counts" else 0.0003 * (1000 if fe.units == "mV" else 1))
    # lead-off replacement
    for a in sim.arts:
        if a["channel"] != c or a["kind"] != "lead_off" or a["_p"]["mode"] == "hold":
            continue
        i0, i1 = int(a["start"] * fs), min(int(a["end"] * fs), n)
        mode = a["_p"]["mode"]
        L = i1 - i0
        mid = fe.mid_value()
        span = fe.hi - fe.lo
        if mode == "rail_hi":
            y[i0:i1] = fe.hi
        elif mode == "rail_lo":
            y[i0:i1] = fe.lo
        elif mode == "zero":
            y[i0:i1] = fe.lo + (mid - fe.lo) * rng.uniform(0.0, 0.5)
        elif mode == "flat":
            y[i0:i1] = mid + rng.standard_normal(L) * span * 2e-4
        else:  # floating input: huge mains + drift
            tt = t_fs[i0:i1]
            if fe.sensor == "raw":
                y[i0:i1] = mid + span * rng.uniform(0.15, 0.6) * np.sin(2 * np.pi * cfg["mains"] * tt) \
                    + span * 0.2 * np.sin(2 * np.pi * 0.2 * tt + rng.uniform(0, 6))
            else:
                y[i0:i1] = fe.lo + span * rng.uniform(0.4, 1.1) * (1 + 0.05 * np.sin(2 * np.pi * 2 * cfg["mains"] * tt))
    y = fe.finalize(y, rng)
    return y


def simulate(cfg, seed):
    t_start = time.time()
    sim = Sim(cfg, seed)
    rng = sim.rng
    sc = cfg["scenario"]
    if sc == "night":
        build_night(sim)
    elif sc == "exercise":
        build_exercise(sim)
    else:
        build_daily(sim, mixed=(sc == "mixed"))
    fs_out = cfg["fs"]
    # envelope boards compute the envelope in analogue -> synthesise at >= 1 kHz, then decimate
    dec = 1
    if cfg["sensor"] == "envelope" and fs_out < 1000:
        dec = int(math.ceil(1000.0 / fs_out))
    fs = fs_out * dec
    n_out = int(round(sim.dur * fs_out))
    n = n_out * dec
    t_fs = np.arange(n) / fs
    t_c = np.arange(sim.nc) * DT
    P = person_params(rng, sim.ch)
    sim.rng_imp = np.random.default_rng([seed, 99])
    sim.fe_hp = float(rng.choice([10.0, 15.0, 20.0]))
    sim.fe_lp = float(rng.uniform(400, 500))
    sim.env_mode = "rms" if rng.random() < 0.5 else "lp"
    sim.env_win = float(rng.uniform(0.05, 0.15))
    sim.env_fc = float(rng.uniform(2.0, 10.0))
    sim.env_order = int(rng.choice([1, 2]))
    fe = Frontend(cfg, rng)
    # EMG per channel
    emg = {}
    for c in sim.ch:
        pc = P["ch"][c]
        a = np.clip(sim.bg[c] + sim.act[c], 0, 1.3)
        # fatigue state: leaky integral of activation (rises with effort, recovers at rest)
        F = signal.lfilter([DT / P["tau_up"]], [1.0, -(1 - DT / P["tau_rec"])], a)
        s = (1 + 0.08 * a) / (1 + P["kf"] * F) * sim.smod[c]
        shaped = shaped_noise(rng, n, fs, s, t_c, pc, P)
        amp = pc["mvc"] * a ** P["gamma"] * lognorm_jitter(rng, sim.nc, 0.1, P["sig_fast"]) * (1 + P["ka"] * F)
        emg[c] = shaped * np.interp(t_fs, t_c, amp)
    # crosstalk between neighbouring muscles (low-passed by tissue)
    if len(sim.ch) > 1:
        mixed = {c: emg[c].copy() for c in sim.ch}
        for c in sim.ch:
            for d in sim.ch:
                if c == d:
                    continue
                near = (side_of(c) == side_of(d) and region_of(c) == region_of(d)) or \
                       (muscle_of(c) == muscle_of(d))
                if near:
                    sos = signal.butter(1, rng.uniform(80, 150), "low", fs=fs, output="sos")
                    mixed[c] += rng.uniform(0.01, 0.03) * signal.sosfilt(sos, emg[d])
        emg = mixed
    out = {}
    for c in sim.ch:
        y = synth_channel(sim, c, P, emg[c], fs, n, fe, rng, t_fs)
        out[c] = y[::dec] if dec > 1 else y
    Y = np.column_stack([out[c] for c in sim.ch])
    # dropouts: held sample value on all channels
    holds = sorted({(a["start"], a["end"]) for a in sim.arts if a["kind"] == "lead_off" and a["_p"]["mode"] == "hold"})
    for (s, e) in holds:
        i0, i1 = int(s * fs_out), min(int(e * fs_out), n_out)
        if i0 > 0:
            Y[i0:i1] = Y[i0 - 1]
    # clipping labels from the final signal
    lead = [(a["channel"], a["start"], a["end"]) for a in sim.arts if a["kind"] == "lead_off"]
    for j, c in enumerate(sim.ch):
        y = Y[:, j]
        eps = 1e-9 * max(abs(fe.hi), 1.0)
        m = y >= fe.hi - eps
        if cfg["sensor"] == "raw":
            m |= y <= fe.lo + eps
        for (cc, s, e) in lead:
            if cc == c:
                m[int(s * fs_out):int(e * fs_out) + 1] = False
        st, en = interval_runs(m)
        if len(st) == 0:
            continue
        gapk = int(0.25 * fs_out)
        ms, me = [st[0]], [en[0]]
        for a, b in zip(st[1:], en[1:]):
            if a - me[-1] <= gapk:
                me[-1] = b
            else:
                ms.append(a)
                me.append(b)
        for a, b in zip(ms, me):
            s_, e_ = round(a / fs_out, 3), round(b / fs_out, 3)
            sim.art("clipping", c, s_, max(e_, s_ + 0.001))
    truth = {"version": 1, "scenario": sc, "seed": int(seed) if np.isscalar(seed) else int(seed[0]),
             "fs": float(fs_out), "duration_s": float(sim.dur), "channels": sim.ch, "sensor": cfg["sensor"],
             "gain": float(cfg["gain"]), "mains_hz": (float(cfg["mains"]) if cfg["mains"] else None),
             "episodes": sorted(sim.eps, key=lambda e: (e["start"], e["channel"])),
             "artifacts": sorted([{k: v for k, v in a.items() if k != "_p"} for a in sim.arts],
                                 key=lambda a: (a["start"], a["channel"]))}
    meta = {"fe": {"hp": sim.fe_hp, "lp": sim.fe_lp, "env_mode": sim.env_mode, "env_win": sim.env_win,
                   "env_fc": sim.env_fc, "env_order": sim.env_order, "lo": fe.lo, "hi": fe.hi},
            "mvc_uV": {c: round(P["ch"][c]["mvc"], 1) for c in sim.ch},
            "noise_uV": {c: round(P["ch"][c]["noise"], 2) for c in sim.ch}, "synth_s": round(time.time() - t_start, 2)}
    return Y, truth, meta


# ----------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------
def write_csv(path, t, Y, chans, units):
    vfmt = {"counts": "%d", "V": "%.5f", "mV": "%.5f", "uV": "%.3f"}[units]
    if units == "mV" and np.nanmax(np.abs(Y)) > 50:
        vfmt = "%.2f"
    rowfmt = "%.6f," + ",".join([vfmt] * len(chans)) + "\n"
    CH = 200000
    with open(path, "w") as f:
        f.write("time," + ",".join(chans) + "\n")
        for a in range(0, len(t), CH):
            b = min(a + CH, len(t))
            if units == "counts":
                blk = np.column_stack([t[a:b], Y[a:b]]).tolist()
                f.write("".join(rowfmt % tuple(r) for r in blk))
            else:
                blk = np.column_stack([t[a:b], Y[a:b]]).ravel().tolist()
                f.write((rowfmt * (b - a)) % tuple(blk))


def write_edf(path, Y, chans, units, fs, lo, hi):
    import pyedflib
    dim = {"counts": "counts", "uV": "uV", "mV": "mV", "V": "V"}[units]
    w = pyedflib.EdfWriter(path, len(chans), file_type=pyedflib.FILETYPE_EDFPLUS)
    hdrs = []
    for j, c in enumerate(chans):
        pmin = float(np.floor(min(lo, Y[:, j].min())))
        pmax = float(np.ceil(max(hi, Y[:, j].max())))
        hdrs.append({"label": c, "dimension": dim, "sample_frequency": fs, "physical_min": pmin,
                     "physical_max": pmax, "digital_min": -32768, "digital_max": 32767,
                     "transducer": "sEMG electrodes", "prefilter": "thirdsim"})
    w.setSignalHeaders(hdrs)
    w.writeSamples([np.ascontiguousarray(Y[:, j]) for j in range(len(chans))])
    w.close()


def run_one(args):
    idx, cfg, out, seed0 = args
    t0 = time.time()
    seed = seed0 * 1000 + idx
    Y, truth, meta = simulate(cfg, seed)
    name = cfg["name"]
    fs = cfg["fs"]
    n = Y.shape[0]
    t = np.arange(n) / fs
    if cfg["fmt"] == "edf":
        fname = name + ".edf"
        write_edf(os.path.join(out, fname), Y, cfg["ch"], cfg["units"], fs, meta["fe"]["lo"], meta["fe"]["hi"])
    else:
        fname = name + ".csv"
        write_csv(os.path.join(out, fname), t, Y, cfg["ch"], cfg["units"])
    with open(os.path.join(out, name + ".truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    ent = {"name": name, "file": fname, "truth": name + ".truth.json", "format": cfg["fmt"],
           "scenario": cfg["scenario"], "context": CONTEXT[cfg["scenario"]], "fs": fs,
           "duration_s": float(cfg["dur"]), "channels": cfg["ch"], "sensor": cfg["sensor"],
           "units": cfg["units"], "gain": cfg["gain"], "mains_hz": cfg["mains"], "seed": seed,
           "sim_meta": meta}
    print(f"  {name}: {n} samples x {len(cfg['ch'])} ch, {len(truth['episodes'])} episodes, "
          f"{len(truth['artifacts'])} artifacts, {time.time() - t0:.1f}s", flush=True)
    return ent


def cmd_suite(a):
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    todo = [(i, cfg, a.out, a.seed0) for i, cfg in enumerate(SUITE) if not a.only or cfg["name"] in a.only.split(",")]
    # biggest first for load balance
    todo.sort(key=lambda x: -x[1]["dur"] * x[1]["fs"] * len(x[1]["ch"]))
    if a.jobs > 1:
        import multiprocessing as mp
        with mp.Pool(a.jobs) as pool:
            ents = pool.map(run_one, todo, chunksize=1)
    else:
        ents = [run_one(x) for x in todo]
    ents.sort(key=lambda e: [c["name"] for c in SUITE].index(e["name"]))
    suite = {"version": 1, "generator": "thirdsim", "seed0": a.seed0,
             "total_hours": round(sum(e["duration_s"] for e in ents) / 3600, 3), "recordings": ents}
    with open(os.path.join(a.out, "suite.json"), "w") as f:
        json.dump(suite, f, indent=1)
    print(f"wrote {len(ents)} recordings, {suite['total_hours']} h, in {time.time() - t0:.1f}s")


# ----------------------------------------------------------------------------------------
# verification
# ----------------------------------------------------------------------------------------
EP_KINDS = {"spasm", "cramp", "clonus", "plm", "voluntary", "turnover", "twitch", "posture"}
ART_KINDS = {"lead_off", "pop", "motion", "clipping", "mains", "ecg", "wander"}


def load_signal(path, chans):
    if path.endswith(".edf"):
        import pyedflib
        r = pyedflib.EdfReader(path)
        Y = np.column_stack([r.readSignal(i) for i in range(r.signals_in_file)])
        r.close()
        return Y
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, len(chans) + 1), ndmin=2)


def cmd_verify(a):
    suite = json.load(open(os.path.join(a.out, "suite.json")))
    tot = {}
    problems = []
    for e in suite["recordings"]:
        tr = json.load(open(os.path.join(a.out, e["truth"])))
        assert tr["scenario"] in ("night", "exercise", "daily", "mixed")
        for ep in tr["episodes"]:
            if ep["kind"] not in EP_KINDS or ep["channel"] not in tr["channels"] or not (0 <= ep["start"] < ep["end"] <= tr["duration_s"]):
                problems.append((e["name"], "bad episode", ep))
            if not (0 < ep["intensity"] <= 1.2):
                problems.append((e["name"], "intensity", ep))
            tot[ep["kind"]] = tot.get(ep["kind"], 0) + 1
            if ep["kind"] == "twitch" and ep["end"] - ep["start"] >= 0.5:
                problems.append((e["name"], "long twitch", ep))
            if ep["kind"] == "plm" and not (0.5 <= ep["end"] - ep["start"] <= 10):
                problems.append((e["name"], "plm dur", ep))
            if ep["kind"] == "spasm" and not (0.8 <= ep["end"] - ep["start"] <= 31):
                problems.append((e["name"], "spasm dur", ep))
        for art in tr["artifacts"]:
            if art["kind"] not in ART_KINDS or not (0 <= art["start"] < art["end"] <= tr["duration_s"]):
                problems.append((e["name"], "bad artifact", art))
        for c in tr["channels"]:
            eps = sorted([x for x in tr["episodes"] if x["channel"] == c], key=lambda x: x["start"])
            for x, y in zip(eps[:-1], eps[1:]):
                if y["start"] < x["end"]:
                    problems.append((e["name"], "overlap", x, y))
            # PLM series rules, per channel
            ser = {}
            for x in eps:
                if "series" in x:
                    ser.setdefault(x["series"], []).append(x["start"])
            for sid, on in ser.items():
                d = np.diff(on)
                if len(on) < 4 or (len(d) and (d.min() < 10 or d.max() > 90)):
                    problems.append((e["name"], "series rule", c, sid, len(on), d.min() if len(d) else None))
        # signal checks
        Y = load_signal(os.path.join(a.out, e["file"]), tr["channels"])
        fs = tr["fs"]
        n = Y.shape[0]
        if abs(n / fs - tr["duration_s"]) > 1.0 / fs + 1e-6:
            problems.append((e["name"], "length", n, fs))
        msg = [f"{e['name']:22s} {e['sensor']:8s} {e['units']:6s} fs={fs:6.0f} g={e['gain']:<4} n={n}"]
        for j, c in enumerate(tr["channels"]):
            y = Y[:, j]
            if not np.isfinite(y).all():
                problems.append((e["name"], "nan", c))
            if e["sensor"] == "envelope" and y.min() < 0:
                problems.append((e["name"], "negative envelope", c, y.min()))
            # amplitude: rest vs alerting episodes (moving RMS of deviation from median)
            mask = np.zeros(n, bool)
            for x in tr["episodes"] + tr["artifacts"]:
                if x["channel"] == c and x["kind"] != "ecg":
                    mask[int(x["start"] * fs):int(x["end"] * fs) + 1] = True
            k = max(int(0.25 * fs), 1)
            dev = y - np.median(y)
            if e["sensor"] == "raw":
                b, aa = signal.butter(2, min(20, 0.4 * fs / 2), "high", fs=fs)
                dev = signal.lfilter(b, aa, y - y[0])
                lvl = np.sqrt(np.convolve(dev * dev, np.ones(k) / k, mode="same"))
            else:
                lvl = np.convolve(y, np.ones(k) / k, mode="same")
                lvl = lvl - np.percentile(lvl[~mask] if (~mask).any() else lvl, 1)
            rest = np.median(lvl[~mask]) if (~mask).any() else np.nan
            parts = [f"{c}: rest={rest:.3g} range=[{y.min():.4g},{y.max():.4g}]"]
            for kind in ("spasm", "cramp", "clonus", "plm", "voluntary"):
                vals = [np.mean(lvl[int(x["start"] * fs):int(x["end"] * fs)]) for x in tr["episodes"]
                        if x["channel"] == c and x["kind"] == kind]
                if vals:
                    parts.append(f"{kind}={np.median(vals) / max(rest, 1e-9):.1f}x")
            msg.append("   " + " ".join(parts))
        print("\n".join(msg))
    print("episode counts:", dict(sorted(tot.items())))
    print("hours:", round(sum(e["duration_s"] for e in suite["recordings"]) / 3600, 3))
    if problems:
        print(f"{len(problems)} PROBLEMS:")
        for p in problems[:40]:
            print("  ", p)
        sys.exit(1)
    print("verify OK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    s = sp.add_parser("suite")
    s.add_argument("--out", required=True)
    s.add_argument("--seed0", type=int, default=1)
    s.add_argument("--jobs", type=int, default=2)
    s.add_argument("--only", default="")
    v = sp.add_parser("verify")
    v.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "suite":
        cmd_suite(a)
    else:
        cmd_verify(a)


if __name__ == "__main__":
    main()
