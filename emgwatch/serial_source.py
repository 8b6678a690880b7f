"""Samples from a board on a serial port: emgwatch firmware frames, or text lines from any sketch.

The source is the one place that deals with real cables, so it owns their failure modes: a port
that is missing or busy, a board running other firmware, line noise, an unplug in the middle of
the night. A background thread does all port I/O (open, handshake, read, reconnect with
back-off) and hands finished :class:`~emgwatch.block.Block` objects over a queue, so ``read``
never waits longer than its timeout whatever the port does.

Time comes from sample counts, not from the host clock: with the firmware protocol every frame
has a sequence number, so ``t0`` of a block is exact even after lost frames (``gap_before``
marks them). Only across a reconnect, when no count can say how long the board was away, the
host's monotonic clock places the new stream (and the first block after it has ``gap_before``).
"""

from __future__ import annotations

import errno
import logging
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import serial
import serial.tools.list_ports

from emgwatch import protocol as P
from emgwatch.block import Block
from emgwatch.config import Config
from emgwatch.errors import EmgwatchError, UsageError

log = logging.getLogger(__name__)

PROTOCOLS = ("auto", "frames", "text")

# USB serial bridges found on Arduino-class boards: (VID, PID or None for any) -> what it is.
KNOWN_USB_IDS: dict[tuple[int, int | None], str] = {
    (0x2341, None): "Arduino",
    (0x2A03, None): "Arduino (arduino.org)",
    (0x1A86, 0x7523): "CH340 USB serial (Nano clones)",
    (0x1A86, 0x5523): "CH341 USB serial",
    (0x1A86, 0x55D4): "CH9102 USB serial",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x0403, 0x6010): "FTDI FT2232",
    (0x0403, 0x6014): "FTDI FT232H",
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x067B, 0x2303): "Prolific PL2303",
}


@dataclass(frozen=True)
class PortCandidate:
    device: str
    vid: int | None
    pid: int | None
    description: str
    board: str  # what the VID:PID says, "" when unknown

    @property
    def vid_pid(self) -> str:
        return (
            f"{self.vid:04X}:{self.pid:04X}"
            if self.vid is not None and self.pid is not None
            else "-"
        )


def board_kind(vid: int | None, pid: int | None) -> str:
    if vid is None:
        return ""
    return KNOWN_USB_IDS.get((vid, pid)) or KNOWN_USB_IDS.get((vid, None)) or ""


def list_ports(*, only_boards: bool = False) -> list[PortCandidate]:
    """Serial ports, likely boards first (known USB bridge), then other USB, then the rest."""
    found = []
    for p in serial.tools.list_ports.comports():
        c = PortCandidate(p.device, p.vid, p.pid, p.description or "", board_kind(p.vid, p.pid))
        if only_boards and not c.board:
            continue
        found.append(c)
    return sorted(found, key=lambda c: (not c.board, c.vid is None, c.device))


def find_board() -> str | None:
    """The port of the most likely board, or None."""
    boards = list_ports(only_boards=True)
    return boards[0].device if boards else None


class PortError(EmgwatchError):
    """The port cannot be used (missing, busy, no permission) or the board did not answer."""


class _NoAnswer(PortError):
    """Nothing that looks like the emgwatch firmware answered the identify command."""


def _open_error(port: str, e: Exception) -> PortError:
    code = getattr(e, "errno", None)
    text = str(e)
    if code == errno.ENOENT or "No such file" in text:
        why = "no such port (is the board plugged in? 'emgwatch ports' lists candidates)"
    elif code == errno.EBUSY or "exclusively lock" in text or "Device or resource busy" in text:
        why = "port is busy (another program, e.g. an Arduino serial monitor, has it open)"
    elif code == errno.EACCES or "Permission denied" in text:
        why = "permission denied (on Linux add yourself to the 'dialout' group and log in again)"
    else:
        why = f"cannot open port ({text})"
    return PortError(f"{port}: {why}")


