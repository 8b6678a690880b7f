"""Options and config values that once crashed a command, hung it, or destroyed a file
(found by fuzzing every subcommand, session 15)."""

from __future__ import annotations

import pytest

from emgwatch.cli import main
from emgwatch.config import load_config
from emgwatch.errors import ConfigError
from emgwatch.model import DEFAULT_MODEL


def _run(capsys, *args: str) -> tuple[int, str]:
    try:
        rc = main([*map(str, args)])
    except SystemExit as e:  # argparse refuses a value: exit 2 with one line
        rc = int(e.code or 0)
    err = capsys.readouterr().err
    return rc, err


@pytest.mark.parametrize(
    ("args", "say"),
    [
        (["run", "--no-mqtt", "--speed", "nan"], "argument --speed: expected a number > 0"),
        (["demo", "--speed", "inf"], "argument --speed: expected a number > 0"),
        (["run", "--device-id", "a/#"], "argument --device-id: expected 1-64 letters"),
        (["calibrate", "--device-id", "../../x"], "argument --device-id: expected 1-64 letters"),
        (["simulate", "--seed", "-1", "-o", "x.edf"], "argument --seed: expected an integer 0"),
        (["train", "--random-state", "-1"], "argument --random-state: expected an integer 0"),
    ],
)
def test_silly_option_values_are_refused_by_the_parser(capsys, args, say):
    rc, err = _run(capsys, *args)
    assert rc == 2 and say in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("toml", "say"),
    [
        ('[device]\nid = "a/#"\n', "device.id: expected 1-64 letters"),
        ("[mqtt]\nkeepalive_s = -5\n", "mqtt.keepalive_s: expected 5-65535 seconds"),
        ("[mqtt]\nmetrics_interval_s = 0\n", "mqtt.metrics_interval_s: expected at least 1"),
        ("[storage]\nrotate_s = 0\n", "storage.rotate_s: expected at least 60 seconds"),
        ("[device]\nfs_hz = -1000\n", "device.fs_hz: expected 200-4000 Hz"),
        ("[source]\nspeed = nan\n", "source.speed: expected a number > 0"),
    ],
)
def test_config_values_out_of_range_name_the_file_and_key(tmp_path, toml, say):
    p = tmp_path / "c.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError, match=f"{p}: {say}"):
        load_config(p)


