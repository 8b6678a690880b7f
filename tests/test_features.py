"""Feature extractor: chunk-, gain- and rate-invariance, and the features mean what they say."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import signal

from emgwatch.block import Block
from emgwatch.errors import UsageError
from emgwatch.features import (
    FEATURE_NAMES,
    FeatureConfig,
    FeatureExtractor,
    FeatureFrame,
    extract_features,
)
from emgwatch.quality import GAP, LEAD_OFF, NONFINITE, SATURATION, WARMUP


def emg_like(
    duration_s: float, fs: float, *, seed: int = 0, bursts=((4.0, 6.0, 8.0),)
) -> np.ndarray:
    """Band-limited noise (30-180 Hz) at rest level 1 with bursts (start, end, amplitude)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs))
    sos = signal.butter(4, (30.0, min(180.0, 0.45 * fs)), "bandpass", fs=fs, output="sos")
    x = signal.sosfiltfilt(sos, rng.normal(size=n))
    x /= x.std()
    t = np.arange(n) / fs
    amp = np.ones(n)
    for a, b, level in bursts:
        amp[(t >= a) & (t < b)] = level
    return x * amp


def run_chunked(x: np.ndarray, fs: float, cuts: list[int], **kw) -> FeatureFrame:
    fx = FeatureExtractor(fs, 1 if x.ndim == 1 else x.shape[1], **kw)
    x2 = x[:, None] if x.ndim == 1 else x
    edges = [0, *sorted(set(c for c in cuts if 0 < c < len(x2))), len(x2)]
    frames = [
        fx.push(Block(a / fs, fs, x2[a:b])) for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    frames.append(fx.flush())
    return FeatureFrame.concat(frames, x2.shape[1])


def assert_same_frames(a: FeatureFrame, b: FeatureFrame) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.quality, b.quality)
    np.testing.assert_allclose(a.X, b.X, rtol=1e-5, atol=1e-6, equal_nan=True)


_SIGNAL = 512 + 3 * emg_like(14.0, 1000.0, seed=1, bursts=((4.0, 6.5, 9.0), (9.0, 9.6, 20.0)))
_REFERENCE = extract_features(_SIGNAL, 1000.0, chunk_s=1e9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(_SIGNAL) - 1), min_size=1, max_size=40))
def test_chunking_does_not_change_features(cuts):
    assert_same_frames(run_chunked(_SIGNAL, 1000.0, cuts), _REFERENCE)


def _messy_signal() -> np.ndarray:
    """Two channels of ADC counts at 1500 Hz with bursts, NaNs, a lead-off and clipping."""
    fs = 1500.0
    a = 512 + 4 * emg_like(16.0, fs, seed=11, bursts=((4.0, 6.0, 12.0), (11.0, 11.5, 30.0)))
    b = 512 + 6 * emg_like(16.0, fs, seed=12, bursts=((5.0, 9.0, 10.0),))
    x = np.round(np.stack([a, b], axis=1))
    x[int(7.0 * fs) : int(8.5 * fs), 0] = x[int(7.0 * fs), 0]  # lead-off, flat
    x[:, 1] = np.clip(x[:, 1], 0, 580)  # clipping in the burst
    x[int(9.3 * fs) : int(9.3 * fs) + 40, 1] = np.nan
    return x


_MESSY = _messy_signal()
_MESSY_REF = extract_features(_MESSY, 1500.0, chunk_s=1e9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(_MESSY) - 1), min_size=1, max_size=60))
def test_chunking_does_not_change_features_of_messy_multichannel_input(cuts):
    assert_same_frames(run_chunked(_MESSY, 1500.0, cuts), _MESSY_REF)


