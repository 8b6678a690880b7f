"""One recording type shared by `detect`, `replay`, `report` and `simulate` (like MNE's Raw).

Readers for every supported format produce a :class:`Recording`; writers take one. Readers
raise :class:`emgwatch.errors.InputError` with file and location on anything unusable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from emgwatch.block import Block


@dataclass(frozen=True)
class Annotation:
    """A labelled span of a recording (EDF+ TAL, CSV sidecar, or ground truth)."""

    onset: float  # seconds from recording start
    duration: float  # seconds (0 for an instant)
    description: str
    channel: str | None = None


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
