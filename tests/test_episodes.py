import dataclasses

import numpy as np
import pytest

from emgwatch.domain import WINDOW_CLASSES
from emgwatch.episodes import EpisodeTracker, TrackerParams, params_for, was_alerted

HOP = 0.05


def stream(segments, n_ch=1):
    """segments: list of (duration_s, class_name, prob) -> times, proba, level, usable."""
    rows = []
    for dur, cls, p in segments:
        n = int(round(dur / HOP))
        row = np.zeros(len(WINDOW_CLASSES))
        row[WINDOW_CLASSES.index(cls)] = p
        row[0] += 1 - p if cls != "rest" else 0
        rows += [row] * n
    proba = np.array(rows)[:, None, :].repeat(n_ch, axis=1)
    t = (np.arange(len(rows)) + 1) * HOP
    level = np.where(proba[:, :, 0] > 0.5, 0.0, 20.0)
    return t, proba, level, np.ones(level.shape, bool)


def run(tracker, t, proba, level, usable, chunk=None):
    events = []
    chunk = chunk or len(t)
    for i in range(0, len(t), chunk):
        events += tracker.push(
            t[i : i + chunk], proba[i : i + chunk], level[i : i + chunk], usable[i : i + chunk]
        )
    return events + tracker.flush()


def ended(events):
    return [e.episode for e in events if e.event == "end"]


def fast(context):
    """The context's thresholds with every alert sent when its episode opens (no quiet leg
    movements, no confirmation by the second stage): for tests of the record that script the
    second stage's answers in close order."""
    return dataclasses.replace(params_for(context), quiet_leg_movements=False, confirm_alerts=False)


def test_spasm_is_confirmed_quickly_and_ends_after_hold():
    t, pr, lev, us = stream([(10, "rest", 1), (3, "spasm", 0.9), (10, "rest", 1)])
    ev = run(EpisodeTracker(["ch1"]), t, pr, lev, us)
    starts = [e for e in ev if e.event == "start"]
    assert len(starts) == 1 and starts[0].episode.kind == "spasm"
    assert starts[0].detected_at - 10.0 <= 0.5  # confirmation latency
    (ep,) = ended(ev)
    assert ep.start == pytest.approx(10.0, abs=0.11)
    assert ep.end == pytest.approx(13.0, abs=0.2)
    assert ep.level_db == 20.0 and ep.confidence == pytest.approx(0.9, abs=0.03)


def test_brief_burst_below_confirmation_time_is_ignored():
    t, pr, lev, us = stream([(5, "rest", 1), (0.2, "spasm", 0.95), (5, "rest", 1)])
    assert ended(run(EpisodeTracker(["ch1"]), t, pr, lev, us)) == []


def test_bursts_with_short_gaps_merge_into_one_episode():
    segs = [(5, "rest", 1)] + [(0.4, "clonus", 0.9), (0.15, "rest", 1)] * 10 + [(5, "rest", 1)]
    eps = ended(run(EpisodeTracker(["ch1"]), *stream(segs)))
    assert len(eps) == 1 and eps[0].kind == "clonus"


def test_short_cramp_is_reported_as_spasm():
    eps = ended(
        run(EpisodeTracker(["ch1"]), *stream([(5, "rest", 1), (3, "cramp", 0.9), (5, "rest", 1)]))
    )
    assert [e.kind for e in eps] == ["spasm"]


def test_an_episode_whose_kind_changes_says_what_it_was_alerted_as():
    segs = [(5, "rest", 1), (1.0, "plm", 0.9), (30, "cramp", 0.9), (5, "rest", 1)]
    ev = run(EpisodeTracker(["ch1"]), *stream(segs))
    starts = [e for e in ev if e.event == "start"]
    (ep,) = ended(ev)
    assert len(starts) == 1 and ep.kind == "cramp"
    assert ep.extra["alerted_as"] == "plm"
    plain = ended(run(EpisodeTracker(["ch1"]), *stream([(5, "rest", 1), (3, "spasm", 0.9)])))
    assert "alerted_as" not in plain[0].extra


def test_a_contraction_that_starts_involuntary_lasts_until_the_muscle_relaxes():
    """A cramp's steady plateau looks voluntary window by window; it is still the same episode."""
    segs = [(5, "rest", 1), (2, "cramp", 0.9), (12, "voluntary", 0.9), (5, "rest", 1)]
    eps = ended(run(EpisodeTracker(["ch1"]), *stream(segs)))
    assert [e.kind for e in eps] == ["cramp"]
    assert eps[0].end == pytest.approx(19.0, abs=0.2)
    split = ended(
        run(EpisodeTracker(["ch1"], params=TrackerParams(hold_while_active=False)), *stream(segs))
    )
    assert [e.kind for e in split] == ["spasm", "voluntary"]


def test_chunking_does_not_change_episodes():
    segs = [
        (5, "rest", 1),
        (2, "spasm", 0.9),
        (4, "rest", 1),
        (12, "cramp", 0.8),
        (3, "rest", 1),
        (2, "voluntary", 0.9),
        (2, "rest", 1),
    ]
    data = stream(segs, n_ch=2)
    ref = [
        (e.start, e.end, e.kind, e.channel) for e in ended(run(EpisodeTracker(["a", "b"]), *data))
    ]
    assert len(ref) == 6
    for chunk in (1, 7, 33):
        got = [
            (e.start, e.end, e.kind, e.channel)
            for e in ended(run(EpisodeTracker(["a", "b"]), *data, chunk=chunk))
        ]
        assert sorted(got) == sorted(ref)


def test_voluntary_is_logged_but_never_an_alert_kind():
    eps = ended(
        run(
            EpisodeTracker(["ch1"]),
            *stream([(5, "rest", 1), (3, "voluntary", 0.9), (5, "rest", 1)]),
        )
    )
    assert [e.kind for e in eps] == ["voluntary"]
    (ep,) = ended(run(EpisodeTracker(["ch1"]), *stream([(5, "rest", 1), (3, "voluntary", 0.8765)])))
    assert ep.confidence == 0.876 or ep.confidence == 0.877  # three decimals, as every episode's


def test_exercise_context_never_reports_plm():
    data = stream([(5, "rest", 1), (2, "plm", 0.9), (5, "rest", 1)])
    assert [e.kind for e in ended(run(EpisodeTracker(["ch1"], context="exercise"), *data))] == [
        "voluntary"
    ]
    assert [e.kind for e in ended(run(EpisodeTracker(["ch1"], context="sleep"), *data))] == ["plm"]


def test_unusable_windows_never_alarm():
    t, pr, lev, us = stream([(5, "rest", 1), (3, "spasm", 0.95), (5, "rest", 1)])
    us[:] = False
    assert ended(run(EpisodeTracker(["ch1"]), t, pr, lev, us)) == []


def test_very_long_episode_is_split_to_stay_live():
    params = TrackerParams(max_duration_s=30.0)
    eps = ended(
        run(
            EpisodeTracker(["ch1"], params=params),
            *stream([(2, "rest", 1), (75, "cramp", 0.9), (3, "rest", 1)]),
        )
    )
    assert [e.kind for e in eps] == ["cramp", "cramp", "cramp"]
    assert eps[1].extra.get("continued") is True


# how long a leg must have been watched before it counts as at rest ('auto')
WATCHED_S = params_for("auto").rest_min_seen_s


def _plm_night(gaps):
    """Rest (long enough for a leg to count as at rest), then 2-s leg movements separated by
    the given onset-to-onset intervals."""
    segs = [(WATCHED_S + 5, "rest", 1)]
    for g in gaps:
        segs += [(2, "plm", 0.95), (g - 2, "rest", 1)]
    segs += [(2, "plm", 0.95), (5, "rest", 1)]
    return segs


