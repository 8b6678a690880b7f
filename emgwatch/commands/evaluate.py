from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from emgwatch.annotation_files import add_argument as add_annotations_argument
from emgwatch.config import Config
from emgwatch.domain import CONTEXTS, sensor_to_read

HELP = "score detections against ground truth (event-level sensitivity, precision, false alarms)"
DESCRIPTION = """\
Run the detector on recordings with known episodes and report event-level accuracy: per kind
sensitivity and precision (any-overlap matching), false alarms per hour (and which look-alikes
caused them), onset latency, kind confusion matrix, PLM movements and PLM index.

Ground truth is the emgwatch truth JSON written by 'emgwatch simulate' (NAME.truth.json beside
the recording, or --truth for a single file), or with --truth-from-annotations the recording's
own annotations: the leg movements a sleep scorer marked in an EDF+ ("LM", "PLM", "Limb
movement (left)", ...; scored like the generator's: a detection counts where it overlaps one,
the PLM index from the series they form), or what 'emgwatch simulate' wrote into it. Without
recordings it evaluates a split of datasets/manifest.json generated in memory (default: test —
seeds never used in training).

examples:
  emgwatch evaluate night.edf                     truth from night.truth.json
  emgwatch evaluate --split test --json test.json
  emgwatch evaluate psg.edf --truth-from-annotations --context sleep
                                                  against the scorer's leg movements
  emgwatch evaluate shhs1-200001.edf --annotations shhs1-200001-nsrr.xml \
      --truth-from-annotations --context sleep    ... scored in a file of its own
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("recordings", nargs="*", help="recordings with NAME.truth.json beside them")
    truth = p.add_mutually_exclusive_group()
    truth.add_argument("--truth", help="ground-truth JSON (single recording)")
    truth.add_argument(
        "--truth-from-annotations",
        action="store_true",
        help="the recordings' own annotations are the ground truth (a scorer's leg movements "
        "in a sleep study's EDF+; never a file recorded by 'emgwatch run')",
    )
    add_annotations_argument(p)
    p.add_argument("--fs", type=float, help="sampling rate for CSV files without a time column")
    p.add_argument(
        "--split", default="test", help="dataset split when no recordings are given (default test)"
    )
    p.add_argument(
        "--context",
        choices=CONTEXTS,
        help="override the context (default: from the truth's scenario)",
    )
    p.add_argument("--model", help="model file (default: the shipped model)")
    p.add_argument("--json", dest="json_out", help="also write the full report as JSON here")
    p.add_argument(
        "--by",
        choices=["none", "recording", "scenario", "fs", "gain", "sensor"],
        default="none",
        help="also report per group",
    )


SCENARIO_CONTEXT = {"night": "sleep", "exercise": "exercise"}


def evaluate_pairs(pairs, *, model, context: str | None, progress=None) -> list[dict]:
    """Detect on each (recording, truth) pair; returns one record per recording for pooling."""
    from emgwatch.detector import detect_recording
    from emgwatch.hypnogram import sleep_spans

    out = []
    for k, (rec, truth) in enumerate(pairs):
        ctx = context or SCENARIO_CONTEXT.get(truth.scenario, "auto")
        eps = detect_recording(rec, context=ctx, model=model, sensor=sensor_to_read(rec.sensor))
        out.append(
            {
                "name": getattr(truth, "name", "") or (rec.path.name if rec.path else f"rec{k}"),
                "scenario": truth.scenario,
                "fs": rec.fs,
                "gain": truth.gain,
                "sensor": truth.sensor,
                "context": ctx,
                "duration_s": rec.duration_s,
                "truth": truth.episodes,
                "detected": eps,
                # a hypnogram in the recording: the PLM index per hour of sleep, in sleep
                "sleep_spans": sleep_spans(rec.annotations, rec.duration_s),
            }
        )
        if progress:
            progress(k, out[-1])
    return out


def pooled_score(records: list[dict]) -> dict:
    """Score all recordings as one (no match or PLM series across recordings)."""
    from emgwatch.hypnogram import total_s
    from emgwatch.scoring import score_recordings

    def sleep_s(r: dict) -> float | None:
        spans = r.get("sleep_spans")
        if spans is not None:
            return total_s(spans)
        return r["duration_s"] if r["context"] == "sleep" else None

    return score_recordings(
        [
            (r["truth"], r["detected"], r["duration_s"], sleep_s(r), r.get("sleep_spans"))
            for r in records
        ]
    )


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.errors import UsageError
    from emgwatch.model import load_model
    from emgwatch.scoring import format_report
    from emgwatch.synth.output import truth_path_for

    if args.truth_from_annotations and not args.recordings:
        raise UsageError("--truth-from-annotations needs recordings (their annotations)")
    if args.annotations and len(args.recordings) != 1:
        raise UsageError("--annotations FILE belongs to one recording: name exactly one")
    json_out = None
    if args.json_out:  # checked before a long evaluation, and never one of its inputs
        from emgwatch.outfile import check_output
        from emgwatch.recording import annotations_sidecar

        truths = [args.truth] if args.truth else [truth_path_for(p) for p in args.recordings]
        if args.truth_from_annotations:  # the truth is in the recording (or its sidecar)
            truths = [annotations_sidecar(p) for p in args.recordings]
        if args.annotations:
            truths.append(args.annotations)
        reading = (*args.recordings, *truths)
        json_out = check_output(args.json_out, reading=reading)
    model = load_model(args.model or cfg.detection.model or None)
    if args.recordings:
        from emgwatch.annotation_files import read_annotation_file, with_annotation_file
        from emgwatch.recording import read_recording
        from emgwatch.truth import (
            align_truth_channels,
            check_truth_fits,
            load_truth,
            truth_from_annotations,
        )

        def pair(p: str) -> tuple:
            rec = read_recording(p, fs=args.fs)
            if args.truth_from_annotations and args.annotations:
                # the scorer's file is the truth, alone: the recording's own annotations (an
                # emgwatch run's detections, the same scoring embedded) are not mixed into it
                scored = read_annotation_file(args.annotations, rec)
                apart = dataclasses.replace(rec, annotations=scored, made_by="")
                truth = truth_from_annotations(apart, args.annotations)
                rec.annotations = [*rec.annotations, *scored]  # its stages count, read once
                return rec, truth
            rec = with_annotation_file(rec, args.annotations)
            if args.truth_from_annotations:
                return rec, truth_from_annotations(rec, p)
            tp = args.truth or truth_path_for(p)
            truth = load_truth(tp)
            align_truth_channels(truth, rec.channel_names)
            check_truth_fits(truth, rec.duration_s, rec.channel_names, tp)
            return rec, truth

        pairs = (pair(p) for p in args.recordings)
    else:
        from emgwatch.synth.datasets import iter_dataset

        pairs = iter_dataset(args.split)

    def progress(k, r):
        print(
            f"  evaluated {r['name']} ({r['scenario']}, {r['duration_s'] / 60:.0f} min, {r['fs']:g} Hz, "
            f"gain {r['gain']:g}, {r['sensor']}, context {r['context']})",
            file=sys.stderr,
        )

    records = evaluate_pairs(pairs, model=model, context=args.context, progress=progress)
    report = pooled_score(records)
    report["model_version"] = model.version
    report["hours"] = round(sum(r["duration_s"] for r in records) / 3600, 3)
    print(format_report(report))
    groups = {}
    if args.by != "none":
        key = "name" if args.by == "recording" else args.by
        for r in records:
            groups.setdefault(str(r[key]), []).append(r)
        report["groups"] = {}
        for g, rs in sorted(groups.items()):
            sub = pooled_score(rs)
            report["groups"][g] = sub
            print(f"\n== {args.by} = {g} ==")
            print(format_report(sub))
    if json_out is not None:
        from emgwatch.outfile import written_when_done

        with written_when_done(json_out) as f:
            f.write(json.dumps(report, indent=1, default=str))
    return 0
