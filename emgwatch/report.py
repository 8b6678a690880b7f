"""The morning report: one self-contained HTML page (and a JSON summary) about a night.

Works from either a logged session (episodes and quality events from the episode log, signal
from its EDF+ files) or a recording file (detection is run first). The signal is reduced once to
a 1-s envelope for the whole-night timeline, so an 8-hour night reports in seconds; only the
zoomed plots touch raw samples. The report states what the data says and what it cannot say: a
flat or lost signal is flagged as a sensor problem, never shown as "no episodes".
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

from emgwatch import __version__
from emgwatch.domain import (
    ADC_MAX,
    ALERT_KINDS,
    EMG_BAND_HZ,
    EPISODE_KINDS,
    PLM_INDEX_ELEVATED_PER_H,
    PLM_MIN_SERIES,
)
from emgwatch.episodes import Episode, alerts_now, was_alerted
from emgwatch.errors import EmgwatchError, InputError
from emgwatch.recording import Recording

log = logging.getLogger(__name__)

ENVELOPE_BIN_S = 1.0  # timeline resolution: 28 800 points for an 8-h night
ZOOM_BIN_S = 0.05  # envelope resolution in zoomed plots
N_HIGHLIGHT = 3  # longest and strongest episodes shown with a zoomed plot
FLAT_RATIO = 0.05  # a 1-s bin below 5 % of the resting level is a flat (lead-off) signal
CLIP_FRACTION = 0.01  # a 1-s bin with >= 1 % of samples at the ADC rails is clipped
QUALITY_WARN_FRACTION = 0.05  # flag the night if this share of time has a sensor problem
DISCLAIMER = (
    "emgwatch is a monitoring aid, not a medical device. This report describes muscle activity "
    "picked up by a surface-EMG sensor; it is not a diagnosis. Detections can be wrong, and a "
    "poor sensor contact can hide episodes. Discuss anything worrying with a clinician."
)


@dataclass(frozen=True)
class QualitySpan:
    start: float
    end: float
    channel: str
    kind: str  # lead_off | saturation | gap | mains | flat | clipped ...
    source: str  # "logged" (live quality event / annotation) or "signal" (found by the report)


@dataclass
class Night:
    """Everything a report needs, whichever way it was obtained."""

    channel_names: list[str]
    fs: float
    duration_s: float
    segments: list[tuple[float, Recording]]  # (offset s, recording); gaps between are allowed
    episodes: list[Episode]
    start_time: datetime | None = None
    quality: list[QualitySpan] = field(default_factory=list)
    source: str = ""
    context: str = "auto"
    model_version: str = ""
    units: str = "unknown"
    sensor: str = "unknown"
    # live alerts sent and later taken back, counted over every episode (isolated leg
    # movements too, which alerted live but are not in ``episodes`` of a recording's report)
    alerts: tuple[int, int] | None = None


def live_alert_counts(episodes: list[Episode]) -> tuple[int, int]:
    """(alerts a live run sent, how many of them the whole episode or its series took back)."""
    sent = [e for e in episodes if was_alerted(e)]
    return len(sent), sum(1 for e in sent if not alerts_now(e))


# --- building a Night ---------------------------------------------------------------------------
def _annotation_quality(rec: Recording, offset: float) -> list[QualitySpan]:
    """Quality annotations written by the EDF+ recorder ("quality lead_off", "gap")."""
    out = []
    for a in rec.annotations:
        text = a.description.strip()
        kind = None
        if text.startswith("quality "):
            kind = text.split()[1] if len(text.split()) > 1 else "unknown"
        elif text == "gap":
            kind = "gap"
        if kind:
            ch = a.channel or "all"
            out.append(
                QualitySpan(offset + a.onset, offset + a.onset + a.duration, ch, kind, "logged")
            )
    return out


def night_from_recording(
    path: str | Path,
    *,
    context: str = "auto",
    model: object | None = None,
    fs: float | None = None,
    annotations: str | Path | None = None,
) -> Night:
    """Read a recording and run the detector over it (the same code path as a live session).
    ``annotations``: a scoring file of its own (``emgwatch.annotation_files``)."""
    from emgwatch.annotation_files import with_annotation_file
    from emgwatch.detector import detect_recording, without_isolated_plm
    from emgwatch.recording import read_recording

    rec = with_annotation_file(read_recording(path, fs=fs), annotations)
    every = detect_recording(rec, context=context, model=model, isolated_plm=True)
    episodes = without_isolated_plm(every)
    start = rec.start_time
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return Night(
        channel_names=list(rec.channel_names),
        fs=rec.fs,
        duration_s=rec.duration_s,
        segments=[(0.0, rec)],
        episodes=episodes,
        start_time=start,
        quality=_annotation_quality(rec, 0.0),
        source=str(path),
        context=context,
        model_version=_model_version(model),
        units=rec.units,
        sensor=rec.sensor,
        alerts=live_alert_counts(every),
    )


def _model_version(model: object | None) -> str:
    if model is None:
        return "built-in"
    return str(
        getattr(model, "version", None)
        or getattr(model, "model_version", None)
        or type(model).__name__
    )


def night_from_session(db_path: str | Path, session_id: int) -> Night:
    """A logged session: episodes and quality events from the log, signal from its EDF+ files."""
    from emgwatch.recording import read_recording
    from emgwatch.sinks.episode_log import EpisodeLog

    with EpisodeLog(db_path, create=False) as elog:
        info = elog.session(session_id)
        episodes = [e.episode for e in elog.episodes(session=session_id)]
        qevents = elog.quality_events(session_id)
        files = elog.recordings(session_id)
    if not files:
        raise EmgwatchError(
            f"session {session_id} has no raw recording (storage.record_raw was off?); "
            "only 'emgwatch episodes export --session' is possible"
        )
    segments, problems = [], []
    for path, offset in files:
        if not path.exists():
            log.warning("session %d: recording %s is missing; skipped", session_id, path)
            continue
        try:
            segments.append((offset, read_recording(path)))
        except InputError as e:
            problems.append(str(e))
            log.warning("session %d: skipping unreadable recording: %s", session_id, e)
    if not segments:
        detail = f" ({problems[0]})" if problems else ""
        raise EmgwatchError(
            f"session {session_id}: none of its {len(files)} recording files is readable{detail}"
        )
    first = segments[0][1]
    end_s = max(off + r.duration_s for off, r in segments)
    if info.end_time is not None:
        end_s = max(end_s, (info.end_time - info.start_time).total_seconds())
    quality = [q for off, r in segments for q in _annotation_quality(r, off) if q.kind == "gap"]
    quality += _spans_from_events(qevents, end_s)
    return Night(
        channel_names=list(first.channel_names),
        fs=first.fs,
        duration_s=end_s,
        segments=segments,
        episodes=[e for e in episodes if e.end is not None] + _close_ongoing(episodes, end_s),
        start_time=info.start_time,
        quality=quality,
        source=f"session {session_id} ({info.device_id})",
        context=info.context,
        model_version=info.model_version,
        units=first.units,
        sensor=first.sensor,
    )


def _close_ongoing(episodes: list[Episode], end_s: float) -> list[Episode]:
    """Episodes without an end (the session was cut short) end at the session end."""
    out = []
    for e in episodes:
        if e.end is None:
            out.append(
                Episode(
                    e.kind,
                    e.channel,
                    e.start,
                    end_s,
                    e.confidence,
                    e.level_db,
                    e.id,
                    {**e.extra, "unfinished": True},
                )
            )
    return out


def _spans_from_events(events: list, end_s: float) -> list[QualitySpan]:
    open_: dict[tuple[str, str], float] = {}
    out = []
    for q in events:
        key = (q.kind, q.channel)
        if q.active:
            open_.setdefault(key, q.t)
        elif key in open_:
            out.append(QualitySpan(open_.pop(key), q.t, q.channel, q.kind, "logged"))
    out += [QualitySpan(t0, end_s, ch, kind, "logged") for (kind, ch), t0 in open_.items()]
    return sorted(out, key=lambda s: s.start)


# --- signal reductions --------------------------------------------------------------------------
@dataclass
class Envelope:
    t: np.ndarray  # bin centres, s since night start
    rms: np.ndarray  # (n_bins, n_ch), NaN where there is no signal
    level_db: np.ndarray  # relative to each channel's median (resting) level
    flat: np.ndarray  # (n_bins, n_ch) bool
    clipped: np.ndarray  # (n_bins, n_ch) bool


def _segment_bins(
    x: np.ndarray, fs: float, n_per_bin: int, sensor: str, units: str, chunk_bins: int = 600
) -> tuple[np.ndarray, np.ndarray]:
    """Activity and clipping per bin, ten minutes at a time (bounded memory for any night).

    Activity is the RMS above the EMG band's lower edge for raw EMG (baseline wander and motion
    removed by a causal high-pass whose state is carried between chunks), or the mean for an
    envelope sensor.
    """
    n_bins = len(x) // n_per_bin
    n_ch = x.shape[1]
    act = np.empty((n_bins, n_ch))
    clipped = np.zeros((n_bins, n_ch), bool)
    sos = butter(2, EMG_BAND_HZ[0], btype="highpass", fs=fs, output="sos")
    zi = sosfilt_zi(sos)[:, :, None] * x[:1]
    floor = (
        np.percentile(x[:: max(1, len(x) // 100_000)], 1, axis=0) if sensor == "envelope" else 0.0
    )
    for b0 in range(0, n_bins, chunk_bins):
        b1 = min(n_bins, b0 + chunk_bins)
        xc = x[b0 * n_per_bin : b1 * n_per_bin]
        if sensor == "envelope":
            act[b0:b1] = xc.reshape(-1, n_per_bin, n_ch).mean(axis=1) - floor
        else:
            y, zi = sosfilt(sos, xc, axis=0, zi=zi)
            yb = y.reshape(-1, n_per_bin, n_ch)
            act[b0:b1] = np.sqrt(np.einsum("ijk,ijk->ik", yb, yb) / n_per_bin)
        if units == "adc":
            rails = (xc <= 0) | (xc >= ADC_MAX)
            clipped[b0:b1] = rails.reshape(-1, n_per_bin, n_ch).mean(axis=1) >= CLIP_FRACTION
    return act, clipped


def night_envelope(night: Night, bin_s: float = ENVELOPE_BIN_S) -> Envelope:
    """The whole night reduced to one activity value per channel and bin (NaN: no signal)."""
    n_bins = int(math.ceil(night.duration_s / bin_s))
    n_ch = len(night.channel_names)
    rms = np.full((n_bins, n_ch), np.nan)
    clipped = np.zeros((n_bins, n_ch), bool)
    for offset, rec in night.segments:
        per = max(1, int(round(bin_s * rec.fs)))
        act, clip = _segment_bins(rec.data, rec.fs, per, night.sensor, rec.units)
        i0 = int(round(offset / bin_s))
        n = min(len(act), n_bins - i0)
        if n <= 0:
            continue
        rms[i0 : i0 + n] = act[:n]
        clipped[i0 : i0 + n] = clip[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        rest = np.nanmedian(np.where(rms > 0, rms, np.nan), axis=0)
        rest = np.where(np.isfinite(rest), rest, 1.0)
        level_db = 20 * np.log10(np.maximum(rms, 1e-12) / rest)
        flat = rms < FLAT_RATIO * rest
    level_db[np.isnan(rms)] = np.nan
    t = (np.arange(n_bins) + 0.5) * bin_s
    return Envelope(t, rms, level_db, flat, clipped)


def raw_segment(night: Night, t0: float, t1: float, channel: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw samples of one channel between two night times (gaps are left out)."""
    ts, xs = [], []
    for offset, rec in night.segments:
        a = max(0, int(math.floor((t0 - offset) * rec.fs)))
        b = min(rec.n_samples, int(math.ceil((t1 - offset) * rec.fs)))
        if b > a:
            ts.append(offset + np.arange(a, b) / rec.fs)
            xs.append(rec.data[a:b, channel])
    if not ts:
        return np.empty(0), np.empty(0)
    return np.concatenate(ts), np.concatenate(xs)