@pytest.mark.parametrize("context", ["sleep", "auto"])
def test_a_monitor_running_for_hours_forgets_movements_no_series_can_reach(context):
    """Movements before a gap of more than 90 s can no longer join a series: a tracker left
    running for days keeps only the movements since the last such gap, and still counts every
    series member in the PLM index."""
    rng = np.random.default_rng(3)
    gaps = []
    for _ in range(12):  # twelve series of 5-8 movements, 2-5 minutes apart
        gaps += [float(g) for g in rng.integers(20, 40, int(rng.integers(4, 7)))]
        gaps.append(float(rng.integers(120, 300)))
    tracker = EpisodeTracker(["leg"], context=context)
    kept = []
    events = []
    t, pr, lev, us = stream(_plm_night(gaps[:-1]))
    for i in range(0, len(t), 2000):
        events += tracker.push(
            t[i : i + 2000], pr[i : i + 2000], lev[i : i + 2000], us[i : i + 2000]
        )
        kept.append(len(tracker._plm_episodes["leg"]))
    events += tracker.flush()
    eps = ended(events)
    assert len(eps) == len(gaps) and max(kept) <= 8
    in_series = [e for e in eps if e.kind == "plm" and e.extra.get("plm_in_series")]
    assert len(in_series) == len(eps)  # every series is kept whole
    last = eps[-1]
    assert last.extra["plm_index_per_h"] == pytest.approx(
        len(in_series) / (last.end / 3600), abs=0.1
    )


def test_first_movements_of_a_series_are_marked_when_the_fourth_arrives():
    eps = ended(run(EpisodeTracker(["leg"], context="sleep"), *stream(_plm_night([25, 25, 25]))))
    assert [e.kind for e in eps] == ["plm"] * 4
    assert all(e.extra["plm_in_series"] for e in eps)
    # three movements are not a series: none of them is marked
    eps3 = ended(run(EpisodeTracker(["leg"], context="sleep"), *stream(_plm_night([25, 25]))))
    assert len(eps3) == 3 and not any(e.extra["plm_in_series"] for e in eps3)


def test_sleep_context_asks_for_more_evidence_than_auto():
    # a 0.6-s burst at p=0.9 passes the 'auto' confirmation but not the 'sleep' one
    segs = [(5, "rest", 1), (0.6, "spasm", 0.9), (5, "rest", 1)]
    assert len(ended(run(EpisodeTracker(["ch1"], context="auto"), *stream(segs)))) == 1
    assert ended(run(EpisodeTracker(["ch1"], context="sleep"), *stream(segs))) == []


class _ScriptedStage:
    """A second stage that withdraws the episodes whose turn is listed (0-based, in close order)."""

    def __init__(self, withdraw: set[int]) -> None:
        self.withdraw, self.n = withdraw, 0

    def decide(self, x, reject_at=None):
        from emgwatch.episode_stage import NONE_CLASS, EpisodeVerdict

        i, self.n = self.n, self.n + 1
        return EpisodeVerdict(NONE_CLASS, 0.2) if i in self.withdraw else EpisodeVerdict("plm", 0.9)


class _DoubtfulPipeline:
    """A second-stage model that is 45 % sure every episode was nothing involuntary."""

    classes_ = np.array(["clonus", "cramp", "none", "plm", "spasm"])

    def predict_proba(self, x):
        return np.tile([0.05, 0.05, 0.45, 0.05, 0.40], (len(x), 1))


@pytest.mark.parametrize(
    ("context", "kind"), [("auto", "spasm"), ("sleep", "voluntary"), ("exercise", "voluntary")]
)
def test_in_bed_and_exercise_a_doubtful_alert_is_withdrawn(context, kind):
    from emgwatch.episode_stage import EpisodeStage

    stage = EpisodeStage(_DoubtfulPipeline(), card={}, reject_at=0.5)
    segs = [(5, "rest", 1), (4, "spasm", 0.97), (5, "rest", 1)]
    for params in (fast(context), params_for(context)):
        tracker = EpisodeTracker(["ch1"], context=context, stage=stage, params=params)
        eps = ended(run(tracker, *stream(segs)))
        assert [e.kind for e in eps] == [kind]
        assert eps[0].confidence == pytest.approx(0.55)
        # sent when it opened, it says what it alerted as; by default in bed and during
        # exercise the stage doubted it from the first (confirm_alerts): it never alerted
        confirmed = params.confirm_alerts
        assert was_alerted(eps[0]) is (kind == "spasm" or not confirmed)
        said = "spasm" if was_alerted(eps[0]) and kind != "spasm" else None
        assert eps[0].extra.get("alerted_as") == said


def test_withdrawn_leg_movements_that_keep_the_rhythm_rejoin_a_series():
    gaps = [25, 25, 25, 25]  # five movements, 25 s apart
    tracker = EpisodeTracker(["leg"], context="sleep", stage=_ScriptedStage({1, 3}))
    eps = ended(run(tracker, *stream(_plm_night(gaps))))
    assert len(eps) == 5
    assert [e.kind for e in eps] == ["plm"] * 5  # 3 accepted + 2 withdrawn, one rhythm
    assert all(e.extra["plm_in_series"] for e in eps)
    assert not any("alerted_as" in e.extra for e in eps)


def test_a_rhythm_of_withdrawn_movements_alone_is_not_a_plm_series():
    tracker = EpisodeTracker(
        ["leg"], context="sleep", params=fast("sleep"), stage=_ScriptedStage({0, 1, 2, 3, 4})
    )
    eps = ended(run(tracker, *stream(_plm_night([25, 25, 25, 25]))))
    assert len(eps) == 5
    assert all(e.kind == "voluntary" and e.extra["alerted_as"] == "plm" for e in eps)


def test_an_isolated_leg_movement_is_marked_outside_any_series_in_auto_too():
    # detect_recording drops PLMs without plm_in_series in every context
    tracker = EpisodeTracker(["leg"], context="auto")
    eps = ended(run(tracker, *stream([(5, "rest", 1), (2, "plm", 0.95), (120, "rest", 1)])))
    assert [e.kind for e in eps] == ["plm"] and eps[0].extra["plm_in_series"] is False


def test_without_declared_sleep_a_plm_series_must_keep_a_steady_pace():
    steady, irregular = [25, 28, 24, 27], [12, 60, 15, 70]  # all inside 10-90 s
    eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(_plm_night(steady))))
    assert [e.extra["plm_in_series"] for e in eps] == [True] * 5
    eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(_plm_night(irregular))))
    assert [e.extra["plm_in_series"] for e in eps] == [False] * 5
    # in bed the WASM rule alone decides: the same irregular rhythm is a series
    eps = ended(run(EpisodeTracker(["leg"], context="sleep"), *stream(_plm_night(irregular))))
    assert [e.extra["plm_in_series"] for e in eps] == [True] * 5


def test_interval_jitter_is_zero_for_a_metronome_and_robust_to_one_missed_movement():
    from emgwatch.scoring import interval_jitter

    assert interval_jitter([0, 30, 60, 90, 120]) == pytest.approx(0.0)
    assert interval_jitter([0, 30, 90, 120, 150, 180, 210]) == pytest.approx(0.0)  # 60 missing
    assert interval_jitter([0, 12, 72, 87, 157]) > 1.0
    assert np.isnan(interval_jitter([0, 30]))


class _KindStage:
    """A second stage that answers with the listed kinds in close order (NONE_CLASS withdraws)."""

    def __init__(self, kinds: list[str], p_withdrawn: float = 0.4) -> None:
        self.kinds, self.n, self.p_withdrawn = kinds, 0, p_withdrawn

    def decide(self, x, reject_at=None):
        from emgwatch.episode_stage import EpisodeVerdict

        k, self.n = self.kinds[self.n], self.n + 1
        return EpisodeVerdict(k, 0.9 if k != "none" else self.p_withdrawn)


