"""Episodes: what the detector reports and every sink consumes.

The tracker that turns window probabilities into episodes also lives here.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field


@dataclass
class Episode:
    """An involuntary-contraction episode (or a logged voluntary one) on one channel.

    Times are seconds since the session/recording start; ``end`` is None while it is ongoing.
    ``level_db`` is the peak envelope relative to the channel's resting baseline.
    """

    kind: str
    channel: str
    start: float
    end: float | None = None
    confidence: float = 0.0
    level_db: float = 0.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    extra: dict = field(default_factory=dict)  # e.g. {"plm_index_per_h": 21.3, "series": 3}

    @property
    def duration_s(self) -> float | None:
        return None if self.end is None else self.end - self.start

    def to_dict(self) -> dict:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d


@dataclass(frozen=True)
class EpisodeEvent:
    """A change a sink must hear about: an episode was confirmed ("start") or ended ("end")."""

    event: str  # "start" | "end"
    episode: Episode
    detected_at: float  # stream time (s since session start) at which the decision was made
