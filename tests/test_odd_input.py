"""Recordings as they turn up in the wild, found by fuzzing `emgwatch detect` (session 15).

Each case once crashed, lost an episode without a word, destroyed a file, or named no place.
The signal: 15 s of 5 uV noise at 1 kHz with a 3-s 200 uV burst at 5 s (one spasm there).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emgwatch.cli import main
from emgwatch.model import DEFAULT_MODEL
from emgwatch.recording import Recording, write_recording

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")

FS = 1000


def _signal(seconds: float = 15.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 5, int(seconds * FS))
    burst = x[5 * FS : 8 * FS]
    burst += rng.normal(0, 200, burst.size)
    return x


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _signal_csv(path: Path, header: str, row) -> Path:
    """The signal with its times as a CSV, each row written by ``row(t, x)``."""
    x = _signal()
    t = np.arange(x.size) / FS
    return _csv(path, header, [row(a, b) for a, b in zip(t, x, strict=True)])


def _detect(capsys, *args: str) -> tuple[int, list[dict], list[str]]:
    rc = main(["detect", *map(str, args)])
    out, err = capsys.readouterr()
    lines = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    return rc, lines, [ln for ln in err.splitlines() if ln.strip()]


def _one_spasm(found: list[dict]) -> bool:
    return len(found) == 1 and 4.5 < found[0]["start"] < 5.5 and found[0]["kind"] == "spasm"


def test_a_flat_or_empty_second_channel_does_not_hide_the_first_ones_episode(tmp_path, capsys):
    flat = _signal_csv(
        tmp_path / "flat.csv", "time_s,emg_uV,emg2_uV", lambda a, b: f"{a:.3f},{b:.2f},0"
    )
    rc, found, _ = _detect(capsys, flat)
    assert rc == 0 and _one_spasm(found)
    # a delimiter at the end of every line (many loggers) is not a channel
    trailing = _signal_csv(
        tmp_path / "trail.csv", "time_s,emg_uV,", lambda a, b: f"{a:.3f},{b:.2f},"
    )
    rc, found, err = _detect(capsys, trailing)
    assert rc == 0 and _one_spasm(found) and not any("col3" in e for e in err)


def test_output_naming_the_recording_is_refused_and_the_recording_kept(tmp_path, capsys):
    p = _signal_csv(tmp_path / "night.csv", "time_s,emg_uV", lambda a, b: f"{a:.3f},{b:.2f}")
    before = p.read_bytes()
    rc, _, err = _detect(capsys, p, "-o", p)
    assert rc == 1 and p.read_bytes() == before
    assert len(err) == 1 and "is the file being read" in err[0]
    rc, _, err = _detect(capsys, p, "-o", tmp_path / "missing" / "out.jsonl")
    assert rc == 1 and len(err) == 1 and "does not exist" in err[0]
    rc, _, err = _detect(capsys, p, "-o", tmp_path)
    assert rc == 1 and len(err) == 1 and "is a directory" in err[0]
    out = tmp_path / "out.jsonl"
    assert _detect(capsys, p, "-o", out)[0] == 0
    assert _one_spasm([json.loads(ln) for ln in out.read_text().splitlines()])
    assert not list(tmp_path.glob("*.partial"))


def test_clock_times_with_a_zone_or_a_bad_date_never_crash(tmp_path):
    """numpy 2.4 dies (SIGSEGV) casting 500+ byte strings with a 'Z' or a bad date to
    datetime64: run in a subprocess, so a crash fails this test instead of the suite."""
    base = np.datetime64("2026-11-24T23:15:00.000")
    stamps = [str(base + np.timedelta64(i, "ms")) for i in range(5000)]
    x = _signal(5.0)
    good = _csv(
        tmp_path / "z.csv", "time,emg", [f"{s}Z,{v:.2f}" for s, v in zip(stamps, x, strict=True)]
    )
    rows = [f"{s},{v:.2f}" for s, v in zip(stamps, x, strict=True)]
    rows[700] = "2026-13-24T23:15:00.700," + rows[700].split(",")[1]
    bad = _csv(tmp_path / "month.csv", "time,emg", rows)
    for p, rc, say in ((good, 0, ""), (bad, 1, "line 702: expected a clock time")):
        r = subprocess.run(
            [sys.executable, "-m", "emgwatch", "detect", str(p)], capture_output=True, text=True
        )
        assert r.returncode == rc, r.stderr
        assert say in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("rows", "say"),
    [
        ("jump", "line 7002: time 'time_s' jumps by 1e+05 s (more than a day)"),
        ("short", "only 0.01 s of signal; detection needs at least 4 s"),
        ("huge", "beyond any sensor's range"),
        ("arabic", "line 503: expected 2 numeric columns, got '\u0661\u0662\u0663'"),
        ("nbsp", "line 503: expected 2 numeric columns"),
    ],
)
def test_odd_values_are_one_line_errors_naming_the_place(tmp_path, capsys, rows, say):
    x = _signal()
    t = np.arange(x.size) / FS
    if rows == "jump":
        t[7000:] += 1e5
    if rows == "short":
        t, x = t[:10], x[:10]
    if rows == "huge":
        x = x * 1e300
    cells = [f"{a:.3f},{b:.6g}" for a, b in zip(t, x, strict=True)]
    if rows == "arabic":
        cells[501] = f"{t[501]:.3f},\u0661\u0662\u0663"
    if rows == "nbsp":
        cells[501] = f"{t[501]:.3f},10.88\u00a0"
    p = _csv(tmp_path / "odd.csv", "time_s,emg", cells)
    rc, found, err = _detect(capsys, p)
    assert rc == 1 and not found
    assert len(err) == 1 and say in err[0] and str(p) in err[0]


def test_spreadsheet_exports_are_read(tmp_path, capsys):
    x = _signal()
    t = np.arange(x.size) / FS
    text = "time_s,emg\n" + "".join(f"{a:.3f},{b:.2f}\n" for a, b in zip(t, x, strict=True))
    p = tmp_path / "unicode.csv"
    p.write_bytes(text.encode("utf-16"))  # Excel's "Unicode text": UTF-16 with a BOM
    rc, found, _ = _detect(capsys, p)
    assert rc == 0 and _one_spasm(found)
    side = tmp_path / "unicode.annotations.csv"
    side.write_bytes("\ufeffonset,duration,description,channel\n5,3,spasm,emg\n".encode())
    assert _detect(capsys, p)[0] == 0  # a BOM on the annotation file too
    side.write_bytes(b"onset,duration,description,channel\n5,3,spasme \xe9\n")
    rc, _, err = _detect(capsys, p)
    assert rc == 1 and len(err) == 1 and "annotations.csv: byte 46: expected UTF-8" in err[0]


def test_repeated_column_names_are_told_apart(tmp_path, capsys):
    p = _signal_csv(tmp_path / "dup.csv", "time_s,emg,emg", lambda a, b: f"{a:.3f},{b:.2f},{b:.2f}")
    rc, found, _ = _detect(capsys, p)
    assert rc == 0 and sorted(e["channel"] for e in found) == ["emg", "emg#2"]
    rc, found, _ = _detect(capsys, p, "--channel", "emg#2")
    assert rc == 0 and [e["channel"] for e in found] == ["emg#2"]


def test_a_clock_a_little_slow_at_500_hz_is_still_500_hz(tmp_path, capsys):
    x = _signal()[::2]
    t = np.arange(x.size) / 499.9
    p = _csv(
        tmp_path / "slow.csv", "time_s,emg", [f"{a:.6f},{b:.2f}" for a, b in zip(t, x, strict=True)]
    )
    rc, found, err = _detect(capsys, p)
    assert rc == 0, err
    assert len(found) == 1 and 4.5 < found[0]["start"] < 5.5


def _edf(tmp_path: Path, name: str = "ok.edf") -> Path:
    p = tmp_path / name
    write_recording(p, Recording(_signal()[:, None], FS, ["EMG calf"], units="uV"))
    return p


@pytest.mark.parametrize(
    ("field", "value", "say"),
    [
        ("duration", b"0       ", "byte 244: record duration must be a number of seconds > 0"),
        ("pmin", b"nan     ", "physical minimum of signal 1 is not a number: 'nan'"),
        ("dmin", b"32767   ", "digital range 32767..32767 is not a 16-bit min < max"),
        ("records", b"5       ", "byte 236: header promises 5 data records"),
        ("bdf", b"\xffBIOSEMI", "byte 0: a BDF (24-bit) file"),
    ],
)
def test_edf_header_fields_that_make_no_sense_are_named_by_byte(
    tmp_path, capsys, field, value, say
):
    p = _edf(tmp_path)
    raw = bytearray(p.read_bytes())
    ns = int(raw[252:256])
    at = {
        "duration": 244,
        "pmin": 256 + ns * 104,
        "dmin": 256 + ns * 120,
        "records": 236,
        "bdf": 0,
    }[field]
    raw[at : at + len(value)] = value
    p.write_bytes(bytes(raw))
    rc, found, err = _detect(capsys, p)
    assert rc == 1 and not found
    assert len(err) == 1 and say in err[0], err


def test_a_comment_rate_that_disagrees_with_the_time_column_is_told(tmp_path, caplog):
    from emgwatch.recording import read_recording

    p = _signal_csv(tmp_path / "r.csv", "time_s,emg", lambda a, b: f"{a:.3f},{b:.2f}")
    p.write_text("# fs = 2000 Hz\n" + p.read_text())
    with caplog.at_level("WARNING", logger="emgwatch.recording"):
        assert read_recording(p).fs == FS
    assert any("comment line says 2000 Hz" in r.getMessage() for r in caplog.records)


def test_two_time_columns_that_disagree_are_told(tmp_path, caplog):
    from emgwatch.recording import read_recording

    p = _signal_csv(
        tmp_path / "two.csv", "time_s,time_ms,emg", lambda a, b: f"{a:.3f},{a * 500:.1f},{b:.2f}"
    )
    with caplog.at_level("WARNING", logger="emgwatch.recording"):
        rec = read_recording(p)
    assert rec.fs == FS and rec.channel_names == ["emg"]
    assert any(
        "'time_s' (1000 Hz) and 'time_ms' (2000 Hz)" in r.getMessage() for r in caplog.records
    )


def test_unreadable_edf_annotations_do_not_stop_the_signal_being_read(tmp_path, caplog):
    from emgwatch.recording import read_recording

    p = _edf(tmp_path)
    raw = bytearray(p.read_bytes())
    ns = int(raw[252:256])
    spr = [int(raw[256 + ns * 216 + 8 * i : 256 + ns * 216 + 8 * i + 8]) for i in range(ns)]
    labels = [raw[256 + 16 * i : 256 + 16 * i + 16].strip() for i in range(ns)]
    k = labels.index(b"EDF Annotations")
    tal = 256 * (ns + 1) + 2 * sum(spr[:k])  # the first record's annotation bytes
    raw[tal : tal + 12] = bytes(12)
    p.write_bytes(bytes(raw))
    with caplog.at_level("WARNING", logger="emgwatch.recording"):
        rec = read_recording(p)
    assert rec.n_samples >= 15 * FS and rec.annotations == []
    assert any("annotations are unreadable" in r.getMessage() for r in caplog.records)


def test_an_output_through_a_link_keeps_the_link_and_a_plain_file_its_mode(tmp_path, capsys):
    import os

    src = _signal_csv(tmp_path / "r.csv", "time_s,emg", lambda a, b: f"{a:.3f},{b:.2f}")
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    assert _detect(capsys, src, "-o", link)[0] == 0
    assert link.is_symlink() and _one_spasm([json.loads(x) for x in real.read_text().splitlines()])
    hard = tmp_path / "hard.jsonl"
    os.link(real, hard)  # another name for the same file: written in place, both see it
    real.chmod(0o600)
    assert _detect(capsys, src, "-o", real)[0] == 0
    assert hard.read_text() == real.read_text() and (real.stat().st_mode & 0o777) == 0o600
    mine = tmp_path / "out.jsonl.partial"
    mine.write_text("mine\n")  # a user's file of that name is not ours to delete
    assert _detect(capsys, src, "-o", tmp_path / "out.jsonl")[0] == 0
    assert mine.read_text() == "mine\n"
    rc, found, _ = _detect(capsys, src, "-o", "-")
    assert rc == 0 and _one_spasm(found)


@pytest.mark.parametrize("form", ["gzip", "nul", "excel"])
def test_logger_and_spreadsheet_quirks_are_read(tmp_path, capsys, form):
    import gzip

    p = _signal_csv(tmp_path / "r.csv", "time_s,emg", lambda a, b: f"{a:.3f};{b:.2f}")
    text = p.read_bytes().replace(b"time_s,emg", b"time_s;emg")
    if form == "gzip":
        text = gzip.compress(text)
    if form == "nul":  # an SD card's last block
        text += bytes(512)
    if form == "excel":
        text = b"sep=;\n" + text
    p.write_bytes(text)
    rc, found, err = _detect(capsys, p)
    assert rc == 0 and _one_spasm(found), err


def test_raw_and_envelope_columns_side_by_side_are_told():
    from scipy import signal

    from emgwatch.block import Block
    from emgwatch.dsp import Conditioner, channel_evidence

    raw = _signal()
    env = signal.sosfilt(signal.butter(2, 3, fs=FS, output="sos"), np.abs(raw)) + 100.0
    x = np.stack([raw, env])  # a MyoWare's RAW and ENV outputs logged together
    ev = channel_evidence(x[:, : 2 * FS], FS)
    assert ev[0] > 0.5 and ev[1] < -0.5
    c = Conditioner(FS, 2)
    c.push(Block(0.0, FS, x.T.copy()))
    c.flush()
    assert c.channel_sensors == ["raw", "envelope"]  # tests/test_mixed_sensors.py: then what


def test_a_quoted_column_name_may_hold_the_delimiter(tmp_path, capsys):
    p = _signal_csv(
        tmp_path / "q.csv",
        '"time_s","EMG, left calf","EMG, right calf"',
        lambda a, b: f"{a:.3f},{b:.2f},{b / 10:.2f}",
    )
    rc, found, err = _detect(capsys, p)
    assert rc == 0, err
    assert {e["channel"] for e in found} >= {"EMG, left calf"}
