"""`emgwatch simulate` and `emgwatch datasets` from the command line."""

import json

import numpy as np
import pytest

from emgwatch.cli import main
from emgwatch.commands.simulate import parse_duration
from emgwatch.errors import UsageError
from emgwatch.recording import read_recording
from emgwatch.synth import datasets as ds
from emgwatch.truth import load_truth


def test_simulate_writes_recording_truth_and_plot(tmp_path, capsys):
    out = tmp_path / "night.edf"
    png = tmp_path / "night.png"
    rc = main(
        [
            "simulate",
            "--scenario",
            "night",
            "--duration",
            "2m",
            "--fs",
            "500",
            "--seed",
            "1",
            "-o",
            str(out),
            "--plot",
            str(png),
            "--channels",
            "left,right",
            "--mains",
            "60",
        ]
    )
    assert rc == 0
    rec = read_recording(out)
    truth = load_truth(tmp_path / "night.truth.json")
    assert rec.channel_names == ["left", "right"] and rec.n_samples == 60_000
    assert truth.channels == ["left", "right"] and truth.mains_hz == 60 and truth.fs == 500
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "night.truth.json" in capsys.readouterr().err


def test_simulate_truth_path_and_csv(tmp_path):
    rc = main(
        [
            "simulate",
            "--scenario",
            "exercise",
            "--duration",
            "30s",
            "-o",
            str(tmp_path / "e.csv"),
            "--truth",
            str(tmp_path / "t.json"),
            "--no-adc",
            "--sensor",
            "envelope",
            "--gain",
            "3",
        ]
    )
    assert rc == 0
    rec = read_recording(tmp_path / "e.csv")
    assert rec.units == "uV" and rec.n_samples == 30_000
    t = json.loads((tmp_path / "t.json").read_text())
    assert t["sensor"] == "envelope" and t["gain"] == 3.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration=-5s"], "cannot read duration"),
        (["--duration", "0"], "duration must be > 0"),
        (["--fs", "300"], "sampling rate 300 Hz is outside the 500-4000 Hz"),
        (["--scenario", "nap"], "unknown scenario 'nap'"),
        (["--param", "spasm=3"], "unknown parameter 'spasm'"),
        (["--param", "spasm_per_h"], "NAME=NUMBER"),
        (["--mains", "55"], "mains must be"),
    ],
)
def test_bad_simulate_parameters_print_one_line_and_exit_2(tmp_path, capsys, argv, message):
    rc = main(["simulate", "-o", str(tmp_path / "x.edf"), *argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert message in err and "\n" not in err


def test_unknown_output_format_is_a_usage_error(tmp_path, capsys):
    assert main(["simulate", "-o", str(tmp_path / "x.wav")]) == 2
    assert "unknown output format" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("8h", 28800), ("1h30m", 5400), ("2.5", 2.5)]
)
def test_durations_read_like_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


def test_duration_garbage_is_rejected():
    with pytest.raises(UsageError):
        parse_duration("ten minutes")


@pytest.fixture
def tiny_datasets(monkeypatch):
    monkeypatch.setattr(ds, "_PLAN", {sp: [("mixed", 1, 2), ("night", 1, 1)] for sp in ds.SPLITS})


def test_datasets_rebuild_byte_identically_and_detect_tampering(tmp_path, tiny_datasets, capsys):
    manifest = tmp_path / "manifest.json"
    out = tmp_path / "build"
    assert ds.build(out, "validation", manifest, update_manifest=True, report=lambda s: None) == 0
    entries = json.loads(manifest.read_text())["entries"]
    assert len(entries) == 3 * len(ds.SPLITS)
    assert all(e["sha256"] for e in entries if e["split"] == "validation")
    assert (
        main(
            [
                "datasets",
                "build",
                "--split",
                "validation",
                "--out",
                str(tmp_path / "again"),
                "--manifest",
                str(manifest),
            ]
        )
        == 0
    )
    assert "every recording matches" in capsys.readouterr().out
    assert (
        main(
            [
                "datasets",
                "verify",
                "--split",
                "validation",
                "--out",
                str(out),
                "--manifest",
                str(manifest),
            ]
        )
        == 0
    )
    victim = sorted(out.glob("*.edf"))[0]
    data = bytearray(victim.read_bytes())
    header = _data_offset(victim)
    data[header + 240 : header + 640] = bytes(400)  # 200 samples of the first channel zeroed
    victim.write_bytes(bytes(data))
    assert (
        main(
            [
                "datasets",
                "verify",
                "--split",
                "validation",
                "--out",
                str(out),
                "--manifest",
                str(manifest),
            ]
        )
        == 1
    )
    assert "CHECKSUM MISMATCH" in capsys.readouterr().out


