from __future__ import annotations

import argparse

from emgwatch.commands import not_available
from emgwatch.config import Config

HELP = "train (not available yet: detector, issue 6)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, cfg: Config) -> int:
    raise not_available("train", "detector, issue 6")
