"""The detector: Block in, EpisodeEvents out — the one code path for live runs and offline files.

features (gain-invariant, per window) -> window classifier (probabilities per class) ->
episode tracker (hysteresis, durations, context). ``detect_recording`` is the same object fed
a file in large blocks, so offline results equal what a live run flags.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from emgwatch.block import Block
from emgwatch.domain import fs_out_of_range
from emgwatch.dsp import narrow_band_note
from emgwatch.episodes import Episode, EpisodeEvent, EpisodeTracker, TrackerParams
from emgwatch.errors import InputError
from emgwatch.features import FeatureConfig, FeatureFrame
from emgwatch.hypnogram import in_spans, sleep_spans, total_s
from emgwatch.mixed_sensors import MixedSensorFeatures
from emgwatch.model import WindowClassifier, load_model
from emgwatch.quality import QualityEvent, QualityEventTracker, feeds_detection
from emgwatch.recording import Recording

log = logging.getLogger(__name__)

LEVEL_FEATURE = (
    "env_db_0p1"  # envelope above the channel's baseline, dB: the level shown and logged
)
# Windows whose short-time level is this close to the noise floor are rest without asking the
# classifier (most of a night): saves time, and cannot create an alarm.
QUIET_GATE_DB = 3.0


class Detector:
    """Streaming detector over all channels of a source."""

    def __init__(
        self,
        fs_hz: float,
        channel_names: Sequence[str],
        *,
        context: str = "auto",
        model: WindowClassifier | str | None = None,
        sensor: str = "auto",
        mains_hz: float = 0.0,
        params: TrackerParams | None = None,
    ) -> None:
        self.fs = float(fs_hz)
        self.channel_names = list(channel_names)
        self.context = context
        self.model = model if isinstance(model, WindowClassifier) else load_model(model)
        stage = self.model.stage
        self.model_version = self.model.version + (
            f"+stage-{stage.version}" if stage is not None else ""
        )  # the early stage only times live alerts, but which one did is worth knowing
        if stage is not None and getattr(stage, "early", None) is not None:
            self.model_version += f"+early-{stage.early.version}"
        self.features = MixedSensorFeatures(
            self.fs, self.channel_names, sensor=sensor, mains_hz=mains_hz
        )
        self.tracker = EpisodeTracker(
            self.channel_names, context=context, params=params, stage=self.model.stage
        )
        self.state = {c: "idle" for c in self.channel_names}
        self.level_db = {c: 0.0 for c in self.channel_names}
        self.quality = {c: 0 for c in self.channel_names}
        self._level_idx: int | None = None
        self.windows = 0
        # signal-quality changes (lead-off, saturation, gaps...) for the log and the recording;
        # a condition must hold 0.5 s (10 hops) so a flickering electrode is one event, not fifty
        self._quality_tracker = QualityEventTracker(self.channel_names, min_windows=10)
        self.quality_events: list[QualityEvent] = []  # drained by whoever stores them

    def push(self, block: Block) -> list[EpisodeEvent]:
        return self._consume(self.features.push(block))

    def flush(self) -> list[EpisodeEvent]:
        events = self._consume(self.features.flush())
        events += self.tracker.flush()
        for name in self.channel_names:  # every episode is closed now
            self.state[name] = self.tracker.state(name)
        return events

    def _consume(self, ff: FeatureFrame) -> list[EpisodeEvent]:
        n = len(ff.t)
        if n == 0:
            return []
        if self._level_idx is None:
            self._level_idx = list(ff.names).index(LEVEL_FEATURE)
        nch = len(self.channel_names)
        X = ff.X.reshape(n * nch, -1)
        level = ff.X[:, :, self._level_idx]
        proba = np.zeros((n * nch, len(self.model.card["classes"])))
        proba[:, 0] = 1.0  # rest
        ask = ~(np.nan_to_num(level.reshape(-1), nan=0.0) < QUIET_GATE_DB)
        if ask.any():
            proba[ask] = self.model.predict_proba(X[ask])
        proba = proba.reshape(n, nch, -1)
        usable = feeds_detection(ff.quality)
        self.tracker.set_channel_sensors(self.features.channel_sensors)
        events = self.tracker.push(ff.t, proba, np.nan_to_num(level), usable)
        self.windows += n
        self.quality_events += self._quality_tracker.update(ff.t, ff.quality)
        for c, name in enumerate(self.channel_names):
            self.level_db[name] = float(np.nan_to_num(level[-1, c]))
            self.quality[name] = int(ff.quality[-1, c])
            self.state[name] = self.tracker.state(name)
        return events


MAX_ABS_VALUE = 1e30  # 10 V is 1e7 uV: anything near this is a corrupt file, not a signal


def detect_recording(
    rec: Recording,
    *,
    context: str = "auto",
    model: WindowClassifier | str | None = None,
    sensor: str | None = None,
    progress: bool = False,
    block_s: float = 300.0,
    isolated_plm: bool = False,
    quality_events: list[QualityEvent] | None = None,
    params: TrackerParams | None = None,
    sensors: list[str] | None = None,
    on_events: Callable[[list[EpisodeEvent]], None] | None = None,
) -> list[Episode]:
    """Run the streaming detector over a whole recording; completed episodes in start order.

    Blocks of ``block_s`` seconds only set how much is classified at once (the result does not
    depend on it): scikit-learn's boosted trees cost a fixed ~8 us per tree per call, so large
    blocks make an 8-hour night 30 % faster than one-minute blocks.

    A leg movement only counts as PLM when it belongs to a series (4 or more, 10-90 s apart; the
    WASM definition of *periodic*); isolated ones are dropped unless ``isolated_plm`` -- at night
    they are far more often a turnover than a disorder, by day a voluntary movement, and only
    series make the PLM index. ``quality_events``, when a list, receives the signal-quality
    changes (lead-off, saturation, ...) so a caller can say where nothing could be found;
    ``sensors``, when a list, each channel's sensor type as it was read ("raw" | "envelope");
    ``on_events``, when given, is called with each block's episode events as they happen: what
    a live run's sinks hear (episodes change after their events, so later is too late).
    """
    if (problem := fs_out_of_range(rec.fs)) is not None:  # say which file, and what to do
        # an EDF header states the rate of each signal: --fs could only disagree with it
        edf = rec.path is not None and Path(rec.path).suffix.lower() == ".edf"
        fix = ", the rate its EDF header states" if edf else "; if the rate is wrong, pass --fs"
        raise InputError(rec.path or "<recording>", None, f"{problem}{fix}")
    if (note := narrow_band_note(rec.fs)) is not None:
        log.warning("%s: %s", rec.path or "<recording>", note)
    if rec.duration_s < (need := FeatureConfig().warmup_s + 1.0):
        # the first seconds teach each channel its resting level: with less, nothing can be
        # found, and an empty output would read as "no spasms"
        raise InputError(
            rec.path or "<recording>",
            None,
            f"only {rec.duration_s:.3g} s of signal; detection needs at least {need:g} s",
        )
    peak = max(  # in slices: a copy of a whole night would double the memory
        (
            float(np.nanmax(np.abs(rec.data[i : i + 1_000_000]), initial=0.0))
            for i in range(0, rec.n_samples, 1_000_000)
        ),
        default=0.0,
    )
    if peak > MAX_ABS_VALUE:  # squared on the way to a level, it would overflow
        raise InputError(
            rec.path or "<recording>",
            None,
            f"values up to {peak:.3g}: beyond any sensor's range in any unit (a corrupt file?)",
        )
    det = Detector(
        rec.fs,
        rec.channel_names,
        context=context,
        model=model,
        sensor=sensor or "auto",
        params=params,
    )
    det.tracker.ongoing_events = on_events is not None  # only a live-like caller hears them
    done: list[Episode] = []
    t0 = time.monotonic()
    n_blocks = max(1, int(np.ceil(rec.duration_s / block_s)))
    for i, block in enumerate(rec.blocks(block_s)):
        new = det.push(block)
        done += [e.episode for e in new if e.event == "end"]
        if on_events is not None:
            on_events(new)
        if progress:
            pct = 100 * (i + 1) / n_blocks
            sys.stderr.write(
                f"\rdetect: {pct:5.1f}% of {rec.duration_s / 3600:.2f} h  ({time.monotonic() - t0:.1f} s)"
            )
            sys.stderr.flush()
    last = det.flush()
    done += [e.episode for e in last if e.event == "end"]
    if on_events is not None:
        on_events(last)
    if quality_events is not None:  # lead-off, clipping... for the caller to report
        quality_events += det.quality_events
    if sensors is not None:
        sensors += det.features.channel_sensors or []
    if progress:
        sys.stderr.write("\n")
    _final_plm_index(done, rec.duration_s, sleep_spans(rec.annotations, rec.duration_s))
    if not isolated_plm:
        done = without_isolated_plm(done)
    return sorted(done, key=lambda e: (e.start, e.channel))


def without_isolated_plm(episodes: list[Episode]) -> list[Episode]:
    """The episodes without the leg movements that joined no PLM series (logged, not alarms)."""
    return [e for e in episodes if e.kind != "plm" or e.extra.get("plm_in_series")]


def _final_plm_index(
    episodes: list[Episode], duration_s: float, sleep: np.ndarray | None = None
) -> None:
    """Offline, every PLM carries the whole recording's index (movements in series per hour,
    per channel); live, the tracker's running index is all there is. With a hypnogram
    (``sleep``: spans scored as sleep), also the index as a sleep study gives it: series
    members that began in sleep per hour of sleep (``plm_index_per_h_sleep``)."""
    hours = duration_s / 3600.0
    if hours <= 0:
        return
    sleep_h = total_s(sleep) / 3600.0 if sleep is not None else 0.0
    for ch in {e.channel for e in episodes if e.kind == "plm"}:
        plms = [e for e in episodes if e.kind == "plm" and e.channel == ch]
        members = [e for e in plms if e.extra.get("plm_in_series")]
        asleep = int(in_spans([e.start for e in members], sleep).sum()) if sleep_h > 0 else 0
        for e in plms:
            e.extra["plm_index_per_h"] = round(len(members) / hours, 1)
            if sleep_h > 0:
                e.extra["plm_index_per_h_sleep"] = round(float(asleep / sleep_h), 1)
