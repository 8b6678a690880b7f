"""One recording type shared by `detect`, `replay`, `report` and `simulate` (like MNE's Raw).

Readers for every supported format produce a :class:`Recording`; writers take one. Readers
raise :class:`emgwatch.errors.InputError` with file and location on anything unusable.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import edfio
import numpy as np

from emgwatch.block import Block
from emgwatch.domain import (
    ADC_MAX,
    FS_MAX_HZ,
    FS_MIN_HZ,
    FS_READABLE_MIN_HZ,
    fs_out_of_range,
)
from emgwatch.errors import InputError, UsageError
from emgwatch.outfile import replaced_when_done


@dataclass(frozen=True)
class Annotation:
    """A labelled span of a recording (EDF+ TAL, CSV sidecar, or ground truth)."""

    onset: float  # seconds from recording start
    duration: float  # seconds (0 for an instant)
    description: str
    channel: str | None = None


T = TypeVar("T")


def annotation_parts(text: str) -> list[str]:
    """An annotation's text as the matchers of emgwatch.truth and emgwatch.hypnogram read it:
    lower case, punctuation as spaces, each part of an NSRR ``name|code`` on its own."""
    return [" ".join(re.sub(r"[-_:()/,.]", " ", p.lower()).split()) for p in text.split("|")]


def classify_annotation(a: Annotation, name: Callable[[str], T | None]) -> tuple[T | None, str]:
    """``name(text)`` for an annotation, and its channel ("" for none). The EDF+ reader takes a
    trailing word equal to a signal's label for the annotation's channel ("Sleep stage R" beside
    a leg channel named "R" arrives as "Sleep stage" on "R"): when the text alone names nothing,
    the whole text is tried, and then there is no channel."""
    found = name(a.description)
    if found is None and a.channel:
        return name(f"{a.description} {a.channel}"), ""
    return found, a.channel or ""


@dataclass
class Recording:
    data: np.ndarray  # shape (n_samples, n_channels), float64, in ``units``
    fs: float
    channel_names: list[str]
    annotations: list[Annotation] = field(default_factory=list)
    units: str = "unknown"  # "adc" | "V" | "mV" | "uV" | "unknown"
    sensor: str = "unknown"  # "raw" | "envelope" | "unknown" (unknown: detect it)
    start_time: datetime | None = None
    path: Path | None = None
    # what wrote it, from an EDF+ header's equipment code on ("emgwatch run", "emgwatch
    # simulate"; "" when unknown): emgwatch.truth tells a file of detections from a truth by it
    made_by: str = ""

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def blocks(self, block_s: float = 1.0) -> Iterator[Block]:
        """Yield the recording as consecutive Blocks, as a live source would deliver it."""
        step = max(1, int(round(block_s * self.fs)))
        for i in range(0, self.n_samples, step):
            yield Block(t0=i / self.fs, fs=self.fs, data=self.data[i : i + step])


# ==============================================================================================
# Reading and writing
# ==============================================================================================

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
EDF_SUFFIXES = (".edf", ".bdf", ".rec")

_TIME_WORDS = ("time", "t", "timestamp", "zeit", "tiempo", "tempo")  # en, de, es, it
_DELSYS_TIME = "x_s"  # Delsys EMGworks / Trigno exports: "X[s]" before each signal column
_TIME_SCALE_BY_NAME = {
    **dict.fromkeys(("seconds", "sec", "secs", "s"), 1.0),
    **{f"{w}{u}": 1.0 for w in _TIME_WORDS for u in ("", "_s", "_sec", "_seconds")},
    **dict.fromkeys(("ms", "millis"), 1e-3),
    **{f"{w}_ms": 1e-3 for w in _TIME_WORDS},
    **dict.fromkeys(("us", "micros"), 1e-6),
    **{f"{w}_us": 1e-6 for w in _TIME_WORDS},
}
# shell/Python, OpenBCI and MATLAB exports, C-style loggers; Excel's "sep=;" first line (the
# delimiter is found from the header anyway)
_COMMENT_PREFIXES = ("#", "%", "//", "sep=")
# "Sample Rate = 250 Hz" (OpenBCI), "# fs=1000", "sampling frequency: 2 kHz" in a comment line
# The number must follow the words directly ("fs unknown, gain = 1000" states no rate) and must
# not go on as a thousands group, an exponent or another unit ("1,000", "2e3", "1 MHz").
_RATE_IN_COMMENT = re.compile(  # "fs = 2000 Hz", "Sampling Rate (Hz):= 1000.00" (OpenSignals)
    r"(?:(?:sample|sampling)[ _-]?(?:rate|frequency|freq)|\bfs\b)"
    r"\s*(?:[(\[]\s*(k?hz)\s*[)\]])?\s*(?::=|[:=])?\s*"
    r"([0-9]+(?:\.[0-9]+)?)(?!\s*[,.]\d)\s*(khz|hz)?(?!\s*[a-z0-9])",
    re.IGNORECASE,
)
_UNIT_WORDS = {
    "uv": "uV",
    "microvolt": "uV",
    "microvolts": "uV",
    "mv": "mV",
    "millivolt": "mV",
    "millivolts": "mV",
    "v": "V",
    "volt": "V",
    "volts": "V",
    "adc": "adc",
    "counts": "adc",
    "count": "adc",
    "adu": "adc",
}
# A column that numbers the samples: with --fs it places them (and reveals lost samples).
_COUNTER_NAMES = {
    "sample",
    "samples",
    "sample_no",
    "sample_index",
    "index",
    "idx",
    "seq",
    "n",
    "nseq",  # OpenSignals (BITalino), a 4-bit counter
}
_SAMPLE_COUNTER = -1.0  # marker scale, replaced by 1 / fs
_ARDUINO_PINS = {f"a{i}" for i in range(8)}  # a column named after an analog pin holds counts
_TO_VOLTS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6}
_EDF_DIMENSION = {"uV": "uV", "mV": "mV", "V": "V", "adc": "adc", "unknown": ""}
_CHUNK_BYTES = 4 << 20  # parse the CSV body in pieces this big: bounded memory, still vectorised
_TIMING_TOLERANCE = 1e-3  # relative disagreement between a stated fs and the timestamps we accept


def read_recording(
    path: str | Path, *, fs: float | None = None, channel: str | int | None = None
) -> Recording:
    """Read a CSV or EDF/EDF+ recording into the one type every command shares.

    ``fs`` is needed for a CSV without a time column (and is checked against one if present);
    ``channel`` keeps only one channel, by name or 1-based index.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "no such file")
    if not path.is_file():
        raise InputError(path, None, "not a file")
    if fs is not None and not (np.isfinite(fs) and fs > 0):
        raise InputError(path, None, f"sampling rate must be a positive number of Hz, got {fs}")
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + EDF_SUFFIXES:
        with path.open("rb") as f:
            head = f.read(8)
        suffix = ".edf" if head in (b"0       ", b"\xffBIOSEMI") else ".csv"
    if suffix in EDF_SUFFIXES:
        return _read_edf(path, fs=fs, channel=channel)
    return _read_csv(path, fs=fs, channel=channel)


def write_recording(path: str | Path, rec: Recording) -> None:
    """Write ``rec`` in the format named by the extension (.csv + annotation sidecar, or .edf)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if rec.data.ndim != 2 or rec.data.shape[1] != len(rec.channel_names):
        raise ValueError(
            f"Recording data shape {rec.data.shape} does not match "
            f"{len(rec.channel_names)} channel names"
        )
    if suffix in (".csv", ".tsv", ".txt"):
        _write_csv(path, rec)
    elif suffix == ".edf":
        _write_edf(path, rec)
    else:
        raise UsageError(f"{path}: unknown recording format '{suffix}' (use .csv or .edf)")


def annotations_sidecar(path: str | Path) -> Path:
    """Where the annotations of a CSV recording live (``night.csv`` -> ``night.annotations.csv``)."""
    path = Path(path)
    return path.with_name(path.stem + ".annotations.csv")


# --- names, units --------------------------------------------------------------------------------


def _normalise_name(name: str) -> str:
    n = name.strip().strip("\"'").lower().replace("µ", "u").replace("μ", "u")
    for ch in " ()[]{}-./":
        n = n.replace(ch, "_")
    while "__" in n:
        n = n.replace("__", "_")
    return n.strip("_")


_SENSOR_WORDS = {
    "env": "envelope",
    "envelope": "envelope",
    "rms": "envelope",
    "rectified": "envelope",
    "raw": "raw",
}


_UNIT_TAIL = re.compile(r"[\s_\-./]+([A-Za-zµμ]+)\s*$")  # 'calf_l_uV': '_uV'


def _split_unit_suffix(name: str) -> tuple[str, str | None, str | None]:
    """Channel name, units and sensor type a header cell states.

    'emg (uV)' -> ('emg', 'uV', None); 'ch1 (adc raw)' -> ('ch1', 'adc', 'raw'); 'calf_l_uV' ->
    ('calf_l', 'uV', None): the unit is no part of the muscle's name, and a ground truth or a
    scoring file beside such a recording names the channel without it; 'ch1' -> ('ch1', None,
    None).
    """
    name = name.strip().strip("\"'").strip()
    if name.endswith((")", "]")) and ("(" in name or "[" in name):
        cut = max(name.rfind("("), name.rfind("["))
        words = [w for w in _normalise_name(name[cut + 1 : -1]).split("_") if w]
        if (
            words
            and name[:cut].strip()
            and all(w in _UNIT_WORDS or w in _SENSOR_WORDS for w in words)
        ):
            unit = next((_UNIT_WORDS[w] for w in words if w in _UNIT_WORDS), None)
            sensor = next((_SENSOR_WORDS[w] for w in words if w in _SENSOR_WORDS), None)
            return name[:cut].strip(), unit, sensor
    tokens = _normalise_name(name).split("_")
    if len(tokens) > 1 or tokens[0] in ("adc", "counts"):
        unit = _UNIT_WORDS.get(tokens[-1])
        cut = _UNIT_TAIL.search(name) if unit is not None else None
        if cut is not None and _UNIT_WORDS.get(_normalise_name(cut.group(1))) == unit:
            return name[: cut.start()].strip(), unit, None
        return name, unit, None
    if tokens[0] in _ARDUINO_PINS:
        return name, "adc", None
    return name, None, None


def channel_base_name(name: str) -> str:
    """A channel's name without the unit a header may have added ('calf_l_uV' -> 'calf_l')."""
    return _split_unit_suffix(name)[0]


def _sensor_from_name(name: str) -> str | None:
    found = {_SENSOR_WORDS[t] for t in _normalise_name(name).split("_") if t in _SENSOR_WORDS}
    return found.pop() if len(found) == 1 else None


def _common_units(path: Path, units: list[str | None], data: np.ndarray) -> str:
    """One unit for the recording; voltage channels in mixed units are scaled to the first one."""
    known = [u for u in units if u is not None]
    if not known:
        return "unknown"
    target = known[0]
    for i, u in enumerate(units):
        if u == target or u is None:
            continue
        if u in _TO_VOLTS and target in _TO_VOLTS:
            data[:, i] *= _TO_VOLTS[u] / _TO_VOLTS[target]
            log.info("%s: channel %d scaled from %s to %s", path, i + 1, u, target)
        else:
            log.warning("%s: channels have different units (%s); units set to unknown", path, units)
            return "unknown"
    return target


