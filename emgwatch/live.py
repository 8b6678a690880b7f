"""The live run loop: source -> Detector -> sinks, in real time, until told to stop.

One thread does the signal work (read a block, detect, hand events to the sinks); sinks that
touch the network (MQTT) never block it. Ctrl-C and SIGTERM set a stop flag; the loop then
flushes the detector (open episodes end), the EDF+ recorder and the episode log, and gives
unacknowledged alerts a few seconds to reach the broker (the outbox keeps the rest for the
next start).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from emgwatch.config import Config
from emgwatch.domain import ALERT_KINDS, SENSORS, sensor_to_read
from emgwatch.episodes import EpisodeEvent, was_alerted
from emgwatch.source import Source, source_start_time

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.1
STATUS_INTERVAL_S = 0.5
NO_DATA_WARN_S = 3.0  # a source silent this long is reported (board unplugged, cable, ...)


@dataclass
class LiveSummary:
    """What happened in a session, for the end-of-run screen and for tests."""

    started: float = 0.0  # wall clock of stream time 0
    stream_s: float = 0.0  # seconds of signal processed
    wall_s: float = 0.0
    events: list[EpisodeEvent] = field(default_factory=list)
    decided_at: list[float] = field(
        default_factory=list
    )  # wall clock when each event was handed on
    quality_seconds: Counter = field(default_factory=Counter)  # channel -> seconds with a problem
    quality_events: int = 0  # signal-quality changes stored (lead-off, saturation, gaps...)
    mqtt_status: str = "disabled"
    alerts_pending: int = 0
    stopped_by: str = "end of source"

    @property
    def episodes(self) -> list:
        return [e.episode for e in self.events if e.event == "start"]

    def counts(self, alert_only: bool = False) -> Counter:
        return Counter(ep.kind for ep in self.episodes if not alert_only or _alerted_as_is(ep))


def _alerted_as_is(ep) -> bool:  # noqa: ANN001 - an Episode
    """An episode that alerted and still has an alerting kind (a quiet leg movement only once
    it is announced)."""
    return ep.kind in ALERT_KINDS and was_alerted(ep)


def load_detector(cfg: Config, source: Source, context: str) -> Any:
    """The Detector for this source, with the configured model (or the shipped one).

    A missing or unreadable model is an error (InputError, one line naming the file): monitoring
    with a detector that silently does something else would be worse than not starting.
    """
    from emgwatch.detector import Detector
    from emgwatch.dsp import narrow_band_note
    from emgwatch.episodes import params_for
    from emgwatch.model import load_model

    model = load_model(cfg.detection.model or None)
    params = params_for(context, cfg.detection.alerts)
    if (note := narrow_band_note(source.fs)) is not None:
        log.warning("source %s", note)
    return Detector(
        source.fs,
        source.channel_names,
        context=context,
        model=model,
        sensor=sensor_to_read(getattr(source, "sensor", None), cfg.detection.sensor),
        mains_hz=cfg.detection.mains_hz,
        params=params,
    )


class StatusLine:
    """A compact, self-overwriting status line on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.enabled = bool(stream is not None and stream.isatty())
        self._width = 0
        self._lock = threading.Lock()  # alert printouts come from other threads

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self.stream.flush()
            self._width = len(text)

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def print(self, text: str, out: TextIO | None = None) -> None:
        """A permanent line (on ``out``, default the status stream) above the status line."""
        target = out or self.stream
        if target is None:
            return
        with self._lock:
            self._clear()
            target.write(text + "\n")
            target.flush()


def quality_ok(flags: dict[str, int]) -> bool:
    return all(int(v) == 0 for v in flags.values())


def _quality_text(flags: dict[str, int]) -> str:
    try:
        from emgwatch.quality import flag_names  # type: ignore[attr-defined]
    except ImportError:
        flag_names = None
    bad = {c: v for c, v in flags.items() if int(v)}
    if not bad:
        return "ok"
    if flag_names is not None:
        return ",".join(f"{c}:{'+'.join(flag_names(v))}" for c, v in bad.items())
    return ",".join(f"{c}:0x{int(v):x}" for c, v in bad.items())