def test_in_bed_a_movement_the_stage_called_a_spasm_counts_if_it_keeps_the_rhythm():
    kinds = ["plm", "spasm", "plm", "none", "plm"]
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="sleep", params=fast("sleep"), stage=_KindStage(kinds)),
            *stream(_plm_night([25, 26, 24, 25])),
        )
    )
    assert [e.kind for e in eps] == ["plm"] * 5 and all(e.extra["plm_in_series"] for e in eps)
    assert eps[1].extra.get("alerted_as") is None  # it opened as plm: no kind change to report
    # in 'auto' the same holds on a leg at rest (active in at most a tenth of the last 5 min)...
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds)),
            *stream(_plm_night([25, 26, 24, 25])),
        )
    )
    assert [e.kind for e in eps] == ["plm"] * 5 and all(e.extra["plm_in_series"] for e in eps)
    # ... but on a leg that was in use the spasm call stands: there only movements that opened
    # as PLM are candidates
    busy = [(5, "rest", 1), (100, "voluntary", 0.95), (30, "rest", 1)]
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds)),
            *stream(busy + _plm_night([25, 26, 24, 25])[1:]),
        )
    )
    assert [e.kind for e in eps][1:] == ["plm", "spasm", "plm", "plm", "plm"]
    assert eps[0].kind == "voluntary" and eps[0].end - eps[0].start > 90


def test_in_bed_voluntary_looking_leg_movements_in_a_rhythm_are_plm():
    segs = [(WATCHED_S + 5, "rest", 1)]
    for i in range(5):  # two clear leg movements, three that look voluntary, 25 s apart
        segs += [(2, "plm" if i in (0, 3) else "voluntary", 0.95), (23, "rest", 1)]
    eps = ended(run(EpisodeTracker(["leg"], context="sleep"), *stream(segs)))
    assert [e.kind for e in eps] == ["plm"] * 5
    assert all(e.extra["plm_in_series"] for e in eps)
    assert not any(e.extra.get("alerted_as") for e in eps)  # the voluntary ones never alerted
    # in 'auto' the same on a leg at rest (rest_movements_candidates): it has been still for
    # minutes, most likely in bed; whatever the blocks a live run feeds
    for chunk in (None, 1, 7):
        eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(segs), chunk=chunk))
        assert [e.kind for e in eps] == ["plm"] * 5
        assert all(e.extra["plm_in_series"] for e in eps)
    # ... but not on a leg in use: there a voluntary-looking movement is voluntary
    busy = [(WATCHED_S, "rest", 1), (100, "voluntary", 0.95), (30, "rest", 1)] + segs[1:]
    eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(busy)))
    assert [e.kind for e in eps][1:] == ["plm", "voluntary", "voluntary", "plm", "voluntary"]
    # ... nor in the first minutes of watching, when a few quiet seconds say nothing
    fresh = [(5, "rest", 1)] + segs[1:]
    eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(fresh)))
    assert [e.kind for e in eps] == ["plm", "voluntary", "voluntary", "plm", "voluntary"]
    # ... nor without the rule
    no_rule = dataclasses.replace(params_for("auto"), rest_movements_candidates=False)
    eps = ended(run(EpisodeTracker(["leg"], context="auto", params=no_rule), *stream(segs)))
    assert [e.kind for e in eps] == ["plm", "voluntary", "voluntary", "plm", "voluntary"]


def test_leg_movements_less_than_half_a_second_apart_are_one_movement():
    segs = [(5, "rest", 1)]
    for _ in range(4):  # each movement: a voluntary-looking burst, 0.3 s later a clear one
        segs += [(1.5, "voluntary", 0.95), (0.3, "rest", 1), (1.5, "plm", 0.95), (25, "rest", 1)]
    eps = ended(run(EpisodeTracker(["leg"], context="sleep"), *stream(segs)))
    assert len(eps) == 8
    # had the parts counted apart, 1.8-s intervals would break every series; as one movement
    # each (accepted, since its second part is) they make one series
    assert [e.kind for e in eps] == ["plm"] * 8
    assert all(e.extra["plm_in_series"] for e in eps)


def test_thresholds_that_would_make_skipping_quiet_windows_inexact_are_refused():
    for bad in ({"off": 0.7, "on": 0.6}, {"off": 0.0}, {"voluntary_on": 0.1}):
        with pytest.raises(ValueError, match="tracker thresholds"):
            TrackerParams(**bad)


# What counts as other activity in a gap is tested on a leg whose voluntary movements are not
# themselves candidates: without the rule that treats a leg at rest as in bed
AUTO_IN_USE = dataclasses.replace(params_for("auto"), rest_movements_candidates=False)


def test_in_auto_a_withdrawal_the_stage_is_sure_of_stays_withdrawn_whatever_the_rhythm():
    """In 'auto' a withdrawn leg movement rejoins a series only if the stage doubted (p(alert)
    >= revive_min_conf): everyday movements it is sure of must not become PLM by their rhythm.
    On a leg at rest for minutes (rest_movements_candidates) it counts as in bed."""
    kinds = ["plm", "plm", "none", "plm", "plm"]
    for p_withdrawn, third in ((0.4, "plm"), (0.1, "voluntary")):
        eps = ended(
            run(
                EpisodeTracker(
                    ["leg"],
                    context="auto",
                    params=AUTO_IN_USE,
                    stage=_KindStage(kinds, p_withdrawn),
                ),
                *stream(_plm_night([25, 26, 24, 25])),
            )
        )
        assert [e.kind for e in eps][2] == third
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds, 0.1)),
            *stream(_plm_night([25, 26, 24, 25])),
        )
    )
    assert [e.kind for e in eps] == ["plm"] * 5
    # in bed the WASM rule counts every movement, however sure the stage was
    eps = ended(
        run(
            EpisodeTracker(
                ["leg"], context="sleep", params=fast("sleep"), stage=_KindStage(kinds, 0.1)
            ),
            *stream(_plm_night([25, 26, 24, 25])),
        )
    )
    assert [e.kind for e in eps] == ["plm"] * 5


def _with_voluntary_after(segs, movement, n=2):
    """The segments of _plm_night with n 2-s voluntary movements in the rest after the given
    movement (from 5 s on, 4 s apart)."""
    out, seen = [], -1
    for dur, cls, p in segs:
        if cls == "rest" and seen == movement and dur > 5 + 4 * n:
            out += [(5, "rest", 1)]
            out += [(2, "voluntary", 0.95), (2, "rest", 1)] * n
            out += [(dur - 5 - 4 * n, "rest", 1)]
        else:
            out.append((dur, cls, p))
        seen += cls == "plm"
    return out


def test_without_declared_sleep_other_activity_between_leg_movements_splits_a_series():
    gaps = [25, 25, 25, 25, 25]  # six steady movements
    plain = ended(
        run(EpisodeTracker(["leg"], context="auto", params=AUTO_IN_USE), *stream(_plm_night(gaps)))
    )
    assert [e.extra["plm_in_series"] for e in plain] == [True] * 6
    # one voluntary movement in a gap is tolerated
    segs = _with_voluntary_after(_plm_night(gaps), 2, n=1)
    eps = ended(run(EpisodeTracker(["leg"], context="auto", params=AUTO_IN_USE), *stream(segs)))
    assert [e.extra["plm_in_series"] for e in eps if e.kind == "plm"] == [True] * 6
    # two after the third: 3 + 3, neither a series
    segs = _with_voluntary_after(_plm_night(gaps), 2)
    eps = ended(run(EpisodeTracker(["leg"], context="auto", params=AUTO_IN_USE), *stream(segs)))
    lms = [e for e in eps if e.kind == "plm"]
    assert [e.kind for e in eps].count("voluntary") == 2 and len(lms) == 6
    assert [e.extra["plm_in_series"] for e in lms] == [False] * 6
    # after the first: the five that follow still make a series
    segs = _with_voluntary_after(_plm_night(gaps), 0)
    lms = [
        e
        for e in ended(
            run(EpisodeTracker(["leg"], context="auto", params=AUTO_IN_USE), *stream(segs))
        )
        if e.kind == "plm"
    ]
    assert [e.extra["plm_in_series"] for e in lms] == [False] + [True] * 5


