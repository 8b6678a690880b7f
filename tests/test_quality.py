"""Quality flags: lead-off, clipping, hum, gaps and repaired samples make windows unusable."""

from __future__ import annotations

import numpy as np
from scipy import signal

from emgwatch.block import Block
from emgwatch.features import FeatureExtractor, FeatureFrame, extract_features
from emgwatch.quality import (
    GAP,
    LEAD_OFF,
    MAINS,
    NONFINITE,
    SATURATION,
    UNUSABLE,
    WARMUP,
    QualityEvent,
    QualityEventTracker,
    RawQualityMonitor,
    describe,
    feeds_detection,
    is_usable,
)

FS = 1000.0


def adc_emg(duration_s: float, seed: int = 0, level: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sos = signal.butter(4, (30, 180), "bandpass", fs=FS, output="sos")
    x = signal.sosfilt(sos, rng.normal(size=int(duration_s * FS)))
    return np.round(512 + level * x / x.std())


def flags_between(F: FeatureFrame, a: float, b: float) -> np.ndarray:
    return F.quality[(F.t > a) & (F.t < b), 0]


def test_flat_line_is_flagged_lead_off_and_unusable():
    x = adc_emg(20.0)
    x[12000:16000] = x[12000]  # electrode off: the ADC holds one value
    F = extract_features(x, FS)
    assert (flags_between(F, 12.6, 15.9) & LEAD_OFF).all()
    assert not (flags_between(F, 5.0, 11.9) & LEAD_OFF).any()
    assert not is_usable(flags_between(F, 12.6, 15.9)).any()
    assert not (flags_between(F, 17.0, 19.9) & LEAD_OFF).any()


def test_railing_at_the_adc_limit_is_lead_off():
    x = adc_emg(20.0)
    x[12000:16000] = 1023
    F = extract_features(x, FS)
    assert (flags_between(F, 12.6, 15.9) & LEAD_OFF).all()


def test_clipping_plateaus_are_flagged_saturation():
    x = adc_emg(20.0, level=4.0)
    burst = adc_emg(20.0, seed=1, level=300.0) - 512
    x[12000:14000] = np.clip(512 + burst[12000:14000], 0, 700)  # clips at 700 counts
    F = extract_features(x, FS)
    sat = flags_between(F, 12.1, 13.9) & SATURATION
    assert sat.mean() > 0.8
    assert not (flags_between(F, 3.0, 11.9) & SATURATION).any()


def test_at_a_sleep_study_rate_clipping_is_flagged_and_an_abrupt_burst_is_not():
    # at 200 Hz every native sample stands 2-3 times in the analysis stream: repeats of one
    # sample are not repeated hits of a rail (before: 23 of 30 such recordings had a burst's
    # first hops flagged clipped)
    fs = 200.0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        sos = signal.butter(4, (30, 85), "bandpass", fs=fs, output="sos")
        x = signal.sosfilt(sos, rng.normal(size=int(30 * fs)))
        x = 4.0 * x / x.std()
        t = np.arange(len(x)) / fs
        amp = 1 + 30 * ((t > 10) & (t < 12)) + 60 * ((t > 20) & (t < 21))  # sudden bursts
        clean = np.round(512 + x * amp)
        F = extract_features(clean, fs)
        assert not (F.quality[:, 0] & SATURATION).any()
        clipped = np.clip(np.round(512 + x * (1 + 200 * ((t > 25) & (t < 28)))), 0, 1023)
        F = extract_features(clipped, fs)
        assert (flags_between(F, 25.2, 27.9) & SATURATION).mean() > 0.8
        assert not (flags_between(F, 3.0, 24.9) & SATURATION).any()


def test_clipped_windows_still_feed_detection_but_a_failed_electrode_does_not():
    """A spasm that rails the ADC is a strong spasm, not a broken sensor: its windows may raise
    an alarm. Lead-off, hum, gaps, repaired samples and warm-up may not."""
    assert feeds_detection(np.array([0, SATURATION])).all()
    for bit in (LEAD_OFF, MAINS, GAP, NONFINITE, WARMUP, LEAD_OFF | SATURATION):
        assert not feeds_detection(np.array([bit], dtype=np.uint8)).any(), describe(bit)
    assert not is_usable(np.array([SATURATION])).any()  # still not a clean measurement


def test_a_clipped_contraction_stays_one_active_period():
    """Clipped windows count as activity: before, each clipped stretch was "quiet", so one
    contraction at too high a gain became a string of short bursts (a clonus look-alike)."""
    x = adc_emg(30.0).astype(float)
    rng = np.random.default_rng(5)
    burst = slice(15_000, 21_000)  # 6 s, far beyond the ADC's range: clipped most of the time
    x[burst] += 3000 * rng.standard_normal(6000)
    x = np.clip(x, 0, 1023)
    F = extract_features(x, FS)
    inside = (F.t > 15.5) & (F.t < 20.9)
    assert (F.quality[inside, 0] & SATURATION).mean() > 0.5
    assert F.feature("active")[inside, 0].min() == 1
    assert F.feature("bursts_60s")[(F.t > 20.0) & (F.t < 20.9), 0].max() <= 1
    assert feeds_detection(F.quality[inside, 0]).mean() > 0.9


def test_excessive_hum_is_flagged_mains():
    x = adc_emg(20.0).astype(float)
    t = np.arange(len(x)) / FS
    hum = (t > 10) & (t < 15)
    x = x + np.where(hum, 600 * np.sin(2 * np.pi * 50 * t), 0.0)  # a floating electrode
    F = extract_features(x, FS)
    assert (flags_between(F, 10.5, 14.9) & MAINS).mean() > 0.9
    assert not (flags_between(F, 3.0, 9.9) & MAINS).any()
    assert F.feature("mains_db")[(F.t > 11) & (F.t < 14), 0].min() > 30


def test_nan_samples_mark_their_windows_and_features_stay_finite():
    x = adc_emg(12.0).astype(float)
    x[8000:8100] = np.nan
    F = extract_features(x, FS)
    assert (flags_between(F, 8.0, 8.1) & NONFINITE).all()
    assert not (flags_between(F, 3.0, 7.9) & NONFINITE).any()
    assert np.isfinite(F.feature("env_db_1")[F.t > 3, 0]).all()


def test_gap_before_a_block_marks_the_settling_windows():
    x = adc_emg(20.0)[:, None]
    fx = FeatureExtractor(FS, 1)
    frames = [fx.push(Block(0.0, FS, x[:10000])), fx.push(Block(12.0, FS, x[10000:], True))]
    F = FeatureFrame.concat([*frames, fx.flush()], 1)
    assert (flags_between(F, 12.0, 12.45) & GAP).all()
    assert not (flags_between(F, 12.6, 19.9) & GAP).any()
    assert not (flags_between(F, 3.0, 9.9) & GAP).any()
    assert F.t.min() < 10.0 and (F.t[F.t > 10.0] >= 12.0).all()


def test_warmup_is_degraded_not_unusable():
    assert not WARMUP & UNUSABLE
    assert describe(LEAD_OFF | WARMUP) == ["lead_off", "warmup"]


def test_event_tracker_reports_changes_only():
    tr = QualityEventTracker(["calf"])
    q = np.array([[0], [LEAD_OFF], [LEAD_OFF], [LEAD_OFF | SATURATION], [0]])
    ev = tr.update(np.array([0.0, 0.05, 0.1, 0.15, 0.2]), q)
    assert ev == [
        QualityEvent(0.05, "calf", "lead_off", True),
        QualityEvent(0.15, "calf", "saturation", True),
        QualityEvent(0.2, "calf", "lead_off", False),
        QualityEvent(0.2, "calf", "saturation", False),
    ]
    assert tr.update(np.array([0.25]), np.array([[0]])) == []


def test_event_tracker_state_carries_across_updates_and_ignores_warmup():
    tr = QualityEventTracker(["a", "b"], min_windows=2)
    assert tr.update(np.array([0.0]), np.array([[WARMUP, MAINS]])) == []
    ev = tr.update(np.array([0.05, 0.1]), np.array([[0, MAINS], [0, 0]]))
    assert ev == [QualityEvent(0.05, "b", "mains", True)]


def test_raw_monitor_needs_a_long_enough_flat_run():
    mon = RawQualityMonitor(1, np.array([1.0]), flat_hops=4)
    raw = np.full((1, 6, 25), 500.0)
    flags = mon.flags(raw)[0]
    np.testing.assert_array_equal(flags & LEAD_OFF, [0, 0, 0, 1, 1, 1])


def test_a_push_without_any_clean_second_keeps_the_baseline():
    x = adc_emg(30.0)
    x[10000:25000] = x[10000]  # 15 s lead-off, longer than several 1 s blocks
    F = extract_features(x, FS, chunk_s=1.0)
    whole = extract_features(x, FS, chunk_s=1e9)
    np.testing.assert_allclose(F.X, whole.X, rtol=1e-5, atol=1e-6, equal_nan=True)
    env = F.feature("env_db_1")[(F.t > 27) & (F.t < 29.9), 0]
    assert np.abs(np.median(env)) < 2  # back at rest level against the old floor


def test_time_affected_adds_up_each_condition_and_closes_open_ones_at_the_end():
    from emgwatch.quality import QualityEvent, time_affected

    ev = [
        QualityEvent(10.0, "calf", "lead_off", True),
        QualityEvent(25.0, "calf", "lead_off", False),
        QualityEvent(40.0, "calf", "lead_off", True),
        QualityEvent(45.0, "calf", "lead_off", False),
        QualityEvent(50.0, "shin", "saturation", True),  # still clipping when the recording ends
        QualityEvent(5.0, "shin", "gap", False),  # an end without a start counts nothing
    ]
    got = time_affected(ev, duration_s=100.0)
    assert got == {("calf", "lead_off"): (20.0, 10.0), ("shin", "saturation"): (50.0, 50.0)}
