"""The project's synthetic datasets: train / validation / test / stage, split by seed, rebuilt
byte-identically from a committed manifest of parameters and checksums.

The entries are defined here in code (so ``iter_dataset`` works from an installed package
without files); ``datasets/manifest.json`` records the same entries plus the sha256 of every
generated file, which ``emgwatch datasets build`` checks after regenerating.
Training data vary everything a detector must not depend on: sampling rate (500-4000 Hz, round
and power-of-two), gain (0.1-10x), raw and envelope sensors, ADC counts or µV/mV/V, mains
50/60/none, 1-2 channels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emgwatch.errors import InputError, UsageError
from emgwatch.recording import Recording
from emgwatch.synth.stream import SynthStream, simulate, stream
from emgwatch.truth import Truth

SPLITS = ("train", "validation", "test", "stage")
SPLIT_SEED_BASE = {"train": 100_000, "validation": 200_000, "test": 300_000, "stage": 400_000}
MANIFEST_VERSION = 1
DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "datasets" / "manifest.json"
DEFAULT_OUT = Path("datasets") / "build"

# (scenario, minutes, count) per split; seeds are disjoint between splits
_PLAN = {
    "train": [("mixed", 20, 56), ("night", 45, 8), ("exercise", 20, 8), ("daily", 20, 8)],
    "validation": [("mixed", 20, 6), ("night", 30, 2), ("exercise", 20, 2), ("daily", 20, 2)],
    # the test split holds a whole night: "false alarms per night" is measured, not extrapolated
    "test": [
        ("mixed", 20, 3),
        ("night", 60, 1),
        ("exercise", 30, 1),
        ("daily", 30, 1),
        ("night", 480, 1),
        ("exercise", 60, 2),
    ],
    # for the episode-level second stage: episodes cut by a window model that never saw these
    # recordings, so the stage learns how far to trust window probabilities on unseen data
    "stage": [("mixed", 20, 40), ("night", 45, 8), ("exercise", 20, 12), ("daily", 20, 8)],
}
# the four rates the project names plus the powers of two many EMG amplifiers use
_FS_CHOICES = (500.0, 512.0, 1000.0, 1000.0, 1024.0, 2000.0, 2048.0, 4000.0)
_UNITS_CHOICES = ("adc",) * 15 + ("uV", "uV", "mV", "mV", "V")


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    split: str
    scenario: str
    duration_s: float
    fs: float
    seed: int
    gain: float
    sensor: str
    units: str
    mains_hz: float
    channels: int
    params: dict = field(default_factory=dict)

    def stream(self) -> SynthStream:
        return stream(
            self.scenario,
            self.duration_s,
            self.fs,
            self.seed,
            channels=self.channels,
            mains_hz=self.mains_hz,
            gain=self.gain,
            sensor=self.sensor,
            units=self.units,
            **self.params,
        )

    def simulate(self) -> tuple[Recording, Truth]:
        return simulate(
            self.scenario,
            self.duration_s,
            self.fs,
            self.seed,
            channels=self.channels,
            mains_hz=self.mains_hz,
            gain=self.gain,
            sensor=self.sensor,
            units=self.units,
            **self.params,
        )


def dataset_entries(split: str | None = None) -> list[DatasetEntry]:
    """Every entry of a split (or of all splits), drawn deterministically from the split's seed."""
    splits = SPLITS if split is None else (_check_split(split),)
    out = []
    for sp in splits:
        rng = np.random.default_rng(SPLIT_SEED_BASE[sp])
        i = 0
        for scenario, minutes, count in _PLAN[sp]:
            for _ in range(count):
                seed = SPLIT_SEED_BASE[sp] + i
                sensor = "envelope" if rng.random() < 0.25 else "raw"
                out.append(
                    DatasetEntry(
                        name=f"{sp}-{i:03d}-{scenario}",
                        split=sp,
                        scenario=scenario,
                        duration_s=60.0 * minutes,
                        fs=float(rng.choice(_FS_CHOICES)),
                        seed=seed,
                        gain=round(float(np.exp(rng.uniform(np.log(0.1), np.log(10.0)))), 3),
                        sensor=sensor,
                        units=str(rng.choice(_UNITS_CHOICES)),
                        mains_hz=float(rng.choice([50.0, 60.0, 0.0])),
                        channels=int(rng.choice([1, 1, 1, 2])),
                    )
                )
                i += 1
    return out


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    return split


