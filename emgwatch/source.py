"""Sources: where live samples come from (simulator, recording replay, serial board).

Every source has the same small lifecycle (like a BrainFlow board): ``start()``, then
``read(timeout_s) -> list[Block]`` until ``status == "ended"``, then ``stop()``. The simulated
and replay sources pace themselves to the wall clock (``speed`` x real time; 0 = as fast as
possible) and deliver the same small Blocks a board would, so nothing downstream can tell them
from the serial source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from emgwatch.block import Block
from emgwatch.config import Config
from emgwatch.domain import sensor_to_read
from emgwatch.errors import EmgwatchError, UsageError
from emgwatch.recording import Recording

log = logging.getLogger(__name__)

BLOCK_S = 0.02  # 20 ms blocks: a board delivers a frame every 10 ms, so this is close to live
DEFAULT_SIM_DURATION_S = 8 * 3600.0
DEFAULT_SIM_SEED = 7


@runtime_checkable
class Source(Protocol):
    fs: float
    channel_names: list[str]
    status: str  # "idle" | "streaming" | "ended" | "stopped" | a problem such as "no data"
    units: str  # "adc" | "uV" | ... (what the EDF+ recorder writes)
    sensor: str  # "raw" | "envelope" | "auto"
    start_time: float | None  # wall clock (Unix s) of stream time 0, set by start()

    def start(self) -> None: ...

    def read(self, timeout_s: float) -> list[Block]: ...

    def stop(self) -> None: ...


class PacedSource:
    """Delivers an array producer at ``speed`` x real time in blocks of ``block_s``.

    ``chunks`` yields consecutive (n, ch) arrays of any size; the pacing is computed from the
    wall clock at ``start()``, so a slow consumer catches up instead of drifting.
    """

    def __init__(
        self,
        chunks: Iterator[np.ndarray],
        fs: float,
        channel_names: list[str],
        *,
        speed: float = 1.0,
        block_s: float = BLOCK_S,
        n_samples: int | None = None,
        units: str = "unknown",
        sensor: str = "auto",
    ) -> None:
        if speed < 0:
            raise UsageError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self.fs = float(fs)
        self.channel_names = list(channel_names)
        self.speed = float(speed)
        self.block_n = max(1, int(round(block_s * self.fs)))
        self.n_samples = n_samples
        self.units = units
        self.sensor = sensor
        self.status = "idle"
        self.start_time: float | None = None
        self._chunks = chunks
        self._buf = np.zeros((0, len(self.channel_names)))
        self._sent = 0  # samples delivered so far
        self._exhausted = False
        self._t_mono0 = 0.0

    def start(self) -> None:
        self.start_time = time.time()
        self._t_mono0 = time.monotonic()
        self.status = "streaming"

    def stop(self) -> None:
        if self.status != "ended":
            self.status = "stopped"

    def _due(self) -> int:
        """Samples the wall clock says should have been delivered by now."""
        if self.speed == 0:
            return self._sent + 50 * self.block_n
        return int((time.monotonic() - self._t_mono0) * self.speed * self.fs)

    def _fill(self, n: int) -> None:
        parts = [self._buf]
        have = self._buf.shape[0]
        while have < n and not self._exhausted:
            try:
                chunk = np.asarray(next(self._chunks), dtype=float)
            except StopIteration:
                self._exhausted = True
                break
            if chunk.ndim == 1:
                chunk = chunk[:, None]
            parts.append(chunk)
            have += chunk.shape[0]
        self._buf = np.concatenate(parts) if len(parts) > 1 else self._buf

    def read(self, timeout_s: float = 0.1) -> list[Block]:
        """Blocks due by now; waits up to ``timeout_s`` for the next one."""
        if self.status != "streaming":
            return []
        deadline = time.monotonic() + timeout_s
        while True:
            limit = self._due()
            if self.n_samples is not None:
                limit = min(limit, self.n_samples)
            n_blocks = (limit - self._sent) // self.block_n
            if self.n_samples is not None and limit >= self.n_samples > self._sent:
                n_blocks = max(n_blocks, 1)  # the last, possibly short, block
            if n_blocks > 0:
                break
            if self._finished():
                self.status = "ended"
                return []
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            next_due = (self._sent + self.block_n) / (self.fs * self.speed)
            wait = next_due - (time.monotonic() - self._t_mono0)
            time.sleep(max(0.001, min(wait, left)))
        self._fill(n_blocks * self.block_n)
        blocks = []
        for _ in range(n_blocks):
            take = self._buf[: self.block_n]
            if take.shape[0] == 0:
                break
            self._buf = self._buf[take.shape[0] :]
            blocks.append(Block(t0=self._sent / self.fs, fs=self.fs, data=take))
            self._sent += take.shape[0]
        if self._finished():
            self.status = "ended"
        return blocks

    def _finished(self) -> bool:
        if self.n_samples is not None and self._sent >= self.n_samples:
            return True
        return self._exhausted and self._buf.shape[0] == 0


class ReplaySource(PacedSource):
    """A recording played back as if a board were sending it now."""

    def __init__(
        self,
        rec: Recording,
        *,
        speed: float = 1.0,
        block_s: float = BLOCK_S,
        duration_s: float | None = None,
    ):
        n = rec.n_samples if duration_s is None else min(rec.n_samples, int(duration_s * rec.fs))
        super().__init__(
            iter([rec.data[:n]]),
            rec.fs,
            rec.channel_names,
            speed=speed,
            block_s=block_s,
            n_samples=n,
            units=rec.units,
            sensor=sensor_to_read(rec.sensor),
        )
        self.recording = rec


class SimulatedSource(PacedSource):
    """The synthetic generator streamed live; ``truth`` is planned up front, for summaries."""

    def __init__(
        self,
        scenario: str = "daily",
        duration_s: float = DEFAULT_SIM_DURATION_S,
        fs: float = 1000.0,
        seed: int = DEFAULT_SIM_SEED,
        *,
        speed: float = 1.0,
        block_s: float = BLOCK_S,
        **params: object,
    ) -> None:
        try:
            from emgwatch.synth import stream
        except ImportError as e:
            raise EmgwatchError(f"the simulator is not available in this build ({e})") from None
        self.stream = stream(scenario, duration_s, fs, seed, **params)
        self.truth = self.stream.truth
        n = int(round(duration_s * self.stream.fs))
        super().__init__(
            self.stream.chunks(max(1, int(round(block_s * self.stream.fs)))),
            self.stream.fs,
            list(self.stream.channel_names),
            speed=speed,
            block_s=block_s,
            n_samples=n,
            units=getattr(self.stream, "units", "unknown"),
            sensor=getattr(self.truth, "sensor", "auto"),
        )
        self.scenario = scenario
        self.seed = seed


def open_source(
    spec: str,
    cfg: Config,
    *,
    speed: float | None = None,
    duration_s: float | None = None,
    fs: float | None = None,
    seed: int | None = None,
    channel_names: list[str] | None = None,
) -> Source:
    """``sim[:scenario]``, ``replay:FILE`` or ``serial:PORT|auto`` -> a source, not yet started.

    ``channel_names`` for a serial board default to ``device.channels`` (which also sets how
    many channels the board samples); pass ``[]`` to take the board's own setting.
    """
    kind, _, arg = spec.partition(":")
    speed = cfg.source.speed if speed is None else speed
    if kind == "sim":
        return SimulatedSource(
            arg or "daily",
            duration_s or DEFAULT_SIM_DURATION_S,
            fs or cfg.device.fs_hz,
            DEFAULT_SIM_SEED if seed is None else seed,
            speed=speed,
        )
    if kind == "replay":
        if not arg:
            raise UsageError("source replay: needs a file, e.g. --source replay:night.edf")
        from emgwatch.recording import read_recording

        if not Path(arg).exists():
            raise UsageError(f"source {spec}: file not found: {arg}")
        return ReplaySource(read_recording(arg, fs=fs), speed=speed, duration_s=duration_s)
    if kind == "serial":
        try:
            from emgwatch.serial_source import SerialSource
        except ImportError:
            raise EmgwatchError("the serial source is not available in this build yet") from None
        return SerialSource(
            arg or "auto",
            baudrate=cfg.source.baudrate,
            fs=fs,
            channel_names=(cfg.device.channels if channel_names is None else channel_names) or None,
        )
    raise UsageError(
        f"unknown source {spec!r} (expected sim[:scenario], replay:FILE or serial:PORT|auto)"
    )


def source_start_time(source: Source) -> float:
    """Wall clock of stream time 0 for any started source (serial sources start streaming at
    the end of their handshake, i.e. when ``start()`` returned)."""
    return getattr(source, "start_time", None) or time.time()
