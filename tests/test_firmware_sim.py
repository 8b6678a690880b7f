"""The real firmware, run in simavr, read by the real serial source: bit-exact, on time, no loss.

Needs the AVR toolchain and simavr (Debian: gcc-avr avr-libc binutils-avr simavr libsimavr-dev
libelf-dev pkg-config); without them these tests are skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from emgwatch import protocol as P
from emgwatch.serial_source import PortError, SerialSource

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware"
CPU_HZ = 16_000_000


def _missing_tools() -> str | None:
    for tool in ("make", "avr-gcc", "avr-objcopy", "avr-size", "pkg-config", "cc"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    if subprocess.run(["pkg-config", "--exists", "simavr"], check=False).returncode != 0:
        return "pkg-config cannot find simavr (install simavr libsimavr-dev libelf-dev)"
    return None


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> dict:
    why = _missing_tools()
    if why:
        pytest.skip(f"AVR toolchain/simavr missing: {why}")
    out = tmp_path_factory.mktemp("fw-build")
    r = subprocess.run(
        ["make", "-C", str(FIRMWARE), f"BUILD={out}", "all", "sim"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return {
        "dir": out,
        "elf": out / "emgwatch_fw.elf",
        "sim": out / "emgw_sim",
        "make_output": r.stdout,
    }


class Simulator:
    """emgw_sim running the firmware with ADC input from a file, UART on a pty at ``link``."""

    def __init__(self, build: dict, tmp_path: Path, samples: np.ndarray):
        self.link = tmp_path / "emgw-sim-pty"
        self.trace = tmp_path / "adc-trace.bin"
        samples_file = tmp_path / "adc-in.u16"
        samples.astype("<u2").tofile(samples_file)
        self.log = open(tmp_path / "emgw_sim.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                str(build["sim"]),
                str(build["elf"]),
                "--samples",
                str(samples_file),
                "--file-channels",
                str(samples.shape[1]),
                "--pty",
                str(self.link),
                "--adc-trace",
                str(self.trace),
                "--wait-s",
                "30",
            ],
            stderr=self.log,
        )
        end = time.monotonic() + 10
        while not self.link.exists():
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < end, "simulator did not create its pty"
            time.sleep(0.01)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def finish(self) -> str:
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        text = self.output()
        self.log.close()
        return text

    def conversion_cycles(self) -> np.ndarray:
        return np.fromfile(self.trace, dtype="<u8")


def _read_samples(src: SerialSource, n: int, timeout_s: float) -> list:
    blocks, got = [], 0
    end = time.monotonic() + timeout_s
    while got < n and time.monotonic() < end:
        for b in src.read(0.2):
            blocks.append(b)
            got += b.n_samples
    return blocks


def test_firmware_builds_with_flash_and_ram_to_spare(build):
    out = build["make_output"]
    program = int(re.search(r"Program:\s+(\d+) bytes", out).group(1))
    data = int(re.search(r"Data:\s+(\d+) bytes", out).group(1))
    assert program < 32768 - 512  # fits next to the Optiboot bootloader
    assert data < 1024  # leaves half the 2 KB RAM for the stack
    assert (build["dir"] / "emgwatch_fw.hex").read_text().startswith(":")


def test_sixty_simulated_seconds_of_four_channels_arrive_bit_exact_in_order_on_time(
    build, tmp_path
):
    fs, n = 1000, 60_000
    sent = np.random.default_rng(7).integers(0, 1024, (n + 500, 4)).astype(np.uint16)
    sim = Simulator(build, tmp_path, sent)
    src = SerialSource(str(sim.link), fs=fs, channel_names=["a", "b", "c", "d"], protocol="frames")
    try:
        src.start()
        assert src.board is not None and src.board.firmware_version == P.FIRMWARE_VERSION
        blocks = _read_samples(src, n, timeout_s=120)
        stats = src.stats
    finally:
        src.stop()
        log = sim.finish()
    got = np.concatenate([b.data for b in blocks])
    assert len(got) >= n, log
    assert np.array_equal(got[:n], sent[:n].astype(np.float64)), (
        "samples differ from the simulated ADC input"
    )
    t0 = np.array([b.t0 for b in blocks])
    starts = np.concatenate([[0], np.cumsum([b.n_samples for b in blocks])[:-1]])
    assert np.allclose(t0, starts / fs, atol=1e-9, rtol=0)
    assert not any(b.gap_before for b in blocks)
    assert (
        stats["lost_frames"],
        stats["crc_errors"],
        stats["overruns"],
        stats["bytes_skipped"],
    ) == (0, 0, 0, 0)
    # timer-driven sampling: channel 0 is converted every 16000 CPU cycles, jitter of a few cycles
    cycles = sim.conversion_cycles()[:n]
    intervals = np.diff(cycles.astype(np.int64))
    assert abs(intervals.mean() - CPU_HZ / fs) < 0.01
    assert np.abs(intervals - CPU_HZ / fs).max() <= 64, (
        f"jitter up to {np.abs(intervals - 16000).max()} cycles"
    )
    print(
        f"\n{log.strip().splitlines()[-1]}; ch0 sampling jitter max {np.abs(intervals - 16000).max()} cycles"
    )


def test_the_fastest_setting_streams_without_loss(build, tmp_path):
    # 2 channels x 4000 Hz = 8000 conversions/s, the firmware's limit; 5 simulated seconds
    fs, n = 4000, 20_000
    sent = np.random.default_rng(3).integers(0, 1024, (n + 500, 2)).astype(np.uint16)
    sim = Simulator(build, tmp_path, sent)
    src = SerialSource(str(sim.link), fs=fs, channel_names=["a", "b"], protocol="frames")
    try:
        src.start()
        blocks = _read_samples(src, n, timeout_s=60)
        stats = src.stats
    finally:
        src.stop()
        log = sim.finish()
    got = np.concatenate([b.data for b in blocks])
    assert np.array_equal(got[:n], sent[:n].astype(np.float64)), log
    assert (stats["lost_frames"], stats["overruns"], stats["crc_errors"]) == (0, 0, 0)


def test_the_firmware_refuses_a_rate_it_cannot_time_exactly(build, tmp_path):
    sim = Simulator(build, tmp_path, np.zeros((10, 1), np.uint16))
    src = SerialSource(str(sim.link), fs=3000, protocol="frames")
    try:
        with pytest.raises(PortError, match="bad argument"):
            src.start()
    finally:
        src.stop()
        sim.finish()


def test_a_link_too_slow_for_the_stream_gives_counted_overruns_and_exact_time(
    tmp_path_factory, tmp_path
):
    # the same firmware built for 38400 baud cannot carry 4 ch x 1 kHz (6100 B/s > 3840 B/s):
    # its queue fills, whole frames are dropped and reported, and what arrives keeps its time
    why = _missing_tools()
    if why:
        pytest.skip(f"AVR toolchain/simavr missing: {why}")
    out = tmp_path_factory.mktemp("fw-slow")
    r = subprocess.run(
        [
            "make",
            "-C",
            str(FIRMWARE),
            f"BUILD={out}",
            "EXTRA_CFLAGS=-DEMGW_BAUDRATE=38400UL",
            "all",
            "sim",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    slow = {"elf": out / "emgwatch_fw.elf", "sim": out / "emgw_sim"}
    fs = 1000
    sent = np.random.default_rng(5).integers(0, 1024, (20_000, 4)).astype(np.uint16)
    sim = Simulator(slow, tmp_path, sent)
    src = SerialSource(str(sim.link), fs=fs, channel_names=["a", "b", "c", "d"], protocol="frames")
    blocks = []
    try:
        src.start()
        end = time.monotonic() + 60
        while time.monotonic() < end and (not blocks or blocks[-1].t_end < 5.0):
            blocks += src.read(0.2)
        stats = src.stats
    finally:
        src.stop()
        sim.finish()
    for b in blocks:
        idx = int(round(b.t0 * fs))
        assert np.array_equal(b.data, sent[idx : idx + b.n_samples].astype(np.float64))
    delivered = sum(b.n_samples for b in blocks)
    assert stats["lost_frames"] > 0 and any(b.gap_before for b in blocks)
    assert 0 < stats["lost_frames"] <= stats["overruns"]  # every gap was reported (later drops too)
    assert delivered + stats["lost_frames"] * 10 == int(round(blocks[-1].t_end * fs))
    assert stats["crc_errors"] == 0
