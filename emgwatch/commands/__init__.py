"""One module per subcommand: HELP, DESCRIPTION, add_arguments(parser), run(args, cfg) -> int."""

from __future__ import annotations

from emgwatch.errors import EmgwatchError


def not_available(command: str, issue: str) -> EmgwatchError:
    """Honest answer from a command whose implementation has not landed yet."""
    return EmgwatchError(f"'{command}' is not available in this build yet ({issue})")
