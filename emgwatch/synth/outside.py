"""Training data from simulators emgwatch did not write (``datasets/simulators/``).

The episode stage decides from a whole episode's shape whether it was a spasm, a leg movement
or somebody's everyday movement. Learned from one generator only, it learns that generator's
habits: on the outside simulators' daily-life recordings (benchmarks/crossgen, never trained
on) most false alarms were everyday movements that the stage called spasms. Measured on those
two, one generator left out at a time (docs/ACCURACY.md, session 20): a stage that also learned
from the other simulator raised 17-20 % fewer false alarms on the one it had not seen.

So ``emgwatch train --outside-simulators`` lets the stage also learn from simulators written
the same way as the two that measure generalisation: each by someone who read DOMAIN.md and
none of emgwatch's code nor any other simulator, each with its own signal model, front ends
and labelling. Measured with two of them, it traded spasms found for fewer false alarms, so
the shipped models do not use it (docs/ACCURACY.md, "Two more simulators"). They are run here,
with fixed seeds, into a temporary directory; their recordings are CSV with an emgwatch truth
JSON beside each, listed in the ``suite.json`` each writes. The crossgen simulators stay out
of training, so that they can still measure it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from emgwatch.errors import EmgwatchError, InputError
from emgwatch.recording import Recording, read_recording
from emgwatch.synth.output import truth_path_for
from emgwatch.truth import Truth, align_truth_channels, check_truth_fits, load_truth

log = logging.getLogger(__name__)

SIMULATORS_DIR = Path(__file__).resolve().parents[2] / "datasets" / "simulators"
# (script in SIMULATORS_DIR, first seed): fixed, so that training is reproducible
STAGE_SUITES: tuple[tuple[str, int], ...] = (("fourthsim.py", 4000), ("fifthsim.py", 5000))
SUITE_TIMEOUT_S = 900.0


def available(suites: tuple[tuple[str, int], ...] = STAGE_SUITES) -> list[tuple[Path, int]]:
    """The suites whose simulator is here (a source checkout; not an installed package)."""
    return [(SIMULATORS_DIR / s, seed) for s, seed in suites if (SIMULATORS_DIR / s).is_file()]


def describe(suites: list[tuple[Path, int]]) -> list[str]:
    """What a model card records of them: simulator, seed and the script's sha256."""
    return [
        f"{p.stem} (seed0 {seed}, sha256 {hashlib.sha256(p.read_bytes()).hexdigest()[:16]})"
        for p, seed in suites
    ]


def generate(script: Path, seed0: int, out: Path) -> list[Path]:
    """Run one simulator's ``suite`` into ``out``; the recordings it lists, in order."""
    cmd = [sys.executable, str(script), "suite", "--out", str(out), "--seed0", str(seed0)]
    log.info("generating %s (seed0 %d) into %s", script.name, seed0, out)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise EmgwatchError(f"{script}: suite took over {SUITE_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise EmgwatchError(f"{script}: suite failed (exit {done.returncode}): {last}")
    listing = out / "suite.json"
    try:
        recs = json.loads(listing.read_text())["recordings"]
        return [out / r["file"] for r in recs]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(listing, None, f"not a suite listing ({type(e).__name__}: {e})") from None


def iter_suites(
    suites: list[tuple[Path, int]], workdir: Path | None = None
) -> Iterator[tuple[Recording, Truth]]:
    """Each suite generated, then its recordings read one at a time with their truth (checked
    to fit, as ``evaluate`` checks any truth). Without ``workdir`` a temporary directory holds
    them (about 1 GB for ten hours) and is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="emgwatch-outside-", dir=workdir) as tmp:
        for script, seed0 in suites:
            out = Path(tmp) / script.stem
            out.mkdir()
            for path in generate(script, seed0, out):
                yield read_pair(path)


def read_pair(path: Path, *, known_sensor: bool = True) -> tuple[Recording, Truth]:
    """A simulator's recording and the truth JSON beside it, the truth's channels named as the
    recording's (a header's unit suffix aside: ``truth.align_truth_channels``); ``known_sensor``: the sensor type as the simulator knows it (training), else
    as the file says it (detected, as a user's run would)."""
    rec = read_recording(path)
    tp = truth_path_for(path)
    truth = load_truth(tp)
    align_truth_channels(truth, rec.channel_names)
    check_truth_fits(truth, rec.duration_s, rec.channel_names, tp)
    if known_sensor and truth.sensor in ("raw", "envelope"):  # as our own datasets say it
        rec.sensor = truth.sensor
    return rec, truth