def test_iter_dataset_generates_in_memory_with_disjoint_seeds(tiny_datasets):
    got = list(ds.iter_dataset("test"))
    assert len(got) == 3
    rec, truth = got[0]
    assert rec.n_samples == int(60 * rec.fs) and truth.scenario == "mixed"
    seeds = {sp: {e.seed for e in ds.dataset_entries(sp)} for sp in ds.SPLITS}
    assert not (seeds["train"] & seeds["test"]) and not (seeds["train"] & seeds["validation"])


def test_committed_manifest_matches_the_generator_definition():
    manifest = ds.load_manifest(ds.DEFAULT_MANIFEST)
    ds.check_manifest_matches_code(manifest, ds.DEFAULT_MANIFEST)
    assert {e["split"] for e in manifest["entries"]} == set(ds.SPLITS)


def test_training_split_varies_rate_gain_sensor_and_mains():
    train = ds.dataset_entries("train")
    assert {e.fs for e in train} >= {500.0, 1000.0, 2000.0, 4000.0}
    assert min(e.gain for e in train) < 0.3 and max(e.gain for e in train) > 3
    assert {e.sensor for e in train} == {"raw", "envelope"}
    assert {e.mains_hz for e in train} == {0.0, 50.0, 60.0}
    assert {e.units for e in train} >= {"adc", "uV", "mV"}
    assert 20 * 3600 <= sum(e.duration_s for e in train) <= 40 * 3600  # ~1 min to train
    assert np.mean([e.scenario == "mixed" for e in train]) > 0.5


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.integers(0, 9), st.integers(0, 59), st.integers(0, 59))
def test_composed_durations_add_up(h, m, s):
    text = "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"
    assert parse_duration(text) == h * 3600 + m * 60 + s


@given(st.text(max_size=12))
def test_any_duration_text_parses_or_is_a_usage_error(text):
    try:
        assert parse_duration(text) == parse_duration(text)
    except UsageError:
        pass


def _data_offset(edf_path):
    """Bytes before the first data record: 256 + 256 per signal (annotations included)."""
    return 256 * (1 + int(edf_path.read_bytes()[252:256].decode().strip()))


def _summary_of(manifest, name):
    return next(e for e in json.loads(manifest.read_text())["entries"] if e["name"] == name)


def test_a_recording_rounded_otherwise_on_another_cpu_is_accepted_and_a_changed_one_is_not(
    tmp_path, tiny_datasets, capsys
):
    """Byte checksums differ across CPUs for a few recordings in volts; the summary decides."""
    manifest, out = tmp_path / "manifest.json", tmp_path / "build"
    assert ds.build(out, "validation", manifest, update_manifest=True, report=lambda s: None) == 0
    name = "validation-000-mixed"
    entry = _summary_of(manifest, name)
    assert entry["edf_summary"]["samples"] and len(entry["edf_summary"]["annotations"]) == 64
    edf = out / f"{name}.edf"
    header = _data_offset(edf)
    data = bytearray(edf.read_bytes())
    # one 16-bit step off in three samples of the first data record: float rounding elsewhere
    for k in (11, 103, 207):
        v = int.from_bytes(data[header + 2 * k : header + 2 * k + 2], "little", signed=True)
        step = 1 if v < 32767 else -1
        data[header + 2 * k : header + 2 * k + 2] = (v + step).to_bytes(2, "little", signed=True)
    rounded = bytes(data)
    edf.write_bytes(rounded)
    argv = ["datasets", "verify", "--split", "validation", "--out", str(out)]
    assert main([*argv, "--manifest", str(manifest)]) == 0
    said = capsys.readouterr().out
    assert f"{name}.edf" in said and "same signal to 1e-6 of its spread; bytes differ" in said
    # a real change of the signal (a stretch of samples zeroed) is a mismatch
    data[header + 240 : header + 640] = bytes(400)  # 200 samples of the first channel
    edf.write_bytes(bytes(data))
    assert main([*argv, "--manifest", str(manifest)]) == 1
    assert "CHECKSUM MISMATCH" in capsys.readouterr().out
    # a manifest without summaries (older): only the bytes count
    m = json.loads(manifest.read_text())
    for e in m["entries"]:
        e.pop("edf_summary", None)
    manifest.write_text(json.dumps(m))
    edf.write_bytes(rounded)
    assert main([*argv, "--manifest", str(manifest)]) == 1
