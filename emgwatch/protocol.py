"""The emgwatch board protocol on the host side: frame layout, encoder, decoder, text fallback.

``firmware/PROTOCOL.md`` is the prose specification; every number of the frame layout appears in
this module once and the firmware's ``protocol.h`` mirrors them (a test checks the two agree).

Why the decoder looks the way it does: a serial link drops and corrupts bytes, a board may be
plugged in mid-frame, and the host must still know the exact sampling time of every sample. So
every frame carries a sequence number (lost frames become an explicit gap with the right number
of missing samples) and a CRC (corrupt frames are dropped, never delivered). Throughput matters
because a Raspberry Pi-class host also runs the detector: the sync search uses ``bytes.find``,
the CRC runs in C (``binascii.crc_hqx``) and 10-bit unpacking is done for many frames at once
with NumPy — there is no per-byte Python loop.
"""

from __future__ import annotations

import binascii
import logging
import re
import struct
from dataclasses import dataclass, field

import numpy as np

from emgwatch.domain import ADC_BITS

log = logging.getLogger(__name__)

# --- frame layout (firmware/PROTOCOL.md, "Frames") ------------------------------------------
SYNC = b"\xa5\x5a"
PROTOCOL_VERSION = 1
HEADER = struct.Struct("<2sBBHB")  # sync, version, type, sequence, payload length
HEADER_SIZE = HEADER.size  # 7
CRC_SIZE = 2  # CRC-16/XMODEM, little-endian, over version..payload (not the sync)
MAX_PAYLOAD = 255
SEQ_MODULO = 1 << 16

FRAME_DATA = 0x01
FRAME_INFO = 0x02
FRAME_OVERRUN = 0x03
FRAME_TYPES = (FRAME_DATA, FRAME_INFO, FRAME_OVERRUN)

# Data payload: n_channels (u8), samples per channel (u8), then the samples packed 4-in-5 bytes.
DATA_PREFIX_SIZE = 2
PACK_GROUP = 4  # samples per packed group
PACK_BYTES = (
    5  # bytes per packed group: 4 low bytes, then the 2-bit high parts (sample 0 in bits 0-1)
)
MAX_CHANNELS = 4

# Info payload (reply to every command, and sent once at boot).
INFO_MAGIC = b"EMGW"
INFO = struct.Struct(
    "<4sBBHBBBBB"
)  # magic, fw major, fw minor, rate, channels, spf, streaming, command, result
OVERRUN = struct.Struct("<H")  # frames dropped on the board since the previous report

RESULT_OK = 0
RESULT_UNKNOWN_COMMAND = 1
RESULT_BAD_ARGUMENT = 2
RESULT_BUSY = 3
RESULT_NAMES = {
    RESULT_OK: "ok",
    RESULT_UNKNOWN_COMMAND: "unknown command",
    RESULT_BAD_ARGUMENT: "bad argument",
    RESULT_BUSY: "busy (stop streaming first)",
}

# --- commands (host -> board): one ASCII letter, optional decimal argument, then "\n" ----------
CMD_IDENTIFY = "i"
CMD_START = "s"
CMD_STOP = "x"
CMD_RATE = "r"
CMD_CHANNELS = "c"
CMD_BOOT = "\0"  # the "command" echoed in the info frame a board sends after reset

# --- firmware defaults and limits -------------------------------------------------------------
BAUDRATE_DEFAULT = 250000  # exact on a 16 MHz AVR (UBRR 3), unlike 230400 (-3.5 %)
RATE_DEFAULT_HZ = 1000
SAMPLES_PER_FRAME_DEFAULT = 10
TIMER_CLOCK_HZ = 2_000_000  # 16 MHz / 8: a rate must divide it exactly (no drift, no rounding)
RATE_MIN_HZ = 50
RATE_MAX_HZ = 4000
MAX_CONVERSIONS_PER_S = 8000  # rate x channels; bounded by ADC time and by the UART
FIRMWARE_VERSION = (1, 0)  # the firmware this host code was written against


def crc16_xmodem(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0): avr-libc's ``_crc_xmodem_update`` chained from 0."""
    return binascii.crc_hqx(data, 0)


