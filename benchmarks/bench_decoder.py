"""Frame decoder throughput on one core, as a multiple of the 4-channel 1 kHz stream it must keep up with.

Encodes N seconds of 4-channel 1 kHz random 10-bit samples (the firmware's default frame size),
then feeds the byte stream to ``FrameDecoder`` in reads of the sizes a serial port returns
(a few hundred bytes to 64 KiB), once clean and once with 1 % of frames corrupted, and reports
samples/s and the speed-up over real time (target: >= 100x).

    .venv/bin/python benchmarks/bench_decoder.py --seconds 600
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emgwatch import protocol as P


def _stream(seconds: float, n_channels: int, fs: int, seed: int = 0) -> tuple[np.ndarray, bytes]:
    x = (
        np.random.default_rng(seed)
        .integers(0, 1024, (int(seconds * fs), n_channels))
        .astype(np.uint16)
    )
    enc = P.FrameEncoder(n_channels, P.SAMPLES_PER_FRAME_DEFAULT)
    return x, enc.encode(x) + enc.flush()


def _corrupt(stream: bytes, fraction: float, seed: int = 1) -> bytes:
    frame = P.data_frame_size(4, P.SAMPLES_PER_FRAME_DEFAULT)
    b = bytearray(stream)
    rng = np.random.default_rng(seed)
    hits = rng.choice(len(b) // frame, int(len(b) // frame * fraction), replace=False)
    for k in hits:
        b[k * frame + rng.integers(0, frame)] ^= 0x10
    return bytes(b)


def _decode(stream: bytes, read_size: int) -> tuple[float, int, P.DecoderStats]:
    dec = P.FrameDecoder()
    n = 0
    t = time.perf_counter()
    for i in range(0, len(stream), read_size):
        for c in dec.feed(stream[i : i + read_size]):
            n += len(c.samples)
    return time.perf_counter() - t, n, dec.stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seconds", type=float, default=600.0, help="seconds of 4 ch x 1 kHz to decode"
    )
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args()
    fs, ch = 1000, 4
    x, stream = _stream(args.seconds, ch, fs)
    real_rate = (
        P.data_frame_size(ch, P.SAMPLES_PER_FRAME_DEFAULT) * fs / P.SAMPLES_PER_FRAME_DEFAULT
    )
    print(
        f"{args.seconds:.0f} s of {ch} ch x {fs} Hz: {len(stream)} bytes ({real_rate:.0f} B/s on the wire)"
    )
    print(
        f"{'input':<10} {'read size':>9} {'samples/s':>12} {'MB/s':>7} {'x real time':>12}  stats"
    )
    for label, data in (("clean", stream), ("1% corrupt", _corrupt(stream, 0.01))):
        for read_size in (256, 4096, 65536):
            best = min((_decode(data, read_size) for _ in range(args.repeat)), key=lambda r: r[0])
            secs, n, st = best
            speed = n / secs / fs  # signal seconds per wall second
            print(
                f"{label:<10} {read_size:>9} {n / secs:>12,.0f} {len(data) / secs / 1e6:>7.2f} {speed:>11,.0f}x"
                f"  frames={st.frames} lost={st.lost_frames} crc_errors={st.crc_errors} skipped={st.bytes_skipped}"
            )
    enc = P.FrameEncoder(ch)
    t = time.perf_counter()
    enc.encode(x)
    secs = time.perf_counter() - t
    print(f"encoder: {len(x) / secs:,.0f} samples/s ({len(x) / secs / fs:,.0f}x real time)")


if __name__ == "__main__":
    main()
