#!/usr/bin/env python3
"""fifthsim -- a phenomenological surface-EMG simulator with ground truth.

Purpose: training data for a detector of involuntary muscle contractions
(spasm, cramp, clonus, periodic limb movements in sleep) that must not fire on
look-alikes (voluntary effort, posture changes, turning over in bed, twitches)
or on sensor artifacts.

Model
-----
The signal is *not* built from motor units.  Each channel is amplitude-modulated
coloured noise:

    emg(t) = A(t) * c(t)

* Carrier c(t): unit-variance Gaussian noise through an all-pole (AR, order 4-8)
  filter followed by a 2nd-order 8-22 Hz electrode/amplifier high-pass.  The AR
  coefficients are fitted per person/muscle (Yule-Walker on the
  autocorrelation) to a randomly drawn band-pass shape: a log-normal bump with
  its peak at 60-150 Hz (steeper upper skirt) on a small white floor; the
  order is raised (up to 8) if the fitted peak misses the drawn one by more
  than a factor 1.6 (needed at 3-4 kHz).  A second AR model is fitted to the
  same shape compressed in frequency by 0.68-0.86; the two carriers are
  power-mixed with the muscle's fatigue state phi(t) (spectral compression
  during long or repeated efforts, mean frequency -10..-25 % over a 60 s hold).
* Amplitude A(t) [mV RMS] = MVC_rms * a(t)^gamma * g(t) * (1 + 0.4 phi) * drift(t)
  * Z(t)^-0.15, with a(t) the activation in fraction of maximal voluntary
  contraction (MVC).  g(t) is a log-normal "granularity" term whose spread grows
  at low activation (few motor units: spiky, super-Gaussian EMG).  drift is an
  electrode gain drift (Ornstein-Uhlenbeck in log gain, tau 15-60 min), Z(t) a
  skin/electrode impedance that starts high, settles as gel hydrates, drops with
  sweat during exercise and steps when a turnover presses on the electrode.
* a(t) comes from an explicit behavioural model run at a 250 Hz control rate:
  - nights: a semi-Markov hypnogram over a whole night (W, N1, N2, N3, REM with
    ~90 min cycles, N3 early, REM longer late), of which a 1-2 h window is
    recorded.  Stage drives muscle tone (REM atonia), turnovers (at arousals and
    transitions), hypnic jerks at sleep onset, phasic REM twitches, PLM series
    (N1/N2, rarely N3, stopped by wake/REM), nocturnal calf cramps, spasm
    clusters (spinal-cord-injury / MS profile).
  - daily life: a semi-Markov activity chain (sit, desk work, stand, walk,
    stairs, chores) with sit-to-stand transitions, walking bursts locked to a
    gait phase (per-muscle phase templates, left/right half a stride apart),
    typing, reaching, lifting, carrying, fidgeting; profile-specific triggers
    (MS: extensor spasm on standing up, clonus on foot placement; older adult:
    calf cramp while sitting after walking; office: trapezius spasm; back: erector
    spasm after a lift, followed by guarding tone).
  - exercise: warm-up (walk/jog or arm swings), exercises drawn from a catalogue
    (per-muscle weights), sets of reps with ramp-hold-release every 1.5-5 s,
    heavy low-rep sets, isometric holds up to 60 s with growing tremor, rests
    with posture changes, stretches, towel motion; exercise-associated cramps
    late in the session, clonus after a calf stretch and spasms in rehab.
  - mixed: a compressed day (optionally a short exercise block), lying down,
    then a compressed sleep onset with PLM series.
  Fatigue phi is a leaky integrator of activation above 15 % MVC.
* Crosstalk: a low-passed fraction (2-20 %) of a neighbouring muscle's EMG is
  added to a channel (same limb segment strongest, erector l/r, adjacent
  segments weaker).
* Additive terms: amplifier/skin noise (~sqrt(Z)), mains hum at 50/60 Hz with
  2nd/3rd/5th harmonics (~Z, plus episodes when a device is switched on),
  slow baseline wander (small always, labelled episodes large), motion
  artifacts (decaying low-frequency oscillations + step), electrode pops (step
  + exponential decay), ECG (P-QRS-T template, HR following activity, RSA) on
  trunk/shoulder (often) and thigh/upper-arm (sometimes) channels.
* Front ends: a first-order analog high-pass (0.05-5 Hz), then
  - raw hobby board: counts = mid-rail(~512, drifting) + K*gain*v, 10-bit,
    K = 50-120 counts/mV at gain 1, ADC noise, clipping at 0/1023;
  - lab amplifier: 16-bit ADC over +-10 mV/gain, written as input-referred mV
    (so gain sets clipping level and quantisation step, not the scale);
  - envelope board: full-wave rectify + 2nd-order low-pass 3-10 Hz, or
    exponential moving RMS (tau 30-150 ms), then offset + K_env*gain*env,
    10-bit counts.
  Lead-off replaces the input after the high-pass by a flat line, a rail, or
  a huge hum (floating input), and is drawn only in stretches where the channel
  has no labelled episode.

Labelling conventions
---------------------
* An episode is labelled per channel where that muscle is really activated by
  the event; start/end are the support of the event's own activation
  envelope (first/last non-zero sample, so ramps are included), clipped to the
  recording.  intensity = 90th percentile of that envelope (fraction of MVC).
* Contributions below 2 % MVC (1 % for plm/twitch/clonus) are not labelled
  (treated like tone).  Background tone (lying, sitting, standing postural
  tone 1-5 % MVC) is never labelled.  Crosstalk is not labelled on the channel
  it leaks into.
* Look-alikes never overlap an involuntary episode on the same channel (they
  are cut around it); involuntary episodes may touch each other (a spasm
  followed by clonus, a cramp with the stretch of its antagonist labelled
  "voluntary" on the antagonist channel).  A triggered spasm may start at the
  very end of the posture change that triggered it.
* Reps are labelled one episode per rep; a walking/stairs/jogging bout, a typing
  bout and an arm-swing warm-up are one "voluntary" episode per bout (split if
  cut by an involuntary event); isometric holds one episode.
* Every leg movement in sleep is labelled "plm", in series or isolated; series
  have onset-to-onset intervals 10.5-88 s drawn around a per-night period of
  18-40 s; a wake/REM stage ends a series; in N3 movements drop out at random.
* Artifacts: motion (turnovers, spasms, knocks, cable swing while walking or
  during a set), pop (step until ~5 tau), lead_off, wander (labelled
  episodes only), mains (where the hum RMS exceeds the channel noise floor),
  ecg (whole recording on channels that carry it), clipping (computed from
  the written samples: runs at the rails outside lead-off, merged across
  gaps < 0.3 s).

CLI
---
    python fifthsim.py suite --out DIR --seed0 N
    python fifthsim.py one --scenario night --seed 7 --out DIR [--duration S]
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import os
import time

import numpy as np
from scipy import signal
from scipy.linalg import solve_toeplitz

FC = 250.0            # behavioural / control rate (Hz)
CHUNK = 1 << 18       # samples per synthesis chunk
W, N1, N2, N3, REM = 0, 1, 2, 3, 4

# base name: segment, role, MVC RMS range (mV), (ECG QRS max mV, probability)
MUSCLES = {
    'tib_ant':      ('shank', 'flex', (0.35, 1.5), (0.0, 0.0)),
    'gastroc':      ('shank', 'ext', (0.3, 1.3), (0.0, 0.0)),
    'quad':         ('thigh', 'ext', (0.3, 1.4), (0.06, 0.3)),
    'hamstring':    ('thigh', 'flex', (0.25, 1.1), (0.06, 0.3)),
    'biceps':       ('upperarm', 'flex', (0.4, 2.0), (0.08, 0.3)),
    'triceps':      ('upperarm', 'ext', (0.3, 1.5), (0.08, 0.3)),
    'forearm_flex': ('forearm', 'flex', (0.3, 1.5), (0.0, 0.0)),
    'forearm_ext':  ('forearm', 'ext', (0.3, 1.5), (0.0, 0.0)),
    'deltoid':      ('shoulder', 'ext', (0.3, 1.5), (0.3, 0.6)),
    'trapezius':    ('shoulder', 'ext', (0.3, 1.6), (0.4, 0.6)),
    'erector':      ('trunk', 'ext', (0.2, 1.0), (0.5, 0.7)),
}
LIMB = {'shank': 'leg', 'thigh': 'leg', 'upperarm': 'arm', 'forearm': 'arm',
        'shoulder': 'arm', 'trunk': 'trunk'}
ADJ = {('shank', 'thigh'), ('upperarm', 'forearm'), ('upperarm', 'shoulder')}
ANTAGONIST = {'gastroc': 'tib_ant', 'tib_ant': 'gastroc', 'quad': 'hamstring',
              'hamstring': 'quad', 'biceps': 'triceps', 'triceps': 'biceps',
              'forearm_flex': 'forearm_ext', 'forearm_ext': 'forearm_flex'}

TONE = {  # fraction of MVC per state; 'd' = default
    W: {'d': 0.012}, N1: {'d': 0.008}, N2: {'d': 0.006}, N3: {'d': 0.005},
    REM: {'d': 0.0015},
    'sit': {'d': 0.01, 'erector': 0.02, 'trapezius': 0.02},
    'desk': {'d': 0.01, 'trapezius': 0.05, 'forearm_flex': 0.03,
             'forearm_ext': 0.04, 'erector': 0.02},
    'stand': {'d': 0.012, 'gastroc': 0.05, 'erector': 0.04, 'tib_ant': 0.02,
              'quad': 0.02, 'hamstring': 0.02, 'trapezius': 0.025},
    'lying': {'d': 0.012},
}

GAIT = {  # (phase centre, width as fraction of stride, weight); phase 0 = own heel strike
    'tib_ant': [(0.02, 0.07, 1.0), (0.78, 0.10, 0.6)],
    'gastroc': [(0.38, 0.09, 1.0)],
    'quad': [(0.05, 0.07, 1.0), (0.95, 0.05, 0.4)],
    'hamstring': [(0.92, 0.07, 1.0), (0.05, 0.05, 0.5)],
    'erector': [(0.02, 0.06, 1.0), (0.52, 0.06, 1.0)],
    'deltoid': [(0.5, 0.15, 1.0)], 'trapezius': [(0.0, 0.1, 0.6), (0.5, 0.1, 0.6)],
    'biceps': [(0.5, 0.15, 1.0)], 'triceps': [(0.0, 0.15, 1.0)],
    'forearm_flex': [(0.3, 0.2, 1.0)], 'forearm_ext': [(0.3, 0.2, 1.0)],
}
GAIT_LEVEL = {'tib_ant': (0.12, 0.3), 'gastroc': (0.15, 0.35), 'quad': (0.08, 0.2),
              'hamstring': (0.08, 0.2), 'erector': (0.05, 0.15)}

STS_LEVEL = {'quad': (0.25, 0.55), 'erector': (0.15, 0.4), 'tib_ant': (0.1, 0.3),
             'gastroc': (0.08, 0.2), 'hamstring': (0.1, 0.25), 'triceps': (0.05, 0.25),
             'forearm_flex': (0.03, 0.2), 'forearm_ext': (0.03, 0.15),
             'trapezius': (0.03, 0.1), 'deltoid': (0.03, 0.1), 'biceps': (0.02, 0.08)}

EXERCISES = {
    # name: kind, muscle weights, level range, rep period range
    'curl': ('rep', {'biceps': 1.0, 'forearm_flex': 0.5, 'deltoid': 0.15, 'triceps': 0.12,
                     'trapezius': 0.15}, (0.35, 0.75), (2.0, 4.0)),
    'triceps_ext': ('rep', {'triceps': 1.0, 'biceps': 0.1, 'deltoid': 0.2,
                            'forearm_ext': 0.2}, (0.35, 0.7), (2.0, 3.5)),
    'press': ('rep', {'deltoid': 1.0, 'triceps': 0.6, 'trapezius': 0.5, 'biceps': 0.1,
                      'erector': 0.2}, (0.35, 0.7), (2.5, 4.0)),
    'row': ('rep', {'biceps': 0.6, 'trapezius': 0.7, 'erector': 0.4, 'deltoid': 0.5,
                    'forearm_flex': 0.5, 'triceps': 0.1}, (0.3, 0.65), (2.5, 4.0)),
    'squat': ('rep', {'quad': 1.0, 'hamstring': 0.35, 'gastroc': 0.3, 'tib_ant': 0.3,
                      'erector': 0.5}, (0.35, 0.7), (2.5, 4.0)),
    'lunge': ('rep', {'quad': 1.0, 'hamstring': 0.4, 'gastroc': 0.35, 'tib_ant': 0.2,
                      'erector': 0.3}, (0.35, 0.65), (2.5, 4.5)),
    'leg_curl': ('rep', {'hamstring': 1.0, 'gastroc': 0.4}, (0.4, 0.75), (2.0, 3.5)),
    'calf_raise': ('rep', {'gastroc': 1.0, 'tib_ant': 0.08}, (0.4, 0.8), (1.5, 3.0)),
    'deadlift': ('rep', {'erector': 1.0, 'hamstring': 0.7, 'quad': 0.5, 'gastroc': 0.3,
                         'forearm_flex': 0.6, 'trapezius': 0.5}, (0.4, 0.75), (3.0, 5.0)),
    'sit_to_stand': ('rep', {'quad': 1.0, 'gastroc': 0.4, 'tib_ant': 0.5,
                             'hamstring': 0.4, 'erector': 0.5}, (0.25, 0.45), (3.5, 5.0)),
    'heel_raise': ('rep', {'gastroc': 1.0, 'tib_ant': 0.1}, (0.25, 0.5), (2.0, 3.5)),
    'ankle_dorsiflex': ('rep', {'tib_ant': 1.0, 'gastroc': 0.1}, (0.2, 0.45), (2.0, 3.5)),
    'wall_sit': ('hold', {'quad': 1.0, 'gastroc': 0.2, 'tib_ant': 0.2, 'hamstring': 0.15},
                 (0.3, 0.6), None),
    'iso_curl': ('hold', {'biceps': 1.0, 'forearm_flex': 0.6, 'triceps': 0.1},
                 (0.4, 0.85), None),
    'calf_hold': ('hold', {'gastroc': 1.0, 'tib_ant': 0.1}, (0.3, 0.6), None),
    'plank': ('hold', {'erector': 0.3, 'deltoid': 0.8, 'triceps': 0.6, 'quad': 0.3,
                       'trapezius': 0.4}, (0.25, 0.5), None),
    'back_ext_hold': ('hold', {'erector': 1.0, 'hamstring': 0.4}, (0.3, 0.55), None),
    'balance': ('hold', {'gastroc': 1.0, 'tib_ant': 0.8, 'quad': 0.3}, (0.06, 0.15), None),
}
EX_SETS = {
    'upper': ['curl', 'triceps_ext', 'press', 'row', 'iso_curl', 'plank'],
    'legs': ['squat', 'lunge', 'leg_curl', 'calf_raise', 'deadlift', 'wall_sit', 'calf_hold'],
    'rehab': ['sit_to_stand', 'heel_raise', 'ankle_dorsiflex', 'balance', 'calf_hold'],
    'back': ['deadlift', 'row', 'back_ext_hold', 'plank', 'squat'],
}


# ----------------------------------------------------------------------------- helpers
def U(rng, a, b):
    return float(rng.uniform(a, b))


def LN(rng, med, sig, lo=-np.inf, hi=np.inf):
    return float(np.clip(med * math.exp(sig * rng.standard_normal()), lo, hi))


@functools.lru_cache(maxsize=512)
def _lp(wn, order):
    b, a = signal.butter(order, wn)
    n = int(min(300000, 60.0 / wn + 64))
    imp = np.zeros(n)
    imp[0] = 1.0
    h = signal.lfilter(b, a, imp)
    return b / math.sqrt(float(np.dot(h, h))), a


def smooth_noise(rng, n, fcut, fs=FC, order=2):
    """Unit-variance Gaussian noise low-passed at fcut (Hz)."""
    n = int(n)
    if n <= 0:
        return np.zeros(0)
    wn = float('%.3g' % min(max(fcut / (fs / 2.0), 1e-4), 0.95))
    b, a = _lp(wn, order)
    pad = int(min(3.0 / wn, 40000)) + 8
    return signal.lfilter(b, a, rng.standard_normal(n + pad))[pad:]


def lnmod(rng, n, depth, fcut):
    if depth <= 0:
        return np.ones(int(n))
    return np.exp(depth * smooth_noise(rng, n, fcut) - 0.5 * depth * depth)


def ramp(n):
    n = max(int(n), 1)
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(1, n + 1) / (n + 1))


def taper(e, rise, fall):
    n = len(e)
    nr = max(1, min(int(round(rise * FC)), n // 2))
    nf = max(1, min(int(round(fall * FC)), n - nr))
    e[:nr] *= ramp(nr)
    e[n - nf:] *= ramp(nf)[::-1]
    return e


def runs(mask, merge=0):
    """[(start, end)) index runs of True, merging gaps <= merge."""
    mask = np.asarray(mask, bool)
    if mask.size == 0 or not mask.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    d = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    st = np.flatnonzero(d == 1)
    en = np.flatnonzero(d == -1)
    if merge > 0 and len(st) > 1:
        keep = (st[1:] - en[:-1]) > merge
        st = np.concatenate((st[:1], st[1:][keep]))
        en = np.concatenate((en[:-1][keep], en[-1:]))
    return st, en


def vm(x, w):
    kappa = 1.0 / (2 * math.pi * w) ** 2
    return np.exp(kappa * (np.cos(2 * np.pi * x) - 1.0))


# ----------------------------------------------------------------------------- envelope shapes (at FC)
def burst(rng, dur, level, rise, fall, depth=0.25, fmod=2.0):
    n = max(3, int(round(dur * FC)))
    e = np.full(n, float(level)) * lnmod(rng, n, depth, fmod)
    return taper(e, rise, fall)


def env_spasm(rng, dur, level):
    n = max(5, int(round(dur * FC)))
    t = np.arange(n) / FC
    trend = 1.0 + U(rng, -0.5, 0.1) * t / max(dur, 1e-3)
    trend = np.clip(trend * (1 + 0.15 * smooth_noise(rng, n, 0.2)), 0.3, None)
    boost = 1.0 + U(rng, 0.1, 0.4) * np.exp(-t / U(rng, 0.2, 1.0))
    e = level * trend * boost * lnmod(rng, n, U(rng, 0.3, 0.5), U(rng, 2.0, 6.0))
    for _ in range(rng.poisson(dur / 3.0)):
        c, w = U(rng, 0, dur), U(rng, 0.03, 0.08)
        lo, hi = max(0, int((c - 4 * w) * FC)), min(n, int((c + 4 * w) * FC) + 1)
        e[lo:hi] += level * U(rng, 0.2, 0.5) * np.exp(-0.5 * ((t[lo:hi] - c) / w) ** 2)
    e *= level / max(np.percentile(e, 90), 1e-9)          # 90th percentile = level
    e = taper(e, U(rng, 0.015, 0.08), min(U(rng, 0.2, 1.5), 0.4 * dur))
    return np.minimum(e, 1.0)


def env_cramp(rng, dur, level, stretch_end=True):
    n = max(5, int(round(dur * FC)))
    t = np.arange(n) / FC
    slow = 0.35 * smooth_noise(rng, n, U(rng, 0.05, 0.3))
    fast = 0.25 * smooth_noise(rng, n, U(rng, 1.5, 4.0))
    e = level * np.exp(slow + fast - 0.09)
    for _ in range(rng.poisson(dur / 20.0)):
        c, w = U(rng, 0, dur), U(rng, 1.0, 4.0)
        e += level * U(rng, 0.2, 0.4) * np.exp(-0.5 * ((t - c) / w) ** 2)
    fall = U(rng, 1.0, 4.0) if stretch_end else U(rng, 5.0, 15.0)
    e *= level / max(np.percentile(e, 90), 1e-9)
    e = taper(e, U(rng, 0.3, 3.0), min(fall, 0.3 * dur))
    return np.minimum(e, 1.0)


def env_clonus(rng, dur, f0, amp, phase0=0.0):
    n = max(5, int(round(dur * FC)))
    t = np.arange(n) / FC
    f = f0 * (1.0 - U(rng, 0.0, 0.08) * t / dur) * (1 + 0.015 * smooth_noise(rng, n, 0.5))
    ph = np.cumsum(f) / FC + phase0
    duty = U(rng, 0.25, 0.4)
    kappa = math.log(2.0) / (1.0 - math.cos(math.pi * duty))
    bumps = np.exp(kappa * (np.cos(2 * np.pi * ph) - 1.0))
    tau = U(rng, 0.5, 3.0) * dur
    a = amp * np.exp(-t / tau) * lnmod(rng, n, 0.15, f0)
    e = a * (0.06 + bumps)
    return np.minimum(taper(e, 2.0 / f0, 2.0 / f0), 1.0)


def env_plm(rng, dur, level):
    n = max(5, int(round(dur * FC)))
    t = np.arange(n) / FC
    e = np.full(n, U(rng, 0.3, 0.6))
    for k in range(1 + min(3, rng.poisson(dur / 2.0))):
        c = U(rng, 0.05, 0.3) * dur if k == 0 else U(rng, 0.1, 0.9) * dur
        w = U(rng, 0.15, 0.6)
        e += U(rng, 0.5, 1.0) * np.exp(-0.5 * ((t - c) / w) ** 2)
    e = level * e / e.max() * lnmod(rng, n, 0.3, 4.0)
    return np.minimum(taper(e, U(rng, 0.05, 0.3), U(rng, 0.1, 0.5)), 1.0)


def env_twitch(rng, dur, level):
    n = max(3, int(round(dur * FC)))
    x = np.arange(1, n + 1) / (n + 1.0)
    k = U(rng, 1.2, 2.5)
    e = x ** k * (1 - x) ** (k * U(rng, 1.5, 3.0))
    return level * e / e.max()


def env_rep(rng, L, tu, th, td):
    nu, nh, nd = max(2, int(tu * FC)), max(0, int(th * FC)), max(3, int(td * FC))
    ecc = U(rng, 0.45, 0.65)
    nq = max(1, int(0.12 * FC))
    e = np.concatenate((L * ramp(nu) ** 1.3, np.full(nh, L),
                        L * (ecc + (1 - ecc) * ramp(nq)[::-1]),
                        L * ecc * ramp(nd)[::-1]))
    return np.minimum(e * lnmod(rng, len(e), 0.12, 4.0), 1.0)


def env_hold(rng, dur, L):
    n = max(10, int(round(dur * FC)))
    t = np.arange(n) / FC
    drive = L * (1 + U(rng, 0.05, 0.25) * t / dur)
    ftr = U(rng, 8.0, 12.0) * (1 + 0.02 * smooth_noise(rng, n, 0.3))
    trem = 1 + (0.03 + 0.12 * t / dur) * np.sin(2 * np.pi * np.cumsum(ftr) / FC)
    e = drive * trem * lnmod(rng, n, 0.1, 1.5)
    return np.minimum(taper(e, U(rng, 0.5, 2.0), U(rng, 0.3, 1.2)), 1.0)


def env_walk(rng, dur, base, level, stride_f, side_off):
    n = max(10, int(round(dur * FC)))
    f = stride_f * (1 + 0.03 * smooth_noise(rng, n, 0.05) + 0.02 * smooth_noise(rng, n, 1.0))
    ph = np.cumsum(f) / FC + side_off
    e = np.zeros(n)
    for c, w, wt in GAIT.get(base, [(0.0, 0.2, 0.3)]):
        e += wt * vm(ph - c, w)
    e = level * e * (1 + 0.15 * smooth_noise(rng, n, 2.0)).clip(0.3) + 0.01
    return np.minimum(taper(e, U(rng, 0.5, 1.5), U(rng, 0.5, 1.5)), 1.0), ph


def motion_wave(rng, dur, amp):
    n = max(5, int(round(dur * FC)))
    t = np.arange(n) / FC
    x = np.zeros(n)
    for _ in range(rng.integers(1, 4)):
        f, tau = U(rng, 0.5, 8.0), U(rng, 0.1, 0.6) * dur + 0.05
        x += U(rng, 0.3, 1.0) * np.sin(2 * np.pi * f * t + U(rng, 0, 6.3)) * np.exp(-t / tau)
    x += U(rng, -1, 1) * (1 - np.exp(-t / U(rng, 0.02, 0.1))) * np.exp(-t / U(rng, 0.2, 1.5))
    x += 0.2 * smooth_noise(rng, n, 12.0)
    x = taper(x, 0.05 * dur, 0.1 * dur)
    return x * (amp / max(np.abs(x).max(), 1e-9))


# ----------------------------------------------------------------------------- channel parameters
def channel_params(rng, name, hobby):
    base = name[:-2]
    seg, role, (mlo, mhi), (eamp, ep) = MUSCLES[base]
    p = dict(base=base, side=name[-1], seg=seg, role=role, limb=LIMB[seg])
    p['mvc'] = math.exp(U(rng, math.log(mlo), math.log(mhi)))      # mV RMS at MVC
    p['gamma'] = U(rng, 0.9, 1.25)
    p['fp'] = U(rng, 60.0, 150.0)
    p['width'] = U(rng, 0.38, 0.75)
    p['fhp'] = U(rng, 8.0, 22.0)
    p['order'] = int(rng.integers(4, 9))
    p['kappa'] = U(rng, 0.68, 0.86)
    p['noise'] = (U(rng, 2.0, 6.0) if hobby else U(rng, 0.6, 2.0)) / 1000.0   # mV RMS
    p['tonefac'] = U(rng, 0.6, 1.6)
    p['ecg'] = eamp * U(rng, 0.3, 1.0) * (1 if rng.random() < 0.5 else -1) \
        if rng.random() < ep else 0.0
    p['drift_sig'] = U(rng, 0.04, 0.2)
    p['drift_tau'] = U(rng, 900.0, 3600.0)
    p['z0'] = U(rng, 1.0, 3.0)
    p['ztau'] = U(rng, 300.0, 1200.0)
    p['fat_tau'] = U(rng, 60.0, 180.0)
    return p


def fit_ar(fs, fp, width, fhp, order, compress=1.0):
    """AR(order) carrier fitted by Yule-Walker to a log-normal band-pass bump (peak fp*compress),
    followed by a 2nd-order electrode/amplifier high-pass at fhp.  Returns (b, a) of the cascade,
    scaled to unit output variance for unit-variance white input."""
    nfft = 8192
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    fpc = fp * compress
    lf = np.log(np.maximum(f, 1e-3) / fpc)
    S = np.exp(-0.5 * (lf / np.where(lf > 0, 0.6 * width, width)) ** 2)   # steeper upper skirt
    S += 1e-3
    r = np.fft.irfft(S)[:order + 1]
    a = solve_toeplitz(r[:order], r[1:order + 1])
    ar = np.concatenate(([1.0], -a))
    hb, ha = signal.butter(2, fhp / (fs / 2.0), 'high')
    bt, at = hb, np.convolve(ar, ha)
    imp = np.zeros(int(fs) + 64)
    imp[0] = 1.0
    h = signal.lfilter(bt, at, imp)
    return bt / math.sqrt(float(np.dot(h, h))), at


# ----------------------------------------------------------------------------- recording builder
class Rec:
    def __init__(self, name, scenario, seed, dur, channels, sensor, units, gain, fs,
                 mains_hz, prof):
        self.name, self.scenario, self.seed, self.dur = name, scenario, seed, float(dur)
        self.channels, self.sensor, self.units = list(channels), sensor, units
        self.gain, self.fs, self.mains_hz, self.prof = float(gain), float(fs), float(mains_hz), prof
        self.rng = np.random.default_rng([seed, 1])
        self.n = int(math.ceil(self.dur * FC)) + 3
        self.p = {c: channel_params(self.rng, c, hobby=(units == 'counts')) for c in channels}
        self.act = {c: np.zeros(self.n, np.float32) for c in channels}
        self.tone = {c: np.full(self.n, 0.01, np.float32) for c in channels}
        self.lowf = {c: np.zeros(self.n, np.float32) for c in channels}
        self.block = {c: np.zeros(self.n, bool) for c in channels}
        self.episodes, self.artifacts = [], []
        self.pops = {c: [] for c in channels}
        self.zsteps = {c: [] for c in channels}
        self.leadoff = []
        self.stage = np.full(int(self.dur) + 2, -1, np.int8)
        self.sweat = []
        self.n_invol = 0

    # -- indices / queries
    def i(self, t):
        return int(round(t * FC))

    def base(self, c):
        return self.p[c]['base']

    def chans(self, limb=None, side=None, bases=None):
        out = []
        for c in self.channels:
            p = self.p[c]
            if limb and p['limb'] not in (limb if isinstance(limb, (set, tuple, list)) else (limb,)):
                continue
            if side and p['side'] != side:
                continue
            if bases and p['base'] not in bases:
                continue
            out.append(c)
        return out

    def find(self, base, side=None):
        for c in self.channels:
            if self.p[c]['base'] == base and (side is None or self.p[c]['side'] == side):
                return c
        return None

    def free(self, chans, t0, t1):
        i0, i1 = max(0, self.i(t0)), min(self.n, self.i(t1))
        return all(not self.block[c][i0:i1].any() for c in chans)

    def stage_at(self, t):
        k = int(t)
        return int(self.stage[k]) if 0 <= k < len(self.stage) else -1

    # -- adding things
    def add(self, kind, c, t0, env, invol=False, masked=True, min_int=None, block_all=False,
            margin=0.5):
        if min_int is None:
            min_int = 0.01 if kind in ('plm', 'twitch', 'clonus') else 0.02
        i0 = self.i(t0)
        env = np.asarray(env, float)
        if i0 < 0:
            env, i0 = env[-i0:], 0
        i1 = min(i0 + len(env), self.n - 1)
        if i1 <= i0:
            return []
        env = env[:i1 - i0].copy()
        if masked and not invol:
            m = self.block[c][i0:i1]
            if m.any():
                k = max(1, int(0.1 * FC))
                keep = np.convolve((~m).astype(float), np.ones(k) / k, 'same')
                keep[m] = 0.0
                env *= keep
        st, en = runs(env > 1e-9, merge=int(0.3 * FC))
        out = []
        for a, b in zip(st, en):
            inten = float(np.percentile(env[a:b], 90))
            s, e = (i0 + a) / FC, min((i0 + b) / FC, self.dur)
            if inten < min_int or s >= self.dur or e - s < 0.01:
                continue
            out.append(dict(start=round(s, 4), end=round(e, 4), kind=kind, channel=c,
                            intensity=round(min(inten, 1.0), 3)))
        self.act[c][i0:i1] += env.astype(np.float32)
        if invol:
            mg = int(margin * FC)
            for cc in (self.channels if block_all else [c]):
                self.block[cc][max(0, i0 - mg):i1 + mg] = True
            if out:
                self.n_invol += 1
        self.episodes.extend(out)
        return out

    def art(self, kind, c, t0, t1):
        t0, t1 = max(0.0, t0), min(self.dur, t1)
        if t1 - t0 > 0.005:
            self.artifacts.append(dict(start=round(t0, 4), end=round(t1, 4), kind=kind, channel=c))

    def motion(self, c, t0, dur, amp):
        w = motion_wave(self.rng, dur, amp)
        i0 = self.i(t0)
        i1 = min(i0 + len(w), self.n)
        if i0 >= self.n - 1 or i0 < 0:
            return
        self.lowf[c][i0:i1] += w[:i1 - i0].astype(np.float32)
        self.art('motion', c, t0, t0 + (i1 - i0) / FC)

    def pop(self, c, t, amp=None, label=True):
        rng = self.rng
        amp = amp if amp is not None else U(rng, 0.5, 8.0) * (1 if rng.random() < 0.5 else -1)
        tau = U(rng, 0.03, 0.4)
        if 0 <= t < self.dur:
            self.pops[c].append((t, amp, tau))
            if label:
                self.art('pop', c, t, t + max(5 * tau, 0.05))

    def set_tone(self, t0, t1, state, chans=None, scale=1.0):
        tab = TONE[state]
        i0, i1 = max(0, self.i(t0)), min(self.n, self.i(t1))
        for c in (chans or self.channels):
            lv = tab.get(self.base(c), tab['d']) * self.p[c]['tonefac'] * scale
            self.tone[c][i0:i1] = lv


# ----------------------------------------------------------------------------- common event helpers
def posture_event(b, t, chans, levels=None, dur=(0.6, 2.5), motion_p=0.3, kind='posture'):
    rng = b.rng
    d0 = U(rng, *dur)
    for c in chans:
        lo, hi = (levels or {}).get(b.base(c), (0.05, 0.25))
        env = burst(rng, d0 * U(rng, 0.8, 1.1), U(rng, lo, hi), U(rng, 0.1, 0.4), U(rng, 0.2, 0.6),
                    0.25, 2.0)
        b.add(kind, c, t + U(rng, 0.0, 0.3), env)
    if rng.random() < motion_p:
        for c in chans:
            if b.free([c], t, t + d0):
                b.motion(c, t + U(rng, 0, 0.3 * d0), U(rng, 0.3, 1.5), U(rng, 0.1, 1.5))
    return t + d0 + 0.3


def twitch_event(b, c, t, level=None, dur=None):
    rng = b.rng
    dur = dur if dur is not None else LN(rng, 0.12, 0.6, 0.02, 0.45)
    level = level if level is not None else LN(rng, 0.06, 0.6, 0.015, 0.4)
    if b.free([c], t - 0.1, t + dur + 0.1):
        b.add('twitch', c, t, env_twitch(rng, dur, level))


def everyday(b, t, chans):
    rng = b.rng
    d0 = LN(rng, 1.2, 0.6, 0.3, 5.0)
    for c in chans:
        env = burst(rng, d0 * U(rng, 0.8, 1.0), U(rng, 0.05, 0.45), U(rng, 0.1, 0.4),
                    U(rng, 0.1, 0.5), 0.2, 2.5)
        b.add('voluntary', c, t + U(rng, 0, 0.2), env)
    return t + d0


def spasm_group(b, prim=None, kind=None, bilateral_p=0.0):
    """Channels taking part in a spasm: list of (channel, relative level, lag s)."""
    rng = b.rng
    if prim is None:
        prim = b.channels[int(rng.integers(len(b.channels)))]
    pp = b.p[prim]
    out = [(prim, 1.0, 0.0)]
    for c in b.channels:
        if c == prim:
            continue
        q = b.p[c]
        if q['limb'] == pp['limb'] and (q['side'] == pp['side'] or pp['limb'] == 'trunk'):
            if pp['limb'] == 'trunk':
                if rng.random() < 0.6:
                    out.append((c, U(rng, 0.5, 1.0), U(rng, 0.0, 0.15)))
            elif q['role'] == pp['role']:
                if rng.random() < 0.85:
                    out.append((c, U(rng, 0.6, 1.1), U(rng, 0.0, 0.12)))
            elif rng.random() < 0.5:
                out.append((c, U(rng, 0.15, 0.5), U(rng, 0.0, 0.12)))
        elif q['limb'] == pp['limb'] == 'leg' and q['role'] == pp['role'] and \
                rng.random() < bilateral_p:
            out.append((c, U(rng, 0.4, 1.0), U(rng, 0.05, 0.4)))
    return out


def do_spasm(b, t, group, dur, level, motion_p=0.4, block_all=False):
    rng = b.rng
    for c, rel, lag in group:
        env = env_spasm(rng, dur * U(rng, 0.8, 1.1), min(0.98, level * rel))
        b.add('spasm', c, t + lag, env, invol=True, block_all=block_all)
    if rng.random() < motion_p:
        for c, _, _ in group:
            b.motion(c, t + U(rng, 0.02, 0.3), U(rng, 0.4, min(3.0, dur + 0.5)), U(rng, 0.2, 3.0))
    return t + dur * 1.1 + 0.2


def do_clonus(b, t, prim, dur=None, f0=None, amp=None, block_all=False):
    rng = b.rng
    base = b.base(prim)
    f0 = f0 or (U(rng, 5.0, 7.0) if base in ('gastroc', 'tib_ant') else U(rng, 3.0, 6.0))
    dur = dur or LN(rng, 6.0, 0.7, 2.0, 30.0)
    amp = amp or U(rng, 0.2, 0.6)
    if not b.free([prim], t + 0.6, t + dur):      # may follow a spasm directly, not overlap others
        return t
    b.add('clonus', prim, t, env_clonus(rng, dur, f0, amp), invol=True, block_all=block_all)
    ant = ANTAGONIST.get(base)
    ac = b.find(ant, b.p[prim]['side']) if ant else None
    if ac and rng.random() < 0.6 and b.free([ac], t + 0.6, t + dur + 0.5):
        b.add('clonus', ac, t + 0.5 / f0, env_clonus(rng, dur, f0, amp * U(rng, 0.2, 0.5), 0.0),
              invol=True, block_all=block_all)
    return t + dur


def do_cramp(b, t, c, dur=None, level=None, stretch=True, block_all=False, fasc_p=0.5):
    rng = b.rng
    dur = dur or LN(rng, 90.0, 0.6, 25.0, 420.0)
    level = level or U(rng, 0.35, 0.8)
    if rng.random() < fasc_p:      # fasciculations before the cramp
        for _ in range(rng.integers(3, 9)):
            twitch_event(b, c, t - U(rng, 1.0, 30.0), LN(rng, 0.04, 0.4, 0.015, 0.1),
                         U(rng, 0.03, 0.2))
    b.add('cramp', c, t, env_cramp(rng, dur, level, stretch), invol=True, block_all=block_all)
    ant = ANTAGONIST.get(b.base(c))
    ac = b.find(ant, b.p[c]['side']) if ant else None
    if stretch and ac:
        ts = t + dur - U(rng, 5.0, min(20.0, 0.6 * dur))
        sd = U(rng, 10.0, 40.0)
        b.add('voluntary', ac, ts, env_hold(rng, sd, U(rng, 0.1, 0.3)), masked=False)
    for cc in b.channels:
        if rng.random() < 0.7:
            b.motion(cc, t + U(rng, 0.5, 5.0), U(rng, 1.0, 4.0), U(rng, 0.2, 2.5))
    return t + dur


# ----------------------------------------------------------------------------- walking
def walk_bout(b, t0, t1, stairs=False, jog=False, motion_p=0.3):
    rng = b.rng
    if t1 - t0 < 3:
        return
    f = U(rng, 0.65, 0.78) if stairs else (U(rng, 1.3, 1.45) if jog else U(rng, 0.8, 1.0))
    mult = 2.5 if stairs else (2.0 if jog else 1.0)
    phase_l = U(rng, 0, 1)
    for c in b.channels:
        p = b.p[c]
        base = p['base']
        lo, hi = GAIT_LEVEL.get(base, (0.02, 0.06))
        lv = U(rng, lo, hi) * (mult if p['limb'] == 'leg' or base == 'erector' else 1.0)
        off = phase_l + (0.5 if p['side'] == 'r' else 0.0)
        if p['limb'] == 'arm':
            off = phase_l          # right arm swings with the left leg
        env, ph = env_walk(rng, t1 - t0, base, min(lv, 0.9), f, off)
        b.add('voluntary', c, t0, env)
    if rng.random() < motion_p:     # cable swing at heel strikes
        for c in b.chans(limb={'leg', 'trunk'}):
            if not b.free([c], t0, t1):
                continue
            n = int((t1 - t0) * FC)
            tt = np.arange(n) / FC
            amp = U(rng, 0.05, 0.4)
            step = 2 * f
            w = amp * np.exp(U(rng, 2, 5) * (np.cos(2 * np.pi * step * tt + U(rng, 0, 6)) - 1)) \
                * np.sin(2 * np.pi * U(rng, 3, 8) * tt)
            i0 = b.i(t0)
            b.lowf[c][i0:i0 + n] += w[:max(0, min(n, b.n - i0))].astype(np.float32)
            b.art('motion', c, t0, t1)


# ----------------------------------------------------------------------------- sleep
def night_hypnogram(rng, total=8.5 * 3600):
    segs = []
    lat = LN(rng, 600, 0.6, 120, 2400)
    segs.append([0.0, lat, W])
    t, st, cyc0, ncyc = lat, N1, lat, 0
    cyc_len = U(rng, 80, 110) * 60
    while t < total:
        if st == W:
            d = LN(rng, 90, 0.8, 15, 900)
        elif st == N1:
            d = LN(rng, 180, 0.6, 30, 900)
        elif st == N2:
            d = LN(rng, 720, 0.6, 120, 2400)
        elif st == N3:
            d = LN(rng, 900 * max(0.25, 1 - t / 18000.0), 0.5, 60, 2700)
        else:
            d = LN(rng, 480 + 300 * ncyc, 0.4, 120, 2700)
        segs.append([t, t + d, st])
        t += d
        phase = (t - cyc0) / cyc_len
        deep = max(0.1, 1 - ncyc / 3.0)
        if st == W:
            opts, pr = [N1, N2], [0.85, 0.15]
        elif st == N1:
            opts, pr = [N2, W, REM], ([0.75, 0.2, 0.05] if phase < 0.7 else [0.5, 0.15, 0.35])
        elif st == N2:
            if phase < 0.55:
                opts, pr = [N3, N1, W, REM], [0.65 * deep, 0.15, 0.1, 0.05]
            else:
                opts, pr = [REM, N1, W, N3], [0.65, 0.12, 0.13, 0.1 * deep]
        elif st == N3:
            opts, pr = [N2, N1, W], [0.85, 0.05, 0.1]
        else:
            opts, pr = [N2, N1, W], [0.5, 0.25, 0.25]
            cyc0, ncyc = t, ncyc + 1
        pr = np.asarray(pr) / np.sum(pr)
        st = opts[int(rng.choice(len(opts), p=pr))]
    return segs


def window_segs(segs, off, dur, t_rec0=0.0):
    out = []
    for a, b2, s in segs:
        a2, b3 = max(a, off), min(b2, off + dur)
        if b3 > a2:
            out.append([a2 - off + t_rec0, b3 - off + t_rec0, s])
    return out


def weighted_times(b, ta, tb, rate_h, weights, rng):
    """Poisson event times in [ta, tb) with stage-dependent weights (rate per hour at weight 1)."""
    if rate_h <= 0:
        return []
    k0, k1 = int(ta), int(min(tb, len(b.stage) - 1))
    st = b.stage[k0:k1]
    wv = np.array([weights.get(int(s), 0.0) for s in range(-1, 5)])[st + 1]
    cum = np.cumsum(wv)
    if cum.size == 0 or cum[-1] <= 0:
        return []
    n = rng.poisson(cum[-1] * rate_h / 3600.0)
    u = np.sort(rng.uniform(0, cum[-1], n))
    idx = np.searchsorted(cum, u)
    return list(k0 + idx + rng.uniform(0, 1, n))


def sleep_part(b, ta, tb, segs, prof):
    rng = b.rng
    for a, e, s in segs:
        b.stage[int(a):int(math.ceil(e)) + 1] = s
        b.set_tone(a, e, s)
    # ---- involuntary first
    if prof.get('plm'):
        plm_process(b, ta, tb, prof)
    if prof.get('spasm_h'):
        wts = {W: 2.0, N1: 1.5, N2: 1.0, N3: 0.5, REM: 0.3}
        for t in sorted(weighted_times(b, ta, tb - 20, prof['spasm_h'], wts, rng)):
            ncl = 1 + min(4, rng.poisson(1.0))
            for k in range(ncl):
                if t > tb - 5:
                    break
                kind = 'flex' if rng.random() < prof.get('flex_p', 0.6) else 'ext'
                cand = [c for c in b.channels if b.p[c]['role'] == kind] or b.channels
                prim = cand[int(rng.integers(len(cand)))]
                grp = spasm_group(b, prim, bilateral_p=prof.get('bilateral_p', 0.3))
                dur = LN(rng, prof.get('spasm_med', 5.0), 0.9, 1.0, 180.0)
                if not b.free([g[0] for g in grp], t - 1, t + dur + 1):
                    break
                te = do_spasm(b, t, grp, dur, U(rng, 0.3, 0.9))
                if b.p[prim]['role'] == 'ext' and rng.random() < prof.get('clonus_p', 0.3):
                    cc = b.find('gastroc', b.p[prim]['side']) or b.find('tib_ant', b.p[prim]['side'])
                    if cc and b.free([cc], te + 0.3, te + 1):
                        te = do_clonus(b, te + U(rng, 0.2, 1.5), cc)
                t = te + U(rng, 3.0, 45.0)
    for _ in range(prof.get('cramp_n', 0)):
        c = None
        for bs in ('gastroc', 'hamstring', 'quad', 'tib_ant'):
            c = c or b.find(bs)
        wts = {N2: 1.0, REM: 1.0, N1: 0.5}
        ts = weighted_times(b, ta + 60, tb - 200, 30.0, wts, rng)
        for t in ts[:5]:
            if b.free(b.channels, t - 35, t + 400):
                te = do_cramp(b, t, c, stretch=rng.random() < 0.8)
                b.set_tone(t, te + 120, W)
                break
    # ---- look-alikes
    # turnovers: at transitions + Poisson
    ttimes = []
    for (a, e, s), nxt in zip(segs[:-1], segs[1:]):
        if nxt[2] in (W, N1) and rng.random() < 0.45:
            ttimes.append(e + U(rng, -5, 20))
        elif s == REM and rng.random() < 0.3:
            ttimes.append(e + U(rng, -10, 10))
    ttimes += weighted_times(b, ta, tb, 1.0, {W: 5.0, N1: 3.0, N2: 0.8, N3: 0.2, REM: 0.3}, rng)
    for t in sorted(ttimes):
        dur = U(rng, 2.0, 10.0)
        for _ in range(4):
            if ta < t < tb - dur - 1 and b.free(b.channels, t - 1, t + dur + 1):
                turnover(b, t, dur)
                break
            t += U(rng, 5, 20)
    # hypnic jerks
    for (a, e, s), nxt in zip(segs[:-1], segs[1:]):
        if s == W and nxt[2] == N1 and rng.random() < 0.35:
            t = e + U(rng, 5, 60)
            lv, d = U(rng, 0.1, 0.5), U(rng, 0.1, 0.45)
            for c in b.channels:
                if rng.random() < 0.8:
                    twitch_event(b, c, t + U(rng, 0, 0.05), lv * U(rng, 0.5, 1.0), d)
    # twitches
    for c in b.channels:
        cl = weighted_times(b, ta, tb, U(rng, 20, 60), {REM: 1.0}, rng)
        cl += weighted_times(b, ta, tb, 3.0, {W: 1.0, N1: 1.0, N2: 1.0, N3: 0.5}, rng)
        for t in cl:
            for _ in range(1 + min(4, rng.poisson(0.8))):
                twitch_event(b, c, t + U(rng, 0, 2.0))
    # posture adjustments while awake in bed
    for t in weighted_times(b, ta, tb, 8.0, {W: 1.0}, rng):
        chs = [c for c in b.channels if rng.random() < 0.6] or [b.channels[0]]
        posture_event(b, t, chs, dur=(0.5, 3.0), motion_p=0.3)


def turnover(b, t, dur):
    rng = b.rng
    for c in b.channels:
        if rng.random() > 0.85:
            continue
        pieces, tt = [], 0.0
        while tt < dur:
            d = min(U(rng, 0.3, 2.0), dur - tt + 0.3)
            pieces.append(burst(rng, d, U(rng, 0.1, 0.5), 0.1, 0.15, 0.3, 3.0) + 0.02)
            tt += d
        env = np.concatenate(pieces)
        b.add('turnover', c, t + U(rng, 0, 0.3), taper(env, 0.15, 0.3))
    for c in b.channels:
        b.motion(c, t + U(rng, 0, 1.0), U(rng, 0.6, 1.0) * dur, U(rng, 0.3, 4.0))
        if rng.random() < 0.3:
            b.zsteps[c].append((t + dur, math.exp(U(rng, -0.4, 0.4))))
        if rng.random() < 0.12:
            b.pop(c, t + U(rng, 0, dur))


def plm_channels(b, side):
    c = b.find('tib_ant', side)
    if c is None:
        legs = b.chans(limb='leg', side=side)
        c = legs[0] if legs else None
    return c


def plm_move(b, t, leg, dur, level):
    rng = b.rng
    c = plm_channels(b, leg)
    if c is None or not b.free([c], t - 0.5, t + dur + 0.5):
        return False
    lv = max(level, 0.015 / b.p[c]['mvc'])
    b.add('plm', c, t, env_plm(rng, dur, lv), invol=True)
    for cc in b.chans(limb='leg', side=leg):
        if cc != c and rng.random() < 0.35 and b.free([cc], t - 0.3, t + dur + 0.5):
            lag = U(rng, 0, 0.3)
            b.add('plm', cc, t + lag, env_plm(rng, max(0.6, dur * U(rng, 0.6, 1.0)),
                                              lv * U(rng, 0.2, 0.6)),
                  invol=True)
    return True


def plm_process(b, ta, tb, prof):
    rng = b.rng
    mode = prof['plm']
    sides = ['l', 'r'] if mode == 'both' else [mode[0]]
    sides = [s for s in sides if plm_channels(b, s)]
    if not sides:
        return
    T0 = prof.get('plm_T') or U(rng, 20.0, 38.0)
    lvl = prof.get('plm_level', U(rng, 0.05, 0.12))
    onsets = []
    starts = weighted_times(b, ta, tb - 60, prof.get('plm_series_h', U(rng, 1.5, 3.0)),
                            {N1: 1.0, N2: 1.0, N3: 0.3}, rng)
    if prof.get('plm_first') is not None:
        starts = sorted(starts + [prof['plm_first']])
    elif prof.get('plm_series_h', 0) >= 1.5:
        # PLMS nights get at least one series: start early in the longest N1/N2 stretch
        k0 = int(ta)
        st_, en_ = runs(np.isin(b.stage[k0:int(tb)], (N1, N2)), merge=30)
        if len(st_):
            j = int(np.argmax(en_ - st_))
            t_g = k0 + st_[j] + U(rng, 20, 90)
            if not any(t_g - 120 < s0 < t_g + 600 for s0 in starts):
                starts = sorted(starts + [t_g])
    busy_until = -1e9
    for ts in sorted(starts):
        if ts < busy_until + 60:
            continue
        T = T0 * U(rng, 0.85, 1.15)
        nmax = prof.get('plm_nmax') or int(4 + min(76, LN(rng, 8.0, 0.7)))
        style = rng.choice(['bilateral', 'alternating', 'random', 'one']) \
            if len(sides) == 2 else 'one'
        one_side = sides[int(rng.integers(len(sides)))]
        t, k, last = ts, 0, one_side
        while k < nmax and t < tb - 12:
            st = b.stage_at(t)
            if st in (W, REM, -1):
                break
            interval = float(np.clip(T * math.exp(0.18 * rng.standard_normal()), 10.5, 88.0))
            if st == N3 and rng.random() < 0.5:
                t += interval
                continue
            dur = min(LN(rng, 1.8, 0.55, 0.6, 9.5), interval - 2.0)
            lv = LN(rng, lvl, 0.4, 0.02, 0.45)
            if style == 'bilateral':
                legs = [(s, U(rng, 0, 0.5) if s != one_side else 0.0) for s in sides]
            elif style == 'alternating':
                last = 'l' if last == 'r' else 'r'
                legs = [(last, 0.0)]
            elif style == 'random':
                legs = [(sides[int(rng.integers(2))], 0.0)]
            else:
                legs = [(one_side, 0.0)]
            ok = False
            for s, lag in legs:
                ok |= plm_move(b, t + lag, s, max(0.6, dur * (U(rng, 0.7, 1.0) if lag else 1.0)),
                               lv * (U(rng, 0.5, 1.2) if lag else 1.0))
            if ok:
                onsets.append(t)
            k += 1
            t += interval
        busy_until = t
    # isolated movements
    for t in weighted_times(b, ta, tb - 12, prof.get('plm_iso_h', 1.0), {N1: 1, N2: 1, N3: 0.5}, rng):
        if all(abs(t - o) > 100 for o in onsets):
            s = sides[int(rng.integers(len(sides)))]
            if plm_move(b, t, s, LN(rng, 1.8, 0.55, 0.6, 9.5), LN(rng, lvl, 0.4, 0.02, 0.45)):
                onsets.append(t)


# ----------------------------------------------------------------------------- day
DWELL = {'sit': (180, 0.6), 'desk': (300, 0.5), 'stand': (50, 0.6), 'walk': (80, 0.7),
         'stairs': (25, 0.4), 'chores': (120, 0.6)}
TRANS = {
    'sit': {'stand': 3, 'walk': 3, 'chores': 1, 'desk': 1},
    'desk': {'stand': 2, 'walk': 3, 'sit': 1, 'chores': 1},
    'stand': {'walk': 4, 'sit': 2, 'desk': 1, 'chores': 2, 'stairs': 0.5},
    'walk': {'stand': 3, 'sit': 2, 'desk': 1, 'stairs': 1, 'chores': 1},
    'stairs': {'walk': 3, 'stand': 1},
    'chores': {'walk': 2, 'stand': 2, 'sit': 1},
}
BIAS = {'office': {'desk': 4, 'sit': 1}, 'ms': {'sit': 2, 'walk': 1}, 'older': {'sit': 2, 'walk': 1.5},
        'back': {'chores': 3}, 'plain': {}}
SEATED = ('sit', 'desk')


def day_part(b, ta, tb, prof):
    rng = b.rng
    kind = prof.get('day', 'plain')
    bias = BIAS.get(kind, {})
    st = 'desk' if kind == 'office' else 'sit'
    t = ta
    prev = None
    target_inv = prof.get('day_invol', 1)
    while t < tb - 5:
        d = LN(rng, *DWELL[st])
        if kind == 'older' and st == 'sit' and prev == 'walk':
            d = max(d, 200.0)
        s1 = min(t + d, tb)
        late = (t - ta) / (tb - ta) > 0.55 and b.n_invol < target_inv
        # transition posture event
        if prev is not None and (prev in SEATED) != (st in SEATED):
            chs = b.channels
            t = posture_event(b, t, chs, STS_LEVEL, (1.0, 2.5), 0.3)
            if kind == 'ms' and st not in SEATED and rng.random() < (0.8 if late else 0.35):
                legs = [c for c in b.chans(limb='leg') if b.p[c]['role'] == 'ext'] or b.chans(limb='leg')
                if legs:
                    prim = legs[int(rng.integers(len(legs)))]
                    te = do_spasm(b, t - 0.3, spasm_group(b, prim, bilateral_p=0.3),
                                  LN(rng, 4.0, 0.8, 1.0, 60.0), U(rng, 0.35, 0.9), block_all=True)
                    if rng.random() < 0.4:
                        cc = b.find('gastroc', b.p[prim]['side'])
                        if cc:
                            te = do_clonus(b, te + U(rng, 0.2, 1.0), cc, block_all=True)
                    t = max(t, te + 2.0)
            if kind == 'ms' and st in SEATED and rng.random() < 0.25:
                cc = b.find('gastroc') or b.find('tib_ant')
                if cc:
                    t = do_clonus(b, t + U(rng, 0.1, 0.8), cc, block_all=True) + 1.0
        s1 = min(max(s1, t + 3.0), tb)
        if s1 - t < 1.0:
            break
        day_state(b, st, t, s1, prof, late)
        t = s1
        prev = st
        nxt = TRANS[st]
        keys = list(nxt)
        w = np.array([nxt[k] * bias.get(k, 1.0) for k in keys], float)
        st = keys[int(rng.choice(len(keys), p=w / w.sum()))]


def day_state(b, st, t0, t1, prof, late):
    rng = b.rng
    kind = prof.get('day', 'plain')
    tone_state = 'sit' if st == 'sit' else ('desk' if st == 'desk' else 'stand')
    b.set_tone(t0, t1, tone_state)
    if kind == 'back' and b.prof.get('_guard_from') is not None and t1 > b.prof['_guard_from']:
        g0 = max(t0, b.prof['_guard_from'])
        b.set_tone(g0, t1, tone_state, b.chans(bases={'erector'}), scale=1.8)
    # --- involuntary inside the state
    if kind == 'ms' and st in SEATED:
        for t in np.sort(rng.uniform(t0, t1, rng.poisson((t1 - t0) / 1800.0))):
            legs = [c for c in b.chans(limb='leg') if b.p[c]['role'] == 'flex'] or b.chans(limb='leg')
            if legs and b.free(b.channels, t - 1, t + 30):
                prim = legs[int(rng.integers(len(legs)))]
                do_spasm(b, t, spasm_group(b, prim), LN(rng, 3.0, 0.8, 1.0, 40.0),
                         U(rng, 0.3, 0.8), block_all=True)
    if kind == 'office' and st == 'desk':
        p = 0.5 if not late else 0.95
        trap = b.find('trapezius') or b.find('erector') or b.channels[0]
        if rng.random() < p * min(1.0, (t1 - t0) / 300.0) and t1 - t0 > 40:
            t = U(rng, t0 + 10, t1 - 20)
            do_spasm(b, t, spasm_group(b, trap), LN(rng, 15.0, 0.8, 3.0, 90.0), U(rng, 0.3, 0.65),
                     motion_p=0.3, block_all=True)
    if kind == 'older' and st == 'sit' and t1 - t0 > 60:
        if b.n_invol < 1 and (rng.random() < 0.6 or late):
            c = b.find('gastroc') or b.channels[0]
            t = U(rng, t0 + 10, t0 + min(60.0, 0.4 * (t1 - t0)))
            te = do_cramp(b, t, c, LN(rng, 70.0, 0.5, 25.0, 200.0), U(rng, 0.4, 0.85), True,
                          block_all=True)
            # stands up to stretch it
            posture_event(b, te - U(rng, 5, 15), [x for x in b.channels if x != c], STS_LEVEL,
                          (1.0, 2.0), 0.5)
    # --- look-alikes
    if st in ('walk', 'stairs'):
        walk_bout(b, t0 + 0.5, t1 - 0.5, stairs=(st == 'stairs'))
        return
    n = max(0, int(t1 - t0))
    if st == 'sit':
        for t in rng.uniform(t0, t1, rng.poisson(0.4 * n / 60)):
            chs = [c for c in b.channels if rng.random() < 0.5] or [b.channels[0]]
            posture_event(b, t, chs, dur=(0.4, 2.0), motion_p=0.2)
        for c in b.channels:
            for t in rng.uniform(t0, t1, rng.poisson(0.15 * n / 60)):
                twitch_event(b, c, t)
    elif st == 'desk':
        fc_ = b.chans(bases={'forearm_flex', 'forearm_ext'})
        t = t0 + U(rng, 1, 10)
        while t < t1 - 5 and fc_:
            d = min(U(rng, 20, 120), t1 - t - 1)
            for c in fc_:
                e = burst(rng, d, U(rng, 0.05, 0.12), 0.5, 0.5, 0.3, 5.0)
                b.add('voluntary', c, t, e)
            t += d + U(rng, 5, 30)
        arm = b.chans(bases={'biceps', 'deltoid', 'trapezius', 'forearm_flex', 'forearm_ext'})
        for t in rng.uniform(t0, t1, rng.poisson(1.0 * n / 60)):
            if arm:
                everyday(b, t, [c for c in arm if rng.random() < 0.7] or arm[:1])
        for c in b.channels:
            for t in rng.uniform(t0, t1, rng.poisson(0.1 * n / 60)):
                twitch_event(b, c, t)
    elif st == 'stand':
        for t in rng.uniform(t0, t1, rng.poisson(0.5 * n / 60)):
            chs = b.chans(limb={'leg', 'trunk'}) or b.channels
            posture_event(b, t, chs, dur=(0.5, 2.0), motion_p=0.1,
                          levels={k: (0.04, 0.15) for k in MUSCLES})
    elif st == 'chores':
        t = t0 + U(rng, 0, 5)
        while t < t1 - 2:
            r = rng.random()
            if r < 0.55:
                chs = [c for c in b.channels if b.p[c]['limb'] in ('arm', 'trunk') or rng.random() < 0.3]
                t = everyday(b, t, chs or b.channels[:1])
            elif r < 0.75:      # bend and lift
                chs = b.chans(bases={'erector', 'quad', 'hamstring', 'biceps', 'forearm_flex',
                                     'trapezius', 'gastroc'}) or b.channels
                d = U(rng, 1.0, 3.0)
                for c in chs:
                    b.add('voluntary', c, t + U(rng, 0, 0.2),
                          burst(rng, d, U(rng, 0.2, 0.65), 0.3, 0.4, 0.2, 2.0))
                if b.prof.get('day') == 'back' and rng.random() < (0.9 if late else 0.5) \
                        and b.n_invol < 2:
                    er = b.chans(bases={'erector'}) or b.channels
                    prim = er[int(rng.integers(len(er)))]
                    te = do_spasm(b, t + d + U(rng, 0.2, 2.0), spasm_group(b, prim),
                                  LN(rng, 30.0, 0.7, 8.0, 150.0), U(rng, 0.35, 0.8), motion_p=0.5,
                                  block_all=True)
                    b.prof['_guard_from'] = te
                    b.set_tone(te, t1, 'stand', er, scale=1.8)
                    t = te + U(rng, 10, 40)
                t += d
            else:               # carry
                chs = b.chans(bases={'forearm_flex', 'biceps', 'trapezius', 'erector', 'deltoid'})
                d = U(rng, 10, 40)
                for c in chs:
                    b.add('voluntary', c, t, env_hold(rng, d, U(rng, 0.08, 0.3)))
                if not chs:
                    walk_bout(b, t, t + d)
                t += d
            t += U(rng, 2, 20)


# ----------------------------------------------------------------------------- exercise
def ex_weight(b, ex, c):
    return EXERCISES[ex][1].get(b.base(c), 0.0)


def do_set(b, ex, t, heavy=False):
    rng = b.rng
    kind, mus, Lr, pr = EXERCISES[ex]
    reps = int(rng.integers(3, 7)) if heavy else int(rng.integers(8, 16))
    period = U(rng, *pr)
    L = min(0.95, U(rng, *Lr) * (1.3 if heavy else 1.0))
    tu, th = U(rng, 0.3, 0.45) * period, U(rng, 0.0, 0.2) * period
    td = U(rng, 0.3, 0.45) * period
    tr = t
    for r in range(reps):
        for c in b.channels:
            w = ex_weight(b, ex, c)
            if w < 0.05:
                continue
            Lc = min(0.98, L * w * U(rng, 0.85, 1.15) * (1 + 0.03 * r))
            b.add('voluntary', c, tr + U(rng, 0, 0.08) * (1 - w),
                  env_rep(rng, Lc, tu * U(rng, 0.9, 1.1), th, td * U(rng, 0.9, 1.1)))
        tr += period * (1 + 0.05 * rng.standard_normal())
    if rng.random() < 0.2:       # cable swing with every rep
        ag = max(b.channels, key=lambda c: ex_weight(b, ex, c))
        amp = U(rng, 0.05, 0.6)
        for r in range(reps):
            w = motion_wave(rng, 0.5 * period, amp * U(rng, 0.7, 1.0))
            i0 = b.i(t + r * period)
            i1 = min(i0 + len(w), b.n)
            b.lowf[ag][i0:i1] += w[:i1 - i0].astype(np.float32)
        b.art('motion', ag, t, tr)
    return tr + U(rng, 0.5, 2.0)


def do_hold(b, ex, t):
    rng = b.rng
    kind, mus, Lr, _ = EXERCISES[ex]
    d = U(rng, 15.0, 60.0)
    L = U(rng, *Lr)
    for c in b.channels:
        w = ex_weight(b, ex, c)
        if w >= 0.05:
            b.add('voluntary', c, t + U(rng, 0, 0.3), env_hold(rng, d, min(0.95, L * w * U(rng, 0.85, 1.15))))
    return t + d + 1.0


def rest_period(b, t0, t1):
    rng = b.rng
    for t in rng.uniform(t0, t1 - 3, rng.integers(1, 4)):
        chs = [c for c in b.channels if rng.random() < 0.6] or b.channels[:1]
        posture_event(b, t, chs, dur=(0.4, 2.0), motion_p=0.2)
    if rng.random() < 0.3:
        c = b.channels[int(rng.integers(len(b.channels)))]
        b.motion(c, U(rng, t0, t1 - 3), U(rng, 0.5, 2.5), U(rng, 0.2, 2.0))
    if rng.random() < 0.3 and t1 - t0 > 30:
        c = b.channels[int(rng.integers(len(b.channels)))]
        ts = U(rng, t0 + 2, t1 - 25)
        b.add('voluntary', c, ts, env_hold(rng, U(rng, 12, 22), U(rng, 0.03, 0.1)))


def exercise_part(b, ta, tb, prof):
    rng = b.rng
    b.sweat.append((ta, tb))
    b.set_tone(ta, tb, 'stand')
    t = ta + U(rng, 5, 30)
    legs = bool(b.chans(limb='leg'))
    if prof.get('warmup', True) and tb - ta > 600:
        wd = U(rng, 90, 240)
        if legs:
            walk_bout(b, t, t + wd, jog=rng.random() < 0.5)
        else:
            f = U(rng, 0.8, 1.2)
            for c in b.channels:
                e = np.zeros(int(wd * FC))
                tt = np.arange(len(e)) / FC
                e = U(rng, 0.08, 0.2) * vm(f * tt + U(rng, 0, 1), 0.12) + 0.01
                b.add('voluntary', c, t, taper(e * lnmod(rng, len(e), 0.15, 1.0), 1.0, 1.0))
        t += wd + U(rng, 10, 40)
    names = [e for e in EX_SETS[prof.get('ex', 'legs')]
             if max(ex_weight(b, e, c) for c in b.channels) >= 0.5]
    if not names:
        names = [max(EXERCISES, key=lambda e: max(ex_weight(b, e, c) for c in b.channels))]
    order = list(rng.permutation(names))
    cramp_done, k = 0, 0
    n_cramp = prof.get('cramp', 0)
    while t < tb - 90:
        ex = order[k % len(order)]
        k += 1
        nsets = int(rng.integers(2, 5))
        for s in range(nsets):
            if t > tb - 60:
                break
            if EXERCISES[ex][0] == 'rep':
                t = do_set(b, ex, t, heavy=rng.random() < 0.2)
            else:
                t = do_hold(b, ex, t)
            frac = (t - ta) / (tb - ta)
            # involuntary after a set
            if cramp_done < n_cramp and frac > 0.35 and (rng.random() < 0.35 or frac > 0.7):
                cand = sorted(b.channels, key=lambda c: -ex_weight(b, ex, c))
                c = cand[0]
                tc = t + U(rng, 2.0, 30.0)
                if tc < tb - 40:
                    te = do_cramp(b, tc, c, LN(rng, 45.0, 0.6, 15.0, 240.0), U(rng, 0.4, 0.85),
                                  True, block_all=True, fasc_p=0.3)
                    t = te + U(rng, 20, 60)
                    cramp_done += 1
            if prof.get('clonus') and ex in ('heel_raise', 'ankle_dorsiflex', 'calf_hold',
                                             'sit_to_stand', 'balance') and rng.random() < 0.4:
                cc = b.find('gastroc') or b.find('tib_ant')
                if cc and t < tb - 60:
                    # therapist stretches the calf -> clonus
                    tcl = t + U(rng, 3, 15)
                    te = do_clonus(b, tcl, cc, block_all=True)
                    t = te + U(rng, 5, 20)
            if prof.get('spasm') and ex in ('sit_to_stand', 'balance') and rng.random() < 0.3:
                legs_ = [c for c in b.chans(limb='leg') if b.p[c]['role'] == 'ext'] or b.channels
                prim = legs_[int(rng.integers(len(legs_)))]
                if t < tb - 60:
                    t = do_spasm(b, t + U(rng, 0.5, 5), spasm_group(b, prim),
                                 LN(rng, 6.0, 0.8, 1.0, 90.0), U(rng, 0.35, 0.9), block_all=True)
                    t += U(rng, 5, 20)
            rest = U(rng, 40, 120)
            rest = min(rest, max(5.0, tb - t - 1))
            rest_period(b, t, t + rest)
            t += rest
        t += U(rng, 20, 60)
    if tb - t > 40:   # cool-down stretches
        c = b.channels[int(rng.integers(len(b.channels)))]
        b.add('voluntary', c, t + 5, env_hold(rng, U(rng, 15, 30), U(rng, 0.03, 0.1)))


# ----------------------------------------------------------------------------- scenarios
def scen_night(b):
    rng, prof = b.rng, b.prof
    segs = night_hypnogram(rng)
    if rng.random() < 0.4:
        off = 0.0
    else:
        off = rng.uniform() ** 1.5 * max(0.0, 7.5 * 3600 - b.dur)
    sleep_part(b, 0.0, b.dur, window_segs(segs, off, b.dur), prof)


def scen_exercise(b):
    exercise_part(b, 0.0, b.dur, b.prof)


def scen_daily(b):
    day_part(b, 0.0, b.dur, b.prof)


def scen_mixed(b):
    rng, prof = b.rng, b.prof
    t_day = b.dur * U(rng, 0.42, 0.55)
    if rng.random() < 0.5 and b.chans(limb={'leg', 'trunk', 'arm'}):
        e0 = t_day * U(rng, 0.3, 0.5)
        e1 = e0 + U(rng, 240, 360)
        day_part(b, 0.0, e0, prof)
        exercise_part(b, e0, e1, dict(prof, warmup=False, cramp=0))
        day_part(b, e1, t_day, prof)
    else:
        day_part(b, 0.0, t_day, prof)
    # lying down
    b.set_tone(t_day, b.dur, 'lying')
    posture_event(b, t_day + 1, b.channels, STS_LEVEL, (1.0, 2.5), 0.5)
    turnover(b, t_day + U(rng, 5, 15), U(rng, 2, 5))
    tw = t_day + 20 + U(rng, 60, 180)
    tn1 = tw + U(rng, 60, 150)
    segs = [[t_day, tw, W], [tw, tn1, N1]]
    t = tn1
    while t < b.dur:
        d = U(rng, 300, 700)
        segs.append([t, min(t + d, b.dur), N2])
        t += d
        if t < b.dur and rng.random() < 0.4:
            d = U(rng, 60, 240)
            segs.append([t, min(t + d, b.dur), N3 if rng.random() < 0.6 else N1])
            t += d
    prof2 = dict(prof)
    prof2.setdefault('plm_first', tn1 + U(rng, 20, 90))
    prof2.setdefault('plm_T', U(rng, 18.0, 32.0))
    prof2.setdefault('plm_nmax', 200)
    prof2.setdefault('plm_series_h', 4.0)
    sleep_part(b, t_day + 20, b.dur, segs, prof2)


SCEN = {'night': scen_night, 'exercise': scen_exercise, 'daily': scen_daily, 'mixed': scen_mixed}


# ----------------------------------------------------------------------------- control-rate processing
def ou_series(rng, n_s, sigma, tau):
    """Ornstein-Uhlenbeck at 1 Hz, stationary std sigma, time constant tau (s)."""
    a = math.exp(-1.0 / tau)
    x = signal.lfilter([sigma * math.sqrt(1 - a * a)], [1, -a], rng.standard_normal(n_s + 1))
    x[0:] += sigma * rng.standard_normal() * a ** np.arange(n_s + 1)
    return x


def to_fc(x1hz, n):
    return np.interp(np.arange(n) / FC, np.arange(len(x1hz)), x1hz)


def finalize_control(b):
    """Build per-channel control-rate arrays used by the synthesis."""
    rng = b.rng
    n = b.n
    ns = int(b.dur) + 2
    ctl = {}
    # heart rate -> beat times
    mean_act = np.mean([b.act[c] for c in b.channels], axis=0)
    hr0 = {'night': U(rng, 52, 66), 'exercise': U(rng, 70, 90)}.get(b.scenario, U(rng, 65, 85))
    alpha = math.exp(-1.0 / (20 * FC))
    hr = hr0 + 90 * signal.lfilter([1 - alpha], [1, -alpha], mean_act)
    hr = hr + 3 * np.sin(2 * np.pi * 0.25 * np.arange(n) / FC) + 2 * smooth_noise(rng, n, 0.02)
    ph = np.cumsum(hr / 60.0) / FC + 0.02 * smooth_noise(rng, n, 0.5)
    k = np.arange(math.ceil(ph[0]) + 1, int(ph[-1]))
    beats = np.interp(k, ph, np.arange(n) / FC)
    # sweat windows
    sweat = np.zeros(n)
    for a, e in b.sweat:
        i0, i1 = b.i(a), min(n, b.i(e))
        tt = np.arange(n - i0) / FC
        s = 0.35 * (1 - np.exp(-tt / 600.0))
        after = np.arange(n - i0) >= (i1 - i0)
        s[after] *= np.exp(-(tt[after] - (e - a)) / 1800.0)
        sweat[i0:] = np.maximum(sweat[i0:], s)
    t_fc = np.arange(n) / FC
    hum_ep = np.ones(n)
    for _ in range(rng.poisson(0.8 * max(1.0, b.dur / 3600.0))):
        d = LN(rng, 90, 0.9, 20, 600)
        a = U(rng, 0, max(1.0, b.dur - d))
        i0, i1 = b.i(a), min(n, b.i(a + d))
        hum_ep[i0:i1] *= U(rng, 4, 30)
    strong = rng.random() < 0.25
    for c in b.channels:
        p = b.p[c]
        a = np.minimum(b.tone[c], 1.0)
        al = math.exp(-1.0 / (0.5 * FC))
        tone = signal.lfilter([1 - al], [1, -al], a, zi=[a[0] * al])[0]
        tone *= np.exp(0.25 * smooth_noise(rng, n, 0.2) - 0.03)
        x = tone + b.act[c]
        act = x / (1.0 + x ** 6) ** (1 / 6.0)                        # soft saturation at 1
        act = np.maximum(act, 1e-5)
        # fatigue
        ft = math.exp(-1.0 / (p['fat_tau'] * FC))
        drive = np.maximum(act - 0.15, 0.0)
        F = 1.0 - np.exp(-signal.lfilter([10.0 * (1 - ft)], [1, -ft], drive))
        # impedance
        Z = 1.0 + (p['z0'] - 1.0) * np.exp(-t_fc / p['ztau'])
        for ts, fac in p.get('_z', []) + b.zsteps[c]:
            Z[b.i(ts):] *= fac
        Z *= (1.0 - sweat)
        Z = np.clip(Z, 0.3, 6.0)
        drift = np.exp(to_fc(ou_series(rng, ns, p['drift_sig'], p['drift_tau']), n))
        sg = 0.1 + 0.5 * np.exp(-act / 0.04)
        gran = np.exp(sg * rng.standard_normal(n) - 0.5 * sg * sg)
        amp = p['mvc'] * act ** p['gamma'] * gran * (1 + 0.4 * F) * drift * Z ** -0.15
        noise = p['noise'] * np.sqrt(Z)
        base_m = p['noise'] * (U(rng, 1.5, 6.0) if strong else U(rng, 0.05, 0.4))
        mains = base_m * Z * hum_ep * (1 + 0.1 * smooth_noise(rng, n, 0.05))
        mains = np.minimum(mains, 0.3)                    # <= 0.3 mV peak at the input
        # unlabelled slow baseline (respiration + drift)
        low = b.lowf[c].astype(float)
        low += p['noise'] * U(rng, 0.5, 3.0) * (np.sin(2 * np.pi * U(rng, 0.2, 0.3) * t_fc)
                                                + smooth_noise(rng, n, 0.05))
        ctl[c] = dict(amp=amp.astype(np.float32), F=F.astype(np.float32),
                      noise=noise.astype(np.float32), mains=mains.astype(np.float32),
                      low=low.astype(np.float32))
        # labels: mains where hum RMS exceeds noise floor
        mr = mains / math.sqrt(2) * b.h_rms > noise
        st, en = runs(mr, merge=int(30 * FC))
        for s0, e0 in zip(st, en):
            if (e0 - s0) / FC >= 5.0:
                b.art('mains', c, s0 / FC, e0 / FC)
    return ctl, beats


def generic_artifacts(b):
    rng = b.rng
    hours = b.dur / 3600.0
    for c in b.channels:
        for t in rng.uniform(0, b.dur, rng.poisson(U(rng, 0.5, 4.0) * hours)):
            b.pop(c, t)
        for t in rng.uniform(0, b.dur - 3, rng.poisson(U(rng, 0.5, 2.0) * hours)):
            b.motion(c, t, U(rng, 0.3, 2.5), U(rng, 0.3, 4.0))
    # wander episodes
    lam = hours * (U(rng, 1.0, 3.0) if b.scenario == 'exercise' else U(rng, 0.5, 2.0))
    for _ in range(rng.poisson(lam)):
        d = LN(rng, 40, 0.7, 10, 180)
        t = U(rng, 0, max(1.0, b.dur - d))
        chs = b.channels if rng.random() < 0.3 else [b.channels[int(rng.integers(len(b.channels)))]]
        for c in chs:
            n = int(d * FC)
            w = smooth_noise(rng, n, U(rng, 0.05, 0.8))
            w = taper(w, min(3.0, 0.2 * d), min(3.0, 0.2 * d))
            w *= U(rng, 0.3, 3.0) / max(np.abs(w).max(), 1e-9)
            i0 = b.i(t)
            i1 = min(i0 + n, b.n)
            b.lowf[c][i0:i1] += w[:i1 - i0].astype(np.float32)
            b.art('wander', c, t, t + d)
    # lead-off in an episode-free stretch
    if rng.random() < (0.4 if b.scenario == 'night' else 0.3):
        c = b.channels[int(rng.integers(len(b.channels)))]
        d = LN(rng, 120, 0.8, 15, 900) if b.scenario == 'night' else LN(rng, 40, 0.8, 5, 300)
        busy = np.zeros(int(b.dur) + 2, bool)
        for e in b.episodes:
            if e['channel'] == c:
                busy[int(e['start']) - 2:int(e['end']) + 3] = True
        busy[:30] = True
        busy[-30:] = True
        free_s, free_e = runs(~busy)
        ok = [(s, e) for s, e in zip(free_s, free_e) if e - s > d + 2]
        if not ok:
            ok = [(s, e) for s, e in zip(free_s, free_e) if e - s > 8]
            if ok:
                s, e = max(ok, key=lambda x: x[1] - x[0])
                d = (e - s) - 4
                ok = [(s, e)]
        if ok:
            s, e = ok[int(rng.integers(len(ok)))]
            t = U(rng, s + 1, e - d - 1)
            mode = rng.choice(['flat', 'rail', 'hum'], p=[0.35, 0.35, 0.3])
            b.leadoff.append((c, t, t + d, str(mode), 1 if rng.random() < 0.5 else -1))
            b.art('lead_off', c, t, t + d)
            b.pop(c, t, label=False)
            b.pop(c, t + d, label=False)


# ----------------------------------------------------------------------------- CSV writing (vectorised)
def _lut(strings):
    bs = [s.encode() for s in strings]
    w = max(len(s) for s in bs)
    M = np.zeros((len(bs), w), np.uint8)
    V = np.zeros((len(bs), w), bool)
    for i, s in enumerate(bs):
        M[i, :len(s)] = np.frombuffer(s, np.uint8)
        V[i, :len(s)] = True
    return M, V


class CsvWriter:
    def __init__(self, path, header, fs, dur, value_luts):
        self.f = open(path, 'wb')
        self.f.write((','.join(header) + '\n').encode())
        self.fs = int(round(fs))
        self.sec = _lut([str(i) for i in range(int(dur) + 2)])
        self.f3 = _lut(['%03d' % i for i in range(1000)])[0]
        self.vl = value_luts

    def write(self, i0, codes):
        n = len(codes[0])
        i = np.arange(i0, i0 + n, dtype=np.int64)
        us = (i * 1000000 + self.fs // 2) // self.fs
        sec, frac = us // 1000000, us % 1000000
        sM, sV = self.sec
        ws = sM.shape[1]
        widths = [ws, 1, 3, 3] + sum(([1, lut[0].shape[1]] for lut in self.vl), []) + [1]
        Wt = sum(widths)
        M = np.empty((n, Wt), np.uint8)
        V = np.ones((n, Wt), bool)
        M[:, :ws] = sM[sec]
        V[:, :ws] = sV[sec]
        M[:, ws] = 46
        M[:, ws + 1:ws + 4] = self.f3[frac // 1000]
        M[:, ws + 4:ws + 7] = self.f3[frac % 1000]
        o = ws + 7
        for (lM, lV), cd in zip(self.vl, codes):
            M[:, o] = 44
            w = lM.shape[1]
            M[:, o + 1:o + 1 + w] = lM[cd]
            V[:, o + 1:o + 1 + w] = lV[cd]
            o += 1 + w
        M[:, o] = 10
        self.f.write(M[V].tobytes())

    def close(self):
        self.f.close()


# ----------------------------------------------------------------------------- synthesis
def synthesize(b, ctl, beats, csv_path):
    rng = np.random.default_rng([b.seed, 2])
    fs, chans = b.fs, b.channels
    N = int(round(b.dur * fs))
    # AR carriers
    ar = {}
    for c in chans:
        p = b.p[c]
        for order in range(p['order'], 9):     # raise the order if the fit misses the peak
            fresh = fit_ar(fs, p['fp'], p['width'], p['fhp'], order)
            wf, hf = signal.freqz(*fresh, worN=4096, fs=fs)
            if 0.6 * p['fp'] < wf[np.argmax(np.abs(hf))] < 1.6 * p['fp']:
                break
        p['order'] = order
        ar[c] = (fresh, fit_ar(fs, p['fp'], p['width'], p['fhp'], order, p['kappa']))
    zi0 = {c: np.zeros(len(ar[c][0][1]) - 1) for c in chans}
    zi1 = {c: np.zeros(len(ar[c][1][1]) - 1) for c in chans}
    # crosstalk
    xt = {c: [] for c in chans}
    for c in chans:
        for k in chans:
            if k == c:
                continue
            pc, pk = b.p[c], b.p[k]
            coef = 0.0
            if pc['side'] == pk['side'] or pc['limb'] == pk['limb'] == 'trunk':
                if pc['seg'] == pk['seg']:
                    coef = U(rng, 0.06, 0.2) if pc['limb'] != 'trunk' else U(rng, 0.03, 0.1)
                elif (pc['seg'], pk['seg']) in ADJ or (pk['seg'], pc['seg']) in ADJ:
                    coef = U(rng, 0.02, 0.06)
            if coef > 0:
                bb, aa = signal.butter(1, min(U(rng, 60, 150) / (fs / 2), 0.9))
                xt[c].append([k, coef, bb, aa, np.zeros(1)])
    # front end
    hob = b.units == 'counts'
    hp_fc = math.exp(U(rng, math.log(0.1), math.log(5.0))) if hob else U(rng, 0.05, 0.5)
    hpb, hpa = signal.butter(1, hp_fc / (fs / 2), 'high')
    hpz = {c: np.zeros(1) for c in chans}
    fe = {}
    for c in chans:
        if b.sensor == 'envelope':
            mode = 'lpf' if rng.random() < 0.6 else 'rms'
            if mode == 'lpf':
                eb, ea = signal.butter(2, U(rng, 3.0, 10.0) / (fs / 2))
                fe[c] = dict(mode=mode, b=eb, a=ea, z=np.zeros(2))
            else:
                tau = U(rng, 0.03, 0.15)
                al = math.exp(-1.0 / (tau * fs))
                fe[c] = dict(mode=mode, b=np.array([1 - al]), a=np.array([1, -al]), z=np.zeros(1))
            fe[c].update(K=U(rng, 300, 700), off=U(rng, 3, 40), adc=U(rng, 0.3, 0.8))
        elif hob:
            fe[c] = dict(K=U(rng, 50, 120), mid=512 + U(rng, -15, 15), adc=U(rng, 0.25, 0.7),
                         mdrift=U(rng, 0, 3), mdf=U(rng, 1 / 3000, 1 / 600), mph=U(rng, 0, 6.3))
        else:
            fe[c] = dict(rng_mV=10.0, adc=U(rng, 0.3, 0.8))
    # output LUTs
    if b.sensor == 'envelope' or hob:
        lut = _lut([str(i) for i in range(1024)])
        header = ['time'] + chans
    else:
        lsb = 10.0 / b.gain / 32768.0
        lut = _lut(['%.5f' % (k * lsb) for k in range(-32768, 32768)])
        header = ['time'] + [c + '_mV' for c in chans]
    w = CsvWriter(csv_path, header, fs, b.dur, [lut] * len(chans))
    # mains
    fm = b.mains_hz
    h2, h3, h5 = b.h2, b.h3, b.h5
    wob = 0.05 * smooth_noise(rng, b.n, 0.01)          # Hz deviation
    wob_ph = 2 * np.pi * np.cumsum(wob) / FC
    # ECG templates
    tt = np.arange(-0.3, 0.45, 1.0 / fs)

    def g(mu, s):
        return np.exp(-0.5 * ((tt - mu) / s) ** 2)
    tmpl = 0.12 * g(-0.17, 0.025) - 0.12 * g(-0.03, 0.008) + g(0.0, 0.011) \
        - 0.28 * g(0.03, 0.009) + 0.3 * g(0.25, 0.045)
    pre = int(round(0.3 * fs))
    beat_idx = np.round(beats * fs).astype(np.int64)
    lo_list = {c: [x for x in b.leadoff if x[0] == c] for c in chans}
    clip_runs = {c: [] for c in chans}
    for i0 in range(0, N, CHUNK):
        n = min(CHUNK, N - i0)
        idx = np.arange(i0, i0 + n)
        pos = idx * (FC / fs)
        j = pos.astype(np.int64)
        fr = pos - j

        def up(a):
            a0 = a[j]
            return a0 + (a[j + 1] - a0) * fr
        tsec = idx / fs
        ph = 2 * np.pi * fm * tsec + up(wob_ph)
        s1 = np.sin(ph)
        c1 = np.cos(ph)
        mw = s1 + h2 * 2 * s1 * c1 + h3 * s1 * (3 - 4 * s1 * s1) + h5 * np.sin(5 * ph)
        emg = {}
        for c in chans:
            (b0, a0), (b1, a1) = ar[c]
            y0, zi0[c] = signal.lfilter(b0, a0, rng.standard_normal(n), zi=zi0[c])
            Fc = ctl[c]['F'][j[0]:j[-1] + 2]
            if Fc.max() > 0.01:
                y1, zi1[c] = signal.lfilter(b1, a1, rng.standard_normal(n), zi=zi1[c])
                phi = np.clip(up(ctl[c]['F']), 0, 1)
                y0 = y0 * np.sqrt(1 - phi) + y1 * np.sqrt(phi)
            emg[c] = up(ctl[c]['amp']) * y0
        codes = []
        for c in chans:
            x = emg[c].copy()
            for item in xt[c]:
                k, coef, bb, aa, z = item
                y, item[4] = signal.lfilter(bb, aa, emg[k], zi=z)
                x += coef * y
            x += up(ctl[c]['noise']) * rng.standard_normal(n)
            x += up(ctl[c]['mains']) * mw
            x += up(ctl[c]['low'])
            ea = b.p[c]['ecg']
            if ea:
                sel = beat_idx[(beat_idx >= i0 - len(tt)) & (beat_idx < i0 + n + pre)]
                for bi in sel:
                    s = bi - pre - i0
                    a_, e_ = max(0, s), min(n, s + len(tt))
                    if e_ > a_:
                        x[a_:e_] += ea * tmpl[a_ - s:e_ - s]
            for (tp, amp, tau) in b.pops[c]:
                ip = int(tp * fs)
                L = int(6 * tau * fs)
                if ip < i0 + n and ip + L > i0:
                    a_, e_ = max(ip, i0), min(ip + L, i0 + n)
                    x[a_ - i0:e_ - i0] += amp * np.exp(-(np.arange(a_, e_) - ip) / (tau * fs))
            x, hpz[c] = signal.lfilter(hpb, hpa, x, zi=hpz[c])
            lom = np.zeros(n, bool)
            for (_, t0, t1, mode, sgn) in lo_list[c]:
                a_, e_ = max(int(t0 * fs), i0), min(int(t1 * fs), i0 + n)
                if e_ > a_:
                    sl = slice(a_ - i0, e_ - i0)
                    lom[sl] = True
                    if mode == 'flat':
                        x[sl] = 0.0003 * rng.standard_normal(e_ - a_)
                    elif mode == 'rail':
                        x[sl] = sgn * 200.0
                    else:
                        x[sl] = 80.0 * s1[sl]
            q = fe[c]
            if b.sensor == 'envelope':
                if q['mode'] == 'lpf':
                    env, q['z'] = signal.lfilter(q['b'], q['a'], np.abs(x), zi=q['z'])
                else:
                    e2, q['z'] = signal.lfilter(q['b'], q['a'], x * x, zi=q['z'])
                    env = np.sqrt(np.maximum(e2, 0))
                v = q['off'] + q['K'] * b.gain * np.maximum(env, 0) + q['adc'] * rng.standard_normal(n)
                cd = np.clip(np.rint(v), 0, 1023).astype(np.int64)
                clip = cd >= 1023
            elif hob:
                mid = q['mid'] + q['mdrift'] * np.sin(2 * np.pi * q['mdf'] * tsec + q['mph'])
                v = mid + q['K'] * b.gain * x + q['adc'] * rng.standard_normal(n)
                cd = np.clip(np.rint(v), 0, 1023).astype(np.int64)
                clip = (cd <= 0) | (cd >= 1023)
            else:
                v = x * b.gain / q['rng_mV'] * 32768 + q['adc'] * rng.standard_normal(n)
                cd = np.clip(np.rint(v), -32768, 32767).astype(np.int64)
                clip = (cd <= -32768) | (cd >= 32767)
                cd = cd + 32768
            clip &= ~lom
            if clip.any():
                st, en = runs(clip)
                clip_runs[c].append((st + i0, en + i0))
            codes.append(cd)
        w.write(i0, codes)
    w.close()
    # clipping labels
    for c in chans:
        if not clip_runs[c]:
            continue
        st = np.concatenate([r[0] for r in clip_runs[c]])
        en = np.concatenate([r[1] for r in clip_runs[c]])
        mg = int(0.3 * fs)
        keep = (st[1:] - en[:-1]) > mg
        st = np.concatenate((st[:1], st[1:][keep]))
        en = np.concatenate((en[:-1][keep], en[-1:]))
        for s0, e0 in zip(st, en):
            b.art('clipping', c, s0 / fs, e0 / fs)


# ----------------------------------------------------------------------------- one recording
def make_recording(out, name, scenario, seed, dur, channels, sensor, units, gain, fs,
                   mains_hz, prof):
    b = Rec(name, scenario, seed, dur, channels, sensor, units, gain, fs, mains_hz, dict(prof))
    rng = b.rng
    b.h2, b.h3, b.h5 = U(rng, 0.0, 0.15), U(rng, 0.05, 0.5), U(rng, 0.0, 0.25)
    b.h_rms = math.sqrt(1 + b.h2 ** 2 + b.h3 ** 2 + b.h5 ** 2)
    SCEN[scenario](b)
    generic_artifacts(b)
    ctl, beats = finalize_control(b)
    for c in channels:
        if b.p[c]['ecg'] and abs(b.p[c]['ecg']) > 2 * b.p[c]['noise']:
            b.art('ecg', c, 0.0, b.dur)
        else:
            b.p[c]['ecg'] = 0.0
    csv_name = name + '.csv'
    truth_name = name + '.truth.json'
    synthesize(b, ctl, beats, os.path.join(out, csv_name))
    eps = sorted(b.episodes, key=lambda e: (e['start'], e['channel']))
    arts = sorted(b.artifacts, key=lambda e: (e['start'], e['channel']))
    truth = {"version": 1, "scenario": scenario, "seed": int(seed), "fs": float(fs),
             "duration_s": float(b.dur), "channels": channels, "sensor": sensor,
             "gain": float(round(gain, 4)), "mains_hz": float(mains_hz),
             "episodes": eps, "artifacts": arts}
    with open(os.path.join(out, truth_name), 'w') as f:
        json.dump(truth, f, indent=1)
    return dict(name=name, file=csv_name, truth=truth_name, format='csv', scenario=scenario,
                context={'night': 'sleep', 'exercise': 'exercise'}.get(scenario, 'auto'),
                fs=float(fs), duration_s=float(b.dur), channels=channels, sensor=sensor,
                units=units, gain=float(round(gain, 4)), mains_hz=float(mains_hz), seed=int(seed))


# ----------------------------------------------------------------------------- suite
PLAN = [
    # name, scenario, duration range (h), channels, sensor, units, gain class, profile
    ('night01_plm_left', 'night', (1.3, 1.7), ['tib_ant_l', 'gastroc_l'], 'raw', 'counts', 'normal',
     dict(plm='left', plm_series_h=2.5)),
    ('night02_plm_bilateral', 'night', (1.5, 2.0), ['tib_ant_l', 'tib_ant_r'], 'raw', 'mV', 'normal',
     dict(plm='both', plm_series_h=3.0, plm_iso_h=1.5)),
    ('night03_sci_spasms', 'night', (1.0, 1.4), ['tib_ant_r', 'quad_r', 'hamstring_r'], 'raw',
     'counts', 'high', dict(spasm_h=5.0, plm='right', plm_series_h=1.5, clonus_p=0.4)),
    ('night04_calf_cramp', 'night', (1.0, 1.2), ['gastroc_r', 'tib_ant_r'], 'envelope', 'counts',
     'normal', dict(cramp_n=2, plm='right', plm_series_h=0.8, plm_iso_h=2.0)),
    ('exercise01_upper', 'exercise', (0.5, 0.5), ['biceps_r', 'triceps_r'], 'raw', 'mV', 'normal',
     dict(ex='upper', cramp=1)),
    ('exercise02_legs', 'exercise', (0.5, 0.5), ['quad_l', 'hamstring_l', 'gastroc_l'], 'raw',
     'counts', 'normal', dict(ex='legs', cramp=2)),
    ('exercise03_rehab', 'exercise', (0.5, 0.5), ['gastroc_r', 'tib_ant_r'], 'envelope', 'counts',
     'normal', dict(ex='rehab', clonus=True, spasm=True)),
    ('daily01_office', 'daily', (0.5, 0.5), ['forearm_flex_r', 'trapezius_r'], 'raw', 'counts',
     'low', dict(day='office')),
    ('daily02_ms', 'daily', (0.5, 0.5), ['quad_l', 'gastroc_l', 'tib_ant_l'], 'raw', 'mV', 'normal',
     dict(day='ms', day_invol=3)),
    ('daily03_calf', 'daily', (0.5, 0.5), ['gastroc_r'], 'envelope', 'counts', 'high',
     dict(day='older')),
    ('daily04_back', 'daily', (0.5, 0.5), ['erector_l', 'erector_r'], 'raw', 'counts', 'normal',
     dict(day='back')),
    ('mixed01_bilateral', 'mixed', (0.5, 0.5), ['tib_ant_l', 'tib_ant_r'], 'raw', 'counts', 'normal',
     dict(day='plain', plm='both')),
    ('mixed02_ms', 'mixed', (0.5, 0.5), ['tib_ant_r', 'gastroc_r'], 'raw', 'counts', 'normal',
     dict(day='ms', plm='right', day_invol=2)),
    ('mixed03_cramp', 'mixed', (0.5, 0.5), ['quad_l', 'tib_ant_l'], 'envelope', 'counts', 'normal',
     dict(day='older', plm='left')),
]
FS_CHOICES = {'counts': [500, 600, 1000, 1200, 2000], 'mV': [2000, 3000, 4000],
              'envelope': [500, 600, 1000, 1200]}


def draw_setup(rng, units, sensor, gclass, used=None):
    """Sampling rate (preferring rates not yet used in the suite), gain, mains frequency."""
    opts = FS_CHOICES['envelope' if sensor == 'envelope' else units]
    if used is not None and any(f not in used for f in opts):
        opts = [f for f in opts if f not in used]
    fs = float(opts[int(rng.integers(len(opts)))])
    if used is not None:
        used.add(fs)
    if gclass == 'high':
        gain = U(rng, 6.0, 10.0) if sensor == 'raw' else U(rng, 2.5, 4.5)
    elif gclass == 'low':
        gain = U(rng, 0.1, 0.15)
    else:
        gain = math.exp(U(rng, math.log(0.4), math.log(3.0)))
    mains = 50.0 if rng.random() < 0.5 else 60.0
    return fs, gain, mains


def run_suite(out, seed0, only=None):
    os.makedirs(out, exist_ok=True)
    recs = []
    used = set()
    t_all = time.time()
    for k, (name, scen, (h0, h1), chans, sensor, units, gclass, prof) in enumerate(PLAN):
        seed = seed0 + k
        rng = np.random.default_rng([seed, 0])
        dur = round(U(rng, h0, h1) * 3600.0 / 60.0) * 60.0
        fs, gain, mains = draw_setup(rng, units, sensor, gclass, used)
        if only and name not in only:
            continue
        t0 = time.time()
        r = make_recording(out, name, scen, seed, dur, chans, sensor, units, gain, fs, mains, prof)
        recs.append(r)
        print('%-24s %-8s %5.0f s fs=%5.0f gain=%5.2f %-8s %-6s %5.1f s' %
              (name, scen, dur, fs, gain, sensor, units, time.time() - t0), flush=True)
    suite = {"version": 1, "generator": "fifthsim", "seed0": int(seed0),
             "total_hours": round(sum(r['duration_s'] for r in recs) / 3600.0, 3),
             "recordings": recs}
    with open(os.path.join(out, 'suite.json'), 'w') as f:
        json.dump(suite, f, indent=1)
    print('total %.2f h in %.1f s' % (suite['total_hours'], time.time() - t_all))
    return suite


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('suite', help='write the fixed suite (~14 recordings, ~10 h)')
    s.add_argument('--out', required=True)
    s.add_argument('--seed0', type=int, default=5000)
    s.add_argument('--only', nargs='*', help='generate only these recording names')
    o = sub.add_parser('one', help='write one recording')
    o.add_argument('--scenario', choices=sorted(SCEN), required=True)
    o.add_argument('--seed', type=int, default=0)
    o.add_argument('--out', required=True)
    o.add_argument('--duration', type=float, default=None)
    o.add_argument('--name', default=None)
    a = ap.parse_args(argv)
    if a.cmd == 'suite':
        run_suite(a.out, a.seed0, a.only)
    else:
        rng = np.random.default_rng([a.seed, 0])
        cands = [p for p in PLAN if p[1] == a.scenario]
        name, scen, (h0, h1), chans, sensor, units, gclass, prof = cands[a.seed % len(cands)]
        dur = a.duration or round(U(rng, h0, h1) * 60.0) * 60.0
        fs, gain, mains = draw_setup(rng, units, sensor, gclass)
        os.makedirs(a.out, exist_ok=True)
        nm = a.name or '%s_s%d' % (a.scenario, a.seed)
        r = make_recording(a.out, nm, scen, a.seed, dur, chans, sensor, units, gain, fs, mains, prof)
        print(json.dumps(r))


if __name__ == '__main__':
    main()
