"""The frame protocol: encoder and decoder agree, and a damaged stream never fools the decoder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emgwatch import protocol as P

FIRMWARE_HEADER = Path(__file__).resolve().parents[1] / "firmware" / "emgwatch_fw" / "protocol.h"


def _samples(n: int, ch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1024, (n, ch)).astype(np.uint16)


def _decode_all(dec: P.FrameDecoder, pieces: list[bytes]) -> list[P.DecodedChunk]:
    chunks = []
    for piece in pieces:
        chunks += dec.feed(piece)
    return chunks + dec.flush()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@given(
    values=st.lists(st.integers(0, 1023), min_size=1, max_size=200),
)
def test_pack10_roundtrips_every_10_bit_value(values):
    arr = np.array(values, dtype=np.uint16)[None, :]
    packed = P.pack10(arr)
    assert packed.shape == (1, P.packed_size(len(values)))
    assert np.array_equal(P.unpack10(packed, len(values)), arr)


def test_crc_is_xmodem():
    assert P.crc16_xmodem(b"123456789") == 0x31C3  # the catalogued CRC-16/XMODEM check value


@settings(max_examples=60, deadline=None)
@given(
    n_channels=st.integers(1, 4),
    spf=st.integers(1, 40),
    n=st.integers(0, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_decoder_returns_exactly_what_the_encoder_framed(n_channels, spf, n, seed):
    x = _samples(n, n_channels, seed)
    enc = P.FrameEncoder(n_channels, spf)
    stream = enc.encode(x) + enc.flush()
    dec = P.FrameDecoder()
    chunks = dec.feed(stream)
    got = (
        np.concatenate([c.samples for c in chunks])
        if chunks
        else np.empty((0, n_channels), np.uint16)
    )
    assert np.array_equal(got, x)
    assert dec.stats.lost_frames == dec.stats.crc_errors == dec.stats.bytes_skipped == 0
    assert dec.stats.frames == -(-n // spf)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(0, 10**6), max_size=40), seed=st.integers(0, 1000))
def test_random_splits_of_a_valid_stream_give_the_same_samples(cuts, seed):
    x = _samples(317, 3, seed)
    enc = P.FrameEncoder(3, 10)
    stream = enc.encode(x) + enc.flush()
    chunks = _decode_all(P.FrameDecoder(), _split(stream, cuts))
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), x)
    assert [c.sample_index for c in chunks] == list(
        np.cumsum([0] + [len(c.samples) for c in chunks])[:-1]
    )
    assert not any(c.gap_before for c in chunks)


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("drop"), st.integers(0, 10**6), st.integers(1, 80)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=80)),
    st.tuples(st.just("sync_garbage"), st.integers(0, 10**6), st.binary(max_size=20)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.integers(1, 60)),
)


def _mutate(stream: bytes, mutations) -> bytes:
    b = bytearray(stream)
    for kind, where, arg in mutations:
        i = where % (len(b) + 1)
        if kind == "flip" and b:
            b[i % len(b)] ^= 1 << arg
        elif kind == "drop":
            del b[i : i + arg]
        elif kind == "insert":
            b[i:i] = arg
        elif kind == "sync_garbage":  # garbage that starts like a frame header
            b[i:i] = P.SYNC + bytes([P.PROTOCOL_VERSION, P.FRAME_DATA]) + arg
        elif kind == "truncate":  # a frame cut short: remove bytes up to the next sync
            j = b.find(P.SYNC, i)
            if j >= 0:
                del b[j + 2 : j + 2 + arg]
    return bytes(b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutations=st.lists(_mutation, min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 10**6), max_size=10),
    n_channels=st.integers(1, 4),
)
def test_corruption_never_crashes_never_invents_samples_and_is_counted(mutations, cuts, n_channels):
    x = _samples(400, n_channels, seed=n_channels)
    enc = P.FrameEncoder(n_channels, 10)
    stream = enc.encode(x)
    damaged = _mutate(stream, mutations)
    dec = P.FrameDecoder()
    chunks = _decode_all(dec, _split(damaged, cuts))
    delivered = 0
    for c in chunks:
        # every sample delivered is the one sent at exactly that sample index
        assert np.array_equal(c.samples, x[c.sample_index : c.sample_index + len(c.samples)])
        delivered += c.n_frames
    st_ = dec.stats
    assert delivered == st_.frames
    last = max((c.sample_index + len(c.samples) for c in chunks), default=0) // 10
    assert (
        st_.frames + st_.lost_frames == last
    )  # every frame before the last delivered is accounted for
    if damaged != stream:
        assert st_.bytes_skipped + st_.crc_errors + st_.lost_frames + st_.malformed > 0


def test_sequence_gaps_are_lost_frames_and_keep_sample_time():
    x = _samples(100, 2)
    enc = P.FrameEncoder(2, 10)
    stream = enc.encode(x[:30])
    enc.skip(2)  # the board dropped two frames (20 samples)
    stream += P.encode_overrun(2, enc.seq) + enc.encode(x[50:])
    dec = P.FrameDecoder()
    chunks = dec.feed(stream)
    assert [(c.sample_index, c.gap_before, c.n_frames) for c in chunks] == [
        (0, False, 3),
        (50, True, 5),
    ]
    assert np.array_equal(chunks[1].samples, x[50:])
    assert dec.stats.lost_frames == 2
    assert dec.stats.overruns == 2


def test_lost_frames_across_sequence_wrap_around():
    x = _samples(100, 1)
    enc = P.FrameEncoder(1, 10, seq=P.SEQ_MODULO - 3)
    stream = enc.encode(x[:20])  # seqs 65533, 65534
    enc.skip(3)  # 65535, 0, 1 lost
    stream += enc.encode(x[50:])  # seqs 2..6
    dec = P.FrameDecoder(expect_seq0=False)
    chunks = dec.feed(stream)
    assert dec.stats.lost_frames == 3
    assert [c.sample_index for c in chunks] == [0, 50]
    assert chunks[1].first_seq == 2


def test_frames_missing_at_stream_start_count_as_lost():
    enc = P.FrameEncoder(1, 10)
    enc.skip(4)  # pyserial flushed the first frames
    dec = P.FrameDecoder()
    (chunk,) = dec.feed(enc.encode(_samples(10, 1)))
    assert (chunk.sample_index, chunk.gap_before, dec.stats.lost_frames) == (40, True, 4)


def test_garbage_before_and_between_frames_is_skipped_and_counted():
    x = _samples(40, 1)
    enc = P.FrameEncoder(1, 10)
    frames = [enc.encode(x[i : i + 10]) for i in range(0, 40, 10)]
    stream = (
        b"hello 512\r\n"
        + frames[0]
        + b"\xa5\xa5\x5a"
        + frames[1]
        + frames[2]
        + b"\x00" * 7
        + frames[3]
    )
    dec = P.FrameDecoder()
    chunks = dec.feed(stream)
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), x)
    assert dec.stats.bytes_skipped == 11 + 3 + 7
    assert dec.stats.lost_frames == 0


def test_info_frames_are_parsed_and_other_firmware_is_not():
    emu = P.BoardEmulator(n_channels=2, rate_hz=500)
    dec = P.FrameDecoder()
    dec.feed(emu.boot() + b"Arduino says hi\n")
    (info,) = dec.infos
    assert info == P.BoardInfo(
        P.FIRMWARE_VERSION, 500, 2, P.SAMPLES_PER_FRAME_DEFAULT, False, P.CMD_BOOT, 0
    )
    wrong_magic = P._frame(P.FRAME_INFO, 0, P.INFO.pack(b"XXXX", 1, 0, 1000, 1, 10, 0, 0, 0))
    dec.feed(wrong_magic)
    assert len(dec.infos) == 1 and dec.stats.malformed == 1


def test_emulator_answers_commands_like_the_firmware():
    emu = P.BoardEmulator()
    dec = P.FrameDecoder()
    dec.feed(emu.receive(b"i\nc4\nr3000\nr4000\nr2000\ns\nr500\nz\n"))
    got = [(i.command, i.result, i.n_channels, i.rate_hz, i.streaming) for i in dec.infos]
    assert got == [
        ("i", P.RESULT_OK, 1, 1000, False),
        ("c", P.RESULT_OK, 4, 1000, False),
        ("r", P.RESULT_BAD_ARGUMENT, 4, 1000, False),  # 2 MHz / 3000 is not an integer
        ("r", P.RESULT_BAD_ARGUMENT, 4, 1000, False),  # 4 ch x 4000 Hz > 8000 conversions/s
        ("r", P.RESULT_OK, 4, 2000, False),
        ("s", P.RESULT_OK, 4, 2000, True),
        ("r", P.RESULT_BUSY, 4, 2000, True),
        ("z", P.RESULT_UNKNOWN_COMMAND, 4, 2000, True),
    ]
    x = _samples(25, 4)
    chunks = dec.feed(emu.stream(x))
    assert np.array_equal(np.concatenate([c.samples for c in chunks]), x[:20])
    dec.feed(emu.receive(b"x\r\n"))
    assert not dec.infos[-1].streaming and emu.stream(x) == b""


def test_text_lines_with_one_or_more_numbers_per_line():
    t = P.TextLineDecoder()
    a = t.feed(b"Starting sensor...\r\n512,500\r\n51")
    b = t.feed(b"3,501\r\n514;502\n7\n\n515 503\n")
    assert a.tolist() == [[512, 500]]
    assert b.tolist() == [[513, 501], [514, 502], [515, 503]]
    assert (t.stats.lines, t.stats.bad_lines, t.stats.columns) == (4, 2, 2)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.lists(st.integers(0, 1023), min_size=2, max_size=2), min_size=1, max_size=50),
    cuts=st.lists(st.integers(0, 10**6), max_size=10),
    sep=st.sampled_from([b",", b", ", b"\t", b" ", b";"]),
    eol=st.sampled_from([b"\n", b"\r\n"]),
)
def test_text_lines_split_anywhere_give_the_same_rows(rows, cuts, sep, eol):
    stream = b"".join(sep.join(b"%d" % v for v in r) + eol for r in rows)
    t = P.TextLineDecoder()
    got = np.concatenate([r for piece in _split(stream, cuts) if len(r := t.feed(piece))])
    assert got.tolist() == rows


@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 10**6), max_size=10))
def test_random_bytes_never_crash_either_decoder_and_are_accounted_for(data, cuts):
    dec = P.FrameDecoder()
    chunks = _decode_all(dec, _split(data, cuts))
    assert chunks == [] and dec.stats.frames == 0
    assert dec.stats.bytes_skipped == len(data)  # after flush nothing is held back
    P.TextLineDecoder().feed(data)


def test_bandwidth_margin_at_4_channels_1khz():
    # 61-byte frames every 10 ms = 6100 B/s of the 25000 B/s a 250000-baud 8N1 link carries
    assert P.data_frame_size(4, 10) == 61
    assert P.link_load(4, 1000, 10, P.BAUDRATE_DEFAULT) == pytest.approx(0.244)


def _firmware_defines() -> dict[str, int]:
    defines = {}
    for name, value in re.findall(
        r"^#define[ \t]+(EMGW_\w+)[ \t]+(\S+)", FIRMWARE_HEADER.read_text(), re.M
    ):
        defines[name] = ord(value[1]) if value.startswith("'") else int(value.rstrip("UL"), 0)
    return defines


def test_firmware_header_mirrors_the_host_constants():
    d = _firmware_defines()
    assert bytes([d["EMGW_SYNC0"], d["EMGW_SYNC1"]]) == P.SYNC
    pairs = {
        "EMGW_PROTOCOL_VERSION": P.PROTOCOL_VERSION,
        "EMGW_HEADER_SIZE": P.HEADER_SIZE,
        "EMGW_CRC_SIZE": P.CRC_SIZE,
        "EMGW_FRAME_DATA": P.FRAME_DATA,
        "EMGW_FRAME_INFO": P.FRAME_INFO,
        "EMGW_FRAME_OVERRUN": P.FRAME_OVERRUN,
        "EMGW_DATA_PREFIX_SIZE": P.DATA_PREFIX_SIZE,
        "EMGW_MAX_CHANNELS": P.MAX_CHANNELS,
        "EMGW_SAMPLES_PER_FRAME": P.SAMPLES_PER_FRAME_DEFAULT,
        "EMGW_INFO_SIZE": P.INFO.size,
        "EMGW_RESULT_OK": P.RESULT_OK,
        "EMGW_RESULT_UNKNOWN_COMMAND": P.RESULT_UNKNOWN_COMMAND,
        "EMGW_RESULT_BAD_ARGUMENT": P.RESULT_BAD_ARGUMENT,
        "EMGW_RESULT_BUSY": P.RESULT_BUSY,
        "EMGW_CMD_IDENTIFY": ord(P.CMD_IDENTIFY),
        "EMGW_CMD_START": ord(P.CMD_START),
        "EMGW_CMD_STOP": ord(P.CMD_STOP),
        "EMGW_CMD_RATE": ord(P.CMD_RATE),
        "EMGW_CMD_CHANNELS": ord(P.CMD_CHANNELS),
        "EMGW_BAUDRATE": P.BAUDRATE_DEFAULT,
        "EMGW_RATE_DEFAULT_HZ": P.RATE_DEFAULT_HZ,
        "EMGW_TIMER_CLOCK_HZ": P.TIMER_CLOCK_HZ,
        "EMGW_RATE_MIN_HZ": P.RATE_MIN_HZ,
        "EMGW_RATE_MAX_HZ": P.RATE_MAX_HZ,
        "EMGW_MAX_CONVERSIONS_PER_S": P.MAX_CONVERSIONS_PER_S,
        "EMGW_FW_MAJOR": P.FIRMWARE_VERSION[0],
        "EMGW_FW_MINOR": P.FIRMWARE_VERSION[1],
    }
    assert {k: d[k] for k in pairs} == pairs
