"""Figures of the night report as PNG bytes (matplotlib's Agg canvas, no pyplot state).

Plots are drawn from reduced data: the 1-s envelope for the whole night, min/max per pixel
column for raw signal, so drawing cost does not grow with the length of the night.
"""

from __future__ import annotations

import io
import math
import warnings
from datetime import timedelta

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MultipleLocator

from emgwatch.episodes import Episode
from emgwatch.report import ZOOM_BIN_S, Envelope, Night, raw_segment

KIND_COLORS = {
    "spasm": "#d1495b",
    "cramp": "#8f2d56",
    "clonus": "#edae49",
    "plm": "#00798c",
    "voluntary": "#8a9bb0",
}
QUALITY_COLOR = "#9aa0a6"
UNIT_LABELS = {"adc": "ADC counts", "uV": "µV", "mV": "mV", "V": "V"}
WIDTH_IN = 11.0
DPI = 100
MAX_POINTS = 3000  # raw samples drawn as min/max envelopes beyond this many points


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _color(kind: str) -> str:
    return KIND_COLORS.get(kind, "#555555")


def _clock_formatter(night: Night, unit_s: float):
    def fmt(x: float, _pos: int) -> str:
        if night.start_time is None:
            return f"{x * unit_s / 3600:.1f} h"
        t = night.start_time + timedelta(seconds=x * unit_s)
        return t.astimezone().strftime("%H:%M" if unit_s >= 60 else "%H:%M:%S")

    return FuncFormatter(fmt)