def _distinct(names: list[str]) -> list[str]:
    """Channel names told apart: a repeated one gets its column's rank ("emg", "emg#2"), so
    every output line says which column it came from and --channel can name each."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _pick_channel(
    path: Path, names: list[str], channel: str | int | None, headers: list[str] | None = None
) -> int | None:
    """Index of the channel asked for, by name (case-insensitive; also as ``headers`` give it,
    with its unit: 'calf_uV' for 'calf') or 1-based index."""
    if channel is None:
        return None
    if isinstance(channel, str):
        for given in (names, headers or []):
            for i, n in enumerate(given):
                if n == channel:
                    return i
        for given in (names, headers or []):
            for i, n in enumerate(given):
                if n.lower() == channel.strip().lower():
                    return i
        number = channel.strip().removeprefix("-")
        if not (number.isascii() and number.isdigit()):
            raise InputError(
                path, None, f"no channel named '{channel}' (channels: {', '.join(names)})"
            )
        channel = int(channel)
    if isinstance(channel, int | np.integer) and 1 <= channel <= len(names):
        return int(channel) - 1
    raise InputError(
        path, None, f"channel {channel} out of range: 1..{len(names)} ({', '.join(names)})"
    )


# --- CSV -----------------------------------------------------------------------------------------


_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan(?:\(\w*\))?|inf(?:inity)?)",
    re.IGNORECASE | re.ASCII,
)  # what np.fromstring accepts as one number (ASCII digits only, as it reads them)


def _is_number(token: str) -> bool:
    return _NUMBER.fullmatch(token) is not None


def _delimiter_of(line: str) -> str | None:
    for d in ("\t", ";", ","):
        if d in line:
            return d
    return None  # whitespace


def _cells(line: str, delim: str | None) -> list[str]:
    if delim and '"' in line:  # a quoted name may hold the delimiter: "EMG, left calf"
        return [c.strip() for c in next(csv.reader([line], delimiter=delim))]
    return [c.strip().strip("\"'") for c in (line.split(delim) if delim else line.split())]


@dataclass
class _CsvLayout:
    """What the first lines of a CSV say about the rest."""

    names: list[str]
    has_header: bool
    delim: str | None  # None: runs of whitespace
    decimal_comma: bool
    body_start: int  # byte offset of the first data line
    body_line: int  # its 1-based line number
    rate_hz: float | None = None  # a sampling rate stated in a comment line
    signals: tuple[str, ...] | None = None  # when the header says which columns are signals
    receipt_times: bool = False  # times are when a PC received the lines, not when sampled


def _delsys_table_start(raw: bytes) -> tuple[int, int]:
    """Byte offset and line number where the table starts: after a Delsys export's preamble
    ("Application: EMGworks ...", "Date/Time: ...", then the "X[s],..." header), else the top."""
    pos, line_no = 0, 1
    head_end = min(len(raw), 65536)
    while pos < head_end:
        end = raw.find(b"\n", pos, head_end)
        if end < 0:
            break
        line = raw[pos:end].strip()
        if line[:4].lower() == b"x[s]":
            if pos > 0 and line.lower().count(b"x[s]") >= 2:
                return pos, line_no
            break
        if line and line[:1] in b"0123456789+-.":
            break  # a data row: this is no preamble
        pos, line_no = end + 1, line_no + 1
    return 0, 1


def _delsys_clocks(keys: list[str]) -> list[int]:
    """The X[s] columns of a Delsys export (one before each signal, so two or more), else none:
    a single column of that name is an ordinary one."""
    clocks = [i for i, k in enumerate(keys) if k == _DELSYS_TIME]
    return clocks if len(clocks) >= 2 else []


def _delsys_signals(
    path: Path, names: list[str], keys: list[str], chan_cols: list[int], table: np.ndarray
) -> tuple[list[int], int | None]:
    """In a Delsys export every signal has its own X[s] column, at its own rate (EMG about 2 kHz,
    accelerometers about 150 Hz, their rows blank once they end). Keep the EMG signals that share
    the first EMG signal's time column, and that column as the time; None if not such a file."""
    clocks = _delsys_clocks(keys)
    if not clocks:
        return chan_cols, None

    def clock_of(i: int) -> int | None:
        left = [c for c in clocks if c < i]
        return left[-1] if left else None

    emg = [i for i in chan_cols if "emg" in names[i].lower() and clock_of(i) is not None]
    if not emg:
        return chan_cols, None
    # the EMG signals at the highest rate: their clock runs the whole table (slower ones end
    # early, their rows blank after)
    own = max(
        dict.fromkeys(clock_of(i) for i in emg),
        key=lambda c: int(np.count_nonzero(np.isfinite(table[:, c]))),
    )
    ref = table[:, own]
    keep = [
        i
        for i in emg
        if (c := clock_of(i)) is not None and np.array_equal(table[:, c], ref, equal_nan=True)
    ]
    dropped = [names[i] for i in chan_cols if i not in keep]
    if dropped:
        log.warning(
            "%s: Delsys export; analysing %s, not %s (other signals or rates)",
            path,
            [names[i] for i in keep],
            dropped,
        )
    return keep, own


def _opensignals_header(text: str) -> tuple[list[str], float | None, tuple[str, ...]] | None:
    """Column names, rate and analog channels from an OpenSignals (BITalino, PLUX) header line.

    ``# {"<device MAC>": {"column": ["nSeq", "I1", "I2", "O1", "O2", "A1"], "sampling rate":
    1000, "label": ["A1"], "sensor": ["EMG"], ...}}``; several devices write their columns side
    by side. nSeq is a 4-bit sample counter, I/O are digital lines, A1-A6 the analog inputs.
    """
    body = text.lstrip("#%/ ").strip()
    if not body.startswith("{"):
        return None
    try:
        devices = json.loads(body)
    except ValueError:
        return None
    if not isinstance(devices, dict) or not devices:
        return None
    per_device: list[tuple[str, list[str], list[str]]] = []
    rates = set()
    for key, dev in devices.items():
        if not (isinstance(dev, dict) and isinstance(dev.get("column"), list)):
            return None
        columns = [str(c) for c in dev["column"]]
        labels = dev.get("label")
        analog = [str(c) for c in labels if str(c) in columns] if isinstance(labels, list) else []
        # without a label list, the analog inputs by their names (never nSeq or digital I/O)
        analog = analog or [c for c in columns if re.fullmatch(r"A\d+", c)]
        sensors = dev.get("sensor")  # per analog input: "EMG", "ECG", "ACC", "RAW", ...
        if isinstance(sensors, list) and len(sensors) == len(analog):
            emg = [c for c, kind in zip(analog, sensors, strict=True) if "EMG" in str(kind).upper()]
            analog = emg or analog  # an ECG or accelerometer beside the EMG is not analysed
        per_device.append((str(key), columns, analog))
        rate = dev.get("sampling rate")
        if isinstance(rate, int | float) and not isinstance(rate, bool) and rate > 0:
            rates.add(float(rate))
    all_columns = [c for _, columns, _ in per_device for c in columns]
    names: list[str] = []
    signals: list[str] = []
    for key, columns, analog in per_device:
        # several devices: the same input names repeat, so say whose they are
        def own(c: str, key: str = key) -> str:
            return f"{c}@{key}" if all_columns.count(c) > 1 else c

        names += [own(c) for c in columns]
        signals += [own(c) for c in analog]
    return names, (rates.pop() if len(rates) == 1 else None), tuple(signals)


def _csv_layout(path: Path, raw: bytes) -> _CsvLayout:
    """Skip blank and comment lines ('#', '%', '//'), reading a sampling rate stated in them; the
    first other line is a header unless all numbers or times."""
    pos, line_no = _delsys_table_start(raw)
    rate = None
    described = None  # column names, rate and signals from a JSON header line (OpenSignals)
    settings: dict[str, list[str]] = {}  # LabChart's "Interval=\t0.001 s" lines
    while True:
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        text = raw[pos:end].decode("utf-8", errors="replace").strip()
        if text and not text.startswith(_COMMENT_PREFIXES):
            setting = _LABCHART_SETTING.fullmatch(text)
            if setting is None:
                break
            settings[setting.group(1)] = [c.strip() for c in (setting.group(2) or "").split("\t")]
        rate = rate or _rate_in_comment(text)
        described = described or _opensignals_header(text)
        pos, line_no = end + 1, line_no + 1
        if pos >= len(raw):
            raise InputError(path, None, "no data (only blank or comment lines)")
    delim = _delimiter_of(text)
    # a tab at the end of every line (OpenSignals, many loggers) is an empty last cell, as a
    # trailing comma is: strip only what can never be a delimiter
    first = _cells(raw[pos:end].decode("utf-8", errors="replace").strip(" \r\n"), delim)
    decimal_comma = delim in ("\t", ";") and b"," in raw[end : end + 4096]
    described = _labchart_header(settings, len(first) - (first[-1] == "")) or described
    if described is not None and len(described[0]) in (len(first), len(first) - (first[-1] == "")):
        names, said_rate, signals = described
        names = names + [f"col{i + 1}" for i in range(len(names), len(first))]
        return _CsvLayout(
            names, True, delim, decimal_comma, pos, line_no, rate or said_rate, signals
        )
    probe = [c.replace(",", ".") for c in first] if decimal_comma else first
    if all(c == "" or _is_number(c) or _DATETIME.fullmatch(c) for c in probe):
        names = [f"ch{i + 1}" for i in range(len(first))]
        return _CsvLayout(names, False, delim, decimal_comma, pos, line_no, rate)
    names = [c if c else f"col{i + 1}" for i, c in enumerate(first)]
    return _CsvLayout(names, True, delim, decimal_comma, end + 1, line_no + 1, rate)


