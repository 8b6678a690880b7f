"""Ground truth of a recording: which episodes and artifacts really happened, and where.

This module owns the JSON format (docs/ARCHITECTURE.md) so the generator, `evaluate`, `train`
and any external simulator agree on one file. Episode kinds are ``domain.EPISODE_KINDS`` plus
the look-alikes in ``domain.NON_ALERT_KINDS``; extra per-episode keys (e.g. ``series`` for PLM,
``cluster`` for spasms, ``pattern`` for voluntary activity) are kept and written back unchanged.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emgwatch.domain import EPISODE_KINDS, NON_ALERT_KINDS
from emgwatch.errors import InputError
from emgwatch.recording import Annotation, Recording, annotation_parts, classify_annotation

log = logging.getLogger(__name__)

TRUTH_VERSION = 1
TRUTH_EPISODE_KINDS = tuple(dict.fromkeys(EPISODE_KINDS + NON_ALERT_KINDS))
ARTIFACT_KINDS = ("lead_off", "pop", "motion", "clipping", "mains", "ecg", "wander")
# Of those, the ones that are a background the muscle signal lies on, often for the whole
# recording, rather than an event that replaces it: a window under them is rest or whatever the
# muscle does. A window classifier taught "artifact" for them learns that a quiet channel with
# mains hum is an artifact (outside simulators label 37 % of their windows so).
BACKGROUND_ARTIFACT_KINDS = ("mains", "ecg", "wander")

_EPISODE_KEYS = ("start", "end", "kind", "channel", "intensity")


@dataclass
class TruthEpisode:
    """One true episode on one channel; ``intensity`` is the mean activation as a fraction of
    the channel's maximal voluntary contraction (about 0..1.2)."""

    start: float
    end: float
    kind: str
    channel: str
    intensity: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:  # numpy scalars would leak into JSON and reprs
        self.start, self.end, self.intensity = (
            float(self.start),
            float(self.end),
            float(self.intensity),
        )

    @property
    def duration_s(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "start": round(self.start, 4),
            "end": round(self.end, 4),
            "kind": self.kind,
            "channel": self.channel,
            "intensity": round(self.intensity, 4),
        }
        d.update(self.extra)
        return d


@dataclass
class TruthArtifact:
    start: float
    end: float
    kind: str
    channel: str

    def __post_init__(self) -> None:
        self.start, self.end = float(self.start), float(self.end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 4),
            "end": round(self.end, 4),
            "kind": self.kind,
            "channel": self.channel,
        }


@dataclass
class Truth:
    scenario: str
    seed: int
    fs: float
    duration_s: float
    channels: list[str]
    sensor: str = "raw"
    gain: float = 1.0
    mains_hz: float = 0.0
    episodes: list[TruthEpisode] = field(default_factory=list)
    artifacts: list[TruthArtifact] = field(default_factory=list)
    version: int = TRUTH_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "scenario": self.scenario,
            "seed": self.seed,
            "fs": self.fs,
            "duration_s": self.duration_s,
            "channels": list(self.channels),
            "sensor": self.sensor,
            "gain": self.gain,
            "mains_hz": self.mains_hz,
            "episodes": [e.to_dict() for e in sorted(self.episodes, key=_order)],
            "artifacts": [a.to_dict() for a in sorted(self.artifacts, key=_order)],
        }

    def annotations(self) -> list[Annotation]:
        """Episodes (and artifacts, prefixed ``artifact:``) as recording annotations, so an
        EDF+ file carries its own truth for viewers such as EDFbrowser."""
        out = [
            Annotation(e.start, e.end - e.start, e.kind, e.channel)
            for e in sorted(self.episodes, key=_order)
        ]
        out += [
            Annotation(a.start, a.end - a.start, f"{ARTIFACT_PREFIX}{a.kind}", a.channel)
            for a in sorted(self.artifacts, key=_order)
        ]
        return out

    def episodes_of(self, *kinds: str) -> list[TruthEpisode]:
        return [e for e in self.episodes if e.kind in kinds]


def _order(e: TruthEpisode | TruthArtifact) -> tuple:
    return (e.start, e.end, e.channel, e.kind)


# A sleep scorer's leg movements, as EDF+ annotations name them ("LM", "PLM", "Limb Movement
# (Left)", "Leg movement - right", "Bilateral LM", NSRR's "Limb movement - left|Limb Movement
# (Left)"): leg movements, which the scoring puts into PLM series
_SIDE = r"(left|right|bilateral|both|isolated|l|r|lt|rt|lat|rat)"
_LEG_MOVEMENT = re.compile(
    rf"^({_SIDE} )?(p?lms?|(periodic )?(limb|leg) ?movements?( in sleep)?)( {_SIDE}( leg)?)?$"
)
ARTIFACT_PREFIX = "artifact:"  # an artifact in a recording's annotations: "artifact:pop"
# episode kinds that only the generator writes into a recording ('emgwatch run' logs voluntary
# activity, never these): a file by emgwatch that holds one is a simulation's truth
_SIMULATION_ONLY = frozenset(NON_ALERT_KINDS) - {"voluntary"}