def _night_with_busy_gaps(intervals, busy):
    """2-s leg movements at the given intervals; the gaps after the movements listed in
    ``busy`` (0-based) hold the segments given there, from 3 s after the movement."""
    segs = [(WATCHED_S + 5, "rest", 1)]
    for k, iv in enumerate(intervals):
        extra = busy.get(k, [])
        used = 2 + 3 + sum(d for d, _, _ in extra)
        segs += [(2, "plm", 0.95)]
        segs += [(3, "rest", 1), *extra, (iv - used, "rest", 1)] if extra else [(iv - 2, "rest", 1)]
    return segs + [(2, "plm", 0.95), (5, "rest", 1)]


def _in_series(segs, chunk=None, params=AUTO_IN_USE):
    tracker = EpisodeTracker(["leg"], context="auto", params=params)
    eps = ended(run(tracker, *stream(segs), chunk=chunk))
    return [e.extra["plm_in_series"] for e in eps if e.kind == "plm"]


# 'auto' without the rule that lets a spasm on a resting leg be a leg movement: what counts as
# other activity is tested on its own
AUTO_SPASMS_STAND = dataclasses.replace(AUTO_IN_USE, spasm_at_rest_max_load=None)


VOL = (2, "voluntary", 0.95)
REST = (2, "rest", 1)
SPASM = (2, "spasm", 0.95)


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_what_counts_as_other_activity_in_a_gap(chunk):
    steady = [25] * 5
    assert _in_series(_night_with_busy_gaps(steady, {}), chunk) == [True] * 6
    # a spasm alone is tolerated; a spasm and a voluntary movement split the series (3 + 3)
    p = AUTO_SPASMS_STAND
    assert _in_series(_night_with_busy_gaps(steady, {2: [SPASM]}), chunk, p) == [True] * 6
    assert (
        _in_series(_night_with_busy_gaps(steady, {2: [SPASM, REST, VOL]}), chunk, p) == [False] * 6
    )
    # a voluntary-looking lead-in less than 0.5 s before a movement is part of that movement
    lead_in = [(0.8, "voluntary", 0.95), (0.2, "rest", 1)]
    segs = [(5, "rest", 1)]
    for _ in range(6):
        segs += [*lead_in, (1.5, "plm", 0.95), (22.5, "rest", 1)]
    gap = len(segs) - 1 - 3 * 4  # the rest after the third movement
    segs[gap : gap + 1] = [(3, "rest", 1), VOL, (17.5, "rest", 1)]  # one real other, tolerated
    assert _in_series(segs, chunk) == [True] * 6


def test_a_split_never_makes_a_series_the_whole_run_was_not():
    # the whole run is too irregular for 'auto'; its last four alone would keep a steady pace
    irregular = [40, 15, 40, 15, 20, 20, 20]
    assert _in_series(_night_with_busy_gaps(irregular, {})) == [False] * 8
    assert _in_series(_night_with_busy_gaps(irregular, {3: [VOL, REST, VOL]})) == [False] * 8


def test_movements_marked_while_streaming_match_the_final_series():
    # a run with a steady pace whose newest movement is split off by a busy gap: the earlier
    # movements must still be marked as the series they form
    ivs = [20, 20, 40, 20, 20]
    assert _in_series(_night_with_busy_gaps(ivs, {}))[:5] == [True] * 5
    assert _in_series(_night_with_busy_gaps(ivs, {4: [VOL, REST, VOL]})) == [True] * 5 + [False]


def test_in_bed_a_movement_still_going_when_the_recording_ends_counts_as_a_leg_movement():
    segs = [(5, "rest", 1)] + [(2, "plm", 0.95), (23, "rest", 1)] * 4 + [(2, "voluntary", 0.95)]
    eps = ended(run(EpisodeTracker(["leg"], context="sleep"), *stream(segs)))
    assert len(eps) == 5 and eps[-1].end == pytest.approx(segs_end(segs), abs=HOP)
    assert [e.kind for e in eps] == ["plm"] * 5  # the fifth, cut off by the end, joins the series
    assert all(e.extra["plm_in_series"] for e in eps)


def segs_end(segs):
    return sum(d for d, _, _ in segs)


def test_a_spasm_a_series_claimed_gets_its_kind_back_when_the_series_breaks():
    # 'auto', a leg at rest: the second movement, called a spasm, is claimed by the series the
    # first five make; the sixth makes the whole run too irregular for 'auto', so no series is
    # left and the spasm is a spasm again (an offline pass must not drop it as a lone PLM)
    kinds = ["plm", "spasm", "plm", "plm", "plm", "plm"]
    gaps = [25, 25, 25, 85]
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds)),
            *stream(_plm_night(gaps)),
        )
    )
    # it opened as PLM (its first windows looked like one): no kind change to report
    assert eps[1].kind == "plm" and eps[1].extra["plm_in_series"] is True
    assert "alerted_as" not in eps[1].extra
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds)),
            *stream(_plm_night([*gaps, 12])),
        )
    )
    assert [e.extra["plm_in_series"] for e in eps if e.kind == "plm"] == [False] * 5
    assert eps[1].kind == "spasm" and "plm_in_series" not in eps[1].extra
    assert eps[1].extra["alerted_as"] == "plm"  # as before the series claimed it


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_a_spasm_on_a_resting_leg_is_a_weak_member_of_a_series(chunk):
    # withdrawn movements and spasms alone keep the rhythm but are no series: a series rests
    # on movements the second stage itself called leg movements
    kinds = ["none", "spasm", "none", "spasm", "none"]
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds)),
            *stream(_plm_night([25, 25, 25, 25])),
            chunk=chunk,
        )
    )
    assert [e.kind for e in eps] == ["voluntary", "spasm", "voluntary", "spasm", "voluntary"]
    # two accepted movements are enough: then the spasms are leg movements of the series
    kinds = ["plm", "spasm", "none", "spasm", "plm"]
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds)),
            *stream(_plm_night([25, 25, 25, 25])),
            chunk=chunk,
        )
    )
    assert [e.kind for e in eps] == ["plm"] * 5 and all(e.extra["plm_in_series"] for e in eps)


def test_how_busy_a_leg_was_is_counted_over_the_last_five_minutes_whatever_the_blocks():
    from emgwatch.episodes import _ActivityLoad

    rng = np.random.default_rng(0)
    n = 30000
    t = np.arange(n) * HOP
    active = rng.random((n, 2)) < 0.3
    usable = np.ones((n, 2), bool)
    usable[5000:9000, 1] = False  # a lead-off: says nothing about rest
    load, i = _ActivityLoad(2, 300.0), 0
    while i < n:
        k = int(rng.integers(1, 3000))
        first = t[i]
        load.push(t[i : i + k], active[i : i + k, None], usable[i : i + k])
        i = min(i + k, n)
        # anything from 2 min before the newest block on: a movement is judged when it closes
        for q in rng.uniform(max(0.0, first - 120), t[i - 1], size=3):
            inside = (t > q - 300.0) & (t <= q) & (np.arange(n) < i) & usable[:, 1]
            want = active[inside, 1].mean() if inside.any() else 1.0
            assert load.fraction(1, q) == pytest.approx(want, abs=1e-12)
    assert len(load.t) <= (300 + 120) / HOP + 3000  # a bounded history, not the whole night


