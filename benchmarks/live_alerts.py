"""Live alerts against the final record: what a phone receives, not only what `detect` prints.

A live run sends a `start` alert when an episode opens (after 0.35-0.5 s of evidence), or with
confirmed alerts (``[detection] alerts``: by default in `sleep` and `exercise`) a leg movement
only once a series keeps it and any other episode once the second stage agrees (when it opens,
every 0.5 s while it lasts, or at its end); the kind is settled when it ends (the second stage
may withdraw it) or later (a PLM series). `evaluate`
scores the final record. This counts, per context, the start alerts that overlapped no true
alerting episode ("live false"), and how many true episodes got a start alert at all, with the
latency of the first; optionally as if each start alert were held back ``--hold`` seconds and
dropped when the episode ended within them. The last column counts what a phone following the
messages' ``notify`` shows: the events of the live run go through the MQTT sink (no broker; its
outbox keeps every message), as ``emgwatch run`` would send them.

    .venv/bin/python benchmarks/live_alerts.py [--split test] [--hold 0 1 3] [--alerts fast]
    .venv/bin/python benchmarks/live_alerts.py /tmp/cg/*/*.csv /tmp/cg/*/*.edf   # with truth files
"""

from __future__ import annotations

import argparse
import collections
from datetime import datetime

import numpy as np

from emgwatch.commands.evaluate import SCENARIO_CONTEXT
from emgwatch.config import MqttConfig
from emgwatch.detector import detect_recording
from emgwatch.domain import ALERT_KINDS, ALERT_TIMINGS, sensor_to_read
from emgwatch.episodes import alerts_now, params_for, was_alerted
from emgwatch.model import load_model
from emgwatch.recording import read_recording
from emgwatch.sinks.mqtt import MqttSink
from emgwatch.synth.datasets import dataset_entries
from emgwatch.synth.output import truth_path_for
from emgwatch.truth import load_truth


def _pairs(args: argparse.Namespace):
    if not args.recordings:
        yield from (entry.simulate() for entry in dataset_entries(args.split))
    for path in args.recordings:
        yield read_recording(path), load_truth(truth_path_for(path))


LIVE_BLOCK_S = 1.0  # what a live run hands the detector at a time, about


