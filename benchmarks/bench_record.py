"""CPU cost of the overnight record (EDF+ recorder + SQLite episode log) at live block sizes.

Feeds N seconds of 1 kHz signal in 20-sample blocks (50 blocks/s, what a serial source delivers)
as fast as possible, with an episode start/end every 10 s and a quality event every 60 s (far
more than a real night), and reports CPU time per second of signal = share of one core.
fsync waits are I/O, not CPU; wall time is shown too.

    .venv/bin/python benchmarks/bench_record.py --seconds 1800 --channels 2

With ``--night HOURS --out DIR`` it instead records a generated night the way ``emgwatch run``
would (synth stream -> Detector -> episode log + EDF+ recorder, at full speed) and times
``emgwatch report SESSION`` on it:

    .venv/bin/python benchmarks/bench_record.py --night 8 --out /tmp/night8
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from emgwatch.block import Block
from emgwatch.episodes import Episode, EpisodeEvent
from emgwatch.sinks.edf_recorder import EdfRecorder
from emgwatch.sinks.episode_log import EpisodeLog


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=1800.0, help="signal seconds to record")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--fs", type=float, default=1000.0)
    ap.add_argument("--block", type=int, default=20, help="samples per block")
    ap.add_argument("--no-fsync", action="store_true")
    ap.add_argument("--night", type=float, metavar="HOURS", help="record a generated night instead")
    ap.add_argument("--out", metavar="DIR", default="night-session", help="where --night writes")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.night:
        record_night(args.night, Path(args.out), args.channels, args.fs, args.seed)
        return

    fs, n_ch, blk = args.fs, args.channels, args.block
    rng = np.random.default_rng(0)
    pool = np.clip(np.rint(512 + rng.normal(0, 60, (int(fs) * 10, n_ch))), 0, 1023)
    n_blocks = int(args.seconds * fs / blk)
    start = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        elog = EpisodeLog(Path(tmp) / "episodes.sqlite")
        elog.open_session("bench", start, "sleep", "bench")
        rec = EdfRecorder(
            Path(tmp) / "rec",
            fs,
            [f"ch{i + 1}" for i in range(n_ch)],
            start,
            fsync=not args.no_fsync,
            on_file=elog.add_recording,
        )
        sinks = (elog, rec)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        next_event, n_events, ep = 10.0, 0, None
        for b in range(n_blocks):
            i0 = (b * blk) % len(pool)
            t0 = b * blk / fs
            rec.write(Block(t0, fs, pool[i0 : i0 + blk]))
            if t0 >= next_event:
                if ep is None:
                    ep = Episode("plm", "ch1", t0 - 0.5, confidence=0.8, level_db=12.0)
                    ev = EpisodeEvent("start", ep, t0)
                else:
                    ev = EpisodeEvent(
                        "end", Episode("plm", "ch1", ep.start, t0, 0.9, 14.0, id=ep.id), t0
                    )
                    ep = None
                for s in sinks:
                    s.handle(ev)
                n_events += 1
                if int(t0) % 60 == 0:
                    qe = SimpleNamespace(
                        t=t0, channel="ch1", kind="saturation", active=bool(int(t0) % 120)
                    )
                    for s in sinks:
                        s.handle_quality(qe)
                next_event += 5.0
        rec.close()
        elog.close_session(datetime.now(UTC))
        elog.close()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        size = sum(p.stat().st_size for p in rec.files)
    per_s = cpu / args.seconds
    print(
        f"{args.seconds:.0f} s of {fs:.0f} Hz x {n_ch} ch in {blk}-sample blocks, "
        f"{n_events} episode events, fsync={'off' if args.no_fsync else 'on'}"
    )
    print(f"CPU {cpu:.2f} s, wall {wall:.2f} s -> {100 * per_s:.3f} % of one core in real time")
    print(
        f"EDF+ bytes: {size} = {size / args.seconds:.0f} B/s -> {size / args.seconds * 8 * 3600 / 1e6:.0f} MB per 8-h night"
    )


def record_night(hours: float, out: Path, n_ch: int, fs: float, seed: int) -> None:
    """A live session at full speed: what a night with the sensor on leaves behind."""
    from emgwatch.detector import Detector
    from emgwatch.report import make_report, night_from_session
    from emgwatch.synth import stream

    s = stream("night", hours * 3600.0, fs, seed, channels=n_ch)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "episodes.sqlite"
    elog = EpisodeLog(db)
    det = Detector(s.fs, s.channel_names, context="sleep")
    sid = elog.open_session("sim-night", s.start_time, "sleep", det.model_version)
    rec = EdfRecorder(
        out / "recordings",
        s.fs,
        s.channel_names,
        s.start_time,
        units=s.units,
        sensor=s.sensor,
        on_file=elog.add_recording,
    )
    t_det = t_sinks = 0.0
    t_all = time.perf_counter()
    i = 0
    for chunk in s.chunks(int(s.fs)):  # 1-s blocks
        block = Block(i / s.fs, s.fs, chunk)
        i += len(chunk)
        t = time.perf_counter()
        events = det.push(block)
        t_det += time.perf_counter() - t
        t = time.perf_counter()
        rec.write(block)
        for ev in events:
            elog.handle(ev)
            rec.handle(ev)
        for qe in det.quality_events:  # as LiveSession does: lead-off, clipping... logged too
            elog.handle_quality(qe)
            rec.handle_quality(qe)
        det.quality_events.clear()
        t_sinks += time.perf_counter() - t
    for ev in det.flush():
        elog.handle(ev)
        rec.handle(ev)
    for qe in det.quality_events:
        elog.handle_quality(qe)
        rec.handle_quality(qe)
    rec.close()
    elog.close_session(s.start_time + timedelta(seconds=i / s.fs))
    elog.close()
    print(
        f"session {sid}: {hours:g} h x {len(s.channel_names)} ch recorded in "
        f"{time.perf_counter() - t_all:.0f} s (detector {t_det:.0f} s, log+recorder {t_sinks:.1f} s); "
        f"{len(s.truth.episodes)} true episodes; files {[p.name for p in rec.files]}"
    )
    t = time.perf_counter()
    night = night_from_session(db, sid)
    html, js = make_report(night, out / "report.html")
    print(
        f"report of session {sid}: {len(night.episodes)} episodes, {time.perf_counter() - t:.1f} s -> {html}, {js}"
    )


if __name__ == "__main__":
    main()
