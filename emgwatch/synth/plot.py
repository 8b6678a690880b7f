"""A picture of a recording and its truth, so a person can see what was generated.

Millions of samples become per-pixel minimum/maximum traces (every burst stays visible); long
synthetic streams are reduced chunk by chunk, so plotting an 8-hour night needs no 8-hour array.
"""

from __future__ import annotations

from dataclasses import dataclass
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
ENVELOPE_BIN_S = 0.1
STREAM_REDUCE_OVER_S = 1800.0  # longer windows are reduced while streaming


@dataclass
class Traces:
    t: np.ndarray  # pixel centre times, s
    lo: np.ndarray  # (pixels, channels) signal minimum
    hi: np.ndarray
    env_lo: np.ndarray  # envelope minimum / maximum
    env_hi: np.ndarray


def _bin_envelope(x: np.ndarray, sb: int, sensor: str) -> np.ndarray:
    """RMS about the mean in bins of ``sb`` samples (x: (bins*sb, ch)) -> (bins, ch)."""
    v = x.reshape(-1, sb, x.shape[1])
    if sensor == "envelope":
        return v.mean(axis=1)
    return v.std(axis=1)


def traces_from_array(x: np.ndarray, fs: float, t0: float, sensor: str, width_px: int) -> Traces:
    sb = max(1, int(ENVELOPE_BIN_S * fs))
    spp = max(sb, int(np.ceil(len(x) / width_px / sb)) * sb)
    m = len(x) // spp
    if m == 0:
        raise ValueError("plot window is shorter than one envelope bin")
    v = x[: m * spp].reshape(m, spp, x.shape[1])
    env = _bin_envelope(x[: m * spp], sb, sensor).reshape(m, spp // sb, x.shape[1])
    t = t0 + (np.arange(m) * spp + spp / 2) / fs
    return Traces(t, v.min(axis=1), v.max(axis=1), env.min(axis=1), env.max(axis=1))


def traces_from_stream(s, i0: int, i1: int, width_px: int) -> Traces:
    fs, n_ch = s.fs, len(s.channel_names)
    sb = max(1, int(ENVELOPE_BIN_S * fs))
    spp = max(sb, int(np.ceil((i1 - i0) / width_px / sb)) * sb)
    parts: list[Traces] = []
    carry = np.empty((0, n_ch))
    done = i0  # first sample index of ``carry``
    pos = 0
    for chunk in s.chunks(max(spp, int(10 * fs))):
        a, b = max(pos, i0), min(pos + len(chunk), i1)
        pos += len(chunk)
        if b <= a:
            if pos >= i1:
                break
            continue
        carry = np.concatenate([carry, chunk[a - (pos - len(chunk)) : b - (pos - len(chunk))]])
        whole = (len(carry) // spp) * spp
        if whole:
            parts.append(traces_from_array(carry[:whole], fs, done / fs, s.sensor, whole // spp))
            carry, done = carry[whole:], done + whole
        if pos >= i1:
            break
    if not parts:
        raise ValueError("plot window is shorter than one pixel")
    return Traces(
        *(
            np.concatenate([getattr(p, f) for p in parts])
            for f in ("t", "lo", "hi", "env_lo", "env_hi")
        )
    )


def draw(
    path: str | Path,
    tr: Traces,
    names: list[str],
    units: str,
    truth: Truth | None,
    window: tuple[float, float],
    title: str,
    width_px: int = 1600,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n_ch = len(names)
    fig, axes = plt.subplots(
        2 * n_ch, 1, figsize=(width_px / 100, 1.6 + 2.2 * n_ch), sharex=True, dpi=100
    )
    axes = np.atleast_1d(axes)
    t_lo, t_hi = window
    min_w = 2.0 * (t_hi - t_lo) / width_px  # keep 0.1-s twitches visible on long plots
    used: set[str] = set()
    for c, name in enumerate(names):
        rows = (
            (axes[2 * c], tr.lo, tr.hi, f"{name} [{units}]"),
            (axes[2 * c + 1], tr.env_lo, tr.env_hi, f"{name} envelope"),
        )
        for ax, lo, hi, label in rows:
            ax.fill_between(tr.t, lo[:, c], hi[:, c], color="black", linewidth=0.3, step="mid")
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=7)
            if truth is None:
                continue
            for e in truth.episodes:
                if e.channel == name and e.end > t_lo and e.start < t_hi:
                    colour = KIND_COLOURS.get(e.kind, "#e377c2")
                    ax.axvspan(e.start, max(e.end, e.start + min_w), color=colour, alpha=0.3, lw=0)
                    used.add(e.kind)
            for a in truth.artifacts:
                if a.channel == name and a.end > t_lo and a.start < t_hi:
                    ax.axvspan(
                        a.start,
                        max(a.end, a.start + min_w),
                        ymin=0.0,
                        ymax=0.06,
                        color=ARTIFACT_COLOUR,
                        alpha=0.8,
                        lw=0,
                    )
                    used.add("artifact")
    axes[-1].set_xlabel("time [s]")
    axes[-1].set_xlim(t_lo, t_hi)
    handles = [Patch(color=KIND_COLOURS[k], alpha=0.4, label=k) for k in KIND_COLOURS if k in used]
    if "artifact" in used:
        handles.append(Patch(color=ARTIFACT_COLOUR, label="artifact (bar)"))
    axes[0].set_title(title, fontsize=9)
    if handles:
        fig.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path)
    plt.close(fig)


def _title(truth: Truth | None, fs: float, sensor: str, fallback: str) -> str:
    return f"{truth.scenario} seed {truth.seed}, {fs:g} Hz, {sensor}" if truth else fallback


def plot_recording(
    path: str | Path,
    rec: Recording,
    truth: Truth | None = None,
    *,
    start_s: float = 0.0,
    duration_s: float | None = None,
    width_px: int = 1600,
) -> None:
    fs = rec.fs
    i0 = max(0, int(start_s * fs))
    i1 = rec.n_samples if duration_s is None else min(rec.n_samples, i0 + int(duration_s * fs))
    tr = traces_from_array(rec.data[i0:i1], fs, i0 / fs, rec.sensor, width_px)
    title = _title(truth, fs, rec.sensor, str(rec.path or ""))
    draw(path, tr, rec.channel_names, rec.units, truth, (i0 / fs, i1 / fs), title, width_px)


def plot_stream(
    path: str | Path,
    s,
    *,
    start_s: float = 0.0,
    duration_s: float | None = None,
    width_px: int = 1600,
) -> None:
    """Plot a window of a SynthStream with bounded memory."""
    fs = s.fs
    i0 = max(0, int(start_s * fs))
    i1 = s.n_samples if duration_s is None else min(s.n_samples, i0 + int(duration_s * fs))
    if i1 <= i0:
        raise ValueError(f"plot window starts after the end of the recording ({s.duration_s:g} s)")
    if (i1 - i0) / fs > STREAM_REDUCE_OVER_S:
        tr = traces_from_stream(s, i0, i1, width_px)
    else:
        data = np.empty((i1 - i0, len(s.channel_names)))
        pos = 0
        for chunk in s.chunks(int(10 * fs)):
            a, b = max(pos, i0), min(pos + len(chunk), i1)
            if b > a:
                data[a - i0 : b - i0] = chunk[a - pos : b - pos]
            pos += len(chunk)
            if pos >= i1:
                break
        tr = traces_from_array(data, fs, i0 / fs, s.sensor, width_px)
    draw(
        path,
        tr,
        list(s.channel_names),
        s.units,
        s.truth,
        (i0 / fs, i1 / fs),
        _title(s.truth, fs, s.sensor, ""),
        width_px,
    )
