"""Configuration: one TOML file, CLI flags on top, defaults that work out of the box.

The schema is the dataclasses below; every key a user can set is a field here with its default,
type and meaning, so `emgwatch config show` cannot drift from the code; the limits a value must
keep (`_CHECKS`) are checked when a file is read, and the same limits on the command line.
Resolution order (later wins): built-in defaults < config file < CLI flags.
The file is ``--config PATH``, else ``$EMGWATCH_CONFIG``, else ``~/.config/emgwatch/config.toml``
if it exists.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import tomllib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emgwatch.domain import (
    ALERT_TIMINGS,
    CONTEXTS,
    FS_DEFAULT_HZ,
    FS_MAX_HZ,
    FS_MIN_HZ,
    MAINS_CHOICES_HZ,
    SENSORS,
    fs_out_of_range,
)
from emgwatch.errors import ConfigError
from emgwatch.protocol import BAUDRATE_DEFAULT

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path("~/.config/emgwatch/config.toml")


@dataclass
class DeviceConfig:
    id: str = "emgwatch1"  # MQTT device id and storage key
    fs_hz: float = FS_DEFAULT_HZ  # sampling rate of the board (text-line sources: measured)
    channels: list[str] = field(default_factory=lambda: ["ch1"])  # channel names, in board order


@dataclass
class SourceConfig:
    # "sim", "sim:night", "serial:/dev/ttyUSB0", "serial:auto", "replay:night.edf"
    spec: str = "sim:daily"
    baudrate: int = BAUDRATE_DEFAULT  # the firmware's rate (firmware/PROTOCOL.md)
    speed: float = 1.0  # replay/sim speed relative to real time


@dataclass
class MqttConfig:
    enabled: bool = True
    url: str = "mqtt://localhost:1883"  # mqtt://[user:pass@]host:port or mqtts:// for TLS
    username: str = ""
    password: str = ""
    topic_prefix: str = "emgwatch"  # topics are <prefix>/<device_id>/...
    discovery_prefix: str = "homeassistant"  # "" disables Home Assistant discovery
    protocol: str = "v311"  # "v311" | "v5"
    ca_file: str = ""  # TLS: CA bundle (empty: system default)
    cert_file: str = ""  # TLS client certificate (optional)
    key_file: str = ""
    keepalive_s: int = 30
    metrics_interval_s: float = 30.0
    reconnect_max_s: float = 30.0  # longest wait between reconnection attempts (back-off)
    drain_timeout_s: float = 5.0  # on shutdown, wait this long for unacknowledged alerts


@dataclass
class StorageConfig:
    dir: str = "~/.local/share/emgwatch"  # episode log, outbox, recordings
    database: str = "episodes.sqlite"  # relative to dir unless absolute
    record_raw: bool = True  # write an EDF+ of every live session
    rotate_s: float = 4 * 3600.0  # start a new EDF+ file after this many seconds


@dataclass
class DetectionConfig:
    context: str = "auto"  # "sleep" | "exercise" | "auto"
    model: str = ""  # empty: the model shipped in models/
    sensor: str = "auto"  # "raw" | "envelope" | "auto"
    mains_hz: float = 0.0  # 50, 60, or 0 to detect from the signal
    # when live alerts go out: "fast" as soon as an episode opens; "confirmed" a leg movement
    # only as part of a PLM series and any other episode once the episode-level stage agrees
    # (far fewer alerts that are later withdrawn, some seconds later); "context": confirmed with
    # context sleep or exercise, fast with auto
    alerts: str = "context"


@dataclass
class Config:
    device: DeviceConfig = field(default_factory=DeviceConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)

    @property
    def storage_dir(self) -> Path:
        return Path(os.path.expanduser(self.storage.dir))

    @property
    def database_path(self) -> Path:
        p = Path(os.path.expanduser(self.storage.database))
        return p if p.is_absolute() else self.storage_dir / p


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # an MQTT topic level and a file name


def valid_name(text: str) -> bool:
    """A device id or topic prefix: one MQTT topic level (no '/', '+', '#') that is also a safe
    file name (calibrations are stored under it), 1-64 letters, digits, '_', '.', '-'."""
    return _NAME.fullmatch(text) is not None


def _finite_positive(v: float) -> bool:
    return math.isfinite(v) and v > 0


# what each number must satisfy, and how to say it: checked when a config file is read
_CHECKS: dict[tuple[str, str], tuple[Callable[[Any], bool], str]] = {
    ("device", "id"): (valid_name, "1-64 letters, digits, '_', '.', '-' (an MQTT topic level)"),
    ("mqtt", "topic_prefix"): (valid_name, "1-64 letters, digits, '_', '.', '-'"),
    ("device", "fs_hz"): (lambda v: fs_out_of_range(v) is None, f"{FS_MIN_HZ:g}-{FS_MAX_HZ:g} Hz"),
    ("source", "speed"): (lambda v: _finite_positive(v) and v <= 1000, "a number > 0 and <= 1000"),
    ("mqtt", "keepalive_s"): (lambda v: 5 <= v <= 65535, "5-65535 seconds"),
    ("mqtt", "metrics_interval_s"): (lambda v: math.isfinite(v) and v >= 1, "at least 1 second"),
    ("mqtt", "reconnect_max_s"): (lambda v: math.isfinite(v) and v >= 1, "at least 1 second"),
    ("mqtt", "drain_timeout_s"): (lambda v: math.isfinite(v) and v >= 0, "0 seconds or more"),
    ("storage", "rotate_s"): (lambda v: math.isfinite(v) and v >= 60, "at least 60 seconds"),
    ("detection", "mains_hz"): (lambda v: v in (0.0, *MAINS_CHOICES_HZ), "0, 50 or 60"),
    ("device", "channels"): (
        lambda v: 0 < len(v) == len(set(v)) and all(v),
        "a list of distinct, non-empty channel names",
    ),
    ("source", "baudrate"): (lambda v: v > 0, "a positive baud rate"),
    ("storage", "dir"): (
        lambda v: not Path(os.path.expanduser(v)).exists() or Path(os.path.expanduser(v)).is_dir(),
        "a directory (this path exists and is not one)",
    ),
    ("storage", "database"): (
        lambda v: not Path(os.path.expanduser(v)).is_dir(),
        "a database file name (this path is a directory)",
    ),
}


_CHOICES = {
    ("detection", "context"): CONTEXTS,
    ("detection", "alerts"): ALERT_TIMINGS,
    ("detection", "sensor"): (*SENSORS, "auto"),
    ("mqtt", "protocol"): ("v311", "v5"),
}


def _type_name(tp: Any) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, "a list of strings"
    )


def _coerce(value: Any, tp: Any, where: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif typing.get_origin(tp) is list:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
    raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def _apply(cfg: Config, data: dict, source: str) -> None:
    hints_root = typing.get_type_hints(Config)
    for section, values in data.items():
        if section not in hints_root:
            known = ", ".join(hints_root)
            raise ConfigError(f"{source}: unknown section [{section}] (known: {known})")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        obj = getattr(cfg, section)
        hints = typing.get_type_hints(type(obj))
        for key, value in values.items():
            where = f"{source}: {section}.{key}"
            if (section, key) == ("detection", "quiet_leg_movements"):
                if "alerts" in values:
                    raise ConfigError(f"{where}: renamed to alerts, which is set too; keep alerts")
                key, value = "alerts", _renamed_quiet_leg_movements(value, where)
            if key not in hints:
                raise ConfigError(f"{where}: unknown key (known: {', '.join(hints)})")
            value = _coerce(value, hints[key], where)
            choices = _CHOICES.get((section, key))
            if choices and value not in choices:
                raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
            check = _CHECKS.get((section, key))
            if check and not check[0](value):
                raise ConfigError(f"{where}: expected {check[1]}, got {value!r}")
            setattr(obj, key, value)


def _renamed_quiet_leg_movements(value: Any, where: str) -> str:
    """``quiet_leg_movements`` (session 16) became ``alerts`` (session 17): a config that has
    it still starts, in the nearest setting, and says what to write instead. ``true`` quieted
    leg movements only; "confirmed" also holds spasms, cramps and clonus until the second
    stage agrees. ``false`` sent every alert at once, as "fast" does."""
    on = _coerce(value, bool, where)
    now = "confirmed" if on else "fast"
    log.warning(
        '%s: renamed; read as alerts = "%s"%s (write that instead; "context", the default, '
        "confirms alerts in sleep and exercise)",
        where,
        now,
        ", which also waits for the second stage to agree with spasms, cramps and clonus"
        if on
        else "",
    )
    return now


def config_path(explicit: str | None) -> Path | None:
    """The config file to read, or None for built-in defaults only."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("EMGWATCH_CONFIG")
    if env:
        return Path(env)
    default = DEFAULT_CONFIG_PATH.expanduser()
    return default if default.exists() else None


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Defaults, then the TOML file at ``path`` (must exist if given), then ``overrides``.

    ``overrides`` has the file's shape, e.g. ``{"mqtt": {"url": "mqtt://h:1884"}}``.
    """
    cfg = Config()
    if path is not None:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{p}: config file not found") from None
        except OSError as e:
            raise ConfigError(f"{p}: cannot read config file ({e.strerror})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8-sig"))  # an editor may add a BOM
        except UnicodeDecodeError as e:
            raise ConfigError(f"{p}: byte {e.start}: not UTF-8 text") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: malformed TOML: {e}") from None
        _apply(cfg, data, str(p))
    if overrides:
        _apply(cfg, {k: v for k, v in overrides.items() if v}, "command line")
    return cfg


def to_toml(cfg: Config) -> str:
    """Render the effective config as TOML that `load_config` reads back unchanged."""
    lines: list[str] = []
    for section in dataclasses.fields(cfg):
        obj = getattr(cfg, section.name)
        lines.append(f"[{section.name}]")
        for f in dataclasses.fields(obj):
            lines.append(f"{f.name} = {_toml_value(getattr(obj, f.name))}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


# --- command-line values: the same limits as the file's, said by argparse (exit 2) -----------


def _arg(check: Callable[[Any], bool], convert: Callable[[str], Any], expected: str):
    def parse(text: str) -> Any:
        import argparse

        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not check(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    parse.__name__ = expected  # what argparse names in "invalid ... value"
    return parse


arg_name = _arg(valid_name, str, _CHECKS[("device", "id")][1])
arg_speed = _arg(_CHECKS[("source", "speed")][0], float, _CHECKS[("source", "speed")][1])
arg_seed = _arg(lambda v: 0 <= v < 2**32, int, "an integer 0 to 2**32-1")
arg_seconds = _arg(lambda v: math.isfinite(v) and v >= 0, float, "a number of seconds >= 0")
arg_positive_seconds = _arg(
    lambda v: math.isfinite(v) and 0 < v <= 600, float, "seconds, > 0 and <= 600"
)
arg_contractions = _arg(lambda v: 1 <= v <= 20, int, "1 to 20 contractions")
