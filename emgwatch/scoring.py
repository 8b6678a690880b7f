"""Event-level scoring of detected episodes against ground truth (DOMAIN.md "Scoring detections").

Sample-level accuracy hides what matters for rare events, so everything here counts events:
a true episode is found when any detection overlaps it (any-overlap matching), a detection is
right when it overlaps a true episode. Look-alikes (voluntary effort, turning over, twitches)
are in the truth so that alarms during them can be named, never rewarded.

Pure functions on plain lists; the overlap search is vectorised so a week of nights scores fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from emgwatch.domain import (
    ALERT_KINDS,
    PLM_MAX_INTERVAL_S,
    PLM_MIN_INTERVAL_S,
    PLM_MIN_SERIES,
)
from emgwatch.episodes import Episode, EpisodeEvent, alert_time

MISSED = "missed"  # confusion-matrix column: no detection overlapped the true episode
NO_TRUTH = "none"  # confusion-matrix row: the detection overlapped no true episode


# --- PLM series ----------------------------------------------------------------------------------


def plm_series_indices(onsets: Sequence[float] | np.ndarray) -> list[np.ndarray]:
    """Group leg-movement onsets into PLM series (WASM/IRLSSG 2016, as summarised in DOMAIN.md).

    A series is a run of at least ``PLM_MIN_SERIES`` consecutive movements whose onset-to-onset
    intervals are all within [PLM_MIN_INTERVAL_S, PLM_MAX_INTERVAL_S] (inclusive); an interval
    outside that range ends the run. Returns one array per series holding indices into
    ``onsets`` in time order, for callers that mark which movements count.
    """
    t = np.asarray(onsets, dtype=np.float64).ravel()
    if t.size < PLM_MIN_SERIES:
        return []
    order = np.argsort(t, kind="stable")
    gaps = np.diff(t[order])
    linked = (gaps >= PLM_MIN_INTERVAL_S) & (gaps <= PLM_MAX_INTERVAL_S)
    # A run of k linked intervals joins k + 1 movements.
    edges = np.diff(np.concatenate(([0], linked.astype(np.int8), [0])))
    run_start = np.flatnonzero(edges == 1)
    run_end = np.flatnonzero(edges == -1)  # exclusive, in interval indices
    return [
        order[a : b + 1]
        for a, b in zip(run_start, run_end, strict=True)
        if b - a + 1 >= PLM_MIN_SERIES
    ]


def interval_jitter(onsets: Sequence[float] | np.ndarray) -> float:
    """How unsteady the pace of a series is: median |log| ratio of successive intervals.

    0 for perfectly periodic onsets; robust to one missed or extra movement in a long series
    (which doubles or halves one interval). NaN for fewer than three onsets.
    """
    t = np.sort(np.asarray(onsets, dtype=np.float64).ravel())
    iv = np.diff(t)
    if iv.size < 2 or (iv <= 0).any():
        return math.nan
    return float(np.median(np.abs(np.diff(np.log(iv)))))


def plm_series(onsets: Sequence[float] | np.ndarray) -> list[np.ndarray]:
    """The PLM series among ``onsets``: one sorted array of onset times per series.

    The one definition of a series (see :func:`plm_series_indices`), shared by the detector's
    tracker, the report and the evaluation, so a PLM index means the same everywhere.
    """
    t = np.asarray(onsets, dtype=np.float64).ravel()
    return [t[idx] for idx in plm_series_indices(t)]


def plm_index_per_h(onsets: Sequence[float] | np.ndarray, sleep_s: float) -> float:
    """Movements that belong to a PLM series, per hour of sleep."""
    if sleep_s <= 0:
        raise ValueError(f"sleep time must be positive, got {sleep_s}")
    n_in_series = sum(len(s) for s in plm_series(onsets))
    return n_in_series / (sleep_s / 3600.0)


def merge_overlapping_onsets(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Onsets of the union of intervals: movements of both legs at once count as one movement."""
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    if start.size == 0:
        return start
    order = np.argsort(start, kind="stable")
    s, e = start[order], end[order]
    reach = np.maximum.accumulate(e)
    new = np.concatenate(([True], s[1:] > reach[:-1]))
    return s[new]