@pytest.mark.parametrize("chunk", [None, 1, 7, 6000])
def test_whether_a_leg_was_at_rest_does_not_depend_on_the_blocks(chunk):
    # the leg was in use 100-160 s; a spasm at 310 s in a PLM rhythm: 20 % of the last 5 min
    segs = [(100, "rest", 1), (60, "voluntary", 0.95), (100, "rest", 1)]
    for cls in ["plm", "plm", "spasm", "plm", "plm"]:
        segs += [(2, cls, 0.95), (23, "rest", 1)]
    segs += [(250, "rest", 1)]  # a block of 6000 windows then ends long after the spasm
    eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(segs), chunk=chunk))
    assert [e.kind for e in eps] == ["voluntary", "plm", "plm", "spasm", "plm", "plm"]


def test_a_spasm_on_a_resting_leg_never_takes_movements_out_of_a_series():
    # six steady leg movements and a spasm 3 s after the third: in bed WASM would restart the
    # series there; in 'auto' the spasm only ever fills a rhythm, so the six stay a series
    segs = _night_with_busy_gaps([25] * 5, {2: [SPASM]})
    assert _in_series(segs) == [True] * 6
    eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(segs)))
    assert [e.kind for e in eps].count("spasm") == 1
    # one 15 s after a movement and 10 s before the next keeps the 10-90 s intervals: a leg
    # movement of the series (reported as PLM, having alerted as a spasm)
    segs = _night_with_busy_gaps([25] * 5, {2: [(10, "rest", 1), SPASM]})
    assert _in_series(segs) == [True] * 7


class _Snapshot(list):
    """Events with the episode's state copied at the moment each was emitted."""

    def push_all(self, events):
        for ev in events:
            self.append((ev, ev.episode.kind, ev.episode.extra.get("plm_in_series")))


def _run_snapshots(tracker, t, proba, level, usable, chunk=None):
    got = _Snapshot()
    chunk = chunk or len(t)
    for i in range(0, len(t), chunk):
        got.push_all(
            tracker.push(
                t[i : i + chunk], proba[i : i + chunk], level[i : i + chunk], usable[i : i + chunk]
            )
        )
    got.push_all(tracker.flush())
    return got


def _last_heard(snapshots):
    heard = {}
    for ev, kind, series in snapshots:
        heard[ev.episode.id] = (kind, series)
    return heard


def test_a_series_claiming_an_ended_spasm_is_sent_as_an_update():
    # in bed, the second movement ended as a spasm: when the fourth makes a series, the first
    # three are revised after their end, and live sinks must hear it
    kinds = ["plm", "spasm", "plm", "plm"]
    tracker = EpisodeTracker(
        ["leg"], context="sleep", params=fast("sleep"), stage=_KindStage(kinds)
    )
    snaps = _run_snapshots(tracker, *stream(_plm_night([25, 25, 25])))
    ups = [(ev.previous, kind, series) for ev, kind, series in snaps if ev.event == "update"]
    assert ups == [("plm", "plm", True), ("spasm", "plm", True), ("plm", "plm", True)]
    ends = [ev for ev, _, _ in snaps if ev.event == "end"]
    assert [ev.episode.id for ev, _, _ in snaps if ev.event == "update"] == [
        e.episode.id for e in ends[:3]
    ]
    # each update is decided when the fourth movement ends, after that movement's own end
    fourth = ends[3]
    assert all(ev.detected_at == fourth.detected_at for ev, _, _ in snaps if ev.event == "update")
    assert [ev.event for ev, _, _ in snaps][-4:] == ["end", "update", "update", "update"]
    final = {e.episode.id: (e.episode.kind, e.episode.extra.get("plm_in_series")) for e in ends}
    assert _last_heard(snaps) == final


def test_a_claimed_spasm_given_back_its_kind_is_sent_as_an_update():
    kinds = ["plm", "spasm", "plm", "plm", "plm", "plm"]
    tracker = EpisodeTracker(["leg"], context="auto", stage=_KindStage(kinds))
    snaps = _run_snapshots(tracker, *stream(_plm_night([25, 25, 25, 85, 12])))
    spasm_id = [ev for ev, _, _ in snaps if ev.event == "end"][1].episode.id
    heard = [(ev.event, kind, ev.previous) for ev, kind, _ in snaps if ev.episode.id == spasm_id]
    # it opened as PLM: an isolated PLM at its end, then claimed... and given back at the sixth
    assert heard[-1] == ("update", "spasm", "plm")
    assert _last_heard(snaps)[spasm_id] == ("spasm", None)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("context", ["auto", "sleep", "sleep-fast"])
def test_a_live_sink_ends_up_knowing_what_an_offline_pass_prints(seed, context):
    """Random nights of leg movements, spasms, voluntary movements and rest, in random blocks:
    replaying every event a sink got (start, end, update) gives the final kinds and series."""
    rng = np.random.default_rng(seed)
    segs = [(5, "rest", 1)]
    for _ in range(40):
        cls = rng.choice(["plm", "plm", "plm", "spasm", "voluntary"])
        segs += [(float(rng.uniform(0.8, 4)), str(cls), 0.95)]
        segs += [(float(rng.choice([rng.uniform(1, 9), rng.uniform(9, 40)])), "rest", 1)]
    stage_kinds = [str(k) for k in rng.choice(["plm", "plm", "spasm", "none"], size=2000)]
    context, _, how = context.partition("-")
    params = fast(context) if how else params_for(context)
    tracker = EpisodeTracker(["leg"], context=context, params=params, stage=_KindStage(stage_kinds))
    snaps = _run_snapshots(tracker, *stream(segs), chunk=int(rng.integers(1, 400)))
    final = {
        ev.episode.id: (ev.episode.kind, ev.episode.extra.get("plm_in_series"))
        for ev, _, _ in snaps
    }
    assert _last_heard(snaps) == final
    if how:  # every such night revises some movements after their end
        assert any(ev.event == "update" for ev, _, _ in snaps)


class _DoubtfulStage:
    """A second stage that doubts every episode the same: p(none) fixed, the threshold decides."""

    def __init__(self, p_none: float) -> None:
        self.p_none = p_none

    def decide(self, x, reject_at=None):
        from emgwatch.episode_stage import NONE_CLASS, EpisodeVerdict

        if self.p_none >= (0.5 if reject_at is None else reject_at):
            return EpisodeVerdict(NONE_CLASS, 1 - self.p_none)
        return EpisodeVerdict("spasm", 1 - self.p_none)


@pytest.mark.parametrize("chunk", [None, 1, 7, 6000])
def test_on_a_channel_in_use_a_doubtful_alert_is_withdrawn_sooner(chunk):
    # a leg in voluntary use for 75 s of the last five minutes (27 % of its windows), then a 3-s
    # burst the stage doubts at p(none) 0.45: withdrawn on that leg (0.4 there), an alert on a
    # leg at rest (0.5), and on the busy leg too without the rule
    busy = [(100, "rest", 1), (75, "voluntary", 0.95), (100, "rest", 1)]
    burst = [(3, "spasm", 0.95), (10, "rest", 1)]
    quiet = [(275, "rest", 1)]
    for before, kind in ((busy, "voluntary"), (quiet, "spasm")):
        eps = ended(
            run(
                EpisodeTracker(["leg"], context="auto", stage=_DoubtfulStage(0.45)),
                *stream(before + burst),
                chunk=chunk,
            )
        )
        assert eps[-1].kind == kind
        assert eps[-1].extra.get("alerted_as") == ("spasm" if kind == "voluntary" else None)
    # a cluster of spasms before it is no voluntary use: the doubtful burst stays an alert
    # (8 spasms of 8 s: 21 % of the last five minutes active, but none of it voluntary)
    cluster = [(100, "rest", 1)] + [(8, "spasm", 0.95), (5, "rest", 1)] * 8 + [(100, "rest", 1)]
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", stage=_DoubtfulStage(0.45)),
            *stream(cluster + burst),
            chunk=chunk,
        )
    )
    assert [e.kind for e in eps] == ["spasm"] * 9
    off = dataclasses.replace(params_for("auto"), busy_load=None)
    eps = ended(
        run(
            EpisodeTracker(["leg"], context="auto", params=off, stage=_DoubtfulStage(0.45)),
            *stream(busy + burst),
            chunk=chunk,
        )
    )
    assert eps[-1].kind == "spasm"


