"""The serial source over real pseudo-terminals: handshake, exact time, unplug, bad ports."""

from __future__ import annotations

import errno
import os
import re
import threading
import time
import tty
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import serial

from emgwatch import protocol as P
from emgwatch.commands import ports as ports_cmd
from emgwatch.serial_source import PortError, SerialSource, find_board, list_ports


def expected(index: np.ndarray, n_channels: int) -> np.ndarray:
    """The value the fake board sends for sample ``index`` of each channel."""
    return (index[:, None] * 7 + np.arange(n_channels)[None, :] * 100) % 1024


class FakeBoard:
    """A board behind a pty: emgwatch firmware (BoardEmulator), a text sketch, or noise."""

    def __init__(
        self, link: Path, kind: str = "frames", *, text_rate: float = 400.0, boot: bool = True
    ):
        self.link = link
        self.kind = kind
        self.text_rate = text_rate
        self.emu = P.BoardEmulator()
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self.master, False)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.ttyname(self._slave))
        self.silent = False  # a hung board: no output at all
        self._stop = threading.Event()
        self._produced = 0
        self._t0 = time.monotonic()
        if kind == "frames" and boot:
            self._write(self.emu.boot())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except BlockingIOError:
            pass  # nobody reads: like a board whose buffer overflows

    def _run(self) -> None:
        rng = np.random.default_rng(1)
        while not self._stop.wait(0.005):
            try:
                host = os.read(self.master, 1024)
            except (BlockingIOError, OSError):
                host = b""
            if self.silent:
                continue
            if self.kind == "frames":
                if host:
                    self._write(self.emu.receive(host))
                if self.emu.streaming:
                    if self._produced == 0 and not hasattr(self, "_started"):
                        self._started = time.monotonic()
                    due = int((time.monotonic() - self._started) * self.emu.rate_hz)
                    if due > self._produced:
                        idx = np.arange(self._produced, due)
                        self._produced = due
                        self._write(self.emu.stream(expected(idx, self.emu.n_channels)))
            elif self.kind == "text":
                due = int((time.monotonic() - self._t0) * self.text_rate)
                lines = b"".join(b"%d,%d\n" % (k % 1024, 300) for k in range(self._produced, due))
                self._produced = due
                self._write(lines)
            else:  # some other firmware streaming binary
                self._write(rng.integers(0, 256, 64, dtype=np.uint8).tobytes())

    def unplug(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)
        os.close(self._slave)
        if self.link.is_symlink():
            self.link.unlink()


@pytest.fixture
def link(tmp_path):
    return tmp_path / "ttyEMG"


def _collect(src: SerialSource, seconds: float) -> list:
    blocks = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        blocks += src.read(0.1)
    return blocks


def _check_blocks(blocks, fs: float, n_channels: int) -> None:
    for b in blocks:
        idx = np.round(b.t0 * fs).astype(int) + np.arange(b.n_samples)
        assert np.array_equal(b.data, expected(idx, n_channels))


def test_handshake_configures_the_board_and_times_come_from_sample_counts(link):
    board = FakeBoard(link)
    src = SerialSource(str(link), fs=500, channel_names=["calf", "shin"], protocol="frames")
    try:
        src.start()
        assert (src.fs, src.channel_names) == (500.0, ["calf", "shin"])
        assert (board.emu.rate_hz, board.emu.n_channels, board.emu.streaming) == (500, 2, True)
        assert src.status == "streaming"
        assert src.detail == f"{link}: 500 Hz, 2 ch, firmware 1.0, 250000 baud"
        assert src.units == "adc" and src.start_time is not None
        blocks = _collect(src, 0.6)
    finally:
        src.stop()
        board.unplug()
    assert sum(b.n_samples for b in blocks) > 150
    assert blocks[0].t0 == 0.0 and not any(b.gap_before for b in blocks)
    for a, b in zip(blocks, blocks[1:], strict=False):
        assert b.t0 == pytest.approx(a.t_end, abs=1e-9)
    _check_blocks(blocks, 500.0, 2)
    assert src.status == "stopped"


def test_read_never_blocks_longer_than_its_timeout_and_a_hung_board_is_reported(link):
    board = FakeBoard(link)
    src = SerialSource(str(link), protocol="frames", stall_s=0.5, backoff_s=(0.2, 0.5))
    try:
        src.start()
        _collect(src, 0.2)
        board.silent = True
        time.sleep(0.05)
        src.read(0)  # drain
        for _ in range(5):
            t = time.monotonic()
            assert src.read(0.2) == []
            assert time.monotonic() - t < 0.4
        assert src.status.startswith("disconnected")
        assert "no data for 0.5 s" in src.status
    finally:
        src.stop()
        board.unplug()


