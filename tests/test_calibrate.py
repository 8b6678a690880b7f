"""`emgwatch calibrate` measures levels the way the detector will read them later."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal as sps

from emgwatch.cli import main
from emgwatch.model import DEFAULT_MODEL

FS = 1000.0


def _board(tmp_path, seconds: float, contraction: tuple[float, float]):
    """A MyoWare-style board wired twice: its raw output (µV) and its envelope output (10-bit ADC
    counts of a 5-V reference, on a 0.3-V offset), one maximal contraction at ``contraction``
    seconds."""
    rng = np.random.default_rng(7)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    a, b = contraction
    amp = np.where((t >= a) & (t < b), 400.0, 3.0)  # µV: 42 dB above rest
    raw = sps.sosfilt(
        sps.butter(2, [20, 450], "bandpass", fs=FS, output="sos"), amp * rng.standard_normal(n)
    )
    raw += rng.standard_normal(n) * 0.5
    env_v = 0.3 + 1e-3 * sps.sosfilt(sps.butter(2, 5.0, fs=FS, output="sos"), np.abs(raw))
    env = np.round(env_v / 5.0 * 1023 + rng.standard_normal(n) * 0.5)
    path = tmp_path / "board.csv"
    rows = "\n".join(f"{ti:.3f},{r:.3f},{e:.0f}" for ti, r, e in zip(t, raw, env, strict=True))
    path.write_text("time,raw,env\n" + rows + "\n")
    return path


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")
def test_calibration_of_a_raw_and_an_envelope_channel_matches_what_the_detector_reads(
    tmp_path, capsys, monkeypatch
):
    """A contraction as strong as the calibration's must read about 100 %MVC on each channel, so
    the calibration must read each channel as its own sensor type, as the detector does. Read
    as one type for the whole board (before), the raw channel was taken for an envelope and
    gave no usable level: the calibration failed."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("EMGWATCH_CONFIG", raising=False)
    # calibrate plays the file in real time: 6 s of rest, the 2-s contraction, 5 s of rest
    rec = _board(tmp_path, 14.0, (6.2, 7.8))
    rc = main(
        [
            "calibrate",
            "--source",
            f"replay:{rec}",
            "--rest",
            "6",
            "--contractions",
            "1",
            "--hold",
            "2",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    (saved,) = tmp_path.rglob("calibration/*.json")
    cal = {k: v["mvc_db"] for k, v in json.loads(saved.read_text())["channels"].items()}

    # what the detector reads during the contraction, channel by channel
    from emgwatch.detector import LEVEL_FEATURE, Detector
    from emgwatch.recording import read_recording

    r = read_recording(rec)
    det = Detector(r.fs, r.channel_names)
    frames = [det.features.push(b) for b in r.blocks(5.0)]
    t = np.concatenate([f.t for f in frames])
    level = np.concatenate([f.X for f in frames])[:, :, list(frames[0].names).index(LEVEL_FEATURE)]
    during = (t > 6.3) & (t < 7.8)
    for c, ch in enumerate(r.channel_names):
        seen = float(np.percentile(level[during, c], 90))
        assert abs(cal[ch] - seen) < 2.0, (ch, cal, seen)
    # the two outputs of one board differ by tens of dB above their own rest (the envelope's
    # floor is a share of its resting level): each must keep its own
    assert cal["raw"] - cal["env"] > 10.0


def test_a_calibration_stored_under_a_header_name_with_its_unit_still_applies():
    from emgwatch.calibration import Calibration, ChannelCalibration

    cal = Calibration("d", "2026-12-01", 1000.0, {"calf_uV": ChannelCalibration(40.0, 10, 10)})
    assert cal.percent_mvc("calf", 40.0) == 100.0 and cal.percent_mvc("calf_uV", 34.0) == 50.1
    assert cal.percent_mvc("thigh", 40.0) is None
