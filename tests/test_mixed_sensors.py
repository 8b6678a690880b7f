"""Channels from different sensor types in one recording (a MyoWare's RAW and ENV outputs)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy import signal

from emgwatch.block import Block
from emgwatch.detector import Detector, detect_recording
from emgwatch.model import DEFAULT_MODEL
from emgwatch.recording import Recording

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")

FS = 1000.0


def _raw_and_envelope(seconds: float = 30.0, seed: int = 0) -> np.ndarray:
    """(n, 2) ADC counts: a raw output around mid-rail with two bursts, and the envelope
    output of the same muscle (rectified, smoothed, just above 0 V)."""
    rng = np.random.default_rng(seed)
    lead = int(5 * FS)  # the envelope filter settles before the recording starts
    n = int(seconds * FS)
    uv = rng.normal(0, 5, lead + n)
    for a, b in ((12, 15), (22, 23.5)):
        uv[lead + int(a * FS) : lead + int(b * FS)] += rng.normal(0, 250, int((b - a) * FS))
    raw = 512 + uv * 0.5
    smooth = signal.sosfilt(signal.butter(2, 3, fs=FS, output="sos"), np.abs(uv))
    env = 20 + 3 * smooth + rng.normal(0, 1.5, uv.size)
    return np.round(np.stack([raw, env], axis=1)[lead:])


def _episodes(data: np.ndarray, names: list[str], **kw) -> list[tuple]:
    rec = Recording(data, FS, names)
    return [
        (e.channel, round(e.start, 3), round(e.end, 3), e.kind) for e in detect_recording(rec, **kw)
    ]


def test_each_sensor_type_is_read_as_if_alone(caplog):
    x = _raw_and_envelope()
    with caplog.at_level(logging.WARNING):
        both = _episodes(x, ["raw", "env"])
    alone = _episodes(x[:, :1], ["raw"]) + _episodes(x[:, 1:], ["env"])
    assert sorted(both) == sorted(alone)
    # the raw output sees both bursts; the envelope output at least the second (its first
    # seconds teach it the resting level, and its smoothing blurs the onset)
    assert [s for c, s, _, _ in both if c == "raw"] == pytest.approx([12.0, 22.0], abs=0.1)
    assert any(c == "env" and 21.5 < s < 23 for c, s, _, _ in both), both
    (msg,) = [r.getMessage() for r in caplog.records if "sensor types" in r.getMessage()]
    assert "raw raw, env envelope" in msg


def test_as_one_type_the_envelope_output_is_read_wrongly():
    """Why the split matters: read as raw (what one type for all did), the envelope output's
    activity is taken away by the high-pass, and its burst is lost."""
    x = _raw_and_envelope()
    forced = _episodes(x, ["raw", "env"], sensor="raw")
    assert not any(c == "env" for c, *_ in forced)
    assert any(c == "env" for c, *_ in _episodes(x, ["raw", "env"]))


@pytest.mark.parametrize("block_s", [0.037, 1.0, 7.3])
def test_chunking_does_not_change_mixed_sensor_episodes(block_s):
    x = _raw_and_envelope(seconds=25.0, seed=1)
    whole = _episodes(x, ["raw", "env"])
    det = Detector(FS, ["raw", "env"])
    n = max(1, int(block_s * FS))
    ends = []
    for i in range(0, len(x), n):
        ends += [e.episode for e in det.push(Block(i / FS, FS, x[i : i + n])) if e.event == "end"]
    ends += [e.episode for e in det.flush() if e.event == "end"]
    got = [(e.channel, round(e.start, 3), round(e.end, 3), e.kind) for e in ends]
    assert sorted(got) == sorted(whole) and whole
    assert det.features.channel_sensors == ["raw", "envelope"]


def test_channels_of_one_type_are_not_split():
    x = _raw_and_envelope()
    det = Detector(FS, ["a", "b"])
    det.push(Block(0.0, FS, np.stack([x[:, 0], x[::-1, 0]], axis=1)))
    det.flush()
    assert det.features.channel_sensors == ["raw", "raw"]
    assert det.features._groups is None


def test_warnings_about_the_samples_are_said_once_not_again_per_sensor_type(caplog):
    x = _raw_and_envelope()
    x[1000:1010, :] = np.nan
    with caplog.at_level(logging.WARNING):
        _episodes(x, ["raw", "env"])
    said = [r.getMessage() for r in caplog.records if "non-finite" in r.getMessage()]
    assert said == ["20 non-finite samples from t=1.000 s replaced by the last finite value"]


def test_training_reads_each_sensor_type_as_the_detector_does():
    """The rows a model learns from are the features the detector will give it: with mixed
    sensor types, those of each channel read as its own type, not one type for all."""
    from emgwatch.features import extract_features
    from emgwatch.mixed_sensors import extract_mixed_features

    x = _raw_and_envelope()
    mixed = extract_mixed_features(x, FS, ["raw", "env"])
    alone = [extract_features(x[:, c], FS).X[:, 0, :] for c in (0, 1)]
    n = min(len(mixed.t), *(len(a) for a in alone))
    for c in (0, 1):
        assert np.allclose(mixed.X[:n, c, :], alone[c][:n], equal_nan=True)
    # one type for all (what training did): both read as envelopes, the raw output wrongly
    one_type = extract_features(x, FS).X
    assert not np.allclose(one_type[:n, 0, :], alone[0][:n], equal_nan=True)
