"""Statistical checks of the generator against the physiology it claims (these can fail)."""

from collections import defaultdict

import numpy as np
import pytest
from scipy import signal as sps

from emgwatch.domain import (
    CLONUS_BAND_HZ,
    PLM_MAX_DURATION_S,
    PLM_MAX_INTERVAL_S,
    PLM_MIN_DURATION_S,
    PLM_MIN_INTERVAL_S,
    PLM_MIN_SERIES,
)
from emgwatch.synth import simulate
from emgwatch.synth.signal import draw_channel

CLEAN = dict(
    adc=False,
    mains_hz=0,
    ecg=False,
    wander=False,
    motion_artifacts=False,
    pops=False,
    lead_off=False,
)


@pytest.fixture(scope="module")
def mixed_truths():
    """Truth of several dense recordings (planning only is cheap, but simulate covers it all)."""
    from emgwatch.synth import stream

    return [stream("mixed", 3600, 1000, seed).truth for seed in range(6)]


def test_carrier_spectrum_peaks_between_60_and_120_hz_at_every_rate():
    rng = np.random.default_rng(1)
    for fs in (500.0, 1000.0, 2000.0, 4000.0):
        for _ in range(50):
            sos, _ = draw_channel(rng).carrier_sos(fs)
            f, h = sps.sosfreqz(sos, worN=8192, fs=fs)
            p = np.abs(h) ** 2
            assert 60 <= f[np.argmax(p)] <= 120
            c = np.cumsum(p)
            assert 55 <= f[np.searchsorted(c, c[-1] / 2)] <= 170  # median frequency


def test_generated_carrier_is_unit_variance_with_its_designed_peak():
    rng = np.random.default_rng(2)
    for fs in (500.0, 4000.0):
        m = draw_channel(rng)
        sos, _ = m.carrier_sos(fs)
        x = sps.sosfilt(sos, rng.standard_normal(int(120 * fs)))
        assert np.var(x) == pytest.approx(1.0, rel=0.15)
        f, p = sps.welch(x, fs, nperseg=int(fs / 2))
        p = np.convolve(p, np.ones(7) / 7, mode="same")
        assert 50 <= f[np.argmax(p)] <= 135


def test_contraction_spectrum_is_band_limited_not_white():
    rec, truth = simulate("exercise", 600, 2000, 4, cramp_per_h=6, **CLEAN)
    eps = [e for e in truth.episodes if e.kind in ("voluntary", "cramp") and e.duration_s > 3]
    assert eps
    e = max(eps, key=lambda e: e.intensity)
    x = rec.data[int(e.start * 2000) : int(e.end * 2000), 0]
    f, p = sps.welch(x - x.mean(), 2000, nperseg=1024)
    band = p[(f >= 20) & (f <= 450)].sum() / p.sum()
    assert band > 0.9
    assert 35 <= f[np.argmax(np.convolve(p, np.ones(5) / 5, mode="same"))] <= 130
    assert p[(f > 600)].mean() < 0.01 * p.max()


def test_episode_durations_follow_their_kind(mixed_truths):
    d = defaultdict(list)
    for t in mixed_truths:
        for e in t.episodes:
            d[e.kind].append(e.duration_s)
    for kind in ("spasm", "cramp", "clonus", "plm", "voluntary", "turnover", "posture", "twitch"):
        assert len(d[kind]) >= 5, kind
    assert min(d["plm"]) >= PLM_MIN_DURATION_S and max(d["plm"]) <= PLM_MAX_DURATION_S
    assert max(d["twitch"]) < 0.5
    assert min(d["cramp"]) >= 8.0 and np.median(d["cramp"]) > 20
    assert min(d["spasm"]) >= 0.5 and np.median(d["spasm"]) < np.median(d["cramp"])
    assert 1.0 <= np.median(d["clonus"]) <= 20
    # wide distributions, not one fixed value
    for kind in ("spasm", "cramp", "clonus", "plm"):
        assert np.percentile(d[kind], 90) / np.percentile(d[kind], 10) > 1.8, kind