# --- the summary ------------------------------------------------------------------------------
def _episode_dict(e: Episode, start_time: datetime | None) -> dict[str, Any]:
    d = {
        "id": e.id,
        "kind": e.kind,
        "channel": e.channel,
        "start_s": round(e.start, 3),
        "end_s": None if e.end is None else round(e.end, 3),
        "duration_s": None if e.duration_s is None else round(e.duration_s, 3),
        "confidence": round(float(e.confidence), 3),
        "level_db": round(float(e.level_db), 2),
    }
    if start_time is not None:
        d["start_utc"] = (
            (start_time + timedelta(seconds=e.start)).astimezone(UTC).isoformat(timespec="seconds")
        )
    if e.extra:
        d["extra"] = e.extra
    return d


def night_sleep(night: Night) -> np.ndarray | None:
    """The spans scored as sleep in the night's recordings' hypnograms (None: none has one)."""
    from emgwatch.hypnogram import sleep_spans

    spans = [
        (s + off)
        for off, rec in night.segments
        if (s := sleep_spans(rec.annotations, rec.duration_s)) is not None
    ]
    return np.concatenate(spans) if spans else None


def plm_summary(
    episodes: list[Episode], channels: list[str], hours: float, sleep: np.ndarray | None = None
) -> dict[str, Any]:
    """PLM index with the project's one definition of a series (``emgwatch.scoring``).

    The headline counts movements of all legs together, overlapping ones once (as the
    evaluation does); the per-channel rows show each leg alone. With a hypnogram (``sleep``:
    spans scored as sleep), also the index a sleep study gives: series members that began in
    sleep per hour of sleep.
    """
    from emgwatch.hypnogram import in_spans, total_s
    from emgwatch.scoring import merge_overlapping_onsets as merge_bilateral
    from emgwatch.scoring import plm_series

    def row(start: np.ndarray) -> dict[str, Any]:
        series = plm_series(start)
        in_series = int(sum(len(s) for s in series))
        return {
            "movements": int(len(start)),
            "series": len(series),
            "movements_in_series": in_series,
            "index_per_h": round(in_series / hours, 1) if hours > 0 else None,
        }

    plm = [e for e in episodes if e.kind == "plm" and e.end is not None]
    start = np.array([e.start for e in plm], dtype=float)
    end = np.array([e.end for e in plm], dtype=float)
    combined = row(merge_bilateral(start, end))
    per_channel = {}
    for ch in channels:
        mine = np.array([e.channel == ch for e in plm], dtype=bool)
        per_channel[ch] = row(np.sort(start[mine]))
    index = combined["index_per_h"]
    sleep_h = total_s(sleep) / 3600.0 if sleep is not None else 0.0
    if sleep_h > 0:
        merged = merge_bilateral(start, end)
        members = np.concatenate(plm_series(merged) or [np.empty(0)])
        in_sleep = int(in_spans(members, sleep).sum())
        combined["index_per_h_sleep"] = round(float(in_sleep / sleep_h), 1)
    # the threshold is per hour of sleep (DOMAIN.md): judged on that index where there is one
    judged = combined.get("index_per_h_sleep", index)
    return {
        "available": True,
        "index_per_h": index,
        "index_per_h_sleep": combined.get("index_per_h_sleep"),
        "sleep_h": round(float(sleep_h), 2) if sleep_h > 0 else None,
        "elevated": bool(judged is not None and judged > PLM_INDEX_ELEVATED_PER_H),
        "elevated_above_per_h": PLM_INDEX_ELEVATED_PER_H,
        "min_series_length": PLM_MIN_SERIES,
        "all_channels": combined,
        "per_channel": per_channel,
        "note": "movements in series per hour of recording (time in bed, not scored sleep); "
        "overlapping movements of several legs count once",
    }