class SerialSource:
    """A board on a serial port as a pipeline source (see docs/ARCHITECTURE.md, Sources).

    ``protocol``: "frames" expects the emgwatch firmware; "text" reads numbers, one sample per
    line (its rate is measured over ``measure_s`` unless ``fs`` is given); "auto" tries the
    firmware handshake first and falls back to text if numeric lines arrive instead.
    ``fs`` and ``channel_names`` (their count is the channel count), when given, are configured
    on the board; otherwise the board's own settings are used. With ``cfg`` they default to
    ``device.fs_hz`` / ``device.channels`` and the baud rate to ``source.baudrate``, so ``fs`` and
    ``channel_names`` are right before ``start()`` (a text sketch's measured rate may differ; it
    is logged).

    ``status`` is "idle", "streaming", "stopped", or a problem ("connecting ...",
    "disconnected: <why>; reconnecting"); ``detail`` describes the connection.
    """

    units = "adc"  # raw 0..1023 counts
    sensor = "auto"  # the board cannot tell raw EMG from an envelope; the detector can

    def __init__(
        self,
        port: str = "auto",
        *,
        cfg: Config | None = None,
        baudrate: int | None = None,
        fs: float | None = None,
        protocol: str = "auto",
        channel_names: list[str] | None = None,
        handshake_timeout_s: float = 3.0,
        measure_s: float = 2.0,
        reconnect: bool = True,
        backoff_s: tuple[float, float] = (0.5, 8.0),
        stall_s: float = 2.0,
    ):
        self._fs_given = fs  # an explicit rate: text lines are not measured
        if cfg is not None:
            baudrate = baudrate or cfg.source.baudrate
            fs = fs or cfg.device.fs_hz
            channel_names = channel_names or list(cfg.device.channels)
        if protocol not in PROTOCOLS:
            raise UsageError(
                f"serial protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}"
            )
        if (
            channel_names is not None
            and not 1 <= len(channel_names) <= P.MAX_CHANNELS
            and protocol != "text"
        ):
            raise UsageError(
                f"the board samples 1 to {P.MAX_CHANNELS} channels, got {len(channel_names)} names"
            )
        self.port = port
        self.baudrate = baudrate or P.BAUDRATE_DEFAULT
        self.protocol = protocol
        self.handshake_timeout_s = handshake_timeout_s
        self.measure_s = measure_s
        self.reconnect = reconnect
        self.backoff_s = backoff_s
        self.stall_s = stall_s
        self._requested_fs = fs
        self._requested_names = list(channel_names) if channel_names else None
        self.fs: float = float(fs) if fs else 0.0
        self.channel_names: list[str] = list(channel_names) if channel_names else []
        self.status = "idle"
        self.detail = ""
        self.start_time: float | None = None  # wall clock (Unix s) of stream time 0
        self.board: P.BoardInfo | None = None
        self.reconnects = 0
        self._mode = protocol  # becomes "frames" or "text" after the first connection
        self._ser: serial.Serial | None = None
        self._device = ""
        self._decoder = P.FrameDecoder()
        self._text = P.TextLineDecoder()
        self._queue: queue.Queue[Block] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t_offset = 0.0  # session time of sample index 0 of the current connection
        self._t_end = 0.0  # session time just after the last sample delivered
        self._mono0 = 0.0
        self._gap_next = False
        self._text_rows = 0
        self._pending: list[P.DecodedChunk] = []
        self._pending_rows: list[np.ndarray] = []
        self._problem = ""
        self._fs_fixed = False

    # --- Source interface ---------------------------------------------------------------------
    def start(self) -> None:
        """Connect and hand-shake now (so ``fs`` and ``channel_names`` are known), then stream.

        Raises :class:`PortError` with one clear line if the port is missing or busy or the board
        does not answer; later failures are handled by reconnecting in the background.
        """
        if self._thread is not None:
            return
        self._mono0 = time.monotonic()
        self.start_time = time.time()
        self._stop.clear()
        self._connect()
        self._thread = threading.Thread(
            target=self._run, name=f"serial {self._device}", daemon=True
        )
        self._thread.start()

    def read(self, timeout_s: float) -> list[Block]:
        """Blocks received so far; waits at most ``timeout_s`` for the first one."""
        out = []
        try:
            out.append(
                self._queue.get(timeout=max(timeout_s, 0.0))
                if timeout_s > 0
                else self._queue.get_nowait()
            )
            while True:
                out.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return out

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close(stop_board=True)
        self.status = "stopped"

    @property
    def stats(self) -> dict[str, int]:
        d = (
            self._decoder.stats.as_dict()
            if self._mode != "text"
            else {
                "lines": self._text.stats.lines,
                "bad_lines": self._text.stats.bad_lines,
                "bytes_in": self._text.stats.bytes_in,
            }
        )
        d["reconnects"] = self.reconnects
        return d

    # --- connection -----------------------------------------------------------------------------
    def _connect(self, problem: str = "") -> None:
        device = self.port
        if device == "auto":
            found = find_board()
            if found is None:
                raise PortError(
                    "no board found: no USB serial port with a known Arduino/CH340/FTDI/CP210x "
                    "VID:PID ('emgwatch ports' lists all ports; give the port explicitly)"
                )
            device = found
        self._device = device
        self.status = (
            f"disconnected: {problem}; reconnecting {device}" if problem else f"connecting {device}"
        )
        try:
            ser = serial.Serial(
                device, self.baudrate, timeout=0.05, write_timeout=1.0, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as e:
            raise _open_error(device, e) from None
        self._ser = ser
        try:
            try:
                mode = self._handshake(ser)
            except _NoAnswer:
                if ser.baudrate == P.BAUDRATE_DEFAULT:
                    raise
                log.warning(
                    "%s: no answer at %d baud, trying the firmware's %d baud",
                    device,
                    ser.baudrate,
                    P.BAUDRATE_DEFAULT,
                )
                ser.baudrate = P.BAUDRATE_DEFAULT
                mode = self._handshake(ser)
                log.warning(
                    "%s: the board answered at %d baud; set source.baudrate = %d in the config",
                    device,
                    P.BAUDRATE_DEFAULT,
                    P.BAUDRATE_DEFAULT,
                )
        except (serial.SerialException, OSError) as e:
            self._close(stop_board=False)
            raise PortError(f"{device}: connection lost during the handshake ({e})") from None
        except Exception:
            self._close(stop_board=False)
            raise
        self._mode = mode
        if mode == "frames":
            b = self.board
            assert b is not None
            self.detail = (
                f"{device}: {b.rate_hz} Hz, {b.n_channels} ch, "
                f"firmware {b.firmware_version[0]}.{b.firmware_version[1]}, {ser.baudrate} baud"
            )
        else:
            how = "given" if self._fs_given else "measured"
            self.detail = (
                f"{device}: text lines, {self.fs:.1f} Hz ({how}), {len(self.channel_names)} ch"
            )
        self.status = "streaming"
        log.info("streaming from %s", self.detail)

    def _handshake(self, ser: serial.Serial) -> str:
        """Talk to the board until it streams; returns "frames" or "text"."""
        dec = P.FrameDecoder()
        text = P.TextLineDecoder()
        deadline = time.monotonic() + self.handshake_timeout_s
        next_ask = 0.0
        asks = 0
        info = None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self._mode != "text" and now >= next_ask:
                # boards with auto-reset sit in their bootloader for a while: ask again
                ser.write(P.encode_command(P.CMD_STOP) + P.encode_command(P.CMD_IDENTIFY))
                asks += 1
                next_ask = now + 0.25 * 2 ** min(asks, 3)
            data = self._read_some(ser)
            if not data:
                continue
            dec.feed(data)
            if self._mode != "frames":
                text.feed(data)
            idents = [i for i in dec.infos if i.command == P.CMD_IDENTIFY]
            if idents:
                info = idents[-1]
                break
            if self._mode != "frames" and text.stats.lines >= 5 and not dec.stats.frames:
                return self._start_text(ser)
        if info is None:
            if self._mode == "text":
                raise PortError(
                    f"{self._device}: no numeric text lines within {self.handshake_timeout_s:.0f} s "
                    f"(is the sketch printing one value per line at {self.baudrate} baud?)"
                )
            raise _NoAnswer(
                f"{self._device}: no answer from emgwatch firmware within {self.handshake_timeout_s:.0f} s "
                f"({dec.stats.bytes_in} bytes received; wrong firmware, or baud rate not {ser.baudrate}?)"
            )
        if info.firmware_version[0] != P.FIRMWARE_VERSION[0]:
            raise PortError(
                f"{self._device}: board runs emgwatch firmware {info.firmware_version[0]}."
                f"{info.firmware_version[1]}, this host needs {P.FIRMWARE_VERSION[0]}.x (reflash it)"
            )
        rate = (
            int(self._requested_fs)
            if self._requested_fs
            else (int(self.fs) if self.fs else info.rate_hz)
        )
        n_ch = (
            len(self._requested_names)
            if self._requested_names
            else (len(self.channel_names) or info.n_channels)
        )
        if rate != info.rate_hz:
            info = self._command(ser, dec, P.CMD_RATE, rate)
        if n_ch != info.n_channels:
            info = self._command(ser, dec, P.CMD_CHANNELS, n_ch)
        if rate != info.rate_hz or n_ch != info.n_channels:
            raise PortError(
                f"{self._device}: board refused {n_ch} channels at {rate} Hz "
                f"(rate must divide {P.TIMER_CLOCK_HZ} Hz, rate x channels <= {P.MAX_CONVERSIONS_PER_S})"
            )
        # from here on every data frame belongs to the new stream, which starts at sequence 0
        self._decoder.reset_stream(expect_seq0=True, discard_buffer=True)
        self._decoder.infos.clear()
        ser.write(P.encode_command(P.CMD_START))
        deadline = time.monotonic() + self.handshake_timeout_s
        while time.monotonic() < deadline:
            data = self._read_some(ser)
            if data:
                self._pending += self._decoder.feed(data)
                started = [i for i in self._decoder.infos if i.command == P.CMD_START]
                if started and started[-1].streaming:
                    break
        else:
            raise PortError(f"{self._device}: board did not confirm the start command")
        self._decoder.infos.clear()
        self.board = info
        self.fs = float(info.rate_hz)
        if not self.channel_names or len(self.channel_names) != info.n_channels:
            self.channel_names = self._requested_names or [
                f"ch{i + 1}" for i in range(info.n_channels)
            ]
        return "frames"

    def _start_text(self, ser: serial.Serial) -> str:
        """Text lines: measure the line rate (no timing in the data) unless fs was given."""
        self._text = P.TextLineDecoder()
        rows, first_t, last_t, first_n = 0, None, None, 0
        end = time.monotonic() + (0 if self._fs_given else self.measure_s)
        pending: list[np.ndarray] = []
        while True:
            data = self._read_some(ser)
            now = time.monotonic()
            if data:
                r = self._text.feed(data)
                if len(r):
                    pending.append(r)
                    if first_t is None:
                        first_t, first_n = now, len(r)
                    last_t = now
                    rows += len(r)
            if now >= end and (self._fs_given or rows > first_n + 1):
                break
            if now >= end + self.handshake_timeout_s:
                raise PortError(f"{self._device}: text lines stopped while measuring their rate")
        if self._fs_given:
            fs = float(self._fs_given)
        else:
            assert first_t is not None and last_t is not None
            fs = (rows - first_n) / (last_t - first_t)
            log.info(
                "%s: measured %.1f lines/s from %d lines over %.2f s",
                self._device,
                fs,
                rows,
                last_t - first_t,
            )
        if not self._fs_fixed:  # a reconnect keeps the rate of the first connection
            if self.fs and abs(fs / self.fs - 1) > 0.02:
                log.warning(
                    "%s: the text sketch sends %.1f lines/s, not the configured %.0f Hz; using %.1f Hz",
                    self._device,
                    fs,
                    self.fs,
                    fs,
                )
            self.fs = round(fs, 1)
            self._fs_fixed = True
        cols = self._text.stats.columns
        if not self.channel_names or len(self.channel_names) != cols:
            self.channel_names = (
                self._requested_names
                if self._requested_names and len(self._requested_names) == cols
                else [f"ch{i + 1}" for i in range(cols)]
            )
        self._text_rows = 0
        self._pending_rows = pending
        return "text"

    def _command(self, ser: serial.Serial, dec: P.FrameDecoder, cmd: str, arg: int) -> P.BoardInfo:
        dec.infos.clear()
        ser.write(P.encode_command(cmd, arg))
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            data = self._read_some(ser)
            if data:
                dec.feed(data)
                for info in dec.infos:
                    if info.command == cmd:
                        if not info.ok:
                            raise PortError(
                                f"{self._device}: board answered '{info.result_name}' to {cmd}{arg}"
                            )
                        return info
        raise PortError(f"{self._device}: board did not answer the command {cmd}{arg}")

    def _read_some(self, ser: serial.Serial) -> bytes:
        if self._stop.is_set():
            raise PortError(f"{self._device}: stopped")
        return ser.read(ser.in_waiting or 1)

    def _close(self, *, stop_board: bool) -> None:
        ser, self._ser = self._ser, None
        if ser is None:
            return
        try:
            if stop_board and self._mode == "frames":
                ser.write(P.encode_command(P.CMD_STOP))
                ser.flush()
        except (serial.SerialException, OSError):
            pass
        try:
            ser.close()
        except (serial.SerialException, OSError):
            pass

    # --- background thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # noqa: BLE001 - a bug must not leave a silent "streaming" source
            self.status = f"failed: {e.__class__.__name__}: {e}"
            log.exception("serial source thread failed")
            self._close(stop_board=False)

    def _loop(self) -> None:
        self._emit_pending()
        last_warning = ""
        last_data = time.monotonic()
        backoff = self.backoff_s[0]
        while not self._stop.is_set():
            ser = self._ser
            if ser is None:
                if not self.reconnect:
                    return
                if self._stop.wait(backoff):
                    return
                try:
                    self._reconnect()
                except EmgwatchError as e:
                    if self._stop.is_set():
                        return
                    backoff = min(backoff * 2, self.backoff_s[1])
                    self.status = f"disconnected: {e}; retrying in {backoff:.1f} s"
                    # one line per new problem, not one per retry all night long
                    (log.warning if str(e) != last_warning else log.debug)("%s", self.status)
                    last_warning = str(e)
                    continue
                last_warning = ""
                backoff = self.backoff_s[0]
                last_data = time.monotonic()
                continue
            try:
                data = self._read_some(ser)
            except PortError:  # stop() was called
                return
            except (serial.SerialException, OSError, TypeError, AttributeError) as e:
                self._lost(f"{self._device}: connection lost ({e.__class__.__name__}: {e})")
                continue
            now = time.monotonic()
            if not data:
                if now - last_data > self.stall_s:
                    self._lost(
                        f"{self._device}: no data for {self.stall_s:.1f} s (board reset or hung?)"
                    )
                continue
            last_data = now
            if self._mode == "text":
                rows = self._text.feed(data)
                if len(rows):
                    self._emit_rows(rows)
            else:
                for chunk in self._decoder.feed(data):
                    self._emit_chunk(chunk)

    def _lost(self, why: str) -> None:
        self._close(stop_board=False)
        self._problem = why
        self.status = (
            f"disconnected: {why}; reconnecting" if self.reconnect else f"disconnected: {why}"
        )
        log.warning("%s", self.status)

    def _reconnect(self) -> None:
        self._t_offset = max(self._t_end, time.monotonic() - self._mono0)
        self._gap_next = True
        self._connect(problem=self._problem)
        self.reconnects += 1
        self._emit_pending()

    def _emit_pending(self) -> None:
        chunks, self._pending = self._pending, []
        for c in chunks:
            self._emit_chunk(c)
        rows, self._pending_rows = self._pending_rows, []
        for r in rows:
            self._emit_rows(r)

    def _emit_chunk(self, chunk: P.DecodedChunk) -> None:
        t0 = self._t_offset + chunk.sample_index / self.fs
        self._put(
            Block(t0, self.fs, chunk.samples.astype(np.float64), chunk.gap_before or self._gap_next)
        )

    def _emit_rows(self, rows: np.ndarray) -> None:
        if rows.shape[1] != len(self.channel_names):
            return
        t0 = self._t_offset + self._text_rows / self.fs
        self._text_rows += len(rows)
        self._put(Block(t0, self.fs, rows, self._gap_next))

    def _put(self, block: Block) -> None:
        self._gap_next = False
        self._t_end = block.t_end
        self._queue.put(block)
