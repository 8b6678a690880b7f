"""Writing a synthetic stream to disk with bounded memory (EDF+) plus its truth file.

EDF goes through the project's streaming EDF+ writer (``sinks.edf_recorder``) and CSV through
``recording.CsvWriter``, chunk by chunk, so an 8-hour night never exists as one array. ADC
counts are stored losslessly in EDF; µV data get a physical range measured in a first pass over
the (deterministic, cheap) stream.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from emgwatch.block import Block
from emgwatch.errors import EmgwatchError, UsageError
from emgwatch.recording import Annotation, CsvWriter
from emgwatch.sinks.edf_recorder import EdfRecorder
from emgwatch.synth.stream import SynthStream
from emgwatch.truth import ARTIFACT_PREFIX, save_truth

WRITE_CHUNK_S = 10.0
Progress = Callable[[float], None]  # fraction done 0..1


def truth_path_for(path: str | Path) -> Path:
    """``night.edf`` -> ``night.truth.json`` beside it."""
    p = Path(path)
    return p.with_name(p.stem + ".truth.json")


def write_stream(path: str | Path, s: SynthStream, progress: Progress | None = None) -> None:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".edf":
        _write_edf(path, s, progress)
    elif suffix in (".csv", ".tsv", ".txt"):
        writer = CsvWriter(path, s.fs, list(s.channel_names), s.units, s.sensor)
        try:
            i = 0
            for chunk in s.chunks(int(WRITE_CHUNK_S * s.fs)):
                writer.write(chunk)
                i += len(chunk)
                if progress:
                    progress(0.99 * i / s.n_samples)
        except BaseException:
            writer.abort()
            raise
        writer.close(s.truth.annotations())
    else:
        raise UsageError(f"{path}: unknown output format {suffix!r} (use .edf or .csv)")
    if progress:
        progress(1.0)


def _write_edf(path: Path, s: SynthStream, progress: Progress | None) -> None:
    step = int(WRITE_CHUNK_S * s.fs)
    physical = None
    if s.units != "adc":
        lo, hi = np.inf, -np.inf
        for chunk in s.chunks(step):
            lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
        pad = max(1e-6, 0.01 * (hi - lo))
        physical = (lo - pad, hi + pad)
    tmp = Path(tempfile.mkdtemp(prefix=".synth-", dir=path.parent if str(path.parent) else "."))
    try:
        rec = EdfRecorder(
            tmp,
            s.fs,
            list(s.channel_names),
            s.start_time,
            rotate_s=s.duration_s + 3600.0,
            units=s.units,
            sensor=s.sensor,
            physical_range=physical,
            flush_s=WRITE_CHUNK_S,
            fsync=False,
            made_by="simulate",  # its annotations are the truth (emgwatch.truth)
        )
        # planned truth first: it rides in the annotation space of the first data records
        # (clipping spans are only known once rendered and are written at the end)
        planned = sorted(s.truth.annotations(), key=lambda a: a.onset)
        for a in planned:
            _annotate(rec, a)
        # clipping spans appear as samples are rendered: annotate them as they come (one chunk
        # behind, so the last ones still fit in the records written after them)
        i, n_art = 0, len(s.truth.artifacts)
        for chunk in _lookahead(s.chunks(step)):
            for a in s.truth.artifacts[n_art:]:
                _annotate(
                    rec,
                    Annotation(a.start, a.end - a.start, f"{ARTIFACT_PREFIX}{a.kind}", a.channel),
                )
            n_art = len(s.truth.artifacts)
            rec.write(Block(i / s.fs, s.fs, chunk))
            i += len(chunk)
            if progress:
                progress(0.95 * i / s.n_samples)
        rec.close()
        if rec.status == "failed" or len(rec.files) != 1:
            raise EmgwatchError(f"{path}: writing failed ({rec.error or 'unexpected file split'})")
        os.replace(rec.files[0], path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _lookahead(chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Yield each chunk only once the next one exists (or the stream is finished)."""
    prev = None
    for chunk in chunks:
        if prev is not None:
            yield prev
        prev = chunk
    if prev is not None:
        yield prev


def _annotate(rec: EdfRecorder, a: Annotation) -> None:
    text = f"{a.description} {a.channel}" if a.channel else a.description
    rec.annotate(float(a.onset), float(a.duration), text)


def write_truth(path: str | Path, s: SynthStream) -> None:
    save_truth(path, s.truth)
