"""`emgwatch datasets`: list, rebuild (byte-identically) and verify the synthetic datasets."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from emgwatch.config import Config
from emgwatch.errors import EmgwatchError

HELP = "list, rebuild and verify the synthetic train/validation/test/stage datasets"
DESCRIPTION = """\
The datasets are defined by seeds and parameters (emgwatch.synth.datasets) and recorded with
the sha256 of every generated file in datasets/manifest.json. 'build' regenerates them and
checks every checksum; 'verify' checks files already built. Another CPU may round a few floats
differently, so a recording in volts can differ by one 16-bit step here and there: such a file
is accepted when its summary (samples, mean and spread of each channel, annotations) agrees
with the manifest's to within 1e-6 of the spread, and says so.

examples:
  emgwatch datasets list
  emgwatch datasets build --split validation
  emgwatch datasets verify --out datasets/build
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from emgwatch.synth.datasets import DEFAULT_MANIFEST, DEFAULT_OUT, SPLITS

    p.add_argument("action", choices=("list", "build", "verify"), help="what to do")
    p.add_argument(
        "--out", default=str(DEFAULT_OUT), help="directory of the files (default %(default)s)"
    )
    p.add_argument("--split", choices=SPLITS, help="only this split (default: all)")
    p.add_argument(
        "--manifest",
        default=str(DEFAULT_MANIFEST),
        help="build, verify: manifest path (default: the repository's); list shows the definitions in code",
    )
    p.add_argument(
        "--update-manifest",
        action="store_true",
        help="build: write new checksums instead of checking them",
    )


def run(args: argparse.Namespace, cfg: Config) -> int:
    from emgwatch.synth import datasets as ds

    def say(line: str) -> None:
        print(line, flush=True)

    if args.action == "list":
        total = 0.0
        for e in ds.dataset_entries(args.split):
            total += e.duration_s
            say(
                f"{e.name:28s} {e.scenario:8s} {e.duration_s / 60:4.0f} min {e.fs:6.0f} Hz gain {e.gain:6.3f} "
                f"{e.sensor:8s} {e.units:3s} mains {e.mains_hz:2.0f} ch {e.channels} seed {e.seed}"
            )
        say(f"total {total / 3600:.2f} h of signal")
        return 0
    out = Path(args.out)
    t0 = time.perf_counter()
    if args.action == "build":
        bad = ds.build(
            out, args.split, Path(args.manifest), update_manifest=args.update_manifest, report=say
        )
    else:
        bad = ds.verify(out, args.split, Path(args.manifest), report=say)
    print(f"{args.action}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if bad:
        raise EmgwatchError(f"{bad} file(s) do not match {args.manifest}")
    if not args.update_manifest:
        say(f"{args.action}: every recording matches {args.manifest}")
    return 0
