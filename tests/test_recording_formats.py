"""Recordings as hobby boards and lab software write them (session: input formats).

Each generator writes a small file the way its tool does; the tests assert on the values the
reader gives (rate, channel names, samples) and on the one warning a user should see.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgwatch.cli import main
from emgwatch.errors import InputError
from emgwatch.model import DEFAULT_MODEL
from emgwatch.recording import read_recording


def _write(tmp_path: Path, text: str, name: str = "x.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _adc(n: int, seed: int = 0) -> np.ndarray:
    """10-bit ADC counts around mid-rail: what analogRead(A0) prints."""
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(512 + rng.normal(0, 20, n)), 0, 1023).astype(int)


def _millis(fs: float, n: int, start_ms: int = 123_456) -> np.ndarray:
    """millis() of a loop sampling at ``fs``: whole ms, repeats above 1 kHz, 1/2-ms steps below."""
    return np.floor(np.arange(n) / fs * 1000.0).astype(np.int64) + start_ms


def _micros(fs: float, n: int, seed: int = 0) -> np.ndarray:
    """micros() stamped whenever the loop got round to it: 4-us ticks, jitter of +-60 % of a
    period, now and then the same value twice (a late sample stamped with the next one's time)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs * 1e6 + rng.uniform(-0.6, 0.6, n) * 1e6 / fs + 5_000_000
    t = np.maximum.accumulate(np.floor(t / 4) * 4)  # never backwards, ties where two crossed
    return t.astype(np.int64)


def _rows(times: np.ndarray, *cols: np.ndarray, sep: str = ",") -> str:
    return "".join(sep.join(map(str, r)) + "\n" for r in zip(times, *cols, strict=True))


# --- 1. millis()/micros() time columns with repeats and jitter ----------------------------------


@pytest.mark.parametrize("fs", [1000.0, 1500.0, 2500.0])
def test_a_repeating_millis_column_gives_the_rate_and_one_warning(tmp_path, caplog, fs):
    n = int(fs * 5)
    x = _adc(n)
    with caplog.at_level(logging.WARNING):
        rec = read_recording(_write(tmp_path, "millis,A0\n" + _rows(_millis(fs, n), x)))
    assert rec.fs == pytest.approx(fs, rel=1e-3) and rec.n_samples == n
    assert rec.channel_names == ["A0"] and rec.units == "adc"
    np.testing.assert_array_equal(rec.data[:, 0], x)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "repeated stamps" in warned[0].getMessage()
    assert "taken from its span" in warned[0].getMessage()


def test_a_jittery_micros_column_with_ties_gives_the_rate(tmp_path, caplog):
    fs, n = 2000.0, 10_000
    stamps = _micros(fs, n)
    assert np.any(np.diff(stamps) == 0)  # the case: ties as well as jitter
    x = _adc(n, 1)
    with caplog.at_level(logging.WARNING):
        rec = read_recording(_write(tmp_path, "micros,A0\n" + _rows(stamps, x)))
    assert rec.fs == pytest.approx(fs, rel=1e-3) and rec.n_samples == n
    assert not np.isnan(rec.data).any() and rec.data[0, 0] == x[0]
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1


@pytest.mark.parametrize(
    ("header", "stamps", "unit"),
    [
        ("time,emg\n", "millis", "milliseconds"),
        ("", "millis", "milliseconds"),
        ("timestamp,emg\n", "micros", "microseconds"),
        ("", "micros", "microseconds"),
    ],
)
def test_whole_number_times_without_a_unit_are_read_in_the_unit_that_fits(
    tmp_path, caplog, header, stamps, unit
):
    fs, n = 1500.0, 7500
    t = _millis(fs, n) if stamps == "millis" else _micros(fs, n)
    with caplog.at_level(logging.WARNING):
        rec = read_recording(_write(tmp_path, header + _rows(t, _adc(n))))
    assert rec.fs == pytest.approx(fs, rel=1e-3) and rec.n_samples == n and rec.n_channels == 1
    assert f"read as {unit}" in caplog.text


def test_whole_numbers_stepping_by_one_number_the_samples_when_fs_is_given(tmp_path, caplog):
    """0, 1, 2, ... under 'time' at 2000 Hz: without --fs they can only be guessed as ms (and
    the warning says to pass --fs); with it they number the samples, gaps included."""
    n = 6000
    idx = np.delete(np.arange(n + 10), np.arange(3000, 3010))  # ten samples lost mid-file
    path = _write(tmp_path, "time,emg\n" + _rows(idx, _adc(n)))
    with caplog.at_level(logging.WARNING):
        guessed = read_recording(path)
    assert guessed.fs == pytest.approx(1000.0, rel=1e-3)
    assert "pass --fs if it numbers the samples" in caplog.text
    rec = read_recording(path, fs=2000.0)
    assert rec.fs == 2000.0 and rec.duration_s == pytest.approx((n + 10) / 2000.0, abs=1e-3)


@pytest.mark.parametrize("fs", [800.0, 990.0, 1000.0, 1200.0, 1500.0])
def test_a_millis_column_read_with_the_right_fs_stays_milliseconds(tmp_path, fs):
    """millis() beside each sample steps by 1 and 2 (or 0 and 1): with --fs agreeing, it is a
    clock in ms, never sample numbers (which would squeeze its span and refuse --fs)."""
    n = 6000
    t = np.floor(np.arange(n) * 1000 / fs).astype(int)
    rec = read_recording(_write(tmp_path, "time,emg\n" + _rows(t, _adc(n))), fs=fs)
    assert rec.fs == pytest.approx(fs, rel=1e-3) and rec.n_samples == n


def test_a_millis_column_named_in_seconds_is_not_reinterpreted(tmp_path):
    n = 6000
    text = "time_s,emg\n" + _rows(_millis(1200.0, n), _adc(n))
    with pytest.raises(InputError, match="too slow for EMG"):
        read_recording(_write(tmp_path, text))


def test_a_millis_reset_or_wrap_mid_file_is_an_error_naming_its_line(tmp_path):
    fs, n = 1500.0, 9000
    t = _millis(fs, n)
    t[6000:] = _millis(fs, n - 6000, start_ms=0)  # the board reset: millis() from 0 again
    with pytest.raises(InputError, match=r"x\.csv: line 6002: time 0 s does not increase"):
        read_recording(_write(tmp_path, "millis,A0\n" + _rows(t, _adc(n))))
    # millis() wraps after 49.7 days: 2^32 - 1 -> 0 is a step back too
    t = _millis(fs, n, start_ms=2**32 - 3000) % 2**32
    wrap = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
    with pytest.raises(InputError, match=f"line {wrap + 2}: .*does not increase"):
        read_recording(_write(tmp_path, "millis,A0\n" + _rows(t, _adc(n)), "w.csv"))


@settings(max_examples=30, deadline=None)
@given(
    fs=st.floats(500.0, 4000.0),
    seconds=st.floats(1.0, 3.0),
    start=st.integers(0, 10**6),
    name=st.sampled_from(["millis", "time_ms", "time", "Timestamp"]),
)
def test_any_millis_clock_in_range_gives_its_rate(tmp_path_factory, fs, seconds, start, name):
    """Property: a millis() column of a loop at any supported rate reads at that rate, every
    row a sample, within the clock's 1-ms resolution over the span, whether its name says
    milliseconds or says no unit."""
    n = int(fs * seconds)
    t = _millis(fs, n, start)
    p = _write(tmp_path_factory.mktemp("m"), f"{name},A0\n" + _rows(t, np.arange(n) % 1024))
    rec = read_recording(p)
    span = (n - 1) / fs
    assert abs(rec.fs - fs) <= fs * 1.1e-3 / span + 1e-6 * fs
    assert rec.n_samples == n and rec.data[-1, 0] == (n - 1) % 1024


def test_a_coarse_clock_without_repeats_is_told_as_uneven_not_as_0_repeats(tmp_path, caplog):
    n = 6000
    t = _millis(950.0, n)  # 1-ms steps with a 2-ms one every ~20: no stamp repeats
    p = _write(tmp_path, "millis,A0\n" + _rows(t, np.arange(n) % 1024))
    with caplog.at_level(logging.WARNING, logger="emgwatch.recording"):
        assert read_recording(p).fs == pytest.approx(950.0, rel=2e-3)
    (msg,) = [r.getMessage() for r in caplog.records if "uneven steps" in r.getMessage()]
    assert "has uneven steps" in msg and "repeated" not in msg


# --- 5. numbers beyond float range --------------------------------------------------------------


@pytest.mark.parametrize("cell", ["1e400", "-1E999", "inf", "-Infinity"])
def test_an_infinite_cell_is_an_error_naming_its_line(tmp_path, cell):
    rows = [f"{i / 1000:.3f},{i % 50}" for i in range(2000)]
    rows[1234] = f"1.234,{cell}"
    with pytest.raises(InputError, match=r"x\.csv: line 1236: 'emg' is infinite"):
        read_recording(_write(tmp_path, "time_s,emg\n" + "\n".join(rows) + "\n"))


# --- delimiters at the end of every line --------------------------------------------------------


@pytest.mark.parametrize("header", ["time\temg\t\n", ""])
def test_a_tab_at_the_end_of_every_line_is_no_column(tmp_path, header):
    rows = "".join(f"{i / 1000:.3f}\t{i % 7}\t\n" for i in range(100))
    rec = read_recording(_write(tmp_path, header + rows, "t.txt"))
    assert rec.fs == 1000.0 and rec.n_channels == 1 and rec.n_samples == 100
    assert rec.data[:3, 0].tolist() == [0, 1, 2]


# --- 2. Arduino IDE Serial Monitor with "Show timestamp" ----------------------------------------


def _clock(ms: np.ndarray) -> list[str]:
    ms = ms % 86_400_000
    return [
        f"{m // 3_600_000:02d}:{m // 60_000 % 60:02d}:{m // 1000 % 60:02d}.{m % 1000:03d}"
        for m in ms
    ]


def _serial_monitor(fs: float, n: int, n_ch: int = 1, start_ms: int = 45_296_789) -> str:
    """Lines as the Serial Monitor saves them: the PC stamps each line as it arrives, and USB
    delivers them in bursts (here every 16 ms, jittered), so many lines share one stamp."""
    rng = np.random.default_rng(3)
    sampled = np.arange(n) / fs * 1000.0
    arrival = (np.floor(sampled / 16.0) + 1) * 16.0 + rng.uniform(0, 3, n)
    stamps = np.maximum.accumulate(np.floor(arrival)).astype(np.int64) + start_ms
    values = [_adc(n, k) for k in range(n_ch)]
    return "".join(
        f"{t} -> {','.join(str(v[i]) for v in values)}\n" for i, t in enumerate(_clock(stamps))
    )


def test_serial_plotter_lines_seen_through_the_monitor_are_named_by_their_labels(tmp_path):
    text = _serial_monitor(1000.0, 6000, n_ch=2)
    labelled = re.sub(r"-> (\d+),(\d+)", r"-> raw:\1,env:\2", text)
    assert labelled.splitlines()[0].endswith(
        "raw:" + text.splitlines()[0].split("-> ")[1].replace(",", ",env:")
    )
    rec = read_recording(_write(tmp_path, labelled, "m.txt"))
    plain = read_recording(_write(tmp_path, text, "p.txt"))
    assert rec.channel_names == ["raw", "env"] and rec.fs == plain.fs
    np.testing.assert_array_equal(rec.data, plain.data)


@pytest.mark.parametrize("n_ch", [1, 2])
def test_serial_monitor_lines_with_receipt_times(tmp_path, caplog, n_ch):
    fs, n = 1000.0, 6000
    text = "12:34:56.000 -> EMG ready\n" + _serial_monitor(fs, n, n_ch)
    with caplog.at_level(logging.WARNING):
        rec = read_recording(_write(tmp_path, text, "monitor.txt"))
    assert rec.fs == pytest.approx(fs, rel=1e-3) and rec.n_samples == n
    assert rec.channel_names == [f"ch{k + 1}" for k in range(n_ch)]
    assert rec.data[:, 0].tolist() == _adc(n, 0).tolist()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "the PC's receipt times" in warned[0]


def test_serial_monitor_names_midnight_and_bad_lines(tmp_path):
    fs, n = 1000.0, 6000
    # a banner line with one word per value names the channels
    text = "12:34:55.990 -> emg,env\n" + _serial_monitor(fs, n, 2)
    rec = read_recording(_write(tmp_path, text, "named.txt"))
    assert rec.channel_names == ["emg", "env"]
    # the PC's clock passes midnight: 23:59:57 -> 00:00:03 goes on, no step back
    text = _serial_monitor(fs, n, start_ms=86_400_000 - 3000)
    assert "23:59:59." in text and "00:00:00." in text
    rec = read_recording(_write(tmp_path, text, "midnight.txt"))
    assert rec.fs == pytest.approx(fs, rel=1e-3) and rec.n_samples == n
    # the sketch restarted mid-file: its banner is not a sample
    lines = _serial_monitor(fs, n).splitlines(keepends=True)
    lines[3000] = lines[3000].split(" -> ")[0] + " -> EMG ready\n"
    # the error quotes the line as the file has it, stamp and arrow included
    with pytest.raises(
        InputError,
        match=r"restart\.txt: line 3001: expected a time stamp, ' -> ' and 1 numeric value\(s\), "
        r"got '\d\d:\d\d:\d\d\.\d{3} -> EMG ready'",
    ):
        read_recording(_write(tmp_path, "".join(lines), "restart.txt"))
    # also from a gzip-compressed capture: the line as it reads once decompressed
    gz = tmp_path / "restart.txt.gz"
    gz.write_bytes(gzip.compress("".join(lines).encode()))
    with pytest.raises(InputError, match=r"line 3001: .*got '\d\d:\d\d:\d\d\.\d{3} -> EMG ready'"):
        read_recording(gz)
    # a line the PC stamped earlier than the one before (clock set back) is an error
    lines = _serial_monitor(fs, n).splitlines(keepends=True)
    lines[4000] = "13:00:00.000 -> 500\n"
    lines[4001] = "12:00:00.000 -> 500\n"
    with pytest.raises(InputError, match=r"back\.txt: line 4002: .*does not increase"):
        read_recording(_write(tmp_path, "".join(lines), "back.txt"))


@pytest.mark.parametrize(
    ("banner", "first", "fs", "clock"),
    [
        ("", lambda i: i, 1000.0, "milliseconds"),  # millis() at 1 kHz
        ("", lambda i: 5_000_000 + 2000 * i, 500.0, "microseconds"),  # micros() at 500 Hz
        ("12:34:55.990 -> t,emg\n", lambda i: 1000 + 2 * i, 500.0, "milliseconds"),
        ("", lambda i: i, 500.0, None),  # a sample counter at 500 Hz
    ],
)
def test_serial_monitor_sketch_clock_is_no_channel(tmp_path, caplog, banner, first, fs, clock):
    """A sketch printing its clock (or a counter) before the value: a ramp, never a channel."""
    n = 6000
    lines = _serial_monitor(fs, n).splitlines()
    text = banner + "".join(
        ln.replace(" -> ", f" -> {first(i)},") + "\n" for i, ln in enumerate(lines)
    )
    with caplog.at_level(logging.WARNING):
        rec = read_recording(_write(tmp_path, text, "clock.txt"))
    assert rec.n_channels == 1 and rec.channel_names == (["emg"] if banner else ["ch2"])
    assert rec.data[:, 0].tolist() == _adc(n, 0).tolist()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if clock:  # the sketch's clock gives the rate exactly; the receipt times are not used
        assert rec.fs == fs
        assert len(warned) == 1 and f"sketch's own clock, read in {clock}" in warned[0]
    else:
        assert rec.fs == pytest.approx(fs, rel=1e-2)
        assert len(warned) == 2 and "not analysed as a channel" in warned[0]
        assert "the PC's receipt times" in warned[1]


def test_serial_monitor_stall_in_receipt_times_needs_fs(tmp_path, caplog):
    """A 5 s stall in a 20 s file: the span would give 800 Hz for a 1000 Hz stream."""
    fs, n = 1000.0, 20_000
    lines = _serial_monitor(fs, n).splitlines(keepends=True)
    late = _serial_monitor(fs, n, start_ms=45_296_789 + 5000).splitlines(keepends=True)
    stalled = lines[:10_000] + late[10_000:]  # the same samples, the second half 5 s late
    path = _write(tmp_path, "".join(stalled), "stall.txt")
    with pytest.raises(InputError, match=r"stall\.txt: line 10001: .*nothing for 5.* s.*--fs"):
        read_recording(path)
    with caplog.at_level(logging.WARNING):
        rec = read_recording(path, fs=fs)
    assert rec.fs == fs and rec.n_samples == n
    assert rec.data[:, 0].tolist() == _adc(n, 0).tolist()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "as --fs says" in warned[0] and "line 10001" in warned[0]


# --- 3. OpenSignals (BITalino, PLUX) text export -------------------------------------------------


def _opensignals(fs: int, n: int, sensors: list[str], trailing: str = "\t") -> str:
    """An OpenSignals .txt as the app writes it: JSON header, nSeq counting 0-15, four digital
    lines, then the analog inputs; a tab at the end of every row."""
    analog = [f"A{k + 1}" for k in range(len(sensors))]
    header = {
        "00:07:80:0F:30:2F": {
            "sensor": sensors,
            "device name": "00:07:80:0F:30:2F",
            "column": ["nSeq", "I1", "I2", "O1", "O2", *analog],
            "sync interval": 2,
            "time": "10:20:30.123",
            "channels": list(range(1, len(sensors) + 1)),
            "date": "2024-3-5",
            "digital IO": [0, 0, 1, 1],
            "device": "bitalino_rev",
            "sampling rate": fs,
            "label": analog,
            "resolution": [4, 1, 1, 1, 1, *[10] * len(sensors)],
        }
    }
    values = [_adc(n, k) for k in range(len(sensors))]
    rows = "".join(
        "\t".join(map(str, [i % 16, 0, 0, 1, 1, *(v[i] for v in values)])) + trailing + "\n"
        for i in range(n)
    )
    return "# OpenSignals Text File Format\n# " + json.dumps(header) + "\n# EndOfHeader\n" + rows


@pytest.mark.parametrize("trailing", ["\t", ""])
def test_an_opensignals_export_with_trailing_tabs(tmp_path, trailing):
    n = 3000
    text = _opensignals(1000, n, ["EMG", "EMG"], trailing)
    rec = read_recording(_write(tmp_path, text, "opensignals.txt"))
    assert rec.fs == 1000.0 and rec.channel_names == ["A1", "A2"] and rec.n_samples == n
    assert rec.data[:5, 0].tolist() == _adc(n, 0)[:5].tolist()
    assert rec.data[:5, 1].tolist() == _adc(n, 1)[:5].tolist()


def test_opensignals_inputs_of_other_sensors_are_not_analysed(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        rec = read_recording(_write(tmp_path, _opensignals(1000, 2000, ["ECG", "EMG", "ACC"])))
    assert rec.channel_names == ["A2"] and rec.data[:3, 0].tolist() == _adc(2000, 1)[:3].tolist()
    assert "not ['A1', 'A3']" in caplog.text


# --- 4. LabChart (ADInstruments) text export -----------------------------------------------------


def _labchart(n: int, interval: str = "0.0005 s", time_col: bool = True, dt: float = 0.0005) -> str:
    """A LabChart 'Save as text' export: settings lines, then time (s) and values in volts."""
    head = (
        f"Interval=\t{interval}\n"
        "ExcelDateTime=\t4.5291567e+04\t01/01/2024 13:36:28.800\n"
        f"TimeFormat=\t{'StartOfBlock' if time_col else ''}\n"
        "DateFormat=\t\n"
        "ChannelTitle=\tEMG\tCh2\n"
        "Range=\t10.000 mV\t10.000 V\n"
        "UnitName=\tmV\tmV\n"
        "TopValue=\t10.000\t10.000\n"
        "BottomValue=\t-10.000\t-10.000\n"
    )
    a, b = ((_adc(n, k) - 512) / 100.0 for k in (0, 1))
    rows = "".join(
        (f"{i * dt:.4f}\t" if time_col else "") + f"{a[i]:.3f}\t{b[i]:.3f}\n" for i in range(n)
    )
    return head + rows


@pytest.mark.parametrize("time_col", [True, False])
def test_a_labchart_export_reads_its_interval_and_titles(tmp_path, time_col):
    n = 4000
    rec = read_recording(_write(tmp_path, _labchart(n, time_col=time_col), "lc.txt"))
    assert rec.fs == 2000.0 and rec.n_samples == n
    assert rec.channel_names == ["EMG", "Ch2"] and rec.units == "mV"
    np.testing.assert_allclose(rec.data[:3, 0], (_adc(n, 0)[:3] - 512) / 100.0)


def test_a_labchart_interval_is_checked_against_its_time_column(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        rec = read_recording(_write(tmp_path, _labchart(4000, interval="1 ms"), "lc.txt"))
    assert (
        rec.fs == 2000.0 and "says 1000 Hz, the time column 'time_s' gives 2000 Hz" in caplog.text
    )
    # without a time column the interval is the rate; --fs must agree with nothing else
    rec = read_recording(_write(tmp_path, _labchart(4000, "1 ms", time_col=False), "n.txt"))
    assert rec.fs == 1000.0
    # a second block's settings in the middle are named, not read as numbers
    text = _labchart(3000)
    lines = text.splitlines(keepends=True)
    lines[2000] = "Interval=\t0.0005 s\n"
    with pytest.raises(InputError, match=r"b\.txt: line 2001: .*'Interval="):
        read_recording(_write(tmp_path, "".join(lines), "b.txt"))


# --- 6. a channel with no value at all -----------------------------------------------------------


def test_a_channel_with_every_cell_empty_is_told_and_not_analysed(tmp_path, caplog):
    rows = "".join(f"{i / 1000:.3f},{i % 9},\n" for i in range(3000))
    p = _write(tmp_path, "time_s,emg,emg2\n" + rows)
    with caplog.at_level(logging.WARNING):
        rec = read_recording(p)
    assert rec.channel_names == ["emg"] and rec.data[:3, 0].tolist() == [0, 1, 2]
    assert "channel emg2 holds no values at all (every cell empty): not analysed" in caplog.text
    assert "NaN cells" not in caplog.text
    with pytest.raises(InputError, match="x.csv: channel emg2 holds no values at all"):
        read_recording(p, channel="emg2")


# --- end to end: `emgwatch detect` on each format -------------------------------------------------

E2E_S = 10.0  # seconds of rest with a 3-s burst from 5 s: one episode there, at any true rate


def _burst(fs: float, seed: int = 0) -> np.ndarray:
    """ADC counts: quiet around mid-rail, a strong burst at 5-8 s (where the episode must start
    when the rate is read right; at a rate read 1.5x off it would start at 3.3 or 7.5 s)."""
    rng = np.random.default_rng(seed)
    n = int(E2E_S * fs)
    x = rng.normal(0, 5, n)
    x[int(5 * fs) : int(8 * fs)] += rng.normal(0, 150, int(8 * fs) - int(5 * fs))
    return np.clip(np.rint(512 + x), 0, 1023).astype(int)


def _e2e_millis(fs: float) -> tuple[str, str]:
    x = _burst(fs)
    return "millis.csv", "millis,A0\n" + _rows(_millis(fs, x.size), x)


def _e2e_monitor(fs: float) -> tuple[str, str]:
    x = _burst(fs)
    lines = _serial_monitor(fs, x.size).splitlines()
    body = "".join(ln.split(" -> ")[0] + f" -> {v}\n" for ln, v in zip(lines, x, strict=True))
    return "monitor.txt", "12:34:56.000 -> EMG ready\n" + body


def _e2e_opensignals(fs: float) -> tuple[str, str]:
    x = _burst(fs)
    text = _opensignals(int(fs), x.size, ["EMG"])
    head, rows = text.split("# EndOfHeader\n")
    body = "".join(
        r.rsplit("\t", 2)[0] + f"\t{v}\t\n" for r, v in zip(rows.splitlines(), x, strict=True)
    )
    return "opensignals.txt", head + "# EndOfHeader\n" + body


def _e2e_labchart(fs: float) -> tuple[str, str]:
    x = (_burst(fs) - 512) / 100.0
    head = _labchart(1, interval=f"{1 / fs:g} s").split("0.0000\t")[0]
    return "labchart.txt", head + "".join(f"{i / fs:.5f}\t{v:.2f}\t0.00\n" for i, v in enumerate(x))


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")
@pytest.mark.parametrize(
    ("make", "fs"),
    [
        (_e2e_millis, 1500.0),
        (_e2e_monitor, 1000.0),
        (_e2e_opensignals, 1000.0),
        (_e2e_labchart, 2000.0),
    ],
)
def test_detect_reads_each_format_at_its_rate(tmp_path, capsys, make, fs):
    name, text = make(fs)
    rc = main(["detect", "--all", str(_write(tmp_path, text, name))])
    out, err = capsys.readouterr()
    assert rc == 0, err
    found = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    assert found and all(4.5 < e["start"] < 6.0 for e in found), (found, err)


@pytest.mark.parametrize(
    ("line", "fs"),
    [
        ("# Sampling Rate (Hz):= 1000.00", 1000.0),  # OpenSignals / BioSPPy "Simple Text Format"
        ("# Sampling rate (kHz): 2", 2000.0),
        ("# fs = 1.5 kHz", 1500.0),
    ],
)
def test_a_simple_text_format_header_gives_the_rate(tmp_path, line, fs):
    x = 2048 + _adc(int(5 * fs)) - 512  # 12-bit counts around their own mid-rail
    text = f"# Simple Text Format\n{line}\n# Resolution:= 12\n# Labels:= EMG\n"
    rec = read_recording(_write(tmp_path, text + "\n".join(f"{v:.1f}" for v in x) + "\n", "e.txt"))
    assert rec.fs == fs and rec.n_channels == 1 and rec.n_samples == x.size
    assert rec.data[0, 0] == x[0]
