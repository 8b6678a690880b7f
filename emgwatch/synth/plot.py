"""A picture of a recording and its truth, so a person can see what was generated."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emgwatch.recording import Recording
from emgwatch.truth import Truth

KIND_COLOURS = {
    "spasm": "#d62728",
    "cramp": "#9467bd",
    "clonus": "#ff7f0e",
    "plm": "#1f77b4",
    "voluntary": "#2ca02c",
    "turnover": "#8c564b",
    "posture": "#bcbd22",
    "twitch": "#17becf",
}
ARTIFACT_COLOUR = "#7f7f7f"


def _minmax(x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel min and max, so a plot of millions of samples still shows every burst."""
    n = len(x)
    per = max(1, n // width)
    m = n // per
    v = x[: m * per].reshape(m, per)
    idx = (np.arange(m) * per + per / 2).astype(float)
    return idx, v.min(axis=1), v.max(axis=1)


def _envelope(x: np.ndarray, fs: float, sensor: str) -> np.ndarray:
    """Moving RMS (raw) over 100 ms; an envelope sensor's output is already an envelope."""
    if sensor == "envelope":
        return x - np.percentile(x, 1)
    k = int(0.2 * fs)
    xp = np.pad(x, k, mode="edge")
    y = x - np.convolve(xp, np.ones(k) / k, mode="same")[k:-k]
    w = max(int(0.1 * fs), 1)
    yp = np.pad(y, w, mode="edge")
    return np.sqrt(np.convolve(yp * yp, np.ones(w) / w, mode="same")[w:-w])


def plot_recording(
    path: str | Path,
    rec: Recording,
    truth: Truth | None = None,
    *,
    start_s: float = 0.0,
    duration_s: float | None = None,
    width_px: int = 1600,
    time_offset_s: float = 0.0,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fs = rec.fs
    i0 = int(start_s * fs)
    i1 = rec.n_samples if duration_s is None else min(rec.n_samples, i0 + int(duration_s * fs))
    n_ch = rec.n_channels
    fig, axes = plt.subplots(
        2 * n_ch, 1, figsize=(width_px / 100, 1.6 + 2.2 * n_ch), sharex=True, dpi=100
    )
    axes = np.atleast_1d(axes)
    used: set[str] = set()
    for c, name in enumerate(rec.channel_names):
        x = rec.data[i0:i1, c]
        env = _envelope(x, fs, rec.sensor)
        for ax, y, label in (
            (axes[2 * c], x, f"{name} [{rec.units}]"),
            (axes[2 * c + 1], env, f"{name} envelope"),
        ):
            idx, lo, hi = _minmax(y, width_px)
            t = (i0 + idx) / fs + time_offset_s
            ax.fill_between(t, lo, hi, color="black", linewidth=0.3, step="mid")
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=7)
            if truth is None:
                continue
            t_lo, t_hi = i0 / fs, i1 / fs
            min_w = 2.0 * (t_hi - t_lo) / width_px  # keep 0.1-s twitches visible on long plots
            for e in truth.episodes:
                if e.channel == name and e.end > t_lo and e.start < t_hi:
                    ax.axvspan(
                        e.start + time_offset_s,
                        max(e.end, e.start + min_w) + time_offset_s,
                        color=KIND_COLOURS.get(e.kind, "#e377c2"),
                        alpha=0.3,
                        lw=0,
                    )
                    used.add(e.kind)
            for a in truth.artifacts:
                if a.channel == name and a.end > t_lo and a.start < t_hi:
                    ax.axvspan(
                        a.start + time_offset_s,
                        max(a.end, a.start + min_w) + time_offset_s,
                        ymin=0.0,
                        ymax=0.06,
                        color=ARTIFACT_COLOUR,
                        alpha=0.8,
                        lw=0,
                    )
                    used.add("artifact")
    axes[-1].set_xlabel("time [s]")
    axes[-1].set_xlim(i0 / fs + time_offset_s, i1 / fs + time_offset_s)
    handles = [Patch(color=KIND_COLOURS[k], alpha=0.4, label=k) for k in KIND_COLOURS if k in used]
    if "artifact" in used:
        handles.append(Patch(color=ARTIFACT_COLOUR, label="artifact (bar)"))
    title = (
        f"{truth.scenario} seed {truth.seed}, {fs:g} Hz, {rec.sensor}"
        if truth
        else str(rec.path or "")
    )
    axes[0].set_title(title, fontsize=9)
    if handles:
        fig.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path)
    plt.close(fig)


def plot_stream(
    path: str | Path, s, *, start_s: float = 0.0, duration_s: float | None = None
) -> None:
    """Plot a window of a SynthStream holding only that window in memory."""
    fs = s.fs
    i0 = max(0, int(start_s * fs))
    i1 = s.n_samples if duration_s is None else min(s.n_samples, i0 + int(duration_s * fs))
    if i1 <= i0:
        raise ValueError(f"plot window starts after the end of the recording ({s.duration_s:g} s)")
    data = np.empty((i1 - i0, len(s.channel_names)))
    pos = 0
    for chunk in s.chunks(int(10 * fs)):
        a, b = max(pos, i0), min(pos + len(chunk), i1)
        if b > a:
            data[a - i0 : b - i0] = chunk[a - pos : b - pos]
        pos += len(chunk)
        if pos >= i1:
            break
    rec = Recording(data, fs, list(s.channel_names), units=s.units, sensor=s.sensor)
    _plot_window(path, rec, s.truth, i0)


def _plot_window(path, rec: Recording, truth: Truth, i0: int) -> None:
    from dataclasses import replace

    shifted = replace(
        truth,
        episodes=[
            replace(e, start=e.start - i0 / rec.fs, end=e.end - i0 / rec.fs) for e in truth.episodes
        ],
        artifacts=[
            replace(a, start=a.start - i0 / rec.fs, end=a.end - i0 / rec.fs)
            for a in truth.artifacts
        ],
    )
    plot_recording(path, rec, shifted, time_offset_s=i0 / rec.fs)