# LabChart (ADInstruments) text export: "Key=<tab>value<tab>..." lines above the numbers
_LABCHART_SETTING = re.compile(r"([A-Z][A-Za-z]*)=(?:[\t ](.*))?")
_INTERVAL = re.compile(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(s|ms|us|µs)")


def _labchart_header(
    settings: dict[str, list[str]], n_cells: int
) -> tuple[list[str], float | None, None] | None:
    """Column names and rate from a LabChart export's settings (None if it has none).

    ``ChannelTitle=`` names the channels and ``UnitName=`` their units; the rows hold one value
    per channel, after the time in seconds when the export includes it. ``Interval=`` is the
    sampling interval (the time column, if any, is checked against it).
    """
    titles = settings.get("ChannelTitle")
    if not titles or n_cells not in (len(titles), len(titles) + 1):
        return None
    units = settings.get("UnitName", [])
    names = [
        (t or f"Ch{k + 1}") + (f" ({u})" if k < len(units) and (u := units[k]) else "")
        for k, t in enumerate(titles)
    ]
    interval = _INTERVAL.fullmatch(settings.get("Interval", [""])[0])
    rate = None
    if interval is not None and float(interval.group(1)) > 0:
        unit = interval.group(2).replace("µ", "u")  # s, ms, us: as a time column's name says
        rate = 1.0 / (float(interval.group(1)) * _TIME_SCALE_BY_NAME[unit])
    return (["time_s"] if n_cells > len(titles) else []) + names, rate, None


def _rate_in_comment(text: str) -> float | None:
    """The sampling rate a comment line states, in Hz (None if it states none)."""
    v = _RATE_IN_COMMENT.search(text)
    if v is None:
        return None
    unit = (v.group(3) or v.group(1) or "").lower()
    hz = float(v.group(2)) * (1000.0 if unit == "khz" else 1.0)
    return hz if hz > 0 else None


_PLOTTER_CELL = re.compile(rb"([A-Za-z_][A-Za-z0-9_]{0,40}):(-?[0-9.]+)")
_PLOTTER_LABEL = re.compile(rb"(^|[,\t ])[A-Za-z_][A-Za-z0-9_]{0,40}:", re.MULTILINE)
_PLOTTER_LABEL_AFTER_SEP = re.compile(rb"(?<=[,\t ])[A-Za-z_][A-Za-z0-9_]{0,40}:")
_PLOTTER_LABEL_NAME = re.compile(rb"(?:^|[,\t ])([A-Za-z_][A-Za-z0-9_]{0,40}):", re.MULTILINE)


def _plotter_labels(line: bytes) -> list[str] | None:
    """The labels of one ``label:value`` line, in order; None if it is not one."""
    found = [_PLOTTER_CELL.fullmatch(c) for c in re.split(rb"[,\t ]+", line)]
    if not found or not all(found):
        return None
    return [m.group(1).decode() for m in found if m is not None]


def _plotter_as_csv(path: Path, raw: bytes) -> bytes | None:
    """Arduino Serial Plotter lines (``emg:512,env:300``) captured to a file: the labels become
    a header row, so the file reads as the CSV it is. None for anything else."""
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line = raw[pos:end].strip()
        if line and not line.startswith(tuple(p.encode() for p in _COMMENT_PREFIXES)):
            break
        pos = end + 1
    else:
        return None
    labels = _plotter_labels(line)
    nxt = raw.find(b"\n", pos)
    after = raw.find(b"\n", nxt + 1)
    second = raw[nxt + 1 : after if after >= 0 else None]
    if labels is None or nxt < 0 or _plotter_labels(second.strip()) is None:
        return None  # two such lines, or it may be a header that happens to hold colons
    body = raw[pos:]
    seen = _PLOTTER_LABEL_NAME.findall(body)
    if seen != [b.encode() for b in labels] * (len(seen) // len(labels)) or len(seen) % len(labels):
        # a line with other labels, or in another order: its values would land in the wrong
        # channel, so say which line (the slow scan runs only here)
        first_line = raw.count(b"\n", 0, pos) + 1
        for k, text in enumerate(body.split(b"\n")):
            if text.strip() and _plotter_labels(text.strip()) != labels:
                raise InputError(
                    path,
                    f"line {first_line + k}",
                    f"expected Serial Plotter values {','.join(labels)}, got "
                    f"{text.strip()[:60].decode('utf-8', 'replace')!r}",
                )
    log.info("%s: Arduino Serial Plotter lines; channels %s", path, labels)
    body = _PLOTTER_LABEL.sub(rb"\1", body)
    sep = b"," if b"," in line else b"\t" if b"\t" in line else b" "
    return raw[:pos] + sep.join(label.encode() for label in labels) + b"\n" + body


_MONITOR_STAMP = re.compile(rb"^(\d{2}:\d{2}:\d{2}\.\d{3}) -> ?", re.MULTILINE)
_MONITOR_BANNER_LINES = 50  # a sketch's greeting before its first sample is a few lines


def _arrows_as(sep: bytes, raw: bytes, pos: int) -> bytes:
    """The lines from ``pos`` with each stamp's arrow (" -> ", or " ->" before a value) made
    ``sep``: the stamp stays, as the first column.

    A plain byte replace, one pass in C and one copy: a regex substitution builds a piece per
    line (and a template such as rb"\\1," is expanded in Python per line), 6 s and 1 GB for an
    hour at 1 kHz. An arrow can be nowhere else in a line of numbers; in any other line it is
    replaced too, and the line is refused as it would be anyway (its error quotes the file).
    """
    body = raw[pos:].replace(b" -> ", sep)
    return body.replace(b" ->", sep) if b" ->" in body else body


def _serial_monitor_as_csv(raw: bytes) -> bytes | None:
    """Arduino IDE Serial Monitor text saved with "Show timestamp" (``12:34:56.789 -> 512,498``):
    the stamps become a time column and a header row is made up (line numbers stay the file's
    but for it), so the file reads as the CSV it is. Lines before the first sample (a sketch's
    ``EMG ready``) become comments; the last of them names the channels if it has one word per
    value. Serial Plotter lines seen through the Monitor (``12:34:56.789 -> emg:512,env:300``)
    are named by their labels. None for anything else."""
    pos, names, labelled = 0, None, False
    for _ in range(_MONITOR_BANNER_LINES):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        line = raw[pos:end].strip()
        if line and not line.startswith(tuple(p.encode() for p in _COMMENT_PREFIXES)):
            stamp = _MONITOR_STAMP.match(line)
            if stamp is None:
                return None
            payload = line[stamp.end() :].decode("utf-8", errors="replace").strip()
            delim = _delimiter_of(payload)
            cells = _cells(payload, delim)
            if cells and all(_is_number(c) for c in cells):
                break
            labels = _plotter_labels(payload.encode())
            if labels is not None and len(labels) == len(cells):
                names, labelled = labels, True
                break
            names = cells if delim is not None else None  # "emg,env", never "EMG ready"
        pos = end + 1
        if pos >= len(raw):
            return None
    else:
        return None
    sep = (delim or ",").encode()
    body = _arrows_as(sep, raw, pos)
    if labelled:  # "12:34:56.789,emg:512,env:300": the labels named the channels already
        body = _PLOTTER_LABEL_AFTER_SEP.sub(b"", body)
    if delim is None and len(cells) > 1:  # values apart by blanks: the separator between them
        body = re.sub(rb"[ \t]+(?=\r?$)", b"", body, flags=re.MULTILINE)
        body = re.sub(rb"[ \t]+", sep, body)
    if names is None or len(names) != len(cells) or any(_is_number(c) or not c for c in names):
        # the last banner line has another delimiter or count: not the channels' names
        names = [f"ch{i + 1}" for i in range(len(cells))]
    head = re.sub(rb"^(?=[^\r\n])", b"# ", raw[:pos], flags=re.MULTILINE)
    return b"".join((head, sep.join([b"time", *(n.encode() for n in names)]), b"\n", body))


_GZIP_MAGIC = b"\x1f\x8b"  # the first bytes of a gzip file


def _read_csv(path: Path, *, fs: float | None, channel: str | int | None) -> Recording:
    raw = path.read_bytes()
    if raw.startswith(_GZIP_MAGIC):  # a gzip-compressed export: read what it holds
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(path, None, f"gzip file that does not decompress ({e})") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # "Unicode text" from a spreadsheet
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(path, f"byte {e.start}", "UTF-16 text that does not decode") from None
    if raw.endswith(b"\x00"):  # an SD-card log padded with NUL bytes to its block size
        raw = raw.rstrip(b"\x00")
    if b"\r" in raw[:65536] and b"\n" not in raw[:65536]:
        raw = raw.replace(b"\r", b"\n")  # classic Mac line ends
    if not raw[:65536].strip() and not raw.strip():
        raise InputError(path, None, "file is empty")
    plotter = _plotter_as_csv(path, raw)
    monitor = _serial_monitor_as_csv(raw) if plotter is None else None
    lay = _csv_layout(path, plotter or monitor or raw)
    if plotter is not None or monitor is not None:
        raw = plotter or monitor or raw
        lay.body_line -= 1  # the header row was made up: line numbers stay the file's
        lay.receipt_times = monitor is not None
        if monitor is not None:
            log.info("%s: Arduino Serial Monitor lines with timestamps", path)
    names, n_cols = lay.names, len(lay.names)
    clock_col = _clock_column(raw, lay.body_start, lay.delim, n_cols)
    try:
        values, n_rows, row_lines, clock_us = _parse_body(
            path,
            raw,
            lay.body_start,
            lay.body_line,
            lay.delim,
            n_cols,
            lay.decimal_comma,
            clock_col,
        )
    except InputError as e:
        if monitor is None or not (e.location or "").startswith("line "):
            raise
        # the rewritten line ("12:00:00.002,51x,502") is not what the user sees: quote theirs
        line = _file_line(path, int(e.location.split()[1]))
        raise InputError(
            path,
            e.location,
            f"expected a time stamp, ' -> ' and {n_cols - 1} numeric value(s), got '{line[:60]}'",
        ) from None
    del raw
    if n_rows == 0:
        raise InputError(path, f"line {lay.body_line}", "no data rows")
    table = values.reshape(n_rows, n_cols)
    _refuse_infinite(path, table, row_lines, names if lay.has_header else None)

    start_time = None
    if clock_col is not None:
        time_col, time_scale = clock_col, 1.0
        if clock_us.max() < _DAY_US:  # times of day: the date is unknown, midnight may pass
            wraps = np.diff(clock_us) < -_DAY_US // 2
            if wraps.any():
                clock_us = clock_us + np.concatenate(([0], np.cumsum(wraps))) * _DAY_US
        else:
            start_time = _datetime_of(clock_us[0])
        table[:, clock_col] = (clock_us - clock_us[0]) * 1e-6
        log.info("%s: clock times in column %d", path, clock_col + 1)
    else:
        time_col, time_scale = _time_column(path, names if lay.has_header else None, table)
    keys = [_normalise_name(n) for n in names] if lay.has_header else []
    roles = _time_roles(names) if lay.has_header else {}
    if lay.receipt_times:  # the made-up 'time' is the stamps, never another clock
        roles = {}
        sketch, scale = _sketch_clock(path, names, table)
        if sketch is not None and scale == _SAMPLE_COUNTER:
            roles[sketch] = scale  # not analysed
        elif sketch is not None:  # the samples' own clock: placed by it, as in any CSV
            time_col, time_scale, lay.receipt_times = sketch, scale, False
    time_like = set(roles) | ({clock_col} if clock_col is not None else set())
    counter = next((i for i, r in roles.items() if r == _SAMPLE_COUNTER), None)
    if counter is not None and counter != time_col and (fs or lay.rate_hz):
        # a file that numbers its samples and states its rate (OpenBCI) is placed by the counter:
        # the host timestamps beside it arrive in batches, several samples to one stamp
        time_col, time_scale = counter, _SAMPLE_COUNTER
        log.info("%s: samples placed by their counter '%s'", path, names[counter])
    time_name = ""
    if time_col is not None:
        time_name = names[time_col] if lay.has_header else f"column {time_col + 1}"
    if fs is None and lay.rate_hz is not None and (time_col is None or time_scale < 0):
        fs = lay.rate_hz  # needed, and the file says it: "%Sample Rate = 250 Hz"
        log.info("%s: sampling rate %g Hz, as a header or comment line states", path, fs)
    counted = time_scale == _SAMPLE_COUNTER
    if counted:
        if fs is None:
            raise InputError(
                path, None, f"'{time_name}' counts samples but gives no rate; pass --fs"
            )
        time_scale = 1.0 / fs
        table[:, time_col] = _unwrap_counter(path, table[:, time_col])

    chan_cols = [i for i in range(n_cols) if i != time_col and i not in time_like]
    exg = [i for i in chan_cols if keys and keys[i].startswith("exg_channel")]
    if exg:  # an OpenBCI export: the accelerometer, analog and marker columns are not EMG
        chan_cols = exg
    chan_cols, delsys_clock = _delsys_signals(path, names, keys, chan_cols, table)
    if delsys_clock is not None and delsys_clock != time_col and clock_col is None:
        time_col, time_scale = delsys_clock, 1.0
        time_name = names[time_col]
    if lay.signals is not None:  # the header says which columns are signals (OpenSignals)
        other = [names[i] for i in chan_cols if names[i] not in lay.signals]
        chan_cols = [i for i in chan_cols if names[i] in lay.signals]
        if chan_cols and (skipped := [n for n in other if re.match(r"A\d+", n)]):
            log.warning(
                "%s: OpenSignals export; analysing %s, not %s (the header names another sensor)",
                path,
                [names[i] for i in chan_cols],
                skipped,
            )
        if not chan_cols:
            raise InputError(
                path,
                None,
                "no analog input in the header's columns (only a sample counter and digital I/O)",
            )
    if not chan_cols:
        raise InputError(path, None, "no signal column (only a time column)")
    # a delimiter at the end of every line (many loggers write one) makes an unnamed column
    # with nothing in it: not a channel
    unnamed = [
        i
        for i in chan_cols
        if (not lay.has_header or names[i] == f"col{i + 1}") and np.isnan(table[:, i]).all()
    ]
    if unnamed and len(unnamed) < len(chan_cols):
        chan_cols = [i for i in chan_cols if i not in unnamed]
        log.info("%s: empty unnamed column(s) %s ignored", path, [i + 1 for i in unnamed])
    said = [_split_unit_suffix(names[i]) for i in chan_cols]
    headers = [names[i].strip() for i in chan_cols]
    # a name without its unit that another column also has ('emg_V' beside 'emg') keeps it
    bases = [name for name, _, _ in said]
    chan_names = _distinct(
        [
            b if b == h or (bases.count(b) == 1 and b not in headers) else h
            for b, h in zip(bases, headers, strict=True)
        ]
    )
    chan_units = [unit for _, unit, _ in said]
    sensors = [sensor or _sensor_from_name(name) for name, _, sensor in said]
    pick = _pick_channel(path, chan_names, channel, headers)
    if pick is not None:
        chan_cols, chan_names = [chan_cols[pick]], [chan_names[pick]]
        chan_units, sensors = [chan_units[pick]], [sensors[pick]]
    keep = _channels_with_values(path, table, chan_cols, chan_names)
    if len(keep) < len(chan_cols):
        chan_cols, chan_names = [chan_cols[k] for k in keep], [chan_names[k] for k in keep]
        chan_units, sensors = [chan_units[k] for k in keep], [sensors[k] for k in keep]
    data = np.ascontiguousarray(table[:, chan_cols])
    if time_col is not None and not counted and clock_col is None and delsys_clock is None:
        unstated = not lay.has_header or keys[time_col] in _TIME_WORDS
        time_scale = _time_unit(path, table[:, time_col], time_scale, time_name, unstated, fs)
    times = table[:, time_col] * time_scale if time_col is not None else None
    if times is not None and n_rows > 1 and not counted:
        _warn_other_clocks(path, names, table, roles, time_col, float(times[-1] - times[0]))
    del table, values

    n_nan = int(np.count_nonzero(np.isnan(data)))
    if n_nan:
        log.warning("%s: %d empty or NaN cells kept as NaN", path, n_nan)
    if times is None:
        if fs is None:
            raise InputError(
                path,
                None,
                "no time column (time, time_s, t, timestamp); pass --fs (sampling rate in Hz)",
            )
        rate = float(fs)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if lay.receipt_times:
                rate = _rate_from_receipt_times(path, times, fs, row_lines, time_name)
            else:
                rate, data = _regularise_times(
                    path, times, data, fs, row_lines, time_name, counter=counted
                )
        stated = lay.rate_hz
        if stated and not counted and abs(rate - stated) > _TIMING_TOLERANCE * rate:
            log.warning(  # two statements of the rate: say which one is used
                "%s: a header or comment line says %g Hz, the time column '%s' gives %.6g Hz; "
                "using the time column",
                path,
                stated,
                time_name,
                rate,
            )

    units = _common_units(path, chan_units, data)  # values are the detector's to judge
    known_sensors = {s for s in sensors if s}
    return Recording(
        data=data,
        fs=rate,
        channel_names=chan_names,
        annotations=_read_sidecar(annotations_sidecar(path)),
        units=units,
        sensor=known_sensors.pop() if len(known_sensors) == 1 else "unknown",
        start_time=start_time,
        path=path,
    )


def _channels_with_values(
    path: Path, table: np.ndarray, cols: list[int], names: list[str]
) -> list[int]:
    """Which of the channels hold any value: a column with every cell empty is told as such and
    not analysed (as a signal it would be a flat line, "lead-off" from its first second, and
    no stretch of it ever held a sample); with no channel left, an error."""
    empty = np.isnan(table[:, cols]).all(axis=0)
    hollow = [names[k] for k in np.flatnonzero(empty)]
    if empty.all():
        raise InputError(
            path, None, f"channel {', '.join(hollow)} holds no values at all (every cell empty)"
        )
    if hollow:
        log.warning(
            "%s: channel %s holds no values at all (every cell empty): not analysed",
            path,
            ", ".join(hollow),
        )
    return [k for k in range(len(cols)) if not empty[k]]


def _refuse_infinite(
    path: Path, table: np.ndarray, row_lines: _RowLines, names: list[str] | None
) -> None:
    """An infinite cell ('inf', or a number beyond float range such as 1e400) is no measurement:
    kept, it would become an error much later without a line, or poison every level."""
    bad = np.isinf(table)
    if not bad.any():
        return
    row, col = (int(i[0]) for i in np.nonzero(bad))
    column = f"'{names[col]}'" if names else f"column {col + 1}"
    raise InputError(
        path,
        f"line {row_lines(row)}",
        f"{column} is infinite (a number too large for any sample, e.g. 1e400, or 'inf'); "
        "expected a finite number",
    )


def _warn_other_clocks(
    path: Path, names: list[str], table: np.ndarray, roles: dict[int, float], used: int, span: float
) -> None:
    """A second time column that tells another rate than the one used: say which one is used
    (two clocks of one logger agree; when they do not, one is mislabelled)."""
    n = table.shape[0]
    for i, scale in roles.items():
        if i == used or scale <= 0 or span <= 0:
            continue
        other = float(table[-1, i] - table[0, i]) * scale
        if other > 0 and abs(other - span) > 0.01 * span:
            log.warning(
                "%s: time columns '%s' (%.6g Hz) and '%s' (%.6g Hz) disagree; using '%s'",
                path,
                names[used],
                (n - 1) / span,
                names[i],
                (n - 1) / other,
                names[used],
            )


def _time_roles(names: list[str]) -> dict[int, float]:
    """Header columns that say when a sample was taken, in column order: their scale to seconds,
    or ``_SAMPLE_COUNTER`` for a column numbering the samples. Never signal columns."""
    roles = {}
    keys = [_normalise_name(n) for n in names]
    delsys = set(_delsys_clocks(keys))
    for i, key in enumerate(keys):
        if i in delsys:
            roles[i] = 1.0
        elif key in _TIME_SCALE_BY_NAME:
            roles[i] = _TIME_SCALE_BY_NAME[key]
        elif key in _COUNTER_NAMES:
            roles[i] = _SAMPLE_COUNTER
    return roles


_SUBUNITS = (("milliseconds", 1e-3), ("microseconds", 1e-6))  # what an integer clock counts


def _time_unit(
    path: Path, col: np.ndarray, scale: float, name: str, unstated: bool, fs: float | None
) -> float:
    """Scale to seconds of a time column whose header does not say its unit ('time', or none).

    Sketches print millis() or micros() as whole numbers: read as seconds they give a rate far
    below EMG's. Such a column is read in the one unit (ms or us) that puts its rate, from its
    span, in the range emgwatch analyses; a column of fractions, or one no unit fits, is left in
    seconds (and the rate check says what it gives). With --fs, whole numbers that step by one
    number the samples (0, 1, 2, ... at any rate: ms would be a guess the user has answered).
    """
    n = col.size
    span = float(col[-1] - col[0]) if n > 1 else 0.0
    if not unstated or scale != 1.0 or not span > 0 or (n - 1) / span >= FS_READABLE_MIN_HZ:
        return scale
    if not np.all(col == np.round(col)):
        return scale
    if fs is not None:
        # 0, 1, 2, ... with --fs: sample numbers, unless read as ms they agree with --fs (a
        # millis() column at 800 Hz steps by 1 and 2; at 1-2 kHz some steps are 0)
        steps = np.diff(col)
        as_ms = (n - 1) / (span * 1e-3)
        if steps.min() >= 1 and np.median(steps) == 1 and abs(as_ms - fs) > 0.01 * fs:
            log.info(
                "%s: time column '%s' numbers the samples; placed at --fs %g Hz", path, name, fs
            )
            return 1.0 / fs
    for unit, factor in _SUBUNITS:
        if fs_out_of_range((n - 1) / (span * factor)) is None:
            log.warning(
                "%s: time column '%s' holds whole numbers without a unit; read as %s (the only "
                "unit giving %g-%g Hz from its span); name it time_ms or time_us to say so%s",
                path,
                name,
                unit,
                FS_MIN_HZ,
                FS_MAX_HZ,
                ", or pass --fs if it numbers the samples" if fs is None else "",
            )
            return factor
    return scale


def _time_column(
    path: Path, names: list[str] | None, table: np.ndarray
) -> tuple[int | None, float]:
    """Column holding time (by header name, or a steadily rising first column) and its scale to
    seconds; ``_SAMPLE_COUNTER`` when it numbers samples (a headerless counter that wraps is
    unwrapped in ``table``, as recognising it needed)."""
    if names is not None:
        return next(iter(_time_roles(names).items()), (None, 1.0))
    if table.shape[1] < 2 or table.shape[0] < 3:
        return None, 1.0
    col = table[:, 0]
    first = col[:3]
    if np.all(first == np.round(first)) and np.all(np.diff(first) == 1):
        counts = _unwrap_counter(path, col)  # 0, 1, 2, ... (wrapping or not)
        if _looks_like_time(counts):
            log.info("%s: no header; first column counts samples, used to place them", path)
            table[:, 0] = counts  # unwrapped once, here
            return 0, _SAMPLE_COUNTER
    if _looks_like_time(col, coarse_ok=True):
        log.info("%s: no header; first column rises steadily, used as time in seconds", path)
        return 0, 1.0
    return None, 1.0


def _unwrap_counter(path: Path, c: np.ndarray) -> np.ndarray:
    """A sample counter that wraps (0..255 on OpenBCI boards, 0..65535 in uint16 sketches) counts
    on across each wrap; any other backwards step is left for the time check to report.

    A wrap goes from the top of a power-of-two range to its bottom (a few samples may be lost
    on either side); a garbled value or a counter that restarts mid-range is not a wrap.
    """
    with np.errstate(invalid="ignore"):
        d = np.diff(c)
    back = d < 0
    if not back.any() or not np.all(c == np.round(c)) or c.min() < 0:
        return c
    period = float(2 ** math.ceil(math.log2(float(c.max()) + 1.0)))
    slack = max(4.0, period / 64)  # samples that may be lost around a wrap
    before, after = c[:-1][back], c[1:][back]
    if not (np.all(before >= period - 1 - slack) and np.all(after <= slack)):
        return c
    log.info("%s: sample counter wraps at %d; counted on across %d wraps", path, period, back.sum())
    return c + period * np.concatenate(([0.0], np.cumsum(back)))


def _looks_like_time(col: np.ndarray, *, coarse_ok: bool = False) -> bool:
    """A steadily rising column; ``coarse_ok``: or a clock too coarse to time single samples (a
    sample counter never is one: it never repeats and rarely skips)."""
    with np.errstate(over="ignore", invalid="ignore"):
        d = np.diff(col)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        return False
    if coarse_ok and _coarse_clock_tick(col, d) is not None:  # millis() beside faster samples
        return True
    med = float(np.median(d))
    if not np.all(d > 0):
        return False
    if np.mean(np.abs(d - med) <= 0.01 * med) >= 0.99:
        return True
    # a clock stamped when the loop got round to it (micros()): jitter, yet within a period
    return coarse_ok and d.size >= 2 * _STEADY_WINDOW and _stays_steady(col, 1.5 * med)


class _RowLines:
    """Maps a data row back to its line in the file (blank lines make them differ)."""

    def __init__(self, first_line: int, blank_rel: np.ndarray) -> None:
        self.first_line = first_line
        # blank_rel: body-relative line indices of blank lines, sorted.
        self._shift = blank_rel - np.arange(blank_rel.size)

    def __call__(self, row: int) -> int:
        return self.first_line + row + int(np.searchsorted(self._shift, row, side="right"))


def _parse_body(
    path: Path,
    raw: bytes,
    start: int,
    first_line: int,
    delim: str | None,
    n_cols: int,
    decimal_comma: bool,
    clock_col: int | None = None,
) -> tuple[np.ndarray, int, _RowLines, np.ndarray | None]:
    """All numbers of the body in one flat array, checked row by row without a Python loop.

    Each chunk (ending at a newline) is checked for the column count per line with numpy, then
    parsed by one ``np.fromstring`` call; only if that fails is the chunk scanned line by line,
    to say which line and which cell is wrong.
    """
    # One output array sized by the newline count, filled piece by piece (no final concatenate).
    out = np.empty((raw.count(b"\n", start) + 1) * n_cols)
    filled = 0
    clock_pieces: list[np.ndarray] = []
    blanks: list[np.ndarray] = []
    n_rows = 0
    line_base = 0  # body-relative index of the chunk's first line
    n = len(raw)
    while start < n:
        stop = min(n, start + _CHUNK_BYTES)
        if stop < n:
            nl = raw.rfind(b"\n", start, stop)
            stop = nl + 1 if nl >= start else (raw.find(b"\n", stop) + 1 or n)
        chunk = raw[start:stop]
        a = np.frombuffer(chunk, np.uint8)
        line_end = np.flatnonzero(a == 10)
        if line_end.size == 0 or line_end[-1] != a.size - 1:
            line_end = np.append(line_end, a.size)
        line_start = np.concatenate(([0], line_end[:-1] + 1))
        nonblank = _nonblank_lines(a, line_start, line_end)
        has_empty = _check_columns(
            path,
            raw,
            start,
            a,
            line_start,
            line_end,
            nonblank,
            delim,
            n_cols,
            first_line + line_base,
        )
        blank_idx = np.flatnonzero(~nonblank)
        if blank_idx.size:
            blanks.append(blank_idx + line_base)
        rows_here = int(np.count_nonzero(nonblank))
        if rows_here == 0:
            line_base += line_start.size
            start = stop
            continue

        if clock_col is not None:
            chunk, us = _take_clock_column(
                path,
                a,
                line_start,
                line_end,
                nonblank,
                delim,
                n_cols,
                clock_col,
                first_line + line_base,
            )
            clock_pieces.append(us)
        clean = _clean_text(chunk, decimal_comma)
        text = clean
        if delim is not None:
            db = delim.encode()
            if has_empty:
                text = _fill_empty_cells(text, db)
            if delim != "\t":
                text = text.replace(db, b" ")
        vals = _numbers(text, rows_here * n_cols)
        if vals is None and delim is not None:
            # Rare: cells holding only blanks. Costlier, so only tried when the fast parse fails.
            db = re.escape(delim.encode())
            pad = b"[ ]*" if delim == "\t" else b"[ \t]*"
            first_cell = re.compile(b"(^|\n)" + pad + b"(?=" + db + b")")
            next_cell = re.compile(b"(" + db + b")" + pad + b"(?=" + db + b"|\n|\\Z)")
            text = next_cell.sub(b"\\1nan", first_cell.sub(b"\\1nan", clean))
            if delim != "\t":
                text = text.replace(delim.encode(), b" ")
            vals = _numbers(text, rows_here * n_cols)
        if vals is None:
            _raise_first_bad_cell(path, chunk, clean, first_line + line_base, delim, n_cols)
            raise InputError(
                path,
                f"lines {first_line + line_base}-{first_line + line_base + line_start.size - 1}",
                "could not parse the numbers here",
            )
        if out.size < filled + vals.size:  # more rows than newlines counted: never, but safe
            out = np.concatenate([out[:filled], np.empty(filled + vals.size)])
        out[filled : filled + vals.size] = vals
        filled += vals.size
        n_rows += rows_here
        line_base += line_start.size
        start = stop
    values = out[:filled]
    blank_rel = np.concatenate(blanks) if blanks else np.empty(0, dtype=np.int64)
    clock = np.concatenate(clock_pieces) if clock_pieces else None
    return values, n_rows, _RowLines(first_line, blank_rel), clock


_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ])?\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
)  # ISO 8601 date-time or time of day, as loggers write them


