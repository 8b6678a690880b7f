"""Raw recording of a live session as EDF+ files that survive a power cut.

Why our own data-record writer: the maintained libraries cannot do this. edfio writes a whole
file at once; pyedflib/EDFlib appends records but leaves the header's record count at -1 until
``close()`` (its own reader then refuses the file) and writes annotations only at ``close()``,
so a crash loses every annotation. EDF+ is simple enough to append correctly: this module writes
the header once, then complete data records (signal samples plus an "EDF Annotations" signal
carrying the time-keeping TAL and any episode/quality annotations), and after each flush:

1. ``os.write`` of whole records, 2. ``fdatasync``, 3. rewrite the 8-byte record count.

So on disk the count never exceeds the records that are really there; after a crash the file
holds everything up to the last flush (``flush_s``, default 1 s) and edfio, pyedflib and MNE
read it (checked in tests/test_edf_recorder.py by SIGKILLing a writer).

A recorder must never stop the detector: every I/O error (disk full, removed USB stick) is
logged once, the recorder goes to ``status == "failed"``, the file is cut back to its last
complete record, and later calls do nothing.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from emgwatch.block import Block
from emgwatch.domain import ADC_MAX
from emgwatch.episodes import EpisodeEvent
from emgwatch.errors import UsageError

log = logging.getLogger(__name__)

# The header's equipment code, then which command wrote the file (EDF+ allows subfields after
# it): "emgwatch run" files hold detections, "emgwatch simulate" ones the truth (emgwatch.truth)
EQUIPMENT = "emgwatch"
# The annotation texts this recorder writes beside episodes ("spasm ch1"): a revision, a
# quality problem, a gap. Files from before the command was named are told by them.
REVISED_MARK = " (revised, was "
QUALITY_PREFIX = "quality "
GAP_TEXT = "gap"


def written_by_recorder(text: str) -> bool:
    """Whether an annotation is one only this recorder writes (not an episode's plain text)."""
    return REVISED_MARK in text or text.startswith(QUALITY_PREFIX) or text == GAP_TEXT


DIGITAL_MIN, DIGITAL_MAX = -32768, 32767
# Physical range per unit: covers surface EMG up to ~10 mV at 16-bit resolution (0.3 uV steps);
# ADC counts are stored losslessly (digital == physical, see DIGITAL_RANGES).
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "adc": (0.0, float(ADC_MAX)),
    "uV": (-10000.0, 10000.0),
    "mV": (-10.0, 10.0),
    "V": (-0.01, 0.01),
    "unknown": (float(DIGITAL_MIN), float(DIGITAL_MAX)),
}
DIGITAL_RANGES: dict[str, tuple[int, int]] = {"adc": (0, ADC_MAX)}
EDF_DIMENSIONS = {"adc": "adc", "uV": "uV", "mV": "mV", "V": "V", "unknown": ""}
ANNOTATION_BYTES = 128  # per data record: time-keeping TAL + ~2 short annotations per second
ANNOTATION_LABEL = "EDF Annotations"
MAX_PADDED_GAP_S = 10.0  # longer gaps start a new file instead of writing filler samples
_RECORD_DURATIONS_S = (1.0, 2.0, 4.0, 5.0, 10.0, 0.5, 0.25, 0.2, 0.1)


def record_duration_for(fs: float) -> float:
    """Shortest usual record duration holding a whole number of samples at ``fs``."""
    for d in _RECORD_DURATIONS_S:
        n = fs * d
        if abs(n - round(n)) < 1e-6 and round(n) >= 1:
            return d
    raise UsageError(f"cannot record at fs={fs} Hz in EDF+: no record duration gives whole samples")


def _field(value: object, width: int) -> bytes:
    """A left-aligned ASCII header field, cut to width (EDF stores numbers as text)."""
    text = str(value)
    if isinstance(value, float):
        text = f"{value:.6g}" if len(f"{value:.6g}") <= width else f"{value:.{width - 2}g}"
    raw = text.encode("ascii", "replace")[:width]
    return raw.ljust(width, b" ")


def _edf_label(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "_" for c in name)[:16]


def _onset(t: float) -> str:
    s = f"{t:+.3f}".rstrip("0").rstrip(".")
    return s if s not in ("+", "-") else "+0"