def iter_dataset(split: str) -> Iterator[tuple[Recording, Truth]]:
    """Generate a split in memory, one recording at a time (no files), e.g. for training."""
    for entry in dataset_entries(split):
        yield entry.simulate()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# The same code and libraries gave other EDF bytes for 5 of 169 recordings on another machine
# (2026-11-30; all in physical units, every truth file identical). The likely cause is float
# rounding that differs between CPUs (SIMD paths of numpy and scipy): a value near a 16-bit
# step then lands on the other side, changing the signal by far less than 1e-6 of its spread.
# Beside the byte checksums the
# manifest keeps a summary of every EDF (samples, mean and spread of each channel, a hash of
# its annotations); a file whose bytes differ but whose summary agrees this closely is the same
# recording. Any real change (a generator edit, a damaged file) moves the summary far more.
SUMMARY_RTOL = 1e-6


def edf_summary(path: Path) -> dict:
    """What must not change in a recording however its floats were rounded."""
    import edfio

    edf = edfio.read_edf(path)
    chans = [s for s in edf.signals]
    notes = "\n".join(f"{a.onset:.6f} {a.duration} {a.text}" for a in edf.annotations)
    return {
        "samples": [int(len(s.digital)) for s in chans],
        "mean": [float(f"{np.mean(s.data):.12g}") for s in chans],
        "std": [float(f"{np.std(s.data):.12g}") for s in chans],
        "annotations": hashlib.sha256(notes.encode()).hexdigest(),
    }


def same_recording(got: dict, want: dict | None) -> bool:
    """Whether two EDF summaries describe the same recording up to float rounding."""
    if not want or got["samples"] != want.get("samples"):
        return False
    if got["annotations"] != want.get("annotations"):
        return False
    for key in ("mean", "std"):
        for g, w, sd in zip(got[key], want[key], want["std"], strict=True):
            if abs(g - w) > SUMMARY_RTOL * max(abs(sd), 1e-12):
                return False
    return True


def entry_files(entry: DatasetEntry, out: Path) -> dict[str, Path]:
    return {"edf": out / f"{entry.name}.edf", "truth": out / f"{entry.name}.truth.json"}


def build_entry(entry: DatasetEntry, out: Path) -> dict[str, str]:
    from emgwatch.synth.output import write_stream
    from emgwatch.truth import save_truth

    files = entry_files(entry, out)
    s = entry.stream()
    write_stream(files["edf"], s)
    save_truth(files["truth"], s.truth)
    return {k: _sha256(p) for k, p in files.items()}


def manifest_dict(
    entries: list[DatasetEntry],
    checksums: dict[str, dict[str, str]],
    summaries: dict[str, dict] | None = None,
) -> dict:
    summaries = summaries or {}
    return {
        "version": MANIFEST_VERSION,
        "generator": "emgwatch.synth",
        "note": "rebuild with 'emgwatch datasets build'; files are EDF+ (truth as annotations) "
        "plus <name>.truth.json",
        "entries": [
            {**asdict(e), "sha256": checksums.get(e.name, {})}
            | ({"edf_summary": summaries[e.name]} if e.name in summaries else {})
            for e in entries
        ],
    }


MISMATCH = "CHECKSUM MISMATCH"


def _file_status(path: Path, kind: str, digest: str, item: dict) -> tuple[bool, str]:
    """(ok, status) of a built file whose sha256 is ``digest`` against its manifest entry:
    byte-identical; for an EDF, the same recording with floats rounded otherwise (another
    CPU); or a real mismatch."""
    if digest == item.get("sha256", {}).get(kind):
        return True, "ok"
    if kind != "edf":
        return False, MISMATCH
    try:
        summary = edf_summary(path)
    except Exception:  # noqa: BLE001 - any file edfio cannot read is simply not the recording
        return False, f"{MISMATCH} (not a readable EDF)"
    if same_recording(summary, item.get("edf_summary")):
        return (
            True,
            "ok (same signal to 1e-6 of its spread; bytes differ, as float rounding on another CPU makes them)",
        )
    return False, MISMATCH