def _envelope_signal() -> np.ndarray:
    """Two envelope channels in ADC counts at 1000 Hz: offsets, bursts, a drifting rest."""
    fs = 1000.0
    sos = signal.butter(2, 5.0, fs=fs, output="sos")
    a = emg_like(16.0, fs, seed=21, bursts=((4.0, 6.0, 12.0), (11.0, 11.5, 30.0)))
    b = emg_like(16.0, fs, seed=22, bursts=((5.0, 9.0, 8.0),))
    drift = 1 + 0.05 * np.sin(2 * np.pi * np.arange(len(a)) / fs / 7)
    env = np.stack(
        [12 + 3 * signal.sosfilt(sos, np.abs(a)) * drift, 30 + signal.sosfilt(sos, np.abs(b))],
        axis=1,
    )
    return np.round(env)


_ENVELOPE = _envelope_signal()
_ENVELOPE_REF = extract_features(_ENVELOPE, 1000.0, chunk_s=1e9, sensor="envelope")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(_ENVELOPE) - 1), min_size=1, max_size=40))
def test_chunking_does_not_change_features_of_an_envelope_sensor(cuts):
    """The resting level subtracted from an envelope is carried across blocks like the floor."""
    assert_same_frames(run_chunked(_ENVELOPE, 1000.0, cuts, sensor="envelope"), _ENVELOPE_REF)


def run_with_gap(x: np.ndarray, fs: float, gap_at: int, gap_s: float, cuts: list[int]):
    """Blocks cut at ``cuts`` plus ``gap_at``, where ``gap_s`` seconds of samples were lost."""
    fx = FeatureExtractor(fs, x.shape[1])
    edges = sorted({0, gap_at, len(x), *(c for c in cuts if 0 < c < len(x))})
    frames = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        late = a >= gap_at
        t0 = a / fs + (gap_s if late else 0.0)
        frames.append(fx.push(Block(t0, fs, x[a:b], gap_before=(a == gap_at))))
    frames.append(fx.flush())
    return FeatureFrame.concat(frames, x.shape[1])


_GAP_AT = int(9.77 * 1500)  # not on a hop boundary
_GAP_REF = run_with_gap(_MESSY, 1500.0, _GAP_AT, 3.0, [])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(_MESSY) - 1), max_size=40))
def test_chunking_does_not_change_features_across_a_gap(cuts):
    assert_same_frames(run_with_gap(_MESSY, 1500.0, _GAP_AT, 3.0, cuts), _GAP_REF)


def test_gap_shifts_later_windows_by_the_lost_time():
    t = _GAP_REF.t
    assert (np.diff(t) > 0).all()
    assert t[t < 9.77].size and t[t > 9.77].min() > 12.77
    assert (_GAP_REF.quality[(t > 12.77) & (t < 13.2)] & GAP).all()


def test_messy_signal_exercises_every_quality_path():
    flags = np.bitwise_or.reduce(_MESSY_REF.quality, axis=0)
    assert flags[0] & LEAD_OFF
    assert flags[1] & SATURATION and flags[1] & NONFINITE


def test_tiny_live_chunks_give_the_same_features_as_one_block():
    cuts = list(range(50, len(_SIGNAL), 50))  # 50 ms live blocks
    assert_same_frames(run_chunked(_SIGNAL, 1000.0, cuts), _REFERENCE)


@pytest.mark.parametrize("fs", [256.0, 800.0, 1500.0])
def test_chunking_invariance_holds_for_non_integer_rate_ratios(fs):
    x = emg_like(6.0, fs, seed=2, bursts=((3.0, 4.0, 6.0),))
    whole = extract_features(x, fs, chunk_s=1e9)
    rng = np.random.default_rng(3)
    cuts = list(rng.integers(1, len(x) - 1, size=30))
    assert_same_frames(run_chunked(x, fs, cuts), whole)


def test_hop_is_50_ms_and_times_are_window_ends():
    F = _REFERENCE
    assert F.names == FEATURE_NAMES
    assert np.allclose(np.diff(F.t), 0.05)
    assert F.t[-1] <= len(_SIGNAL) / 1000.0
    assert F.X.shape == (len(F.t), 1, len(FEATURE_NAMES))