def timeline(night: Night, env: Envelope) -> bytes:
    """One row per channel: activity envelope, episodes as coloured bars, sensor problems.

    The envelope is drawn as its median (line) and peak (shaded) per ~pixel column.
    """
    n_ch = len(night.channel_names)
    fig = Figure(figsize=(WIDTH_IN, 0.9 + 1.9 * n_ch))
    axes = fig.subplots(n_ch, 1, sharex=True, squeeze=False)[:, 0]
    hours = night.duration_s / 3600.0
    min_w = max(hours / 700.0, 1e-4)  # keep a 1-s episode visible as a ~1.5 px bar
    usable = env.level_db[np.isfinite(env.level_db) & ~env.flat]
    lo = float(np.percentile(usable, 1)) if usable.size else -5.0
    hi = float(np.percentile(usable, 99.9)) if usable.size else 30.0
    lo, hi = min(max(lo, -15.0), -3.0), max(hi, 10.0) + 3.0  # flat stretches are hatched instead
    kinds_seen: list[str] = []
    for c, (ax, ch) in enumerate(zip(axes, night.channel_names, strict=True)):
        shown = np.clip(env.level_db[:, c], lo, None)
        tg, med, peak = _pixel_bins(env.t, shown, MAX_POINTS // 2)
        ax.fill_between(tg / 3600.0, med, peak, color="#a3aab6", lw=0, step="mid")
        ax.plot(tg / 3600.0, med, color="#4b5563", lw=0.6, drawstyle="steps-mid")
        ax.set_ylim(lo, hi + (hi - lo) * 0.22)
        band = hi + (hi - lo) * 0.04, (hi - lo) * 0.15
        for kind in KIND_COLORS | {e.kind: "" for e in night.episodes}:
            eps = [
                e
                for e in night.episodes
                if e.kind == kind and e.channel == ch and e.end is not None
            ]
            if not eps:
                continue
            if kind not in kinds_seen:
                kinds_seen.append(kind)
            bars = [(e.start / 3600.0, max((e.end - e.start) / 3600.0, min_w)) for e in eps]
            ax.broken_barh(bars, band, facecolors=_color(kind), lw=0)
            ax.broken_barh(bars, (lo, hi - lo), facecolors=_color(kind), alpha=0.1, lw=0)
        qs = [q for q in night.quality if q.channel in (ch, "all")]
        flat_bins = env.flat[:, c] | env.clipped[:, c] | np.isnan(env.rms[:, c])
        qbars = [(q.start / 3600.0, max((q.end - q.start) / 3600.0, min_w)) for q in qs]
        qbars += _runs(flat_bins, env.t[1] - env.t[0] if len(env.t) > 1 else 1.0, min_w)
        if qbars:
            ax.broken_barh(
                qbars,
                (lo, (hi - lo) * 0.08),
                facecolors="none",
                edgecolors=QUALITY_COLOR,
                hatch="////",
                lw=0,
            )
        ax.set_ylabel(f"{ch}\ndB above rest", fontsize=9)
        ax.grid(axis="x", color="#e5e7eb", lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=9)
    ax = axes[-1]
    ax.set_xlim(0, hours)
    step = 1.0 if hours > 3 else (0.25 if hours > 0.75 else 1 / 12)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(_clock_formatter(night, 3600.0))
    order = {k: i for i, k in enumerate(KIND_COLORS)}
    kinds_seen.sort(key=lambda k: (order.get(k, len(order)), k))
    handles = [Patch(color=_color(k), label=k) for k in kinds_seen]
    handles.append(
        Patch(facecolor="none", edgecolor=QUALITY_COLOR, hatch="////", label="sensor problem")
    )
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return _png(fig)


def _pixel_bins(t: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and peak of ``y`` in about ``n`` groups: readable at any night length."""
    per = max(1, int(math.ceil(len(y) / n)))
    if per == 1:
        return t, y, y
    m = int(math.ceil(len(y) / per)) * per
    yb = np.full(m, np.nan)
    yb[: len(y)] = y
    yb = yb.reshape(-1, per)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups (no signal) stay NaN
        med, peak = np.nanmedian(yb, axis=1), np.nanmax(yb, axis=1)
    tg = t[0] + (np.arange(len(med)) + 0.5) * per * (t[1] - t[0] if len(t) > 1 else 1.0)
    return tg - 0.5 * (t[1] - t[0] if len(t) > 1 else 1.0), med, peak


def _runs(mask: np.ndarray, bin_h_s: float, min_w: float) -> list[tuple[float, float]]:
    """Consecutive True bins as (start h, width h) bars."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [
        (s * bin_h_s / 3600.0, max((e - s) * bin_h_s / 3600.0, min_w))
        for s, e in zip(starts, ends, strict=True)
    ]


def per_hour(night: Night, summary: dict) -> bytes:
    """Stacked bars of episodes per hour of the night, by kind."""
    rows = summary["per_hour"]
    fig = Figure(figsize=(WIDTH_IN, 2.6))
    ax = fig.subplots()
    x = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for kind in summary["by_kind"]:
        counts = np.array([r["counts"].get(kind, 0) for r in rows], dtype=float)
        ax.bar(x, counts, bottom=bottom, color=_color(kind), label=kind, width=0.75)
        bottom += counts
    labels = []
    for r in rows:
        if night.start_time is None:
            labels.append(f"{r['hour']}–{r['hour'] + 1} h")
        else:
            t = night.start_time + timedelta(hours=r["hour"])
            labels.append(t.astimezone().strftime("%H:%M"))
    ax.set_xticks(x, labels, fontsize=9)
    ax.set_ylabel("episodes", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", lw=0.6)
    ax.set_axisbelow(True)
    if summary["by_kind"]:
        ax.legend(frameon=False, fontsize=9, ncol=len(summary["by_kind"]), loc="upper left")
        ax.set_ylim(0, max(1.0, bottom.max()) * 1.25)
    fig.tight_layout()
    return _png(fig)


def _minmax(t: np.ndarray, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    per = int(math.ceil(len(x) / n))
    m = len(x) // per * per
    xb = x[:m].reshape(-1, per)
    return t[:m].reshape(-1, per)[:, 0], xb.min(axis=1), xb.max(axis=1)


def zoom(night: Night, episode: Episode) -> bytes:
    """Raw signal and its 50-ms envelope around one episode, the episode shaded."""
    dur = (episode.end or episode.start) - episode.start
    pad = max(5.0, 0.3 * dur)
    t0, t1 = (
        max(0.0, episode.start - pad),
        min(night.duration_s, (episode.end or episode.start) + pad),
    )
    c = night.channel_names.index(episode.channel) if episode.channel in night.channel_names else 0
    t, x = raw_segment(night, t0, t1, c)
    fig = Figure(figsize=(WIDTH_IN, 3.3))
    ax_raw, ax_env = fig.subplots(2, 1, sharex=True, height_ratios=(1.3, 1))
    unit = UNIT_LABELS.get(night.units, night.units)
    if len(x):
        centred = x - np.median(x)
        if len(x) > MAX_POINTS:
            tb, mn, mx = _minmax(t, centred, MAX_POINTS)
            ax_raw.fill_between(tb - t0, mn, mx, color="#374151", lw=0, step="post")
        else:
            ax_raw.plot(t - t0, centred, color="#374151", lw=0.5)
        per = max(1, int(round(ZOOM_BIN_S * night.fs)))
        m = len(x) // per * per
        if m:
            xb = x[:m].reshape(-1, per)
            envl = xb.mean(axis=1) if night.sensor == "envelope" else xb.std(axis=1)
            ax_env.plot(t[:m:per] - t0 + ZOOM_BIN_S / 2, envl, color=_color(episode.kind), lw=1.2)
            ax_env.set_ylim(bottom=0)
    else:
        ax_raw.text(
            0.5, 0.5, "no raw signal recorded here", transform=ax_raw.transAxes, ha="center"
        )
    for ax in (ax_raw, ax_env):
        ax.axvspan(
            episode.start - t0,
            (episode.end or episode.start) - t0,
            color=_color(episode.kind),
            alpha=0.15,
            lw=0,
        )
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=9)
    ax_raw.set_ylabel(f"raw\n{unit}", fontsize=9)
    ax_env.set_ylabel(
        "envelope\n(50 ms RMS)" if night.sensor != "envelope" else "envelope", fontsize=9
    )
    ax_env.set_xlim(0, t1 - t0)
    offset = night.start_time + timedelta(seconds=t0) if night.start_time else None
    where = offset.astimezone().strftime("%H:%M:%S") if offset else f"{t0:.0f} s"
    ax_env.set_xlabel(f"seconds from {where}", fontsize=9)
    fig.tight_layout()
    return _png(fig)
