"""Conditioning: carried filter state, rate conversion, mains and sensor decisions, bad input."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from emgwatch.block import Block
from emgwatch.dsp import (
    ANALYSIS_FS_HZ,
    AnalysisRateConverter,
    Conditioner,
    SosFilter,
    antialias_sos,
    detect_mains,
    detect_sensor,
    narrow_band_note,
    notch_sos,
)
from emgwatch.errors import EmgwatchError, UsageError


def noise(n: int, seed: int = 0, ch: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(ch, n))


def split(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    edges = [0, *sorted({c for c in cuts if 0 < c < x.shape[1]}), x.shape[1]]
    return [x[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 1999), max_size=20))
def test_sos_filter_with_carried_state_is_bit_identical_across_chunkings(cuts):
    x = noise(2000, ch=2)
    sos = np.vstack([antialias_sos(1000.0), notch_sos(50.0)])
    whole = SosFilter(sos)(x)
    f = SosFilter(sos)
    parts = np.concatenate([f(p) for p in split(x, cuts)], axis=1)
    np.testing.assert_array_equal(parts, whole)


def test_sos_filter_matches_scipy_sosfilt():
    x = noise(500, ch=3)
    sos = antialias_sos(2000.0)
    f = SosFilter(sos)
    f.reset(np.zeros(3))
    np.testing.assert_allclose(f(x), signal.sosfilt(sos, x, axis=-1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fs", [200.0, 256.0, 500.0, 1000.0, 1234.5, 4000.0])
@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(1, 2999), max_size=15))
def test_rate_converter_output_does_not_depend_on_chunking(fs, cuts):
    x = noise(3000, seed=1, ch=2)
    whole = AnalysisRateConverter(fs)
    pos_w, y_w, raw_w, _ = whole(x, x, None)
    conv = AnalysisRateConverter(fs)
    outs = [conv(p, p, None) for p in split(x, cuts)]
    np.testing.assert_array_equal(np.concatenate([o[0] for o in outs]), pos_w)
    np.testing.assert_array_equal(np.concatenate([o[1] for o in outs], axis=1), y_w)
    np.testing.assert_array_equal(np.concatenate([o[2] for o in outs], axis=1), raw_w)


@pytest.mark.parametrize("fs", [200.0, 256.0, 500.0, 800.0, 1000.0, 3000.0])
def test_rate_converter_gives_the_analysis_rate(fs):
    conv = AnalysisRateConverter(fs)
    n = int(fs * 4)
    pos, y, _, _ = conv(noise(n), noise(n), None)
    assert abs(y.shape[1] - 4 * ANALYSIS_FS_HZ) <= 2 + 2 * ANALYSIS_FS_HZ / fs  # look-ahead
    np.testing.assert_allclose(np.diff(pos), fs / ANALYSIS_FS_HZ)


def test_cubic_interpolation_reproduces_a_band_limited_sine():
    fs = 1234.5
    t = np.arange(int(fs * 2)) / fs
    x = np.sin(2 * np.pi * 40.0 * t)[None, :]
    pos, y, _, _ = AnalysisRateConverter(fs)(x, x, None)
    np.testing.assert_allclose(y[0], np.sin(2 * np.pi * 40.0 * pos / fs), atol=2e-3)


def _spectrum_db(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f, p = signal.welch(y, fs=ANALYSIS_FS_HZ, nperseg=1000)
    return f, 10 * np.log10(p / p.max())


def test_a_slow_recording_keeps_its_band_and_leaves_no_interpolation_images():
    # polysomnography leg EMG at 256 Hz, interpolated up to the analysis rate: a 70-Hz tone
    # keeps its level (cubic interpolation loses 10 % there), and nothing appears where the
    # recording has nothing (above 128 Hz), which the spectral features would read as muscle
    fs = 256.0
    t = np.arange(int(fs * 20)) / fs
    x = 100 * np.sin(2 * np.pi * 70.0 * t) + 0.01 * noise(len(t), seed=9)[0]
    cond = Conditioner(fs, 1, sensor="raw", mains_hz=50.0)
    out = cond.push(Block(0.0, fs, x[:, None])) + cond.flush()
    y = np.concatenate([o.y for o in out], axis=1)[0, 2000:]
    assert 0.85 < np.sqrt(2) * y.std() / 100 < 1.02
    f, db = _spectrum_db(y)
    assert db[f > 135].max() < -50  # without the second low-pass: -21 dB at 186 Hz
    assert narrow_band_note(fs) is not None and "above 115 Hz" in narrow_band_note(fs)
    assert narrow_band_note(500.0) is None and narrow_band_note(499.0) is None


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_frequency_is_detected_from_the_signal(mains):
    fs = 1000.0
    t = np.arange(2000) / fs
    x = noise(2000)[0] + 3 * np.sin(2 * np.pi * mains * t)
    assert detect_mains(x[None, :], fs) == mains


def test_no_mains_line_gives_zero():
    assert detect_mains(noise(2000), 1000.0) == 0.0


def test_notch_removes_mains_and_harmonics_below_nyquist():
    sos = notch_sos(60.0)
    assert len(sos) == 4  # 60, 120, 180, 240 Hz below 0.49 * 500
    _, h = signal.sosfreqz(sos, worN=[60.0, 120.0, 180.0, 90.0], fs=ANALYSIS_FS_HZ)
    gain_db = 20 * np.log10(np.abs(h))
    assert (gain_db[:3] < -30).all() and gain_db[3] > -0.5


def test_sensor_detection_tells_raw_adc_counts_from_an_envelope_output():
    fs = 1000.0
    raw = np.round(512 + 4 * noise(2000, seed=2))
    env = np.round(20 + np.abs(signal.lfilter([0.02], [1, -0.98], 30 * noise(2000, seed=3))))
    assert detect_sensor(raw, fs) == "raw"
    assert detect_sensor(env, fs) == "envelope"


def test_sensor_detection_reads_12_bit_counts_by_their_own_mid_rail():
    """An ESP32's (or a BITalino file's) 12-bit raw counts sit at 2048: at rest with baseline
    wander their spectrum looks like an envelope's, their median does not."""
    fs = 1000.0
    wander = signal.sosfilt(signal.butter(2, 8.0, fs=fs, output="sos"), noise(4000, seed=12))
    emg = signal.sosfilt(signal.butter(4, (20, 200), "bandpass", fs=fs, output="sos"), noise(4000))
    raw12 = np.round(2048 + 1.0 * emg + 40.0 * wander)
    assert detect_sensor(raw12 - 2048 + 0.5, fs) == "envelope"  # spectrum alone: misread
    assert detect_sensor(raw12, fs) == "raw"
    env12 = np.round(60 + np.abs(signal.lfilter([0.02], [1, -0.98], 5000 * noise(4000, seed=3))))
    assert env12.max() > 1023 and detect_sensor(env12, fs) == "envelope"


