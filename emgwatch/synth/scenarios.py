"""Scenarios: which episodes, look-alikes and artifacts happen when, in a night, a workout, a
spinal-cord-injury-like day, or a dense training mix.

Rates are per hour and, unless the caller fixes them (``spasm_per_h=3``), are drawn per
recording from a range so that no two recordings have the same make-up. Episodes of different
groups never overlap (a margin keeps their truth spans apart); artifacts overlap anything.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from emgwatch.errors import UsageError
from emgwatch.synth import episodes as ep
from emgwatch.synth.episodes import Group, Site

log = logging.getLogger(__name__)

Rng = np.random.Generator
Range = tuple[float, float]

MARGIN_S = 1.5  # minimum quiet time between the truth spans of two groups


@dataclass(frozen=True)
class Scenario:
    name: str
    context: str  # what the detector's context would be: "sleep" | "exercise" | "daily" | "mixed"
    description: str
    rates: dict[str, Range]  # per hour, drawn per recording
    tone: Range  # resting tone, fraction of MVC
    start_hour: float  # clock time the recording starts (EDF header)
    plan: Callable[
        [Rng, float, Site, dict[str, float]], tuple[Group, list[tuple[float, float]]]
    ] = field(
        repr=False,
        default=None,  # type: ignore[assignment]
    )

    def param_names(self) -> list[str]:
        return [f"{k}_per_h" for k in self.rates]


class Timeline:
    """Occupied spans of a recording; new groups are placed only where they fit."""

    def __init__(self, duration_s: float) -> None:
        self.duration_s = duration_s
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._longest = 0.0

    def fits(self, spans: list[tuple[float, float]]) -> bool:
        for s, e in spans:
            if s < 0.5 or e > self.duration_s - 0.5:
                return False
            lo = bisect.bisect_left(self._starts, s - MARGIN_S - self._longest)
            hi = bisect.bisect_right(self._starts, e + MARGIN_S)
            for j in range(lo, hi):
                if self._ends[j] > s - MARGIN_S and self._starts[j] < e + MARGIN_S:
                    return False
        return True

    def occupy(self, spans: list[tuple[float, float]]) -> None:
        for s, e in spans:
            i = bisect.bisect_right(self._starts, s)
            self._starts.insert(i, s)
            self._ends.insert(i, e)
            self._longest = max(self._longest, e - s)

    def place(
        self, rng: Rng, group: Group, into: Group, at: float | None = None, tries: int = 40
    ) -> bool:
        g0, g1 = group.span
        length = g1 - g0
        if length >= self.duration_s - 1.0:
            return False
        for _ in range(1 if at is not None else tries):
            t = at if at is not None else rng.uniform(0.5, self.duration_s - length - 0.5)
            moved = group.shifted(t - g0)
            if self.fits(moved.busy):
                self.occupy(moved.busy)
                into.extend(moved)
                return True
        return False


def _count(rng: Rng, per_h: float, duration_s: float) -> int:
    return int(rng.poisson(max(per_h, 0.0) * duration_s / 3600.0))


def _site(rng: Rng, site: Site) -> Site:
    return Site(int(rng.integers(site.n)), site.names)


def _sprinkle(rng: Rng, tl: Timeline, out: Group, n: int, make: Callable[[], Group]) -> int:
    placed = 0
    for _ in range(n):
        placed += tl.place(rng, make(), out)
    return placed


def _involuntary(rng: Rng, tl: Timeline, out: Group, site: Site, r: dict[str, float]) -> None:
    """Place the alarm-worthy kinds and the generic look-alikes by their rates."""
    d = tl.duration_s
    ids = iter(range(1000, 10**6))
    _sprinkle(rng, tl, out, _count(rng, r["cramp"], d), lambda: ep.cramp(rng, _site(rng, site)))
    _sprinkle(
        rng,
        tl,
        out,
        _count(rng, r["spasm"], d),
        lambda: ep.spasm_cluster(rng, _site(rng, site), next(ids)),
    )
    _sprinkle(
        rng,
        tl,
        out,
        _count(rng, r["clonus"], d),
        lambda: _clonus_maybe_provoked(rng, _site(rng, site), r["posture"] > 0),
    )
    _sprinkle(
        rng, tl, out, _count(rng, r["voluntary"], d), lambda: ep.voluntary(rng, _site(rng, site))
    )
    _sprinkle(
        rng, tl, out, _count(rng, r["turnover"], d), lambda: ep.turnover(rng, _site(rng, site))
    )
    _sprinkle(
        rng,
        tl,
        out,
        _count(rng, r["posture"], d),
        lambda: ep.turnover(rng, _site(rng, site), "posture"),
    )
    _sprinkle(rng, tl, out, _count(rng, r["plm"], d), lambda: ep.plm(rng, _site(rng, site)))
    _sprinkle(rng, tl, out, _count(rng, r["twitch"], d), lambda: ep.twitch(rng, _site(rng, site)))


def _plm_series(
    rng: Rng, tl: Timeline, out: Group, site: Site, r: dict[str, float], long_series: bool
) -> None:
    """Placed before anything else: a series spans minutes and must keep its 10-90 s rhythm."""
    for i in range(_count(rng, r["plm_series"], tl.duration_s)):
        n = None if long_series else int(4 + min(rng.geometric(1 / 5), 16))
        tl.place(rng, ep.plm_series(rng, _site(rng, site), i + 1, n), out)


def _clonus_maybe_provoked(rng: Rng, site: Site, provoked: bool = True) -> Group:
    """Clonus is often provoked by a posture change or transfer that stretches the muscle."""
    if provoked and rng.random() < 0.4:
        g = ep.turnover(rng, site, "posture")
        g.extend(ep.clonus(rng, site, with_stretch=False), g.span[1] + rng.uniform(0.1, 1.5) + 0.0)
        # the two truth spans touch on purpose here: keep them apart by at least 0.1 s
        return g
    return ep.clonus(rng, site)


def _lead_offs(
    rng: Rng, tl: Timeline, out: Group, site: Site, per_h: float
) -> list[tuple[float, float]]:
    spans = []
    for _ in range(_count(rng, per_h, tl.duration_s)):
        dur = float(np.exp(rng.uniform(np.log(2.0), np.log(min(900.0, 0.3 * tl.duration_s + 2.0)))))
        g = Group(busy=[(0.0, dur)])
        before = len(out.busy)
        if tl.place(rng, g, out):
            spans.append(out.busy[before])
    return spans


def plan_night(rng: Rng, duration_s: float, site: Site, r: dict[str, float]):
    tl, out = Timeline(duration_s), Group()
    lead = _lead_offs(rng, tl, out, site, r["lead_off"])
    _plm_series(rng, tl, out, site, r, long_series=True)
    _involuntary(rng, tl, out, site, r)
    return out, lead


def plan_daily(rng: Rng, duration_s: float, site: Site, r: dict[str, float]):
    tl, out = Timeline(duration_s), Group()
    lead = _lead_offs(rng, tl, out, site, r["lead_off"])
    _plm_series(rng, tl, out, site, r, long_series=False)
    _sprinkle(
        rng,
        tl,
        out,
        _count(rng, r["walking"], duration_s),
        lambda: ep.voluntary(rng, _site(rng, site), "walking"),
    )
    _involuntary(rng, tl, out, site, r)
    return out, lead


def plan_exercise(rng: Rng, duration_s: float, site: Site, r: dict[str, float]):
    """Warm-up walk, then blocks of sets (repetitions or holds) with rests; cramps, twitches and
    posture changes land in the gaps."""
    tl, out = Timeline(duration_s), Group()
    lead = _lead_offs(rng, tl, out, site, r["lead_off"])
    _plm_series(rng, tl, out, site, r, long_series=False)
    t = rng.uniform(5.0, 60.0)
    if r["walking"] > 0:
        warm = ep.voluntary(rng, _site(rng, site), "walking")
        if tl.place(rng, warm, out, at=t):
            t = warm.span[1] - warm.span[0] + t + rng.uniform(10, 60)
    while r["sets"] > 0 and t < duration_s - 30:
        pattern = "reps" if rng.random() < 0.7 else str(rng.choice(["hold", "ramp"]))
        block = ep.exercise_sets(rng, _site(rng, site), int(rng.integers(2, 6)), pattern)
        if not tl.place(rng, block, out, at=t):
            # trim sets from the end until it fits before the end of the session
            t += rng.uniform(20, 90)
            continue
        t += block.span[1] - block.span[0] + rng.uniform(30.0, 240.0)
        if rng.random() < r["walking"] / 10:
            walk = ep.voluntary(rng, _site(rng, site), "walking")
            if tl.place(rng, walk, out, at=t):
                t += walk.span[1] - walk.span[0] + rng.uniform(10, 60)
    _involuntary(rng, tl, out, site, r)
    return out, lead


def plan_mixed(rng: Rng, duration_s: float, site: Site, r: dict[str, float]):
    """Dense training mix: every kind and look-alike many times within 20-60 minutes."""
    tl, out = Timeline(duration_s), Group()
    lead = _lead_offs(rng, tl, out, site, r["lead_off"])
    _plm_series(rng, tl, out, site, r, long_series=False)
    # cramps are long: place them before the timeline fills up, so every recording has some
    n_cramps = _count(rng, r["cramp"], duration_s)
    _sprinkle(rng, tl, out, n_cramps, lambda: ep.cramp(rng, _site(rng, site)))
    r = {**r, "cramp": 0.0}
    n_blocks = _count(rng, r["exercise"], duration_s)
    for _ in range(n_blocks):
        pattern = str(rng.choice(["reps", "reps", "hold", "ramp"]))
        tl.place(
            rng, ep.exercise_sets(rng, _site(rng, site), int(rng.integers(1, 4)), pattern), out
        )
    _sprinkle(
        rng,
        tl,
        out,
        _count(rng, r["walking"], duration_s),
        lambda: ep.voluntary(rng, _site(rng, site), "walking"),
    )
    _involuntary(rng, tl, out, site, r)
    return out, lead


_COMMON_ARTIFACTS = {"pops": (0.3, 4.0), "motion": (0.5, 6.0)}

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "night",
            "sleep",
            "a night's sleep: PLM series (in most nights), turnovers, twitches, occasional spasms, cramps, clonus",
            {
                "plm_series": (0.0, 2.0),
                "plm": (0.5, 6.0),
                "spasm": (0.0, 0.8),
                "cramp": (0.0, 0.3),
                "clonus": (0.0, 0.4),
                "turnover": (1.0, 5.0),
                "posture": (1.0, 6.0),
                "twitch": (4.0, 40.0),
                "voluntary": (0.1, 1.0),
                "walking": (0.0, 0.0),
                "exercise": (0.0, 0.0),
                "lead_off": (0.0, 0.12),
                **_COMMON_ARTIFACTS,
            },
            (0.001, 0.012),
            22.5,
            plan_night,
        ),
        Scenario(
            "exercise",
            "exercise",
            "a workout: warm-up walk, sets of repetitions and holds with rests, an occasional cramp",
            {
                "plm_series": (0.0, 0.0),
                "plm": (0.0, 0.0),
                "spasm": (0.0, 0.5),
                "cramp": (0.5, 2.0),
                "clonus": (0.0, 0.3),
                "turnover": (0.0, 0.0),
                "posture": (2.0, 8.0),
                "twitch": (5.0, 30.0),
                "voluntary": (0.0, 2.0),
                "walking": (1.0, 4.0),
                "exercise": (0.0, 0.0),
                "lead_off": (0.0, 0.3),
                **_COMMON_ARTIFACTS,
            },
            (0.008, 0.04),
            17.0,
            plan_exercise,
        ),
        Scenario(
            "daily",
            "daily",
            "a spinal-cord-injury-like day: spasm clusters and clonus among transfers, posture changes and activity",
            {
                "plm_series": (0.0, 0.0),
                "plm": (0.0, 0.0),
                "spasm": (1.0, 8.0),
                "cramp": (0.0, 0.6),
                "clonus": (0.5, 4.0),
                "turnover": (0.0, 0.5),
                "posture": (3.0, 12.0),
                "twitch": (5.0, 25.0),
                "voluntary": (2.0, 10.0),
                "walking": (0.0, 1.5),
                "exercise": (0.0, 0.0),
                "lead_off": (0.0, 0.2),
                **_COMMON_ARTIFACTS,
            },
            (0.005, 0.05),
            8.0,
            plan_daily,
        ),
        Scenario(
            "mixed",
            "mixed",
            "dense training mix: every episode kind and look-alike many times per recording",
            {
                "plm_series": (3.0, 6.0),
                "plm": (6.0, 15.0),
                "spasm": (6.0, 14.0),
                "cramp": (4.0, 9.0),
                "clonus": (10.0, 20.0),
                "turnover": (6.0, 14.0),
                "posture": (8.0, 16.0),
                "twitch": (20.0, 50.0),
                "voluntary": (8.0, 16.0),
                "walking": (2.0, 4.0),
                "exercise": (3.0, 6.0),
                "lead_off": (0.0, 0.8),
                "pops": (1.0, 8.0),
                "motion": (2.0, 10.0),
            },
            (0.002, 0.05),
            12.0,
            plan_mixed,
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UsageError(
            f"unknown scenario {name!r} (choose from {', '.join(SCENARIOS)})"
        ) from None


# which rates produce which truth kind (``kinds=`` keeps only some kinds)
KIND_RATES = {
    "spasm": ("spasm",),
    "cramp": ("cramp",),
    "clonus": ("clonus",),
    "plm": ("plm_series", "plm"),
    "voluntary": ("voluntary", "walking", "exercise", "sets"),
    "turnover": ("turnover",),
    "posture": ("posture",),
    "twitch": ("twitch",),
}


def draw_rates(
    rng: Rng, scenario: Scenario, overrides: dict[str, float], kinds: list[str] | None = None
) -> dict[str, float]:
    """Per-recording rates: the caller's fixed values, else a draw from the scenario's range.
    ``kinds`` keeps only those episode kinds (the others' rates become 0)."""
    known = scenario.param_names()
    for k, v in overrides.items():
        if k not in known:
            raise UsageError(
                f"unknown parameter {k!r} for scenario {scenario.name} (known: {', '.join(known)})"
            )
        if not isinstance(v, int | float) or v < 0 or not np.isfinite(v):
            raise UsageError(f"parameter {k} must be a rate >= 0 per hour, got {v!r}")
    rates = {}
    for k, (lo, hi) in scenario.rates.items():
        drawn = float(rng.uniform(lo, hi))
        rates[k] = float(overrides.get(f"{k}_per_h", drawn))
    rates["sets"] = 1.0  # the exercise scenario's structured sets of repetitions and holds
    if kinds is not None:
        for kind in kinds:
            if kind not in KIND_RATES:
                raise UsageError(f"unknown kind {kind!r} (choose from {', '.join(KIND_RATES)})")
        for kind, keys in KIND_RATES.items():
            if kind not in kinds:
                for k in keys:
                    rates[k] = 0.0
    return rates
