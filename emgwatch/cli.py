"""The `emgwatch` command: argument parsing, config, logging and error reporting only.

Each subcommand lives in ``emgwatch/commands/<name>.py`` with ``HELP``, ``DESCRIPTION``,
``add_arguments(parser)`` and ``run(args, cfg) -> int``; this module owns no signal logic.
Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings

from emgwatch import __version__
from emgwatch.errors import EmgwatchError, UsageError

# Order is the order shown in --help.
COMMANDS = (
    "demo",
    "run",
    "simulate",
    "replay",
    "detect",
    "train",
    "evaluate",
    "calibrate",
    "report",
    "episodes",
    "ports",
    "datasets",
    "config",
)

EPILOG = """\
typical use:
  emgwatch demo                          live simulated session with a local MQTT broker
  emgwatch simulate --scenario night --duration 8h -o night.edf
  emgwatch detect night.edf              one JSON line per episode
  emgwatch evaluate night.edf --truth night.truth.json
  emgwatch run --source serial:auto --broker mqtt://localhost:1883
  emgwatch report night.edf -o night.html

Run 'emgwatch COMMAND --help' for the options of each command.
emgwatch is a monitoring aid, not a medical device.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with errors on one line (plus a hint), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="emgwatch",
        description="Notice involuntary muscle contractions (spasm, cramp, clonus, periodic limb "
        "movements) in surface EMG, log every episode and alert over MQTT.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"emgwatch {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="TOML config file (default: $EMGWATCH_CONFIG, else ~/.config/emgwatch/config.toml "
        "if present; 'emgwatch config show' prints the effective settings)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"emgwatch.commands.{name}")
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_module=mod)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.WARNING
        if quiet
        else (logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)
    )
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # a Python warning (a model from another scikit-learn, a stage set aside) is one log line
    # like every other message, not two lines with a source path
    warnings.showwarning = _warning_as_log_line


def _warning_as_log_line(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    logging.getLogger("emgwatch").warning("%s", message)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    _setup_logging(args.verbose, args.quiet)
    from emgwatch.config import config_path, load_config

    try:
        cfg = load_config(config_path(args.config))
        return int(args._module.run(args, cfg) or 0)
    except EmgwatchError as e:
        if args.debug:
            raise
        print(f"emgwatch {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"emgwatch {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:  # a file that cannot be read or written: the system's reason, the path
        if args.debug:
            raise
        where = e.filename or "output"
        print(f"emgwatch {args.command}: error: {where}: {e.strerror or e}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as e:  # a text file (a sidecar, a config) in another encoding
        if args.debug:
            raise
        print(
            f"emgwatch {args.command}: error: byte {e.start}: expected UTF-8 text, got "
            f"{e.object[e.start : e.start + 1]!r}",
            file=sys.stderr,
        )
        return 1
    except Exception as e:  # last resort: one line, never a traceback unless asked
        if args.debug:
            raise
        print(
            f"emgwatch {args.command}: internal error: {type(e).__name__}: {e} "
            "(run with --debug for the traceback and please report it)",
            file=sys.stderr,
        )
        return 1


__all__ = ["main", "build_parser", "COMMANDS", "UsageError"]
