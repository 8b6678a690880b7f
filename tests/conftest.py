"""Shared fixtures: a real Mosquitto broker on a free loopback port and a collecting subscriber.

The broker is the Debian ``mosquitto`` binary, started per test with its own config file, so
tests exercise the real MQTT behaviour (retained messages, last will, QoS 1 acks, outages).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hypothesis import settings
from paho.mqtt.enums import CallbackAPIVersion

# Property tests draw the same examples on every run, as a fixed random_state does, so CI
# verdicts are reproducible; HYPOTHESIS_PROFILE=explore draws fresh ones to hunt for bugs
# (a failure found that way becomes an @example or a fix, as the jittered-clock one did).
settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _signed_certificate(
    workdir: Path, name: str, cn: str, ca: Path, ca_key: Path, ext: str = ""
) -> tuple[Path, Path]:
    key, csr, cert = (workdir / f"{name}.{s}" for s in ("key", "csr", "pem"))
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={cn}",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    extra: list[str] = []
    if ext:
        ext_file = workdir / f"{name}.ext"
        ext_file.write_text(ext + "\n")
        extra = ["-extfile", str(ext_file)]
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "2", *extra, "-out", str(cert))  # fmt: skip
    return cert, key


def make_test_certificates(workdir: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate
    (``client.pem`` / ``client.key`` beside them), made with the openssl CLI."""
    ca_key, ca = workdir / "ca.key", workdir / "ca.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=emgwatch test CA",
             "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    cert, key = _signed_certificate(
        workdir, "server", "127.0.0.1", ca, ca_key, "subjectAltName=IP:127.0.0.1,DNS:localhost"
    )
    _signed_certificate(workdir, "client", "emgwatch-client", ca, ca_key)
    return ca, cert, key


class Broker:
    """A private mosquitto: start, stop (SIGKILL, like a crash), restart on the same port.

    ``persistent`` keeps subscriber sessions across a restart (autosaved every second), so a
    test subscriber with a persistent session misses nothing while the broker is down.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        persistent: bool = False,
        tls: bool = False,
        require_client_cert: bool = False,
    ):
        if not Path(MOSQUITTO).exists():
            pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        lines = [f"listener {self.port} 127.0.0.1"]
        if os.geteuid() == 0:
            lines.append(
                "user root"
            )  # else mosquitto drops to 'mosquitto' and cannot read tmp files
        self.ca_file: Path | None = None
        if tls:
            self.ca_file, cert, key = make_test_certificates(self.workdir)
            lines += [f"cafile {self.ca_file}", f"certfile {cert}", f"keyfile {key}"]
            if require_client_cert:
                lines.append("require_certificate true")
        if users:
            pwfile = self.workdir / "passwd"
            pwfile.write_text("")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pwfile), user, password], check=True)
            pwfile.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        if persistent:
            lines += [
                "persistence true",
                f"persistence_location {self.workdir}/",
                "autosave_interval 1",
            ]
        else:
            lines.append("persistence false")
        lines.append(f"log_dest file {self.workdir / 'mosquitto.log'}")
        self.conf = self.workdir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.ca_file else 'mqtt'}://{self.host}:{self.port}"

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if not wait_until(self._accepts, 10):
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {err}")
        return self

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self, kill: bool = True) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> Broker:
        self.stop()
        return self.start()


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    arrived: float  # time.time() at arrival

    def json(self) -> dict:
        return json.loads(self.payload)


class Subscriber:
    """Collects every message on ``topic``; ``persistent`` keeps a session across reconnects."""

    def __init__(
        self, broker: Broker, topic: str = "#", *, persistent: bool = False, client_id: str = ""
    ):
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self.topic = topic
        self._subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-sub-{id(self)}",
            clean_session=not persistent,
            protocol=paho.MQTTv311,
        )
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("test subscriber could not subscribe")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        with self._lock:
            self.messages.append(
                Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.time())
            )

    def on(self, topic: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout_s: float = 10) -> bool:
        def check() -> bool:
            with self._lock:
                snapshot = list(self.messages)
            return predicate(snapshot)

        return wait_until(check, timeout_s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    made: list[Broker] = []

    def make(**kwargs: object) -> Broker:
        b = Broker(tmp_path / f"broker{len(made)}", **kwargs)  # type: ignore[arg-type]
        made.append(b)
        return b.start()

    yield make
    for b in made:
        b.stop()


@pytest.fixture
def subscribe() -> Iterator[Callable[..., Subscriber]]:
    subs: list[Subscriber] = []

    def make(broker: Broker, topic: str = "#", **kwargs: object) -> Subscriber:
        s = Subscriber(broker, topic, **kwargs)  # type: ignore[arg-type]
        subs.append(s)
        return s

    yield make
    for s in subs:
        s.close()
