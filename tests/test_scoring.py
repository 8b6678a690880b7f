"""Event-level scoring: hand-made cases whose answers are worked out in the comments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgwatch.episodes import Episode, EpisodeEvent
from emgwatch.scoring import (
    _overlap_pairs,
    format_report,
    merge_overlapping_onsets,
    plm_index_per_h,
    plm_series,
    plm_series_indices,
    score_events,
    score_recordings,
)


def ep(start, end, kind, channel="ch1", **kw):
    return {"start": start, "end": end, "kind": kind, "channel": channel, **kw}


TRUTH = [
    ep(100, 110, "spasm"),  # 0: found by a (right kind)
    ep(200, 205, "spasm"),  # 1: found by b, but called cramp
    ep(300, 360, "cramp"),  # 2: found by c
    ep(400, 405, "clonus"),  # 3: missed
    ep(500, 520, "voluntary"),  # look-alikes
    ep(600, 603, "turnover"),
    ep(700, 700.3, "twitch"),
]
DETECTED = [
    ep(100.4, 109, "spasm", detected_at=100.9),  # a: latency 0.4 s, decision 0.9 s
    ep(201, 204, "cramp", detected_at=201.5),  # b: latency 1.0 s, decision 1.5 s
    ep(299.8, 350, "cramp", detected_at=300.3),  # c: latency -0.2 s, decision 0.3 s
    ep(505, 510, "spasm"),  # d: false alarm during voluntary
    ep(510, 515, "voluntary"),  # e: logged, never an alarm
    ep(601, 602, "cramp"),  # f: false alarm during turnover
    ep(1000, 1001, "spasm"),  # g: false alarm on nothing
    ep(700.1, 700.2, "spasm"),  # h: false alarm during a twitch
]


@pytest.fixture(scope="module")
def report():
    return score_events(TRUTH, DETECTED, duration_s=3600.0)


def test_sensitivity_counts_any_alert_kind_and_correct_kind_separately(report):
    spasm = report["per_kind"]["spasm"]
    assert (spasm["n_true"], spasm["found"]) == (2, 2)
    assert spasm["sensitivity"] == 1.0
    assert spasm["correct_kind_sensitivity"] == 0.5
    assert report["per_kind"]["cramp"]["sensitivity"] == 1.0
    assert report["per_kind"]["clonus"]["sensitivity"] == 0.0
    assert report["per_kind"]["plm"]["sensitivity"] is None  # no true PLM: undefined, not 0


def test_precision_per_detected_kind(report):
    spasm = report["per_kind"]["spasm"]
    # spasm detections a, d, g, h: only a overlaps a true alert episode.
    assert spasm["n_detected"] == 4
    assert spasm["precision"] == pytest.approx(1 / 4)
    cramp = report["per_kind"]["cramp"]
    # cramp detections b, c, f: b (on a true spasm) and c overlap true alerts; only c is a cramp.
    assert cramp["n_detected"] == 3
    assert cramp["precision"] == pytest.approx(2 / 3)
    assert cramp["correct_kind_precision"] == pytest.approx(1 / 3)
    assert report["per_kind"]["clonus"]["precision"] is None
    everything = report["all_alert"]
    assert everything["sensitivity"] == pytest.approx(3 / 4)
    assert everything["correct_kind_sensitivity"] == pytest.approx(2 / 4)
    assert everything["precision"] == pytest.approx(3 / 7)  # voluntary detection e not counted


def test_false_alarms_are_counted_per_hour_and_named_by_look_alike(report):
    fa = report["false_alarms"]
    assert fa["total"] == 4
    assert fa["per_hour"] == pytest.approx(4.0)
    assert fa["per_8h"] == pytest.approx(32.0)
    assert fa["by_kind"] == {"spasm": 3, "cramp": 1, "clonus": 0, "plm": 0}
    assert fa["during"] == {"none": 1, "turnover": 1, "twitch": 1, "voluntary": 1}
    assert [(e["start"], e["during"]) for e in fa["episodes"]] == [
        (505, "voluntary"),
        (601, "turnover"),
        (1000, "none"),
        (700.1, "twitch"),
    ]


def test_onset_and_decision_latency(report):
    onset = report["latency"]["onset"]
    assert onset["n"] == 3
    assert onset["median_s"] == pytest.approx(0.4)
    # p95 of [-0.2, 0.4, 1.0] by linear interpolation: 0.4 + 0.9 * 0.6 = 0.94
    assert onset["p95_s"] == pytest.approx(0.94)
    decision = report["latency"]["decision"]
    assert decision["n"] == 3 and decision["median_s"] == pytest.approx(0.9)
    assert report["per_kind"]["spasm"]["onset_latency"]["median_s"] == pytest.approx(0.7)


def test_confusion_matrix_rows_true_kind_columns_detected_kind(report):
    assert report["confusion"] == {
        "spasm": {"spasm": 1, "cramp": 1},
        "cramp": {"cramp": 1},
        "clonus": {"missed": 1},
        "voluntary": {"voluntary": 1},  # the right kind wins over the spasm detection d
        "turnover": {"cramp": 1},
        "twitch": {"spasm": 1},
        "none": {"spasm": 1},  # g overlapped nothing at all
    }


def test_report_is_json_ready(report):
    import json

    assert json.loads(json.dumps(report))["false_alarms"]["total"] == 4


def test_format_report_shows_the_table(report):
    text = format_report(report)
    lines = text.splitlines()
    assert lines[0].startswith("Event scoring (any-overlap): 1.00 h, 7 true episodes, 8 detections")
    spasm_row = next(line for line in lines if line.startswith("spasm "))
    assert spasm_row.split() == [
        "spasm",
        "2",
        "2",
        "100.0%",
        "50.0%",
        "4",
        "25.0%",
        "25.0%",
        "0.70s",
        "0.97s",
    ]
    assert (
        "False alarms: 4 (4.00/h, 32.0 per 8 h): 1 during turnover, 1 during twitch, "
        "1 during voluntary, 1 outside any true episode"
    ) in text
    header = next(line for line in lines if line.strip().startswith("spasm") and "missed" in line)
    assert header.split() == ["spasm", "cramp", "clonus", "plm", "voluntary", "missed"]
    clonus_row = next(line for line in lines if line.startswith("clonus") and "%" not in line)
    assert clonus_row.split() == ["clonus", "0", "0", "0", "0", "0", "1"]
    assert next(line for line in lines if line.startswith("no truth")).split()[2:] == [
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
    ]
    assert "decision latency (n=3): median 0.90s" in text
    assert "Kind confusion" in text


def test_nothing_detected_nothing_true():
    r = score_events([], [], duration_s=600)
    assert r["false_alarms"]["total"] == 0
    assert r["all_alert"]["sensitivity"] is None
    assert r["latency"]["onset"]["median_s"] is None
    assert "Event scoring" in format_report(r)


def test_touching_intervals_overlap_and_open_episodes_run_to_the_end():
    r = score_events([ep(10, 20, "spasm")], [ep(20, 25, "spasm")], duration_s=60)
    assert r["per_kind"]["spasm"]["sensitivity"] == 1.0
    r = score_events([ep(50, 55, "cramp")], [ep(40, None, "cramp")], duration_s=60)
    assert r["per_kind"]["cramp"]["sensitivity"] == 1.0
    assert r["per_kind"]["cramp"]["onset_latency"]["median_s"] == -10


def test_channel_matching_is_optional():
    truth, det = [ep(10, 20, "spasm", "calf")], [ep(12, 18, "spasm", "thigh")]
    assert score_events(truth, det, duration_s=60)["per_kind"]["spasm"]["sensitivity"] == 1.0
    strict = score_events(truth, det, duration_s=60, match_channel=True)
    assert strict["per_kind"]["spasm"]["sensitivity"] == 0.0
    assert strict["false_alarms"]["total"] == 1


def test_accepts_episode_objects_and_event_streams():
    e1 = Episode(kind="spasm", channel="ch1", start=10.3, end=None)
    events = [EpisodeEvent("start", e1, detected_at=10.8)]
    e1_done = Episode(kind="spasm", channel="ch1", start=10.3, end=14.0, id=e1.id)
    events.append(EpisodeEvent("end", e1_done, detected_at=14.5))
    r = score_events([ep(10, 15, "spasm")], events, duration_s=60)
    assert r["n_detected"] == 1
    assert r["latency"]["onset"]["median_s"] == pytest.approx(0.3)
    assert r["latency"]["decision"]["median_s"] == pytest.approx(0.8)
    r2 = score_events([ep(10, 15, "spasm")], [e1_done], duration_s=60)
    assert r2["per_kind"]["spasm"]["correct_kind_sensitivity"] == 1.0
    assert r2["latency"]["decision"]["n"] == 0


def test_bad_episode_is_a_clear_error():
    with pytest.raises(ValueError, match="ends before it starts"):
        score_events([ep(10, 5, "spasm")], [], duration_s=60)
    with pytest.raises(ValueError, match="duration_s must be positive"):
        score_events([], [], duration_s=0)


# --- PLM -----------------------------------------------------------------------------------------


def _as_lists(series):
    return [list(map(int, s)) for s in series]


def test_series_are_onset_times_and_indices_are_available():
    onsets = [60.0, 0.0, 40.0, 20.0, 500.0]
    series = plm_series(onsets)
    assert [s.tolist() for s in series] == [[0.0, 20.0, 40.0, 60.0]]
    assert 40.0 in series[0] and 500.0 not in series[0]
    assert _as_lists(plm_series_indices(onsets)) == [[1, 3, 2, 0]]


def test_overlapping_movements_merge_to_the_earliest_onset():
    merged = merge_overlapping_onsets(
        np.array([10.0, 10.5, 30.0, 12.0]), np.array([12, 11, 31, 13])
    )
    assert merged.tolist() == [10.0, 30.0]  # 10-12, 10.5-11 and 12-13 touch: one movement


def test_four_movements_20s_apart_are_one_series():
    assert _as_lists(plm_series_indices([0, 20, 40, 60])) == [[0, 1, 2, 3]]


def test_three_movements_are_not_a_series():
    assert plm_series([0, 20, 40]) == []


def test_short_interval_breaks_a_series():
    # 0 -> 5 is under 10 s, so the run starts at 5: 5, 20, 40, 60, 80
    assert _as_lists(plm_series_indices([0, 5, 20, 40, 60, 80])) == [[1, 2, 3, 4, 5]]


def test_long_interval_splits_series():
    onsets = [0, 20, 40, 60, 200, 210, 220, 230, 240]
    assert _as_lists(plm_series_indices(onsets)) == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]


def test_interval_limits_are_inclusive():
    assert _as_lists(plm_series([0, 10, 100, 190])) == [[0, 10, 100, 190]]
    assert plm_series([0, 9.99, 19.98, 29.97]) == []
    assert plm_series([0, 90.01, 180.02, 270.03]) == []


def test_series_indices_refer_to_unsorted_input():
    assert _as_lists(plm_series_indices([60, 0, 40, 20])) == [[1, 3, 2, 0]]


def test_plm_index_counts_movements_in_series_per_hour_of_sleep():
    onsets = [0, 20, 40, 60, 500, 1000]  # 4 in a series, 2 isolated
    assert plm_index_per_h(onsets, sleep_s=1800) == pytest.approx(8.0)


def test_plm_movement_sensitivity_and_index_error():
    truth = [ep(t, t + 2, "plm") for t in range(0, 160, 20)]  # 8 movements in one series
    detected = [ep(t + 0.2, t + 1.5, "plm") for t in range(0, 160, 20) if t != 60]
    r = score_events(truth, detected, duration_s=7200, sleep_s=3600)
    plm = r["plm"]
    assert plm["movement_sensitivity"] == pytest.approx(7 / 8)
    assert plm["truth_index_per_h"] == pytest.approx(8.0)
    assert plm["detected_index_per_h"] == pytest.approx(7.0)  # the 40 -> 80 s gap still links
    assert plm["index_error_pct"] == pytest.approx(-12.5)
    assert "PLM index truth 8.0/h, detected 7.0/h (-12.5%)" in format_report(r)


def test_with_a_hypnogram_the_index_counts_series_members_in_sleep_per_hour_of_sleep():
    truth = [ep(t, t + 2, "plm") for t in range(0, 160, 20)]  # 8 in one series, 0-140 s
    detected = [ep(t + 0.2, t + 1.5, "plm") for t in range(0, 160, 20)]
    sleep = np.array([[50.0, 950.0]])  # asleep from 50 s: 5 of the 8 began in sleep
    r = score_events(truth, detected, duration_s=3600, sleep_s=900, sleep_spans=sleep)
    assert r["plm"]["truth_index_per_h"] == pytest.approx(5 / 0.25)
    assert r["plm"]["detected_index_per_h"] == pytest.approx(5 / 0.25)
    # pooled with a recording without a hypnogram: that one counts as asleep throughout
    pooled = score_recordings([(truth, detected, 3600, 900, sleep), (truth, [], 1800)])
    assert pooled["plm"]["truth_in_series"] == 5 + 8
    assert pooled["plm"]["truth_index_per_h"] == pytest.approx(13 / 0.75)
    plain = score_recordings([(truth, detected, 3600), (truth, [], 1800)])
    assert plain["plm"]["truth_in_series"] == 16  # without one: unchanged


def test_movements_of_both_legs_at_once_count_once():
    left = [ep(t, t + 2, "plm", "left") for t in range(0, 80, 20)]
    right = [ep(t + 0.5, t + 1.5, "plm", "right") for t in range(0, 80, 20)]
    r = score_events(left + right, [], duration_s=3600)
    assert r["plm"]["truth_in_series"] == 4
    assert r["plm"]["truth_index_per_h"] == pytest.approx(4.0)


# --- the overlap search agrees with brute force -------------------------------------------------

intervals = st.lists(
    st.tuples(st.floats(0, 100, allow_nan=False), st.floats(0, 20, allow_nan=False)), max_size=30
)


@settings(max_examples=200, deadline=None)
@given(intervals, intervals)
def test_overlap_pairs_equal_brute_force(a, b):
    a_s = np.array([s for s, _ in a])
    a_e = np.array([s + d for s, d in a])
    b_s = np.array([s for s, _ in b])
    b_e = np.array([s + d for s, d in b])
    ia, jb = _overlap_pairs(a_s, a_e, b_s, b_e)
    got = sorted(zip(ia.tolist(), jb.tolist(), strict=True))
    want = sorted(
        (i, j)
        for i in range(len(a))
        for j in range(len(b))
        if a_s[i] <= b_e[j] and b_s[j] <= a_e[i]
    )
    assert got == want


def test_truth_objects_with_attributes_are_accepted():
    from types import SimpleNamespace

    truth = [SimpleNamespace(start=10.0, end=12.0, kind="clonus", channel="calf")]
    r = score_events(truth, [ep(11, 13, "clonus", "calf")], duration_s=60)
    assert r["per_kind"]["clonus"]["correct_kind_sensitivity"] == 1.0


def test_several_recordings_pool_events_and_rates():
    night1 = ([ep(10, 20, "spasm")], [ep(11, 15, "spasm", detected_at=11.5)], 3600.0)
    # The second night's PLM movements sit at the very start: they must not link with the end
    # of the first night into one series, and its false alarm is reported on its own clock.
    plm = [ep(t, t + 1, "plm") for t in (0, 20, 40)]
    night2 = (plm, [ep(5, 6, "cramp")] + [ep(t, t + 1, "plm") for t in (0, 20, 40)], 3600.0, 1800.0)
    night1[0].extend(ep(t, t + 1, "plm") for t in (3540, 3560, 3580))
    r = score_recordings([night1, night2])
    assert r["n_recordings"] == 2
    assert r["duration_s"] == 7200.0
    assert r["per_kind"]["spasm"]["sensitivity"] == 1.0
    assert r["per_kind"]["plm"]["n_true"] == 6
    assert r["plm"]["truth_in_series"] == 0  # 3 + 3 movements, never 4 in one night
    fa = r["false_alarms"]
    assert fa["total"] == 1 and fa["per_hour"] == pytest.approx(0.5)
    assert (fa["episodes"][0]["recording"], fa["episodes"][0]["start"]) == (1, 5.0)
    assert r["latency"]["decision"]["median_s"] == pytest.approx(1.5)
    assert r["sleep_s"] == 3600.0 + 1800.0
    assert format_report(r).startswith(
        "Event scoring (any-overlap): 2.00 h in 2 recordings, 7 true"
    )


def test_decision_time_is_read_from_episode_extra():
    e = Episode(kind="cramp", channel="calf", start=30.2, end=80.0, extra={"detected_at": 31.0})
    r = score_events([ep(30, 90, "cramp", "calf")], [e], duration_s=120)
    assert r["latency"]["decision"]["median_s"] == pytest.approx(1.0)


_kinds = st.sampled_from(["spasm", "cramp", "clonus", "plm", "voluntary", "turnover", "twitch"])


@st.composite
def _episodes(draw):
    """Non-overlapping episodes on one channel, 1..30 s apart."""
    t, out = 0.0, []
    for _ in range(draw(st.integers(0, 25))):
        t += draw(st.floats(1.0, 30.0))
        d = draw(st.floats(0.1, 20.0))
        out.append(ep(t, t + d, draw(_kinds)))
        t += d
    return out


@settings(max_examples=100, deadline=None)
@given(_episodes())
def test_detecting_exactly_the_alert_episodes_scores_perfectly(truth):
    alerts = [e for e in truth if e["kind"] in ("spasm", "cramp", "clonus", "plm")]
    r = score_events(
        truth, [dict(e, detected_at=e["start"] + 0.5) for e in alerts], duration_s=3600
    )
    assert r["false_alarms"]["total"] == 0
    for k, row in r["per_kind"].items():
        n = sum(e["kind"] == k for e in truth)
        assert row["n_true"] == n and row["n_detected"] == n
        assert row["sensitivity"] == row["correct_kind_precision"] == (1.0 if n else None)
    if alerts:
        assert r["latency"]["onset"]["p95_s"] == 0.0
        assert r["latency"]["decision"]["median_s"] == pytest.approx(0.5)
    for kind, row in r["confusion"].items():
        called = kind if kind in ("spasm", "cramp", "clonus", "plm") else "missed"
        assert row == {called: sum(e["kind"] == kind for e in truth)}
    assert r["plm"]["detected_index_per_h"] == r["plm"]["truth_index_per_h"]


@settings(max_examples=100, deadline=None)
@given(_episodes(), _episodes())
def test_counts_are_consistent_for_any_truth_and_detections(truth, detected):
    r = score_events(truth, detected, duration_s=3600)
    alert = r["all_alert"]
    assert alert["found"] <= alert["n_true"]
    assert sum(row["n_true"] for row in r["per_kind"].values()) == alert["n_true"]
    matched = round((alert["precision"] or 0) * alert["n_detected"])
    assert matched + r["false_alarms"]["total"] == alert["n_detected"]
    assert sum(r["false_alarms"]["during"].values()) == r["false_alarms"]["total"]
    assert sum(sum(row.values()) for k, row in r["confusion"].items() if k != "none") == len(truth)