def kind_of_annotation(text: str) -> str | None:
    """The episode kind an annotation names (None if it names none): emgwatch's own kinds, as
    ``emgwatch simulate`` writes them into an EDF+, or a scorer's leg movement (-> "plm")."""
    for t in annotation_parts(text):
        if t in TRUTH_EPISODE_KINDS:
            return t
        if _LEG_MOVEMENT.match(t):
            return "plm"
    return None


def _refuse_detections(rec: Recording, path: str | Path) -> None:
    """A file written by 'emgwatch run' holds emgwatch's own detections: scored against
    themselves they would look perfect."""
    from emgwatch.sinks.edf_recorder import EQUIPMENT, written_by_recorder

    if rec.made_by == f"{EQUIPMENT} run":
        raise InputError(
            path,
            None,
            "recorded by 'emgwatch run': its annotations are emgwatch's own "
            "detections, not a ground truth",
        )
    if rec.made_by != EQUIPMENT:  # another program's file, or one that says which command
        return
    # written by emgwatch before the header named the command: a simulation's truth holds
    # look-alikes or artifacts; a recording of a session holds its own marks
    texts = [a.description for a in rec.annotations]
    marks = [t for t in texts if written_by_recorder(t)]
    if marks or not any(
        kind_of_annotation(t) in _SIMULATION_ONLY or t.startswith(ARTIFACT_PREFIX) for t in texts
    ):
        raise InputError(
            path,
            None,
            "written by emgwatch and holding only what 'emgwatch run' writes"
            + (f" ('{marks[0]}')" if marks else "")
            + ": its annotations look like emgwatch's own detections, not a ground truth",
        )


def truth_from_annotations(rec: Recording, path: str | Path) -> Truth:
    """The recording's own annotations as its ground truth: what a scorer marked in a sleep
    study (leg movements), or the episodes and artifacts ``emgwatch simulate`` wrote into an
    EDF+. Annotations that name no episode kind (sleep stages, arousals, apnoeas) are left out
    and counted in a log line; instants (no duration) cannot be scored and are counted in a
    warning. A file recorded by ``emgwatch run`` is refused (``_refuse_detections``), and so is
    an episode outside the recording (``check_truth_fits``)."""
    _refuse_detections(rec, path)
    episodes: list[TruthEpisode] = []
    artifacts: list[TruthArtifact] = []
    instants = 0
    other: dict[str, int] = {}
    for a in rec.annotations:
        art = a.description.removeprefix(ARTIFACT_PREFIX)
        if art != a.description and art in ARTIFACT_KINDS:
            artifacts.append(TruthArtifact(a.onset, a.onset + a.duration, art, a.channel or ""))
            continue
        kind, channel = classify_annotation(a, kind_of_annotation)
        if kind is None:
            other[a.description] = other.get(a.description, 0) + 1
            continue
        if not a.onset + a.duration > a.onset:  # no duration (or one too small to be one)
            instants += 1
            continue
        episodes.append(TruthEpisode(a.onset, a.onset + a.duration, kind, channel))
    if not episodes:
        seen = sorted(other)
        raise InputError(
            path,
            None,
            "no annotation names an episode with a duration (spasm, cramp, clonus, plm, a leg "
            "movement such as 'LM' or 'Limb movement', or a look-alike)"
            + (f"; {instants} leg movements or episodes are instants" if instants else "")
            + (f"; found: {', '.join(repr(s) for s in seen[:6])}" if seen else "; it has none"),
        )
    if instants:
        log.warning("%s: %d scored episodes without a duration left out", path, instants)
    if other:
        log.info(
            "%s: %d annotations name no episode and were left out (%s)",
            path,
            sum(other.values()),
            ", ".join(repr(t) for t in sorted(other)[:5]),
        )
    truth = Truth(
        scenario="unknown",
        seed=-1,
        fs=rec.fs,
        duration_s=rec.duration_s,
        channels=[],  # an annotation may name a signal that is not analysed
        sensor=rec.sensor,
        episodes=episodes,
        artifacts=artifacts,
    )
    check_truth_fits(truth, rec.duration_s, rec.channel_names, path)
    return truth