@pytest.mark.parametrize("gain", [0.1, 10.0])
def test_gain_does_not_change_features(gain):
    x = emg_like(14.0, 1000.0, seed=4, bursts=((5.0, 8.0, 10.0),))
    a = extract_features(x, 1000.0, sensor="raw")
    b = extract_features(gain * x, 1000.0, sensor="raw")
    np.testing.assert_allclose(a.X, b.X, rtol=1e-4, atol=1e-3, equal_nan=True)


def test_quantised_adc_counts_at_1x_and_10x_gain_give_close_levels():
    s = emg_like(14.0, 1000.0, seed=5, bursts=((5.0, 8.0, 10.0),))
    lo = extract_features(np.round(512 + 3 * s), 1000.0, sensor="raw")
    hi = extract_features(np.round(512 + 30 * s), 1000.0, sensor="raw")
    i = lo.feature("env_db_1")[:, 0]
    j = hi.feature("env_db_1")[:, 0]
    ok = np.isfinite(i) & np.isfinite(j)
    assert np.median(np.abs(i[ok] - j[ok])) < 0.5


def test_quantised_signal_below_one_lsb_gives_finite_levels():
    s = emg_like(14.0, 1000.0, seed=5, bursts=((5.0, 8.0, 40.0),))
    F = extract_features(np.round(512 + 0.2 * s), 1000.0, sensor="raw")
    env = F.feature("env_db_0p1")[:, 0]
    late = F.t > 3
    assert np.isfinite(env[late]).all()
    assert env[(F.t > 5.5) & (F.t < 7.5)].min() > 9  # the burst still stands out


def test_sampling_rate_does_not_change_features():
    fs_hi = 4000.0
    x = emg_like(20.0, fs_hi, seed=6, bursts=((8.0, 12.0, 10.0),))
    frames = {}
    for fs in (500.0, 1000.0, 2000.0, 4000.0):
        frames[fs] = extract_features(x[:: int(fs_hi / fs)], fs, sensor="raw", mains_hz=50.0)
    ref = frames[1000.0]
    n = min(len(f) for f in frames.values())
    sel = slice(int(4 / 0.05), n)  # after warm-up
    for fs, F in frames.items():
        for name, tol in [
            ("env_db_1", 0.1),
            ("env_db_0p1", 0.1),
            ("rms_db", 0.1),
            ("zc_hz", 12.0),  # counts of a 0.25 s window: 4 Hz per crossing
            ("ssc_hz", 12.0),
            ("mnf_hz", 1.0),
            ("mdf_hz", 1.0),
            ("wl_ratio", 0.05),
        ]:
            a = F.feature(name)[sel, 0]
            b = ref.feature(name)[sel, 0]
            assert np.nanmedian(np.abs(a - b)) < tol, (fs, name)
        np.testing.assert_array_equal(
            F.feature("active")[sel, 0][::10], ref.feature("active")[sel, 0][::10]
        )


def test_rest_level_is_near_zero_db_and_bursts_stand_out():
    F = _REFERENCE
    env = F.feature("env_db_1")[:, 0]
    rest = (F.t > 2.5) & (F.t < 3.9)
    burst = (F.t > 5.2) & (F.t < 6.4)
    assert abs(np.median(env[rest])) < 2
    assert np.median(env[burst]) > 15


def test_active_period_context_counts_duration_and_pause():
    F = _REFERENCE
    act = F.feature("active")[:, 0]
    dur = F.feature("active_s")[:, 0]
    i = np.flatnonzero((F.t > 6.3) & (F.t < 6.45))[0]
    assert act[i] == 1 and 2.0 < dur[i] < 2.6
    j = np.flatnonzero(F.t > 9.3)[0]  # second burst: pause before it was ~2.5 s
    assert act[j] == 1
    assert 1.8 < F.feature("since_active_s")[j, 0] < 3.0
    assert F.feature("bursts_60s")[j, 0] == 2
    assert F.feature("onset_rise_db")[j, 0] > 10  # abrupt