_merge_overlapping = merge_overlapping_onsets  # name used by emgwatch.report


# --- normalising inputs --------------------------------------------------------------------------


def _field(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, dict):
        return item.get(name, default)
    value = getattr(item, name, default)
    if value is default and isinstance(getattr(item, "extra", None), dict):
        return item.extra.get(name, default)
    return value


def _collect_detections(detected: Iterable[Any]) -> list[dict]:
    """Episodes, dicts, or a stream of EpisodeEvents (start gives detected_at, end gives end)."""
    out: dict[int | str, dict] = {}
    for k, item in enumerate(detected):
        if isinstance(item, EpisodeEvent):
            ep = item.episode
            d = out.setdefault(
                ep.id,
                {"start": ep.start, "end": ep.end, "kind": ep.kind, "channel": ep.channel},
            )
            at = alert_time(item)  # a quiet one's alert went out when it was announced, if ever
            if at is not None:
                prev = d.get("detected_at")
                d["detected_at"] = at if prev is None else min(prev, at)
            if ep.end is not None:
                d["end"] = ep.end
            d["start"] = ep.start
            continue
        key = item.id if isinstance(item, Episode) else k
        out[key] = {
            "start": _field(item, "start"),
            "end": _field(item, "end"),
            "kind": _field(item, "kind"),
            "channel": _field(item, "channel"),
            "detected_at": _field(item, "detected_at"),
        }
    return list(out.values())


def _arrays(items: list[Any], duration_s: float, what: str) -> dict[str, np.ndarray]:
    n = len(items)
    start = np.empty(n)
    end = np.empty(n)
    at = np.full(n, np.nan)
    kind = np.empty(n, dtype=object)
    channel = np.empty(n, dtype=object)
    for i, it in enumerate(items):
        s, e = _field(it, "start"), _field(it, "end")
        if s is None or _field(it, "kind") is None:
            raise ValueError(f"{what} #{i + 1} needs at least 'start' and 'kind': {it!r}")
        start[i] = float(s)
        end[i] = float(duration_s if e is None else e)  # still open at the end of the recording
        if end[i] < start[i]:
            raise ValueError(f"{what} #{i + 1} ends before it starts: {it!r}")
        kind[i] = str(_field(it, "kind"))
        ch = _field(it, "channel")
        channel[i] = None if ch is None else str(ch)
        t = _field(it, "detected_at")
        if t is not None:
            at[i] = float(t)
    return {"start": start, "end": end, "kind": kind, "channel": channel, "detected_at": at}