class _Phone:
    """The MQTT sink fed a live run's events as they happen (no broker: its outbox keeps every
    message); ``told()``: episode id -> stream time of the message with ``notify`` true."""

    def __init__(self) -> None:
        cfg = MqttConfig(url="mqtt://127.0.0.1:1")
        self.sink = MqttSink(cfg, "bench", ":memory:", session_start=0.0)

    def __call__(self, events: list) -> None:
        for ev in events:
            self.sink.handle(ev)

    def told(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in self.sink.outbox.pending():
            p = item.payload
            if p.get("notify"):
                at = datetime.fromisoformat(p["time"].replace("Z", "+00:00")).timestamp()
                out.setdefault(p["id"], at)
        self.sink.outbox.close()
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("recordings", nargs="*", help="recordings with truth files (default: --split)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--hold", type=float, nargs="*", default=[0.0])
    ap.add_argument(
        "--alerts", choices=ALERT_TIMINGS, default="context", help="as [detection] alerts"
    )
    args = ap.parse_args()
    model = load_model(None)
    count = collections.defaultdict(collections.Counter)
    latency = collections.defaultdict(list)
    urgent = collections.defaultdict(list)  # spasm, cramp and clonus only
    told_latency = collections.defaultdict(list)  # the same, when a phone was told
    hours = collections.Counter()
    for rec, truth in _pairs(args):
        ctx = SCENARIO_CONTEXT.get(truth.scenario, "auto")
        hours[ctx] += rec.duration_s / 3600
        sensor = sensor_to_read(rec.sensor)
        params = params_for(ctx, args.alerts)
        phone = _Phone()
        eps = detect_recording(
            rec,
            context=ctx,
            model=model,
            sensor=sensor,
            isolated_plm=True,
            params=params,
            on_events=phone,
            block_s=LIVE_BLOCK_S,  # an episode changes after its events: hand them over as live
        )
        true = [t for t in truth.episodes if t.kind in ALERT_KINDS]
        real_by_id = {ep.id: any(t.start < ep.end and t.end > ep.start for t in true) for ep in eps}
        alerts = []  # every episode that sent a start alert (a quiet one once announced)
        for ep in eps:
            if not was_alerted(ep):
                continue
            at = float(ep.extra.get("detected_at", ep.start))
            alerts.append((at, ep, real_by_id[ep.id], alerts_now(ep)))
        buzzed = phone.told()
        for hold in args.hold:
            sent = [a for a in alerts if hold == 0 or a[1].end > a[0] + hold]
            c = count[(ctx, hold)]
            c["sent"] += len(sent)
            c["false"] += sum(not a[2] for a in sent)
            if hold == 0:  # what a phone following "notify" shows (nothing is held back)
                c["notified"] += len(buzzed)
                c["notified_false"] += sum(not real_by_id.get(eid, False) for eid in buzzed)
            for t in true:  # the urgent ones a phone was told of
                if t.kind != "plm" and hold == 0:
                    c["urgent"] += 1
                    c["urgent_alerted"] += any(
                        ep.start < t.end and ep.end > t.start for _, ep, _, _ in sent
                    )
                    at = [
                        buzzed[ep.id]
                        for ep in eps
                        if ep.id in buzzed and ep.start < t.end and ep.end > t.start
                    ]
                    if at:
                        c["urgent_notified"] += 1
                        told_latency[(ctx, hold)].append(min(at) - t.start)
            for a in sent:
                if not a[2]:
                    c["false as " + a[1].extra.get("alerted_as", a[1].kind)] += 1
            c["final"] += sum(a[3] for a in alerts)
            c["final_false"] += sum(a[3] and not a[2] for a in alerts)
            c["true"] += len(true)
            for t in true:
                at = [a[0] + hold for a in sent if a[1].start < t.end and a[1].end > t.start]
                if at:
                    c["found"] += 1
                    latency[(ctx, hold)].append(min(at) - t.start)
                    if t.kind != "plm":  # the urgent ones: PLM series members wait for a series
                        urgent[(ctx, hold)].append(min(at) - t.start)
    print(
        "| context | time | hold | live start alerts | of them false (/h) | true episodes alerted "
        "live | latency median / p95 | final record: alerts, false | phone notifications, "
        "false (/h), spasms/cramps/clonus told (alerted) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for ctx in ("sleep", "exercise", "auto"):
        for hold in args.hold:
            c, lat = count[(ctx, hold)], np.asarray(latency[(ctx, hold)])
            if not hours[ctx]:
                continue
            med = f"{np.median(lat):.2f} / {np.percentile(lat, 95):.2f} s" if lat.size else "-"
            print(
                f"| {ctx} | {hours[ctx]:.1f} h | {hold:g} s | {c['sent']} | {c['false']} "
                f"({c['false'] / hours[ctx]:.1f}) | {c['found']}/{c['true']} | {med} | "
                f"{c['final']}, {c['final_false']} | {c['notified']}, {c['notified_false']} "
                f"({c['notified_false'] / hours[ctx]:.1f}), {c['urgent_notified']}/{c['urgent']} ({c['urgent_alerted']}) |"
            )
    for (ctx, hold), lat in sorted(urgent.items()):
        print(
            f"{ctx}, hold {hold:g} s: latency of spasms, cramps and clonus runs (n={len(lat)}): "
            f"median {np.median(lat):.2f} s, p95 {np.percentile(lat, 95):.2f} s"
        )
    for (ctx, hold), lat in sorted(told_latency.items()):
        print(
            f"{ctx}, hold {hold:g} s: latency of the phone notification for spasms, cramps and "
            f"clonus runs (n={len(lat)}): median {np.median(lat):.2f} s, "
            f"p95 {np.percentile(lat, 95):.2f} s"
        )
    for (ctx, hold), c in sorted(count.items()):
        kinds = ", ".join(f"{k[9:]} {v}" for k, v in sorted(c.items()) if k.startswith("false as "))
        print(f"{ctx}, hold {hold:g} s: false start alerts opened as: {kinds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