def test_sensor_detection_in_microvolts_uses_the_spectrum():
    fs = 1000.0
    sos = signal.butter(4, (20, 200), "bandpass", fs=fs, output="sos")
    raw = 10 * signal.sosfilt(sos, noise(2000, seed=4), axis=-1)
    lp = signal.butter(2, 5.0, fs=fs, output="sos")
    env = 5 + np.abs(signal.sosfilt(lp, 50 * noise(2000, seed=5), axis=-1))
    assert detect_sensor(raw, fs) == "raw"
    assert detect_sensor(env, fs) == "envelope"


def _collect(cond: Conditioner, blocks: list[Block]):
    out = []
    for b in blocks:
        out += cond.push(b)
    out += cond.flush()
    return out


def test_decisions_wait_for_two_seconds_then_release_everything():
    fs = 1000.0
    x = np.round(512 + 4 * noise(3000, seed=6)).T
    cond = Conditioner(fs, 1)
    assert cond.push(Block(0.0, fs, x[:1000])) == []
    assert cond.sensor is None or not cond.decided
    out = cond.push(Block(1.0, fs, x[1000:2000]))
    assert cond.decided and cond.sensor == "raw"
    assert sum(o.y.shape[1] for o in out) == 1000  # 2 s at 500 Hz


def _quiet_then_active_raw(fs: float, seconds: float, active_from_s: float) -> np.ndarray:
    """A raw channel in µV whose first seconds are rest dominated by slow baseline wander (a
    resting raw channel then looks much like an envelope output), then EMG activity."""
    n = int(seconds * fs)
    t = np.arange(n) / fs
    bp = signal.butter(4, (20, 200), "bandpass", fs=fs, output="sos")
    emg = signal.sosfilt(bp, noise(n, seed=11), axis=-1)[0]
    lp = signal.butter(2, 8.0, fs=fs, output="sos")
    wander = signal.sosfilt(lp, noise(n, seed=12), axis=-1)[0]
    activity = np.where(t >= active_from_s, 40.0, 1.0)
    return (emg * activity + 6.0 * wander)[None, :]