def _tal(onset_s: float, duration_s: float, text: str) -> bytes:
    clean = "".join(c for c in text if c not in "\x00\x14\x15")
    dur = f"\x15{duration_s:.3f}".rstrip("0").rstrip(".") if duration_s > 0 else ""
    return f"{_onset(onset_s)}{dur}\x14{clean}\x14\x00".encode()


@dataclass
class _Note:
    """An annotation waiting for the next flush. ``episode`` (its id) and ``written`` (the kind
    the file already holds for it, None when nothing is on disk yet) let a later revision of the
    episode replace it while it is still queued."""

    onset_s: float  # session time
    duration_s: float
    text: str
    episode: str | None = None
    written: str | None = None
    span: str = ""  # "; episode HH:MM:SS-HH:MM:SS UTC" for a revision of one in an earlier file

    def say(self, kind_channel: str) -> None:
        """The text for what the episode is now, against what the file already says."""
        if self.written is None:
            self.text = kind_channel
        else:
            self.text = f"{kind_channel}{REVISED_MARK}{self.written}{self.span})"


class EdfRecorder:
    """Sink that writes every Block of a live session to rotating, crash-safe EDF+ files.

    Times are seconds since ``start_time`` (the session start), as in Blocks and episodes.
    ``on_file(path, start_s)`` is called when a file is started (e.g. to link it in the
    episode log). Blocks with a gap before them get a "gap" annotation and filler samples (up
    to ``MAX_PADDED_GAP_S``; longer gaps start a new file).
    """

    def __init__(
        self,
        directory: str | Path,
        fs: float,
        channel_names: list[str],
        start_time: datetime,
        *,
        rotate_s: float = 4 * 3600.0,
        units: str = "adc",
        rotate_bytes: int | None = None,
        physical_range: tuple[float, float] | None = None,
        flush_s: float = 1.0,
        fsync: bool = True,
        prefix: str = "emgwatch",
        sensor: str = "unknown",
        made_by: str = "run",
        on_file: Callable[[Path, float], Any] | None = None,
    ) -> None:
        if units not in PHYSICAL_RANGES and physical_range is None:
            raise UsageError(f"unknown units {units!r} (known: {', '.join(PHYSICAL_RANGES)})")
        self.directory = Path(directory)
        self.fs = float(fs)
        self.channel_names = list(channel_names)
        self.start_time = start_time if start_time.tzinfo else start_time.replace(tzinfo=UTC)
        self.units = units
        self.prefix = prefix
        self.made_by = made_by  # the command, after EQUIPMENT in the header
        self.sensor = sensor  # "raw" | "envelope" | "unknown": stored in the transducer field
        self.fsync = fsync
        self.on_file = on_file
        self.record_s = record_duration_for(self.fs)
        self.spr = int(round(self.fs * self.record_s))  # samples per record per channel
        n_ch = len(self.channel_names)
        self.record_bytes = 2 * self.spr * n_ch + ANNOTATION_BYTES
        self.header_bytes = 256 * (n_ch + 2)
        limit = max(1, int(rotate_s / self.record_s))
        if rotate_bytes is not None:
            limit = min(limit, max(1, (rotate_bytes - self.header_bytes) // self.record_bytes))
        self.records_per_file = limit
        self.flush_records = max(1, int(math.ceil(flush_s / self.record_s)))
        pmin, pmax = physical_range or PHYSICAL_RANGES[units]
        self.physical_range = (float(pmin), float(pmax))
        self.digital_range = DIGITAL_RANGES.get(units, (DIGITAL_MIN, DIGITAL_MAX))
        dmin, dmax = self.digital_range
        self._gain = (dmax - dmin) / (pmax - pmin)
        self._fill = self._to_digital(np.full((1, n_ch), (pmin + pmax) / 2))[0]

        self.status = "recording"  # "recording" | "failed" | "closed"
        self.error: str | None = None
        self.files: list[Path] = []
        self.dropped_samples = 0
        self._fd: int | None = None
        self._file_t0 = 0.0  # session time of the current file's first sample
        self._file_records = 0
        self._good_size = 0
        self._next_t = 0.0  # session time of the next expected sample
        self._n_total = 0  # samples accepted since the current file segment's t0
        self._segment_t0 = 0.0
        self._chunks: list[np.ndarray] = []
        self._n_pending = 0
        self._annotations: list[_Note] = []
        self._open_quality: dict[tuple[str, str], float] = {}

    # --- conversion ---------------------------------------------------------------------------
    def _to_digital(self, data: np.ndarray) -> np.ndarray:
        pmin = self.physical_range[0]
        dmin, dmax = self.digital_range
        d = np.rint((np.asarray(data, dtype=np.float64) - pmin) * self._gain + dmin)
        np.clip(d, dmin, dmax, out=d)
        d[np.isnan(d)] = (dmin + dmax) // 2
        return d.astype("<i2")

    # --- public sink API ----------------------------------------------------------------------
    def write(self, block: Block) -> None:
        """Queue samples; complete records reach the disk every ``flush_s``. Never raises."""
        if self.status != "recording":
            self.dropped_samples += block.n_samples
            return
        try:
            self._write(block)
        except OSError as e:
            self._fail(e)
        except Exception as e:  # a recorder bug must not stop the detector either
            log.exception("EDF recorder stopped by an unexpected error")
            self._fail(e)

    def annotate(self, onset_s: float, duration_s: float, text: str) -> None:
        """Add an EDF+ annotation; it is on disk with the next flush (<= ``flush_s``)."""
        self._queue(_Note(float(onset_s), max(0.0, float(duration_s)), text))

    def _queue(self, note: _Note) -> None:
        if self.status == "recording":
            self._annotations.append(note)

    def handle(self, event: EpisodeEvent) -> None:
        """Episodes become annotations when they end (their duration is known then).

        A later revision of the kind (a PLM series claimed or released the episode) replaces the
        annotation while it is still queued; once on disk, a second annotation over the same
        span says what the episode became ("plm ch1 (revised, was spasm)"): EDF+ files are
        append-only, and a reader sees both. If the episode began in an earlier file, the
        revision is noted where the current file is, naming the episode's wall-clock span.
        """
        ep = event.episode
        if event.event not in ("end", "update"):
            return
        if event.event == "update" and event.previous == ep.kind:
            return  # only its PLM-series mark changed: the annotation's text stays true
        end = ep.end if ep.end is not None else event.detected_at
        dur = max(0.0, end - ep.start)
        text = f"{ep.kind} {ep.channel}"
        if event.event == "end":
            self._queue(_Note(float(ep.start), dur, text, ep.id))
            return
        queued = next((n for n in self._annotations if n.episode == ep.id), None)
        if queued is not None:  # not on disk yet: say it once, as it is now
            if queued.written == ep.kind:
                # back to what the file already says
                self._annotations = [n for n in self._annotations if n is not queued]
            else:
                queued.say(text)
            return
        if ep.start >= self._file_t0:
            note = _Note(float(ep.start), dur, "", ep.id, event.previous)
        else:  # begun in an earlier file: noted here, naming the episode's wall-clock span
            span = "-".join(
                (self.start_time + timedelta(seconds=x)).astimezone(UTC).strftime("%H:%M:%S")
                for x in (ep.start, end)
            )
            note = _Note(
                max(event.detected_at, self._file_t0),
                0.0,
                "",
                ep.id,
                event.previous,
                f"; episode {span} UTC",
            )
        note.say(text)
        self._queue(note)

    def handle_quality(self, qe: Any) -> None:
        """Quality problems (lead-off, saturation, gaps) become annotated spans."""
        key = (str(qe.kind), str(qe.channel))
        if qe.active:
            self._open_quality.setdefault(key, float(qe.t))
        elif key in self._open_quality:
            t0 = self._open_quality.pop(key)
            self.annotate(t0, float(qe.t) - t0, f"{QUALITY_PREFIX}{key[0]} {key[1]}")

    def close(self) -> None:
        """Write what is queued (the last record padded with filler) and finish the file."""
        if self.status == "recording":
            end_t = self._next_t
            for (kind, ch), t0 in sorted(self._open_quality.items(), key=lambda kv: kv[1]):
                self.annotate(t0, end_t - t0, f"{QUALITY_PREFIX}{kind} {ch}")
            self._open_quality.clear()
            try:
                if self._n_pending or self._annotations:
                    self._flush(final=True)
                self._close_file()
            except OSError as e:
                self._fail(e)
        if self.status != "failed":
            self.status = "closed"

    # --- internals ----------------------------------------------------------------------------
    def _write(self, block: Block) -> None:
        data = block.data
        gap_n = int(round((block.t0 - self._next_t) * self.fs))
        if gap_n > 0 and (self._fd is not None or self._n_pending):
            if gap_n / self.fs > MAX_PADDED_GAP_S:
                self._flush(final=True)
                self._close_file()
                self._start_segment(block.t0)
            else:
                self.annotate(self._next_t, gap_n / self.fs, GAP_TEXT)
                self._append(np.broadcast_to(self._fill, (gap_n, len(self._fill))))
        elif gap_n > 0:
            self._start_segment(block.t0)
        elif gap_n < 0:
            data = data[-gap_n:]  # overlap with samples already written
        if len(data):
            self._append(self._to_digital(data))
        if self._n_pending >= self.flush_records * self.spr:
            self._flush()

    def _start_segment(self, t0: float) -> None:
        self._segment_t0 = self._next_t = self._file_t0 = t0
        self._n_total = 0

    def _append(self, digital: np.ndarray) -> None:
        self._chunks.append(digital)
        self._n_pending += len(digital)
        self._n_total += len(digital)
        self._next_t = self._segment_t0 + self._n_total / self.fs

    def _timekeeping(self, record_index: int) -> bytes:
        return _tal(record_index * self.record_s, 0.0, "")

    def _annotation_tal(self, onset_s: float, duration_s: float, text: str) -> bytes:
        """TAL relative to the current file; a span begun in the previous file is clipped."""
        rel = onset_s - self._file_t0
        if rel < 0:
            duration_s, rel = max(0.0, duration_s + rel), 0.0
        tal = _tal(rel, duration_s, text)
        room = ANNOTATION_BYTES - 16  # leave space for the time-keeping TAL
        if len(tal) <= room:
            return tal
        # too long for one record: shorten the text on a whole UTF-8 character
        keep = room - len(_tal(rel, duration_s, ""))
        short = text.encode()[: max(0, keep)].decode("utf-8", errors="ignore")
        return _tal(rel, duration_s, short)

    def _build_records(self, samples: np.ndarray) -> bytes:
        """Whole data records (samples, then annotation bytes) as one buffer, vectorised."""
        k = len(samples) // self.spr
        n_ch = samples.shape[1]
        out = np.zeros((k, self.record_bytes), dtype=np.uint8)
        sig = samples.reshape(k, self.spr, n_ch).transpose(0, 2, 1)  # record, channel, sample
        out[:, : 2 * self.spr * n_ch] = np.ascontiguousarray(sig).view(np.uint8).reshape(k, -1)
        ann0 = 2 * self.spr * n_ch
        for i in range(k):
            tals = self._timekeeping(self._file_records + i)
            while self._annotations:
                note = self._annotations[0]
                tal = self._annotation_tal(note.onset_s, note.duration_s, note.text)
                if len(tals) + len(tal) > ANNOTATION_BYTES:
                    break
                tals += tal
                self._annotations.pop(0)
            out[i, ann0 : ann0 + len(tals)] = np.frombuffer(tals, dtype=np.uint8)
        return out.tobytes()

    def _flush(self, final: bool = False) -> None:
        if not self._chunks and not (final and self._annotations):
            return
        samples = (
            np.concatenate(self._chunks) if self._chunks else np.empty((0, len(self._fill)), "<i2")
        )
        n_whole = (len(samples) // self.spr) * self.spr
        rest = samples[n_whole:]
        if final and (len(rest) or (self._annotations and not n_whole)):
            pad = self.spr - len(rest)
            samples = np.concatenate(
                [samples, np.broadcast_to(self._fill, (pad, samples.shape[1]))]
            )
            n_whole, rest = len(samples), samples[:0]
        self._chunks = [rest] if len(rest) else []
        self._n_pending = len(rest)
        done = 0
        try:
            while done < n_whole:
                if self._fd is None:
                    self._open_file()
                room = self.records_per_file - self._file_records
                take = min(room, (n_whole - done) // self.spr)
                buf = self._build_records(samples[done : done + take * self.spr])
                self._append_records(buf, take)
                done += take * self.spr
                if self._file_records >= self.records_per_file:
                    self._close_file()
                    self._file_t0 += self.records_per_file * self.record_s
        except OSError:
            self.dropped_samples += n_whole - done
            raise
        if final and self._annotations:  # more annotations than the last records could carry
            n = len(self._annotations)
            filler = np.broadcast_to(self._fill, (self.spr, len(self._fill)))
            for _ in range(n):
                if not self._annotations:
                    break
                if self._fd is None:
                    self._open_file()
                self._append_records(self._build_records(filler), 1)

    def _append_records(self, buf: bytes, n_records: int) -> None:
        assert self._fd is not None
        view = memoryview(buf)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fdatasync(self._fd)
        self._file_records += n_records
        self._good_size += len(buf)
        os.pwrite(self._fd, _field(self._file_records, 8), 236)

    def _header(self, start: datetime) -> bytes:
        n_ch = len(self.channel_names)
        stamp = start.strftime("%d-%b-%Y").upper()
        h = [
            _field("0", 8),
            _field("X X X X", 80),
            _field(f"Startdate {stamp} X X {EQUIPMENT} {self.made_by}", 80),
            _field(start.strftime("%d.%m.%y"), 8),
            _field(start.strftime("%H.%M.%S"), 8),
            _field(self.header_bytes, 8),
            _field("EDF+C", 44),
            _field(0, 8),
            _field(f"{self.record_s:g}", 8),
            _field(n_ch + 1, 4),
        ]
        labels = [_edf_label(c) for c in self.channel_names] + [ANNOTATION_LABEL]
        pmin, pmax = self.physical_range
        dim = EDF_DIMENSIONS.get(self.units, "")
        sig_pmin = [pmin] * n_ch + [-1]
        sig_pmax = [pmax] * n_ch + [1]
        spr = [self.spr] * n_ch + [ANNOTATION_BYTES // 2]
        h += [_field(x, 16) for x in labels]
        transducer = "surface EMG" + (f" {self.sensor}" if self.sensor != "unknown" else "")
        h += [_field(transducer if i < n_ch else "", 80) for i in range(n_ch + 1)]
        h += [_field(dim if i < n_ch else "", 8) for i in range(n_ch + 1)]
        h += [_field(_num(x), 8) for x in sig_pmin]
        h += [_field(_num(x), 8) for x in sig_pmax]
        h += [_field(self.digital_range[0], 8) for _ in range(n_ch)] + [_field(DIGITAL_MIN, 8)]
        h += [_field(self.digital_range[1], 8) for _ in range(n_ch)] + [_field(DIGITAL_MAX, 8)]
        h += [_field("", 80) for _ in range(n_ch + 1)]
        h += [_field(x, 8) for x in spr]
        h += [_field("", 32) for _ in range(n_ch + 1)]
        out = b"".join(h)
        assert len(out) == self.header_bytes
        return out

    def _open_file(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        start = (self.start_time + timedelta(seconds=self._file_t0)).astimezone(UTC)
        start = start.replace(microsecond=0)  # EDF start time has 1 s resolution
        stem = f"{self.prefix}-{start.strftime('%Y%m%dT%H%M%SZ')}"
        path = self.directory / f"{stem}.edf"
        i = 1
        while path.exists():
            path = self.directory / f"{stem}-{i}.edf"
            i += 1
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._fd, self._file_records, self._good_size = fd, 0, 0
        self.files.append(path)
        header = self._header(start)
        os.write(fd, header)
        self._good_size = len(header)
        log.info("recording raw signal to %s", path)
        if self.on_file is not None:
            try:
                self.on_file(path, self._file_t0)
            except Exception:
                log.exception("on_file callback failed for %s", path)

    def _close_file(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _fail(self, err: BaseException) -> None:
        path = self.files[-1] if self.files else self.directory
        reason = getattr(err, "strerror", None) or str(err)
        self.error = f"{path}: raw recording stopped: {reason}"
        log.error(
            "%s (detection and alerts continue; the file is kept up to the last record)", self.error
        )
        self.status = "failed"
        self.dropped_samples += self._n_pending
        self._chunks, self._n_pending, self._annotations = [], 0, []
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:  # cut a half-written record so the file ends on a record boundary
                os.ftruncate(fd, self._good_size)
                os.pwrite(fd, _field(self._file_records, 8), 236)
            except OSError:
                pass
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> EdfRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _num(x: float) -> str:
    """A physical min/max that fits the 8-character field."""
    if float(x).is_integer() and abs(x) < 1e7:
        return str(int(x))
    for digits in range(7, 0, -1):
        s = f"{x:.{digits}g}"
        if len(s) <= 8:
            return s
    raise UsageError(f"physical range value {x} does not fit an EDF header field")
