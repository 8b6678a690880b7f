"""The unit of data that flows between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Block:
    """Consecutive samples of all channels.

    Every source (serial, simulated, replay) produces these, so everything downstream cannot tell
    them apart. ``t0`` is seconds since the session start, which keeps live and offline times
    identical; wall-clock time is the session's business.
    """

    t0: float
    fs: float
    data: np.ndarray  # shape (n_samples, n_channels), float64
    gap_before: bool = False  # samples were lost just before this block

    def __post_init__(self) -> None:
        if self.data.ndim != 2:
            raise ValueError(
                f"Block.data must be 2-D (samples, channels), got shape {self.data.shape}"
            )

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    @property
    def t_end(self) -> float:
        """Time just after the last sample."""
        return self.t0 + self.duration_s
