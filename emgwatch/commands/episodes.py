"""`emgwatch episodes list|export|sessions`: read the episode log (SQLite) with filters."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from emgwatch.config import Config
from emgwatch.domain import EPISODE_KINDS
from emgwatch.errors import EmgwatchError, UsageError
from emgwatch.sinks.episode_log import EpisodeLog, LoggedEpisode

HELP = "list or export logged episodes (CSV/JSONL) from the episode log"
DESCRIPTION = """\
Read the episode log written by live sessions ('emgwatch run').

  emgwatch episodes sessions                      the recorded sessions and their ids
  emgwatch episodes list --since 2026-11-01 --kind cramp
  emgwatch episodes export --session 3 --format jsonl -o night3.jsonl

Dates are local time; a date without a time in --until includes that whole day.
"""

CSV_COLUMNS = (
    "session",
    "id",
    "kind",
    "channel",
    "start_utc",
    "start_s",
    "end_s",
    "duration_s",
    "confidence",
    "level_db",
    "extra",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("list", "export", "sessions"), help="what to do")
    p.add_argument(
        "--db", metavar="PATH", help="episode log (default: storage.dir/storage.database)"
    )
    p.add_argument("--since", metavar="DATE", help="episodes starting at or after DATE[THH:MM]")
    p.add_argument("--until", metavar="DATE", help="episodes starting before DATE[THH:MM]")
    p.add_argument(
        "--kind",
        action="append",
        metavar="KIND",
        help=f"only this kind (repeatable): {', '.join(EPISODE_KINDS)}",
    )
    p.add_argument("--session", type=int, metavar="ID", help="only this session")
    p.add_argument(
        "--format", choices=("csv", "jsonl"), default=None, help="export format (default csv)"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """A local date or date-time; ``end_of_day`` makes a bare date mean "through that day"."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"cannot read date {text!r} (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    if end_of_day and len(text.strip()) == 10:
        dt += timedelta(days=1)
    return dt if dt.tzinfo else dt.astimezone()


def write_csv(rows: list[LoggedEpisode], out: TextIO) -> None:
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS)  # RFC 4180 CRLF: quotes any \r or \n
    w.writeheader()
    for r in rows:
        d = r.to_row()
        d["extra"] = json.dumps(d["extra"], sort_keys=True) if d["extra"] else ""
        w.writerow(d)


def write_jsonl(rows: list[LoggedEpisode], out: TextIO) -> None:
    for r in rows:
        out.write(json.dumps(r.to_row(), sort_keys=False) + "\n")


def _print_table(rows: list[LoggedEpisode], out: TextIO) -> None:
    if not rows:
        out.write("no episodes match\n")
        return
    out.write(
        f"{'session':>7}  {'start (local)':19}  {'kind':9} {'channel':8} {'dur s':>7}  {'conf':>5}  {'dB':>6}\n"
    )
    for r in rows:
        e = r.episode
        dur = "ongoing" if e.duration_s is None else f"{e.duration_s:.1f}"
        local = r.start_time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        out.write(
            f"{r.session_id:>7}  {local:19}  {e.kind:9} {e.channel:8} {dur:>7}  "
            f"{e.confidence:5.2f}  {e.level_db:6.1f}\n"
        )
    out.write(f"{len(rows)} episodes\n")


def run(args: argparse.Namespace, cfg: Config) -> int:
    db = Path(args.db) if args.db else cfg.database_path
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, end_of_day=True) if args.until else None
    if args.kind:
        unknown = [k for k in args.kind if k not in EPISODE_KINDS]
        if unknown:
            raise UsageError(f"unknown kind {unknown[0]!r} (known: {', '.join(EPISODE_KINDS)})")
    if args.format and args.action != "export":
        raise UsageError("--format applies to 'export' only")
    if args.output:  # never the database being read, and checked before reading it
        from emgwatch.outfile import check_output

        check_output(args.output, reading=(db,))
    with EpisodeLog(db, create=False) as elog:
        if args.action == "sessions":
            return _sessions(elog, sys.stdout)
        rows = elog.episodes(session=args.session, since=since, until=until, kinds=args.kind)
    out: TextIO
    try:
        out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    except OSError as e:
        raise EmgwatchError(f"{args.output}: cannot write ({e.strerror})") from None
    try:
        if args.action == "list":
            _print_table(rows, out)
        elif (args.format or "csv") == "csv":
            write_csv(rows, out)
        else:
            write_jsonl(rows, out)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def _sessions(elog: EpisodeLog, out: TextIO) -> int:
    sessions = elog.sessions()
    if not sessions:
        out.write("no sessions recorded\n")
        return 0
    out.write(
        f"{'id':>4}  {'device':12} {'start (local)':19}  {'hours':>6}  {'context':8} {'episodes':>8}\n"
    )
    for s in sessions:
        hours = (
            "open"
            if s.end_time is None
            else f"{(s.end_time - s.start_time).total_seconds() / 3600:.1f}"
        )
        start = s.start_time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        out.write(
            f"{s.id:>4}  {s.device_id:12} {start:19}  {hours:>6}  {s.context:8} {s.n_episodes:>8}\n"
        )
    return 0