def test_first_seconds_are_marked_warmup():
    F = _REFERENCE
    assert (F.quality[F.t < 1.0, 0] & WARMUP).all()


def test_baseline_does_not_follow_a_long_contraction_up():
    fs = 500.0
    x = emg_like(200.0, fs, seed=7, bursts=((60.0, 180.0, 10.0),))
    F = extract_features(x, fs, sensor="raw")
    env = F.feature("env_db_1")[:, 0]
    assert np.median(env[(F.t > 170) & (F.t < 179)]) > 17
    assert F.feature("active_s")[np.flatnonzero(F.t > 179)[0], 0] > 115


def test_clonus_bursts_give_rhythm_near_their_rate():
    fs = 1000.0
    x = emg_like(12.0, fs, seed=8, bursts=())
    t = np.arange(len(x)) / fs
    bursts = (np.sin(2 * np.pi * 6.0 * t) > 0.3) & (t > 5)
    F = extract_features(x * np.where(bursts, 10.0, 1.0), fs, sensor="raw")
    late = F.t > 8
    assert np.median(F.feature("rhythm_strength")[late, 0]) > 0.5
    assert abs(np.median(F.feature("rhythm_hz")[late, 0]) - 6.0) < 1.0
    early = (F.t > 2.5) & (F.t < 4.5)
    assert np.median(F.feature("rhythm_strength")[early, 0]) < 0.3


def test_ramped_onset_is_told_from_an_abrupt_one():
    fs = 1000.0
    x = emg_like(30.0, fs, seed=9, bursts=())
    t = np.arange(len(x)) / fs
    amp = np.ones_like(t)
    amp[(t >= 10) & (t < 14)] = 12.0  # abrupt: full level within a sample
    ramp = (t >= 20) & (t < 26)
    amp[ramp] = 1 + 11 * np.clip((t[ramp] - 20) / 2.5, 0, 1)  # 2.5 s ramp, then hold
    F = extract_features(x * amp, fs, sensor="raw")
    at = lambda s: np.flatnonzero(F.t >= s)[0]  # noqa: E731
    abrupt, ramped = at(13.5), at(25.5)
    assert F.feature("time_to_peak_s")[abrupt, 0] < 0.6
    assert F.feature("time_to_peak_s")[ramped, 0] > 1.0
    assert F.feature("onset_rise_db")[abrupt, 0] > F.feature("onset_rise_db")[ramped, 0] + 3
    assert abs(F.feature("prev_active_s")[ramped, 0] - 4.0) < 0.5
    assert F.feature("from_peak_db")[abrupt, 0] <= 0


def test_heartbeats_on_a_resting_muscle_are_not_activity_and_hide_no_spasm():
    # ECG on a trunk or thigh channel: a 40 ms QRS-like spike at 20-30 dB over the rest level
    # once a second. Counted as activity it made the muscle look busy all the time (duty near 1,
    # a burst a second), so that a spasm there read as one more voluntary repetition.
    fs = 1000.0
    x = emg_like(60.0, fs, seed=11, bursts=((45.0, 49.0, 40.0),))
    t = np.arange(len(x)) / fs
    beats = np.arange(20.37, 60.0, 0.83)  # from 20 s: the noise floor is set without them
    for b in beats:
        near = np.abs(t - b) < 0.02
        x[near] += 30.0 * np.sin(2 * np.pi * 25.0 * (t[near] - b))
    F = extract_features(x, fs, sensor="raw")
    env = F.feature("env_db_0p1")[:, 0]
    rest = (F.t > 25) & (F.t < 44.5)
    assert (env[rest] >= FeatureConfig().on_db).mean() > 0.1  # beats reach the "on" level
    assert F.feature("active")[rest, 0].mean() < 0.05
    before = np.flatnonzero(F.t >= 44.9)[0]
    assert F.feature("duty_30s")[before, 0] < 0.05
    assert F.feature("bursts_60s")[before, 0] <= 1
    i = np.flatnonzero(F.t >= 45.5)[0]  # the spasm, 0.5 s in: abrupt, out of rest
    assert F.feature("active")[i, 0] == 1
    assert F.feature("time_to_peak_s")[i, 0] < 0.2
    assert F.feature("since_active_s")[i, 0] > 30
    assert 0.4 <= F.feature("active_s")[i, 0] <= 0.6  # counted from the rise, not confirmation