def _clock_column(raw: bytes, body_start: int, delim: str | None, n_cols: int) -> int | None:
    """Index of a column of clock times (ISO date-time or time of day) in the first data row."""
    if delim is None:
        return None  # '2026-11-24 23:15:00' would be two cells
    pos = body_start
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        text = raw[pos:end].decode("utf-8", errors="replace").strip()
        if text:
            cells = _cells(text, delim)
            for i, c in enumerate(cells[:n_cols]):
                if not _is_number(c) and _DATETIME.fullmatch(c):
                    return i
            return None
        pos = end + 1
    return None


_DAY_US = 86_400_000_000


def _datetime_of(us: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=int(us))


def _take_clock_column(
    path: Path,
    a: np.ndarray,
    line_start: np.ndarray,
    line_end: np.ndarray,
    nonblank: np.ndarray,
    delim: str | None,
    n_cols: int,
    col: int,
    first_line: int,
) -> tuple[bytes, np.ndarray]:
    """Cut the clock-time cells out of a chunk: their times in µs, and the chunk with a '0' in
    their place so the numeric parse still sees ``n_cols`` numbers per row."""
    rows = np.flatnonzero(nonblank)
    k = n_cols - 1
    grid = np.flatnonzero(a == ord(delim or " "))
    if grid.size != rows.size * k:
        raise InputError(path, f"line {first_line}", "rows with clock times have uneven columns")
    grid = grid.reshape(rows.size, k)
    start = line_start[rows] if col == 0 else grid[:, col - 1] + 1
    stop = line_end[rows] if col == k else grid[:, col]
    if col == k:  # a CR before the newline is not part of the cell
        stop = stop - (a[np.maximum(stop - 1, 0)] == 13)
    width = stop - start
    w = int(width.max()) if width.size else 0
    if w == 0 or np.any(width <= 0):
        j = int(np.flatnonzero(width <= 0)[0]) if width.size else 0
        raise InputError(path, f"line {first_line + int(rows[j])}", "time is empty")
    offsets = np.arange(w)
    idx = np.minimum(start[:, None] + offsets, a.size - 1)
    cells = np.where(offsets < width[:, None], a[idx], 0).astype(np.uint8)
    text = np.strings.strip(cells.view(f"S{w}").ravel(), b" \t\"'")
    if not text.size or not text[0][:4].isdigit() or text[0][4:5] != b"-":
        text = np.strings.add(b"1970-01-01T", text)  # time of day only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's note that a "Z" or offset was applied
        try:
            # via str: numpy 2.4 crashes (SIGSEGV) casting 500+ byte strings to datetime64
            # when one has a "Z"/offset or does not parse; the str cast raises as it should
            us = text.astype("U").astype("datetime64[us]").astype(np.int64)
        except ValueError:
            for j, t in enumerate(text):
                try:
                    np.datetime64(t.decode("ascii", errors="replace"))
                except ValueError:
                    shown = t.decode("ascii", errors="replace")[-40:]
                    raise InputError(
                        path,
                        f"line {first_line + int(rows[j])}",
                        f"expected a clock time, got '{shown}'",
                    ) from None
            raise
    buf = np.frombuffer(bytearray(a.tobytes()), np.uint8)
    marks = np.zeros(a.size + 1, np.int32)
    marks[start] += 1
    marks[stop] -= 1
    buf[np.cumsum(marks)[:-1] > 0] = ord(" ")
    buf[start] = ord("0")
    return buf.tobytes(), us


