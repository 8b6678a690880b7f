"""MQTT alerts: topic names, payload shapes, Home Assistant discovery and the publishing sink.

This module is the one owner of every topic name and payload field (docs/MQTT.md describes them
for users). Topics live under ``<topic_prefix>/<device_id>/``:

- ``status``   ``online`` / ``offline``, retained; the last will makes a dead monitor show offline.
- ``episode``  JSON on episode start (as soon as it is confirmed), end, update (a later PLM
  series revised an ended episode) and ongoing (a held alert told while it lasts), QoS 1, not
  retained.
- ``state``    JSON with the current state, retained, so a dashboard that connects late is right.
- ``metrics``  JSON with signal quality and counts, retained, every ``metrics_interval_s``.

Alerts are never lost: every ``episode`` message goes into the durable :class:`Outbox` first and
is deleted only on the broker's PUBACK. The detector thread never waits for the network: it
writes to the outbox and hands the message to paho; a supervisor thread owns the connection
(connect, back-off, reconnect), and each connection gets a fresh paho client whose network loop
runs in its own thread (``loop_start``). A fresh client per connection means paho never resends
on its own: everything unacknowledged at a disconnect is republished from the outbox, in order,
marked ``delayed``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from emgwatch import __version__
from emgwatch.config import MqttConfig
from emgwatch.domain import ALERT_KINDS, PLM_MAX_INTERVAL_S
from emgwatch.episodes import Episode, EpisodeEvent, announced, was_alerted
from emgwatch.errors import ConfigError, UsageError
from emgwatch.sinks.outbox import Outbox

log = logging.getLogger(__name__)

EPISODE_QOS = 1
STATE_QOS = 1
STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"
RECONNECT_MIN_S = 0.5
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


# --- topics ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Topics:
    """Every topic emgwatch publishes to, derived from the prefix and the device id."""

    base: str
    discovery_prefix: str
    node_id: str

    @classmethod
    def for_device(cls, topic_prefix: str, device_id: str, discovery_prefix: str = "") -> Topics:
        prefix = topic_prefix.strip("/")
        node_id = re.sub(r"[^A-Za-z0-9_-]", "_", device_id)
        return cls(f"{prefix}/{device_id}", discovery_prefix.strip("/"), node_id)

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def episode(self) -> str:
        return f"{self.base}/episode"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def metrics(self) -> str:
        return f"{self.base}/metrics"

    @property
    def all(self) -> str:
        """Subscription filter for everything this device publishes (not discovery)."""
        return f"{self.base}/#"

    def discovery(self, component: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.node_id}/{object_id}/config"


# --- broker address --------------------------------------------------------------------------
@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str = ""
    password: str = ""

    def display(self) -> str:
        """The URL without the password, for messages and logs."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:port]`` or ``mqtts://...`` (TLS); a bare ``host[:port]`` too."""
    text = url.strip()
    if "://" not in text:
        text = "mqtt://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as e:
        raise UsageError(
            f"broker URL {url!r}: {e} (expected mqtt://[user:pass@]host:port)"
        ) from None
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise UsageError(
            f"broker URL {url!r}: unknown scheme {parts.scheme!r} (expected mqtt:// or mqtts://)"
        )
    if not parts.hostname:
        raise UsageError(f"broker URL {url!r}: no host name (expected mqtt://host:port)")
    tls = parts.scheme in ("mqtts", "ssl")
    if port == 0:
        raise UsageError(f"broker URL {url!r}: port 0 is not a broker port")
    return BrokerAddress(
        host=parts.hostname,
        port=port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT),
        tls=tls,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