def test_window_lengths_outside_what_the_extractor_keeps_are_refused():
    with pytest.raises(UsageError, match="window_s"):
        FeatureExtractor(1000.0, 1, config=FeatureConfig(window_s=10.0))
    with pytest.raises(UsageError, match="off_db"):
        FeatureExtractor(1000.0, 1, config=FeatureConfig(on_db=3.0, off_db=6.0))
    with pytest.raises(UsageError, match="on_hold_s"):
        FeatureExtractor(1000.0, 1, config=FeatureConfig(on_hold_s=2.0))


def envelope_output(duration_s: float, fs: float, seed: int = 0) -> np.ndarray:
    """A MyoWare-style envelope pin: rectified EMG smoothed at 5 Hz, sitting just above 0."""
    x = emg_like(duration_s, fs, seed=seed, bursts=((5.0, 8.0, 10.0), (10.0, 11.0, 6.0)))
    sos = signal.butter(2, 5.0, fs=fs, output="sos")
    return 3.0 + 4.0 * signal.sosfilt(sos, np.abs(x))


def test_envelope_sensor_is_detected_and_normalised_without_spectral_features():
    fs = 1000.0
    fx = FeatureExtractor(fs, 1)
    env = envelope_output(14.0, fs)
    frame = fx.push(Block(0.0, fs, env[:, None]))
    assert fx.sensor == "envelope"
    F = FeatureFrame.concat([frame, fx.flush()], 1)
    assert np.isnan(F.feature("mnf_hz")).all() and np.isnan(F.feature("zc_hz")).all()
    # what an envelope has above 20 Hz is its board's smoothing ripple, not the muscle
    assert np.isnan(F.feature("mains_db")).all()
    lvl = F.feature("env_db_1")[:, 0]
    assert np.median(lvl[(F.t > 3) & (F.t < 4.9)]) < 2
    assert np.median(lvl[(F.t > 6.5) & (F.t < 8)]) > 6


@pytest.mark.parametrize("gain", [0.1, 10.0])
def test_gain_does_not_change_envelope_sensor_features(gain):
    env = envelope_output(14.0, 1000.0, seed=3)
    a = extract_features(env, 1000.0, sensor="envelope")
    b = extract_features(gain * env, 1000.0, sensor="envelope")
    np.testing.assert_allclose(a.X, b.X, rtol=1e-4, atol=1e-3, equal_nan=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    fs=st.sampled_from([500.0, 1000.0, 1250.0, 2000.0]),
    gain=st.floats(0.05, 50.0),
    adc=st.booleans(),
    data=st.data(),
)
def test_chunking_does_not_change_features_of_random_signals(seed, fs, gain, adc, data):
    rng = np.random.default_rng(seed)
    bursts = tuple((s, s + rng.uniform(0.2, 3.0), rng.uniform(2, 30)) for s in (3.0, 7.0))
    x = gain * emg_like(10.0, fs, seed=seed, bursts=bursts)
    if adc:
        x = np.clip(np.round(512 + x), 0, 1023)
    cuts = data.draw(st.lists(st.integers(1, len(x) - 1), max_size=30))
    assert_same_frames(run_chunked(x, fs, cuts), extract_features(x, fs, chunk_s=1e9))