def test_an_ambiguous_sensor_decision_waits_for_evidence_at_fixed_checkpoints():
    from emgwatch.dsp import DECISION_S, DECISION_STEPS_S, sensor_evidence

    fs = 1000.0
    x = _quiet_then_active_raw(fs, 12.0, active_from_s=3.0)
    assert abs(sensor_evidence(x[:, : int(DECISION_S * fs)], fs)) < 0.5  # ambiguous at rest
    outs = []
    for chunking in (1000, 37, 12000):
        cond = Conditioner(fs, 1)
        blocks = [
            Block(i / fs, fs, x[:, i : i + chunking].T) for i in range(0, x.shape[1], chunking)
        ]
        out = _collect(cond, blocks)
        assert cond.sensor == "raw"
        outs.append(np.concatenate([o.y for o in out], axis=1))
    assert DECISION_STEPS_S[0] == DECISION_S
    for y in outs[1:]:  # the decision and so every output sample ignore how data was chunked
        np.testing.assert_array_equal(y, outs[0])
    assert outs[0].shape[1] == 12 * 500  # nothing held back is lost


def test_nonfinite_samples_are_replaced_counted_and_logged(caplog):
    fs = 1000.0
    x = 512 + 4 * noise(3000, seed=7).T
    x[2500:2510] = np.nan
    x[2600] = np.inf
    cond = Conditioner(fs, 1)
    with caplog.at_level(logging.WARNING, logger="emgwatch.dsp"):
        out = _collect(cond, [Block(0.0, fs, x)])
    assert cond.stats["nonfinite"] == 11
    assert "11 non-finite samples from t=2.500 s" in caplog.text
    y = np.concatenate([o.y for o in out], axis=1)
    assert np.isfinite(y).all()
    bad = np.concatenate([o.bad for o in out], axis=1)
    assert bad.any() and bad.sum() < 20


def test_a_time_jump_is_a_gap_that_restarts_the_segment(caplog):
    fs = 1000.0
    x = 512 + 4 * noise(6000, seed=8).T
    cond = Conditioner(fs, 1)
    with caplog.at_level(logging.WARNING, logger="emgwatch.dsp"):
        out = _collect(cond, [Block(0.0, fs, x[:3000]), Block(10.0, fs, x[3000:])])
    assert cond.stats["gaps"] == 1 and "gap" in caplog.text
    ks = np.concatenate([o.k for o in out])
    ts = np.concatenate([o.t for o in out])
    restart = np.flatnonzero(np.diff(ks) < 0)
    assert len(restart) == 1
    assert ts[restart[0] + 1] >= 10.0  # no silent shift in time


def test_repeated_samples_in_an_overlapping_block_are_dropped():
    fs = 1000.0
    x = 512 + 4 * noise(4000, seed=9).T
    a = _collect(Conditioner(fs, 1), [Block(0.0, fs, x)])
    b = _collect(
        Conditioner(fs, 1),
        [Block(0.0, fs, x[:3000]), Block(2.9, fs, x[2900:])],  # 100 samples sent twice
    )
    np.testing.assert_array_equal(
        np.concatenate([o.y for o in a], axis=1), np.concatenate([o.y for o in b], axis=1)
    )


def test_bad_setup_and_mismatched_blocks_raise_clear_errors():
    with pytest.raises(UsageError, match="outside the 200-4000 Hz"):
        Conditioner(150.0, 1)
    with pytest.raises(UsageError, match="mains_hz"):
        Conditioner(1000.0, 1, mains_hz=55.0)
    cond = Conditioner(1000.0, 2)
    with pytest.raises(EmgwatchError, match="channels"):
        cond.push(Block(0.0, 1000.0, np.zeros((10, 1))))
    with pytest.raises(EmgwatchError, match="sampling rate"):
        cond.push(Block(0.0, 2000.0, np.zeros((10, 2))))


def test_a_channel_with_no_value_at_all_is_told_so_not_held_at_a_last_value(caplog):
    fs = 1000.0
    x = np.column_stack([512 + 4 * noise(3000, seed=7).T[:, 0], np.full(3000, np.nan)])
    with caplog.at_level(logging.WARNING, logger="emgwatch.dsp"):
        _collect(Conditioner(fs, 2), [Block(0.0, fs, x)])
    assert "3000 non-finite samples from t=0.000 s" in caplog.text
    assert "(channel 2: no value at all yet, held at 0)" in caplog.text
