from __future__ import annotations

import argparse

from emgwatch.commands import not_available
from emgwatch.config import Config

HELP = "datasets (not available yet: synthetic generator, issue 4)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, cfg: Config) -> int:
    raise not_available("datasets", "synthetic generator, issue 4")