def _nonblank_lines(a: np.ndarray, line_start: np.ndarray, line_end: np.ndarray) -> np.ndarray:
    """Lines with something visible; only lines not starting with a visible byte are looked into."""
    first = np.where(line_start < a.size, a[np.minimum(line_start, a.size - 1)], 10)
    nonblank = first > 32
    doubtful = np.flatnonzero(~nonblank)
    if doubtful.size > 10_000:
        return np.add.reduceat(a > 32, line_start, dtype=np.int32) > 0
    for j in doubtful:
        nonblank[j] = bool(np.any(a[line_start[j] : line_end[j]] > 32))
    return nonblank


def _check_columns(
    path: Path,
    raw: bytes,
    chunk_start: int,
    a: np.ndarray,
    line_start: np.ndarray,
    line_end: np.ndarray,
    nonblank: np.ndarray,
    delim: str | None,
    n_cols: int,
    first_line: int,
) -> bool:
    """Raise on the first line with the wrong number of columns; say whether empty cells exist.

    Fast path for delimited files: if there are exactly rows x (columns - 1) delimiters and each
    row's share lies inside that row, every row has the right count (no per-line loop needed).
    """
    if delim is not None:
        k = n_cols - 1
        dpos = np.flatnonzero(a == ord(delim))
        if nonblank.all():
            rows_start, rows_end = line_start, line_end
        else:
            rows_start, rows_end = line_start[nonblank], line_end[nonblank]
        if dpos.size == rows_start.size * k:
            if k == 0:
                return False
            grid = dpos.reshape(-1, k)
            if np.all(grid[:, 0] >= rows_start) and np.all(grid[:, -1] < rows_end):
                before = a[np.maximum(dpos - 1, 0)]
                after = a[np.minimum(dpos + 1, a.size - 1)]
                edge = (before == ord(delim)) | (before == 10) | (dpos == 0)
                edge |= (after == ord(delim)) | (after == 10) | (after == 13) | (dpos == a.size - 1)
                return bool(edge.any())
        counts = np.add.reduceat(a == ord(delim), line_start, dtype=np.int32) + 1
    else:
        visible = a > 32
        token_start = visible.copy()
        token_start[1:] &= ~visible[:-1]
        counts = np.add.reduceat(token_start, line_start, dtype=np.int32)
    bad = np.flatnonzero(nonblank & (counts != n_cols))
    if bad.size:
        j = int(bad[0])
        line = a[line_start[j] : line_end[j]].tobytes()
        shown = line.decode("utf-8", errors="replace").strip()
        last = chunk_start + line_end[j] >= len(raw) and not raw.endswith(b"\n")
        hint = " (truncated last line?)" if last and counts[j] < n_cols else ""
        raise InputError(
            path,
            f"line {first_line + j}",
            f"expected {n_cols} columns, got {int(counts[j])}: '{shown[:60]}'{hint}",
        )
    return delim is not None


def _fill_empty_cells(text: bytes, db: bytes) -> bytes:
    """An empty cell is a missing value: make it 'nan' so the count per row stays right."""
    if db + db in text:
        text = text.replace(db + db, db + b"nan" + db).replace(db + db, db + b"nan" + db)
    if text.startswith(db):
        text = b"nan" + text
    if b"\n" + db in text:
        text = text.replace(b"\n" + db, b"\nnan" + db)
    if db + b"\n" in text:
        text = text.replace(db + b"\n", db + b"nan\n")
    if text.endswith(db):
        text += b"nan"
    return text


def _numbers(text: bytes, expected: int) -> np.ndarray | None:
    """One C-speed parse of whitespace-separated numbers; None unless exactly ``expected``."""
    try:
        vals = np.fromstring(text, sep=" ")
    except ValueError:
        return None
    if vals.size == 1 and vals[0] == -1 and not text.strip():
        vals = vals[:0]  # numpy answers [-1.] for blank text
    return vals if vals.size == expected else None


def _clean_text(chunk: bytes, decimal_comma: bool) -> bytes:
    """What the number parser sees: quotes dropped, CR as blank, decimal commas as points."""
    if b"\r" in chunk:
        chunk = chunk.replace(b"\r", b" ")
    if b'"' in chunk or b"'" in chunk:
        chunk = chunk.replace(b'"', b"").replace(b"'", b"")
    if decimal_comma:
        chunk = chunk.replace(b",", b".")
    return chunk


def _file_line(path: Path, number: int) -> str:
    """Line ``number`` (1-based) of a text file as written (decompressed), for an error message;
    read again from the file, on the error path only, so a large file is not held twice."""
    with open(path, "rb") as f:
        gz = f.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC
    with gzip.open(path, "rb") if gz else open(path, "rb") as f:
        for k, line in enumerate(f, 1):
            if k == number:
                return line.decode("utf-8", errors="replace").strip()
    return ""


def _raise_first_bad_cell(
    path: Path, chunk: bytes, clean: bytes, first_line: int, delim: str | None, n_cols: int
) -> None:
    """The slow path, run only after the fast parse failed: name the line and the cell."""
    raw_lines = chunk.split(b"\n")
    for k, line in enumerate(clean.split(b"\n")):
        if not any(b > 32 for b in raw_lines[k]):
            continue  # blank in the file, so skipped by the fast path too
        text = line.decode("utf-8", errors="replace")
        # only the blanks the fast parse skips: a no-break space is part of the cell
        cells = [c.strip(" \t\r") for c in text.split(delim)] if delim else text.split()
        where = f"line {first_line + k}"
        if len(cells) != n_cols:
            shown = text.strip()[:60]
            raise InputError(path, where, f"expected {n_cols} columns, got {len(cells)}: '{shown}'")
        for cell in cells:
            if (cell or delim is None) and not _NUMBER.fullmatch(cell):
                raise InputError(
                    path, where, f"expected {n_cols} numeric columns, got '{cell[:40]}'"
                )


_GAP_CONTEXT = 8  # samples each side of a long interval that vote on how many are missing
_STEADY_WINDOW = 256  # samples per window in which a coarse clock must stay steady
_GAP_PASSES = 6  # at most this many refinements of (which long intervals are gaps, the period)


def _missing_at(
    times: np.ndarray, gaps: np.ndarray, period: float, walls: np.ndarray
) -> np.ndarray:
    """Whole sample periods missing at each long interval (0: it was clock jitter).

    Loggers that stamp each sample with a host or microcontroller clock (micros(), the PC's
    time) scatter the intervals around the true period, so one long interval says little.
    Missing samples instead shift every later timestamp by whole periods: compare where the
    samples just before and just after the interval sit relative to a steady grid (the mean
    of up to `_GAP_CONTEXT` on each side, never reaching across a wall: another interval
    already known to be a gap).
    """
    n = times.size
    off = times / period - np.arange(n)
    c = np.concatenate(([0.0], np.cumsum(off - off[0])))  # sums of offsets over index ranges
    before = np.searchsorted(walls, gaps, side="left") - 1
    after = np.searchsorted(walls, gaps, side="right")
    ends = np.concatenate(([-1], walls, [n - 1]))
    wall_b, wall_a = ends[before + 1], ends[after + 1]
    lo = np.maximum(wall_b + 1, gaps - _GAP_CONTEXT + 1)  # first sample before
    hi = np.minimum(wall_a, gaps + _GAP_CONTEXT)  # last sample after
    off_b = (c[gaps + 1] - c[lo]) / (gaps + 1 - lo)
    off_a = (c[hi + 1] - c[gaps + 1]) / (hi - gaps)
    return np.maximum(np.rint(off_a - off_b), 0).astype(np.int64)


