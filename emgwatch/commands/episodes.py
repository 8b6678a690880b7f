from __future__ import annotations

import argparse

from emgwatch.commands import not_available
from emgwatch.config import Config

HELP = "episodes (not available yet: overnight record, issue 9)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, cfg: Config) -> int:
    raise not_available("episodes", "overnight record, issue 9")
