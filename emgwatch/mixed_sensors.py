"""Features when the channels come from different sensor types (raw and envelope outputs).

A MyoWare 2.0 board has a raw output and an envelope output, and its example sketch prints both
(with the rectified output and the reference) as columns of one file. One sensor type cannot
serve them: read as envelopes, the raw channel's baseline is its mid-rail offset; read as raw,
the envelope channel's activity is removed by the high-pass. So the channels are first read
together, as for any recording, and when their sensor evidence clearly disagrees
(``dsp.split_sensors``) the stream restarts from its first sample with one extractor per sensor
type. Until that decision (the first 2-10 s) the input is kept; afterwards nothing is copied.
Chunking never changes the output: the decision is made on fixed sample counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from emgwatch.block import Block
from emgwatch.features import FeatureConfig, FeatureExtractor, FeatureFrame, extract_with

log = logging.getLogger(__name__)


class MixedSensorFeatures:
    """``FeatureExtractor`` over all channels, or one per sensor type when they differ."""

    def __init__(
        self,
        fs_hz: float,
        channel_names: Sequence[str],
        *,
        sensor: str = "auto",
        mains_hz: float = 0.0,
        config: FeatureConfig | None = None,
    ) -> None:
        self.channel_names = list(channel_names)
        self._fs, self._mains, self._config = float(fs_hz), mains_hz, config
        n = len(self.channel_names)
        self._whole = FeatureExtractor(fs_hz, n, sensor=sensor, mains_hz=mains_hz, config=config)
        # input kept until the sensor types are known (only when they could differ)
        self._kept: list[Block] | None = [] if sensor == "auto" and n > 1 else None
        self._groups: list[tuple[np.ndarray, FeatureExtractor]] | None = None
        self._ahead: list[FeatureFrame] = []  # per group: windows not yet matched by the others

    @property
    def channel_sensors(self) -> list[str] | None:
        """Each channel's sensor type once decided (None before)."""
        if self._groups is not None:
            kinds = [""] * len(self.channel_names)
            for idx, fx in self._groups:
                for c in idx:
                    kinds[c] = fx.sensor or ""
            return kinds
        s = self._whole.sensor
        return None if s is None else [s] * len(self.channel_names)

    def push(self, block: Block) -> FeatureFrame:
        if self._groups is not None:
            return self._merge([fx.push(_part(block, idx)) for idx, fx in self._groups])
        if self._kept is not None:
            self._kept.append(block)
        out = self._whole.push(block)
        return self._after_decision(out, final=False)

    def flush(self) -> FeatureFrame:
        if self._groups is not None:
            return self._merge([fx.flush() for idx, fx in self._groups])
        return self._after_decision(self._whole.flush(), final=True)

    def _after_decision(self, out: FeatureFrame, final: bool) -> FeatureFrame:
        if self._kept is None or self._whole.sensor is None:
            return out
        kinds = self._whole.channel_sensors
        kept, self._kept = self._kept, None
        if kinds is None:
            return out
        log.warning(
            "channels look like different sensor types (%s): each is analysed as its own type "
            "(--sensor sets one type for all)",
            ", ".join(f"{name} {k}" for name, k in zip(self.channel_names, kinds, strict=True)),
        )
        self._groups = []
        for kind in sorted(set(kinds), key=kinds.index):
            idx = np.flatnonzero(np.asarray(kinds) == kind)
            fx = FeatureExtractor(
                self._fs, len(idx), sensor=kind, mains_hz=self._mains, config=self._config
            )
            self._groups.append((idx, fx))
        self._ahead = [FeatureFrame.empty(len(idx)) for idx, _ in self._groups]
        with _already_said():
            frames = [
                self._merge([fx.push(_part(b, idx)) for idx, fx in self._groups]) for b in kept
            ]
        if final:
            frames.append(self.flush())
        return FeatureFrame.concat(frames, len(self.channel_names))

    def _merge(self, parts: list[FeatureFrame]) -> FeatureFrame:
        """The groups' windows side by side, in the recording's channel order. Every group sees
        the same samples, so their windows fall at the same times; a group that is ahead keeps
        its surplus for the next call."""
        assert self._groups is not None
        parts = [
            FeatureFrame.concat([a, p], a.X.shape[1])
            for a, p in zip(self._ahead, parts, strict=True)
        ]
        n = min(len(p) for p in parts)
        self._ahead = [_rows(p, n, None) for p in parts]
        parts = [_rows(p, 0, n) for p in parts]
        ch = len(self.channel_names)
        X = np.empty((n, ch, parts[0].X.shape[2]), dtype=parts[0].X.dtype)
        quality = np.empty((n, ch), dtype=parts[0].quality.dtype)
        for (idx, _), p in zip(self._groups, parts, strict=True):
            X[:, idx] = p.X
            quality[:, idx] = p.quality
        return FeatureFrame(parts[0].t, X, quality, parts[0].names)


@contextmanager
def _already_said() -> Iterator[None]:
    """The signal pipeline's warnings about samples the whole-recording pass has read already
    (non-finite values, clipping): said once, not again per sensor type."""
    loggers = [logging.getLogger(n) for n in ("emgwatch.dsp", "emgwatch.features")]
    hush = logging.Filter("emgwatch.nothing")  # passes no record of these loggers
    for lg in loggers:
        lg.addFilter(hush)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(hush)


def _part(block: Block, idx: np.ndarray) -> Block:
    return Block(block.t0, block.fs, block.data[:, idx], block.gap_before)


def _rows(f: FeatureFrame, a: int, b: int | None) -> FeatureFrame:
    return FeatureFrame(f.t[a:b], f.X[a:b], f.quality[a:b], f.names)


def extract_mixed_features(
    data: np.ndarray,
    fs_hz: float,
    channel_names: Sequence[str],
    *,
    sensor: str = "auto",
    mains_hz: float = 0.0,
    chunk_s: float = 60.0,
) -> FeatureFrame:
    """``features.extract_features`` as the detector sees a recording: channels of different
    sensor types (a MyoWare raw and envelope output side by side) each read as their own, so
    that a model learns from the features it will be given, and a calibration measures the
    levels that episodes will later be compared with."""
    fx = MixedSensorFeatures(fs_hz, channel_names, sensor=sensor, mains_hz=mains_hz)
    return extract_with(fx, data, fs_hz, chunk_s)