def _coarse_clock_tick(times: np.ndarray, d: np.ndarray) -> float | None:
    """What a steady clock too coarse or too jittery to time each sample can be off by, or None.

    An Arduino loop stamping its samples with millis() at 800 Hz writes intervals of 1 and 2 ms
    (at 2 kHz, 0 and 1 ms): every interval a whole number of ticks, the median a tick rather
    than the sampling period, repeats where several samples share a tick. A micros() stamp
    taken whenever the loop gets round to it scatters around the period instead, now and then
    repeating a value. Read as a fine clock that is a gap at every long interval, or an error at
    every repeat; the rate is in fact the mean interval. What tells it from a fine clock that
    lost many single samples, or from rows written twice (same intervals): its stamps stay
    within a tick (or, for a jittery clock, a period) of a steady line, where lost or doubled
    rows wander by several (checked in windows of ``_STEADY_WINDOW`` samples, so a real gap
    spoils only its own window). Returns the tick, or the period for a jittery clock.
    """
    if d.size < 2 * _STEADY_WINDOW:
        return None
    # the common case first, cheaply (this runs on every time column, 29M steps a night):
    # no repeats and hardly a step longer than the median (gaps), so the usual path handles it,
    # gaps and all. More long steps (a 950 Hz loop's millis() steps 2 ms in one of 20) are a
    # coarse clock only if steady, below.
    ties = bool(np.any(d == 0))
    med = float(np.median(d))
    if not ties and np.count_nonzero(d > 1.5 * med) < 0.01 * d.size:
        return None
    pos = d[d > 0]
    if pos.size == 0:
        return None
    tick = float(pos.min())
    ticks = d / tick
    if np.count_nonzero(np.abs(ticks - np.rint(ticks)) < 0.01) < 0.999 * d.size:
        tick = 0.0  # intervals are not whole ticks: a fine clock with jitter
    # a clock finer than the samples (micros(), whose 4-us ticks are whole too) may still be
    # off by up to a period where the loop was late
    tick = max(tick, float(times[-1] - times[0]) / (times.size - 1)) if ties else tick
    return tick if tick > 0.0 and _stays_steady(times, 1.5 * tick) else None


def _stays_steady(times: np.ndarray, tol: float) -> bool:
    """Whether stamps stay within ``tol`` of a steady line in nearly every window of
    ``_STEADY_WINDOW`` samples (lost or doubled rows wander off it; a real gap spoils only its
    own window)."""
    w = _STEADY_WINDOW
    k = times.size // w
    if k == 0:
        return False
    pick = np.linspace(0, k - 1, min(k, 400)).astype(np.int64)  # at most 400 windows looked at
    win = times[: k * w].reshape(k, w)[pick]
    win = win - win[:, :1]  # relative times: no precision lost to a large start
    x = np.arange(w) - (w - 1) / 2.0
    slope = (win @ x) / float(x @ x)
    resid = win - win.mean(axis=1, keepdims=True) - slope[:, None] * x
    steady = (resid.max(axis=1) - resid.min(axis=1)) <= tol
    return bool(np.count_nonzero(steady) >= 0.9 * len(pick))


_MAX_GAP_S = 86_400.0  # a pause in a recording longer than a day is taken for a corrupt time


def _find_gaps(
    times: np.ndarray, step: float, slack: float = 0.0
) -> tuple[np.ndarray, np.ndarray, float]:
    """Gaps (index of the sample before each), samples missing at each, and the period.

    With jittered clocks one interval in ten may be 1.5 periods long, so the first count is
    made with short windows walled by every long interval; later passes wall only the
    confirmed gaps and use the period implied by the whole span, which is far more exact
    than the median interval the first pass starts from. ``slack``: what the clock's own ticks
    can add to an interval (a coarse clock's resolution), never a sign of a missing sample.
    """
    d = np.diff(times)
    cand = np.flatnonzero(d > 1.5 * step + slack)
    span = float(times[-1] - times[0])
    period, walls = step, cand
    missing = np.zeros(cand.size, dtype=np.int64)
    for _ in range(_GAP_PASSES if cand.size else 0):
        before = missing
        missing = _missing_at(times, cand, period, walls)
        # settled when neither the gaps nor their sizes move (a first period from the mean
        # interval, which the gaps themselves lengthen, needs a second pass to count them)
        settled = np.array_equal(walls, cand[missing > 0]) and np.array_equal(before, missing)
        walls = cand[missing > 0]
        period = span / (times.size - 1 + int(missing.sum()))
        if settled:
            break
    keep = missing > 0
    return cand[keep], missing[keep], span / (times.size - 1 + int(missing.sum()))


def _not_increasing(
    path: Path, times: np.ndarray, d: np.ndarray, row_lines: _RowLines
) -> InputError:
    """The error for a time column that repeats or goes back, at its first step back if any."""
    i = int(np.flatnonzero(d < 0 if d.min() < 0 else d == 0)[0]) + 1
    n_dup = int(np.count_nonzero(d == 0))
    n_back = int(np.count_nonzero(d < 0))
    return InputError(
        path,
        f"line {row_lines(i)}",
        f"time {times[i]:.6g} s does not increase after {times[i - 1]:.6g} s "
        f"({n_dup} repeated, {n_back} backwards timestamps in the file); "
        "fix the time column or drop it and pass --fs",
    )


_RECEIPT_AGREEMENT = 0.05  # share of the receipt times' span a sketch's clock must match


def _sketch_clock(path: Path, names: list[str], table: np.ndarray) -> tuple[int | None, float]:
    """The payload's first column when a sketch prints its own clock or sample counter before
    its values (``12:34:56.789 -> 1042,512,498``): analysed as a channel it would be a ramp.

    Found as in any CSV (by the banner's name for it, else as a first column that counts or
    rises steadily), then read in the unit (s, ms, us; or the one its name states) whose span
    matches the receipt times' within ``_RECEIPT_AGREEMENT``: that clock timed the samples, the
    PC's stamps only their arrival. Returns (column, scale to seconds); (column,
    ``_SAMPLE_COUNTER``) for a counter or a clock the receipt times do not confirm, which is not
    analysed; (None, 1.0) for a first value that is a signal.
    """
    col = 1  # column 0 holds the receipt times
    if table.shape[1] < 3:
        return None, 1.0  # a lone value is the signal
    role = _time_roles(names[col : col + 1]).get(0)
    stated = role is not None and role > 0 and _normalise_name(names[col]) not in _TIME_WORDS
    if role is None:
        found, role = _time_column(path, None, table[:, col:])
        if found is None:
            return None, 1.0
    receipt = float(table[-1, 0] - table[0, 0])
    rise = float(table[-1, col] - table[0, col])
    units = {1.0: "seconds", **{factor: unit for unit, factor in _SUBUNITS}}
    for scale in (role,) if stated else tuple(units):
        if abs(rise * scale - receipt) <= _RECEIPT_AGREEMENT * receipt:
            log.warning(
                "%s: the first value of each line ('%s') is the sketch's own clock, read in %s: "
                "it times the samples, not the PC's receipt stamps",
                path,
                names[col],
                units[scale],
            )
            return col, scale
    log.warning(
        "%s: the first value of each line ('%s') counts samples or is a clock the PC's receipt "
        "times do not confirm: not analysed as a channel",
        path,
        names[col],
    )
    return col, _SAMPLE_COUNTER


def _rate_from_receipt_times(
    path: Path, times: np.ndarray, fs: float | None, row_lines: _RowLines, time_name: str
) -> float:
    """Sampling rate from times a PC stamped lines with as they arrived (Serial Monitor).

    The serial link delivers samples in bursts, many to one millisecond, on the PC's clock: the
    stamps place no single sample and cannot show a lost one, but their span over the rows
    gives the rate (or ``fs`` does, when given): from the first row of the first stamp to the
    first row of the last one, so the last burst's rows do not count as if spread over its
    millisecond. A step back is still an error.
    """
    d = np.diff(times)
    if d.size and d.min() < 0:
        raise _not_increasing(path, times, d, row_lines)
    span = float(times[-1] - times[0])
    if fs is None and not span > 0:
        raise InputError(path, None, f"all lines received at one '{time_name}': pass --fs")
    pause = _receipt_pause(d)
    if pause is not None and fs is None:
        raise InputError(
            path,
            f"line {row_lines(pause + 1)}",
            f"the PC received nothing for {d[pause]:.3g} s before this line (a stall): the "
            "receipt times cannot give the rate; pass --fs",
        )
    last_burst = int(np.searchsorted(times, times[-1], side="left"))
    rate = float(fs) if fs is not None else last_burst / span
    stalled = ""
    if pause is not None:
        stalled = (
            f"; the PC received nothing for {d[pause]:.3g} s before line {row_lines(pause + 1)} "
            "(samples lost there would shift the later ones)"
        )
    log.warning(  # once: the user should know where the rate came from
        "%s: '%s' holds the PC's receipt times (Arduino Serial Monitor), not the sample clock; "
        "rate %.6g Hz %s, samples placed evenly%s",
        path,
        time_name,
        rate,
        "as --fs says" if fs is not None else "taken from their span",
        stalled,
    )
    return rate


# A stall in the PC's receipt times: a step between distinct stamps longer than this many
# seconds and this many times their median step. USB delivers lines in bursts a few to some
# tens of ms apart; a step of half a second and twenty bursts is the PC not receiving (a stalled
# port, a sleeping laptop), and the rate from the span would take it for slow sampling.
_RECEIPT_PAUSE_S = 0.5
_RECEIPT_PAUSE_STEPS = 20.0


def _receipt_pause(d: np.ndarray) -> int | None:
    """Index of the first step in receipt times that is a stall (see ``_RECEIPT_PAUSE_S``)."""
    steps = d[d > 0]
    if steps.size == 0:
        return None
    limit = max(_RECEIPT_PAUSE_S, _RECEIPT_PAUSE_STEPS * float(np.median(steps)))
    long = np.flatnonzero(d > limit)
    return int(long[0]) if long.size else None