def test_plm_series_have_at_least_four_movements_10_to_90_s_apart(mixed_truths):
    n_series = 0
    for t in mixed_truths:
        series = defaultdict(list)
        for e in t.episodes:
            if e.kind == "plm" and e.extra.get("series") is not None:
                series[(e.channel, e.extra["series"])].append(e.start)
        for onsets in series.values():
            n_series += 1
            assert len(onsets) >= PLM_MIN_SERIES
            gaps = np.diff(sorted(onsets))
            assert gaps.min() >= PLM_MIN_INTERVAL_S and gaps.max() <= PLM_MAX_INTERVAL_S
    assert n_series >= 6


def test_some_plm_are_isolated_movements(mixed_truths):
    isolated = [
        e for t in mixed_truths for e in t.episodes if e.kind == "plm" and "series" not in e.extra
    ]
    assert len(isolated) >= 5


def test_clonus_is_periodic_at_its_stated_rate():
    fs = 1000.0
    rec, truth = simulate("mixed", 1800, fs, 11, clonus_per_h=30, **CLEAN)
    clonus = [e for e in truth.episodes if e.kind == "clonus" and e.duration_s >= 3]
    assert len(clonus) >= 5
    ok = 0
    for e in clonus:
        x = rec.data[int(e.start * fs) : int(e.end * fs), 0]
        env = sps.sosfiltfilt(sps.butter(2, 25, fs=fs, output="sos"), np.abs(x - x.mean()))
        env = env[:: int(fs / 100)]  # 100 Hz
        env = env - env.mean()
        ac = np.correlate(env, env, "full")[len(env) - 1 :]
        ac /= ac[0]
        lags = np.arange(len(ac)) / 100.0
        lo, hi = 1 / CLONUS_BAND_HZ[1] * 0.8, 1 / CLONUS_BAND_HZ[0] * 1.2
        sel = (lags >= lo) & (lags <= hi)
        # first autocorrelation maximum inside the clonus lag range
        peaks, _ = sps.find_peaks(ac)
        k = peaks[sel[peaks]][0]
        ok += ac[k] > 0.2 and abs(1 / lags[k] - e.extra["rate_hz"]) <= 0.2 * e.extra["rate_hz"]
    # weak clonus drowned in a noisy floor may not show; most must
    assert ok >= 0.8 * len(clonus), (ok, len(clonus))


def test_recordings_differ_in_level_gain_and_noise_between_seeds():
    rest, active = [], []
    for seed in range(10):
        rec, truth = simulate("exercise", 300, 1000, seed, adc=False)
        x = rec.data[:, 0]
        rest.append(np.std(x[: int(2 * 1000)]))
        active.append(np.percentile(np.abs(x - np.median(x)), 99.9))
    assert max(rest) / min(rest) > 5
    assert max(active) / min(active) > 5


def test_envelope_sensor_has_no_content_above_about_10_hz():
    rec, _ = simulate("mixed", 300, 1000, 2, sensor="envelope", **CLEAN)
    x = rec.data[:, 0]
    assert x.min() >= 0
    f, p = sps.welch(x - x.mean(), 1000, nperseg=4096)
    assert p[f > 40].sum() < 0.02 * p.sum()


def test_labelled_alarm_episodes_stand_out_from_the_noise_floor():
    """An episode nobody could see would be an unfair label for training and scoring."""
    ratios = defaultdict(list)
    for seed in range(4):
        rec, truth = simulate("mixed", 1200, 1000, seed, **CLEAN)
        x = rec.data[:, 0] - rec.data[:, 0].mean()
        rms = np.sqrt((x[: len(x) // 100 * 100].reshape(-1, 100) ** 2).mean(axis=1))  # 100 ms
        busy = np.zeros(len(rms), bool)
        for e in truth.episodes:
            busy[max(0, int(e.start * 10) - 10) : int(e.end * 10) + 10] = True
        floor = np.median(rms[~busy])
        for e in truth.episodes:
            ratios[e.kind].append(rms[int(e.start * 10) : int(e.end * 10) + 1].max() / floor)
    for kind in ("spasm", "cramp", "clonus", "plm"):
        assert min(ratios[kind]) > 1.8, kind
        assert np.percentile(ratios[kind], 10) > 2.5, kind