@pytest.mark.parametrize("context", ["sleep", "auto"])
def test_leg_movements_alert_only_as_part_of_a_series(context):
    """A leg movement with no series under way opens quietly (no alert); the first three of a
    series are announced when the fourth makes it, the fifth at once: it continues the series."""
    quiet = dataclasses.replace(params_for(context), quiet_leg_movements=True)
    tracker = EpisodeTracker(["leg"], context=context, params=quiet)
    events = run(tracker, *stream(_plm_night([25] * 4 + [200])))
    starts = {e.episode.id: e for e in events if e.event == "start"}
    eps = ended(events)
    assert [e.kind for e in eps] == ["plm"] * 6
    assert [bool(e.extra.get("quiet")) for e in eps] == [True, True, True, True, False, True]
    onsets = [e.start for e in eps]
    settled = next(e.detected_at for e in events if e.event == "end" and e.episode is eps[3])
    for e in eps[:4]:  # announced when the fourth ended and settled the series
        assert e.extra["detected_at"] == pytest.approx(settled)
    assert settled - eps[3].end < 1.5
    fifth = eps[4]  # a series under way: it alerts when it opens, as any episode
    assert fifth.extra["detected_at"] == starts[fifth.id].detected_at < fifth.end
    assert fifth.extra["detected_at"] - onsets[4] < 1.0
    # the last one, 200 s later, starts afresh and never joins a series: never announced
    assert "detected_at" not in eps[5].extra and not eps[5].extra["plm_in_series"]


def test_in_auto_every_leg_movement_alerts_at_its_start_by_default():
    eps = ended(run(EpisodeTracker(["leg"], context="auto"), *stream(_plm_night([25]))))
    assert len(eps) == 2 and not any(e.extra.get("quiet") for e in eps)
    assert all(e.extra["detected_at"] - e.start < 1.0 for e in eps)
    # in bed and during exercise, alerts are confirmed by default
    assert params_for("sleep").quiet_leg_movements and params_for("sleep").confirm_alerts
    assert params_for("exercise").confirm_alerts and not params_for("auto").confirm_alerts


def _quiet(context):
    return dataclasses.replace(params_for(context), quiet_leg_movements=True)


def test_a_quiet_movement_not_yet_announced_leaves_the_channel_idle():
    """No alert stands behind it, so a dashboard must not show an episode in progress."""
    tracker = EpisodeTracker(["leg"], context="sleep", params=_quiet("sleep"))
    t, pr, lev, us = stream(_plm_night([25]))
    inside = int((WATCHED_S + 6.0) / HOP)  # a second into the first movement
    tracker.push(t[:inside], pr[:inside], lev[:inside], us[:inside])
    assert tracker._tracks[0].episode is not None and tracker.state("leg") == "idle"
    loud = EpisodeTracker(["leg"], context="sleep", params=fast("sleep"))
    loud.push(t[:inside], pr[:inside], lev[:inside], us[:inside])
    assert loud.state("leg") == "plm"


def test_a_movement_sooner_than_10_s_after_a_series_member_is_quiet():
    tracker = EpisodeTracker(["leg"], context="sleep", params=_quiet("sleep"))
    eps = ended(run(tracker, *stream(_plm_night([25, 25, 25, 6]))))
    assert [bool(e.extra.get("plm_in_series")) for e in eps] == [True] * 4 + [False]
    assert eps[4].extra.get("quiet") and not was_alerted(eps[4])


@pytest.mark.parametrize("chunk", [20, None])
def test_an_announced_movement_that_a_series_releases_stays_alerted(chunk):
    """The sixth interval breaks the pace ('auto'), so the series is released after its first
    four were announced: they did alert, live and offline alike."""
    tracker = EpisodeTracker(["leg"], context="auto", params=_quiet("auto"))
    eps = ended(run(tracker, *stream(_plm_night([20, 20, 20, 80, 20])), chunk=chunk))
    assert not any(e.extra.get("plm_in_series") for e in eps)
    assert [was_alerted(e) for e in eps[:4]] == [True] * 4
    assert len({e.extra["detected_at"] for e in eps[:4]}) == 1


class _LengthStage:
    """A second stage that keeps an episode (as a spasm) once it has lasted ``keep_after`` s:
    the first feature is log1p(duration), of the episode so far when it is still going on."""

    def __init__(self, keep_after: float) -> None:
        self.keep_after = keep_after

    def decide(self, x, reject_at=None):
        from emgwatch.episode_stage import NONE_CLASS, EpisodeVerdict

        if np.expm1(x[0]) >= self.keep_after - 1e-9:
            return EpisodeVerdict("spasm", 0.9)
        return EpisodeVerdict(NONE_CLASS, 0.2)


def _confirmed(context="auto"):
    return dataclasses.replace(params_for(context), confirm_alerts=True)


@pytest.mark.parametrize("chunk", [None, 1, 13])
def test_a_confirmed_alert_goes_out_when_the_stage_first_keeps_the_episode(chunk):
    """Doubted when it opens, kept once it has lasted 2 s: announced then (an "announce" event,
    the channel busy from that moment), not when it opened; the record is the same."""
    segs = [(5, "rest", 1), (4, "spasm", 0.97), (5, "rest", 1)]
    tracker = EpisodeTracker(["ch1"], params=_confirmed(), stage=_LengthStage(2.0))
    t, pr, lev, us = stream(segs)
    events, states = [], []
    step = chunk or len(t)
    for i in range(0, len(t), step):
        events += tracker.push(
            t[i : i + step], pr[i : i + step], lev[i : i + step], us[i : i + step]
        )
        states.append((float(t[min(i + step, len(t)) - 1]), tracker.state("ch1")))
    events += tracker.flush()
    assert [e.event for e in events] == ["start", "announce", "end"]
    start, announce, end = events
    ep = end.episode
    assert ep.kind == "spasm" and was_alerted(ep) and ep.extra["quiet"]
    assert ep.extra["detected_at"] == pytest.approx(announce.detected_at)
    # checked when it opened and every 0.5 s after: kept at the first check past 2 s of episode
    assert 0 <= announce.detected_at - (ep.start + 2.0) <= 0.5 + HOP
    assert announce.detected_at - start.detected_at >= 1.0
    if chunk == 1:  # idle until announced, the spasm from then on
        before = [s for tt, s in states if start.detected_at <= tt < announce.detected_at]
        after = [s for tt, s in states if announce.detected_at <= tt < ep.end]
        assert set(before) == {"idle"} and set(after) == {"spasm"}
    fast_eps = ended(run(EpisodeTracker(["ch1"], stage=_LengthStage(2.0)), *stream(segs)))
    assert [(e.kind, e.start, e.end) for e in fast_eps] == [(ep.kind, ep.start, ep.end)]
    assert fast_eps[0].extra["detected_at"] == pytest.approx(start.detected_at)


def test_a_confirmed_alert_the_stage_never_keeps_is_never_sent():
    segs = [(5, "rest", 1), (4, "spasm", 0.97), (5, "rest", 1)]
    events = run(
        EpisodeTracker(["ch1"], params=_confirmed(), stage=_LengthStage(99.0)), *stream(segs)
    )
    assert [e.event for e in events] == ["start", "end"]
    ep = events[-1].episode
    assert ep.kind == "voluntary" and not was_alerted(ep)
    assert "detected_at" not in ep.extra and "alerted_as" not in ep.extra


