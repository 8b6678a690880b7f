"""Rest + maximal-voluntary-contraction (MVC) calibration, stored per device and channel.

Amplitude differs 10x or more between people and sessions, so detection itself never needs this;
it lets emgwatch report levels as %MVC, which clinicians read more easily than dB above rest.
The same FeatureExtractor as detection measures both phases, so "dB above baseline" means the
same thing in a calibration and in an episode.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from emgwatch.errors import EmgwatchError


@dataclass
class ChannelCalibration:
    mvc_db: float  # MVC envelope relative to the resting baseline, dB
    rest_windows: int
    mvc_windows: int


@dataclass
class Calibration:
    device_id: str
    created: str
    fs_hz: float
    channels: dict[str, ChannelCalibration]

    def percent_mvc(self, channel: str, level_db: float) -> float | None:
        c = self.channels.get(channel)
        if c is None:  # stored before a header's unit stopped being part of the name
            from emgwatch.recording import channel_base_name

            c = next((v for k, v in self.channels.items() if channel_base_name(k) == channel), None)
        if c is None or not math.isfinite(level_db):
            return None
        return round(100.0 * 10 ** ((level_db - c.mvc_db) / 20.0), 1)


def summarise(
    level_db: np.ndarray,
    phase: np.ndarray,
    channel_names: list[str],
    *,
    device_id: str,
    fs_hz: float,
) -> Calibration:
    """Per channel MVC level from window levels (n, ch) labelled by phase (n,) 'rest' | 'mvc'.

    The MVC level is the median over MVC windows of the upper decile, so a late start or an early
    release of a contraction does not pull it down.
    """
    chans = {}
    rest = phase == "rest"
    mvc = phase == "mvc"
    if rest.sum() < 20 or mvc.sum() < 10:
        raise EmgwatchError(
            "calibration too short: need at least 1 s of rest and 0.5 s of contraction"
        )
    for c, name in enumerate(channel_names):
        lv = level_db[mvc, c]
        lv = lv[np.isfinite(lv)]
        if lv.size == 0:
            raise EmgwatchError(
                f"calibration: channel {name} gave no usable windows during contraction"
            )
        top = float(np.percentile(lv, 90))
        if top < 6.0:
            raise EmgwatchError(
                f"calibration: channel {name} rose only {top:.1f} dB above rest during contraction; "
                "check electrode placement and try again"
            )
        chans[name] = ChannelCalibration(
            mvc_db=round(top, 2), rest_windows=int(rest.sum()), mvc_windows=int(mvc.sum())
        )
    return Calibration(
        device_id=device_id,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        fs_hz=fs_hz,
        channels=chans,
    )


def calibration_path(storage_dir: Path, device_id: str) -> Path:
    return Path(storage_dir) / "calibration" / f"{device_id}.json"


def save_calibration(path: Path, cal: Calibration) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(cal), indent=1))
    tmp.replace(path)  # atomic: a crash never leaves half a calibration


def load_calibration(path: Path) -> Calibration | None:
    try:
        d = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, OSError) as e:
        raise EmgwatchError(
            f"{path}: unreadable calibration ({e}); run 'emgwatch calibrate' again"
        ) from None
    try:
        chans = {k: ChannelCalibration(**v) for k, v in d["channels"].items()}
        return Calibration(
            device_id=d["device_id"], created=d["created"], fs_hz=float(d["fs_hz"]), channels=chans
        )
    except (KeyError, TypeError) as e:
        raise EmgwatchError(
            f"{path}: calibration file lacks {e}; run 'emgwatch calibrate' again"
        ) from None


def synthetic_session(
    fs: float, n_channels: int, *, rest_s: float, mvc_s: float, n_mvc: int, seed: int = 0
):
    """A simulated person following the prompts: rest, then n contractions with rests between.

    Returns (samples (n, ch), phase per sample). Used by `calibrate --source sim` and tests.
    """
    from scipy import signal as sps

    from emgwatch.synth.signal import bandpass_sos
    from emgwatch.synth.stream import check_rate

    check_rate(fs)
    rng = np.random.default_rng(seed)
    parts, phases = [], []
    noise_uv = rng.uniform(1.0, 4.0, n_channels)
    mvc_uv = rng.uniform(150.0, 900.0, n_channels)
    plan = [("rest", rest_s)] + [p for _ in range(n_mvc) for p in (("mvc", mvc_s), ("relax", 4.0))]
    for name, dur in plan:
        n = int(dur * fs)
        level = mvc_uv if name == "mvc" else noise_uv * 0.3
        ramp = (
            np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.3 * fs))
            if name == "mvc"
            else np.ones(n)
        )
        parts.append(rng.standard_normal((n, n_channels)) * level * ramp[:, None])
        phases.append(np.full(n, name))
    x = np.concatenate(parts)
    sos = bandpass_sos(fs, 90.0, 3.0, 2)
    x = sps.sosfilt(sos, x, axis=0) + rng.standard_normal(x.shape) * noise_uv
    return x, np.concatenate(phases)