def load_manifest(path: str | Path) -> dict:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(p, None, "manifest not found") from None
    except json.JSONDecodeError as e:
        raise InputError(p, f"line {e.lineno}", f"malformed JSON: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise InputError(p, f"byte {e.start}", "not UTF-8 text") from None
    if (
        not isinstance(data, dict)
        or data.get("version") != MANIFEST_VERSION
        or "entries" not in data
    ):
        raise InputError(p, None, f"not a version-{MANIFEST_VERSION} dataset manifest")
    if not isinstance(data["entries"], list):
        raise InputError(p, "key 'entries'", "expected a list")
    for i, item in enumerate(data["entries"]):
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
            raise InputError(p, f"entries[{i}]", "expected an object with a name")
    return data


def save_manifest(path: str | Path, data: dict) -> None:
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def check_manifest_matches_code(manifest: dict, path: Path) -> None:
    """The manifest's parameters must be what this code generates, or checksums mean nothing."""
    code = {e.name: asdict(e) for e in dataset_entries()}
    for i, item in enumerate(manifest["entries"]):
        name = item.get("name")
        params = {k: v for k, v in item.items() if k not in ("sha256", "edf_summary")}
        if code.get(name) != params:
            raise InputError(
                path,
                f"entries[{i}]",
                f"entry {name!r} differs from the generator's dataset definition "
                "(run 'emgwatch datasets build --update-manifest' after changing the generator)",
            )


Report = Callable[[str], None]


def build(
    out: Path,
    split: str | None = None,
    manifest_path: Path = DEFAULT_MANIFEST,
    *,
    update_manifest: bool = False,
    report: Report = print,
) -> int:
    """Regenerate the files of a split and compare their checksums with the manifest.

    Returns the number of mismatches (0 = byte-identical). With ``update_manifest`` the
    manifest is rewritten with the new checksums instead.
    """
    entries = dataset_entries(split)
    out.mkdir(parents=True, exist_ok=True)
    manifest = None
    if not update_manifest:
        manifest = load_manifest(manifest_path)
        check_manifest_matches_code(manifest, manifest_path)
    items = {e["name"]: e for e in (manifest or {}).get("entries", [])}
    got: dict[str, dict[str, str]] = {}
    summaries: dict[str, dict] = {}
    bad = 0
    for e in entries:
        got[e.name] = sums = build_entry(e, out)
        status = "built"
        if update_manifest:
            summaries[e.name] = edf_summary(entry_files(e, out)["edf"])
        if manifest is not None:
            item = items.get(e.name, {})
            files = entry_files(e, out)
            truth_ok, _ = _file_status(files["truth"], "truth", sums["truth"], item)
            ok, status = _file_status(files["edf"], "edf", sums["edf"], item)
            if not truth_ok:
                ok, status = False, MISMATCH
            bad += not ok
        report(
            f"{e.name:28s} {e.scenario:8s} {e.duration_s / 60:4.0f} min {e.fs:6.0f} Hz "
            f"gain {e.gain:6.3f} {e.sensor:8s} {e.units:3s} mains {e.mains_hz:2.0f} "
            f"ch {e.channels}  {sums['edf'][:12]}  {status}"
        )
    if update_manifest:
        old, old_summaries = {}, {}
        if Path(manifest_path).exists():
            previous = load_manifest(manifest_path)["entries"]
            old = {x["name"]: x.get("sha256", {}) for x in previous}
            old_summaries = {x["name"]: x["edf_summary"] for x in previous if "edf_summary" in x}
        old.update(got)
        old_summaries.update(summaries)
        save_manifest(manifest_path, manifest_dict(dataset_entries(), old, old_summaries))
        report(f"manifest written: {manifest_path}")
    return bad


def verify(
    out: Path,
    split: str | None = None,
    manifest_path: Path = DEFAULT_MANIFEST,
    report: Report = print,
) -> int:
    """Check already-built files against the manifest without regenerating them."""
    manifest = load_manifest(manifest_path)
    check_manifest_matches_code(manifest, manifest_path)
    bad = checked = 0
    for i, item in enumerate(manifest["entries"]):
        if split is not None and item.get("split") != split:
            continue
        sums = item.get("sha256")
        if not (isinstance(sums, dict) and sums):
            raise InputError(manifest_path, f"entries[{i}].sha256", "expected the files' checksums")
        for kind in sums:
            checked += 1
            p = out / (f"{item['name']}.edf" if kind == "edf" else f"{item['name']}.truth.json")
            if not p.exists():
                status, ok = "missing", False
            else:
                ok, status = _file_status(p, kind, _sha256(p), item)
            bad += not ok
            report(f"{p.name:40s} {status}")
    if not checked:  # passing on nothing checked would read as "all is well"
        raise InputError(
            manifest_path, None, f"no recording{f' of split {split!r}' if split else ''} to check"
        )
    return bad