def truth_from_dict(data: Any, path: str | Path = "<truth>") -> Truth:
    """Validate a parsed truth document; every problem names the JSON location."""
    if not isinstance(data, dict):
        raise InputError(path, None, "expected a JSON object at the top level")
    version = data.get("version")
    if version != TRUTH_VERSION:
        raise InputError(path, "key 'version'", f"expected {TRUTH_VERSION}, got {version!r}")

    def num(obj: dict, key: str, where: str, default: float | None = None) -> float:
        v = obj.get(key, default)
        try:
            ok = not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
        except OverflowError:  # an integer too large for a float
            ok = False
        if not ok:
            shown = repr(v) if len(repr(v)) < 40 else repr(v)[:37] + "..."
            raise InputError(path, f"{where}.{key}", f"expected a finite number, got {shown}")
        return float(v)

    def text(obj: dict, key: str, where: str, default: str | None = None) -> str:
        v = obj.get(key, default)
        if not isinstance(v, str):
            raise InputError(path, f"{where}.{key}", f"expected a string, got {v!r}")
        return v

    channels = data.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise InputError(path, "key 'channels'", "expected a list of channel names")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(path, "key 'seed'", f"expected an integer, got {seed!r}")
    truth = Truth(
        scenario=text(data, "scenario", "$", "unknown"),
        seed=seed,
        fs=num(data, "fs", "$"),
        duration_s=num(data, "duration_s", "$"),
        channels=list(channels),
        sensor=text(data, "sensor", "$", "raw"),
        gain=num(data, "gain", "$", 1.0),
        # an external simulator may write null for "no mains"
        mains_hz=0.0 if data.get("mains_hz") is None else num(data, "mains_hz", "$"),
    )
    for name, kinds in (("episodes", TRUTH_EPISODE_KINDS), ("artifacts", None)):
        items = data.get(name, [])
        if not isinstance(items, list):
            raise InputError(path, f"key '{name}'", "expected a list")
        for i, item in enumerate(items):
            where = f"{name}[{i}]"
            if not isinstance(item, dict):
                raise InputError(path, where, "expected an object")
            start, end = num(item, "start", where), num(item, "end", where)
            if end < start:
                raise InputError(path, where, f"end {end} is before start {start}")
            kind = text(item, "kind", where)
            if kinds is not None and kind not in kinds:
                raise InputError(
                    path, f"{where}.kind", f"unknown kind {kind!r} (known: {', '.join(kinds)})"
                )
            channel = text(item, "channel", where, channels[0] if channels else "ch1")
            if name == "episodes":
                extra = {k: v for k, v in item.items() if k not in _EPISODE_KEYS}
                intensity = num(item, "intensity", where, 0.0)
                truth.episodes.append(TruthEpisode(start, end, kind, channel, intensity, extra))
            else:
                truth.artifacts.append(TruthArtifact(start, end, kind, channel))
    return truth


def save_truth(path: str | Path, truth: Truth) -> None:
    Path(path).write_text(json.dumps(truth.to_dict(), indent=1) + "\n", encoding="utf-8")


def load_truth(path: str | Path) -> Truth:
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(p, None, "truth file not found") from None
    except UnicodeDecodeError as e:
        raise InputError(p, f"byte {e.start}", "not UTF-8 text") from None
    except OSError as e:
        raise InputError(p, None, f"cannot read ({e.strerror})") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(p, f"line {e.lineno}", f"malformed JSON: {e.msg}") from None
    except (RecursionError, ValueError) as e:  # nested beyond reason, an integer of 5000 digits
        raise InputError(p, None, f"not a truth file ({type(e).__name__})") from None
    return truth_from_dict(data, p)


def align_truth_channels(truth: Truth, channels: list[str]) -> None:
    """Name the truth's channels as the recording does where they differ only by the unit a
    CSV header adds ('calf_l_uV' in the truth, 'calf_l' in the recording, or the other way)."""
    from emgwatch.recording import channel_base_name

    by_base = {channel_base_name(c): c for c in channels}
    rename = {
        t: by_base[channel_base_name(t)]
        for t in truth.channels
        if t not in channels and channel_base_name(t) in by_base
    }
    if not rename:
        return
    truth.channels = [rename.get(t, t) for t in truth.channels]
    for item in (*truth.episodes, *truth.artifacts):
        item.channel = rename.get(item.channel, item.channel)


def check_truth_fits(
    truth: Truth, duration_s: float, channels: list[str], path: str | Path
) -> None:
    """Refuse a truth that cannot be this recording's: scored anyway, it gives figures that
    look like results. The lengths must agree (to 1 s or 1 %), every labelled channel must be
    one of the recording's (when the truth names them), and no episode may lie beyond it."""
    tol = max(1.0, 0.01 * duration_s)
    if abs(truth.duration_s - duration_s) > tol:
        raise InputError(
            path,
            "key 'duration_s'",
            f"the truth covers {truth.duration_s:g} s, the recording {duration_s:.6g} s: "
            "not this recording's truth",
        )
    known = set(channels)
    for i, e in enumerate(truth.episodes):
        if e.start < -tol:
            raise InputError(
                path, f"episodes[{i}]", f"starts at {e.start:g} s, before the recording"
            )
        if e.end > duration_s + tol:
            raise InputError(
                path,
                f"episodes[{i}]",
                f"ends at {e.end:g} s, after the recording ({duration_s:.6g} s)",
            )
        if truth.channels and e.channel not in known:
            raise InputError(
                path,
                f"episodes[{i}].channel",
                f"no channel {e.channel!r} in the recording ({', '.join(channels)})",
            )