def _regularise_times(
    path: Path,
    times: np.ndarray,
    data: np.ndarray,
    fs: float | None,
    row_lines: _RowLines,
    time_name: str,
    *,
    counter: bool = False,
) -> tuple[float, np.ndarray]:
    """Sampling rate from the time column; gaps become NaN samples so no sample moves in time.
    ``counter``: the times are a sample counter over the rate (never a coarse clock).

    Repeated or backwards timestamps cannot be placed without guessing, so they are an error.
    """
    n = times.size
    if not (np.isfinite(times.min()) and np.isfinite(times.max())):
        i = int(np.flatnonzero(~np.isfinite(times))[0])
        raise InputError(
            path, f"line {row_lines(i)}", f"time '{time_name}' is empty or not a number"
        )
    if n < 2:
        if fs is None:
            raise InputError(path, None, "only one row: cannot infer the sampling rate; pass --fs")
        return float(fs), data
    with np.errstate(over="ignore", invalid="ignore"):
        d = np.diff(times)
    tick = _coarse_clock_tick(times, d) if d.min() >= 0 and not counter else None
    if tick is None and not d.min() > 0:
        raise _not_increasing(path, times, d, row_lines)
    if tick is None:
        gaps, missing, period = _find_gaps(times, float(np.median(d)))
    else:
        # the median interval is one tick, not one sample period: start from the mean
        gaps, missing, period = _find_gaps(times, float(times[-1] - times[0]) / (n - 1), tick)
        repeats = int(np.count_nonzero(d == 0))
        log.warning(  # once: the stamps cannot place single samples, so none is placed by them
            "%s: time column '%s' has %s (a clock too coarse or too jittery to time single "
            "samples); rate %.6g Hz taken from its span, samples placed evenly",
            path,
            time_name,
            f"{repeats} repeated stamps and uneven steps" if repeats else "uneven steps",
            1.0 / period,
        )
    rate = 1.0 / period
    del d
    if not (np.isfinite(rate) and rate >= FS_READABLE_MIN_HZ):
        hint = ""
        if np.isfinite(rate) and rate * 1000 >= FS_READABLE_MIN_HZ:
            hint = " (milliseconds? name the column time_ms)"
        raise InputError(
            path,
            None,
            f"time column '{time_name}' gives {rate:.3g} Hz, too slow for EMG{hint}; "
            "or drop it and pass --fs",
        )
    if fs is not None:
        if abs(fs - rate) > _TIMING_TOLERANCE * rate:
            raise InputError(
                path,
                None,
                f"--fs {fs:g} Hz disagrees with the time column '{time_name}' ({rate:.6g} Hz); "
                "drop --fs or fix the file",
            )
        rate = float(fs)
    elif abs(rate - round(rate)) < 1e-6 * rate:
        rate = float(round(rate))
    if times[0] != 0:
        log.info(
            "%s: time column starts at %.6g s; recording times count from there", path, times[0]
        )
    if gaps.size:
        jumps = times[gaps + 1] - times[gaps]
        if jumps.max() > _MAX_GAP_S:  # filling it would take memory for days of samples
            j = int(np.argmax(jumps))
            raise InputError(
                path,
                f"line {row_lines(int(gaps[j]) + 1)}",
                f"time '{time_name}' jumps by {jumps[j]:.4g} s (more than a day): a corrupted "
                "timestamp? fix it, split the file there, or drop the time column and pass --fs",
            )
        # each gap holds whole missing periods; every other interval is one period (its jitter
        # must not move a sample into its neighbour's slot)
        shift = np.zeros(n, dtype=np.int64)
        shift[gaps + 1] = missing
        slots = np.arange(n, dtype=np.int64) + np.cumsum(shift)
        log.warning(
            "%s: %d gaps in the time column (first at line %d, longest %.3g s, %d samples missing) "
            "filled with NaN so later samples keep their times",
            path,
            gaps.size,
            row_lines(int(gaps[0]) + 1),
            float((times[gaps + 1] - times[gaps]).max()),
            int(slots[-1] + 1 - n),
        )
        filled = np.full((int(slots[-1]) + 1, data.shape[1]), np.nan)
        filled[slots] = data
        return rate, filled
    stride = max(1, n // 1_000_000)  # jitter is a warning, a sample of rows shows it
    idx = np.arange(0, n, stride)
    drift = float(np.abs((times[idx] - times[0]) * rate - idx).max())
    if drift > 0.5 + (tick or 0.0) * rate:  # a coarse clock's own ticks are not wandering
        log.warning(
            "%s: timestamps wander up to %.3g samples from a steady %.6g Hz; samples are placed "
            "on the steady grid",
            path,
            drift,
            rate,
        )
    return rate, data


def _read_sidecar(side: Path) -> list[Annotation]:
    return read_annotation_csv(side) if side.exists() else []


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # text as Windows tools save it


def text_encoding(head: bytes) -> str:
    """The encoding to read a text file by its first bytes: UTF-16 with its byte-order mark,
    else UTF-8 (a BOM a spreadsheet may have added is skipped)."""
    return "utf-16" if head[:2] in UTF16_BOMS else "utf-8-sig"


def read_annotation_csv(side: Path) -> list[Annotation]:
    """Annotations as emgwatch writes them beside a CSV recording (onset,duration,description,
    channel; seconds from the recording's start)."""
    if side.is_dir():
        raise InputError(side, None, "expected the recording's annotation file, found a directory")
    raw = side.read_bytes()
    encoding = text_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        what = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise InputError(side, f"byte {e.start}", f"expected {what} text") from None
    del raw
    body = text.lstrip("\r\n \t")  # blank lines before the header, as some exports leave
    if text and not body:
        raise InputError(
            side, None, "only blank lines: expected a header onset,duration,description"
        )
    head_line = 1 + text[: len(text) - len(body)].count("\n")
    out: list[Annotation] = []
    with io.StringIO(body, newline="") as f:
        reader = csv.DictReader(f)
        try:
            fields = set(reader.fieldnames or [])
        except csv.Error as e:
            raise InputError(side, f"line {head_line}", f"not a CSV header: {e}") from None
        if not {"onset", "description"} <= fields:
            raise InputError(
                side, f"line {head_line}", "expected header onset,duration,description,channel"
            )
        rows = enumerate(reader, start=head_line + 1)
        k = head_line
        while True:
            try:
                k, row = next(rows)
            except StopIteration:
                break
            except csv.Error as e:  # a field beyond the csv module's limit, a stray NUL
                raise InputError(side, f"line {k + 1}", f"not a CSV row: {e}") from None
            try:
                onset = float(row["onset"])
                duration = float(row.get("duration") or 0.0)
            except (TypeError, ValueError):
                raise InputError(side, f"line {k}", f"onset/duration not numbers: {row}") from None
            if not (math.isfinite(onset) and math.isfinite(duration) and duration >= 0):
                raise InputError(
                    side, f"line {k}", f"expected a finite onset and duration >= 0, got {row}"
                )
            out.append(
                Annotation(
                    onset, duration, row.get("description") or "", row.get("channel") or None
                )
            )
    return out


def _csv_header_name(name: str, units: str, sensor: str = "unknown") -> str:
    """'ch1' -> 'ch1 (uV envelope)': what the reader needs, readable by a person."""
    said = _split_unit_suffix(name)
    words = []
    if units != "unknown" and said[1] != units:
        words.append(units)
    if sensor != "unknown" and (said[2] or _sensor_from_name(said[0])) != sensor:
        words.append(sensor)
    return f"{name} ({' '.join(words)})" if words else name


class CsvWriter:
    """Writes a CSV recording block by block, so a long night never has to be one array.

    State is real: the open file and the number of samples written (which gives the times).
    The file appears under its name only when :meth:`close` succeeds, so a crash leaves no
    half-written recording that looks complete (``outfile.replaced_when_done``, held open from
    here to :meth:`close` or :meth:`abort`).
    """

    _ROWS_PER_WRITE = 100_000

    def __init__(
        self,
        path: str | Path,
        fs: float,
        channel_names: list[str],
        units: str = "unknown",
        sensor: str = "unknown",
    ) -> None:
        self.path = Path(path)
        self.fs = float(fs)
        self.n_channels = len(channel_names)
        self.n_samples = 0
        names = [_csv_header_name(n, units, sensor) for n in channel_names]
        for n in names:
            if any(c in n for c in ',;\t\n"'):
                raise UsageError(f"channel name {n!r} cannot be a CSV column name")
        sep = "\t" if self.path.suffix.lower() == ".tsv" else ","
        self._row_fmt = "%.12g" + f"{sep}%.7g" * self.n_channels + "\n"
        self._done = ExitStack()
        self._file = self._done.enter_context(replaced_when_done(self.path)).open("wb")
        self._file.write(sep.join(["time_s", *names]).encode("utf-8") + b"\n")

    def write(self, data: np.ndarray) -> None:
        """Append samples ``data[n, channels]`` (printf over 100 000-row blocks, no row loop)."""
        data = np.asarray(data, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.n_channels:
            raise ValueError(f"expected (n, {self.n_channels}) samples, got {data.shape}")
        for i in range(0, data.shape[0], self._ROWS_PER_WRITE):
            part = data[i : i + self._ROWS_PER_WRITE]
            block = np.empty((part.shape[0], self.n_channels + 1))
            block[:, 0] = np.arange(self.n_samples, self.n_samples + part.shape[0]) / self.fs
            block[:, 1:] = part
            text = (self._row_fmt * part.shape[0]) % tuple(block.ravel().tolist())
            self._file.write(text.encode("ascii"))
            self.n_samples += part.shape[0]

    def close(self, annotations: list[Annotation] | None = None) -> None:
        """Finish the file and write (or remove a stale) annotation sidecar."""
        self._file.close()
        self._done.close()  # the file takes its name
        _write_sidecar(annotations_sidecar(self.path), annotations or [])

    def abort(self) -> None:
        """Drop what was written (after an error)."""
        self._file.close()
        self._done.__exit__(RuntimeError, RuntimeError("aborted"), None)  # removes the file

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        """Leaving the block normally closes the file (no annotations); an error drops it."""
        if exc_type is not None:
            self.abort()
        elif not self._file.closed:
            self.close()


def _write_sidecar(side: Path, annotations: list[Annotation]) -> None:
    if not annotations:
        if side.exists():
            side.unlink()
            log.info("removed stale annotation sidecar %s", side)
        return
    with side.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["onset", "duration", "description", "channel"])
        for a in annotations:
            w.writerow([f"{a.onset:.12g}", f"{a.duration:.12g}", a.description, a.channel or ""])


def _write_csv(path: Path, rec: Recording) -> None:
    with CsvWriter(path, rec.fs, rec.channel_names, rec.units, rec.sensor) as writer:
        writer.write(rec.data)
        writer.close(rec.annotations)


# --- EDF -----------------------------------------------------------------------------------------


def _edf_ascii(text: str) -> str:
    """EDF header fields are ASCII: 'łydka µV' -> 'ydka uV' rather than a crash."""
    text = text.replace("µ", "u").replace("μ", "u")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").strip()


def _edf_units(dimension: str) -> str | None:
    d = dimension.strip()
    if not d:
        return None
    return _UNIT_WORDS.get(_normalise_name(d)) or ("uV" if d in ("µV", "μV") else None)


EDF_PADDING_LABEL = "emgwatch padding"  # EDF+ annotation over samples added to fill a record
_NICE_RECORD_S = (1, 0.5, 0.25, 0.2, 0.1, 2, 5, 10, 20, 50, 100)


def _fits_edf_field(record_s: float, spr: int, fs: float) -> bool:
    text = f"{record_s:.8g}"
    return len(text) <= 8 and abs(float(text) * fs - spr) < 1e-6


def _edf_record_layout(n: int, fs: float) -> tuple[int, float]:
    """Samples per data record and record duration: about a second, whole samples, a duration
    that fits EDF's 8-character field, and (when possible) dividing the length exactly so the
    file holds exactly the recording."""
    per_s = max(1, int(round(fs)))
    for spr in range(per_s, max(1, per_s // 20) - 1, -1):
        if n % spr == 0 and _fits_edf_field(spr / fs, spr, fs):
            return spr, float(f"{spr / fs:.8g}")
    for record_s in _NICE_RECORD_S:
        spr = int(round(fs * record_s))
        if spr >= 1 and abs(fs * record_s - spr) < 1e-6:
            return spr, float(record_s)  # padded to whole records
    record_s = float(f"{per_s / fs:.6f}")
    log.warning("EDF cannot hold %.9g Hz exactly; written as %.9g Hz", fs, per_s / record_s)
    return per_s, record_s


def _write_edf(path: Path, rec: Recording) -> None:
    """EDF+ with episodes as annotations ('spasm ch1'), 16-bit digital, physical range from data."""
    n = rec.n_samples
    if n == 0:
        raise ValueError("cannot write an empty recording to EDF")
    spr, record_s = _edf_record_layout(n, rec.fs)
    pad = (-n) % spr
    unit = _UNIT_WORDS.get(_normalise_name(rec.units), rec.units)
    dimension = _EDF_DIMENSION.get(unit, _edf_ascii(unit)[:8])
    labels = {
        name: _edf_ascii(name)[:16] or f"ch{i + 1}" for i, name in enumerate(rec.channel_names)
    }
    for name, label in labels.items():
        if label != name:
            log.warning(
                "%s: channel %r is written as %r (EDF labels: 16 ASCII characters)",
                path,
                name,
                label,
            )
    transducer = f"surface EMG {rec.sensor}" if rec.sensor != "unknown" else "surface EMG"
    signals = []
    for i, name in enumerate(rec.channel_names):
        x = np.asarray(rec.data[:, i], dtype=np.float64)
        nan = np.isnan(x)
        lo, hi = (float(np.nanmin(x)), float(np.nanmax(x))) if not nan.all() else (0.0, 0.0)
        if nan.any():
            x = np.where(nan, (lo + hi) / 2, x)
            log.warning(
                "%s: %d NaN samples of %s written as %g (EDF has no NaN)",
                path,
                int(nan.sum()),
                name,
                (lo + hi) / 2,
            )
        if not np.isfinite([lo, hi]).all():
            raise ValueError(f"channel {name} has infinite values; EDF cannot store them")
        digital = (-32768, 32767)
        if rec.units == "adc" and lo >= 0 and hi <= ADC_MAX and np.all(x == np.round(x)):
            lo, hi, digital = 0.0, float(ADC_MAX), (0, ADC_MAX)  # counts stored losslessly
        elif hi <= lo:
            lo, hi = lo - 1.0, hi + 1.0
        if pad:
            x = np.concatenate([x, np.full(pad, x[-1])])
        signals.append(
            edfio.EdfSignal(
                x,
                sampling_frequency=spr / record_s,
                label=labels[name],
                transducer_type=transducer,
                physical_dimension=dimension,
                physical_range=(lo, hi),
                digital_range=digital,
            )
        )
    annotations = [
        edfio.EdfAnnotation(
            a.onset,
            a.duration if a.duration > 0 else None,
            f"{a.description} {labels.get(a.channel, a.channel)}" if a.channel else a.description,
        )
        for a in rec.annotations
    ]
    if pad:
        # EDF stores whole data records; the tail is marked so our reader trims it again and
        # other readers show it for what it is.
        annotations.append(edfio.EdfAnnotation(n / rec.fs, pad / rec.fs, EDF_PADDING_LABEL))
        log.info("%s: %d samples of marked padding complete the last EDF data record", path, pad)
    kwargs: dict = {}
    if rec.start_time is not None:
        kwargs["starttime"] = rec.start_time.time().replace(microsecond=0)
        kwargs["recording"] = edfio.Recording(startdate=rec.start_time.date())
    edf = edfio.Edf(signals, data_record_duration=record_s, annotations=annotations, **kwargs)
    with replaced_when_done(path) as tmp:
        edf.write(tmp)


def check_edf_header(path: Path) -> None:
    """Catch truncated or corrupt files before the library does, to say at which byte."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(256)
        if len(head) < 256:
            raise InputError(
                path, f"byte {len(head)}", f"not an EDF file: header is 256 bytes, file has {size}"
            )
        if head[:8] == b"\xffBIOSEMI":  # 24-bit samples; read as 16-bit EDF they would be noise
            raise InputError(
                path,
                "byte 0",
                "a BDF (24-bit) file; emgwatch reads EDF and EDF+ (16-bit): convert it, "
                "e.g. with EDFbrowser",
            )
        if head[:8] != b"0       ":
            raise InputError(path, "byte 0", f"not an EDF file (version field {head[:8]!r})")

        def field(a: int, b: int, what: str) -> int:
            text = head[a:b].decode("ascii", errors="replace").strip()
            try:
                return int(text)
            except ValueError:
                raise InputError(path, f"byte {a}", f"{what} is not a number: '{text}'") from None

        n_records = field(236, 244, "number of data records")
        ns = field(252, 256, "number of signals")
        if ns < 1:
            raise InputError(path, "byte 252", "EDF file declares no signals")
        header_bytes = 256 * (ns + 1)
        sig = f.read(256 * ns)
        if len(sig) < 256 * ns:
            raise InputError(
                path,
                f"byte {256 + len(sig)}",
                f"signal headers are truncated (file has {size} bytes, header needs {header_bytes})",
            )

    def at(field_off: int, i: int) -> str:
        """Where signal i's 8-byte field starts (each field holds all signals in turn)."""
        return f"byte {256 + ns * field_off + 8 * i}"

    def number(i: int, field_off: int, what: str, kind: type = float) -> float:
        start = ns * field_off + 8 * i
        text = sig[start : start + 8].decode("ascii", errors="replace").strip()
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(
                path, at(field_off, i), f"{what} of signal {i + 1} is not a number: '{text}'"
            )
        return value

    spr = []
    for i in range(ns):
        pmin = number(i, 104, "physical minimum")
        pmax = number(i, 112, "physical maximum")
        dmin = number(i, 120, "digital minimum", int)
        dmax = number(i, 128, "digital maximum", int)
        n = int(number(i, 216, "samples per record", int))
        if pmin == pmax:
            raise InputError(path, at(104, i), f"signal {i + 1}: physical minimum = maximum")
        if not -32768 <= dmin < dmax <= 32767:
            raise InputError(
                path,
                at(120, i),
                f"signal {i + 1}: digital range {dmin:g}..{dmax:g} is not a 16-bit min < max",
            )
        if n < 1:
            raise InputError(path, at(216, i), f"signal {i + 1}: {n} samples per record")
        spr.append(n)
    said_bytes = field(184, 192, "number of header bytes")
    if said_bytes != header_bytes:
        raise InputError(
            path,
            "byte 184",
            f"header size says {said_bytes} bytes; with {ns} signals it is {header_bytes}",
        )
    duration = head[244:252].decode("ascii", errors="replace").strip()
    try:
        record_s = float(duration)
    except ValueError:
        record_s = math.nan
    labels = [sig[16 * i : 16 * i + 16].strip() for i in range(ns)]
    only_annotations = all(lab == b"EDF Annotations" for lab in labels)  # may last 0 s (EDF+)
    if not (math.isfinite(record_s) and record_s > 0) and n_records != 0 and not only_annotations:
        raise InputError(
            path, "byte 244", f"record duration must be a number of seconds > 0, got '{duration}'"
        )
    record_bytes = sum(spr) * 2
    if n_records >= 0:
        expected = header_bytes + n_records * record_bytes
        if size < expected:
            complete = (size - header_bytes) // record_bytes if record_bytes else 0
            raise InputError(
                path,
                f"byte {size}",
                f"file is truncated: header promises {n_records} data records ({expected} bytes), "
                f"file has {size} bytes ({max(0, complete)} complete records)",
            )
        if n_records > 0 and size - expected >= record_bytes:
            raise InputError(
                path,
                "byte 236",
                f"header promises {n_records} data records of {record_bytes} bytes, but the file "
                f"holds {(size - header_bytes) / record_bytes:.4g}: the number of records or the "
                "samples per record are wrong",
            )


def split_channel_label(text: str, labels_longest_first: list[str]) -> tuple[str, str | None]:
    """An EDF+ annotation's text and its channel: emgwatch writes "<description> <label>", so
    a trailing word equal to a signal's label (the longest that fits) is taken for the channel."""
    for name in labels_longest_first:
        if name and text.endswith(" " + name):
            return text[: -len(name) - 1].rstrip(), name
    return text, None


def _read_edf(path: Path, *, fs: float | None, channel: str | int | None) -> Recording:
    check_edf_header(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rec = _read_edf_checked(path, fs=fs, channel=channel)
        except InputError:
            raise
        except Exception as e:  # the library's many ways of saying "corrupt"
            raise InputError(path, None, f"not a readable EDF file: {e}") from None
    for w in caught:
        log.warning("%s: %s", path, w.message)
    return rec


# Words that name a surface-EMG signal in EDF labels: polysomnography writes leg EMG as "LAT" /
# "RAT" (left/right anterior tibialis) or "Leg L", chin EMG as "Chin", often without "EMG".
_EMG_LABEL_WORDS = frozenset({"emg", "lat", "rat", "tib", "tibialis", "leg", "legs", "chin", "myo"})
# ... and run together with a side or a number: "LLEG", "RLeg2", "PLMl", "LTIB", "EMG1", "LEMG"
_EMG_LABEL_STEMS = ("leg", "emg", "plm", "tib", "chin")
# words of the other signals of a sleep study, which are not EMG whatever else the label says
_NOT_EMG_WORDS = ("eeg", "eog", "ecg", "ekg", "spo", "sao", "resp", "pleth", "thor", "abd")


def _names_another_signal(label: str) -> bool:
    """Whether an EDF label names EEG, EOG, ECG, SpO2, breathing...: not EMG."""
    return any(w.startswith(_NOT_EMG_WORDS) for w in re.findall(r"[a-z]+", label.lower()))


def _looks_like_emg(label: str, transducer: str) -> bool:
    """Whether an EDF signal is EMG by its label or transducer (EEG, EOG, ECG... are not)."""
    words = re.findall(r"[a-z]+", label.lower())
    if _names_another_signal(label):
        return False
    stems = (w for w in words if w.startswith(_EMG_LABEL_STEMS) or w.endswith(_EMG_LABEL_STEMS))
    return bool(set(words) & _EMG_LABEL_WORDS) or any(stems) or "emg" in transducer.lower()


def _physical_values(signals: list, chosen: list[int]) -> np.ndarray:
    """The chosen signals in physical units, (samples, channels) float64.

    Calibrated in place from the 16-bit digital values with EDF's formula, as edfio does, but
    without its temporaries: an 8-hour 1 kHz channel takes 0.1 s and 290 MB at peak instead of
    0.7 s and 520 MB.
    """
    n = len(signals[chosen[0]].digital)
    data = np.empty((n, len(chosen)))
    for k, i in enumerate(chosen):
        s = signals[i]
        if s.digital_max == s.digital_min or s.physical_max == s.physical_min:
            data[:, k] = s.data  # no range to scale by: edfio's uncalibrated values, and warning
            continue
        gain = (s.physical_max - s.physical_min) / (s.digital_max - s.digital_min)
        np.add(s.digital, s.physical_max / gain - s.digital_max, out=data[:, k])
        data[:, k] *= gain
    return data


def _read_edf_checked(path: Path, *, fs: float | None, channel: str | int | None) -> Recording:
    edf = edfio.read_edf(path, lazy_load_data=True)
    signals = list(edf.signals)
    if not signals:
        raise InputError(
            path,
            None,
            "EDF file has no signal channel, only annotations: if it is a recording's scoring "
            "(a hypnogram), pass it with --annotations beside that recording",
        )
    labels = [s.label.strip() for s in signals]
    rates = [float(s.sampling_frequency) for s in signals]
    pick = _pick_channel(path, labels, channel)
    if pick is not None:
        chosen = [pick]
        if not rates[pick] >= FS_READABLE_MIN_HZ:
            raise InputError(
                path, None, f"channel '{labels[pick]}' is sampled at {rates[pick]:g} Hz: not EMG"
            )
    else:
        usable = [i for i, r in enumerate(rates) if r >= FS_READABLE_MIN_HZ]
        if not usable:
            raise InputError(
                path,
                None,
                f"EDF file has no usable channel: none sampled at {FS_READABLE_MIN_HZ:g} Hz or "
                f"more ({', '.join(f'{n} {r:g} Hz' for n, r in zip(labels, rates, strict=True))})",
            )
        emg = [i for i in usable if _looks_like_emg(labels[i], signals[i].transducer_type)]
        pool = emg or [i for i in usable if not _names_another_signal(labels[i])] or usable
        top = max(rates[i] for i in pool)
        chosen = [i for i in pool if rates[i] == top]
        skipped = [labels[i] for i in range(len(signals)) if i not in chosen]
        if skipped and not emg:  # chosen by rate alone: the EMG may be one of the others
            log.warning(
                "%s: no signal's label or transducer says EMG; analysing %s (the fastest, %g Hz), "
                "not %s: pass --channel NAME if the EMG is another",
                path,
                ", ".join(labels[i] for i in chosen),
                top,
                ", ".join(skipped),
            )
        elif skipped:
            log.info(
                "%s: kept %s at %g Hz; skipped %s", path, [labels[i] for i in chosen], top, skipped
            )
        slower = [f"{labels[i]} ({rates[i]:g} Hz)" for i in pool if i not in chosen]
        if slower:  # signals the user may have meant: say so where it is seen
            log.warning(
                "%s: analysing %s at %g Hz; not %s, sampled at another rate: pass --channel "
                "NAME to analyse one of those",
                path,
                ", ".join(labels[i] for i in chosen),
                top,
                ", ".join(slower),
            )
    rate = float(f"{rates[chosen[0]]:.10g}")  # 500, not 499.99999999999994 from 137 / 0.274
    if fs is not None and abs(fs - rate) > _TIMING_TOLERANCE * rate:
        raise InputError(path, None, f"--fs {fs:g} Hz disagrees with the EDF header ({rate:g} Hz)")
    if edf.reserved.startswith("EDF+D") and not edf.is_continuous:
        raise InputError(
            path, "byte 192", "discontinuous EDF+D recording: samples would shift in time"
        )
    data = _physical_values(signals, chosen)
    units = _common_units(path, [_edf_units(signals[i].physical_dimension) for i in chosen], data)
    sensors = {
        s for s in ("envelope", "raw") for i in chosen if s in signals[i].transducer_type.lower()
    }
    sensor = sensors.pop() if len(sensors) == 1 else "unknown"
    by_length = sorted(labels, key=len, reverse=True)
    try:
        edf_annotations = list(edf.annotations)
    except Exception as e:  # the signal does not need them: read it, and say what is lost
        log.warning(
            "%s: the EDF+ annotations are unreadable (%s: %s); the signal is read without them",
            path,
            type(e).__name__,
            e,
        )
        edf_annotations = []
    annotations = []
    for a in edf_annotations:
        text = a.text.strip()
        if not text:
            continue
        if text == EDF_PADDING_LABEL:
            data = data[: int(round(a.onset * rate))]
            continue
        text, ch = split_channel_label(text, by_length)
        annotations.append(Annotation(float(a.onset), float(a.duration or 0.0), text, ch))
    try:
        start_time = edf.startdatetime
    except Exception:  # anonymised start date ("X") in EDF+
        start_time = None
    try:
        made_by = " ".join((edf.recording.equipment_code, *edf.recording.additional))
    except Exception:  # a plain EDF's free-text recording field
        made_by = ""
    return Recording(
        data=data,
        fs=rate,
        channel_names=[labels[i] for i in chosen],
        annotations=annotations,
        units=units,
        sensor=sensor,
        start_time=start_time,
        path=path,
        made_by="" if made_by == "X" else made_by,
    )