def packed_size(n_values: int) -> int:
    """Bytes taken by ``n_values`` 10-bit samples in the 4-in-5 packing (last group zero-padded)."""
    return -(-n_values // PACK_GROUP) * PACK_BYTES


def data_frame_size(n_channels: int, samples_per_frame: int) -> int:
    """Bytes on the wire of one data frame, for bandwidth planning."""
    return HEADER_SIZE + DATA_PREFIX_SIZE + packed_size(n_channels * samples_per_frame) + CRC_SIZE


def link_load(n_channels: int, rate_hz: float, samples_per_frame: int, baudrate: int) -> float:
    """Fraction of the UART's capacity a stream uses (8N1: 10 bits per byte)."""
    bytes_per_s = data_frame_size(n_channels, samples_per_frame) * rate_hz / samples_per_frame
    return bytes_per_s / (baudrate / 10)


def check_settings(rate_hz: int, n_channels: int) -> int:
    """The result code the firmware gives for a rate/channel combination (RESULT_OK if usable)."""
    if not 1 <= n_channels <= MAX_CHANNELS:
        return RESULT_BAD_ARGUMENT
    if not RATE_MIN_HZ <= rate_hz <= RATE_MAX_HZ or TIMER_CLOCK_HZ % rate_hz:
        return RESULT_BAD_ARGUMENT
    if rate_hz * n_channels > MAX_CONVERSIONS_PER_S:
        return RESULT_BAD_ARGUMENT
    return RESULT_OK


def encode_command(command: str, argument: int | None = None) -> bytes:
    """The bytes the host writes for one command, e.g. ``encode_command(CMD_RATE, 500)``."""
    return (command + ("" if argument is None else str(int(argument))) + "\n").encode("ascii")


# --- packing ----------------------------------------------------------------------------------
_HIGH_SHIFTS = np.array([0, 2, 4, 6], dtype=np.uint8)


def pack10(values: np.ndarray) -> np.ndarray:
    """Pack rows of 10-bit values 4-in-5 bytes; ``values`` (rows, n) -> uint8 (rows, packed_size(n))."""
    rows, n = values.shape
    groups = -(-n // PACK_GROUP)
    v = np.zeros((rows, groups * PACK_GROUP), dtype=np.uint16)
    v[:, :n] = values
    v = v.reshape(rows, groups, PACK_GROUP)
    out = np.empty((rows, groups, PACK_BYTES), dtype=np.uint8)
    out[:, :, :PACK_GROUP] = v & 0xFF
    high = ((v >> 8) & 0x3).astype(np.uint8) << _HIGH_SHIFTS
    out[:, :, PACK_GROUP] = np.bitwise_or.reduce(high, axis=2)
    return out.reshape(rows, groups * PACK_BYTES)


def unpack10(packed: np.ndarray, n_values: int) -> np.ndarray:
    """Inverse of :func:`pack10`: uint8 (rows, packed_size(n)) -> uint16 (rows, n)."""
    rows = packed.shape[0]
    g = packed.reshape(rows, -1, PACK_BYTES)
    vals = g[:, :, :PACK_GROUP].astype(np.uint16)
    vals |= ((g[:, :, PACK_GROUP : PACK_GROUP + 1] >> _HIGH_SHIFTS) & 0x3).astype(np.uint16) << 8
    return vals.reshape(rows, -1)[:, :n_values]


# --- what the decoder yields ------------------------------------------------------------------
@dataclass(frozen=True)
class DecodedChunk:
    """Consecutive samples from one run of frames with no loss inside it.

    ``sample_index`` counts samples per channel since the stream started (seq 0), including the
    samples of frames that were lost, so ``sample_index / fs`` is the exact time of the first row.
    """

    samples: np.ndarray  # (n, channels) uint16 ADC counts
    first_seq: int
    sample_index: int
    gap_before: bool
    n_frames: int

    @property
    def n_channels(self) -> int:
        return int(self.samples.shape[1])


@dataclass(frozen=True)
class BoardInfo:
    """The board's answer to a command (and its announcement after reset)."""

    firmware_version: tuple[int, int]
    rate_hz: int
    n_channels: int
    samples_per_frame: int
    streaming: bool
    command: str
    result: int

    @property
    def ok(self) -> bool:
        return self.result == RESULT_OK

    @property
    def result_name(self) -> str:
        return RESULT_NAMES.get(self.result, f"result {self.result}")


@dataclass
class DecoderStats:
    bytes_in: int = 0
    frames: int = 0  # valid data frames
    info_frames: int = 0
    crc_errors: int = 0
    malformed: int = 0  # CRC correct but contents impossible (e.g. wrong length for the channels)
    lost_frames: int = 0  # sequence gaps, wrap-around aware
    overruns: int = 0  # frames the board reports it had to drop (its buffer was full)
    bytes_skipped: int = 0  # garbage between frames, bytes of corrupt frames, truncated tails

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def encode_info(info: BoardInfo, seq: int = 0) -> bytes:
    payload = INFO.pack(
        INFO_MAGIC,
        info.firmware_version[0],
        info.firmware_version[1],
        info.rate_hz,
        info.n_channels,
        info.samples_per_frame,
        int(info.streaming),
        ord(info.command[:1] or "\0"),
        info.result,
    )
    return _frame(FRAME_INFO, seq, payload)


def encode_overrun(dropped_frames: int, seq: int = 0) -> bytes:
    return _frame(FRAME_OVERRUN, seq, OVERRUN.pack(min(dropped_frames, 0xFFFF)))


def _frame(frame_type: int, seq: int, payload: bytes) -> bytes:
    body = HEADER.pack(SYNC, PROTOCOL_VERSION, frame_type, seq % SEQ_MODULO, len(payload)) + payload
    return body + crc16_xmodem(body[2:]).to_bytes(2, "little")


def _parse_info(payload: bytes) -> BoardInfo | None:
    if len(payload) != INFO.size:
        return None
    magic, major, minor, rate, ch, spf, streaming, cmd, result = INFO.unpack(payload)
    if magic != INFO_MAGIC:
        return None
    return BoardInfo((major, minor), rate, ch, spf, bool(streaming), chr(cmd), result)


class FrameEncoder:
    """Frames sample blocks exactly as the firmware does (tests, ``replay --pty``, emulators).

    Samples that do not fill a whole frame wait for the next ``encode`` call (or ``flush``), so
    any chunking of the input gives the same bytes.
    """

    def __init__(
        self, n_channels: int, samples_per_frame: int = SAMPLES_PER_FRAME_DEFAULT, *, seq: int = 0
    ):
        if not 1 <= n_channels <= MAX_CHANNELS:
            raise ValueError(f"n_channels must be 1..{MAX_CHANNELS}, got {n_channels}")
        if (
            not 1 <= samples_per_frame
            or DATA_PREFIX_SIZE + packed_size(n_channels * samples_per_frame) > MAX_PAYLOAD
        ):
            raise ValueError(
                f"samples_per_frame {samples_per_frame} does not fit a frame with {n_channels} channels"
            )
        self.n_channels = n_channels
        self.samples_per_frame = samples_per_frame
        self.seq = seq % SEQ_MODULO
        self._pending = np.empty((0, n_channels), dtype=np.uint16)

    def encode(self, samples: np.ndarray) -> bytes:
        """Frames for all complete frames in pending + ``samples`` (shape (n, channels), 0..1023)."""
        samples = np.asarray(samples)
        if samples.ndim != 2 or samples.shape[1] != self.n_channels:
            raise ValueError(f"samples must have shape (n, {self.n_channels}), got {samples.shape}")
        if samples.size and (samples.min() < 0 or samples.max() >= 1 << ADC_BITS):
            raise ValueError(f"samples must be {ADC_BITS}-bit ADC counts")
        data = (
            np.concatenate([self._pending, samples.astype(np.uint16)])
            if len(self._pending)
            else samples.astype(np.uint16)
        )
        k = len(data) // self.samples_per_frame
        self._pending = data[k * self.samples_per_frame :]
        if k == 0:
            return b""
        return self._encode_frames(data[: k * self.samples_per_frame], self.samples_per_frame)

    def flush(self) -> bytes:
        """A last, shorter frame with whatever samples are pending."""
        if not len(self._pending):
            return b""
        data, self._pending = self._pending, self._pending[:0]
        return self._encode_frames(data, len(data))

    def skip(self, n_frames: int) -> None:
        """Advance the sequence as if ``n_frames`` frames were dropped (what a board overrun does)."""
        self.seq = (self.seq + n_frames) % SEQ_MODULO

    def _encode_frames(self, data: np.ndarray, spf: int) -> bytes:
        k = len(data) // spf
        packed = pack10(data.reshape(k, spf * self.n_channels))
        payload_len = DATA_PREFIX_SIZE + packed.shape[1]
        body_len = HEADER_SIZE + payload_len
        out = np.empty((k, body_len + CRC_SIZE), dtype=np.uint8)
        seqs = (self.seq + np.arange(k)) % SEQ_MODULO
        out[:, 0] = SYNC[0]
        out[:, 1] = SYNC[1]
        out[:, 2] = PROTOCOL_VERSION
        out[:, 3] = FRAME_DATA
        out[:, 4] = seqs & 0xFF
        out[:, 5] = seqs >> 8
        out[:, 6] = payload_len
        out[:, 7] = self.n_channels
        out[:, 8] = spf
        out[:, 9:body_len] = packed
        flat = out.tobytes()
        mv = memoryview(flat)
        stride = body_len + CRC_SIZE
        crcs = np.fromiter(
            (crc16_xmodem(mv[r * stride + 2 : r * stride + body_len]) for r in range(k)),
            dtype=np.uint16,
            count=k,
        )
        out[:, body_len] = crcs & 0xFF
        out[:, body_len + 1] = crcs >> 8
        self.seq = (self.seq + k) % SEQ_MODULO
        return out.tobytes()


class FrameDecoder:
    """Incremental decoder: feed it whatever the port returned, get sample chunks back.

    ``expect_seq0``: the stream was just started (the board restarts its sequence at 0 on the
    start command), so frames missing at the very beginning count as lost. Set it False to join
    a stream already running; its first frame then defines sample index 0.
    """

    def __init__(self, *, expect_seq0: bool = True):
        self.expect_seq0 = expect_seq0
        self.stats = DecoderStats()
        self.infos: list[BoardInfo] = []  # info frames received; the caller pops them
        self._buf = bytearray()
        self.reset_stream()

    def reset_stream(
        self, *, expect_seq0: bool | None = None, discard_buffer: bool = False
    ) -> None:
        """Forget the sequence position (after the host sent start, or joined a new stream).

        ``discard_buffer`` also drops bytes kept from an earlier connection (counted as skipped).
        """
        if expect_seq0 is not None:
            self.expect_seq0 = expect_seq0
        if discard_buffer:
            self.stats.bytes_skipped += len(self._buf)
            self._buf.clear()
        self._expected_seq: int | None = 0 if self.expect_seq0 else None
        self._next_index = 0
        self._layout: tuple[int, int] | None = None

    @property
    def next_sample_index(self) -> int:
        return self._next_index

    def feed(self, data: bytes | bytearray | memoryview) -> list[DecodedChunk]:
        self.stats.bytes_in += len(data)
        self._buf += data
        return self._scan(final=False)

    def flush(self) -> list[DecodedChunk]:
        """End of stream: recover complete frames hidden behind a truncated one, drop the rest."""
        return self._scan(final=True)

    def _scan(self, *, final: bool) -> list[DecodedChunk]:
        buf = self._buf
        n = len(buf)
        st = self.stats
        runs: list[list] = []  # [seq, index, gap_before, n_ch, n_s, [(start, end), ...]]
        pos = 0
        with memoryview(buf) as mv:
            while True:
                i = buf.find(SYNC, pos)
                if i < 0:
                    keep = 1 if n > pos and buf[-1] == SYNC[0] and not final else 0
                    st.bytes_skipped += n - pos - keep
                    pos = n - keep
                    break
                st.bytes_skipped += i - pos
                pos = i
                if n - i < HEADER_SIZE:
                    if final:
                        st.bytes_skipped += n - i
                        pos = n
                    break
                version, ftype, length = buf[i + 2], buf[i + 3], buf[i + 6]
                if version != PROTOCOL_VERSION or ftype not in FRAME_TYPES:
                    st.bytes_skipped += 1
                    pos = i + 1
                    continue
                end = i + HEADER_SIZE + length + CRC_SIZE
                if end > n:
                    if not final:
                        break
                    st.bytes_skipped += 1  # a truncated frame: look for complete ones inside it
                    pos = i + 1
                    continue
                if crc16_xmodem(mv[i + 2 : end - CRC_SIZE]) != buf[end - 2] | (buf[end - 1] << 8):
                    st.crc_errors += 1
                    st.bytes_skipped += 1
                    pos = i + 1
                    continue
                seq = buf[i + 4] | (buf[i + 5] << 8)
                p0 = i + HEADER_SIZE
                if ftype == FRAME_DATA:
                    self._on_data(buf, p0, length, seq, runs)
                elif ftype == FRAME_INFO:
                    info = _parse_info(bytes(mv[p0 : p0 + length]))
                    if info is None:
                        st.malformed += 1
                    else:
                        st.info_frames += 1
                        self.infos.append(info)
                else:
                    if length == OVERRUN.size:
                        (dropped,) = OVERRUN.unpack_from(buf, p0)
                        st.overruns += dropped
                        log.debug("board reports %d dropped frames before seq %d", dropped, seq)
                    else:
                        st.malformed += 1
                pos = end
            chunks = [self._unpack_run(mv, run) for run in runs]
        del buf[:pos]
        return chunks

    def _on_data(self, buf: bytearray, p0: int, length: int, seq: int, runs: list[list]) -> None:
        st = self.stats
        n_ch, n_s = buf[p0], buf[p0 + 1]
        if (
            not 1 <= n_ch <= MAX_CHANNELS
            or n_s < 1
            or length != DATA_PREFIX_SIZE + packed_size(n_ch * n_s)
        ):
            st.malformed += 1
            return
        gap = 0 if self._expected_seq is None else (seq - self._expected_seq) % SEQ_MODULO
        st.frames += 1
        st.lost_frames += gap
        index = self._next_index + gap * n_s
        self._expected_seq = (seq + 1) % SEQ_MODULO
        self._next_index = index + n_s
        start = p0 + DATA_PREFIX_SIZE
        seg = (start, p0 + length)
        if runs and gap == 0 and runs[-1][3] == n_ch and runs[-1][4] == n_s:
            runs[-1][5].append(seg)
        else:
            runs.append([seq, index, gap > 0, n_ch, n_s, [seg]])

    @staticmethod
    def _unpack_run(mv: memoryview, run: list) -> DecodedChunk:
        seq, index, gap_before, n_ch, n_s, segs = run
        raw = b"".join([mv[a:b] for a, b in segs])
        packed = np.frombuffer(raw, dtype=np.uint8).reshape(len(segs), -1)
        samples = unpack10(packed, n_ch * n_s).reshape(len(segs) * n_s, n_ch)
        return DecodedChunk(samples, seq, index, gap_before, len(segs))


class BoardEmulator:
    """Behaves like a board running the emgwatch firmware, for ptys, tests and replays.

    Feed it the bytes the host wrote (``receive``) and the samples to stream (``stream``); both
    return the bytes the board would send. Its answers follow the same rules as the firmware.
    """

    def __init__(
        self,
        n_channels: int = 1,
        rate_hz: int = RATE_DEFAULT_HZ,
        samples_per_frame: int = SAMPLES_PER_FRAME_DEFAULT,
        firmware_version: tuple[int, int] = FIRMWARE_VERSION,
    ):
        if check_settings(rate_hz, n_channels) != RESULT_OK:
            raise ValueError(f"a board cannot sample {n_channels} channels at {rate_hz} Hz")
        self.n_channels = n_channels
        self.rate_hz = rate_hz
        self.samples_per_frame = samples_per_frame
        self.firmware_version = firmware_version
        self.streaming = False
        self._line = bytearray()
        self._encoder = FrameEncoder(n_channels, samples_per_frame)

    def info(self, command: str = CMD_BOOT, result: int = RESULT_OK) -> BoardInfo:
        return BoardInfo(
            self.firmware_version,
            self.rate_hz,
            self.n_channels,
            self.samples_per_frame,
            self.streaming,
            command,
            result,
        )

    def boot(self) -> bytes:
        """The announcement a board sends after reset."""
        return encode_info(self.info())

    def receive(self, data: bytes) -> bytes:
        """Process host bytes; returns the replies (one info frame per complete command line)."""
        out = []
        self._line += data
        *lines, rest = re.split(rb"[\r\n]", bytes(self._line))
        self._line = bytearray(rest[-32:])
        for line in lines:
            line = line.strip()
            if line:
                out.append(self._command(line.decode("ascii", "replace")))
        return b"".join(out)

    def stream(self, samples: np.ndarray) -> bytes:
        """Frames for these samples if the host started streaming, else nothing (board is idle)."""
        if not self.streaming:
            return b""
        samples = np.asarray(samples)
        return self._encoder.encode(samples[:, : self.n_channels])

    def _command(self, line: str) -> bytes:
        cmd, arg = line[0], line[1:]
        result = RESULT_OK
        if cmd == CMD_IDENTIFY:
            pass
        elif cmd == CMD_START:
            self.streaming = True
            self._encoder = FrameEncoder(self.n_channels, self.samples_per_frame)
        elif cmd == CMD_STOP:
            self.streaming = False
        elif cmd in (CMD_RATE, CMD_CHANNELS):
            value = int(arg) if arg.isdigit() else -1
            rate = value if cmd == CMD_RATE else self.rate_hz
            ch = value if cmd == CMD_CHANNELS else self.n_channels
            if self.streaming:
                result = RESULT_BUSY
            else:
                result = check_settings(rate, ch)
                if result == RESULT_OK:
                    self.rate_hz, self.n_channels = rate, ch
                    self._encoder = FrameEncoder(ch, self.samples_per_frame)
        else:
            result = RESULT_UNKNOWN_COMMAND
        return encode_info(self.info(cmd, result), self._encoder.seq)


# --- text-line fallback -------------------------------------------------------------------------
_SEP = re.compile(rb"[,;\s]+")


@dataclass
class TextStats:
    lines: int = 0
    bad_lines: int = 0  # not numbers, or a different number of columns than the first line
    bytes_in: int = 0
    columns: int = 0
    first_bad: list[str] = field(default_factory=list)


class TextLineDecoder:
    """For existing sketches that print ``analogRead`` values, one line per sample.

    Accepts one number or several separated by commas/spaces/tabs/semicolons per line; the first
    numeric line fixes the column count. Text has no timing, so the sample rate is measured by
    the caller from arrival times.
    """

    MAX_LINE = 256

    def __init__(self) -> None:
        self.stats = TextStats()
        self._rest = b""

    def feed(self, data: bytes) -> np.ndarray:
        """Rows of values (n, columns) as float64; n may be 0 (columns 0 until the first row)."""
        self.stats.bytes_in += len(data)
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        if len(self._rest) > self.MAX_LINE:  # no newline in sight: not a line-based stream
            self.stats.bad_lines += 1
            self._rest = b""
        rows = []
        for line in lines:
            parts = [p for p in _SEP.split(line.strip()) if p]
            if not parts:
                continue
            try:
                values = [float(p) for p in parts]
            except ValueError:
                self._bad(line)
                continue
            if not self.stats.columns:
                self.stats.columns = len(values)
            if len(values) != self.stats.columns:
                self._bad(line)
                continue
            rows.append(values)
        self.stats.lines += len(rows)
        return np.array(rows, dtype=np.float64).reshape(len(rows), self.stats.columns)

    def _bad(self, line: bytes) -> None:
        self.stats.bad_lines += 1
        if len(self.stats.first_bad) < 3:
            self.stats.first_bad.append(line[:40].decode("ascii", "replace"))
