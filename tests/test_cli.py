import subprocess
import sys

import pytest

from emgwatch import __version__
from emgwatch.cli import COMMANDS, main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emgwatch", *args], capture_output=True, text=True, timeout=120
    )


def test_version_and_help_list_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", COMMANDS)
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    assert len(capsys.readouterr().out.strip().splitlines()) >= 2


def test_unknown_subcommand_is_one_line_exit_2():
    r = run_cli("frobnicate")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "invalid choice" in r.stderr and "Traceback" not in r.stderr


def test_missing_config_file_is_one_line_exit_2(tmp_path):
    r = run_cli("--config", str(tmp_path / "missing.toml"), "config", "show")
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == f"emgwatch config: error: {tmp_path / 'missing.toml'}: config file not found"
    )


def test_config_key_of_wrong_type_names_key(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[mqtt]\nkeepalive_s = 'long'\n")
    r = run_cli("--config", str(p), "config", "show")
    assert r.returncode == 2
    assert "mqtt.keepalive_s: expected an integer" in r.stderr
    assert "Traceback" not in r.stderr


def test_config_show_prints_effective_values(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[device]\nid = "bedside"\n')
    r = run_cli("--config", str(p), "config", "show")
    assert r.returncode == 0
    assert 'id = "bedside"' in r.stdout
