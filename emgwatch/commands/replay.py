from __future__ import annotations

import argparse

from emgwatch.commands import not_available
from emgwatch.config import Config

HELP = "replay (not available yet: live monitoring, issue 8)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, cfg: Config) -> int:
    raise not_available("replay", "live monitoring, issue 8")
