"""A recording's annotations kept in a file of their own: a sleep study's scoring.

Polysomnography software and archives rarely put the scorer's work into the signal file.
Sleep-EDF ships ``SC4001E0-PSG.edf`` beside ``SC4001EC-Hypnogram.edf`` (an EDF+ holding only
annotations); the NSRR archives (MESA, SHHS, CFS, ...) ship ``<study>.edf`` beside
``<study>-nsrr.xml`` and ``<study>-profusion.xml``. Read here and added to the recording's own
annotations, their sleep stages give the PLM index per hour of sleep (``detect``, ``report``)
and their leg movements a scorer's ground truth (``evaluate --truth-from-annotations``): what
the texts mean is decided where annotations embedded in an EDF+ are read, in
``emgwatch.hypnogram`` and ``emgwatch.truth``.

Read: NSRR XML (``PSGAnnotation``: ``ScoredEvent`` with ``EventConcept``, ``Start``,
``Duration``, ``SignalLocation``), Compumedics Profusion XML (``CMPStudyConfig``: ``ScoredEvent``
with ``Name``, ``Start``, ``Duration``, ``Input``; ``SleepStages`` as one code per epoch), an EDF+
(its annotations, placed by its start time against the recording's), and the CSV that emgwatch
writes beside a CSV recording (``onset,duration,description,channel``).
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

from emgwatch.errors import InputError
from emgwatch.hypnogram import EPOCH_S, MIN_STAGES, stage_of
from emgwatch.recording import (
    Annotation,
    Recording,
    check_edf_header,
    read_annotation_csv,
    split_channel_label,
    text_encoding,
)

if TYPE_CHECKING:
    import edfio

log = logging.getLogger(__name__)

# Profusion's stage codes, as the texts emgwatch.hypnogram reads (Sleep-EDF's, MNE's names)
PROFUSION_STAGES = {
    0: "Sleep stage W",
    1: "Sleep stage 1",
    2: "Sleep stage 2",
    3: "Sleep stage 3",
    4: "Sleep stage 4",
    5: "Sleep stage R",
}
UNSCORED_STAGE = "Sleep stage ?"  # 6 (movement), 9 (unscored) and any other code


def read_annotation_file(path: str | Path, rec: Recording) -> list[Annotation]:
    """The annotations in ``path``, in seconds from ``rec``'s start, those that fall within it.

    The format is told by the content, not the name (an XML root element, EDF's version field,
    a first line that is a sleep stage: one stage per 30-s epoch, else CSV). Annotations wholly
    outside the recording are dropped with a warning; when all of them are, the file belongs to
    another recording and that is an error.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "no such file")
    if not path.is_file():
        raise InputError(path, None, "not a file")
    with path.open("rb") as f:
        head = f.read(512)
    encoding = text_encoding(head)
    if encoding == "utf-16":
        text_head = head.decode("utf-16", errors="ignore").lstrip(" \t\r\n").encode()
    else:
        text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head.startswith(b"<"):
        found = _read_xml(path)
    elif head[:8] == b"0       ":
        found = _read_edf_annotations(path, rec)
    elif _stage_token(text_head.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()):
        found = _read_stage_lines(path, rec, encoding)
    else:
        found = read_annotation_csv(path)
    return _within(path, found, rec, _channel_matcher(rec.channel_names))


def with_annotation_file(rec: Recording, path: str | Path | None) -> Recording:
    """``rec`` with the annotations of ``path`` added (unchanged when ``path`` is None)."""
    if path is None:
        return rec
    extra = read_annotation_file(path, rec)
    log.info("%s: %d annotations added to %s", path, len(extra), rec.path or "the recording")
    rec.annotations = [*rec.annotations, *extra]
    return rec


def _within(path: Path, found: list[Annotation], rec: Recording, channel_of) -> list[Annotation]:
    end = rec.duration_s
    if not found:  # silence would read as "nothing was scored"
        log.warning("%s: no annotations in it", path)
    kept = [  # the part within the recording of those that cross either end
        Annotation(
            max(a.onset, 0.0),
            min(a.onset + a.duration, end) - max(a.onset, 0.0) if a.duration > 0 else 0.0,
            a.description,
            channel_of(a.channel),
        )
        for a in found
        if a.onset < end and (a.onset + a.duration > 0 if a.duration > 0 else a.onset >= 0)
    ]
    if found and not kept:
        first, last = min(a.onset for a in found), max(a.onset + a.duration for a in found)
        raise InputError(
            path,
            None,
            f"none of its {len(found)} annotations falls within the recording (0-{end:.0f} s; "
            f"they span {first:.0f}-{last:.0f} s): is it this recording's file?",
        )
    if len(kept) < len(found):
        log.warning(
            "%s: %d of %d annotations fall outside the recording (0-%.0f s) and are ignored",
            path,
            len(found) - len(kept),
            len(found),
            end,
        )
    return kept