def format_status(summary: LiveSummary, detector: Any, source: Source, mqtt_status: str) -> str:
    levels = " ".join(f"{c} {v:+5.1f}dB" for c, v in getattr(detector, "level_db", {}).items())
    states = ",".join(sorted(set(getattr(detector, "state", {}).values()))) or "idle"
    n = len([e for e in summary.episodes if _alerted_as_is(e)])
    return (
        f"t={summary.stream_s:7.1f}s  {levels}  quality {_quality_text(getattr(detector, 'quality', {}))}"
        f"  state {states}  episodes {n}  mqtt {mqtt_status}  source {source.status}"
    )


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM ask the loop to stop cleanly (only possible in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: the user really wants out
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class LiveSession:
    """Wires a started source to the detector and the sinks and runs the loop.

    ``sinks`` get every EpisodeEvent (``handle``) and are closed at the end; ``mqtt`` (an
    :class:`emgwatch.sinks.mqtt.MqttSink` or None) also gets the state and periodic metrics;
    ``recorder`` (an EdfRecorder or None) gets every block. ``on_event(event, wall_time)`` is a
    hook for the demo's printout and for latency measurements.
    """

    def __init__(
        self,
        source: Source,
        detector: Any,
        *,
        sinks: list[Any] | None = None,
        mqtt: Any | None = None,
        recorder: Any | None = None,
        episode_log: Any | None = None,
        metrics_interval_s: float = 30.0,
        status_stream: TextIO | None = None,
        on_event: Callable[[EpisodeEvent, float], None] | None = None,
        start_time: float | None = None,
    ) -> None:
        self.source = source
        self.detector = detector
        self.mqtt = mqtt
        self.recorder = recorder
        self.episode_log = episode_log
        self.sinks = [s for s in [episode_log, recorder, mqtt, *(sinks or [])] if s is not None]
        self.metrics_interval_s = metrics_interval_s
        self.status = StatusLine(status_stream)
        self.on_event = on_event
        self.summary = LiveSummary()
        self._start_time = (
            start_time  # wall clock of stream time 0, if the caller started the source
        )

    def _dispatch(self, events: list[EpisodeEvent]) -> None:
        now = time.time()
        for ev in events:
            self.summary.events.append(ev)
            self.summary.decided_at.append(now)
            for sink in self.sinks:
                try:
                    sink.handle(ev)
                except Exception as e:  # noqa: BLE001 - one failing sink must not stop the others
                    log.error("%s failed to handle an episode: %s", type(sink).__name__, e)
            if self.on_event is not None:
                self.on_event(ev, now)

    def _dispatch_quality(self) -> None:
        pending = getattr(self.detector, "quality_events", None)
        if not pending:
            return
        events = list(pending)
        pending.clear()
        for qe in events:
            self.summary.quality_events += 1
            for sink in self.sinks:
                handle = getattr(sink, "handle_quality", None)
                if handle is None:
                    continue
                try:
                    handle(qe)
                except Exception as e:  # noqa: BLE001 - one failing sink must not stop the others
                    log.error("%s failed to store a quality event: %s", type(sink).__name__, e)

    def _metrics(self) -> dict:
        q = {c: int(v) for c, v in getattr(self.detector, "quality", {}).items()}
        return {
            "quality_ok": quality_ok(q),
            "quality": q,
            "level_db": {
                c: round(float(v), 1) for c, v in getattr(self.detector, "level_db", {}).items()
            },
            "stream_s": round(self.summary.stream_s, 1),
            "episodes": dict(self.summary.counts(alert_only=True)),
            "source": self.source.status,
        }

    def run(
        self, duration_s: float | None = None, stop: threading.Event | None = None
    ) -> LiveSummary:
        stop = stop or threading.Event()
        s = self.summary
        wall0 = time.monotonic()
        if self.source.status == "idle":
            self.source.start()
            self._start_time = source_start_time(self.source)
        s.started = self._start_time or source_start_time(self.source)
        last_status = last_metrics = 0.0
        last_data = time.monotonic()
        silent_reported = False
        try:
            while not stop.is_set():
                blocks = self.source.read(READ_TIMEOUT_S)
                for block in blocks:
                    if duration_s is not None and block.t0 >= duration_s:
                        break
                    if self.recorder is not None:
                        try:
                            self.recorder.write(block)
                        except Exception as e:  # noqa: BLE001
                            log.error(
                                "raw recording failed: %s; recording stops, detection goes on", e
                            )
                            self.sinks.remove(self.recorder)
                            self.recorder = None
                    self._dispatch(self.detector.push(block))
                    self._dispatch_quality()
                    s.stream_s = block.t_end
                    for c, v in getattr(self.detector, "quality", {}).items():
                        if int(v):
                            s.quality_seconds[c] += block.duration_s
                now = time.monotonic()
                if blocks:
                    last_data = now
                    if silent_reported:
                        log.warning("source is sending again")
                        silent_reported = False
                elif (
                    self.source.status == "streaming"
                    and now - last_data > NO_DATA_WARN_S
                    and not silent_reported
                ):
                    log.warning(
                        "no data from the source for %.0f s (%s)",
                        now - last_data,
                        self.source.status,
                    )
                    silent_reported = True
                if self.mqtt is not None:
                    self.mqtt.update_state(dict(getattr(self.detector, "state", {})))
                    if now - last_metrics >= self.metrics_interval_s:
                        self.mqtt.publish_metrics(self._metrics())
                        last_metrics = now
                if now - last_status >= STATUS_INTERVAL_S:
                    mstat = self.mqtt.status if self.mqtt is not None else "off"
                    self.status.show(format_status(s, self.detector, self.source, mstat))
                    last_status = now
                if duration_s is not None and s.stream_s >= duration_s:
                    s.stopped_by = "duration reached"
                    break
                if self.source.status in ("ended", "stopped"):
                    break
            else:
                s.stopped_by = "stop requested"
        finally:
            self.status.clear()
            self._shutdown()
        s.wall_s = time.monotonic() - wall0
        return s

    def _shutdown(self) -> None:
        """Flush everything; each step runs even if an earlier one failed."""
        s = self.summary
        if self.mqtt is not None:
            s.mqtt_status = self.mqtt.status  # before close() turns it into "closed"
        steps: list[tuple[str, Callable[[], object]]] = [
            ("source", self.source.stop),
            ("detector", lambda: self._dispatch(self.detector.flush())),
            ("quality events", self._dispatch_quality),
        ]
        if self.mqtt is not None:
            steps.append(("mqtt state", lambda: self.mqtt.update_state(dict(self.detector.state))))
            steps.append(("mqtt metrics", lambda: self.mqtt.publish_metrics(self._metrics())))
        for sink in self.sinks:
            if sink is self.episode_log:
                steps.append(("episode log", self._close_log))
            else:
                steps.append((type(sink).__name__, sink.close))
        for name, step in steps:
            try:
                step()
            except Exception as e:  # noqa: BLE001
                log.error("shutting down %s failed: %s", name, e)
        if self.mqtt is not None:
            s.alerts_pending = self.mqtt.pending

    def _close_log(self) -> None:
        self.episode_log.close_session(datetime.now(UTC))
        self.episode_log.close()


def open_storage(
    cfg: Config, source: Source, *, device_id: str, context: str, model_version: str, record: bool
) -> tuple[Any | None, Any | None]:
    """The episode log (session opened) and the EDF+ recorder; None for what is unavailable.

    A missing storage module or an unwritable directory is a warning, never a reason to stop
    monitoring: alerts still go out and the outbox still protects them.
    """
    start = datetime.fromtimestamp(source_start_time(source), UTC)
    episode_log = recorder = None
    try:
        from emgwatch.sinks.episode_log import EpisodeLog

        episode_log = EpisodeLog(cfg.database_path)
        episode_log.open_session(device_id, start, context, model_version)
    except ImportError:
        log.warning("episode log not available in this build; episodes are not stored locally")
    except Exception as e:  # noqa: BLE001
        log.error(
            "cannot open the episode log %s: %s; episodes are not stored locally",
            cfg.database_path,
            e,
        )
        episode_log = None
    if record and cfg.storage.record_raw:
        try:
            from emgwatch.sinks.edf_recorder import EdfRecorder

            on_file = None
            if episode_log is not None:
                on_file = episode_log.add_recording
            units = getattr(source, "units", "adc")
            units = units if units in ("adc", "uV", "mV", "V") else "unknown"
            recorder = EdfRecorder(
                cfg.storage_dir / "recordings",
                source.fs,
                source.channel_names,
                start,
                rotate_s=cfg.storage.rotate_s,
                units=units,
                sensor=s if (s := getattr(source, "sensor", "")) in SENSORS else "unknown",
                on_file=on_file,
            )
        except ImportError:
            log.warning("EDF+ recorder not available in this build; the raw signal is not recorded")
        except Exception as e:  # noqa: BLE001
            log.error("cannot record the raw signal: %s; detection goes on", e)
            recorder = None
    return episode_log, recorder


__all__ = [
    "LiveSession",
    "LiveSummary",
    "StatusLine",
    "load_detector",
    "open_storage",
    "stop_on_signals",
]
