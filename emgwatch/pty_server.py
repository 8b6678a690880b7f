"""Replay a recording through a pseudo-terminal, speaking the firmware's protocol.

The far end of the pty behaves like a board running the emgwatch firmware (it is driven by
:class:`emgwatch.protocol.BoardEmulator`): it answers identify/start/stop/rate/channel commands
and, once started, streams the recording's samples as 10-bit data frames paced in real time
(or ``speed`` x). So ``emgwatch run --source serial:/dev/pts/N`` exercises exactly the code that
reads a real board: port handling, handshake, frame decoding, gaps.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
import tty
from pathlib import Path

import numpy as np

from emgwatch import protocol as P
from emgwatch.domain import ADC_MAX, ADC_MIDRAIL
from emgwatch.errors import InputError
from emgwatch.recording import Recording

log = logging.getLogger(__name__)

TICK_S = 0.005  # how often the emulated board checks for due samples and host commands
FULL_SCALE = 0.95  # fraction of the ADC range the loudest sample of a non-ADC recording uses


def to_adc_counts(rec: Recording) -> np.ndarray:
    """The recording as the 10-bit counts a board would send (uint16, shape (n, ch)).

    Recordings already in ADC counts pass unchanged; others are scaled per channel so their
    loudest sample nearly fills the range: raw EMG around mid-rail, an envelope from 0.
    The detector works on levels relative to each channel's baseline, so scaling loses nothing.
    """
    x = np.asarray(rec.data, dtype=float)
    if rec.units == "adc":
        return np.clip(np.rint(x), 0, ADC_MAX).astype(np.uint16)
    envelope = rec.sensor == "envelope" or bool(np.nanmin(x) >= 0)
    x = np.nan_to_num(x)
    if envelope:
        peak = np.maximum(np.max(x, axis=0), 1e-12)
        counts = x / peak * (ADC_MAX * FULL_SCALE)
    else:
        centred = x - np.median(x, axis=0)
        peak = np.maximum(np.max(np.abs(centred), axis=0), 1e-12)
        counts = ADC_MIDRAIL + centred / peak * (ADC_MIDRAIL * FULL_SCALE)
    return np.clip(np.rint(counts), 0, ADC_MAX).astype(np.uint16)


class PtyReplay:
    """An emulated board on a new pseudo-terminal; ``path`` is what a serial client opens."""

    def __init__(self, rec: Recording, *, speed: float = 1.0) -> None:
        rate = int(round(rec.fs))
        if abs(rate - rec.fs) > 1e-6 or P.check_settings(rate, rec.n_channels) != P.RESULT_OK:
            raise InputError(
                rec.path or "recording",
                None,
                f"{rec.n_channels} channel(s) at {rec.fs:g} Hz cannot be sent in the board's frame "
                f"format (rate must divide {P.TIMER_CLOCK_HZ} Hz, at most {P.MAX_CHANNELS} channels, "
                f"rate x channels <= {P.MAX_CONVERSIONS_PER_S})",
            )
        if speed <= 0:
            raise InputError(
                rec.path or "recording", None, f"replay speed must be > 0, got {speed}"
            )
        self.recording = rec
        self.speed = float(speed)
        self.counts = to_adc_counts(rec)
        self.board = P.BoardEmulator(rec.n_channels, rate)
        self.finished = threading.Event()  # every sample has been written to the pty
        self.sent = 0
        self.stream_started_at: float | None = None  # wall clock when sample 0 was due
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: a byte pipe like a USB serial port
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._out = bytearray(self.board.boot())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pty-replay", daemon=True)

    def start(self) -> PtyReplay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self) -> None:
        n = self.counts.shape[0]
        stream_t0: float | None = None
        base = 0
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master], [], [], TICK_S)
            if readable:
                try:
                    data = os.read(self._master, 4096)
                except OSError:  # EIO while no client has the pty open
                    data = b""
                if data:
                    self._out += self.board.receive(data)
            if self.board.streaming:
                if stream_t0 is None:  # (re)started: continue the recording where it was
                    stream_t0, base = time.monotonic(), self.sent
                    if self.stream_started_at is None:
                        self.stream_started_at = time.time()
                elapsed = time.monotonic() - stream_t0
                due = min(n, base + int(elapsed * self.speed * self.recording.fs))
                if due > self.sent:
                    chunk = self.counts[self.sent : due]
                    if due == n:  # complete the last frame (a board only sends whole frames)
                        short = -len(chunk) % self.board.samples_per_frame
                        chunk = np.concatenate([chunk, np.repeat(chunk[-1:], short, axis=0)])
                    self._out += self.board.stream(chunk)
                    self.sent = due
                    if self.sent >= n:
                        self.finished.set()
            else:
                stream_t0 = None
            self._write_pending()

    def _write_pending(self) -> None:
        while self._out:
            try:
                k = os.write(self._master, bytes(self._out[:4096]))
            except BlockingIOError:
                return  # the client is not reading; keep the bytes (a real UART would drop them)
            except OSError:
                return
            del self._out[:k]


def start_pty_replay(path: str | Path, *, speed: float = 1.0, fs: float | None = None) -> PtyReplay:
    """Read a recording and start streaming it on a new pty."""
    from emgwatch.recording import read_recording

    rec = read_recording(path, fs=fs)
    return PtyReplay(rec, speed=speed).start()