def _channel_matcher(names: list[str]):
    """An annotation's signal (NSRR "L Leg", an EDF+ label) as one of the recording's channel
    names, compared without case, spaces or punctuation; None (any channel) when none is it."""

    def key(s: str) -> str:
        return re.sub(r"[\W_]+", "", s.lower())

    keys = [key(n) for n in names]
    by_key = {k: n for k, n in zip(keys, names, strict=True) if keys.count(k) == 1}
    if len(by_key) < len(names):
        log.warning(
            "channels %s differ only in case or punctuation: annotations are not matched to them",
            [n for k, n in zip(keys, names, strict=True) if k not in by_key],
        )

    def channel_of(signal: str | None) -> str | None:
        return by_key.get(key(signal)) if signal else None

    return channel_of


def _number(
    path: Path, el: ET.Element, tag: str, where: str, default: float | None = None
) -> float:
    text = _text(el, tag)
    if not text and default is not None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InputError(path, where, f"<{tag}> must be a number of seconds >= 0, got '{text}'")
    return value


def _text(el: ET.Element, tag: str) -> str:
    child = el.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _read_xml(path: Path) -> list[Annotation]:
    try:
        root = ET.parse(path).getroot()
    except (ValueError, LookupError) as e:  # an encoding the parser cannot read
        raise InputError(path, "line 1", f"XML in an encoding that cannot be read: {e}") from None
    except ET.ParseError as e:
        line, col = e.position
        what = str(e).split(":")[0]  # "mismatched tag: line 3, column 2" -> "mismatched tag"
        raise InputError(
            path, f"line {line}, column {col + 1}", f"not well-formed XML: {what}"
        ) from None
    events = root.find("ScoredEvents")
    if root.tag not in ("PSGAnnotation", "CMPStudyConfig") or events is None:
        raise InputError(
            path,
            None,
            f"expected NSRR (<PSGAnnotation>) or Compumedics Profusion (<CMPStudyConfig>) "
            f"scoring with <ScoredEvents>, found <{root.tag}>",
        )
    nsrr = root.tag == "PSGAnnotation"
    out: list[Annotation] = []
    for k, ev in enumerate(events.findall("ScoredEvent"), start=1):
        where = f"ScoredEvent {k}"
        text = _text(ev, "EventConcept" if nsrr else "Name")
        if not text:
            continue
        if nsrr and text.lower().startswith("recording start"):
            continue  # the clock time of second 0, not an event
        onset = _number(path, ev, "Start", where)
        duration = _number(path, ev, "Duration", where, default=0.0)
        signal = _text(ev, "SignalLocation" if nsrr else "Input") or None
        out.append(Annotation(onset, duration, text, signal))
    if not nsrr and (stages := root.find("SleepStages")) is not None:
        epoch = _number(path, root, "EpochLength", "EpochLength", default=EPOCH_S)
        if epoch <= 0:
            raise InputError(path, "EpochLength", f"must be > 0 seconds, got {epoch:g}")
        for k, st in enumerate(stages.findall("SleepStage")):
            raw = (st.text or "").strip()
            try:
                code = int(raw)
            except ValueError:
                code = -1
            if not 0 <= code <= 9:
                raise InputError(
                    path, f"SleepStage {k + 1}", f"expected a stage code 0-9, got '{raw}'"
                )
            out.append(Annotation(k * epoch, epoch, PROFUSION_STAGES.get(code, UNSCORED_STAGE)))
    return out


def _stage_token(token: str) -> str | None:
    """The stage text for one line of a per-epoch hypnogram (a code 0-9 as Profusion's, or a
    stage name such as W, N2, R, Wake), else None."""
    if len(token) == 1 and token in "0123456789":
        return PROFUSION_STAGES.get(int(token), UNSCORED_STAGE)
    if token == "?" or (token and stage_of(token) is not None):
        return UNSCORED_STAGE if token == "?" else token
    return None


