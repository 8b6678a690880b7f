"""Episodes: what the detector reports and every sink consumes.

The tracker that turns window probabilities into episodes also lives here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace


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


def was_alerted(ep: Episode) -> bool:
    """Whether this episode raised an alert: its kind alerts, or its start did before the whole
    episode withdrew or renamed it (``extra.alerted_as``). A quiet one (``extra.quiet``: a leg
    movement with no PLM series under way, or with confirmed alerts an episode the second stage
    doubted when it opened) did not at its start; it alerts once announced (``announced``), and
    stays alerted whatever the rest of it or a later series decides."""
    if ep.extra.get("quiet"):
        return announced(ep)
    return ep.kind in ALERT_KINDS or ep.extra.get("alerted_as") in ALERT_KINDS


def announced(ep: Episode) -> bool:
    """Whether live sinks have told of this episode: at once, or (a quiet one) from the moment
    the second stage agreed while it lasted or the record first kept it, whatever a later series
    decides (``_announce_if_kept``)."""
    return not ep.extra.get("quiet") or "detected_at" in ep.extra


def alerts_now(ep: Episode) -> bool:
    """Whether the record keeps this episode as an alert: an alerting kind, and a leg movement
    only as a member of a PLM series."""
    return ep.kind in ALERT_KINDS and (ep.kind != "plm" or bool(ep.extra.get("plm_in_series")))


@dataclass(frozen=True)
class EpisodeEvent:
    """A change a sink must hear about: an episode was confirmed ("start"), ended ("end"), or,
    after it ended, was revised ("update"); or a quiet episode that is still going on is
    announced ("announce": the second stage agreed with it, ``TrackerParams.confirm_alerts``);
    or an alerting episode still going on has outlasted any leg movement ("ongoing", once: the
    event's episode is a copy that says what it is so far, ``previous`` what it was announced
    as; the episode itself keeps its announced kind until it ends).

    An update comes when a later leg movement decides a PLM series: an earlier movement joins
    the series (``plm_in_series``; one that ended as a spasm or voluntary movement becomes PLM)
    or leaves it (and gets its own kind back). ``previous`` is the kind the sinks last heard.
    """

    event: str  # "start" | "end" | "update" | "announce" | "ongoing"
    episode: Episode
    detected_at: float  # stream time (s since session start) at which the decision was made
    previous: str | None = None  # "update", "ongoing": the kind the sinks last heard


def alert_time(event: EpisodeEvent) -> float | None:
    """When the alert of this event's episode was decided, as far as this event tells: a start's
    own time, or for a quiet episode the moment it was announced (None while it is not)."""
    ep = event.episode
    if ep.extra.get("quiet"):
        at = ep.extra.get("detected_at")
        return None if at is None else float(at)
    return float(event.detected_at) if event.event == "start" else None


# --------------------------------------------------------------------------------------------
# Episode tracker
# --------------------------------------------------------------------------------------------
import math  # noqa: E402

import numpy as np  # noqa: E402

from emgwatch.domain import (  # noqa: E402
    ALERT_KINDS,
    ALERT_TIMINGS,
    PLM_AUTO_MAX_INTERVAL_JITTER,
    PLM_MAX_DURATION_S,
    PLM_MAX_INTERVAL_S,
    PLM_MERGE_GAP_S,
    PLM_MIN_DURATION_S,
    PLM_MIN_INTERVAL_S,
    PLM_MIN_SERIES,
    WINDOW_CLASSES,
)

_MAX_KEPT_WINDOWS = 12_000


@dataclass(frozen=True)
class TrackerParams:
    """Decision thresholds of the tracker: the one place they are defined.

    Times are in seconds of stream time. ``on``/``off`` apply to the smoothed probability that a
    window belongs to an alerting kind (hysteresis); ``confirm_s`` is how long that probability must
    stay up before an episode is announced (rejects twitches, bounds latency); ``end_hold_s`` is
    how long it must stay down before the episode ends (merges bursts that belong together).
    """

    on: float = 0.6
    off: float = 0.35
    smooth_hops: int = 3
    confirm_s: float = 0.35
    end_hold_s: float = 1.0
    min_duration_s: dict = field(
        default_factory=lambda: {
            "spasm": 0.5,
            "cramp": 8.0,
            "clonus": 1.0,
            "plm": PLM_MIN_DURATION_S,
        }
    )
    max_duration_s: float = 600.0  # longer episodes are split (extra.continued) so alerts stay live
    voluntary_on: float = 0.6  # voluntary episodes are logged (never alerted) above this
    hold_while_active: bool = True  # an open episode ends at rest, not when windows look voluntary
    reject_at: float | None = None  # second stage's p(none) that withdraws an alert (None: card's)
    # movements of a PLM series that the second stage must itself have accepted; the others are
    # movements it withdrew that keep the series' rhythm
    series_accepted: int = PLM_MIN_SERIES // 2
    # A leg movement the second stage withdrew rejoins a PLM series only if the stage gave it at
    # least this probability of being involuntary: rhythm is evidence, but not against a stage
    # that is sure the movement was voluntary. 0.3 in 'auto' (below).
    revive_min_conf: float = 0.0
    # A PLM series is a run of consecutive movements of a resting leg (WASM). When sleep is not
    # declared, other episodes on the channel that start between two members (voluntary
    # movements, spasms, movements too doubtful to count) say the leg was in use: with more than
    # this many in one gap the series is split there (None: never). In bed those movements are
    # candidates themselves. 1 in 'auto' (below).
    series_max_others_between: int | None = None
    # Without a declared sleep context, a leg at rest is treated as in bed for a movement the
    # second stage called a spasm: when the channel was active (p(rest) < 0.5) in at most this
    # share of the windows of the last rest_window_s before the movement began, a 0.5-10 s
    # spasm is a candidate leg movement, and inside a series it is PLM. It is a weak member: it
    # never counts toward series_accepted, so it cannot make a series of withdrawn movements.
    # None: never. 0.1 in 'auto' (below).
    spasm_at_rest_max_load: float | None = None
    rest_window_s: float = 300.0
    # A leg counts as at rest only once it has been watched this long: at the start of a
    # recording or a live run "the last rest_window_s" hold a few seconds, and a few quiet
    # seconds say nothing about whether the person is in bed (on fourthsim 4500's first 95 s
    # of a day, five everyday movements became a series that way). Half the rest window.
    rest_min_seen_s: float = 150.0
    # True: on a leg at rest by the same test (spasm_at_rest_max_load), any other 0.5-10 s
    # movement the second stage withdrew or that looked voluntary throughout (a clonus-like
    # one too) may keep a PLM series' rhythm, as in bed: a leg that has been still for minutes
    # is most likely in bed, whether or not sleep was declared. Such a movement counts like a
    # withdrawn leg movement (whatever the stage's p(alert)): a series must still rest on
    # series_accepted movements the stage itself called leg movements, keep a steady pace and
    # have at most series_max_others_between other episodes in a gap. On in 'auto' (below).
    rest_movements_candidates: bool = False
    # The other side of the same cue: a channel whose windows looked voluntary (p(voluntary) >=
    # 0.5) in at least busy_load of its usable windows over the rest_window_s before an episode
    # began is in use (daily activity, a workout), where most alerts the second stage doubts
    # are voluntary efforts. There it withdraws at p(none) >= busy_reject_at, as in the
    # declared contexts. Involuntary activity does not count: spasms come in clusters, and a
    # cluster must not make its own next spasm look doubtful. None: never. 0.1 in 'auto'.
    busy_load: float | None = None
    busy_reject_at: float | None = None
    # True: a leg movement that opens with no PLM series under way on its channel (the last
    # movement in a series, 10-90 s before) is quiet: no alert at its start, only once it is
    # kept as an alert (a later movement makes the series, or the whole episode is a spasm).
    # Isolated leg movements are not alarms in the record either, and most live false alerts
    # were these; but many true spasms open as leg movements and would alert only at their end
    # (decision latency on the test split 0.47 / 0.70 s -> 5.2 / 121 s). On, with
    # confirm_alerts, in 'sleep' and 'exercise' ([detection] alerts, docs/ACCURACY.md).
    quiet_leg_movements: bool = False
    # True: an episode that opens (other than a quiet leg movement) alerts only once the second
    # stage, judging the episode so far, keeps it: at once when it opens, else at the next check
    # (every confirm_every_s while it lasts), else when it ends and the record keeps it. Most
    # live false alerts are episodes the stage withdraws at their end; this sends them only if
    # the stage agreed at some point. The record is the same; only when alerts go out differs.
    # On in 'sleep' and 'exercise' (below), where a false alarm costs more than a second:
    # measured with benchmarks/live_alerts.py (docs/ACCURACY.md, session 17).
    confirm_alerts: bool = False
    confirm_every_s: float = 0.5
    # True: on a channel read as an envelope output, windows the classifier calls "artifact"
    # count as alert windows do: toward opening an episode and holding it open (and so toward
    # its onset, and against a voluntary episode starting there). An envelope has no content above
    # ~10 Hz, so what tells a raw sensor's motion artifact (slow swings, steps, pops) from muscle
    # is gone, and a clear rise of activity on a resting leg is split between "artifact" and the
    # alerting kinds, often with neither above `on`. The second stage still decides what the
    # episode was, from the real probabilities. On in 'sleep' (below), where WASM counts any
    # rise of EMG as a candidate leg movement. Chosen on development envelope nights (8 h): leg
    # movements found 133 -> 141 of 234, false alarms 12 -> 15; checked on the outside
    # simulators' nights: 323 -> 329 of 372, false alarms 14 -> 14; raw channels unchanged. Not
    # in 'exercise' (outside false alarms 7 -> 16) nor 'auto' (development sets: 16 more
    # episodes for 1 false alarm; outside: 4 more false alarms, 2 spasms fewer). An episode that only
    # opened with that help (the alerting kinds alone never reached `on` while it was pending)
    # is quiet, whatever [detection] alerts says: it alerts once the whole episode is kept. Sent
    # at once, such episodes added 8, 4 and 18 false live alerts in bed (development, outside,
    # test split); held, -3, -1 and +1 (docs/ACCURACY.md, "Envelope outputs in bed").
    envelope_artifact_opens: bool = False

    def __post_init__(self) -> None:
        # the tracker skips windows at or below off/2 in bulk: that is only the same as stepping
        # through them if such a window can neither open, extend nor end anything
        if not (0.0 < self.off < self.on <= 1.0 and self.off / 2 < self.voluntary_on <= 1.0):
            raise ValueError(
                f"tracker thresholds need 0 < off < on <= 1 and off/2 < voluntary_on <= 1, got "
                f"off={self.off}, on={self.on}, voluntary_on={self.voluntary_on}"
            )
        if self.series_max_others_between is not None and self.series_max_others_between < 0:
            raise ValueError(
                f"series_max_others_between must be None or >= 0, got "
                f"{self.series_max_others_between}"
            )


# Per-context thresholds, chosen on the validation split (never the test split). In bed one false
# alarm a night is too many, and during exercise hard voluntary efforts look like cramps, so both
# ask for more evidence (a longer confirmation) than the general-purpose 'auto' context, and the
# second stage withdraws an alert at p(none) >= 0.4 instead of the card's 0.5. That choice was
# made on development nights and exercise sessions in no split (seeds 910001-7, 920001-8):
# false alarms 17 -> 13 in 7 h of sleep (1 of 2 clonus lost), 6 -> 4 in 4 h of exercise (no
# episode lost); 0.3 removed no more in exercise and cost leg movements in bed (docs/ACCURACY.md).
STRICT_REJECT_AT = 0.4
# what the declared contexts share: more evidence, a stricter second stage, confirmed alerts
_DECLARED = dict(
    confirm_s=0.5, reject_at=STRICT_REJECT_AT, quiet_leg_movements=True, confirm_alerts=True
)
CONTEXT_PARAMS = {
    # revive_min_conf chosen on validation, envelope boards and dev-ecg in 'auto' (8.2 h): at
    # 0 / 0.3 / 0.4 / 0.45, false alarms 58 / 47 / 48 / 40 (plus dev-ecg at 0.45: 9), leg movements
    # found 104 / 103 / 102 / 92, spasms 97 / 95 / 95 / 94. Checked on the outside simulators'
    # daily and mixed recordings: false alarms 134 / 124 / 114 / 106, leg movements 35 / 35 / 34
    # / 33 of 41 (docs/ACCURACY.md).
    # series_max_others_between chosen on the same sets (series marks mended in every case):
    # never / 1 / 0, false alarms 43 / 36 / 34, leg movements found 102 / 88 / 68, spasms 94 / 91
    # / 90. Checked on the outside simulators' daily and mixed recordings: false alarms 121 / 117
    # / 99, leg movements 35 / 35 / 28 of 41 (docs/ACCURACY.md).
    # spasm_at_rest_max_load chosen on validation, development nights, envelope boards (days and
    # nights) and dev-ecg, every recording in 'auto' (24.3 h): never / 0.1 / 0.2 (docs/ACCURACY.md),
    # false alarms 67 / 67 / 68, the nights' leg movements found 92 / 96 / 96 of 127 (right kind
    # 65 / 71 / 71 %). Checked on the outside simulators, all in 'auto': false alarms
    # 160 / 160 / 164, leg movements 326 / 346 / 346 of 413, PLM index 13.2 / 15.9 / 16.6 vs 15.8/h.
    # busy_load chosen on the same sets plus dev-exercise and dev-exercise-dense (32.3 h, all in
    # 'auto'), withdrawing at 0.4 there: never / voluntary windows >= 0.2 / >= 0.1, false
    # alarms 87 / 84 / 78, alerting episodes found 595 / 592 / 592; counting every active window
    # instead (spasms too) at 0.3 / 0.2: 81 / 76, found 591 / 589 (docs/ACCURACY.md). Checked on
    # the outside simulators in 'auto': false alarms 160 -> 155, none of their episodes lost.
    # rest_movements_candidates chosen on the development suites fourthsim 4700 + fifthsim 5700
    # and emgwatch's development sets (no exercise), every recording in 'auto': episodes found
    # 342 -> 399 and false alarms 240 -> 237 on the suites, false alarms 73 -> 86 on ours
    # (docs/ACCURACY.md, "Session 23"; weak members, 20 %, >= 1 s and p(alert) >= 0.3 measured).
    "auto": TrackerParams(
        revive_min_conf=0.3,
        series_max_others_between=1,
        spasm_at_rest_max_load=0.1,
        rest_movements_candidates=True,
        busy_load=0.1,
        busy_reject_at=STRICT_REJECT_AT,
    ),
    "sleep": TrackerParams(on=0.7, smooth_hops=3, envelope_artifact_opens=True, **_DECLARED),
    "exercise": TrackerParams(on=0.8, smooth_hops=5, **_DECLARED),
}


def params_for(context: str, alerts: str = "context") -> TrackerParams:
    """Tracker thresholds for a detection context (unknown contexts get the 'auto' ones).

    ``alerts``: "fast" sends every alert when its episode opens; "confirmed" holds leg movements
    until a PLM series keeps them and other episodes until the second stage agrees
    (``quiet_leg_movements``, ``confirm_alerts``); "context" keeps the context's choice.
    """
    p = CONTEXT_PARAMS.get(context, CONTEXT_PARAMS["auto"])
    if alerts not in ALERT_TIMINGS:
        raise ValueError(f"alerts must be one of {', '.join(ALERT_TIMINGS)}, got {alerts!r}")
    if alerts == "context":
        return p
    on = alerts == "confirmed"
    return replace(p, quiet_leg_movements=on, confirm_alerts=on)


def _mark_leg_movement(e: Episode, in_series: bool, claimed: dict[str, tuple[str, object]]) -> None:
    """Record whether a leg movement belongs to a PLM series; one called otherwise (a spasm, a
    voluntary movement) that a series claims becomes PLM, saying what it alerted as, and gets its
    own kind back if a later movement breaks the series (``claimed`` keeps what it was)."""
    if e.id in claimed and not in_series:
        kind, alerted = claimed.pop(e.id)
        e.kind = kind
        e.extra.pop("plm_in_series", None)
        if alerted is None:
            e.extra.pop("alerted_as", None)
        else:
            e.extra["alerted_as"] = alerted
    elif e.kind == "plm":
        e.extra["plm_in_series"] = in_series
    elif in_series:
        claimed[e.id] = (e.kind, e.extra.get("alerted_as"))
        alerted = e.extra.get("alerted_as", e.kind)
        e.kind = "plm"
        if alerted in ALERT_KINDS and alerted != "plm":
            e.extra["alerted_as"] = alerted
        else:
            e.extra.pop("alerted_as", None)
        e.extra["plm_in_series"] = True


def _announce_if_kept(e: Episode, now: float) -> None:
    """A quiet episode is announced (live sinks send it) the first time the record keeps it as
    an alert; that moment is its ``detected_at``, which decision latency measures."""
    if e.extra.get("quiet") and "detected_at" not in e.extra and alerts_now(e):
        e.extra["detected_at"] = round(float(now), 3)


def _prefix_cuts(opened_at: float, last_window: float, end: float, every: float) -> list[float]:
    """Moments at which an episode would be judged while it lasted, for training the early
    second stage: every check (``every`` s) for its first 4 s, where most fall, then sparser."""
    offsets = [every * k for k in range(int(round(4.0 / every)) + 1)]
    while offsets[-1] < end - opened_at:
        offsets.append(offsets[-1] * 1.5)
    return [opened_at + o for o in offsets if opened_at + o < min(end, last_window + 1e-9)]


def _as_heard(e: Episode) -> tuple:
    """What sinks were told of a leg movement that a series can revise."""
    return e.kind, e.extra.get("plm_in_series"), e.extra.get("alerted_as")


def beyond_leg_movement(kind: str, dur: float) -> str:
    """The kind an episode of ``dur`` seconds can still be: a leg movement lasts at most
    PLM_MAX_DURATION_S (WASM), so a longer one is a spasm (or, later, a cramp)."""
    return "spasm" if kind == "plm" and dur > PLM_MAX_DURATION_S else kind


def _leg_movement_long(ep: Episode) -> bool:
    """Whether an episode lasts as long as a candidate leg movement (WASM: 0.5-10 s)."""
    return ep.end is not None and PLM_MIN_DURATION_S <= ep.end - ep.start <= PLM_MAX_DURATION_S


def _movement_end(m: Episode, parts: dict[str, list[Episode]]) -> float:
    """When a (closed) leg movement ended, its later parts less than 0.5 s apart included."""
    return max([m.end, *(p.end for p in parts.get(m.id, ()))])


def _split_where_busy(
    series: list[np.ndarray],
    onsets: np.ndarray,
    movements: list[Episode],
    parts: dict[str, list[Episode]],
    others: list[tuple[float, float]],
    allowed: int,
) -> list[np.ndarray]:
    """Split each series where more than ``allowed`` other episodes began between two of its
    movements; keep the parts that are still long enough to be a series.

    ``onsets`` are the movements' starts, ``parts`` their later parts by id. An other episode
    within PLM_MERGE_GAP_S of a leg movement is part of that movement (WASM: parts less than
    0.5 s apart are one movement; a voluntary-looking lead-in, say), and others that close
    together are one.
    """
    if len(others) <= allowed or not series:
        return series
    ends = np.array([_movement_end(m, parts) for m in movements])
    o = np.array(sorted(others))  # (start, end) by start
    # movements are in time order and disjoint (one track per channel): the last one starting
    # before an other ends is the only one that can touch it
    k = np.searchsorted(onsets, o[:, 1] + PLM_MERGE_GAP_S, side="right") - 1
    part_of_movement = (k >= 0) & (ends[np.maximum(k, 0)] >= o[:, 0] - PLM_MERGE_GAP_S)
    o = o[~part_of_movement]
    if len(o) <= allowed:
        return series
    reach = np.maximum.accumulate(o[:, 1])
    begins = o[np.r_[True, o[1:, 0] - reach[:-1] >= PLM_MERGE_GAP_S], 0]
    out = []
    for idx in series:
        t = onsets[idx]
        # others strictly between consecutive movements: a gap that is not quiet
        n_between = np.searchsorted(begins, t[1:], side="left") - np.searchsorted(
            begins, t[:-1], side="right"
        )
        cuts = np.flatnonzero(n_between > allowed) + 1
        out += [part for part in np.split(idx, cuts) if len(part) >= PLM_MIN_SERIES]
    return out


class _ActivityLoad:
    """How busy each channel has been: its windows of each sort (active, voluntary-looking...)
    and its usable windows counted, kept for ``window_s`` plus a margin before the newest block
    (a movement is judged when it closes, after its onset, possibly inside a block the detector
    hands over whole). One time axis serves every sort."""

    MARGIN_S = 120.0

    def __init__(self, n_channels: int, window_s: float, n_sorts: int = 1) -> None:
        self.window_s = window_s
        self.first_t: float | None = None  # the first window ever pushed
        self.t = np.zeros(0)
        # counts before each window, (n, sorts + 1, channels): [sort 0, sort 1, ..., usable]
        self.before = np.zeros((0, n_sorts + 1, n_channels))
        self.total = np.zeros((n_sorts + 1, n_channels))

    def push(self, t: np.ndarray, sorts: np.ndarray, usable: np.ndarray) -> None:
        """Windows at times t (n,); ``sorts`` (n, sorts, channels) and ``usable`` (n, channels)."""
        if self.first_t is None and len(t):
            self.first_t = float(t[0])
        x = np.concatenate([sorts & usable[:, None, :], usable[:, None, :]], axis=1).astype(float)
        before = self.total + np.cumsum(x, axis=0) - x
        self.total = before[-1] + x[-1]
        keep = int(np.searchsorted(self.t, t[0] - self.window_s - self.MARGIN_S))
        self.t = np.concatenate([self.t[keep:], t])
        self.before = np.concatenate([self.before[keep:], before])

    def seen_s(self, t1: float) -> float:
        """How long the channels had been watched at t1 (0 before any window)."""
        return 0.0 if self.first_t is None else max(0.0, t1 - self.first_t)

    def fraction(self, c: int, t1: float, sort: int = 0) -> float:
        """Share of the usable windows in (t1 - window_s, t1] that were of the sort (0 before
        any; 1 when none was usable: a leg nothing is known about is not known to be at rest)."""
        i0 = int(np.searchsorted(self.t, t1 - self.window_s, side="right"))
        i1 = int(np.searchsorted(self.t, t1, side="right"))
        if i1 <= i0:
            return 0.0
        end = self.before[i1, :, c] if i1 < len(self.t) else self.total[:, c]
        counts = end - self.before[i0, :, c]
        return float(counts[sort] / counts[-1]) if counts[-1] > 0 else 1.0


_ACTIVE, _VOLUNTARY = 0, 1  # the sorts of window EpisodeTracker._load counts


class _ChannelTrack:
    """Open/pending episode of one channel; real state, so a class."""

    def __init__(self) -> None:
        self.smooth: list[float] = []
        self.smooth_own: list[float] = []  # the same of the alerting kinds' own evidence
        self.own_peak = 0.0  # its highest smoothed value while the candidate was pending
        self.pending_since: float | None = (
            None  # candidate start (hysteresis up, not yet confirmed)
        )
        self.onset: float | None = None  # estimated onset time of the candidate
        self.quiet_since: float | None = None  # when p dropped below off within an open episode
        self.episode: Episode | None = None
        self.prob_sum = np.zeros(len(WINDOW_CLASSES))
        self.n = 0
        self.last_low: float = 0.0  # last time the window was clearly inactive (onset estimate)
        self.vol_since: float | None = None
        self.vol_episode: Episode | None = None
        # the windows of the candidate/open episode, for the episode-level second stage
        self.w_t: list[float] = []
        self.w_p: list[np.ndarray] = []
        self.w_lev: list[float] = []
        self.prev_onset: float | None = None
        self.prev_end: float | None = None
        self.busy = False  # the open episode began on a channel in use (TrackerParams.busy_load)
        self.next_check: float | None = None  # when the second stage looks at a held episode again
        self.outlast_check: float | None = None  # when to ask whether it outlasted a leg movement
        self.said_kind: str | None = None  # what its "ongoing" event said it is so far
        self.opened_at: float = 0.0  # when the open episode was confirmed (its first check)
        self.opened_kind: str = ""  # the kind its first windows said (before any announcement)
        self.part_announced = True  # whether the episode closed last had been announced


class EpisodeTracker:
    """Turns per-window class probabilities into episodes with start/end events.

    Context: ``sleep`` folds "voluntary" into non-alerting movement (turnovers) and allows PLM;
    ``exercise`` never alerts PLM (leg movements while exercising are voluntary); ``auto`` allows all.
    The decision runs per window in stream order, but idle stretches are skipped in bulk so an
    8-hour night costs little.
    """

    def __init__(
        self,
        channel_names: list[str],
        *,
        context: str = "auto",
        params: TrackerParams | None = None,
        stage=None,  # noqa: ANN001 - emgwatch.episode_stage.EpisodeStage or None
    ) -> None:
        self.channel_names = list(channel_names)
        self.context = context
        self.p = params or params_for(context)
        self.stage = stage
        # when a list, every closed candidate's (episode, feature vector) is appended (training)
        self.candidates: list | None = None
        # likewise (episode, feature vector of the episode so far) at the moments a confirmed
        # alert would be checked while it lasts (training the early second stage)
        self.prefixes: list | None = None
        # whether an alert that outlasts any leg movement says so ("ongoing"): live sinks tell
        # a held alert with it; an offline pass that keeps only the episodes can spare the
        # second stage's calls (a third of detect's time on a busy day)
        self.ongoing_events = True
        self._tracks = [_ChannelTrack() for _ in self.channel_names]
        self._alert_idx = np.array([WINDOW_CLASSES.index(k) for k in ALERT_KINDS])
        self._vol_idx = WINDOW_CLASSES.index("voluntary")
        self._artifact_idx = WINDOW_CLASSES.index("artifact")
        self._envelope = np.zeros(len(self.channel_names), dtype=bool)  # set_channel_sensors
        self._plm_episodes: dict[str, list[Episode]] = {c: [] for c in self.channel_names}
        self._withdrawn_lm: set[str] = set()  # ids of leg movements the second stage withdrew
        # leg movements called otherwise that a series claimed: id -> (kind, alerted_as)
        self._claimed: dict[str, tuple[str, object]] = {}
        self._weak: set[str] = set()  # ids of weak candidates (spasms on a resting leg, 'auto')
        # later parts of a leg movement (< 0.5 s after the previous one ended), by first part's id
        self._lm_parts: dict[str, list[Episode]] = {}
        # (start, end) of the other episodes of each channel (not leg-movement candidates), in
        # the order they closed (a lead-in closes before the episode it leads into)
        self._others: dict[str, list[tuple[float, float]]] = {c: [] for c in self.channel_names}
        # movements in series among those forgotten (before a gap of more than 90 s, which no
        # series spans), so that a monitor running for days keeps a bounded history
        self._frozen_members: dict[str, int] = {c: 0 for c in self.channel_names}
        # windows active (p(rest) < 0.5) and voluntary-looking (p(voluntary) >= 0.5) per channel
        self._load = _ActivityLoad(len(self.channel_names), self.p.rest_window_s, n_sorts=2)
        self._rest_idx = WINDOW_CLASSES.index("rest")
        self._t_last = 0.0

    def set_channel_sensors(self, sensors: Sequence[str] | None) -> None:
        """Each channel's sensor type ("raw" | "envelope"), once the features have decided it
        (TrackerParams.envelope_artifact_opens); None while undecided (read as raw)."""
        if sensors is not None and len(sensors) == len(self._envelope):
            self._envelope[:] = [s == "envelope" for s in sensors]

    def state(self, channel: str) -> str:
        """The open episode's kind, or "idle" (also while a quiet one is not announced yet:
        a dashboard must not show an episode that no alert stands behind)."""
        tr = self._tracks[self.channel_names.index(channel)]
        if tr.episode is None or not announced(tr.episode):
            return "idle"
        return tr.said_kind or tr.episode.kind  # what the latest event said it is

    # -- main entry ---------------------------------------------------------------------------
    def push(
        self,
        t: np.ndarray,
        proba: np.ndarray,
        level_db: np.ndarray,
        usable: np.ndarray,
    ) -> list[EpisodeEvent]:
        """Feed windows: times (n,), probabilities (n, ch, classes), level dB (n, ch), usable (n, ch)."""
        events: list[EpisodeEvent] = []
        if len(t) == 0:
            return events
        proba = self._apply_context(np.asarray(proba, dtype=float))
        if self.p.spasm_at_rest_max_load is not None or self.p.busy_load is not None:
            sorts = np.stack(
                [proba[:, :, self._rest_idx] < 0.5, proba[:, :, self._vol_idx] >= 0.5], axis=1
            )
            self._load.push(np.asarray(t, dtype=float), sorts, np.asarray(usable, dtype=bool))
        p_alert = proba[:, :, self._alert_idx].sum(axis=2)
        p_alert = np.where(usable, p_alert, 0.0)
        p_own = p_alert  # the alerting kinds' own evidence (without artifact windows' help)
        if self.p.envelope_artifact_opens and self._envelope.any():
            art = np.where(usable & self._envelope, proba[:, :, self._artifact_idx], 0.0)
            p_alert = p_alert + art
        p_vol = np.where(usable, proba[:, :, self._vol_idx], 0.0)
        quiet = self.p.off * 0.5  # at or below this a window can neither open nor extend anything
        h = self.p.smooth_hops
        for c in range(len(self.channel_names)):
            tr = self._tracks[c]
            busy = (p_alert[:, c] > quiet) | (p_vol[:, c] > quiet)
            busy_at = np.flatnonzero(busy)
            i, n = 0, len(t)
            while i < n:
                if not busy[i] and self._idle(tr) and all(v <= quiet for v in tr.smooth):
                    # Nothing pending or open and the smoothing window is quiet: up to the next
                    # busy window, stepping would only move the window and last_low. Skip there
                    # (most of a night), leaving the state exactly as stepping would.
                    k = int(np.searchsorted(busy_at, i))
                    j = int(busy_at[k]) if k < len(busy_at) else n
                    tr.smooth = (tr.smooth + p_alert[max(i, j - h) : j, c].tolist())[-h:]
                    tr.smooth_own = (tr.smooth_own + p_own[max(i, j - h) : j, c].tolist())[-h:]
                    tr.last_low = float(t[j - 1])
                    i = j
                    continue
                events += self._step(
                    c,
                    float(t[i]),
                    proba[i, c],
                    float(p_alert[i, c]),
                    float(p_own[i, c]),
                    float(p_vol[i, c]),
                    float(level_db[i, c]),
                )
                i += 1
        self._t_last = float(t[-1])
        return events

    def _series_under_way(self, c: int, t: float) -> bool:
        """Whether a leg movement opening at t would continue the channel's PLM series: its last
        movement is a member and began 10-90 s before (the WASM interval)."""
        eps = self._plm_episodes[self.channel_names[c]]
        if not eps or not eps[-1].extra.get("plm_in_series"):
            return False
        return PLM_MIN_INTERVAL_S <= t - eps[-1].start <= PLM_MAX_INTERVAL_S

    def _leg_at_rest(self, c: int, t: float) -> bool:
        """Whether the channel was mostly at rest before t (only asked when a limit is set)."""
        limit = self.p.spasm_at_rest_max_load
        return (
            limit is not None
            and self._load.seen_s(t) >= self.p.rest_min_seen_s
            and self._load.fraction(c, t, _ACTIVE) <= limit
        )

    @staticmethod
    def _idle(tr: _ChannelTrack) -> bool:
        return (
            tr.pending_since is None
            and tr.episode is None
            and tr.vol_since is None
            and tr.vol_episode is None
        )

    def flush(self) -> list[EpisodeEvent]:
        events: list[EpisodeEvent] = []
        for c, tr in enumerate(self._tracks):
            if tr.episode is not None:
                events += self._close(c, self._t_last, self._t_last)
            if tr.vol_episode is not None:
                events += self._end_voluntary(c, self._t_last)
        return events

    # -- internals ----------------------------------------------------------------------------
    def _apply_context(self, proba: np.ndarray) -> np.ndarray:
        if self.context == "exercise":
            plm = WINDOW_CLASSES.index("plm")
            proba = proba.copy()
            proba[..., self._vol_idx] += proba[..., plm]
            proba[..., plm] = 0.0
        return proba

    def _step(
        self, c: int, t: float, pr: np.ndarray, pa: float, po: float, pv: float, lev: float
    ) -> list[EpisodeEvent]:
        """One window of channel c: ``pa`` the alert evidence that opens and holds an episode,
        ``po`` the alerting kinds' own part of it (less on an envelope in bed)."""
        p = self.p
        tr = self._tracks[c]
        tr.smooth.append(pa)
        tr.smooth_own.append(po)
        if len(tr.smooth) > p.smooth_hops:
            tr.smooth.pop(0)
            tr.smooth_own.pop(0)
        s = sum(tr.smooth) / len(tr.smooth)
        events: list[EpisodeEvent] = []
        if pa < p.off and pv < p.off:
            tr.last_low = t
        # voluntary activity: logged as an episode of kind "voluntary", never alerted
        events += self._track_voluntary(c, t, pv, s, lev)
        if tr.episode is None:
            if s >= p.on:
                if tr.pending_since is None:
                    tr.pending_since = t
                    tr.onset = tr.last_low
                    tr.prob_sum[:] = 0
                    tr.n = 0
                    tr.w_t, tr.w_p, tr.w_lev = [], [], []
                    tr.own_peak = 0.0
                tr.own_peak = max(tr.own_peak, sum(tr.smooth_own) / len(tr.smooth_own))
                tr.prob_sum += pr
                tr.n += 1
                self._keep_window(tr, t, pr, lev)
                if t - tr.pending_since >= p.confirm_s:
                    events += self._open(c, t, lev)
            elif s < p.off:
                tr.pending_since = None
            elif tr.pending_since is not None:
                tr.prob_sum += pr
                tr.n += 1
                self._keep_window(tr, t, pr, lev)
            return events
        ep = tr.episode
        ep.level_db = max(ep.level_db, lev)
        self._keep_window(tr, t, pr, lev)
        # a held episode is judged again while it lasts (in its quiet tail the verdict at its
        # end comes within end_hold_s)
        due = tr.next_check is not None and t >= tr.next_check and tr.quiet_since is None
        if due and self._check_held(c, tr, ep, t):
            events.append(EpisodeEvent("announce", ep, t))
        if tr.outlast_check is not None and t >= tr.outlast_check and tr.quiet_since is None:
            events += self._outlasted(tr, ep, t)
        if s >= p.off:  # the quiet tail before the end must not dilute the kind and confidence
            tr.prob_sum += pr
            tr.n += 1
        # An involuntary contraction lasts until the muscle relaxes: windows that now look
        # voluntary (a cramp's steady plateau does) keep it open; rest or an artifact ends it.
        still_active = s >= p.off or (p.hold_while_active and pa + pv >= p.off)
        if not still_active:
            if tr.quiet_since is None:
                tr.quiet_since = t
            if t - tr.quiet_since >= p.end_hold_s:
                events += self._close(c, tr.quiet_since, t)
        else:
            tr.quiet_since = None
            if t - ep.start >= p.max_duration_s:
                events += self._close(c, t, t)
                events += self._open(c, t, lev, continued=True)
        return events

    def _track_voluntary(
        self, c: int, t: float, pv: float, s_alert: float, lev: float
    ) -> list[EpisodeEvent]:
        tr = self._tracks[c]
        p = self.p
        if tr.vol_episode is None:
            if pv >= p.voluntary_on and s_alert < p.off and tr.episode is None:
                tr.vol_since = tr.vol_since if tr.vol_since is not None else t
                if t - tr.vol_since >= p.confirm_s:
                    ep = Episode(
                        kind="voluntary",
                        channel=self.channel_names[c],
                        start=tr.vol_since,
                        confidence=round(float(pv), 3),
                        level_db=lev,
                    )
                    tr.vol_episode = ep
                    return [EpisodeEvent("start", ep, t)]
            else:
                tr.vol_since = None
            return []
        tr.vol_episode.level_db = max(tr.vol_episode.level_db, lev)
        if pv < p.off or tr.episode is not None:
            return self._end_voluntary(c, t)
        return []

    def _end_voluntary(self, c: int, t: float) -> list[EpisodeEvent]:
        """End the channel's voluntary episode at t (also at the end of the stream)."""
        tr = self._tracks[c]
        ep = tr.vol_episode
        assert ep is not None
        ep.end = t
        ep.level_db = round(float(ep.level_db), 1)
        tr.vol_episode = None
        tr.vol_since = None
        updates: list[EpisodeEvent] = []
        if _leg_movement_long(ep) and (
            self.context == "sleep"  # in bed, any movement of that length is a candidate
            or (self.p.rest_movements_candidates and self._leg_at_rest(c, ep.start))
        ):
            updates = self._add_plm(ep, now=t)
        else:
            self._others[ep.channel].append((ep.start, ep.end))
        return [EpisodeEvent("end", ep, t), *updates]

    @staticmethod
    def _keep_window(tr: _ChannelTrack, t: float, pr: np.ndarray, lev: float) -> None:
        if len(tr.w_t) < _MAX_KEPT_WINDOWS:  # a 10-min episode split point; plenty to describe it
            tr.w_t.append(t)
            tr.w_p.append(pr)
            tr.w_lev.append(lev)

    def _kind(self, tr: _ChannelTrack) -> tuple[str, float]:
        mean = tr.prob_sum / max(tr.n, 1)
        alert = mean[self._alert_idx]
        k = int(np.argmax(alert))
        conf = float(alert.sum())
        return ALERT_KINDS[k], min(1.0, conf)

    def _open(self, c: int, t: float, lev: float, continued: bool = False) -> list[EpisodeEvent]:
        tr = self._tracks[c]
        kind, conf = self._kind(tr)
        start = t if continued or tr.onset is None else tr.onset
        ep = Episode(
            kind=kind,
            channel=self.channel_names[c],
            start=float(start),
            confidence=round(conf, 3),
            level_db=lev,
        )
        ep.extra["detected_at"] = round(
            float(t), 3
        )  # when the alert went out (latency = this - start)
        # a long episode's continuation alerts at once if the part before it did and was kept;
        # otherwise it is held like a new episode
        held = not continued or not tr.part_announced
        confirm = self.p.confirm_alerts and self.stage is not None and held
        if continued:
            ep.extra["continued"] = True
        # opened only with the artifact windows' help (envelope_artifact_opens): the alerting
        # kinds alone did not reach `on`, so it alerts only once the whole episode is kept
        # (for a continuation, own_peak is still the opening candidate's)
        by_artifact = held and tr.own_peak < self.p.on
        if (
            confirm
            or by_artifact
            or (
                not continued
                and kind == "plm"
                and self.p.quiet_leg_movements
                and not self._series_under_way(c, start)
            )
        ):
            ep.extra["quiet"] = True
            del ep.extra["detected_at"]  # set when it is announced
        # judged when it opens, a few seconds after its start: the activity history reaches
        # back far enough then, whatever the episode's length and the blocks' size
        # (a cramp's continuation keeps its first part's verdict: its own activity is no cue)
        limit = self.p.busy_load
        if not continued:
            tr.busy = limit is not None and self._load.fraction(c, ep.start, _VOLUNTARY) >= limit
        tr.next_check = None
        tell = self.ongoing_events and not continued
        tr.outlast_check = float(start) + PLM_MAX_DURATION_S if tell else None
        tr.said_kind = None
        tr.opened_at, tr.opened_kind = t, kind
        if confirm and not by_artifact:  # held: announced when the stage agrees, now or while
            self._check_held(c, tr, ep, t)  # it lasts, or at the end
        tr.episode = ep
        tr.pending_since = None
        tr.quiet_since = None
        return [EpisodeEvent("start", ep, t)]

    def _close(self, c: int, end: float, now: float) -> list[EpisodeEvent]:
        tr = self._tracks[c]
        ep = tr.episode
        assert ep is not None
        ep.end = float(max(end, ep.start))
        kind, conf = self._kind(tr)
        said_as = ep.kind  # what it was announced as (the stage's kind, with confirmed alerts)
        opened_as = tr.opened_kind
        tr.next_check = tr.outlast_check = tr.said_kind = None
        if (self.stage is not None or self.candidates is not None) and tr.w_t:
            from emgwatch.episode_stage import NONE_CLASS

            x = self._episode_vector(tr, ep, ep.end)
            if self.candidates is not None:
                self.candidates.append((ep, x))
            if self.prefixes is not None and not ep.extra.get("continued"):
                self.prefixes += [
                    (ep, self._episode_vector(tr, ep, cut))
                    for cut in _prefix_cuts(
                        tr.opened_at, tr.w_t[-1], ep.end, self.p.confirm_every_s
                    )
                ]
            if self.stage is not None:
                verdict = self.stage.decide(x, self._reject_at(tr))
                conf = verdict.p_alert
                kind = "voluntary" if verdict.kind == NONE_CLASS else verdict.kind
                if kind == "plm" and self.context == "exercise":
                    kind = "voluntary"  # leg movements while exercising are voluntary
        tr.prev_onset, tr.prev_end = ep.start, ep.end
        tr.w_t, tr.w_p, tr.w_lev = [], [], []
        ep.kind = kind if kind == "voluntary" else self._final_kind(kind, ep.end - ep.start, tr)
        if ep.kind != said_as and announced(ep):  # the whole episode says otherwise than its
            ep.extra["alerted_as"] = said_as  # announcement did (a quiet one said nothing)
        ep.confidence = round(conf, 3)
        ep.level_db = round(float(ep.level_db), 1)
        tr.episode = None
        tr.quiet_since = None
        tr.prob_sum[:] = 0
        tr.n = 0
        # A leg movement the second stage withdrew still counts toward a PLM series: periodicity
        # (4 or more, 10-90 s apart) is evidence that no single episode's shape can give, and
        # turnovers and voluntary movements rarely keep that rhythm.
        # In bed (WASM scoring), a leg movement is any 0.5-10 s rise of activity, whatever its
        # shape suggested: one the second stage called a spasm or voluntary still counts if it
        # keeps a series' rhythm. Elsewhere only movements that opened as PLM are candidates,
        # and on a leg at rest a spasm as a weak one (TrackerParams.spasm_at_rest_max_load), the
        # others as withdrawn ones (rest_movements_candidates).
        leg_movement = ep.kind == "plm" or (
            _leg_movement_long(ep)
            and (
                (
                    ep.kind == "voluntary"
                    and opened_as == "plm"
                    and self.context != "exercise"
                    and conf >= self.p.revive_min_conf
                )
                or (self.context == "sleep" and ep.kind in ("spasm", "clonus", "voluntary"))
            )
        )
        at_rest = not leg_movement and _leg_movement_long(ep) and self._leg_at_rest(c, ep.start)
        weak = at_rest and ep.kind == "spasm"
        if at_rest and ep.kind in ("clonus", "voluntary") and self.p.rest_movements_candidates:
            leg_movement = True  # a withdrawn candidate, as in bed (rest_movements_candidates)
        updates: list[EpisodeEvent] = []
        if leg_movement or weak:
            updates = self._add_plm(ep, weak=weak, now=now)
        elif not ep.extra.get("continued"):
            self._others[ep.channel].append((ep.start, ep.end))
        _announce_if_kept(ep, now)
        # for a continuation opened next (max_duration_s): it alerts at once only if this part
        # alerted and the record kept it
        tr.part_announced = announced(ep) and alerts_now(ep)
        return [EpisodeEvent("end", ep, now), *updates]

    def _episode_vector(self, tr: _ChannelTrack, ep: Episode, end: float) -> np.ndarray:
        """The second stage's view of the episode from its start to ``end`` (its windows so far)."""
        from emgwatch.episode_stage import episode_vector

        return episode_vector(
            np.asarray(tr.w_t),
            np.asarray(tr.w_p),
            np.asarray(tr.w_lev),
            ep.start,
            end,
            p_off=self.p.off,
            since_prev_onset=None if tr.prev_onset is None else ep.start - tr.prev_onset,
            since_prev_end=None if tr.prev_end is None else ep.start - tr.prev_end,
        )

    def _reject_at(self, tr: _ChannelTrack) -> float | None:
        """p(none) at which the second stage withdraws this channel's open episode."""
        busy = tr.busy and self.p.busy_reject_at is not None
        return self.p.busy_reject_at if busy else self.p.reject_at

    def _check_held(self, c: int, tr: _ChannelTrack, ep: Episode, now: float) -> bool:
        """Ask the second stage about a held episode: announced now (its kind, ``detected_at``)
        if it keeps it, else judged again ``confirm_every_s`` later."""
        said = self._confirmed_kind(c, tr, ep, now)
        if said is None:
            tr.next_check = now + self.p.confirm_every_s
            return False
        ep.kind, ep.extra["detected_at"] = said, round(float(now), 3)
        tr.next_check = None
        return True

    def _outlasted(self, tr: _ChannelTrack, ep: Episode, now: float) -> list[EpisodeEvent]:
        """An alerting episode still going on once no leg movement could last as long (WASM:
        10 s): one "ongoing" event, with what it is so far (the second stage's kind, if it
        alerts; never a leg movement now), so that an alert held as a possible leg movement
        can be told while the cramp goes on instead of at its end (NotifyPolicy). While the
        stage calls it nothing that alerts, it is asked again ``confirm_every_s`` later."""
        if now - ep.start <= PLM_MAX_DURATION_S:
            return []  # still as long as a leg movement can be: the next window
        if not (announced(ep) and ep.kind in ALERT_KINDS):
            tr.outlast_check = now + self.p.confirm_every_s  # quiet, or a withdrawn kind: later
            return []
        kind = ep.kind if self.stage is None else self._stage_kind(tr, ep, now)
        if kind not in ALERT_KINDS or (kind == "plm" and self.context == "exercise"):
            tr.outlast_check = now + self.p.confirm_every_s  # (no leg movements in exercise)
            return []
        tr.outlast_check = None
        tr.said_kind = beyond_leg_movement(kind, now - ep.start)
        said = replace(ep, kind=tr.said_kind, extra=dict(ep.extra))
        return [EpisodeEvent("ongoing", said, now, previous=ep.kind)]

    def _stage_kind(self, tr: _ChannelTrack, ep: Episode, now: float) -> str | None:
        """The second stage's kind for the episode as it stands at ``now`` (its early version
        while the episode goes on); None while there are no windows to judge (a
        continuation's first moment)."""
        if not tr.w_t:
            return None
        x = self._episode_vector(tr, ep, now)
        decide = getattr(self.stage, "decide_so_far", self.stage.decide)
        return decide(x, self._reject_at(tr)).kind

    def _confirmed_kind(self, c: int, tr: _ChannelTrack, ep: Episode, now: float) -> str | None:
        """The kind to announce a held episode as (``TrackerParams.confirm_alerts``): the second
        stage's, judging the episode as it stands at ``now``, if that alerts (a leg movement
        only while a PLM series is under way, never during exercise); else None, also while
        there are no windows to judge (a continuation's first moment)."""
        kind = self._stage_kind(tr, ep, now)
        if kind not in ALERT_KINDS:
            return None
        if kind == "plm" and (
            self.context == "exercise" or not self._series_under_way(c, ep.start)
        ):
            return None
        return kind

    def _final_kind(self, kind: str, dur: float, tr: _ChannelTrack) -> str:
        """Duration rules that the per-window classifier cannot see."""
        mins = self.p.min_duration_s
        kind = beyond_leg_movement(kind, dur)
        if kind == "cramp" and dur < mins["cramp"]:
            kind = "spasm"
        if kind == "clonus" and dur < mins["clonus"]:
            kind = "spasm"
        return kind

    def _add_plm(self, ep: Episode, weak: bool = False, now: float = 0.0) -> list[EpisodeEvent]:
        """Add a candidate leg movement to its channel's series logic and (re)mark the members.

        Returns an "update" for every earlier episode whose kind or series membership changed:
        live sinks heard its end before the series was known. A weak candidate (a spasm on a leg
        at rest, in 'auto') may fill a series' rhythm but never takes a movement out of one: the
        members are those of the series found with every candidate, plus those found without the
        weak ones (which then count as other activity).
        """
        eps = self._plm_episodes[ep.channel]
        withdrawn = self._withdrawn_lm
        # accepted: the second stage called it a leg movement (in bed: any alerting kind)
        accepted = ep.kind == "plm" or (self.context == "sleep" and ep.kind in ALERT_KINDS)
        if eps and eps[-1].end is not None and ep.start - eps[-1].end < PLM_MERGE_GAP_S:
            # WASM: movements less than 0.5 s apart are one movement, accepted if either part is
            first = eps[-1]
            self._lm_parts.setdefault(first.id, []).append(ep)
            if accepted:
                withdrawn.discard(first.id)
                self._weak.discard(first.id)
            if ep.kind == "plm":
                ep.extra["plm_in_series"] = bool(first.extra.get("plm_in_series"))
            return []
        if weak and eps and ep.start - eps[-1].start < PLM_MIN_INTERVAL_S:
            # too soon after the last movement to fill a rhythm; it would only break one
            self._others[ep.channel].append((ep.start, ep.end))
            return []
        if eps and ep.start - eps[-1].start > PLM_MAX_INTERVAL_S:
            self._forget_movements(ep.channel, before=ep.start)
        eps.append(ep)
        if not accepted:  # withdrawn by the second stage, logged as voluntary, or weak
            withdrawn.add(ep.id)
        if weak:
            self._weak.add(ep.id)
        members, last = self._members(eps, self._others[ep.channel])
        # the first movements of a series only become part of it when later ones arrive: mark
        # them too (the objects already handed out, so an offline pass sees the final state).
        # Only the runs of 10-90 s intervals that hold the new movement (found with and without
        # the weak candidates) can have changed.
        updates = []
        for i in sorted({*range(max(0, len(eps) - PLM_MIN_SERIES), len(eps)), *last}):
            for e in (eps[i], *self._lm_parts.get(eps[i].id, ())):
                heard = _as_heard(e)
                _mark_leg_movement(e, i in members, self._claimed)
                if e is not ep and _as_heard(e) != heard:
                    _announce_if_kept(e, now)
                    updates.append(EpisodeEvent("update", e, now, previous=heard[0]))
        if ep.kind == "plm":
            hours = max(ep.end or ep.start, 1e-9) / 3600.0
            n = self._frozen_members[ep.channel] + len(members)
            ep.extra["plm_index_per_h"] = round(n / hours, 1) if hours > 0 else math.nan
        return updates

    def _members(
        self, eps: list[Episode], others: list[tuple[float, float]]
    ) -> tuple[set[int], set[int]]:
        """Indices of ``eps`` in a series, found with every candidate and without the weak ones
        (which then count as other activity), and of the runs holding the last movement."""
        members, last = self._series_members(eps, others)
        strong = [i for i, e in enumerate(eps) if e.id not in self._weak]
        if len(strong) < len(eps):
            sub = [eps[i] for i in strong]
            parts = self._lm_parts
            as_others = [(e.start, _movement_end(e, parts)) for e in eps if e.id in self._weak]
            m, lst = self._series_members(sub, [*others, *as_others])
            members |= {strong[j] for j in m}
            last |= {strong[j] for j in lst}
        return members, last

    def _forget_movements(self, channel: str, before: float) -> None:
        """Count the channel's series members so far and forget those movements: a movement
        more than 90 s after the last one starts afresh (no series spans that gap, with or
        without the weak candidates), so nothing before it can change. Other episodes that
        ended before it (less the 0.5 s that joins them to a movement) cannot either."""
        eps = self._plm_episodes[channel]
        others = self._others[channel]
        members, _ = self._members(eps, others)
        self._frozen_members[channel] += len(members)
        for e in eps:
            self._withdrawn_lm.discard(e.id)
            self._weak.discard(e.id)
            for part in (e, *self._lm_parts.pop(e.id, ())):
                self._claimed.pop(part.id, None)
        eps.clear()
        others[:] = [o for o in others if o[1] >= before - PLM_MERGE_GAP_S]

    def _series_members(
        self, eps: list[Episode], others: list[tuple[float, float]]
    ) -> tuple[set[int], set[int]]:
        """Indices of ``eps`` in a PLM series, and of the 10-90 s run holding the last one."""
        from emgwatch.scoring import (  # the one definition of a PLM series
            interval_jitter,
            plm_series_indices,
        )

        onsets = np.array([e.start for e in eps])
        runs = plm_series_indices(onsets)  # by the WASM intervals alone
        series = runs
        if self.context == "auto":  # sleep not declared: the rhythm must be periodic too
            series = [
                idx
                for idx in series
                if interval_jitter(onsets[idx]) <= PLM_AUTO_MAX_INTERVAL_JITTER
            ]
        if self.p.series_max_others_between is not None:  # after the pace: it only removes
            series = _split_where_busy(
                series, onsets, eps, self._lm_parts, others, self.p.series_max_others_between
            )
        # A series must rest on movements the second stage itself accepted (at least half of the
        # minimum), so a rhythm of withdrawn voluntary movements alone never becomes PLM.
        withdrawn = self._withdrawn_lm
        series = [
            idx
            for idx in series
            if sum(eps[i].id not in withdrawn for i in idx) >= self.p.series_accepted
        ]
        members = {int(i) for idx in series for i in idx}
        last = {int(i) for i in runs[-1]} if runs and len(eps) - 1 in runs[-1] else set()
        return members, last
