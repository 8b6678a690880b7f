from pathlib import Path

import pytest

from emgwatch.config import Config, load_config, to_toml
from emgwatch.errors import ConfigError


def test_defaults_work_without_a_file():
    cfg = load_config(None)
    assert cfg.device.fs_hz == 1000.0
    assert cfg.detection.context == "auto"
    assert cfg.mqtt.url.startswith("mqtt://")


def test_file_overrides_defaults_and_flags_override_file(tmp_path: Path):
    p = tmp_path / "c.toml"
    p.write_text('[device]\nid = "calf-left"\nfs_hz = 2000\n[mqtt]\nurl = "mqtt://a:1"\n')
    cfg = load_config(p, overrides={"mqtt": {"url": "mqtt://b:2"}})
    assert cfg.device.id == "calf-left"
    assert cfg.device.fs_hz == 2000.0 and isinstance(cfg.device.fs_hz, float)
    assert cfg.mqtt.url == "mqtt://b:2"


def test_show_output_round_trips(tmp_path: Path):
    cfg = Config()
    cfg.device.channels = ["calf", "thigh"]
    cfg.mqtt.password = 'we"ird\\'
    p = tmp_path / "c.toml"
    p.write_text(to_toml(cfg))
    assert load_config(p) == cfg


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[device]\nfs_hz = 'fast'\n", "device.fs_hz: expected a number"),
        ("[device]\nchannels = 'ch1'\n", "device.channels: expected a list of strings"),
        ("[mqtt]\nenabled = 1\n", "mqtt.enabled: expected true or false"),
        (
            "[detection]\ncontext = 'party'\n",
            "detection.context: expected one of sleep, exercise, auto",
        ),
        ("[nosuch]\nx = 1\n", "unknown section [nosuch]"),
        ("[device]\nnosuch = 1\n", "device.nosuch: unknown key"),
        ("[device\n", "malformed TOML"),
    ],
)
def test_bad_config_names_file_key_and_expectation(tmp_path: Path, text, fragment):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(p) in str(e.value)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_config_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(("old", "now"), [("true", "confirmed"), ("false", "fast")])
def test_the_renamed_quiet_leg_movements_key_still_loads_and_says_what_to_write(
    tmp_path: Path, caplog, old, now
):
    p = tmp_path / "c.toml"
    p.write_text(f"[detection]\nquiet_leg_movements = {old}\n")
    assert load_config(p).detection.alerts == now
    assert f'read as alerts = "{now}"' in caplog.text
    p.write_text('[detection]\nalerts = "fast"\nquiet_leg_movements = true\n')
    with pytest.raises(ConfigError, match="renamed to alerts, which is set too"):
        load_config(p)
    p.write_text('[detection]\nquiet_leg_movements = "yes"\n')
    with pytest.raises(ConfigError, match="quiet_leg_movements: expected true or false"):
        load_config(p)
