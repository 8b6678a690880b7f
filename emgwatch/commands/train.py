from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from pathlib import Path

from emgwatch.config import Config, arg_seed
from emgwatch.errors import UsageError

HELP = "train the window classifier and its episode stage from datasets/ or annotated recordings"
DESCRIPTION = """\
Train the window classifier (a scikit-learn Pipeline saved with skops) and write its model card.

By default it generates the 'train' split of datasets/manifest.json in memory (no files needed),
measures on the 'validation' split, and writes models/emgwatch-default.skops + .json. Then it
trains the episode-level second stage on the episodes that window model's tracker opens
(models/emgwatch-default-episode.skops + .json) from the 'stage' split (with
--outside-simulators also from the suites of the simulators in datasets/simulators/ that
emgwatch did not write, generated with fixed seeds into a temporary directory): it decides an
episode's kind from the whole episode and withdraws alerts that, seen whole, were voluntary
efforts or turnovers. From the
same episodes cut short, it trains the early stage (models/emgwatch-default-episode-early.skops):
the same judgement on an episode still going on, which confirmed alerts wait for ([detection]
alerts). Training is reproducible: the same manifest and --random-state give the same models.

Your own recordings: pass them with their ground truth (emgwatch truth JSON beside each file as
NAME.truth.json, or --truth for a single file). Give the second stage other recordings with
--stage-recordings: fitted on the window model's own training recordings it learns to trust
that model's overconfident probabilities there (it still trains, with a warning).

examples:
  emgwatch train                                  rebuild the shipped model
  emgwatch train --early-stage-only               add the early stage to the model there is
  emgwatch train -o my.skops rec1.edf rec2.csv --stage-recordings rec3.edf rec4.edf
  emgwatch train -o my.skops rec1.edf rec2.csv --fs 1000
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "recordings", nargs="*", help="annotated recordings (default: datasets/ train split)"
    )
    p.add_argument("--truth", help="ground-truth JSON for a single recording")
    p.add_argument("--fs", type=float, help="sampling rate for CSV files without a time column")
    p.add_argument("--split", default="train", help="dataset split to train on (default train)")
    p.add_argument(
        "--validation", default="validation", help="dataset split to validate on ('' to skip)"
    )
    p.add_argument(
        "--stage-split",
        default="stage",
        help="dataset split the episode stage learns from (default stage: recordings the window "
        "classifier never saw)",
    )
    p.add_argument(
        "--stage-recordings",
        nargs="+",
        metavar="REC",
        help="annotated recordings the episode stage learns from (truth JSON beside each); "
        "instead of --stage-split, or of the window model's own recordings",
    )
    p.add_argument(
        "--outside-simulators",
        action="store_true",
        help="the episode stage also learns from the suites of the simulators in "
        "datasets/simulators/ that emgwatch did not write (measured, not shipped: "
        "docs/ACCURACY.md)",
    )
    p.add_argument("-o", "--output", help="model path (default models/emgwatch-default.skops)")
    p.add_argument("--random-state", type=arg_seed, default=0)
    stage = p.add_mutually_exclusive_group()
    stage.add_argument(
        "--no-episode-stage", action="store_true", help="train the window classifier only"
    )
    stage.add_argument(
        "--episode-stage-only",
        action="store_true",
        help="keep the window classifier at --output and retrain only the episode stages",
    )
    stage.add_argument(
        "--early-stage-only",
        action="store_true",
        help="keep the window classifier and episode stage at --output and train only the early "
        "episode stage",
    )


def _pairs_from_files(paths: list[str], truth: str | None, fs: float | None):
    from emgwatch.recording import read_recording
    from emgwatch.synth.output import truth_path_for
    from emgwatch.truth import load_truth

    for p in paths:
        yield read_recording(p, fs=fs), load_truth(truth if truth else truth_path_for(p))


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.episode_stage import early_stage_path, stage_path
    from emgwatch.model import DEFAULT_MODEL
    from emgwatch.outfile import check_output

    log = logging.getLogger("emgwatch.train")
    out = Path(args.output) if args.output else DEFAULT_MODEL
    if args.early_stage_only and not stage_path(out).exists():
        raise UsageError(
            f"--early-stage-only: no episode stage {stage_path(out)} to add an early stage to; "
            "train it first (--episode-stage-only)"
        )
    if args.outside_simulators:
        from emgwatch.synth import outside

        if args.recordings or args.stage_recordings or args.no_episode_stage:
            raise UsageError(
                "--outside-simulators adds to the stage split the episode stage learns from; "
                "not with recordings, --stage-recordings or --no-episode-stage"
            )
        if not outside.available():
            raise UsageError(
                f"--outside-simulators: none of {', '.join(s for s, _ in outside.STAGE_SUITES)} "
                f"in {outside.SIMULATORS_DIR} (a source checkout holds them)"
            )
    out.parent.mkdir(parents=True, exist_ok=True)  # models/ of a fresh checkout, or a new one
    check_output(out, reading=tuple(args.recordings or ()) + tuple(args.stage_recordings or ()))
    # a model is its window classifier, its second stage and their cards: a run that fails
    # half-way (bad stage recordings, Ctrl-C) puts back the set that was there
    files = [
        f
        for model in (out, stage_path(out), early_stage_path(out))
        for f in (model, model.with_suffix(".json"))
    ]
    before = {f: f.read_bytes() for f in files if f.exists()}
    try:
        return _train(args, out, log)
    except BaseException:
        for f in files:
            if f in before:
                f.write_bytes(before[f])
            else:
                f.unlink(missing_ok=True)
        raise


def _train(args: argparse.Namespace, out: Path, log: logging.Logger) -> int:
    from emgwatch.episode_stage import early_stage_path, stage_path
    from emgwatch.synth.datasets import DEFAULT_MANIFEST, iter_dataset, load_manifest
    from emgwatch.training import train_episode_stage, train_model

    def progress(k, rec):
        print(
            f"  features: recording {k + 1} ({rec.duration_s / 60:.0f} min at {rec.fs:g} Hz)",
            file=sys.stderr,
        )

    if args.recordings:
        train_pairs = _pairs_from_files(args.recordings, args.truth, args.fs)
        val_pairs = None
        manifest = {"recordings": [str(Path(p).name) for p in args.recordings]}
    else:
        manifest = load_manifest(DEFAULT_MANIFEST)
        train_pairs = iter_dataset(args.split)
        val_pairs = iter_dataset(args.validation) if args.validation else None
    if not (args.episode_stage_only or args.early_stage_only):
        _, card = train_model(
            train_pairs,
            val_pairs,
            out,
            manifest=manifest,
            random_state=args.random_state,
            progress=progress,
        )
        log.info("model card: %s", json.dumps(card["metrics"]))
        print(
            f"wrote {out} and {out.with_suffix('.json')} "
            f"({card['n_training_windows']} training windows)"
        )
        _print_validation("window", card["metrics"].get("validation"))
    if args.no_episode_stage:
        return 0
    if args.stage_recordings:
        train_pairs = _pairs_from_files(args.stage_recordings, None, args.fs)
        stage_data: str | list[str] = [Path(p).name for p in args.stage_recordings]
    elif args.recordings:
        log.warning(
            "the episode stage learns from the window model's own training recordings; "
            "give it others with --stage-recordings for an honest second opinion"
        )
        train_pairs = _pairs_from_files(args.recordings, args.truth, args.fs)
        stage_data = manifest["recordings"]
    else:
        from emgwatch.synth import outside

        train_pairs = iter_dataset(args.stage_split)
        val_pairs = iter_dataset(args.validation) if args.validation else None
        stage_data = f"{DEFAULT_MANIFEST.name}: split {args.stage_split!r}"
        suites = outside.available() if args.outside_simulators else []
        if suites:  # other generators' habits too (emgwatch/synth/outside.py)
            train_pairs = itertools.chain(train_pairs, outside.iter_suites(suites))
            stage_data += "; " + "; ".join(outside.describe(suites))
    written = train_episode_stage(
        train_pairs,
        val_pairs,
        out,
        random_state=args.random_state,
        progress=progress,
        training_data=stage_data,
        early_only=args.early_stage_only,
    )
    if not written:
        which = early_stage_path(out) if args.early_stage_only else stage_path(out)
        print(f"no second stage: too few episodes to learn from ({which} not written)")
        return 0
    if (scard := written.get("episode stage")) is not None:
        print(
            f"wrote {stage_path(out)} ({scard['n_training_candidates']} training episodes, "
            f"alerts withdrawn at p(none) >= {scard['reject_at']})"
        )
        _print_validation("episode", scard["metrics"].get("validation"))
    if "early episode stage" in written:
        print(f"wrote {early_stage_path(out)} (the episode stage for episodes still going on)")
    return 0


def _print_validation(level: str, v: dict | None) -> None:
    if not v:
        return
    print(f"validation ({level} level): accuracy", v["accuracy"])
    for cls, m in v.items():
        if isinstance(m, dict) and m["n"]:
            print(f"  {cls:10s} n={m['n']:7d} recall={m['recall']} precision={m['precision']}")
