from __future__ import annotations

import argparse

from emgwatch.commands import not_available
from emgwatch.config import Config

HELP = "demo (not available yet: the foundation and live-monitoring issues)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, cfg: Config) -> int:
    raise not_available("demo", "the foundation and live-monitoring issues")