def test_a_confirmed_alert_kept_only_by_the_whole_episode_is_sent_at_its_end():
    """The stage keeps it only at 4 s, its whole length: no check while it lasted saw that
    much, so it is announced when it ends (with its end), as the record keeps it."""
    segs = [(5, "rest", 1), (3.7, "spasm", 0.97), (5, "rest", 1)]
    events = run(
        EpisodeTracker(["ch1"], params=_confirmed(), stage=_LengthStage(3.8)), *stream(segs)
    )
    assert [e.event for e in events] == ["start", "end"]
    ep = events[-1].episode
    assert ep.kind == "spasm" and was_alerted(ep)
    assert ep.extra["detected_at"] == pytest.approx(events[-1].detected_at)


class _KindSoFarStage:
    """A second stage that names one kind for every episode, however much of it it sees."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def decide(self, x, reject_at=None):
        from emgwatch.episode_stage import EpisodeVerdict

        return EpisodeVerdict(self.kind, 0.9)


def test_a_confirmed_leg_movement_alerts_at_once_as_what_the_stage_says_it_is():
    """Opened as a leg movement with no series under way: the stage calling it a spasm
    announces it when it opens, as a spasm; calling it a leg movement keeps it quiet until a
    series makes it (when the fourth movement ends)."""
    segs = _plm_night([25, 25, 25])
    for stage_kind, announced_at_open in (("spasm", [True] * 4), ("plm", [False] * 4)):
        events = run(
            EpisodeTracker(
                ["leg"],
                context="sleep",
                params=params_for("sleep", "confirmed"),
                stage=_KindSoFarStage(stage_kind),
            ),
            *stream(segs),
        )
        starts = [e for e in events if e.event == "start"]
        at_open = [abs(e.episode.extra["detected_at"] - e.detected_at) < 1e-3 for e in starts]
        assert at_open[:4] == announced_at_open
        eps = ended(events)
        assert all(was_alerted(e) for e in eps[:4])
        if stage_kind == "spasm":  # announced as spasms, the record's verdict is its own
            assert all(e.extra.get("alerted_as") in (None, "spasm") for e in eps)
        else:  # the first three once the fourth made the series, when it ended
            settled = next(
                e.detected_at for e in events if e.event == "end" and e.episode is eps[3]
            )
            assert [e.extra["detected_at"] for e in eps[:3]] == [pytest.approx(settled)] * 3


def test_a_held_episode_stays_held_when_it_is_split_for_length():
    """An episode longer than max_duration_s is split; a continuation of one never announced
    is held as the first part was (no false 'spasm' alert every split), and one of an
    announced episode alerts at once."""
    segs = [(5, "rest", 1), (15, "spasm", 0.97), (5, "rest", 1)]
    params = dataclasses.replace(_confirmed(), max_duration_s=6.0)
    events = run(EpisodeTracker(["ch1"], params=params, stage=_LengthStage(99.0)), *stream(segs))
    parts = ended(events)
    assert len(parts) >= 3 and parts[1].extra["continued"]
    assert not any(was_alerted(e) for e in parts)
    assert not any(e.event == "announce" for e in events)
    events = run(EpisodeTracker(["ch1"], params=params, stage=_LengthStage(2.0)), *stream(segs))
    parts = ended(events)
    assert all(was_alerted(e) for e in parts)
    starts = {e.episode.id: e.detected_at for e in events if e.event == "start"}
    for e in parts[1:]:  # continuations alert when they open
        assert e.extra["detected_at"] == pytest.approx(starts[e.id])


class _WindowStage:
    """Keeps an episode (as a spasm) only while it has lasted between 1 and 3 s."""

    def decide(self, x, reject_at=None):
        from emgwatch.episode_stage import NONE_CLASS, EpisodeVerdict

        dur = float(np.expm1(x[0]))
        return (
            EpisodeVerdict("spasm", 0.9) if 1.0 <= dur <= 3.0 else EpisodeVerdict(NONE_CLASS, 0.2)
        )


def test_a_split_after_a_part_announced_then_withdrawn_is_held_again():
    """The stage agreed with the first part while it lasted, then withdrew it at its end: the
    next part must be judged afresh, not sent at once as a spasm."""
    params = dataclasses.replace(_confirmed(), max_duration_s=6.0)
    segs = [(5, "rest", 1), (40, "spasm", 0.97), (5, "rest", 1)]
    parts = ended(run(EpisodeTracker(["ch1"], params=params, stage=_WindowStage()), *stream(segs)))
    assert len(parts) >= 5 and all(e.kind == "voluntary" for e in parts)
    for e in parts[1:]:  # each continuation announced once the stage agreed, 1 s in, not at once
        assert e.extra["detected_at"] - e.start >= 1.0 - 1e-9


class _SoFarSpasmStage(_KindStage):
    """Calls every episode a spasm while it lasts; at its end, the listed kinds in order."""

    def decide_so_far(self, x, reject_at=None):
        from emgwatch.episode_stage import EpisodeVerdict

        return EpisodeVerdict("spasm", 0.9)


def test_an_announcement_as_another_kind_leaves_the_series_logic_alone():
    """In 'auto' a movement that opened as a leg movement and that the stage withdrew may rejoin
    a series (p(alert) >= 0.3); announced live as a spasm, it is still the leg movement it
    opened as: the record is the same with confirmed alerts as without."""
    kinds = ["plm", "plm", "none", "plm", "plm"]
    records = []
    for alerts in ("fast", "confirmed"):
        tracker = EpisodeTracker(
            ["leg"],
            context="auto",
            params=params_for("auto", alerts),
            stage=_SoFarSpasmStage(kinds, p_withdrawn=0.4),
        )
        eps = ended(run(tracker, *stream(_plm_night([25, 26, 24, 25]))))
        records.append([(e.kind, e.extra.get("plm_in_series")) for e in eps])
    assert records[0] == records[1] == [("plm", True)] * 5


def _mixed_stream(mix: dict, n_ch: int = 2, seconds: float = 2):
    """10 s of rest, ``seconds`` of windows with the class probabilities ``mix``, 10 s of rest."""
    return _mixed_segments([(10, {"rest": 1.0}), (seconds, mix), (10, {"rest": 1.0})], n_ch)


def _mixed_segments(segments: list[tuple[float, dict]], n_ch: int = 1):
    """(duration_s, class probabilities) segments -> times, proba, level, usable."""
    rows = []
    for dur, m in segments:
        row = np.zeros(len(WINDOW_CLASSES))
        for k, v in m.items():
            row[WINDOW_CLASSES.index(k)] = v
        rows += [row] * int(round(dur / HOP))
    proba = np.array(rows)[:, None, :].repeat(n_ch, axis=1)
    t = (np.arange(len(rows)) + 1) * HOP
    level = np.where(proba[:, :, 0] > 0.5, 0.0, 30.0)
    return t, proba, level, np.ones(level.shape, bool)


@pytest.mark.parametrize("context", ["sleep", "auto", "exercise"])
def test_on_an_envelope_channel_in_bed_artifact_windows_help_open_an_episode(context):
    """A rise on a resting leg split between "artifact" and the alerting kinds, neither above
    `on`: an envelope output cannot show what tells a motion artifact apart, so in bed it opens
    an episode (a candidate leg movement); on a raw channel, and by day, it does not. Such an
    episode is quiet: it alerts only if the whole episode is kept."""
    t, proba, level, usable = _mixed_stream({"spasm": 0.45, "artifact": 0.5, "rest": 0.05})
    tr = EpisodeTracker(["env", "raw"], context=context, params=fast(context))
    tr.set_channel_sensors(["envelope", "raw"])
    ev = run(tr, t, proba, level, usable)
    eps = ended(ev)
    assert {e.channel for e in eps if e.kind != "voluntary"} == (
        {"env"} if context == "sleep" else set()
    )
    if context == "sleep":
        (ep,) = [e for e in eps if e.channel == "env"]
        assert ep.start == pytest.approx(10.0, abs=0.11)
        (start,) = [e for e in ev if e.event == "start" and e.episode.channel == "env"]
        # quiet when it opened; kept (a spasm, without a second stage), so announced at its end
        assert start.episode.extra.get("quiet") and start.episode.extra["detected_at"] >= ep.end
    # undecided sensor types read as raw
    tr = EpisodeTracker(["env", "raw"], context=context)
    assert not ended(run(tr, t, proba, level, usable))


def test_an_envelope_episode_the_alerting_kinds_open_alone_alerts_at_once():
    """Artifact windows beside clear alert windows change nothing: the alert goes out when the
    episode opens, as on a raw channel."""
    t, proba, level, usable = _mixed_stream({"spasm": 0.75, "artifact": 0.2, "rest": 0.05})
    tr = EpisodeTracker(["env", "raw"], context="sleep", params=fast("sleep"))
    tr.set_channel_sensors(["envelope", "raw"])
    starts = [e for e in run(tr, t, proba, level, usable) if e.event == "start"]
    assert sorted(e.episode.channel for e in starts) == ["env", "raw"]
    assert all(not e.episode.extra.get("quiet") for e in starts)
    assert all(e.detected_at - 10.0 <= 0.7 for e in starts)


class _AnswersStage:
    """A second stage that gives the listed kinds in turn (the last one from then on), whether
    asked about a whole episode or about one so far."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds, self.n = kinds, 0

    def decide(self, x, reject_at=None):
        from emgwatch.episode_stage import NONE_CLASS, EpisodeVerdict

        k, self.n = self.kinds[min(self.n, len(self.kinds) - 1)], self.n + 1
        return EpisodeVerdict(k, 0.4 if k == NONE_CLASS else 0.9)