def test_a_tls_file_that_is_not_a_certificate_stops_the_start(tmp_path):
    from emgwatch.sinks.mqtt import MqttSink

    ca = tmp_path / "ca.pem"
    ca.write_text("garbage\n")
    cfg = load_config(None).mqtt
    cfg.ca_file = str(ca)
    with pytest.raises(ConfigError, match="mqtt TLS files .* cannot be loaded"):
        MqttSink(cfg, "dev1", outbox=tmp_path / "outbox.sqlite")


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")
def test_calibrate_runs_with_a_simulated_person(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("EMGWATCH_CONFIG", raising=False)
    rc, err = _run(
        capsys, "calibrate", "--source", "sim", "--rest", "2", "--contractions", "1", "--hold", "1"
    )
    assert rc == 0, err
    saved = list(tmp_path.rglob("calibration/*.json"))
    assert len(saved) == 1 and "mvc" in saved[0].read_text().lower()


@pytest.mark.parametrize("command", [["calibrate", "--rest", "2"], ["run", "--no-mqtt"]])
def test_a_device_rate_the_simulator_cannot_write_is_one_line(tmp_path, capsys, command):
    # recordings are read from 200 Hz, the generator writes 500 Hz up: a board configured at
    # 250 Hz with the simulated source once crashed calibrate ("Wn[0] must be less than Wn[1]")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[device]\nfs_hz = 200\n[storage]\ndir = "{tmp_path}"\n')
    rc, err = _run(capsys, "--config", cfg, *command[:1], "--source", "sim", *command[1:])
    assert rc == 2 and "Traceback" not in err and "internal error" not in err
    assert "200 Hz is outside the 500-4000 Hz that the simulator writes" in err


def test_outputs_never_overwrite_what_a_command_reads(tmp_path, capsys):
    rec = tmp_path / "e.edf"
    assert _run(capsys, "simulate", "--duration", "20s", "-o", rec)[0] == 0
    before = rec.read_bytes()
    truth = tmp_path / "e.truth.json"
    for args in (
        ["evaluate", rec, "--json", rec],
        ["evaluate", rec, "--json", truth],
        ["report", rec, "-o", rec],
        ["report", rec, "-o", tmp_path / "e.truth.html"],
        ["simulate", "--duration", "10s", "-o", tmp_path / "s.edf", "--truth", tmp_path / "s.edf"],
    ):
        rc, err = _run(capsys, *args)
        assert rc in (1, 2) and len(err.strip().splitlines()) == 1, (args, err)
    assert rec.read_bytes() == before and truth.exists()
    assert not (tmp_path / "s.edf").exists()


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model")
def test_model_files_that_are_not_our_window_model_are_named(tmp_path):
    import json
    import shutil

    from emgwatch.episode_stage import stage_path
    from emgwatch.errors import InputError
    from emgwatch.model import load_model

    stage = stage_path(DEFAULT_MODEL)
    if stage.exists():  # the second stage given where the window model belongs
        with pytest.raises(InputError, match="an episode stage, not a window model"):
            load_model(stage)
    for card, say in (([1, 2], "model card: expected a JSON object"), ({"versions": "x"}, "key")):
        m = tmp_path / "m.skops"
        shutil.copy(DEFAULT_MODEL, m)
        good = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
        m.with_suffix(".json").write_text(
            json.dumps(card if isinstance(card, list) else good | card)
        )
        with pytest.raises(InputError, match=say):
            load_model(m, with_stage=False)


def test_evaluate_refuses_a_truth_that_cannot_be_the_recordings(tmp_path, capsys):
    import json

    rec = tmp_path / "e.edf"
    assert _run(capsys, "simulate", "--duration", "30s", "-o", rec)[0] == 0
    truth = json.loads((tmp_path / "e.truth.json").read_text())
    cases = (
        ({"duration_s": 10.0}, "key 'duration_s': the truth covers 10 s"),
        ({"episodes": [{"start": 1, "end": 2, "kind": "spasm", "channel": "leg"}]}, "no channel"),
        ({"episodes": [{"start": 100, "end": 102, "kind": "spasm"}]}, "after the recording"),
        ({"episodes": [{"start": -10, "end": -5, "kind": "spasm"}]}, "before the recording"),
        ({"duration_s": 10**400}, "expected a finite number"),
    )
    for change, say in cases:
        t = tmp_path / "t.json"
        t.write_text(json.dumps(truth | change))
        rc, err = _run(capsys, "evaluate", rec, "--truth", t)
        assert rc == 1 and len(err.strip().splitlines()) == 1 and say in err, err


def test_reading_commands_leave_another_programs_database_alone(tmp_path, capsys):
    import sqlite3

    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as c:
        c.execute("create table foo(x)")
    before = other.read_bytes()
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    for db in (other, empty):
        rc, err = _run(capsys, "episodes", "list", "--db", db)
        assert rc == 1 and "not an emgwatch episode log" in err
    assert other.read_bytes() == before and empty.read_bytes() == b""
    assert not list(tmp_path.glob("*-wal"))


def test_a_config_file_with_a_bom_is_read(tmp_path):
    p = tmp_path / "c.toml"
    p.write_bytes('\ufeff[device]\nid = "bed"\n'.encode())
    assert load_config(p).device.id == "bed"


@pytest.mark.parametrize(
    ("args", "say"),
    [
        (["--rest", "-1"], "argument --rest: expected seconds, > 0"),
        (["--hold", "inf"], "argument --hold: expected seconds, > 0"),
        (["--contractions", "100000"], "argument --contractions: expected 1 to 20"),
    ],
)
def test_calibrate_refuses_phases_it_cannot_run(capsys, args, say):
    rc, err = _run(capsys, "calibrate", "--source", "sim", *args)
    assert rc == 2 and say in err
