"""`emgwatch ports`: which serial ports could be the EMG board."""

from __future__ import annotations

import argparse

from emgwatch.config import Config

HELP = "list serial ports that could be the board (USB VID:PID, description)"
DESCRIPTION = """\
List serial ports with their USB vendor:product id and description. Ports whose VID:PID
belongs to a USB serial bridge found on Arduino-class boards (Arduino, CH340/CH341, FTDI,
CP210x, PL2303) are marked; 'serial:auto' picks the first of them.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--boards", action="store_true", help="only ports with a known board VID:PID")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.serial_source import list_ports

    ports = list_ports(only_boards=args.boards)
    if not ports:
        what = "no serial port with a known board VID:PID" if args.boards else "no serial ports"
        print(
            f"{what} found: plug in the board (USB); on Linux check 'dmesg' and that you are in "
            "the 'dialout' group"
        )
        return 0
    width = max(len(p.device) for p in ports)
    print(f"{'PORT':<{width}}  {'VID:PID':<9}  {'BOARD?':<30}  DESCRIPTION")
    for p in ports:
        print(f"{p.device:<{width}}  {p.vid_pid:<9}  {p.board or '-':<30}  {p.description}")
    boards = [p for p in ports if p.board]
    if boards:
        print(f"serial:auto would use {boards[0].device}")
    else:
        print(
            "no port with a known board VID:PID: give the port explicitly, e.g. --source serial:/dev/ttyUSB0"
        )
    return 0