def quality_summary(night: Night, env: Envelope) -> dict[str, Any]:
    bin_s = ENVELOPE_BIN_S
    total = night.duration_s
    per_channel = {}
    for c, ch in enumerate(night.channel_names):
        missing = float(np.isnan(env.rms[:, c]).sum() * bin_s)
        flat = float(env.flat[:, c].sum() * bin_s)
        clip = float(env.clipped[:, c].sum() * bin_s)
        logged: dict[str, dict[str, float]] = {}
        for q in night.quality:
            if q.channel in (ch, "all"):
                k = logged.setdefault(q.kind, {"count": 0, "total_s": 0.0})
                k["count"] += 1
                k["total_s"] = round(k["total_s"] + max(0.0, q.end - q.start), 1)
        bad = missing + flat + clip
        per_channel[ch] = {
            "no_signal_s": round(missing, 1),
            "flat_s": round(flat, 1),
            "clipped_s": round(clip, 1),
            "logged": logged,
            "problem_fraction": round(bad / total, 4) if total else 0.0,
        }
    worst = max((v["problem_fraction"] for v in per_channel.values()), default=0.0)
    return {
        "per_channel": per_channel,
        "warning": worst >= QUALITY_WARN_FRACTION,
        "worst_fraction": worst,
    }


def summarize(night: Night, env: Envelope) -> dict[str, Any]:
    """The JSON summary written beside the HTML; the HTML shows the same numbers."""
    eps = sorted(night.episodes, key=lambda e: e.start)
    hours = night.duration_s / 3600.0
    by_kind: dict[str, dict[str, Any]] = {}
    kinds = [k for k in EPISODE_KINDS if any(e.kind == k for e in eps)]
    kinds += sorted({e.kind for e in eps} - set(kinds))
    for k in kinds:
        ks = [e for e in eps if e.kind == k]
        durs = [e.duration_s or 0.0 for e in ks]
        by_kind[k] = {
            "count": len(ks),
            "total_s": round(sum(durs), 1),
            "mean_s": round(float(np.mean(durs)), 1),
            "longest_s": round(max(durs), 1),
            "max_level_db": round(max(e.level_db for e in ks), 1),
        }
    n_hours = max(1, int(math.ceil(hours)))
    per_hour = []
    for h in range(n_hours):
        counts = {
            k: sum(1 for e in eps if e.kind == k and h * 3600 <= e.start < (h + 1) * 3600)
            for k in kinds
        }
        row: dict[str, Any] = {"hour": h, "counts": counts}
        if night.start_time is not None:
            row["start_utc"] = (
                (night.start_time + timedelta(hours=h))
                .astimezone(UTC)
                .isoformat(timespec="seconds")
            )
        per_hour.append(row)
    # the highlights are the involuntary episodes: a long voluntary stretch is not news
    alerts = night.alerts if night.alerts is not None else live_alert_counts(eps)
    alerting = [e for e in eps if e.kind in ALERT_KINDS]
    longest = sorted(alerting, key=lambda e: -(e.duration_s or 0.0))[:N_HIGHLIGHT]
    strongest = sorted(alerting, key=lambda e: -e.level_db)[:N_HIGHLIGHT]
    st = night.start_time
    return {
        "version": 1,
        "emgwatch": __version__,
        "source": night.source,
        "start_utc": None if st is None else st.astimezone(UTC).isoformat(timespec="seconds"),
        "duration_s": round(night.duration_s, 1),
        "channels": night.channel_names,
        "fs_hz": night.fs,
        "context": night.context,
        "model_version": night.model_version,
        "episodes_total": len(eps),
        "involuntary_total": sum(1 for e in eps if e.kind in ALERT_KINDS),
        # what a phone was sent live: alerts, and those the whole episode or its series later
        # took back (docs/MQTT.md)
        "alerts_sent": alerts[0],
        "alerts_withdrawn": alerts[1],
        "episodes_per_h": round(len(eps) / hours, 2) if hours else None,
        "by_kind": by_kind,
        "per_hour": per_hour,
        "plm": plm_summary(eps, night.channel_names, hours, night_sleep(night)),
        "longest": [_episode_dict(e, st) for e in longest],
        "strongest": [_episode_dict(e, st) for e in strongest],
        "quality": quality_summary(night, env),
        "episodes": [_episode_dict(e, st) for e in eps],
        "disclaimer": DISCLAIMER,
    }


