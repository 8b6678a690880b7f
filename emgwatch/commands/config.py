from __future__ import annotations

import argparse

from emgwatch.config import Config, config_path, to_toml

HELP = "show the effective configuration (defaults < file < flags)"
DESCRIPTION = """\
Show the configuration emgwatch would use.

  emgwatch config show            print the effective settings as TOML
  emgwatch config path            print which config file is read (or 'none: built-in defaults')

Write the output of 'config show' to ~/.config/emgwatch/config.toml and edit it to change
defaults; every key is optional. Flags on other commands override the file.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["show", "path"], help="what to show")


def run(args: argparse.Namespace, cfg: Config) -> int:
    if args.action == "path":
        path = config_path(args.config)
        print(path if path else "none: built-in defaults")
    else:
        print(to_toml(cfg), end="")
    return 0
