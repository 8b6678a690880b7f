"""Errors that the CLI turns into one clear line and an exit code.

Library code raises these instead of printing, so the same check serves the CLI, tests and
anyone embedding emgwatch. The message is the whole user-facing text: say where (file, line,
byte offset, config key) and what was expected.
"""

from __future__ import annotations


class EmgwatchError(Exception):
    """A runtime failure the user can act on (exit code 1)."""

    exit_code = 1


class UsageError(EmgwatchError):
    """The command line or configuration is wrong (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file is missing, malformed, or has a value of the wrong type."""


class InputError(EmgwatchError):
    """An input file (recording, model, truth file) cannot be used as given.

    ``location`` is a human-readable place such as ``"line 12"`` or ``"byte 4096"``.
    """

    def __init__(self, path: object, location: str | None, problem: str) -> None:
        self.path = str(path)
        self.location = location
        self.problem = problem
        where = f"{self.path}: {location}" if location else self.path
        super().__init__(f"{where}: {problem}")