@pytest.mark.parametrize("alerts", ["fast", "context"])
def test_a_long_artifact_opened_episode_stays_quiet_after_its_split(alerts):
    """Split at max_duration_s, the continuation of a quiet artifact-opened episode whose first
    part was withdrawn is quiet too: no alert at the split, nor from a check while it lasts."""
    t, rows, level, usable = _mixed_stream(
        {"spasm": 0.45, "artifact": 0.5, "rest": 0.05}, 1, seconds=45
    )
    p = dataclasses.replace(params_for("sleep", alerts), max_duration_s=20.0)
    tr = EpisodeTracker(["env"], context="sleep", params=p, stage=_AnswersStage(["none", "spasm"]))
    tr.set_channel_sensors(["envelope"])
    eps = ended(run(tr, t, rows, level, usable))
    assert len(eps) == 3 and eps[0].kind == "voluntary" and eps[1].extra.get("continued")
    # the part after a withdrawn one is quiet: announced only when it ends, kept
    assert eps[1].extra.get("quiet") and eps[1].extra["detected_at"] >= eps[1].end
    # the part after a kept one alerts at once, as any long episode's continuation does
    assert not eps[2].extra.get("quiet") and eps[2].extra["detected_at"] == eps[2].start


@pytest.mark.parametrize("chunk", [1, 7, 133])
def test_artifact_opened_episodes_do_not_depend_on_the_blocks(chunk):
    strong = {"spasm": 0.95, "rest": 0.05}
    mix = {"spasm": 0.45, "artifact": 0.5, "rest": 0.05}
    rest = {"rest": 1.0}
    t, proba, level, usable = _mixed_segments(
        [(10, rest), (0.3, strong), (1, rest), (2, mix), (10, rest), (45, mix), (5, rest)]
    )

    def episodes(chunk):
        p = dataclasses.replace(params_for("sleep", "fast"), max_duration_s=20.0)
        tr = EpisodeTracker(["env"], context="sleep", params=p, stage=_AnswersStage(["spasm"]))
        tr.set_channel_sensors(["envelope"])
        return [
            (e.start, e.end, e.kind, e.extra.get("quiet"), e.extra.get("detected_at"))
            for e in ended(run(tr, t, proba, level, usable, chunk))
        ]

    whole = episodes(None)
    # the strong blip is too short to open anything; the next rise opened with artifact help
    assert whole[0][0] == pytest.approx(11.3, abs=0.11) and whole[0][3]
    assert episodes(chunk) == whole


@pytest.mark.parametrize("chunk", [None, 1, 37])
def test_an_alert_that_outlasts_any_leg_movement_says_so_once_while_it_lasts(chunk):
    """A cramp opening like a leg movement: 10 s after its onset (the longest a leg movement
    lasts) one "ongoing" event says what it is so far, never a leg movement; the episode keeps
    its announced kind until it ends. A short one says nothing."""
    segs = [(5, "rest", 1), (3, "plm", 0.9), (20, "rest", 1), (40, "plm", 0.9), (5, "rest", 1)]
    ev = run(EpisodeTracker(["leg"], context="auto"), *stream(segs), chunk=chunk)
    ongoing = [e for e in ev if e.event == "ongoing"]
    assert len(ongoing) == 1
    (o,) = ongoing
    long_start = next(e for e in ev if e.event == "start" and e.episode.start > 20).episode
    assert o.episode.id == long_start.id and o.episode is not long_start
    assert o.episode.kind == "spasm" and o.previous == "plm"
    assert 10.0 < o.detected_at - long_start.start <= 10.0 + 2 * HOP
    assert [e.kind for e in ended(ev)][-1] == "spasm"  # the duration rule at its end, as told


def test_while_the_second_stage_calls_it_nothing_an_ongoing_alert_waits():
    """The second stage's kind so far is what "ongoing" says; asked again every
    ``confirm_every_s`` while it withdraws the episode."""
    segs = [(5, "rest", 1), (40, "plm", 0.9), (5, "rest", 1)]
    stage = _KindStage(["none"] * 6 + ["cramp"] + ["cramp"] * 10)
    ev = run(
        EpisodeTracker(["leg"], context="auto", params=fast("auto"), stage=stage), *stream(segs)
    )
    (o,) = [e for e in ev if e.event == "ongoing"]
    start = next(e for e in ev if e.event == "start").episode.start
    p = params_for("auto")
    assert o.episode.kind == "cramp"
    assert o.detected_at - start == pytest.approx(10.0 + 6 * p.confirm_every_s, abs=2 * HOP)


def test_the_channel_state_follows_the_ongoing_event_and_exercise_knows_no_leg_movements():
    """The retained state a dashboard shows must not contradict the message just sent; during
    exercise a stage saying "leg movement" is no alert, so nothing goes on record as one."""
    t, pr, lev, us = stream([(5, "rest", 1), (40, "plm", 0.9), (5, "rest", 1)])
    tracker = EpisodeTracker(["leg"], context="auto")
    upto = int(np.searchsorted(t, 20.0))
    ev = tracker.push(t[:upto], pr[:upto], lev[:upto], us[:upto])
    assert [e.event for e in ev] == ["start", "ongoing"]
    assert ev[0].episode.kind == "plm" and tracker.state("leg") == "spasm"
    ev = tracker.push(t[upto:], pr[upto:], lev[upto:], us[upto:]) + tracker.flush()
    assert tracker.state("leg") == "idle"
    stage = _KindStage(["plm"] * 200)
    params = fast("exercise")
    ev = run(
        EpisodeTracker(["leg"], context="exercise", params=params, stage=stage), t, pr, lev, us
    )
    assert not [e for e in ev if e.event == "ongoing"]