def _array_sizes(obj) -> int:
    total = 0
    for v in vars(obj).values():
        if isinstance(v, np.ndarray):
            total += v.size
        elif isinstance(v, dict | list):
            items = v.values() if isinstance(v, dict) else v
            total += sum(a.size for a in items if isinstance(a, np.ndarray))
    return total


def test_streaming_state_stays_bounded():
    fs = 500.0
    fx = FeatureExtractor(fs, 1, sensor="raw", config=FeatureConfig(baseline_s=60.0))
    x = emg_like(40.0, fs, seed=13, bursts=((5, 6, 10), (12, 14, 20), (20, 20.5, 8), (30, 33, 15)))
    sizes = []
    for rep in range(8):  # 320 s of bursts in 1 s blocks
        for i in range(0, len(x), 500):
            fx.push(Block(rep * 40.0 + i / fs, fs, x[i : i + 500, None]))
        sizes.append(_array_sizes(fx) + _array_sizes(fx._cond))
    assert max(sizes[3:]) <= min(sizes[3:]) * 1.05  # flat once the 60 s baseline ring is full


@pytest.mark.parametrize("sensor", ["raw", "envelope"])
def test_each_channel_gets_the_features_it_would_get_alone(sensor):
    """Regression: an envelope path handed the feature stage Fortran-ordered (channels, n)
    arrays, and the strided hop windows then mixed channels and hops in multichannel input."""
    fs = 500.0
    rng = np.random.default_rng(3)
    n = int(20 * fs)
    burst = np.where((np.arange(n) / fs % 5) < 1.5, 30.0, 1.0)
    x = rng.normal(size=(n, 3)) * burst[:, None] * np.array([1.0, 0.3, 2.0])
    if sensor == "envelope":
        x = 10 + np.abs(x)
    together = extract_features(x, fs, sensor=sensor)
    for c in range(3):
        alone = extract_features(np.asfortranarray(x[:, [c]]), fs, sensor=sensor)
        np.testing.assert_allclose(together.X[:, c, :], alone.X[:, 0, :], rtol=1e-9, equal_nan=True)


def test_a_drifting_envelope_rest_level_is_not_activity():
    """The resting output of an envelope board drifts (tone, electrode, temperature); with the
    rest level subtracted, drift of a few per cent must not read as a contraction."""
    fs = 1000.0
    x = emg_like(30.0, fs, seed=5, bursts=())
    sos = signal.butter(2, 5.0, fs=fs, output="sos")
    t = np.arange(len(x)) / fs
    env = (2.0 + signal.sosfilt(sos, np.abs(x))) * (1 + 0.05 * np.sin(2 * np.pi * t / 20))
    F = extract_features(env, fs, sensor="envelope")
    assert np.nanmax(F.feature("env_db_0p1")[F.t > 3]) < 9.0  # FeatureConfig.on_db
    assert np.nanmax(F.feature("active")[F.t > 3]) == 0


def test_an_envelope_burst_stands_well_above_rest_despite_the_boards_offset():
    """Regression: the offset was left in an envelope's power, and a contraction 10x above rest
    read as a few dB (leg movements in bed never opened an episode)."""
    fs = 1000.0
    x = emg_like(14.0, fs, seed=7, bursts=((6.0, 8.0, 10.0),))
    sos = signal.butter(2, 5.0, fs=fs, output="sos")
    env = 4.0 + signal.sosfilt(sos, np.abs(x))  # offset 5x the resting envelope
    F = extract_features(env, fs, sensor="envelope")
    lvl = F.feature("env_db_0p1")[:, 0]
    assert np.median(lvl[(F.t > 3.5) & (F.t < 5.5)]) < 3  # rest stays near its floor
    assert np.median(lvl[(F.t > 6.5) & (F.t < 7.8)]) > 15  # before: ~7 dB