def _overlap_pairs(
    a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with interval a[i] touching b[j] (closed intervals), without an n x m matrix."""
    if a_start.size == 0 or b_start.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    order = np.argsort(b_start, kind="stable")
    bs = b_start[order]
    longest = float(np.max(b_end - b_start))
    lo = np.searchsorted(bs, a_start - longest, side="left")
    hi = np.searchsorted(bs, a_end, side="right")
    counts = np.maximum(hi - lo, 0)
    ia = np.repeat(np.arange(a_start.size), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    jb = order[np.repeat(lo, counts) + offsets]
    keep = b_end[jb] >= a_start[ia]
    return ia[keep], jb[keep]


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _stats(values: np.ndarray) -> dict[str, Any]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {"n": 0, "median_s": None, "p95_s": None, "mean_s": None}
    return {
        "n": int(v.size),
        "median_s": float(np.median(v)),
        "p95_s": float(np.percentile(v, 95)),
        "mean_s": float(np.mean(v)),
    }


# --- scoring -------------------------------------------------------------------------------------


def score_events(
    truth_episodes: list[dict],
    detected: list[Episode | dict],
    *,
    duration_s: float,
    sleep_s: float | None = None,
    sleep_spans: np.ndarray | None = None,
    match_channel: bool = False,
) -> dict:
    """Score detections against truth with any-overlap matching; a JSON-ready dict.

    ``duration_s`` turns false alarms into a rate; ``sleep_s`` (default: the whole recording) is
    the denominator of the PLM index, and ``sleep_spans`` (a hypnogram's (start, end) rows of
    sleep, ``emgwatch.hypnogram``), when given, what it counts: series members that began in
    sleep, for truth and detections alike. With ``match_channel`` a detection only matches a true
    episode on the same channel; by default any channel counts, since a strong spasm is also
    seen by neighbouring electrodes and the alarm is about the event, not the electrode.
    """
    if not duration_s > 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    hours = duration_s / 3600.0
    sleep = duration_s if sleep_s is None else float(sleep_s)
    T = _arrays(list(truth_episodes), duration_s, "truth episode")
    D = _arrays(_collect_detections(detected), duration_s, "detection")
    it, jd = _overlap_pairs(T["start"], T["end"], D["start"], D["end"])
    if match_channel:
        same = np.array(
            [
                T["channel"][i] is None
                or D["channel"][j] is None
                or T["channel"][i] == D["channel"][j]
                for i, j in zip(it, jd, strict=True)
            ],
            dtype=bool,
        )
        it, jd = it[same], jd[same]
    overlap = np.minimum(T["end"][it], D["end"][jd]) - np.maximum(T["start"][it], D["start"][jd])

    alert_kinds = list(ALERT_KINDS)
    t_alert = np.isin(T["kind"], alert_kinds)
    d_alert = np.isin(D["kind"], alert_kinds)
    n_t, n_d = T["start"].size, D["start"].size

    # Truth side: found by any alert detection, by the right kind; earliest alert onset.
    pair_alert = d_alert[jd]
    pair_same_kind = T["kind"][it] == D["kind"][jd]
    found_any = np.bincount(it[pair_alert], minlength=n_t) > 0
    found_kind = np.bincount(it[pair_same_kind], minlength=n_t) > 0
    first_start = np.full(n_t, np.inf)
    np.minimum.at(first_start, it[pair_alert], D["start"][jd[pair_alert]])
    first_decision = np.full(n_t, np.inf)
    np.fmin.at(first_decision, it[pair_alert], D["detected_at"][jd[pair_alert]])
    onset_latency = np.where(found_any & t_alert, first_start - T["start"], np.nan)
    decision_latency = np.where(
        found_any & t_alert & np.isfinite(first_decision), first_decision - T["start"], np.nan
    )

    # Detection side: does it overlap a true alert episode? of its own kind?
    pair_true_alert = t_alert[it]
    d_hits_alert = np.bincount(jd[pair_true_alert], minlength=n_d) > 0
    d_hits_kind = np.bincount(jd[pair_same_kind], minlength=n_d) > 0

    per_kind: dict[str, dict] = {}
    for k in alert_kinds:
        tk = T["kind"] == k
        dk = D["kind"] == k
        per_kind[k] = {
            "n_true": int(tk.sum()),
            "found": int((found_any & tk).sum()),
            "sensitivity": _ratio(int((found_any & tk).sum()), int(tk.sum())),
            "correct_kind_sensitivity": _ratio(int((found_kind & tk).sum()), int(tk.sum())),
            "n_detected": int(dk.sum()),
            "precision": _ratio(int((d_hits_alert & dk).sum()), int(dk.sum())),
            "correct_kind_precision": _ratio(int((d_hits_kind & dk).sum()), int(dk.sum())),
            "onset_latency": _stats(onset_latency[tk]),
        }
    all_alert = {
        "n_true": int(t_alert.sum()),
        "found": int((found_any & t_alert).sum()),
        "sensitivity": _ratio(int((found_any & t_alert).sum()), int(t_alert.sum())),
        "correct_kind_sensitivity": _ratio(int((found_kind & t_alert).sum()), int(t_alert.sum())),
        "n_detected": int(d_alert.sum()),
        "precision": _ratio(int((d_hits_alert & d_alert).sum()), int(d_alert.sum())),
        "correct_kind_precision": _ratio(int((d_hits_kind & d_alert).sum()), int(d_alert.sum())),
    }

    # False alarms and the look-alike each one fell on (the one it overlaps most).
    false_alarm = d_alert & ~d_hits_alert
    during = np.full(n_d, NO_TRUTH, dtype=object)
    best = np.full(n_d, -np.inf)
    for p in np.flatnonzero(false_alarm[jd] & ~pair_true_alert):
        j = jd[p]
        if overlap[p] > best[j]:
            best[j], during[j] = overlap[p], T["kind"][it[p]]
    fa_during: dict[str, int] = {}
    for kind in during[false_alarm]:
        fa_during[kind] = fa_during.get(kind, 0) + 1
    false_alarms = {
        "total": int(false_alarm.sum()),
        "per_hour": float(false_alarm.sum()) / hours,
        "per_8h": float(false_alarm.sum()) / hours * 8.0,
        "by_kind": {k: int((false_alarm & (D["kind"] == k)).sum()) for k in alert_kinds},
        "during": dict(sorted(fa_during.items(), key=lambda kv: (-kv[1], kv[0]))),
        "episodes": [
            {
                "start": float(D["start"][j]),
                "end": float(D["end"][j]),
                "kind": D["kind"][j],
                "channel": D["channel"][j],
                "during": during[j],
            }
            for j in np.flatnonzero(false_alarm)
        ],
    }

    # Confusion: each true episode is called what its best detection called it (the right
    # kind if any overlapping detection had it, else the longest overlap), or 'missed'.
    called = np.full(n_t, MISSED, dtype=object)
    score = np.full(n_t, -np.inf)
    for p in range(it.size):
        i = it[p]
        s = overlap[p] + (1e12 if pair_same_kind[p] else 0.0)
        if s > score[i]:
            score[i], called[i] = s, D["kind"][jd[p]]
    confusion: dict[str, dict[str, int]] = {}
    for tk, dk in zip(T["kind"], called, strict=True):
        row = confusion.setdefault(tk, {})
        row[dk] = row.get(dk, 0) + 1
    unmatched = np.bincount(jd, minlength=n_d) == 0
    for dk in D["kind"][unmatched]:
        row = confusion.setdefault(NO_TRUTH, {})
        row[dk] = row.get(dk, 0) + 1

    return {
        "duration_s": float(duration_s),
        "sleep_s": sleep,
        "n_truth": n_t,
        "n_detected": n_d,
        "matching": "any-overlap" + (", same channel" if match_channel else ""),
        "per_kind": per_kind,
        "all_alert": all_alert,
        "false_alarms": false_alarms,
        "latency": {
            "onset": _stats(onset_latency),
            "decision": _stats(decision_latency),
        },
        "confusion": confusion,
        "plm": _score_plm(T, D, found_kind, sleep, sleep_spans),
    }


def _score_plm(
    T: dict, D: dict, found_kind: np.ndarray, sleep_s: float, spans: np.ndarray | None
) -> dict:
    from emgwatch.hypnogram import in_spans

    tp = T["kind"] == "plm"
    dp = D["kind"] == "plm"
    truth_onsets = merge_overlapping_onsets(T["start"][tp], T["end"][tp])
    det_onsets = merge_overlapping_onsets(D["start"][dp], D["end"][dp])
    h = sleep_s / 3600.0

    def in_series(onsets: np.ndarray) -> int:
        members = [m for s in plm_series(onsets) for m in s]
        return len(members) if spans is None else int(in_spans(members, spans).sum())

    truth_in, det_in = in_series(truth_onsets), in_series(det_onsets)
    truth_idx = truth_in / h if h > 0 else None
    det_idx = det_in / h if h > 0 else None
    err = None
    if truth_idx and det_idx is not None:
        err = 100.0 * (det_idx - truth_idx) / truth_idx
    return {
        "n_true_movements": int(tp.sum()),
        "n_detected_movements": int(dp.sum()),
        "movement_sensitivity": _ratio(int((found_kind & tp).sum()), int(tp.sum())),
        "truth_in_series": truth_in,
        "detected_in_series": det_in,
        "truth_index_per_h": truth_idx,
        "detected_index_per_h": det_idx,
        "index_error_pct": err,
    }


def score_recordings(
    recordings: Iterable[tuple],
    *,
    match_channel: bool = False,
) -> dict:
    """Score several recordings as one: ``(truth_episodes, detected, duration_s[, sleep_s[,
    sleep_spans]])`` (``sleep_spans``: a hypnogram's sleep, see ``score_events``; a recording
    without one counts as asleep throughout when another has one).

    Event counts, latencies and the confusion matrix pool over recordings; rates divide by the
    total time. Recordings are laid end to end with a separation longer than any PLM interval,
    so no episode matches, and no PLM series links, across two recordings.
    """
    separation = 10.0 * PLM_MAX_INTERVAL_S
    truth_all: list[dict] = []
    det_all: list[dict] = []
    offset = total = sleep_total = 0.0
    offsets: list[float] = []
    spans: list[np.ndarray] = []
    hypnogram = False
    for item in recordings:
        truth, detected, duration_s = item[0], item[1], float(item[2])
        sleep_s = item[3] if len(item) > 3 else None
        mine = item[4] if len(item) > 4 else None
        hypnogram |= mine is not None
        spans.append(offset + (np.array([[0.0, duration_s]]) if mine is None else mine))
        if not duration_s > 0:
            raise ValueError(
                f"recording #{len(offsets) + 1}: duration_s must be positive, got {duration_s}"
            )
        offsets.append(offset)
        for t in truth:
            d = {k: _field(t, k) for k in ("start", "end", "kind", "channel")}
            if d["end"] is None:
                d["end"] = duration_s
            truth_all.append(_shifted(d, offset))
        for d in _collect_detections(detected):
            if d["end"] is None:
                d["end"] = duration_s
            det_all.append(_shifted(d, offset))
        total += duration_s
        sleep_total += duration_s if sleep_s is None else float(sleep_s)
        offset += duration_s + separation
    if not offsets:
        raise ValueError("no recordings to score")
    report = score_events(
        truth_all,
        det_all,
        duration_s=offset - separation,
        sleep_s=sleep_total,
        sleep_spans=np.concatenate(spans) if hypnogram else None,
        match_channel=match_channel,
    )
    # Rates are per recorded time, not per the laid-out span with its separations.
    report["duration_s"] = total
    fa = report["false_alarms"]
    fa["per_hour"] = fa["total"] / (total / 3600.0)
    fa["per_8h"] = fa["per_hour"] * 8.0
    for e in fa["episodes"]:  # back to each recording's own clock
        k = int(np.searchsorted(offsets, e["start"], side="right")) - 1
        e["recording"] = k
        e["start"] -= offsets[k]
        e["end"] -= offsets[k]
    report["n_recordings"] = len(offsets)
    return report


def _shifted(d: dict, offset: float) -> dict:
    out = dict(d)
    out["start"] = float(d["start"]) + offset
    if out.get("end") is not None:
        out["end"] = float(d["end"]) + offset
    if out.get("detected_at") is not None:
        out["detected_at"] = float(d["detected_at"]) + offset
    return out


# --- text ----------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _sec(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.2f}s"


def format_report(report: dict) -> str:
    """The report as a plain-text table a person reads in a terminal or pastes into a doc."""
    lines = []
    hours = report["duration_s"] / 3600.0
    over = f" in {report['n_recordings']} recordings" if report.get("n_recordings", 1) > 1 else ""
    lines.append(
        f"Event scoring ({report['matching']}): {hours:.2f} h{over}, "
        f"{report['n_truth']} true episodes, {report['n_detected']} detections"
    )
    head = (
        f"{'kind':<8} {'true':>5} {'found':>6} {'sens':>7} {'kind-ok':>8} "
        f"{'det':>5} {'prec':>7} {'kind-ok':>8} {'onset med':>10} {'p95':>7}"
    )
    lines.append(head)
    lines.append("-" * len(head))
    rows = list(report["per_kind"].items()) + [("all", report["all_alert"])]
    for kind, r in rows:
        lat = r.get("onset_latency") or report["latency"]["onset"]
        lines.append(
            f"{kind:<8} {r['n_true']:>5} {r['found']:>6} {_pct(r['sensitivity']):>7} "
            f"{_pct(r['correct_kind_sensitivity']):>8} {r['n_detected']:>5} "
            f"{_pct(r['precision']):>7} {_pct(r['correct_kind_precision']):>8} "
            f"{_sec(lat['median_s']):>10} {_sec(lat['p95_s']):>7}"
        )
    fa = report["false_alarms"]
    parts = [f"{n} during {k}" for k, n in fa["during"].items() if k != NO_TRUTH]
    if fa["during"].get(NO_TRUTH):
        parts.append(f"{fa['during'][NO_TRUTH]} outside any true episode")
    during = ", ".join(parts) or "none"
    lines.append("")
    lines.append(
        f"False alarms: {fa['total']} ({fa['per_hour']:.2f}/h, {fa['per_8h']:.1f} per 8 h): {during}"
    )
    on, dec = report["latency"]["onset"], report["latency"]["decision"]
    text = f"Onset latency (n={on['n']}): median {_sec(on['median_s'])}, p95 {_sec(on['p95_s'])}"
    if dec["n"]:
        text += (
            f"; decision latency (n={dec['n']}): median {_sec(dec['median_s'])}, "
            f"p95 {_sec(dec['p95_s'])}"
        )
    lines.append(text)
    plm = report["plm"]
    if plm["n_true_movements"] or plm["n_detected_movements"]:

        def idx(x: float | None) -> str:
            return "-" if x is None else f"{x:.1f}/h"

        err = "" if plm["index_error_pct"] is None else f" ({plm['index_error_pct']:+.1f}%)"
        lines.append(
            f"PLM: movement sensitivity {_pct(plm['movement_sensitivity'])} of "
            f"{plm['n_true_movements']}; PLM index truth {idx(plm['truth_index_per_h'])}, "
            f"detected {idx(plm['detected_index_per_h'])}{err}"
        )
    conf = report["confusion"]
    if conf:
        cols: list[str] = list(ALERT_KINDS)
        for row in conf.values():
            cols += [c for c in row if c not in cols and c != MISSED]
        cols = sorted(cols, key=_kind_order) + [MISSED]
        width = max(8, *(len(c) + 1 for c in cols))
        lines.append("")
        lines.append("Kind confusion (rows: true kind, columns: detected as)")
        lines.append(f"{'':<10}" + "".join(f"{c:>{width}}" for c in cols))
        for tk in sorted(conf, key=_kind_order):
            row = conf[tk]
            label = "no truth" if tk == NO_TRUTH else tk
            lines.append(f"{label:<10}" + "".join(f"{row.get(c, 0):>{width}}" for c in cols))
    return "\n".join(lines)


def _kind_order(kind: str) -> tuple[int, str]:
    if kind in ALERT_KINDS:
        return (0, f"{ALERT_KINDS.index(kind):02d}")
    if kind == NO_TRUTH:
        return (3, kind)
    return (1, kind)