# --- payloads --------------------------------------------------------------------------------
def iso_utc(unix_s: float) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: what phones and Home Assistant parse."""
    return (
        datetime.fromtimestamp(unix_s, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def episode_payload(
    event: EpisodeEvent, device_id: str, session_start: float, notify: bool = False
) -> dict:
    """The JSON of an ``episode`` message; stream seconds become wall-clock times. ``notify``:
    whether a phone should buzz for it (``NotifyPolicy``)."""
    ep = event.episode
    payload: dict = {
        "event": event.event,
        "id": ep.id,
        "device": device_id,
        "kind": ep.kind,
        "notify": notify,
        "channel": ep.channel,
        "confidence": round(float(ep.confidence), 3),
        "level_db": round(float(ep.level_db), 1),
        "start": iso_utc(session_start + ep.start),
        "time": iso_utc(session_start + event.detected_at),
        "delayed": False,
    }
    if event.event in ("end", "update") and ep.end is not None:
        payload["end"] = iso_utc(session_start + ep.end)
        payload["duration_s"] = round(ep.end - ep.start, 2)
    elif event.event == "ongoing":
        payload["duration_s"] = round(event.detected_at - ep.start, 2)  # so far
    if event.event in ("update", "ongoing"):
        payload["previous_kind"] = event.previous
    if ep.extra:
        payload["extra"] = ep.extra
    return payload


# Episodes remembered by id (what each was counted as, what it was announced as): a revision
# only ever concerns the last few minutes' episodes (a PLM series reaches back 3 x 90 s), so
# the oldest are forgotten beyond this many, and a monitor running for weeks stays bounded.
REMEMBERED_EPISODES = 10_000


def _remember(seen: dict, key: str, value: object) -> None:
    """Store ``seen[key] = value`` as the newest entry, forgetting the oldest beyond the cap."""
    seen.pop(key, None)
    seen[key] = value
    while len(seen) > REMEMBERED_EPISODES:
        del seen[next(iter(seen))]


class NotifyPolicy:
    """Which ``episode`` message should make a phone buzz now (the payload's ``notify``).

    Each episode notifies at most once, with whichever of its messages settles it:
    - a spasm, cramp or clonus run at its ``start`` (a long cramp's continuations never);
    - a PLM series once, with the first message that shows a member of it (``plm_in_series``,
      a ``start``, ``end`` or ``update``); a member whose onset is within PLM_MAX_INTERVAL_S
      (90 s) of the last known member on any leg belongs to the same series (a bilateral
      series is one finding, not one per leg);
    - held starts, decided with the episode's later messages: a leg movement no series holds
      yet (without a declared context every movement alerts when it opens; most stay alone and
      the record drops them), and a spasm while a series is under way on any leg (most
      often the series' next movement, announced before the series claims it). Such an
      episode notifies when a later message shows it a spasm, cramp or clonus run at its end,
      or a member of a new series; or, while it lasts, with the tracker's ``ongoing`` event,
      once it has outlasted any leg movement and the second stage still calls it an alert.
    An ``end`` of an episode that notified says ``notified`` (so an automation can replace its
    notification). The phone thus hears what the final record keeps, as soon as a message
    shows it (measured: docs/ACCURACY.md, session 22). State is real (the newest series
    member, recent episodes), hence a class.
    """

    def __init__(self) -> None:
        # onset of the newest PLM series member on any channel: a series is one finding on
        # either leg
        self._series_onset: float | None = None
        self._told: dict[str, bool] = {}  # episode id -> notified already
        self._held: dict[str, bool] = {}  # episode ids whose start was held

    def told(self, episode_id: str) -> bool:
        """Whether an earlier message of this episode notified."""
        return self._told.get(episode_id, False)

    def __call__(self, event: EpisodeEvent) -> bool:
        ep = event.episode
        if self._told.get(ep.id) or ep.extra.get("continued"):
            return False
        if event.event == "ongoing":  # a held one outlasted any leg movement: it is no LM
            return self._tell(ep) if ep.id in self._held and _urgent(ep.kind) else False
        if ep.kind == "plm" and ep.extra.get("plm_in_series"):
            last = self._series_onset
            new_series = last is None or ep.start > last + PLM_MAX_INTERVAL_S
            self._series_onset = ep.start if last is None else max(last, ep.start)
            return self._tell(ep) if new_series else False
        if event.event == "start":
            if ep.kind == "plm" or (ep.kind == "spasm" and self._series_under_way(ep)):
                _remember(self._held, ep.id, True)
                return False
            return self._tell(ep) if ep.kind in ALERT_KINDS else False
        if event.event == "end" and ep.id in self._held:
            del self._held[ep.id]
            return self._tell(ep) if _urgent(ep.kind) else False
        return False

    def _tell(self, ep: Episode) -> bool:
        self._held.pop(ep.id, None)
        _remember(self._told, ep.id, True)
        return True

    def _series_under_way(self, ep: Episode) -> bool:
        last = self._series_onset
        return last is not None and 0.0 <= ep.start - last <= PLM_MAX_INTERVAL_S


def _urgent(kind: str) -> bool:
    """A kind a held episode is told as on its own: an alert that is no leg movement (a leg
    movement buzzes only as a member of a new series)."""
    return kind in ALERT_KINDS and kind != "plm"


def publishes(event: EpisodeEvent) -> bool:
    """Whether an episode event goes out as an ``episode`` message: anything that alerted, and
    any revision to or from an alerting kind; voluntary contractions stay in the local log."""
    if event.event == "update":
        return event.episode.kind in ALERT_KINDS or event.previous in ALERT_KINDS
    return was_alerted(event.episode)


def mark_delayed(payload: dict) -> dict:
    """A message sent from the backlog says so, and keeps the time it really happened."""
    return {**payload, "delayed": True, "original_time": payload.get("time")}


def discovery_messages(
    topics: Topics, device_id: str, model_version: str = ""
) -> list[tuple[str, dict]]:
    """Home Assistant MQTT discovery configs (retained) for one device."""
    if not topics.discovery_prefix:
        return []
    device = {
        "identifiers": [f"emgwatch_{topics.node_id}"],
        "name": f"emgwatch {device_id}",
        "manufacturer": "emgwatch",
        "model": "surface-EMG monitor" + (f" (model {model_version})" if model_version else ""),
        "sw_version": __version__,
    }
    common = {
        "availability_topic": topics.status,
        "payload_available": STATUS_ONLINE,
        "payload_not_available": STATUS_OFFLINE,
        "device": device,
    }

    def entity(component: str, object_id: str, name: str, **fields: object) -> tuple[str, dict]:
        cfg = {
            "name": name,
            "unique_id": f"emgwatch_{topics.node_id}_{object_id}",
            **fields,
            **common,
        }
        return topics.discovery(component, object_id), cfg

    msgs = [
        entity(
            "binary_sensor",
            "episode",
            "Episode in progress",
            state_topic=topics.state,
            value_template="{{ 'ON' if value_json.episode_in_progress else 'OFF' }}",
            device_class="problem",
            icon="mdi:human-handsdown",
        ),
        entity(
            "sensor",
            "last_kind",
            "Last episode kind",
            state_topic=topics.state,
            value_template="{{ value_json.last_kind or 'none' }}",
            icon="mdi:pulse",
        ),
        entity(
            "sensor",
            "episodes",
            "Episodes",
            state_topic=topics.state,
            value_template="{{ value_json.episodes_total }}",
            state_class="total_increasing",
            icon="mdi:counter",
        ),
    ]
    for kind in ALERT_KINDS:
        msgs.append(
            entity(
                "sensor",
                f"episodes_{kind}",
                f"{kind.capitalize()} episodes",
                state_topic=topics.state,
                value_template=f"{{{{ value_json.counts.{kind} | default(0) }}}}",
                state_class="total_increasing",
                icon="mdi:counter",
            )
        )
    msgs.append(
        entity(
            "binary_sensor",
            "sensor_problem",
            "Sensor problem",
            state_topic=topics.metrics,
            value_template="{{ 'OFF' if value_json.quality_ok else 'ON' }}",
            device_class="problem",
            entity_category="diagnostic",
        )
    )
    return msgs


# --- the sink --------------------------------------------------------------------------------
class MqttSink:
    """Publishes episodes, state and metrics; survives broker outages and monitor crashes.

    ``session_start`` is the wall-clock time (Unix seconds) of stream time 0. ``outbox`` is an
    :class:`Outbox` or a path to one (the sink then owns and closes it).
    """

    def __init__(
        self,
        cfg: MqttConfig,
        device_id: str,
        outbox: Outbox | str | Path,
        *,
        session_start: float | None = None,
        model_version: str = "",
        reconnect_max_s: float | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.device_id = device_id
        self.address = parse_broker_url(cfg.url)
        self.username = cfg.username or self.address.username
        self.password = cfg.password or self.address.password
        self.tls = self.address.tls or bool(cfg.ca_file)
        if cfg.protocol not in ("v311", "v5"):
            raise ConfigError(f"mqtt.protocol: expected v311 or v5, got {cfg.protocol!r}")
        for key in ("ca_file", "cert_file", "key_file"):
            path = getattr(cfg, key)
            if path and not Path(os.path.expanduser(path)).is_file():
                why = (
                    "is a directory"
                    if Path(os.path.expanduser(path)).is_dir()
                    else "file not found"
                )
                raise ConfigError(f"mqtt.{key}: {why}: {path}")
        if self.tls:  # load them now: a bad file must stop the start, not the alert thread later
            try:
                ctx = ssl.create_default_context(cafile=os.path.expanduser(cfg.ca_file) or None)
                if cfg.cert_file:
                    ctx.load_cert_chain(
                        os.path.expanduser(cfg.cert_file), os.path.expanduser(cfg.key_file) or None
                    )
            except (ssl.SSLError, OSError, ValueError) as e:
                raise ConfigError(
                    f"mqtt TLS files ({cfg.ca_file or 'system CAs'}, {cfg.cert_file or 'no cert'}): "
                    f"cannot be loaded: {e}"
                ) from None
        self.topics = Topics.for_device(cfg.topic_prefix, device_id, cfg.discovery_prefix)
        self.session_start = time.time() if session_start is None else session_start
        self.model_version = model_version
        self.reconnect_max_s = reconnect_max_s or cfg.reconnect_max_s
        self._on_status = on_status
        self._owns_outbox = not isinstance(outbox, Outbox)
        self.outbox = Outbox(outbox) if self._owns_outbox else outbox  # type: ignore[arg-type]

        self.status = "connecting"
        self.last_error: str | None = None
        self.episodes_sent = 0  # PUBACKs received this session
        self.episodes_queued = 0  # episode messages put in the outbox this session
        self.counts: dict[str, int] = {k: 0 for k in ALERT_KINDS}
        self._counted: dict[str, str] = {}  # episode id -> the kind it is counted under
        # quiet episodes announced so far -> what sinks were told (kind, series mark, ended)
        self._announced: dict[str, tuple] = {}
        self._alerted: list[tuple[str, str, str]] = []  # (id, start ISO, kind) still standing
        self._channel_state: dict[str, str] = {}
        self._metrics: dict | None = None
        self._notify = NotifyPolicy()

        self._send_lock = threading.Lock()  # one publisher at a time keeps outbox order
        self._mid_lock = threading.Lock()  # never held while calling paho (see _on_publish)
        self._mid_to_seq: dict[int, int] = {}
        self._early_acks: set[int] = set()
        self._client: paho.Client | None = None
        self._ready = False  # connected, and status/discovery/backlog handed to paho
        self._sent_upto = 0  # highest outbox seq handed to the current client
        self._attempted: set[int] = set()  # seqs handed to some client in this process
        self._lost = threading.Event()
        self._connack = threading.Event()
        self._connack_ok = False
        self._refusal = ""  # the broker's CONNACK reason when it refused us
        self._closing = threading.Event()
        self._drained = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pending_at_close: int | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> MqttSink:
        """Begin connecting in the background; returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._supervise, name="emgwatch-mqtt", daemon=True
            )
            self._thread.start()
        return self

    @property
    def connected(self) -> bool:
        return self._ready

    @property
    def pending(self) -> int:
        """Episode messages not yet acknowledged by the broker."""
        if self._pending_at_close is not None:
            return self._pending_at_close
        return len(self.outbox)

    def wait_connected(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._ready:
                return True
            time.sleep(0.02)
        return self._ready

    def wait_drained(self, timeout_s: float) -> bool:
        """Wait until the broker has acknowledged every episode message (or the timeout)."""
        deadline = time.monotonic() + timeout_s
        with self._drained:
            while len(self.outbox) > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._drained.wait(min(left, 0.1))
        return True

    def close(self, drain_timeout_s: float | None = None) -> None:
        """Give unacknowledged alerts a chance to go out, say offline, disconnect.

        What is still unacknowledged stays in the outbox and goes out on the next start.
        """
        if drain_timeout_s is None:
            drain_timeout_s = self.cfg.drain_timeout_s
        if self._ready:
            self.wait_drained(drain_timeout_s)
        self._closing.set()
        with self._send_lock:
            client, self._client, ready, self._ready = self._client, None, self._ready, False
        if client is not None:
            if ready:
                try:
                    info = client.publish(self.topics.status, STATUS_OFFLINE, qos=1, retain=True)
                    info.wait_for_publish(timeout=2.0)
                except (RuntimeError, ValueError, OSError) as e:
                    log.debug("could not publish offline status: %s", e)
            client.disconnect()
            client.loop_stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        left = self._pending_at_close = len(self.outbox)
        if left:
            log.warning(
                "MQTT: %d alert message(s) not acknowledged by %s; they stay in the outbox %s "
                "and are sent on the next start",
                left,
                self.address.display(),
                self.outbox.path,
            )
        if self._owns_outbox:
            self.outbox.close()
        self._set_status("closed")

    # -- sink interface -------------------------------------------------------------------------
    def handle(self, event: EpisodeEvent) -> None:
        """Queue an episode start/end/update durably and publish it if connected. Never blocks
        on I/O.

        A quiet episode (a leg movement with no PLM series under way; with confirmed alerts an
        episode the second stage doubted when it opened) says nothing until it is announced:
        then its start and, if it is over, its end go out together, so every announced episode
        has both; one still going on makes its channel busy from then on."""
        ep = event.episode
        if event.event == "ongoing":  # said only when it tells a held alert (NotifyPolicy)
            if self._notify(event):
                self._queue(event, notify=True)
                self._channel_state[ep.channel] = ep.kind
                self._publish_state()
            return
        if ep.extra.get("quiet"):
            told = self._announced.get(ep.id)
            now = (ep.kind, ep.extra.get("plm_in_series"), ep.end is not None)
            if told is None:
                if not announced(ep):
                    return  # not (yet) part of a series: logged locally, not announced
                # the moment the record kept it (the same whether events come one by one, live,
                # or a whole night's at once, when the episode already shows its final state)
                at = float(ep.extra.get("detected_at", event.detected_at))
                _remember(self._announced, ep.id, now)
                self._queue(EpisodeEvent("start", ep, at))
                if ep.end is not None:
                    self._queue(EpisodeEvent("end", ep, at))
                else:
                    self._channel_state[ep.channel] = ep.kind
                self._publish_state()
                return
            if now == told:
                return  # already said, start and end
            _remember(self._announced, ep.id, now)
        if not publishes(event):
            return  # voluntary contractions are logged locally, never alerted
        self._queue(event)
        # the state follows the episode at once, so "episode in progress" flips with the alert
        # (an update concerns an episode that has ended: the channel may be in another one)
        if event.event != "update":
            self._channel_state[ep.channel] = ep.kind if event.event == "start" else "idle"
        self._publish_state()

    def _queue(self, event: EpisodeEvent, notify: bool | None = None) -> None:
        """Store and send one ``episode`` message; ``notify`` as already decided, else asked of
        the policy now (it must be asked once per message: telling is remembered)."""
        ep = event.episode
        self._count(ep)
        if notify is None:
            notify = self._notify(event)
        payload = episode_payload(event, self.device_id, self.session_start, notify=notify)
        if event.event == "end" and not payload["notify"] and self._notify.told(ep.id):
            payload["notified"] = True  # an earlier message of it made the phone buzz
        self.episodes_queued += 1
        try:
            seq = self.outbox.put(self.topics.episode, payload, EPISODE_QOS, time.time())
        except Exception as e:  # noqa: BLE001 - disk full, storage gone: still try to alert
            log.error(
                "MQTT: cannot store alert %s in the outbox (%s); sending it without a backup",
                ep.id,
                e,
            )
            with self._send_lock:
                if self._ready and self._client is not None:
                    self._client.publish(self.topics.episode, json.dumps(payload), qos=EPISODE_QOS)
        else:
            with self._send_lock:
                if self._ready:
                    self._pump(fresh_seq=seq)

    def _count(self, ep: Episode) -> None:
        """Counts and the episodes still standing follow each episode's kind as it is now.

        The kind an episode is counted under is kept by id, so every message reconciles it:
        an end that revised the kind (a cramp first alerted as PLM), one that withdrew it (a
        voluntary effort first alerted as a spasm: the count goes back), a movement a PLM series
        claimed at its own end (it never alerted as itself), and later updates. Sinks read the
        episode when they handle the event, so it may already show a later state: reconciling
        to it, not applying differences, never counts twice.
        """
        new = ep.kind if ep.kind in ALERT_KINDS else None
        old = self._counted.get(ep.id)
        if new == old:
            return
        if old is not None:
            self.counts[old] -= 1
            del self._counted[ep.id]
        if new is not None:
            self.counts[new] = self.counts.get(new, 0) + 1
            _remember(self._counted, ep.id, new)
        standing = [a for a in self._alerted if a[0] != ep.id]
        if new is not None:
            start = iso_utc(self.session_start + ep.start)
            at = next((k for k, a in enumerate(standing) if a[1] > start), len(standing))
            standing.insert(at, (ep.id, start, new))
        self._alerted = standing[-50:]

    def update_state(self, channel_state: dict[str, str]) -> None:
        """Publish the retained ``state`` when any channel's state changed."""
        if channel_state != self._channel_state:
            self._channel_state = dict(channel_state)
            self._publish_state()

    def publish_metrics(self, metrics: dict) -> None:
        """Retained ``metrics`` message (quality, levels, counts); latest one resent on reconnect."""
        self._metrics = {
            **metrics,
            "time": iso_utc(time.time()),
            "outbox_pending": len(self.outbox),
            "episodes_acknowledged": self.episodes_sent,
        }
        with self._send_lock:
            if self._ready and self._client is not None:
                self._client.publish(
                    self.topics.metrics, json.dumps(self._metrics), qos=0, retain=True
                )

    # "last episode" is the latest one still standing: a withdrawn alert does not erase it
    @property
    def last_kind(self) -> str | None:
        return self._alerted[-1][2] if self._alerted else None

    @property
    def last_start(self) -> str | None:
        return self._alerted[-1][1] if self._alerted else None

    # -- payloads owned by the sink ---------------------------------------------------------------
    def state_payload(self) -> dict:
        states = self._channel_state
        active = [s for s in states.values() if s in ALERT_KINDS]
        overall = active[0] if active else next((s for s in states.values() if s != "idle"), "idle")
        return {
            "state": overall,
            "episode_in_progress": bool(active),
            "channels": states,
            "last_kind": self.last_kind,
            "last_start": self.last_start,
            "episodes_total": sum(self.counts.values()),
            "counts": self.counts,
            "time": iso_utc(time.time()),
        }

    def _publish_state(self) -> None:
        payload = json.dumps(self.state_payload())
        with self._send_lock:
            if self._ready and self._client is not None:
                self._client.publish(self.topics.state, payload, qos=STATE_QOS, retain=True)

    # -- publishing (call with _send_lock held) --------------------------------------------------
    def _pump(self, fresh_seq: int | None = None) -> None:
        """Hand every outbox message not yet given to this client to paho, oldest first."""
        client = self._client
        if client is None:
            return
        for item in self.outbox.pending(after_seq=self._sent_upto):
            delayed = item.seq != fresh_seq or item.seq in self._attempted
            payload = mark_delayed(item.payload) if delayed else item.payload
            info = client.publish(item.topic, json.dumps(payload), qos=item.qos, retain=False)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                log.debug("publish of outbox #%d returned %s; it stays queued", item.seq, info.rc)
                return
            self._sent_upto = item.seq
            self._attempted.add(item.seq)
            with self._mid_lock:
                if info.mid in self._early_acks:
                    self._early_acks.discard(info.mid)
                    early = True
                else:
                    self._mid_to_seq[info.mid] = item.seq
                    early = False
            if early:
                self._acked(item.seq)

    def _acked(self, seq: int) -> None:
        self.outbox.ack(seq)
        self.episodes_sent += 1
        with self._drained:
            self._drained.notify_all()

    # -- paho callbacks (network thread; paho holds its own locks here) ---------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self._connack_ok = not reason_code.is_failure
        if reason_code.is_failure:
            self._refusal = str(reason_code)
        self._connack.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self._lost.set()
        self._connack.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:  # noqa: ANN001
        # paho calls this holding its out-message lock: taking _send_lock here could deadlock
        # with a publish() in the detector thread, so only the small _mid_lock is used.
        if reason_code is not None and reason_code.is_failure:
            log.error(
                "MQTT: broker rejected an alert message: %s (kept in the outbox)", reason_code
            )
            with self._mid_lock:
                self._mid_to_seq.pop(mid, None)
            return
        with self._mid_lock:
            seq = self._mid_to_seq.pop(mid, None)
            if seq is None:
                self._early_acks.add(mid)
                return
        self._acked(seq)

    # -- connection supervisor (own thread) ------------------------------------------------------
    def _new_client(self) -> paho.Client:
        protocol = paho.MQTTv5 if self.cfg.protocol == "v5" else paho.MQTTv311
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"emgwatch-{self.topics.node_id}-{os.getpid()}",
            protocol=protocol,
            reconnect_on_failure=False,
        )
        client.connect_timeout = 5.0
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        if self.tls:
            client.tls_set(
                ca_certs=os.path.expanduser(self.cfg.ca_file) or None,
                certfile=os.path.expanduser(self.cfg.cert_file) or None,
                keyfile=os.path.expanduser(self.cfg.key_file) or None,
            )
        client.will_set(self.topics.status, STATUS_OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            if self._on_status is not None:
                self._on_status(status)

    def _report_failure(self, problem: str, seen: set[str]) -> None:
        """One clear error line per distinct problem; repeats only at debug level."""
        self.last_error = problem
        pending = len(self.outbox)
        msg = (
            f"MQTT: {problem}; retrying with back-off, episodes are still detected and logged "
            f"locally ({pending} alert(s) waiting in the outbox)"
        )
        if problem in seen:
            log.debug(msg)
        else:
            seen.add(problem)
            log.error(msg)

    def _supervise(self) -> None:
        delay = RECONNECT_MIN_S
        seen_problems: set[str] = set()
        addr = self.address
        while not self._closing.is_set():
            client = self._new_client()
            self._lost.clear()
            self._connack.clear()
            self._connack_ok = False
            self._refusal = ""
            try:
                kwargs = {"clean_start": True} if self.cfg.protocol == "v5" else {}
                client.connect(addr.host, addr.port, keepalive=self.cfg.keepalive_s, **kwargs)
            except ssl.SSLError as e:
                self._set_status("TLS failed")
                self._report_failure(
                    f"TLS handshake with {addr.display()} failed: {e.reason or e}", seen_problems
                )
            except OSError as e:
                self._set_status("offline")
                reason = e.strerror or str(e) or type(e).__name__
                self._report_failure(
                    f"cannot reach broker {addr.display()}: {reason}", seen_problems
                )
            else:
                client.loop_start()
                self._connack.wait(timeout=10)
                if self._connack_ok and not self._lost.is_set():
                    self._connected(client)
                    seen_problems.clear()
                    delay = RECONNECT_MIN_S
                    while not self._closing.is_set() and not self._lost.wait(0.2):
                        pass
                    if self._closing.is_set():
                        return  # close() says offline and disconnects
                    with self._send_lock:
                        self._client, self._ready = None, False
                        self._sent_upto = 0
                    with self._mid_lock:
                        self._mid_to_seq.clear()
                        self._early_acks.clear()
                    self._set_status("offline")
                    log.warning(
                        "MQTT: lost connection to %s; reconnecting, alerts queue in the outbox",
                        addr.display(),
                    )
                elif self._refusal:
                    self._set_status("refused")
                    self._report_failure(
                        f"broker {addr.display()} refused the connection: {self._refusal}",
                        seen_problems,
                    )
                elif self._lost.is_set():
                    self._set_status("offline")
                    hint = (
                        " (does it require a TLS client certificate? set mqtt.cert_file)"
                        if self.tls
                        else ""
                    )
                    self._report_failure(
                        f"broker {addr.display()} closed the connection before accepting it{hint}",
                        seen_problems,
                    )
                else:
                    self._set_status("offline")
                    self._report_failure(f"no answer from broker {addr.display()}", seen_problems)
                client.disconnect()
                client.loop_stop()
            if self._closing.wait(delay):
                return
            delay = min(delay * 2, self.reconnect_max_s)

    def _connected(self, client: paho.Client) -> None:
        """Announce ourselves, then send the backlog in order; new alerts follow it."""
        with self._send_lock:
            self._client = client
            client.publish(self.topics.status, STATUS_ONLINE, qos=1, retain=True)
            for topic, cfg in discovery_messages(self.topics, self.device_id, self.model_version):
                client.publish(topic, json.dumps(cfg), qos=1, retain=True)
            client.publish(
                self.topics.state, json.dumps(self.state_payload()), qos=STATE_QOS, retain=True
            )
            if self._metrics is not None:
                client.publish(self.topics.metrics, json.dumps(self._metrics), qos=0, retain=True)
            self._sent_upto = 0
            backlog = len(self.outbox)
            self._pump()
            self._ready = True
        self._set_status("connected")
        if backlog:
            log.warning(
                "MQTT: connected to %s; sending %d delayed alert message(s)",
                self.address.display(),
                backlog,
            )
        else:
            log.info("MQTT: connected to %s", self.address.display())