def test_unplug_and_replug_reconnects_with_a_gap_and_time_moving_on(link):
    board = FakeBoard(link)
    src = SerialSource(str(link), protocol="frames", channel_names=["a"], backoff_s=(0.1, 0.4))
    try:
        src.start()
        before = _collect(src, 0.4)
        board.unplug()
        _collect(src, 0.5)
        assert src.status.startswith("disconnected")
        board = FakeBoard(link)
        after = []
        end = time.monotonic() + 5
        while time.monotonic() < end and sum(b.n_samples for b in after) < 200:
            after += src.read(0.1)
        assert src.reconnects == 1
        assert src.status == "streaming"
    finally:
        src.stop()
        board.unplug()
    assert before and after
    assert after[0].gap_before
    assert (
        after[0].t0 >= before[-1].t_end + 0.4
    )  # the outage took at least the 0.5 s we waited, minus slack
    assert not any(b.gap_before for b in after[1:])
    # the new stream restarts at sample 0 of the board; values follow its own count
    for b in after:
        idx = np.round((b.t0 - after[0].t0) * 1000).astype(int) + np.arange(b.n_samples)
        assert np.array_equal(b.data, expected(idx, 1))


def test_config_gives_rate_channels_and_baud_before_start(link):
    from emgwatch.config import load_config

    cfg = load_config(
        overrides={
            "device": {"fs_hz": 2000.0, "channels": ["l", "r"]},
            "source": {"baudrate": 115200},
        }
    )
    board = FakeBoard(link)
    src = SerialSource(str(link), cfg=cfg, protocol="frames")
    assert (src.fs, src.channel_names, src.baudrate) == (2000.0, ["l", "r"], 115200)  # before start
    try:
        src.start()
        assert (board.emu.rate_hz, board.emu.n_channels) == (2000, 2)
    finally:
        src.stop()
        board.unplug()


def test_missing_port_is_one_clear_error(tmp_path):
    src = SerialSource(str(tmp_path / "nothing"), protocol="frames")
    with pytest.raises(PortError, match="no such port"):
        src.start()


def test_busy_port_is_one_clear_error(link):
    board = FakeBoard(link)
    other = serial.Serial(str(link), 250000, exclusive=True)
    try:
        with pytest.raises(PortError, match="busy"):
            SerialSource(str(link), protocol="frames").start()
    finally:
        other.close()
        board.unplug()


def test_board_with_other_firmware_fails_the_handshake_clearly(link):
    board = FakeBoard(link, kind="noise")
    try:
        t = time.monotonic()
        with pytest.raises(PortError, match="no answer from emgwatch firmware within 1 s"):
            SerialSource(str(link), protocol="frames", handshake_timeout_s=1.0).start()
        assert time.monotonic() - t < 2.0
    finally:
        board.unplug()


def test_text_sketch_is_detected_and_its_rate_is_measured(link):
    board = FakeBoard(link, kind="text", text_rate=400.0)
    src = SerialSource(str(link), protocol="auto", measure_s=1.0, handshake_timeout_s=1.0)
    try:
        src.start()
        assert src.fs == pytest.approx(400.0, rel=0.05)
        assert src.channel_names == ["ch1", "ch2"]
        assert re.search(r": text lines, \d+\.\d Hz \(measured\), 2 ch$", src.detail)
        blocks = _collect(src, 0.4)
    finally:
        src.stop()
        board.unplug()
    data = np.concatenate([b.data for b in blocks])
    assert np.all(data[:, 1] == 300)
    assert np.all(np.diff(data[:, 0]) % 1024 == 1)  # consecutive lines, none lost
    assert blocks[1].t0 == pytest.approx(blocks[0].t_end)


def test_auto_detection_prefers_known_board_usb_ids(monkeypatch):
    fake = [
        SimpleNamespace(device="/dev/ttyS0", vid=None, pid=None, description="n/a"),
        SimpleNamespace(device="/dev/ttyACM3", vid=0x1234, pid=0x0001, description="modem"),
        SimpleNamespace(device="/dev/ttyUSB0", vid=0x1A86, pid=0x7523, description="USB Serial"),
    ]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: fake)
    assert [p.device for p in list_ports()] == ["/dev/ttyUSB0", "/dev/ttyACM3", "/dev/ttyS0"]
    assert find_board() == "/dev/ttyUSB0"
    assert list_ports()[0].vid_pid == "1A86:7523"


def test_ports_command_lists_candidates_or_says_there_are_none(monkeypatch, capsys):
    fake = [
        SimpleNamespace(device="/dev/ttyACM0", vid=0x2341, pid=0x0043, description="Arduino Uno")
    ]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: fake)
    assert ports_cmd.run(SimpleNamespace(boards=False), None) == 0
    out = capsys.readouterr().out
    assert "/dev/ttyACM0  2341:0043  Arduino" in out and "serial:auto would use /dev/ttyACM0" in out
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: [])
    assert ports_cmd.run(SimpleNamespace(boards=False), None) == 0
    assert "no serial ports found" in capsys.readouterr().out


def test_auto_port_without_a_board_is_one_clear_error(monkeypatch):
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: [])
    with pytest.raises(PortError, match="no board found"):
        SerialSource("auto").start()


def test_permission_denied_is_explained():
    from emgwatch.serial_source import _open_error

    e = _open_error("/dev/ttyUSB0", serial.SerialException(errno.EACCES, "Permission denied"))
    assert "dialout" in str(e)
