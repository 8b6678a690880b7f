from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from emgwatch.config import Config, arg_contractions, arg_name, arg_positive_seconds

HELP = "guided rest + maximal-contraction calibration (levels in %%MVC)"
DESCRIPTION = """\
Guided calibration: 30 s of complete rest, then a few maximal voluntary contractions (MVC)
with short rests between. The result is stored per device and channel
(<storage dir>/calibration/<device id>.json) and lets emgwatch report episode levels as %MVC.
Detection does not need it: it always works relative to each channel's own resting baseline.

Follow the prompts on the terminal. With a simulated source ('--source sim') a simulated
person follows the prompts, which is useful to try the flow.

examples:
  emgwatch calibrate --source serial:auto
  emgwatch calibrate --source sim --rest 10 --contractions 2
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", help="serial:PORT|auto or sim (default: the configured source)")
    p.add_argument(
        "--device-id",
        type=arg_name,
        help="device id to store the calibration under (default: config)",
    )
    p.add_argument(
        "--rest",
        type=arg_positive_seconds,
        default=30.0,
        metavar="S",
        help="rest phase length in seconds (default 30)",
    )
    p.add_argument(
        "--contractions",
        type=arg_contractions,
        default=3,
        metavar="N",
        help="number of MVCs (default 3)",
    )
    p.add_argument(
        "--hold",
        type=arg_positive_seconds,
        default=5.0,
        metavar="S",
        help="length of each MVC in seconds (default 5)",
    )


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _from_source(
    spec: str, cfg: Config, args
) -> tuple[np.ndarray, np.ndarray, float, list[str], str]:
    """Prompt the person and record each phase from a live source; also the sensor type to read
    it as (as ``run`` reads a source)."""
    from emgwatch.domain import sensor_to_read
    from emgwatch.source import open_source

    src = open_source(spec, cfg, speed=1.0)
    src.start()
    chunks, phases = [], []
    plan = [("rest", args.rest, f"Relax the muscle completely for {args.rest:g} s ...")]
    for i in range(args.contractions):
        plan.append(
            (
                "mvc",
                args.hold,
                f"Contraction {i + 1}/{args.contractions}: contract AS HARD AS YOU CAN for {args.hold:g} s!",
            )
        )
        plan.append(("relax", 5.0, "Relax."))
    try:
        for phase, dur, prompt in plan:
            _say(prompt)
            t_end = time.monotonic() + dur
            while time.monotonic() < t_end:
                for b in src.read(0.1):
                    chunks.append(b.data)
                    phases.append(np.full(b.n_samples, phase))
                if src.status in ("ended", "stopped"):
                    break
    finally:
        src.stop()
    if not chunks:
        from emgwatch.errors import EmgwatchError

        raise EmgwatchError(f"calibration: no samples from {spec} (status: {src.status})")
    return (
        np.concatenate(chunks),
        np.concatenate(phases),
        src.fs,
        list(src.channel_names),
        sensor_to_read(getattr(src, "sensor", None), cfg.detection.sensor),
    )


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.calibration import (
        calibration_path,
        save_calibration,
        summarise,
        synthetic_session,
    )
    from emgwatch.detector import LEVEL_FEATURE
    from emgwatch.mixed_sensors import extract_mixed_features

    spec = args.source or cfg.source.spec
    device = args.device_id or cfg.device.id
    if spec.split(":")[0] == "sim":
        fs, names = cfg.device.fs_hz, list(cfg.device.channels)
        _say(
            f"simulated person: {args.rest:g} s rest, {args.contractions} x {args.hold:g} s maximal contraction"
        )
        x, phase = synthetic_session(
            fs, len(names), rest_s=args.rest, mvc_s=args.hold, n_mvc=args.contractions
        )
        sensor = "raw"  # the simulated person wears a raw sensor, whatever the config says
    else:
        x, phase, fs, names, sensor = _from_source(spec, cfg, args)
    # the detector's own reading of each channel (its sensor type, mains), so that "dB above
    # rest" in an episode and in the calibration mean the same thing
    ff = extract_mixed_features(x, fs, names, sensor=sensor, mains_hz=cfg.detection.mains_hz)
    level = ff.X[:, :, list(ff.names).index(LEVEL_FEATURE)]
    idx = np.clip(np.round(ff.t * fs).astype(int) - 1, 0, len(phase) - 1)
    cal = summarise(level, phase[idx], names, device_id=device, fs_hz=fs)
    path = calibration_path(cfg.storage_dir, device)
    save_calibration(path, cal)
    for name, c in cal.channels.items():
        print(
            f"{name}: MVC {c.mvc_db:.1f} dB above rest ({c.rest_windows} rest / {c.mvc_windows} contraction windows)"
        )
    print(f"saved {path}")
    return 0