# --- HTML ---------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:1120px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid #d9dce3;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.sub{color:#5b6475;margin:0 0 18px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:150px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .v{font-size:26px;font-weight:600} .card .l{color:#5b6475;font-size:13px}
.card.warn{border-left:5px solid #d9822b} .card.ok{border-left:5px solid #3a9c5f}
table{border-collapse:collapse;background:#fff;border-radius:6px;overflow:hidden;font-size:14px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
th,td{padding:6px 12px;text-align:right;border-bottom:1px solid #eceef2} th{background:#eef0f4;font-weight:600}
td:first-child,th:first-child{text-align:left}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
img{max-width:100%;background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.note{color:#5b6475;font-size:13px}
.banner{background:#fff4e5;border:1px solid #f0c68a;border-radius:6px;padding:10px 14px;margin:12px 0}
.ep{display:grid;grid-template-columns:1fr;gap:6px;margin-bottom:16px}
footer{margin-top:36px;padding:14px 16px;background:#e9ecf1;border-radius:6px;font-size:13px;color:#3b4252}
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _fmt_dur(s: float | None) -> str:
    if s is None:
        return "–"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def _clock(night: Night, t: float) -> str:
    if night.start_time is None:
        return f"+{_fmt_dur(t)}"
    return (night.start_time + timedelta(seconds=t)).astimezone().strftime("%H:%M:%S")


def render_html(night: Night, summary: dict[str, Any], figures: dict[str, bytes]) -> str:
    from emgwatch.report_plots import KIND_COLORS

    e = html.escape
    st = night.start_time
    date = st.astimezone().strftime("%A %d %B %Y, %H:%M") if st else "start time unknown"
    q = summary["quality"]
    plm = summary["plm"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>emgwatch night report – {e(date)}</title><style>{CSS}</style></head><body><main>",
        "<h1>Night report</h1>",
        f"<p class='sub'>{e(date)} · {_fmt_dur(night.duration_s)} · channels {e(', '.join(night.channel_names))}"
        f" · {e(night.source)} · context {e(night.context)}"
        + (f" · model {e(night.model_version)}" if night.model_version else "")
        + "</p>",
    ]
    if q["warning"]:
        parts.append(
            "<div class='banner'><b>Sensor problem during this night.</b> For "
            f"{100 * q['worst_fraction']:.1f}% of the time a channel had no usable signal "
            "(flat, clipped or missing). Episodes during those times cannot be seen, so fewer "
            "episodes does not mean fewer contractions.</div>"
        )
    cards = [("involuntary episodes", str(summary["involuntary_total"]), "")]
    for k, v in summary["by_kind"].items():
        note = " (logged, no alert)" if k not in ALERT_KINDS else ""
        cards.append((f"{k} · {_fmt_dur(v['total_s'])} total{note}", str(v["count"]), ""))
    if plm.get("available"):
        cls = "warn" if plm["elevated"] else "ok"
        cards.append(("PLM index (per hour)", f"{plm['index_per_h']:.1f}", cls))
        if plm.get("index_per_h_sleep") is not None:
            cards.append(("PLM index (per hour of sleep)", f"{plm['index_per_h_sleep']:.1f}", ""))
    if summary["alerts_sent"]:
        label = f"live alerts sent · {summary['alerts_withdrawn']} taken back later"
        cards.append((label, str(summary["alerts_sent"]), ""))
    cards.append(
        (
            "time with sensor problems",
            f"{100 * q['worst_fraction']:.1f}%",
            "warn" if q["warning"] else "ok",
        )
    )
    parts.append("<div class='cards'>")
    for label, value, cls in cards:
        parts.append(
            f"<div class='card {cls}'><div class='v'>{e(value)}</div><div class='l'>{e(label)}</div></div>"
        )
    parts.append("</div>")

    parts.append("<h2>The night at a glance</h2>")
    parts.append(_img(figures["timeline"], "timeline of the night"))
    parts.append(
        "<p class='note'>Grey: muscle activity in dB above the channel's resting level (line: "
        "typical level, shading: peaks). Coloured bars: detected episodes by kind. Hatched: "
        "sensor problems.</p>"
    )

    parts.append("<h2>Episodes by kind</h2>")
    if summary["by_kind"]:
        parts.append(
            "<table><tr><th>kind</th><th>count</th><th>total time</th><th>mean</th><th>longest</th><th>peak level</th></tr>"
        )
        for k, v in summary["by_kind"].items():
            sw = f"<span class='swatch' style='background:{KIND_COLORS.get(k, '#777')}'></span>"
            parts.append(
                f"<tr><td>{sw}{e(k)}</td><td>{v['count']}</td><td>{_fmt_dur(v['total_s'])}</td>"
                f"<td>{_fmt_dur(v['mean_s'])}</td><td>{_fmt_dur(v['longest_s'])}</td><td>{v['max_level_db']:.1f} dB</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>No episodes were detected.</p>")
    parts.append("<h3>Episodes per hour</h3>")
    parts.append(_img(figures["per_hour"], "episodes per hour"))

    parts.append("<h2>Periodic limb movements</h2>")
    if plm.get("available"):
        verdict = (
            f"above the {plm['elevated_above_per_h']:.0f}/h often considered elevated in adults"
            if plm["elevated"]
            else f"below the {plm['elevated_above_per_h']:.0f}/h often considered elevated in adults"
        )
        parts.append(f"<p>PLM index <b>{plm['index_per_h']:.1f} per hour</b> ({verdict}).</p>")
        if plm.get("index_per_h_sleep") is not None:
            parts.append(
                f"<p>Per hour of sleep, as the recording's hypnogram scores it "
                f"({plm['sleep_h']:.1f} h): <b>{plm['index_per_h_sleep']:.1f}</b> (movements in "
                "series that began in sleep).</p>"
            )
        parts.append(
            "<table><tr><th>channel</th><th>leg movements</th><th>series (≥ "
            f"{plm['min_series_length']})</th><th>in series</th><th>index /h</th></tr>"
        )
        rows = [("all channels", plm["all_channels"]), *plm["per_channel"].items()]
        for ch, v in rows:
            parts.append(
                f"<tr><td>{e(ch)}</td><td>{v['movements']}</td><td>{v['series']}</td>"
                f"<td>{v['movements_in_series']}</td><td>{v['index_per_h']}</td></tr>"
            )
        parts.append(
            f"</table><p class='note'>{e(plm['note'])}. Arousal and apnea exclusions of the scoring rules are not applied.</p>"
        )
    else:
        parts.append(f"<p class='note'>PLM index not available: {e(plm['reason'])}.</p>")

    for title, key in (("Longest episodes", "longest"), ("Strongest episodes", "strongest")):
        parts.append(f"<h2>{title}</h2>")
        if not summary[key]:
            parts.append("<p>None.</p>")
        for d in summary[key]:
            shown = key == "strongest" and any(x["id"] == d["id"] for x in summary["longest"])
            label = (
                f"{d['kind']} on {d['channel']} at {_clock(night, d['start_s'])}: "
                f"{_fmt_dur(d['duration_s'])}, peak {d['level_db']:.1f} dB above rest, "
                f"confidence {d['confidence']:.2f}"
            )
            if shown:
                parts.append(
                    f"<div class='ep'><h3>{e(label)}</h3><p class='note'>plotted above</p></div>"
                )
            else:
                img = _img(figures["zoom-" + d["id"]], label)
                parts.append(f"<div class='ep'><h3>{e(label)}</h3>{img}</div>")

    parts.append("<h2>Signal quality</h2>")
    parts.append(
        "<table><tr><th>channel</th><th>no signal</th><th>flat (lead-off?)</th><th>clipped</th><th>logged problems</th></tr>"
    )
    for ch, v in q["per_channel"].items():
        logged = (
            ", ".join(
                f"{k} ×{x['count']} ({_fmt_dur(x['total_s'])})" for k, x in v["logged"].items()
            )
            or "none"
        )
        parts.append(
            f"<tr><td>{e(ch)}</td><td>{_fmt_dur(v['no_signal_s'])}</td><td>{_fmt_dur(v['flat_s'])}</td>"
            f"<td>{_fmt_dur(v['clipped_s'])}</td><td>{e(logged)}</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        "<p class='note'>Flat: 1-s stretches far below the channel's resting level (electrode off "
        "or disconnected). Clipped: samples at the ADC limits (gain too high or a loose lead).</p>"
    )
    parts.append(
        f"<footer><b>Not a diagnosis.</b> {e(DISCLAIMER)}<br>Made by emgwatch {e(__version__)} "
        f"on {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M')}; the numbers are also in the JSON file beside this page.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)


def make_report(night: Night, out_html: str | Path) -> tuple[Path, Path]:
    """Write ``out_html`` and the JSON summary next to it (same name, ``.json``)."""
    from emgwatch import report_plots

    out_html = Path(out_html)
    env = night_envelope(night)
    summary = summarize(night, env)
    figures = {
        "timeline": report_plots.timeline(night, env),
        "per_hour": report_plots.per_hour(night, summary),
    }
    by_id = {e.id: e for e in night.episodes}
    for key in ("longest", "strongest"):
        for d in summary[key]:
            fid = f"zoom-{d['id']}"
            if fid not in figures:
                figures[fid] = report_plots.zoom(night, by_id[d["id"]])
    page = render_html(night, summary, figures)
    out_json = out_html.with_suffix(".json")
    try:
        out_html.parent.mkdir(parents=True, exist_ok=True)
        out_html.write_text(page, encoding="utf-8")
        out_json.write_text(json.dumps(summary, indent=1, default=str) + "\n", encoding="utf-8")
    except OSError as e:
        raise EmgwatchError(
            f"{e.filename or out_html}: cannot write report ({e.strerror})"
        ) from None
    return out_html, out_json