def _read_stage_lines(path: Path, rec: Recording, encoding: str) -> list[Annotation]:
    """A hypnogram as a text file of one stage per scoring epoch (EPOCH_S, 30 s), from the
    recording's start, as many sleep archives and scoring tools export it. Read line by line:
    epochs past the recording's end are checked and counted, not kept."""
    out: list[Annotation] = []
    beyond = blank = 0
    n = 0
    try:
        with path.open(encoding=encoding, newline=None) as f:
            for n, line in enumerate(f, start=1):
                token = line.strip()
                if not token:
                    blank += 1  # before the first epoch, or trailing: an error if one follows
                    continue
                stage = _stage_token(token)
                if stage is None or (blank and out):
                    what = "a blank line" if stage is not None else f"'{token[:40]}'"
                    at = n - 1 if stage is not None else n
                    raise InputError(
                        path,
                        f"line {at}",
                        f"expected one sleep stage per 30-s epoch (W, N1-N4, R, ? or a code "
                        f"0-9), got {what}",
                    )
                blank = 0
                onset = (len(out) + beyond) * EPOCH_S
                if onset < rec.duration_s:
                    out.append(Annotation(onset, EPOCH_S, stage))
                else:
                    beyond += 1
    except UnicodeDecodeError as e:
        raise InputError(path, f"line {n + 1}", f"expected {encoding} text: {e.reason}") from None
    if beyond:
        log.warning(
            "%s: %d epochs after the recording's end (%.0f s) ignored: is it this recording's "
            "hypnogram?",
            path,
            beyond,
            rec.duration_s,
        )
    if len(out) < MIN_STAGES:
        log.warning("%s: only %d epochs: too few to be a night's hypnogram", path, len(out))
    return out


def _read_edf_annotations(path: Path, rec: Recording) -> list[Annotation]:
    import edfio

    check_edf_header(path)
    try:
        edf = edfio.read_edf(path, lazy_load_data=True)
        found = list(edf.annotations)
    except Exception as e:  # the library's many ways of saying "corrupt"
        raise InputError(path, None, f"not a readable EDF+ annotation file: {e}") from None
    shift = 0.0
    try:
        own: datetime | None = edf.startdatetime
    except Exception:  # anonymised start date ("X")
        own = None
    if own is not None and rec.start_time is not None and rec.start_time.tzinfo is not None:
        # an EDF's clock is local time without a zone; a CSV's stated zone was turned into
        # UTC on reading, so the two cannot be compared: say so rather than shift by the zone
        log.warning(
            "%s: the recording's start time carries a time zone, this file's does not: its "
            "onsets are taken as seconds from the recording's start, not placed by the clock",
            path,
        )
    elif own is not None and rec.start_time is not None:
        shift = (own - rec.start_time).total_seconds()
    elif (theirs := _recording_time(rec)) is not None and (mine := _start_of_day(edf)) is not None:
        # a date anonymised (EDF+ "Startdate X") leaves the time of day: scoring and signal
        # of one study start within hours of each other, so the nearer way round the clock
        shift = (mine - theirs + 43200.0) % 86400.0 - 43200.0
        log.warning(
            "%s: a start date is anonymised; placed by the time of day (%+.3f s from the "
            "recording's start)",
            path,
            shift,
        )
    if shift:
        log.info("%s: starts %+.3f s from the recording; annotations shifted", path, shift)
    names = sorted(rec.channel_names, key=len, reverse=True)
    out = []
    for a in found:
        text = a.text.strip()
        if not text:
            continue
        text, ch = split_channel_label(text, names)  # as the recording's own EDF+
        out.append(Annotation(float(a.onset) + shift, float(a.duration or 0.0), text, ch))
    return out


def add_argument(p: argparse.ArgumentParser) -> None:
    """``--annotations FILE``, the same for every command that reads a recording."""
    p.add_argument(
        "--annotations",
        metavar="FILE",
        help="the recording's scoring in a file of its own, added to its annotations: NSRR "
        "XML (<study>-nsrr.xml), Compumedics Profusion XML, an EDF+ of annotations (Sleep-EDF's "
        "*-Hypnogram.edf) or onset,duration,description CSV; its sleep stages give the PLM "
        "index per hour of sleep, its leg movements a scorer's truth",
    )


def _time_of_day(path: Path | None) -> float | None:
    """Seconds after midnight of an EDF's start, from its header (kept when the date is not)."""
    if path is None or not Path(path).is_file():
        return None
    with Path(path).open("rb") as f:
        head = f.read(192)
    if len(head) < 184 or head[:8] != b"0       ":
        return None
    m = re.fullmatch(rb"(\d\d)\.(\d\d)\.(\d\d)", head[176:184])
    if m is None:
        return None
    h, mi, sec = (int(x) for x in m.groups())
    return float(h * 3600 + mi * 60 + sec) if h < 24 and mi < 60 and sec < 60 else None


def _recording_time(rec: Recording) -> float | None:
    """The recording's start as seconds after midnight, from its clock or its EDF header."""
    if rec.start_time is not None:
        if rec.start_time.tzinfo is not None:  # UTC, not the local time an EDF states
            return None
        return _seconds_of_day(rec.start_time.time())
    return _time_of_day(rec.path)


def _start_of_day(edf: edfio.Edf) -> float | None:
    """An EDF's start as seconds after midnight (its header keeps it when the date is not)."""
    try:
        return _seconds_of_day(edf.starttime)
    except Exception:  # a header time edfio cannot parse: the file cannot be placed by it
        return None


def _seconds_of_day(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6
