"""`emgwatch report SESSION|FILE`: the morning report as self-contained HTML plus a JSON summary."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from emgwatch.annotation_files import add_argument as add_annotations_argument
from emgwatch.config import Config
from emgwatch.domain import CONTEXTS
from emgwatch.errors import UsageError

HELP = "HTML report of a night (timeline, counts, PLM index, zoomed episodes, signal quality)"
DESCRIPTION = """\
Make a self-contained HTML report of a night and a JSON summary beside it.

SESSION|FILE is either a session id from the episode log (see 'emgwatch episodes sessions'; its raw
EDF+ recording is used for the plots) or a recording file (CSV or EDF), on which detection is
run first.

  emgwatch report 12 -o night.html          writes night.html and night.json
  emgwatch report night.edf --context sleep

emgwatch is a monitoring aid, not a medical device; the report is not a diagnosis.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="SESSION|FILE", help="session id or recording file")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="HTML file (default: <source>-report.html)"
    )
    p.add_argument("--db", metavar="PATH", help="episode log for SESSION (default: from config)")
    p.add_argument(
        "--fs", type=float, metavar="HZ", help="sampling rate of a CSV without a time column"
    )
    p.add_argument(
        "--context",
        choices=CONTEXTS,
        default=None,
        help="detection context for a FILE (default: detection.context from config)",
    )
    add_annotations_argument(p)


def default_page(recording: Path) -> Path:
    """Where the report of a recording goes without -o: beside the working directory."""
    return Path(f"{recording.stem}-report.html")


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.report import make_report, night_from_recording, night_from_session

    t0 = time.perf_counter()
    path = Path(args.source)
    if args.output:  # the page and its JSON beside it: neither may be the recording read
        from emgwatch.outfile import check_output

        html = Path(args.output)
        if html.suffix.lower() == ".json":  # the page and its summary would be one file
            raise UsageError(f"{html}: name the HTML page; its JSON summary is written beside it")
        html.parent.mkdir(parents=True, exist_ok=True)  # as the report always did
        for out in (html, html.with_suffix(".json")):
            check_output(
                out,
                reading=((path,) if path.exists() else ())
                + ((args.annotations,) if args.annotations else ()),
            )
        if html.with_suffix(".json").name.endswith(".truth.json"):
            raise UsageError(
                f"{html}: its JSON summary would overwrite a truth file; name it otherwise"
            )
    if not args.output and args.annotations:  # the default names may be the scoring file's
        from emgwatch.outfile import check_output

        page = default_page(path)
        for out in (page, page.with_suffix(".json")):
            check_output(out, reading=(args.annotations,))
    if path.exists():
        model = None
        if cfg.detection.model:
            from emgwatch.model import load_model

            model = load_model(cfg.detection.model)
        night = night_from_recording(
            path,
            context=args.context or cfg.detection.context,
            model=model,
            fs=args.fs,
            annotations=args.annotations,
        )
        default = default_page(path)
    elif args.source.isdigit():
        if args.annotations:
            raise UsageError("--annotations goes with a recording FILE, not a session id")
        db = Path(args.db) if args.db else cfg.database_path
        night = night_from_session(db, int(args.source))
        default = Path(f"session-{args.source}-report.html")
    else:
        raise UsageError(f"{args.source}: no such file, and not a session id (a number)")
    out_html, out_json = make_report(night, Path(args.output) if args.output else default)
    print(
        f"{out_html} ({len(night.episodes)} episodes, {night.duration_s / 3600:.1f} h) and {out_json} "
        f"written in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    return 0
