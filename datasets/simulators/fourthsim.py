#!/usr/bin/env python3
"""fourthsim -- an independent surface-EMG simulator with per-channel ground truth.

Purpose
-------
Generates recordings (CSV) plus truth (JSON) for training/evaluating a detector of
involuntary muscle contractions (spasm, cramp, clonus, periodic limb movements in sleep)
against look-alikes (voluntary effort, posture changes, turning over in bed, twitches),
under hobby-grade hardware conditions.

Signal model (per channel = one muscle under one bipolar electrode pair)
------------------------------------------------------------------------
1. Neural command.  Every episode contributes a command profile u(t) (fraction of MVC)
   on a 250 Hz "drive grid": ramps/holds for voluntary work, abrupt (10-50 ms) rise with
   irregular sub-bursts for spasms, slow build-up and fluctuating plateau for cramps,
   raised-cosine bursts at 3-8 Hz for clonus, polyphasic bumps for PLMs, etc.
2. Activation dynamics.  u(t) passes a critically damped second-order system
   (time constant 8-20 ms per person) -> activation a(t).  The excitation reaching the
   motor-neuron pool is e(t) = a(t) * (1 + physiological tremor (narrow-band 8-12 Hz noise)
   + slow common-drive fluctuation).
3. Motor-unit pool (60-140 MUs per muscle).  Exponentially distributed recruitment
   thresholds (0.6 % .. 45-75 % MVC), rate coding from 5-8 Hz at recruitment to an
   onion-skin peak rate (early MUs faster), ISI variability (CV 0.12-0.25) by the
   time-rescaling method (Gaussian ISIs in "phase" units mapped through the integrated
   rate), MU sizes spanning 10-40x.  Spike times are generated event-wise only where the
   muscle is active, so long quiet nights are cheap.
4. MUAP / volume conductor.  MUs are split into 4 depth groups; each group's surface
   potential is a mix of a biphasic and a triphasic Gaussian-derived wave whose width
   grows with (subcutaneous fat + depth), attenuated exp(-h/lambda), differentiated by the
   bipolar electrode pair (delay = inter-electrode distance / conduction velocity, which
   gives the spatial-filter notches).  Templates are designed in the frequency domain and
   band-limited to the sampling rate.  Fat thickness per person/site therefore acts as a
   per-electrode low-pass.
5. Fatigue.  A leaky integrator of sustained activation F(t) in [0,1] blends each spike's
   MUAP between the fresh template and a 1.5x time-stretched one (conduction-velocity
   drop), lowering the median frequency and raising amplitude during long holds/cramps.
6. Calibration.  Amplitudes are scaled analytically so that RMS at e=1 equals the drawn
   MVC RMS (50 uV .. 3 mV, log-uniform); noise floor 0.5-10 uV RMS in band (kept at least
   25x below the MVC RMS).
7. Electrode/environment (all at the electrode, in uV): white electrode noise with slowly
   varying impedance factor, mains 50/60 Hz with 2nd-5th harmonics, drifting amplitude
   and frequency plus labelled bursts, baseline-wander episodes (0.1-2 Hz, mV), motion
   artifacts (1-15 Hz transients, mV) with turnovers/postures/walking/exercise, electrode
   pops (step + exponential recovery), lead-off segments (flat or railed output), ECG
   (P-QRS-T, HRV, 45-90 bpm) on back/thigh channels sometimes.
8. Analog front end + ADC.
   raw board (MyoWare/AD8232-like): instrumentation amp (gain 5-20, saturating),
   1st/2nd-order high-pass 10-25 Hz, second stage (board gain * user gain), 2nd/4th-order
   anti-alias low-pass (min(350-500 Hz, 0.42 fs)), mid-rail bias with per-board offset,
   ADC noise 0.2-0.8 LSB, 10-bit quantisation (Vref 5 V or 3.3 V), clipping at the rails
   (rail margin 0-5 counts per board).
   envelope board: same input stages, precision full-wave rectifier (small dead zone),
   RC smoothing (1st/2nd order, tau 20-150 ms per board), envelope gain * user gain,
   per-board output offset, 10-bit ADC >= 0.
   uV recordings: lab-style amplifier, high-pass 5-20 Hz, low-pass, 0.01 uV resolution,
   input range clipping; written as floats, header names "<ch>_uV".
   Known simplification: the analog chain is simulated at the output sampling rate, so
   aliasing of a 500 Hz-sampled board is not reproduced (templates are band-limited).

Labelling conventions
---------------------
* episodes: one entry per channel per episode ("label everything you put in").  start/end
  are where that episode's own activation a(t) exceeds 10 % of its peak (>= 0.004 MVC), i.e.
  where EMG activity really is (physiological timing; an envelope board's RC adds its own
  lag of ~tau on top).  intensity = 75th percentile of that activation inside the label
  (fraction of MVC, 0-1; 90th for clonus, whose bursts fill only 25-50 % of each cycle).
  Episodes never overlap on one channel (gap >= ~0.3 s).
  - each exercise repetition is one "voluntary" episode; an isometric hold is one; a walking
    bout is one "voluntary" episode per participating channel (from first to last step);
    co-contraction of other muscles during a set is labelled "voluntary" on those channels.
  - multi-muscle events (spasm, posture, turnover, bilateral PLM) are labelled on every
    channel that carries them, with their own onset lags.
  - every leg movement in sleep (in series or isolated, incl. co-activation of other leg
    muscles) is labelled "plm".  PLM series use onset-to-onset 10-90 s.
  - "twitch": brief bursts < 0.5 s and single-motor-unit fasciculations (label 25 ms long).
* artifacts: "motion" (each transient / a whole walking bout or exercise set when the
  cable sways), "pop" (step until ~3 tau of its recovery), "lead_off" (the whole segment;
  output flat at mid-rail/offset/0 or railed or saturated mains), "clipping" (derived from
  the written output: samples at the board rails / amplifier range, gaps < 0.25 s merged,
  outside lead-off), "mains" (whole recording when the background hum RMS exceeds half the
  noise floor, plus each burst), "wander" (each wander episode), "ecg" (whole recording on
  an affected channel).
* Unlabelled by design: small impedance-noise fluctuations (+-30 %), the tiny slow baseline
  drift below the wander episodes, and (in some daily recordings) a very low tonic
  background activation (< 1.5 % MVC, spasticity/incomplete relaxation).

CLI
---
  python fourthsim.py suite --out DIR --seed0 N [--scale 1.0]
  python fourthsim.py one --out DIR --scenario night --seed 3 [--duration 600 --fs 1000
         --sensor raw --units counts --gain 1 --channels tib_ant_l,tib_ant_r]
Dependencies: numpy, scipy.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from scipy import fft as sfft
from scipy import signal

FS_C = 250.0                      # drive / slow-signal grid (Hz)
FS_CHOICES = (500, 512, 800, 1000, 1500, 2000, 2500, 4000)
FS_REF = 10000.0                  # reference rate for amplitude calibration
N_GROUPS = 4
STRETCH_MAX = 1.5
CHUNK = 131072 - 2048             # fine samples per rendering chunk
NFFT = 131072

SITE_FAT = {"calf": 0.8, "tib_ant": 0.5, "thigh": 1.3, "forearm": 0.55, "back": 1.1}
LEG_SITES = ("calf", "tib_ant", "thigh")


# ----------------------------------------------------------------------------- helpers
def site_of(ch):
    return ch.rsplit("_", 1)[0]


def side_of(ch):
    return ch.rsplit("_", 1)[1] if "_" in ch else "l"


def lp_noise(rng, n, fc, fs=FS_C, order=2):
    """Stationary low-pass Gaussian noise (unit std) of length n, corner fc."""
    n = int(n)
    if n <= 0:
        return np.zeros(0)
    m = max(n, int(6 * fs / max(fc, 1e-3)), 16)
    m = min(m, max(n, 1 << 22))
    m = sfft.next_fast_len(m)
    f = np.fft.rfftfreq(m, 1.0 / fs)
    h = 1.0 / np.sqrt(1.0 + (f / fc) ** (2 * order))
    h[0] = 0.0
    x = sfft.irfft(sfft.rfft(rng.standard_normal(m)) * h, m)
    sd = x.std()
    return x[:n] / sd if sd > 0 else x[:n]


def bp_noise(rng, n, f0, bw, fs=FS_C):
    """Narrow-band Gaussian noise (unit std) centred on f0, Gaussian spectral bump width bw."""
    n = int(n)
    m = sfft.next_fast_len(max(n, 64))
    f = np.fft.rfftfreq(m, 1.0 / fs)
    h = np.exp(-0.5 * ((f - f0) / bw) ** 2)
    x = sfft.irfft(sfft.rfft(rng.standard_normal(m)) * h, m)
    return x[:n] / (x.std() + 1e-12)


def smoothstep(n):
    if n <= 0:
        return np.zeros(0)
    x = (np.arange(n) + 0.5) / n
    return 0.5 - 0.5 * np.cos(np.pi * x)


def loguni(rng, lo, hi):
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def ns(t):
    """seconds -> number of drive-grid samples"""
    return max(1, int(round(t * FS_C)))


def act_filter(x, tau):
    """Critically damped 2nd-order activation dynamics on the drive grid."""
    al = 1.0 - math.exp(-1.0 / (FS_C * tau))
    b, a = [al], [1.0, al - 1.0]
    return signal.lfilter(b, a, signal.lfilter(b, a, x))


# ----------------------------------------------------------------------------- MU pool
class Pool:
    """Motor-unit pool + MUAP templates of one muscle/electrode."""

    def __init__(self, rng, mvc_uv, fat_mm, person):
        self.mvc_uv = mvc_uv
        N = int(rng.integers(60, 141))
        self.N = N
        pos = np.arange(N) / (N - 1)
        rr = rng.uniform(0.45, 0.75)
        thr = np.exp(np.log(0.006) + pos * (np.log(rr) - np.log(0.006)))
        thr = np.sort(thr * np.exp(rng.normal(0, 0.08, N)))
        self.thr = np.clip(thr, 0.004, 0.9)
        self.rmin = rng.uniform(5.0, 8.0, N)
        self.rpk = np.maximum(self.rmin + 8, rng.uniform(28, 38) - rng.uniform(8, 14) * pos
                              + rng.normal(0, 2.0, N))
        size = np.exp(pos * np.log(rng.uniform(10, 40))) * np.exp(rng.normal(0, 0.25, N))
        muscle_depth = rng.uniform(8, 20)
        depth = rng.uniform(1.0, muscle_depth, N)
        h = fat_mm + depth
        lam = rng.uniform(6, 12)
        self.amp_rel = size * np.exp(-h / lam)
        edges = np.quantile(depth, np.linspace(0, 1, N_GROUPS + 1))
        grp = np.clip(np.searchsorted(edges, depth, side="right") - 1, 0, N_GROUPS - 1)
        self.group = grp.astype(np.int8)
        ied = rng.uniform(15, 25) * 1e-3
        cv = rng.uniform(3.5, 5.0)
        sig0 = person["sigma0"]
        self.gpar = []
        for g in range(N_GROUPS):
            hg = float(h[grp == g].mean()) if np.any(grp == g) else float(h.mean())
            self.gpar.append(dict(sigma=sig0 * (1.0 + hg / 16.5),
                                  tau_d=ied / (cv * rng.uniform(0.92, 1.08)),
                                  mix=rng.uniform(0.2, 0.8)))
        # analytic calibration at reference rate
        E = np.array([np.sum(self.template(FS_REF, g, 1.0) ** 2) / FS_REF for g in range(N_GROUPS)])
        self.E = E
        p1 = self._power(np.ones(1))[0]
        self.k = mvc_uv / math.sqrt(p1)                # uV per template unit
        self.amp = self.k * self.amp_rel
        egrid = np.linspace(0, 1.3, 261)
        self._egrid = egrid
        self._rms = np.sqrt(self._power(egrid)) * self.k

    def rates(self, e, i):
        x = np.clip((e - self.thr[i]) / (1.0 - self.thr[i]), 0.0, 1.5)
        return self.rmin[i] + (self.rpk[i] - self.rmin[i]) * x ** 0.6

    def _power(self, e):
        e = np.atleast_1d(e)[:, None]
        x = np.clip((e - self.thr) / (1.0 - self.thr), 0.0, 1.5)
        r = np.where(e > self.thr, self.rmin + (self.rpk - self.rmin) * x ** 0.6, 0.0)
        return (r * self.amp_rel ** 2 * self.E[self.group]).sum(axis=1)

    def rms_at(self, e):
        return float(np.interp(e, self._egrid, self._rms))

    def e_for_rms(self, target_uv):
        i = np.searchsorted(self._rms, target_uv)
        return float(self._egrid[min(i, len(self._egrid) - 1)])

    def template(self, fs, g, stretch, length=None):
        p = self.gpar[g]
        sig, td = p["sigma"] * stretch, p["tau_d"] * stretch
        shift = 4.0 * sig
        L = int(math.ceil((8 * sig + td) * fs)) + 2 if length is None else length
        nf = 1 << int(math.ceil(math.log2(max(4 * L, 64))))
        f = np.fft.rfftfreq(nf, 1.0 / fs)
        w = 2 * np.pi * f
        G = sig * math.sqrt(2 * math.pi) * np.exp(-2 * (math.pi * sig * f) ** 2)
        phi = (1 - p["mix"]) * (-sig * 1j * w) * G + p["mix"] * (sig * w) ** 2 * G
        H = phi * (1 - np.exp(-1j * w * td)) * np.exp(-1j * w * shift)
        return sfft.irfft(H, nf)[:L] * fs

    def median_freq(self, fs=FS_REF, stretch=1.0):
        nf = 1 << 14
        P = 0
        for g in range(N_GROUPS):
            w = (self.amp_rel[self.group == g] ** 2).sum()
            T = self.template(fs, g, stretch)
            P = P + w * np.abs(np.fft.rfft(T, nf)) ** 2
        f = np.fft.rfftfreq(nf, 1 / fs)
        c = np.cumsum(P)
        return float(f[np.searchsorted(c, c[-1] / 2)])


# ----------------------------------------------------------------------------- command shapes
def cmd_rep(rng, level, t_up, t_hold, t_down):
    up = smoothstep(ns(t_up))
    hold = np.ones(ns(t_hold)) if t_hold > 0 else np.zeros(0)
    if hold.size:
        hold = hold * (1 + 0.04 * lp_noise(rng, hold.size, 2.0))
    down = smoothstep(ns(t_down))[::-1]
    return level * np.concatenate([up, hold, down])


def cmd_hold(rng, level, dur):
    n = ns(dur)
    up = ns(rng.uniform(0.5, 1.5))
    dn = ns(rng.uniform(0.3, 1.0))
    body = np.ones(n)
    body[:up] = smoothstep(up)
    body[n - dn:] = smoothstep(dn)[::-1]
    t = np.arange(n) / n
    fl = 1 + (0.03 + 0.06 * t) * lp_noise(rng, n, 1.5) + 0.05 * t   # shakier and creeping up
    return level * body * fl


def cmd_spasm(rng, level, dur):
    n = ns(dur)
    rise = ns(rng.uniform(0.01, 0.05))
    fall = min(ns(rng.uniform(0.1, 1.5)), max(1, n // 3))
    env = np.ones(n)
    env[:rise] = np.linspace(0, 1, rise + 1)[1:]
    env[n - fall:] *= np.exp(-4 * np.linspace(0, 1, fall))
    t = np.arange(n) / FS_C
    over = 1 + rng.uniform(0, 0.4) * np.exp(-t / rng.uniform(0.2, 0.8))
    body = 1 + 0.3 * lp_noise(rng, n, rng.uniform(0.5, 3.0))
    # jerky sub-bursts and partial relaxations
    nb = rng.poisson(rng.uniform(0.5, 2.0) * dur)
    for _ in range(nb):
        c = rng.integers(0, n)
        w = ns(rng.uniform(0.05, 0.3))
        a, b = max(0, c - w // 2), min(n, c + w // 2 + 1)
        body[a:b] += rng.uniform(0.2, 0.5) * np.hanning(b - a + 2)[1:-1]
    if dur > 3 and rng.random() < 0.3:
        c = rng.integers(n // 4, 3 * n // 4)
        w = ns(rng.uniform(0.2, 1.0))
        a, b = max(0, c - w // 2), min(n, c + w // 2 + 1)
        body[a:b] *= 1 - 0.6 * np.hanning(b - a + 2)[1:-1]
    return np.clip(level * env * over * body, 0, 1.25)


def cmd_cramp(rng, level, dur):
    n = ns(dur)
    bu = min(ns(rng.uniform(0.5, 5.0)), n // 3)
    if rng.random() < 0.6:      # relieved by stretching
        end = min(ns(rng.uniform(0.5, 2.0)), n // 4)
    else:                       # fades on its own
        end = min(ns(rng.uniform(3.0, 15.0)), n // 3)
    env = np.ones(n)
    env[:bu] = smoothstep(bu) ** 1.5
    env[n - end:] = smoothstep(end)[::-1]
    fl = (1 + 0.2 * lp_noise(rng, n, rng.uniform(0.05, 0.3))
          + 0.1 * lp_noise(rng, n, rng.uniform(1.0, 4.0)))
    for _ in range(rng.poisson(dur / 20)):          # surges
        c = rng.integers(0, n)
        w = ns(rng.uniform(1.0, 5.0))
        a, b = max(0, c - w // 2), min(n, c + w // 2 + 1)
        fl[a:b] += rng.uniform(0.1, 0.3) * np.hanning(b - a + 2)[1:-1]
    return np.clip(level * env * fl, 0, 1.2)


def cmd_clonus(rng, level, dur, f0):
    n = ns(dur)
    t = np.arange(n) / FS_C
    f = f0 * (1 + 0.04 * lp_noise(rng, n, 0.3))
    ph = np.cumsum(f) / FS_C
    cyc = np.floor(ph).astype(int)
    frac = ph - cyc
    duty = rng.uniform(0.25, 0.5)
    burst = np.where(frac < duty, np.sin(np.pi * frac / duty) ** 2, 0.0)
    amps = np.clip(1 + 0.2 * rng.standard_normal(cyc.max() + 2), 0.3, 1.8)
    prof = rng.integers(0, 3)
    if prof == 0:
        shape = np.ones(n)
    elif prof == 1:
        shape = np.exp(-t / max(dur * rng.uniform(0.4, 1.5), 0.5))
    else:
        shape = np.sin(np.pi * (t + 0.3) / (dur + 0.6)) ** 0.7
    tonic = rng.uniform(0.0, 0.05)
    out = level * (burst * amps[cyc] * shape + tonic)
    return out


def cmd_plm(rng, level, dur):
    n = ns(dur)
    rise = min(ns(rng.uniform(0.05, 0.4)), n // 3)
    fall = min(ns(rng.uniform(0.1, 0.5)), n // 3)
    env = np.ones(n)
    env[:rise] = smoothstep(rise)
    env[n - fall:] = smoothstep(fall)[::-1]
    body = 1 + 0.2 * lp_noise(rng, n, 2.0)
    k = rng.choice([1, 1, 2, 3])                       # polyphasic movements
    if k > 1:
        ph = np.linspace(0, k * np.pi, n)
        body *= 0.55 + 0.45 * np.abs(np.sin(ph + rng.uniform(0, 0.5)))
    return np.clip(level * env * body, 0, 1)


def cmd_bump(rng, level, dur, roughness=0.15, fc=3.0):
    n = ns(dur)
    w = np.sin(np.pi * (np.arange(n) + 0.5) / n) ** rng.uniform(0.5, 1.5)
    return np.clip(level * w * (1 + roughness * lp_noise(rng, n, fc)), 0, 1)


def cmd_move(rng, level, dur):
    up = rng.uniform(0.1, min(0.8, dur * 0.4))
    dn = rng.uniform(0.1, min(0.8, dur * 0.4))
    return cmd_rep(rng, level, up, max(0.0, dur - up - dn), dn)


# ----------------------------------------------------------------------------- builder
class Builder:
    """Collects episodes (command segments) and artifacts on the drive grid."""

    def __init__(self, rng, dur, channels, pools, person):
        self.rng, self.dur, self.channels = rng, dur, list(channels)
        self.nc = int(dur * FS_C) + 3
        self.pools, self.person = pools, person
        self.busy = {c: [] for c in channels}
        self.eps = []        # dict kind, ch, i0, cmd
        self.fasc = {c: [] for c in channels}   # (time, mu index)
        self.arts = []       # labelled artifacts
        self.slow = {c: np.zeros(self.nc) for c in channels}     # uV at electrode
        self.mains_mult = np.ones(self.nc)
        self.leadoff = {c: [] for c in channels}
        self.tonic = {c: 0.0 for c in channels}

    # --- occupancy
    def free(self, ch, a, b, margin=0.35):
        if a < 0.05 or b > self.dur - 0.3:
            return False
        for (x, y) in self.busy[ch]:
            if a < y + margin and b > x - margin:
                return False
        return True

    def add(self, kind, ch, t0, cmd, check=True):
        t1 = t0 + len(cmd) / FS_C
        if check and not self.free(ch, t0, t1):
            return False
        i0 = int(round(t0 * FS_C))
        if i0 + len(cmd) > self.nc - 2:
            return False
        self.busy[ch].append((t0, t1 + 0.1))
        self.eps.append(dict(kind=kind, ch=ch, i0=i0, cmd=np.asarray(cmd, float)))
        return True

    def multi(self, kind, chans, t0, cmds, lags, need_first=True):
        ok = [self.free(c, t0 + lg, t0 + lg + len(cm) / FS_C) for c, cm, lg in zip(chans, cmds, lags)]
        if need_first and not ok[0]:
            return []
        if not any(ok):
            return []
        done = []
        for c, cm, lg, o in zip(chans, cmds, lags, ok):
            if o and self.add(kind, c, t0 + lg, cm, check=False):
                done.append(c)
        return done

    def art(self, kind, ch, a, b):
        a, b = max(0.0, a), min(self.dur, b)
        if b > a:
            self.arts.append(dict(start=round(a, 4), end=round(b, 4), kind=kind, channel=ch))

    def add_slow(self, ch, t0, wave):
        i0 = int(round(t0 * FS_C))
        if i0 >= self.nc:
            return
        j = min(self.nc, i0 + len(wave))
        if i0 < 0:
            wave, i0 = wave[-i0:], 0
        self.slow[ch][i0:j] += wave[: j - i0]

    def rand_t(self, lo=None, hi=None):
        lo = 1.0 if lo is None else lo
        hi = self.dur - 2.0 if hi is None else hi
        return float(self.rng.uniform(lo, max(lo + 1e-3, hi)))

    def legs(self):
        return [c for c in self.channels if site_of(c) in LEG_SITES]

    def min_level(self, ch, k=3.0):
        return self.pools[ch].e_for_rms(k * self.person["noise"][ch])


# ----------------------------------------------------------------------------- artifact makers
def art_motion(b, ch, t0, dur, amp):
    rng = b.rng
    n = ns(dur)
    w = signal.windows.tukey(n, 0.3) if n > 4 else np.ones(n)
    x = lp_noise(rng, n, rng.uniform(2.0, 12.0)) * w
    if rng.random() < 0.4:                 # electrode displacement: quasi-step
        x += rng.normal(0, 1.0) * smoothstep(n) * np.exp(-np.arange(n) / (n * 2.0))
    x *= amp / (np.abs(x).max() + 1e-12)
    b.add_slow(ch, t0, x)
    b.art("motion", ch, t0, t0 + dur)


def art_pop(b, ch, t0):
    rng = b.rng
    tau = rng.uniform(0.05, 1.0)
    amp = loguni(rng, 500, 20000) * rng.choice([-1, 1])
    n = ns(6 * tau)
    b.add_slow(ch, t0, amp * np.exp(-np.arange(n) / (tau * FS_C)))
    b.art("pop", ch, t0, t0 + min(2.0, max(0.1, 3 * tau)))


def art_wander(b, ch, t0, dur):
    rng = b.rng
    n = ns(dur)
    x = lp_noise(rng, n, rng.uniform(0.1, 2.0)) * signal.windows.tukey(n, 0.2)
    x *= loguni(rng, 200, 5000) / (np.abs(x).max() + 1e-12)
    b.add_slow(ch, t0, x)
    b.art("wander", ch, t0, t0 + dur)


def art_leadoff(b, ch, t0, dur, sensor, units):
    rng = b.rng
    if not b.free(ch, t0, t0 + dur, margin=0.5):
        return False
    if units == "uV":
        mode = rng.choice(["flat_zero", "rail", "mains_big"])
    elif sensor == "envelope":
        mode = rng.choice(["rail_hi", "flat_offset", "flat_offset"])
    else:
        mode = rng.choice(["rail_hi", "rail_lo", "flat_mid", "mains_sat"])
    b.busy[ch].append((t0, t0 + dur))
    b.leadoff[ch].append((t0, t0 + dur, str(mode)))
    b.art("lead_off", ch, t0, t0 + dur)
    art_pop(b, ch, max(0.0, t0 - 0.02))
    return True


def art_ecg(b, ch):
    rng = b.rng
    night = b.person["scenario"] == "night"
    hr = rng.uniform(45, 65) if night else rng.uniform(60, 90)
    resp = rng.uniform(0.2, 0.3)
    t, beats = rng.uniform(0, 1), []
    while t < b.dur:
        beats.append(t)
        t += 60.0 / hr * (1 + 0.05 * math.sin(2 * math.pi * resp * t) + 0.02 * rng.standard_normal())
    beats = np.array(beats)
    Rp = loguni(rng, 30, 500) * rng.choice([-1, 1])
    tt = np.arange(-0.3, 0.5, 1 / FS_C)
    g = lambda mu, s: np.exp(-0.5 * ((tt - mu) / s) ** 2)
    tpl = Rp * (0.1 * g(-0.16, 0.025) - 0.12 * g(-0.025, 0.008) + g(0, 0.009)
                - 0.25 * g(0.027, 0.01) + 0.22 * g(0.25, 0.05))
    idx = np.round((beats - 0.3) * FS_C).astype(int)
    amps = 1 + 0.08 * np.sin(2 * np.pi * resp * beats)
    L = len(tpl)
    pos = (idx[:, None] + np.arange(L)[None, :]).ravel()
    wts = (amps[:, None] * tpl[None, :]).ravel()
    m = (pos >= 0) & (pos < b.nc)
    b.slow[ch] += np.bincount(pos[m], weights=wts[m], minlength=b.nc)[: b.nc]
    b.art("ecg", ch, 0.0, b.dur)


def periodic_motion(b, ch, t0, dur, period, amp):
    """small repeated transients (heel strikes, cable sway during reps)"""
    rng = b.rng
    n = ns(dur)
    t = np.arange(n) / FS_C
    since = np.mod(t, period)
    f = rng.uniform(4, 10)
    x = amp * np.exp(-since / rng.uniform(0.05, 0.15)) * np.sin(2 * np.pi * f * since)
    x *= 1 + 0.3 * lp_noise(rng, n, 0.5)
    b.add_slow(ch, t0, x)
    b.art("motion", ch, t0, t0 + dur)


# ----------------------------------------------------------------------------- event makers
def ev_twitch(b, t, ch):
    rng = b.rng
    if rng.random() < 0.4:       # fasciculation: one MU, one discharge
        if not b.free(ch, t, t + 0.03):
            return False
        pool = b.pools[ch]
        i = int(rng.integers(int(pool.N * 0.6), pool.N))
        b.fasc[ch].append((t, i))
        b.busy[ch].append((t, t + 0.03))
        b.eps.append(dict(kind="twitch", ch=ch, i0=None, t=t, mu=i, thr=float(pool.thr[i])))
        return True
    lvl = max(rng.uniform(0.05, 0.4), b.min_level(ch, 2.5))
    return b.add("twitch", ch, t, cmd_bump(b.rng, lvl, rng.uniform(0.04, 0.35), 0.1, 8.0))


def ev_turnover(b, t):
    rng = b.rng
    dur = rng.uniform(1.0, 5.0)
    chans = list(b.channels)
    cmds = [cmd_bump(rng, rng.uniform(0.1, 0.5), dur * rng.uniform(0.7, 1.0), 0.4, 4.0) for _ in chans]
    lags = [rng.uniform(0, 0.3) for _ in chans]
    ok = b.multi("turnover", chans, t, cmds, lags, need_first=False)
    if not ok:
        return None
    for c in b.channels:
        art_motion(b, c, t - rng.uniform(0, 0.3), dur + rng.uniform(0.3, 1.0), loguni(rng, 300, 8000))
    return t + dur


def ev_posture(b, t, motion_p=0.5):
    rng = b.rng
    dur = rng.uniform(0.5, 3.0)
    chans = [c for c in b.channels if rng.random() < 0.8] or [b.channels[int(rng.integers(len(b.channels)))]]
    cmds = [cmd_bump(rng, rng.uniform(0.1, 0.4), dur * rng.uniform(0.6, 1.0), 0.2, 3.0) for _ in chans]
    lags = [rng.uniform(0, 0.2) for _ in chans]
    ok = b.multi("posture", chans, t, cmds, lags, need_first=False)
    if not ok:
        return None
    if rng.random() < motion_p:
        for c in ok:
            art_motion(b, c, t, dur + 0.3, loguni(rng, 100, 3000))
    return t + dur, ok


def ev_spasm(b, t, chans, dur=None):
    rng = b.rng
    if dur is None:
        dur = float(np.clip(rng.lognormal(math.log(3.5), 0.8), 1.0, 120.0))
        if rng.random() < 0.08:
            dur = rng.uniform(30, 180)
    cmds, lags = [], []
    for i, c in enumerate(chans):
        lvl = max(rng.uniform(0.3, 0.9), b.min_level(c, 6))
        d = dur if i == 0 else max(1.2, dur * rng.uniform(0.6, 1.0))
        cmds.append(cmd_spasm(rng, lvl, d))
        lags.append(0.0 if i == 0 else rng.uniform(0, 0.15))
    ok = b.multi("spasm", chans, t, cmds, lags, need_first=True)
    return (t + dur) if ok else None


def ev_spasm_cluster(b, t, chans):
    n = int(b.rng.integers(1, 6))
    placed = 0
    for _ in range(n):
        sub = [chans[0]] + [c for c in chans[1:] if b.rng.random() < 0.5]
        e = ev_spasm(b, t, sub)
        if e is None:
            break
        placed += 1
        t = e + b.rng.uniform(2, 30)
    return placed


def ev_cramp(b, t, ch):
    rng = b.rng
    dur = float(np.clip(rng.lognormal(math.log(60), 0.6), 15, 300))
    lvl = max(rng.uniform(0.4, 0.9), b.min_level(ch, 6))
    # fasciculations/twitches may herald the cramp
    if rng.random() < 0.4:
        for _ in range(int(rng.integers(1, 5))):
            ev_twitch(b, t - rng.uniform(1, 30), ch)
    return (t + dur) if b.add("cramp", ch, t, cmd_cramp(rng, lvl, dur)) else None


def ev_clonus(b, t, ch):
    rng = b.rng
    dur = float(np.clip(rng.lognormal(math.log(6), 0.6), 2, 30))
    f0 = rng.uniform(5, 7.5) if site_of(ch) == "calf" else rng.uniform(3, 8)
    lvl = max(rng.uniform(0.2, 0.7), b.min_level(ch, 5))
    return (t + dur) if b.add("clonus", ch, t, cmd_clonus(rng, lvl, dur, f0)) else None


def ev_plm(b, t, chans, base):
    """One leg movement; chans[0] primary (tib_ant), others co-activated or contralateral."""
    rng = b.rng
    dur = float(np.clip(rng.lognormal(math.log(base["dur"]), 0.5), 0.6, 9.5))
    cmds, lags = [], []
    for i, c in enumerate(chans):
        lv = base["level"] * rng.lognormal(0, 0.3) * (1 if i == 0 else rng.uniform(0.4, 1.0))
        lv = float(np.clip(max(lv, b.min_level(c, 3)), 0.02, 0.5))
        d = dur if i == 0 else float(np.clip(dur * rng.uniform(0.5, 1.2), 0.6, 9.5))
        cmds.append(cmd_plm(rng, lv, d))
        lags.append(0.0 if i == 0 else rng.uniform(-0.3, 0.5))
    if lags and min(lags) < 0:
        m = min(lags)
        lags = [x - m for x in lags]
    return b.multi("plm", chans, t, cmds, lags, need_first=True)


def plm_series(b, t, n, interval, cv, pairs, p_bilat, base):
    """pairs: list of (primary, [coactive...]) per leg."""
    rng = b.rng
    pref = rng.uniform(0.5, 0.9)
    count = 0
    for _ in range(n):
        if len(pairs) > 1 and rng.random() < p_bilat:
            legs = [0, 1] if rng.random() < 0.5 else [1, 0]
        elif len(pairs) > 1:
            legs = [0] if rng.random() < pref else [1]
        else:
            legs = [0]
        chans = []
        for li in legs:
            prim, co = pairs[li]
            chans.append(prim)
            chans += [c for c in co if rng.random() < 0.3]
        if ev_plm(b, t, chans, base):
            count += 1
        t += float(np.clip(interval * (1 + cv * rng.standard_normal()), 10.5, 88))
    return t, count


def ev_walk(b, t, dur):
    rng = b.rng
    period = rng.uniform(0.95, 1.2)
    n = ns(dur)
    tt = np.arange(n) / FS_C
    cyc_ph = np.cumsum(1.0 / (period * (1 + 0.02 * lp_noise(rng, n, 0.2)))) / FS_C
    ramp = np.minimum(1, np.minimum(tt / 1.5, (dur - tt) / 1.5)).clip(0, 1)
    chans = []
    cmds = []
    for c in b.channels:
        s = site_of(c)
        off = 0.5 if side_of(c) == "r" else 0.0
        ph = cyc_ph + off
        cyc = np.floor(ph).astype(int)
        fr = ph - cyc
        amps = np.clip(1 + 0.12 * rng.standard_normal(cyc.max() + 2), 0.5, 1.5)[cyc]

        def burst(centre, width, a):
            d = np.abs(((fr - centre + 0.5) % 1.0) - 0.5)
            return np.where(d < width / 2, a * np.cos(np.pi * d / width) ** 2, 0.0)

        if s == "calf":
            x = burst(0.40, 0.28, rng.uniform(0.2, 0.45))
        elif s == "tib_ant":
            x = burst(0.03, 0.14, rng.uniform(0.15, 0.35)) + burst(0.78, 0.32, rng.uniform(0.08, 0.2))
        elif s == "thigh":
            x = burst(0.0, 0.25, rng.uniform(0.1, 0.3))
        elif s == "back":
            x = burst(0.0, 0.16, rng.uniform(0.05, 0.15)) + burst(0.5, 0.16, rng.uniform(0.05, 0.15))
        else:
            continue
        chans.append(c)
        cmds.append(x * amps * ramp)
    if not chans:
        return None
    ok = b.multi("voluntary", chans, t, cmds, [0.0] * len(chans), need_first=False)
    if not ok:
        return None
    if rng.random() < 0.5:
        amp = loguni(rng, 30, 400)
        for c in ok:
            periodic_motion(b, c, t, dur, period, amp * rng.uniform(0.5, 1.5))
    return t + dur


def ev_move(b, t, chans=None):
    rng = b.rng
    if chans is None:
        chans = [c for c in b.channels if rng.random() < 0.45] or \
                [b.channels[int(rng.integers(len(b.channels)))]]
    dur = rng.uniform(0.6, 5.0)
    cmds = [cmd_move(rng, rng.uniform(0.05, 0.5), dur * (1 if i == 0 else rng.uniform(0.6, 1.0)))
            for i, _ in enumerate(chans)]
    lags = [0.0] + [rng.uniform(0, 0.3) for _ in chans[1:]]
    ok = b.multi("voluntary", chans, t, cmds, lags, need_first=True)
    if ok and rng.random() < 0.15:
        art_motion(b, ok[0], t, dur, loguni(rng, 50, 1500))
    return (t + dur) if ok else None


def ev_set(b, t, target, set_idx, cramp_here=False):
    """A set of repetitions on target channel, other channels co-contracting sometimes.
    Returns (end time, rep_ends)."""
    rng = b.rng
    nrep = int(rng.integers(6, 16))
    period = rng.uniform(1.5, 5.0)
    level = float(np.clip(rng.uniform(0.3, 0.7) + 0.05 * set_idx, 0.2, 0.9))
    co = [c for c in b.channels if c != target and rng.random() < 0.5]
    co_lv = {c: rng.uniform(0.08, 0.3) for c in co}
    k_cramp = int(rng.integers(nrep // 2, nrep)) if cramp_here else -1
    tt, ends = t, []
    for k in range(nrep):
        up = rng.uniform(0.3, min(1.0, period * 0.3))
        dn = rng.uniform(0.3, min(1.0, period * 0.3))
        hold = max(0.0, min(rng.uniform(0, 1.5), period - up - dn - 0.5))
        lv = level * (1 + 0.08 * rng.standard_normal())
        b.add("voluntary", target, tt, cmd_rep(rng, lv, up, hold, dn))
        for c in co:
            b.add("voluntary", c, tt + rng.uniform(0, 0.1),
                  cmd_rep(rng, co_lv[c], up, hold, dn * rng.uniform(0.8, 1.0)))
        ends.append(tt + up + hold + dn)
        if k == k_cramp:
            break
        tt += period * (1 + 0.05 * rng.standard_normal())
    if rng.random() < 0.35:
        periodic_motion(b, target, t, ends[-1] - t, period, loguni(rng, 30, 600))
    return ends[-1], ends


# ----------------------------------------------------------------------------- scenarios
def _sprinkle(b, rate_per_h, fn, lo=None, hi=None, tries=4):
    n = b.rng.poisson(rate_per_h * ((hi or b.dur) - (lo or 0)) / 3600.0)
    for _ in range(n):
        for _ in range(tries):
            if fn(b.rand_t(lo, hi)):
                break


def _pairs(b):
    """PLM legs: (primary channel, co-active channels) per side."""
    out = []
    for side in ("l", "r"):
        leg = [c for c in b.legs() if side_of(c) == side]
        if not leg:
            continue
        prim = [c for c in leg if site_of(c) == "tib_ant"] or leg
        out.append((prim[0], [c for c in leg if c != prim[0]]))
    return out


def sleep_block(b, t0, t1, opts, dense=1.0):
    """Rest / sleep period between t0 and t1."""
    rng = b.rng
    pairs = _pairs(b)
    if pairs and opts.get("plm_series", rng.random() < 0.5):
        n_series = int(rng.integers(1, 4)) if (t1 - t0) > 2400 else int(rng.integers(1, 3))
        base = dict(level=rng.uniform(0.05, 0.25), dur=rng.uniform(1.2, 3.0))
        interval = rng.uniform(15, 40) if dense >= 1 else rng.uniform(12, 25)
        p_bil = rng.uniform(0.1, 0.5) if opts.get("bilateral", True) else 0.05
        span = (t1 - t0) / n_series
        for s in range(n_series):
            nmov = int(rng.integers(4, 41))
            nmov = min(nmov, max(4, int((span - 60) / interval)))
            ts = t0 + s * span + rng.uniform(10, max(11, span - nmov * interval - 20))
            plm_series(b, ts, nmov, interval, rng.uniform(0.1, 0.3), pairs, p_bil, base)
    if pairs:
        base = dict(level=rng.uniform(0.05, 0.25), dur=rng.uniform(1.0, 3.0))

        def iso(t):
            p = pairs[int(rng.integers(len(pairs)))]
            return bool(ev_plm(b, t, [p[0]] + [c for c in p[1] if rng.random() < 0.3], base))
        _sprinkle(b, rng.uniform(2, 10), iso, t0, t1)
    # turnovers (a lead-off may start right after one)
    nt = rng.poisson(rng.uniform(1.5, 4.0) * (t1 - t0) / 3600.0) + (1 if t1 - t0 > 600 else 0)
    for _ in range(nt):
        for _ in range(5):
            e = ev_turnover(b, b.rand_t(t0, t1 - 10))
            if e is not None:
                if opts.get("leadoff_ok", False) and rng.random() < 0.5:
                    ch = b.channels[int(rng.integers(len(b.channels)))]
                    if art_leadoff(b, ch, e + rng.uniform(0.5, 3), rng.uniform(30, 600),
                                   opts["sensor"], opts["units"]):
                        opts["leadoff_ok"] = False
                break
    _sprinkle(b, rng.uniform(10, 60) * dense, lambda t: ev_twitch(b, t, b.channels[int(rng.integers(len(b.channels)))]), t0, t1)


def build_night(b, opts):
    rng = b.rng
    legs = b.legs() or b.channels
    if opts.get("cramp", rng.random() < 0.3):
        calf = [c for c in legs if site_of(c) == "calf"] or legs
        for _ in range(5):
            if ev_cramp(b, b.rand_t(300, b.dur - 400), calf[int(rng.integers(len(calf)))]):
                break
    if opts.get("spasm", rng.random() < 0.3):
        for _ in range(int(rng.integers(1, 4))):
            chans = [str(x) for x in rng.permutation(legs)]
            ev_spasm_cluster(b, b.rand_t(60, b.dur - 200), chans)
    opts["leadoff_ok"] = rng.random() < 0.7
    sleep_block(b, 30.0, b.dur - 30.0, opts)


def build_exercise(b, opts):
    rng = b.rng
    t = rng.uniform(20, 60)
    if b.legs() and rng.random() < 0.8:
        e = ev_walk(b, t, rng.uniform(60, 240))
        t = (e or t) + rng.uniform(20, 60)
    s = 0
    cramp_set = int(rng.integers(2, 6)) if rng.random() < 0.6 else -1
    cramp_after = rng.random() < 0.3
    while t < b.dur - 120:
        target = b.channels[s % len(b.channels)] if rng.random() < 0.7 else \
            b.channels[int(rng.integers(len(b.channels)))]
        if rng.random() < 0.2:
            d = rng.uniform(10, 60)
            b.add("voluntary", target, t, cmd_hold(rng, rng.uniform(0.2, 0.6), d))
            end = t + d
            rep_ends = [end]
        else:
            end, rep_ends = ev_set(b, t, target, s, cramp_here=(s == cramp_set))
        if s == cramp_set:
            ev_cramp(b, rep_ends[-1] + rng.uniform(0.4, 1.0), target)
            end = max([end] + [y for _, y in b.busy[target]])
        elif cramp_after and s >= 2 and rng.random() < 0.3:
            e2 = ev_cramp(b, end + rng.uniform(5, 60), target)
            if e2:
                end = e2
                cramp_after = False
        if rng.random() < 0.15:
            chans = [target] + [c for c in b.channels if c != target and rng.random() < 0.4]
            e2 = ev_spasm(b, end + rng.uniform(3, 40), chans)
            if e2:
                end = e2
        rest = rng.uniform(40, 150)
        for _ in range(int(rng.integers(0, 3))):
            if rng.random() < 0.5:
                ev_posture(b, end + rng.uniform(3, rest - 5), 0.5)
            else:
                ev_move(b, end + rng.uniform(3, rest - 5))
        t = end + rest
        s += 1
    _sprinkle(b, rng.uniform(5, 20), lambda t: ev_twitch(b, t, b.channels[int(rng.integers(len(b.channels)))]))
    if rng.random() < 0.3:                      # cable yanked / electrode peeled off by sweat
        ch = b.channels[int(rng.integers(len(b.channels)))]
        for _ in range(10):
            if art_leadoff(b, ch, b.rand_t(60, b.dur - 100), rng.uniform(5, 90), opts["sensor"], opts["units"]):
                break


def day_block(b, t0, t1, opts, dense=1.0):
    rng = b.rng
    legs = b.legs()
    span = t1 - t0
    if legs:
        for _ in range(int(rng.integers(1, 5 if span > 1200 else 3))):
            for _ in range(4):
                if ev_walk(b, b.rand_t(t0, t1 - 250), rng.uniform(20, 240) * min(1, dense * span / 1800 + 0.3)):
                    break
    # involuntary events typical of SCI / MS
    n_cl = int(rng.integers(1, 5))
    for _ in range(n_cl):
        first = b.channels[int(rng.integers(len(b.channels)))]
        others = [c for c in b.channels if c != first and rng.random() < 0.5]
        for _ in range(4):
            if ev_spasm_cluster(b, b.rand_t(t0, t1 - 60), [first] + others):
                break
    if rng.random() < 0.35:
        ch = b.channels[int(rng.integers(len(b.channels)))]
        for _ in range(4):
            if ev_cramp(b, b.rand_t(t0, t1 - 200), ch):
                break
    n_clonus = int(rng.integers(1, 6))
    cl_ch = [c for c in b.channels if site_of(c) == "calf"] or legs or b.channels
    for _ in range(n_clonus):
        for _ in range(6):
            t = b.rand_t(t0, t1 - 40)
            if rng.random() < 0.5:              # triggered by a posture change / stretch
                r = ev_posture(b, t, 0.7)
                if r is None:
                    continue
                t = r[0] + rng.uniform(0.4, 1.5)
            if ev_clonus(b, t, cl_ch[int(rng.integers(len(cl_ch)))]):
                break
    _sprinkle(b, rng.uniform(30, 90) * dense, lambda t: ev_posture(b, t, 0.5) is not None, t0, t1)
    _sprinkle(b, rng.uniform(60, 240) * dense, lambda t: ev_move(b, t) is not None, t0, t1)
    _sprinkle(b, rng.uniform(10, 40), lambda t: ev_twitch(b, t, b.channels[int(rng.integers(len(b.channels)))]), t0, t1)


def build_daily(b, opts):
    rng = b.rng
    if rng.random() < 0.3:
        for c in b.channels:
            b.tonic[c] = rng.uniform(0.003, 0.015)
    opts["leadoff_ok"] = rng.random() < 0.5
    day_block(b, 5.0, b.dur - 5.0, opts)
    if opts["leadoff_ok"]:
        ch = b.channels[int(rng.integers(len(b.channels)))]
        for _ in range(10):
            if art_leadoff(b, ch, b.rand_t(60, b.dur - 200), rng.uniform(10, 120), opts["sensor"], opts["units"]):
                break


def build_mixed(b, opts):
    rng = b.rng
    split = b.dur * rng.uniform(0.55, 0.7)
    day_block(b, 5.0, split - 20, opts, dense=1.4)
    if rng.random() < 0.6:                      # a short workout inside the day
        ev_set(b, b.rand_t(30, split - 200), b.channels[int(rng.integers(len(b.channels)))], 1)
    # lying down
    ev_posture(b, split - 10, 0.9)
    opts = dict(opts)
    opts.setdefault("plm_series", True)
    opts["leadoff_ok"] = False
    sleep_block(b, split + 20, b.dur - 10, opts, dense=0.8)


BUILDERS = dict(night=build_night, exercise=build_exercise, daily=build_daily, mixed=build_mixed)


# ----------------------------------------------------------------------------- CSV formatting
def _digits(v, ndec, width):
    """Right-aligned ASCII of fixed-point integers v (scaled by 10**ndec) -> (chars, length)."""
    v = np.asarray(v, np.int64)
    neg = v < 0
    a = np.abs(v)
    n = a.size
    chars = np.empty((n, width), np.uint8)
    nd = np.ones(n, np.int64)
    p = 10
    while p <= max(int(a.max()) if n else 0, 1):
        nd += a >= p
        p *= 10
    nd = np.maximum(nd, ndec + 1)
    length = nd + (1 if ndec > 0 else 0) + neg
    col = width - 1
    cur = a
    k = 0
    while col >= 0:
        if ndec > 0 and k == ndec:
            chars[:, col] = 46
            col -= 1
            if col < 0:
                break
        cur, d = np.divmod(cur, 10)
        chars[:, col] = 48 + d
        col -= 1
        k += 1
    if neg.any():
        r = np.flatnonzero(neg)
        chars[r, width - length[r]] = 45
    return chars, length


_COUNT_LUT = _digits(np.arange(1024), 0, 4)


def _rows(fields):
    n = fields[0][0].shape[0]
    W = sum(c.shape[1] for c, _ in fields) + len(fields)
    buf = np.empty((n, W), np.uint8)
    mask = np.empty((n, W), bool)
    off = 0
    for j, (c, ln) in enumerate(fields):
        w = c.shape[1]
        buf[:, off:off + w] = c
        mask[:, off:off + w] = np.arange(w)[None, :] >= (w - ln)[:, None]
        off += w
        buf[:, off] = 44 if j < len(fields) - 1 else 10
        mask[:, off] = True
        off += 1
    return buf[mask].tobytes()


# ----------------------------------------------------------------------------- recording
def _runs(mask):
    """start/end (exclusive) indices of True runs"""
    if not mask.any():
        return np.zeros(0, int), np.zeros(0, int)
    d = np.diff(np.concatenate([[0], mask.view(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def draw_person(rng, scenario, channels):
    p = dict(scenario=scenario,
             tau=rng.uniform(0.008, 0.02),
             trem_f=rng.uniform(8, 12), trem_bw=rng.uniform(0.7, 2.0), trem_d=rng.uniform(0.04, 0.15),
             drive_d=rng.uniform(0.03, 0.1), drive_fc=rng.uniform(0.3, 2.0),
             isi_cv=rng.uniform(0.12, 0.25),
             T_fat=rng.uniform(30, 90), T_rec=rng.uniform(90, 400),
             fat=rng.uniform(2, 18), sigma0=rng.uniform(0.8, 1.1) * 1e-3)
    p["mvc"], p["noise"], p["fat_ch"] = {}, {}, {}
    for c in channels:
        mvc = loguni(rng, 50, 3000)
        p["mvc"][c] = mvc
        p["noise"][c] = float(min(loguni(rng, 0.5, 10), mvc / 25))
        p["fat_ch"][c] = float(max(1.0, p["fat"] * SITE_FAT.get(site_of(c), 1.0) * rng.uniform(0.7, 1.3)))
    return p


def draw_board(rng, fs, sensor, units, gain):
    bd = dict(sensor=sensor, units=units, gain=gain, vref=float(rng.choice([5.0, 3.3])))
    bd["lsb"] = bd["vref"] / 1024.0
    bd["g1"] = rng.uniform(5, 20)
    bd["v1sat"] = 2.2
    if units == "uV":
        bd["hp_fc"], bd["hp_ord"] = rng.uniform(5, 20), 2
        bd["range_uv"] = float(rng.choice([100000.0, 187500.0, 400000.0]))
    else:
        bd["hp_fc"], bd["hp_ord"] = rng.uniform(10, 25), int(rng.choice([1, 2]))
    bd["lp_fc"] = min(rng.uniform(350, 500), 0.42 * fs)
    bd["lp_ord"] = int(rng.choice([2, 4]))
    bd["g_board"] = rng.uniform(700, 1500) * (bd["vref"] / 5.0)
    bd["mid"] = 511.5 + rng.normal(0, 4)
    bd["adc_noise"] = rng.uniform(0.2, 0.8)
    margin = int(rng.choice([0, 0, 0, 1, 2, 5]))
    bd["rail_lo"], bd["rail_hi"] = margin, 1023 - margin
    bd["g_raw_env"] = rng.uniform(140, 280)
    bd["g_env"] = rng.uniform(8, 20) * (bd["vref"] / 5.0)
    bd["env_tau"] = rng.uniform(0.02, 0.15)
    bd["env_ord"] = int(rng.choice([1, 2]))
    bd["env_off"] = rng.uniform(0.0, 0.3) * (bd["vref"] / 5.0)
    bd["dead"] = rng.uniform(0, 0.002)
    return bd


def generate(out_dir, name, scenario, seed, fs, duration_s, channels, sensor="raw", units="counts",
             gain=1.0, mains_hz=None, opts=None, verbose=False):
    """Generate one recording (CSV + truth JSON). Returns the suite entry dict."""
    t_start = time.time()
    rng = np.random.default_rng(seed)
    opts = dict(opts or {})
    opts.update(sensor=sensor, units=units)
    if units == "uV":
        gain = 1.0
    dur = float(duration_s)
    if mains_hz is None:
        mains_hz = float(rng.choice([50.0, 60.0]))
    person = draw_person(rng, scenario, channels)
    pools = {c: Pool(rng, person["mvc"][c], person["fat_ch"][c], person) for c in channels}
    board = draw_board(rng, fs, sensor, units, gain)
    b = Builder(rng, dur, channels, pools, person)
    BUILDERS[scenario](b, opts)

    # ---- artifacts common to all scenarios
    nc = b.nc
    hours = dur / 3600.0
    for c in channels:
        for _ in range(rng.poisson(rng.uniform(0, 6) * hours + 0.3)):
            art_pop(b, c, b.rand_t())
        for _ in range(rng.poisson(rng.uniform(0, 3) * hours + 0.3)):
            d = rng.uniform(10, 300)
            art_wander(b, c, b.rand_t(0, dur - d), d)
        s = site_of(c)
        if (s == "back" and rng.random() < 0.8) or (s == "thigh" and rng.random() < 0.5):
            art_ecg(b, c)
        # unlabelled tiny drift
        b.slow[c] += lp_noise(rng, nc, 0.05) * rng.uniform(5, 50)
    # mains: background + bursts
    m_amp = {c: loguni(rng, 0.2, 25) for c in channels}     # uV peak at electrodes
    b.mains_mult = np.exp(0.25 * lp_noise(rng, nc, rng.uniform(0.005, 0.05)))
    for _ in range(rng.poisson(rng.uniform(0, 3) * hours + 0.2)):
        d = rng.uniform(5, 300)
        t0 = b.rand_t(0, dur - d)
        i0, n = int(t0 * FS_C), ns(d)
        b.mains_mult[i0:i0 + n] *= 1 + rng.uniform(4, 30) * signal.windows.tukey(n, 0.1)[: nc - i0]
        for c in channels:
            b.art("mains", c, t0, t0 + d)
    for c in channels:
        if m_amp[c] / math.sqrt(2) > 0.5 * person["noise"][c]:
            b.art("mains", c, 0.0, dur)
    mains_h = [(k, rng.uniform(0, 0.3) if k % 2 == 0 else rng.uniform(0.05, 0.6), rng.uniform(0, 2 * np.pi))
               for k in (2, 3, 4, 5)]
    f_inst = mains_hz + rng.normal(0, 0.02) + 0.03 * lp_noise(rng, nc, 0.002)
    mains_phase = 2 * np.pi * np.cumsum(f_inst) / FS_C

    # ---- drive, activation, fatigue, spikes
    imp = {}
    trem = bp_noise(rng, nc, person["trem_f"], person["trem_bw"])
    drv = lp_noise(rng, nc, person["drive_fc"])
    mod = 1 + person["trem_d"] * trem + person["drive_d"] * drv
    del trem, drv
    dtc = 1.0 / FS_C
    for c in channels:
        u = np.zeros(nc)
        for ep in b.eps:
            if ep["ch"] == c and ep["i0"] is not None:
                j = min(nc, ep["i0"] + len(ep["cmd"]))
                u[ep["i0"]:j] += ep["cmd"][: j - ep["i0"]]
        u += b.tonic[c]
        a = act_filter(u, person["tau"])
        F = signal.lfilter([dtc / person["T_fat"]], [1, -(1 - dtc / person["T_rec"])],
                           np.maximum(a - 0.1, 0))
        F = np.clip(F, 0, 1)
        e = np.clip(a * mod, 0, 1.3)
        imp[c] = spikes(rng, pools[c], e, F, fs, person["isi_cv"], b.fasc[c])
        del u, a, e, F

    # ---- labels
    episodes = []
    for ep in b.eps:
        if ep["i0"] is None:
            s = ep["t"]
            episodes.append(dict(start=round(s, 4), end=round(s + 0.025, 4), kind=ep["kind"],
                                 channel=ep["ch"], intensity=round(ep["thr"], 3)))
            continue
        x = np.concatenate([ep["cmd"], np.zeros(ns(0.3))])
        a = act_filter(x, person["tau"])
        pk = a.max()
        if pk <= 0:
            continue
        idx = np.flatnonzero(a >= max(0.1 * pk, 0.004))
        if idx.size == 0:
            continue
        s = (ep["i0"] + idx[0]) / FS_C
        en = min(dur, (ep["i0"] + idx[-1] + 1) / FS_C)
        q = 90 if ep["kind"] == "clonus" else 75
        inten = float(np.clip(np.percentile(a[idx[0]:idx[-1] + 1], q), 0, 1))
        episodes.append(dict(start=round(s, 4), end=round(en, 4), kind=ep["kind"], channel=ep["ch"],
                             intensity=round(inten, 3)))
    episodes.sort(key=lambda d: (d["start"], d["channel"]))

    # ---- render
    os.makedirs(out_dir, exist_ok=True)
    csv_path = os.path.join(out_dir, name + ".csv")
    N = int(round(dur * fs))
    clip_runs = render(rng, csv_path, fs, N, channels, board, person, pools, imp, b, m_amp,
                       mains_h, mains_phase)
    artifacts = list(b.arts)
    for c in channels:
        for (a0, a1) in clip_runs[c]:
            artifacts.append(dict(start=round(a0, 4), end=round(a1, 4), kind="clipping", channel=c))
    artifacts.sort(key=lambda d: (d["start"], d["channel"], d["kind"]))
    truth = {"version": 1, "scenario": scenario, "seed": int(seed), "fs": float(fs), "duration_s": dur,
             "channels": list(channels), "sensor": sensor, "gain": float(gain), "mains_hz": float(mains_hz),
             "episodes": episodes, "artifacts": artifacts}
    with open(os.path.join(out_dir, name + ".truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
    if verbose:
        print(f"  {name}: {scenario} {dur / 3600:.2f} h fs={fs} {len(channels)}ch {sensor}/{units} gain={gain:.2f} "
              f"eps={len(episodes)} arts={len(artifacts)} {time.time() - t_start:.1f}s", flush=True)
    return {"name": name, "file": name + ".csv", "truth": name + ".truth.json", "format": "csv",
            "scenario": scenario, "context": {"night": "sleep", "exercise": "exercise"}.get(scenario, "auto"),
            "fs": float(fs), "duration_s": dur, "channels": list(channels), "sensor": sensor,
            "units": units, "gain": float(gain), "mains_hz": float(mains_hz), "seed": int(seed)}


def spikes(rng, pool, e, F, fs, cv, fasc):
    """Spike trains of the pool -> sorted sample positions, group, blended weights."""
    thr_min = pool.thr[0]
    act = np.flatnonzero(e > thr_min)
    T, I = [], []
    if act.size:
        ea = e[act]
        for i in range(pool.N):
            m = ea > pool.thr[i]
            if not m.any():
                break              # thresholds are sorted
            idx = act[m]
            rate = pool.rates(ea[m], i)
            phi = np.cumsum(rate) / FS_C
            total = phi[-1]
            nsp = int(total + 4 * math.sqrt(total + 1) + 5)
            isi = np.clip(1 + cv * rng.standard_normal(nsp), 0.25, None)
            tgt = rng.uniform(0, 1) + np.concatenate([[0.0], np.cumsum(isi[:-1])])
            tgt = tgt[tgt < total]
            if tgt.size == 0:
                continue
            k = np.searchsorted(phi, tgt)
            prev = np.where(k > 0, phi[np.maximum(k - 1, 0)], 0.0)
            frac = (tgt - prev) / np.maximum(phi[k] - prev, 1e-12)
            T.append((idx[k] - 1 + frac) / FS_C)
            I.append(np.full(tgt.size, i, np.int32))
    for (t, i) in fasc:
        T.append(np.array([t]))
        I.append(np.array([i], np.int32))
    if not T:
        return dict(pos=np.zeros(0, np.int64), g=np.zeros(0, np.int8), w0=np.zeros(0), w1=np.zeros(0))
    t = np.concatenate(T)
    mu = np.concatenate(I)
    o = np.argsort(t, kind="stable")
    t, mu = t[o], mu[o]
    fi = np.clip((t * FS_C).astype(np.int64), 0, len(F) - 1)
    f = F[fi]
    amp = pool.amp[mu]
    return dict(pos=np.maximum(np.round(t * fs).astype(np.int64), 0), g=pool.group[mu],
                w0=amp * (1 - f), w1=amp * f)


def render(rng, path, fs, N, channels, bd, person, pools, imp, b, m_amp, mains_h, mains_phase):
    sensor, units = bd["sensor"], bd["units"]
    C = len(channels)
    # templates spectra
    TF, L = {}, 0
    for c in channels:
        pl = pools[c]
        Lg = [int(math.ceil((8 * pl.gpar[g]["sigma"] * STRETCH_MAX + pl.gpar[g]["tau_d"] * STRETCH_MAX) * fs)) + 2
              for g in range(N_GROUPS)]
        L = max(L, max(Lg))
    for c in channels:
        pl = pools[c]
        TF[c] = [(sfft.rfft(pl.template(fs, g, 1.0, L), NFFT), sfft.rfft(pl.template(fs, g, STRETCH_MAX, L), NFFT))
                 for g in range(N_GROUPS)]
    carry = {c: np.zeros(L - 1) for c in channels}
    hp = signal.butter(bd["hp_ord"], bd["hp_fc"], "highpass", fs=fs, output="sos")
    lp = signal.butter(bd["lp_ord"], bd["lp_fc"], "lowpass", fs=fs, output="sos")
    al = 1 - math.exp(-1 / (fs * bd["env_tau"]))
    rc1 = np.array([[al, 0, 0, 1, al - 1, 0]])
    rc = np.vstack([rc1] * bd["env_ord"])
    zhp = {c: np.zeros((hp.shape[0], 2)) for c in channels}
    zlp = {c: np.zeros((lp.shape[0], 2)) for c in channels}
    zrc = {c: np.zeros((rc.shape[0], 2)) for c in channels}
    bw = bd["lp_fc"] - bd["hp_fc"]
    sd_white = {c: person["noise"][c] * math.sqrt((fs / 2) / bw) for c in channels}
    nscale = {c: np.exp(0.15 * lp_noise(rng, b.nc, 0.01)) for c in channels}
    lead = {c: sorted(b.leadoff[c]) for c in channels}
    hsum = [(k, h * math.cos(th), h * math.sin(th)) for k, h, th in mains_h]
    clip_runs = {c: [] for c in channels}
    g_tot = bd["g_board"] * bd["gain"]
    maxt = int(round((N - 1) * 1e6 / fs))
    tw = len(str(maxt)) + 1 if maxt >= 1000000 else 8
    vw = 10
    hdr = "time," + ",".join((c + "_uV") if units == "uV" else c for c in channels) + "\n"
    with open(path, "wb") as fh:
        fh.write(hdr.encode())
        for n0 in range(0, N, CHUNK):
            n = min(CHUNK, N - n0)
            ii = np.arange(n0, n0 + n)
            tc = ii * (FS_C / fs)
            i0 = tc.astype(np.int64)
            fr = tc - i0
            i1 = i0 + 1

            def interp(arr):
                return arr[i0] * (1 - fr) + arr[i1] * fr
            ph = interp(mains_phase)
            s1, c1 = np.sin(ph), np.cos(ph)
            mw = s1.copy()
            sk, ck = s1, c1
            for k, hs, hc in hsum:
                sk, ck = sk * c1 + ck * s1, ck * c1 - sk * s1
                mw += hs * sk + hc * ck
            mm = interp(b.mains_mult) * mw
            fields = [_digits(np.round(ii * (1e6 / fs)).astype(np.int64), 6, tw)]
            for c in channels:
                # EMG by overlap-add FFT convolution of weighted impulse trains
                im = imp[c]
                a = np.searchsorted(im["pos"], n0)
                z = np.searchsorted(im["pos"], n0 + n)
                if z > a:
                    p = im["pos"][a:z] - n0
                    g = im["g"][a:z]
                    spec = None
                    for gi in range(N_GROUPS):
                        m = g == gi
                        if not m.any():
                            continue
                        for bank, wk in ((0, "w0"), (1, "w1")):
                            w = im[wk][a:z][m]
                            if bank == 1 and not w.any():
                                continue
                            X = sfft.rfft(np.bincount(p[m], weights=w, minlength=NFFT)) * TF[c][gi][bank]
                            spec = X if spec is None else spec + X
                    y = sfft.irfft(spec, NFFT)
                    emg = y[:n].copy()
                    tail = y[n:n + L - 1].copy()
                else:
                    emg = np.zeros(n)
                    tail = np.zeros(L - 1)
                k = min(L - 1, n)
                emg[:k] += carry[c][:k]
                tail[:L - 1 - k] += carry[c][k:]
                carry[c] = tail
                x = emg
                x += interp(b.slow[c])
                x += sd_white[c] * interp(nscale[c]) * rng.standard_normal(n)
                x += m_amp[c] * mm
                # analog front end
                if units == "uV":
                    y, zhp[c] = signal.sosfilt(hp, x, zi=zhp[c])
                    y, zlp[c] = signal.sosfilt(lp, y, zi=zlp[c])
                    rngv = bd["range_uv"]
                    y = np.clip(y, -rngv, rngv)
                    clipm = np.abs(y) >= rngv
                    out = np.round(y * 100).astype(np.int64)
                else:
                    v = np.clip(x * (1e-6 * bd["g1"]), -bd["v1sat"], bd["v1sat"])
                    v, zhp[c] = signal.sosfilt(hp, v, zi=zhp[c])
                    if sensor == "raw":
                        v *= g_tot / bd["g1"]
                        v, zlp[c] = signal.sosfilt(lp, v, zi=zlp[c])
                        cf = bd["mid"] + v / bd["lsb"] + bd["adc_noise"] * rng.standard_normal(n)
                        out = np.clip(np.rint(cf), bd["rail_lo"], bd["rail_hi"]).astype(np.int64)
                        clipm = (out <= bd["rail_lo"]) | (out >= bd["rail_hi"])
                    else:
                        v, zlp[c] = signal.sosfilt(lp, v, zi=zlp[c])
                        v *= bd["g_raw_env"] / bd["g1"]
                        vs = bd["vref"] / 2
                        v = np.maximum(np.abs(np.clip(v, -vs, vs)) - bd["dead"], 0)
                        v, zrc[c] = signal.sosfilt(rc, v, zi=zrc[c])
                        cf = (bd["env_off"] + v * bd["g_env"] * bd["gain"]) / bd["lsb"] \
                            + bd["adc_noise"] * rng.standard_normal(n)
                        out = np.clip(np.rint(cf), 0, bd["rail_hi"]).astype(np.int64)
                        clipm = out >= bd["rail_hi"]
                # lead-off overrides
                t_lo, t_hi = n0 / fs, (n0 + n) / fs
                for (la, lb, mode) in lead[c]:
                    if lb <= t_lo or la >= t_hi:
                        continue
                    ja, jb = max(0, int(la * fs) - n0), min(n, int(lb * fs) - n0)
                    if units == "uV":
                        rv = int(bd["range_uv"] * 100)
                        val = {"flat_zero": 0, "rail": rv}.get(mode)
                        if val is None:
                            out[ja:jb] = np.clip(np.round(30000 * 100 * mw[ja:jb]), -rv, rv)
                        else:
                            out[ja:jb] = val
                    elif mode == "mains_sat":
                        out[ja:jb] = np.clip(np.rint(bd["mid"] + 3000 * mw[ja:jb]), bd["rail_lo"], bd["rail_hi"])
                    else:
                        val = {"rail_hi": bd["rail_hi"], "rail_lo": bd["rail_lo"], "flat_mid": int(round(bd["mid"])),
                               "flat_offset": int(round(bd["env_off"] / bd["lsb"]))}[mode]
                        out[ja:jb] = val
                    clipm[ja:jb] = False
                rs, re_ = _runs(clipm)
                for s_, e_ in zip(rs, re_):
                    a0, a1 = (n0 + s_) / fs, (n0 + e_) / fs
                    cr = clip_runs[c]
                    if cr and a0 - cr[-1][1] < 0.25:
                        cr[-1] = (cr[-1][0], a1)
                    else:
                        cr.append((a0, a1))
                if units == "uV":
                    fields.append(_digits(out, 2, vw))
                else:
                    fields.append((_COUNT_LUT[0][out], _COUNT_LUT[1][out]))
            fh.write(_rows(fields))
    return clip_runs


# ----------------------------------------------------------------------------- suite
SUITE = [
    ("night", 1.5, {"channels": ["tib_ant_l", "tib_ant_r"], "plm_series": True, "bilateral": True}),
    ("night", 1.0, {"channels": ["tib_ant_r"], "plm_series": True}),
    ("night", 1.5, {"channels": ["calf_l", "tib_ant_l", "thigh_l"], "plm_series": True, "cramp": True}),
    ("night", 1.0, {"channels": ["calf_l", "calf_r"], "plm_series": False, "spasm": True}),
    ("exercise", 0.5, {"channels": ["calf_l", "tib_ant_l"]}),
    ("exercise", 0.5, {"channels": ["forearm_r"]}),
    ("exercise", 0.5, {"channels": ["thigh_r", "calf_r", "back_l"]}),
    ("daily", 0.5, {"channels": ["calf_l", "tib_ant_l"]}),
    ("daily", 0.5, {"channels": ["thigh_l", "calf_l", "tib_ant_l"]}),
    ("daily", 0.5, {"channels": ["back_l", "thigh_r"]}),
    ("daily", 0.5, {"channels": ["forearm_l"]}),
    ("mixed", 0.5, {"channels": ["tib_ant_l", "calf_l"]}),
    ("mixed", 0.5, {"channels": ["tib_ant_r", "tib_ant_l"]}),
    ("mixed", 0.5, {"channels": ["thigh_r", "tib_ant_r", "calf_r"]}),
]


def make_suite(out, seed0, scale=1.0, verbose=True):
    t0 = time.time()
    rng = np.random.default_rng(seed0)
    R = len(SUITE)
    fs_list = list(rng.permutation(FS_CHOICES)) + list(rng.choice(FS_CHOICES, R - len(FS_CHOICES)))
    fs_list = [int(x) for x in rng.permutation(fs_list)]
    sensors = ["envelope"] * 4 + ["raw"] * (R - 4)
    sensors = [str(x) for x in rng.permutation(sensors)]
    raw_idx = [i for i in range(R) if sensors[i] == "raw"]
    uv_idx = set()                      # three uV recordings, from three different scenarios
    for scen in rng.permutation(sorted(set(x[0] for x in SUITE))):
        cand = [i for i in raw_idx if SUITE[i][0] == scen]
        if cand and len(uv_idx) < 3:
            uv_idx.add(int(rng.choice(cand)))
    # stratified log-uniform gains 0.1..10
    gains = np.exp(np.log(0.1) + (rng.permutation(R) + rng.uniform(0, 1, R)) / R * np.log(100))
    recs = []
    for i, (scen, hours, spec) in enumerate(SUITE):
        spec = dict(spec)
        chans = spec.pop("channels")
        seed = int(seed0) * 1000 + i
        units = "uV" if i in uv_idx else "counts"
        name = f"fourth_{i:02d}_{scen}"
        recs.append(generate(out, name, scen, seed, fs_list[i], round(hours * 3600 * scale, 3), chans,
                             sensor=sensors[i], units=units, gain=float(round(gains[i], 3)),
                             mains_hz=float(rng.choice([50.0, 60.0])), opts=spec, verbose=verbose))
    suite = {"version": 1, "generator": "fourthsim", "seed0": int(seed0),
             "total_hours": round(sum(r["duration_s"] for r in recs) / 3600, 3), "recordings": recs}
    with open(os.path.join(out, "suite.json"), "w") as f:
        json.dump(suite, f, indent=1)
    if verbose:
        print(f"suite: {len(recs)} recordings, {suite['total_hours']} h, {time.time() - t0:.1f} s")
    return suite


def main(argv=None):
    ap = argparse.ArgumentParser(description="fourthsim surface-EMG simulator")
    sp = ap.add_subparsers(dest="cmd", required=True)
    a = sp.add_parser("suite")
    a.add_argument("--out", required=True)
    a.add_argument("--seed0", type=int, default=0)
    a.add_argument("--scale", type=float, default=1.0, help="duration scale (testing)")
    a.add_argument("--quiet", action="store_true")
    o = sp.add_parser("one")
    o.add_argument("--out", required=True)
    o.add_argument("--name", default=None)
    o.add_argument("--scenario", choices=sorted(BUILDERS), default="daily")
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--duration", type=float, default=600.0)
    o.add_argument("--fs", type=int, default=1000)
    o.add_argument("--sensor", choices=["raw", "envelope"], default="raw")
    o.add_argument("--units", choices=["counts", "uV"], default="counts")
    o.add_argument("--gain", type=float, default=1.0)
    o.add_argument("--mains", type=float, default=None)
    o.add_argument("--channels", default="calf_l,tib_ant_l")
    args = ap.parse_args(argv)
    if args.cmd == "suite":
        make_suite(args.out, args.seed0, args.scale, verbose=not args.quiet)
    else:
        if args.units == "uV" and args.sensor != "raw":
            sys.exit("uV output is only available for raw sensors")
        name = args.name or f"fourth_{args.scenario}_{args.seed}"
        entry = generate(args.out, name, args.scenario, args.seed, args.fs, args.duration,
                         [c.strip() for c in args.channels.split(",") if c.strip()],
                         sensor=args.sensor, units=args.units, gain=args.gain, mains_hz=args.mains,
                         verbose=True)
        print(json.dumps(entry))


if __name__ == "__main__":
    main()
