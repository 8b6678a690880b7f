from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest

from emgwatch.block import Block
from emgwatch.cli import main
from emgwatch.episodes import Episode, EpisodeEvent
from emgwatch.recording import Recording, read_recording, write_recording
from emgwatch.report import DISCLAIMER, Night, make_report, night_envelope, summarize
from emgwatch.sinks.edf_recorder import EdfRecorder
from emgwatch.sinks.episode_log import EpisodeLog

START = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
FS = 500.0


def _signal(duration_s=1800.0, bursts=(), flat=None, n_ch=2, seed=0):
    """ADC-like raw EMG: resting noise, loud bursts at (start, end, channel), optional flat span."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * FS)
    x = rng.normal(0, 3, (n, n_ch))
    for s, e, c in bursts:
        x[int(s * FS) : int(e * FS), c] += rng.normal(0, 120, (int(e * FS) - int(s * FS)))
    if flat:
        x[int(flat[0] * FS) : int(flat[1] * FS), :] = 0.0
    return np.clip(np.rint(512 + x), 0, 1023)


def _plm_train(t0, n, channel="L", every=25.0):
    return [
        Episode("plm", channel, t0 + i * every, t0 + i * every + 2.0, 0.8, 20.0) for i in range(n)
    ]


def _night(episodes, data, quality=()):
    rec = Recording(data, FS, ["L", "R"], units="adc", sensor="raw", start_time=START)
    return Night(
        channel_names=["L", "R"],
        fs=FS,
        duration_s=rec.duration_s,
        segments=[(0.0, rec)],
        episodes=episodes,
        start_time=START,
        quality=list(quality),
        source="test",
        units="adc",
        sensor="raw",
    )


def _episodes():
    eps = _plm_train(100.0, 12)  # a series of 12 on the left leg
    for e in eps:
        e.extra["plm_in_series"] = True  # as the tracker marks them
    eps += [
        Episode("cramp", "R", 700.0, 790.0, 0.9, 32.0, id="cramp1"),
        Episode("spasm", "L", 1200.0, 1203.5, 0.7, 41.0, id="spasm1"),
        Episode("spasm", "R", 1500.0, 1501.0, 0.6, 12.0),
        Episode("voluntary", "L", 1600.0, 1605.0, 0.6, 15.0),
    ]
    # an alert the whole episode withdrew, and one held (confirmed alerts) and never sent
    eps[-1].extra["alerted_as"] = "spasm"
    eps += [Episode("voluntary", "R", 1700.0, 1702.0, 0.3, 14.0, extra={"quiet": True})]
    return eps


def test_json_counts_and_times_match_the_episodes_given(tmp_path):
    eps = _episodes()
    data = _signal(bursts=[(e.start, e.end, 0 if e.channel == "L" else 1) for e in eps])
    html_path, json_path = make_report(_night(eps, data), tmp_path / "night.html")
    s = json.loads(json_path.read_text())
    assert json_path == tmp_path / "night.json"
    assert s["episodes_total"] == len(eps) == len(s["episodes"])
    assert s["involuntary_total"] == len(eps) - 2  # the voluntary ones are logged, not counted
    assert {k: v["count"] for k, v in s["by_kind"].items()} == {
        "spasm": 2,
        "cramp": 1,
        "plm": 12,
        "voluntary": 2,
    }
    # sent live: every involuntary episode and the withdrawn one; not the held one
    assert s["alerts_sent"] == len(eps) - 1 and s["alerts_withdrawn"] == 1
    assert s["by_kind"]["cramp"]["total_s"] == 90.0
    assert s["by_kind"]["plm"]["total_s"] == 24.0
    assert sum(sum(h["counts"].values()) for h in s["per_hour"]) == len(eps)
    assert s["longest"][0]["id"] == "cramp1"
    assert s["strongest"][0]["id"] == "spasm1"
    assert s["episodes"][0]["start_utc"] == "2026-11-24T23:01:40+00:00"
    # 12 PLMs 25 s apart form one series: 12 movements in series in 0.5 h
    assert s["plm"]["all_channels"]["movements_in_series"] == 12
    assert s["plm"]["index_per_h"] == 24.0 and s["plm"]["elevated"] is True
    assert s["plm"]["per_channel"]["R"]["movements"] == 0


def test_a_hypnogram_in_the_recording_gives_the_index_per_hour_of_sleep(tmp_path):
    from emgwatch.recording import Annotation

    eps = _episodes()  # 12 movements in series at 100-377 s, in 0.5 h of recording
    data = _signal(bursts=[(e.start, e.end, 0 if e.channel == "L" else 1) for e in eps])
    night = _night(eps, data)
    rec = night.segments[0][1]
    assert (
        json.loads(make_report(night, tmp_path / "a.html")[1].read_text())["plm"][
            "index_per_h_sleep"
        ]
        is None
    )  # no hypnogram: only the index per hour of recording
    # awake until 200 s (4 of the movements), then stage 2 in 30-s epochs as instants
    rec.annotations = [Annotation(0.0, 200.0, "Sleep stage W")] + [
        Annotation(t, 0.0, "Sleep stage 2") for t in np.arange(200.0, 1800.0, 30.0)
    ]
    html, js = make_report(night, tmp_path / "b.html")
    plm = json.loads(js.read_text())["plm"]
    assert plm["index_per_h"] == 24.0 and plm["sleep_h"] == round(1600 / 3600, 2)
    assert plm["index_per_h_sleep"] == round(8 / (1600 / 3600), 1)
    assert "Per hour of sleep" in html.read_text()


def test_html_is_self_contained_with_every_section(tmp_path):
    eps = _episodes()
    data = _signal(bursts=[(e.start, e.end, 0 if e.channel == "L" else 1) for e in eps])
    html_path, json_path = make_report(_night(eps, data), tmp_path / "r.html")
    page = html_path.read_text()
    summary = json.loads(json_path.read_text())
    for heading in (
        "The night at a glance",
        "Episodes by kind",
        "Episodes per hour",
        "Periodic limb movements",
        "Longest episodes",
        "Strongest episodes",
        "Signal quality",
    ):
        assert f">{heading}<" in page
    assert DISCLAIMER.split(".")[0] in page and "not a diagnosis" in page.lower()
    srcs = re.findall(r'src="([^"]+)"', page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    png = base64.b64decode(srcs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # timeline + per-hour + one zoom per distinct longest/strongest episode (none twice)
    zoomed = {d["id"] for d in summary["longest"] + summary["strongest"]}
    assert len(srcs) == 2 + len(zoomed)


def test_flat_signal_is_reported_as_a_sensor_problem_not_a_quiet_night(tmp_path):
    data = _signal(flat=(300.0, 900.0))
    night = _night([], data)
    s = summarize(night, night_envelope(night))
    q = s["quality"]
    assert q["per_channel"]["L"]["flat_s"] == pytest.approx(600.0, abs=2)
    assert q["warning"] is True
    html_path, _ = make_report(night, tmp_path / "r.html")
    assert "Sensor problem during this night" in html_path.read_text()


def test_clean_night_has_no_quality_warning(tmp_path):
    night = _night([], _signal(duration_s=600.0))
    s = summarize(night, night_envelope(night))
    assert s["quality"]["warning"] is False and s["episodes_total"] == 0


def _record_session(tmp_path, data, episodes, quality_events=()):
    db = tmp_path / "episodes.sqlite"
    elog = EpisodeLog(db)
    sid = elog.open_session("dev1", START, "sleep", "test-model")
    rec = EdfRecorder(
        tmp_path / "rec",
        FS,
        ["L", "R"],
        START,
        units="adc",
        sensor="raw",
        on_file=elog.add_recording,
        fsync=False,  # speed; crash safety is tested in test_edf_recorder
        flush_s=10.0,
    )
    step = int(FS)
    events = sorted(
        [EpisodeEvent("end", e, e.end) for e in episodes] + list(quality_events),
        key=lambda ev: getattr(ev, "detected_at", getattr(ev, "t", 0.0)),
    )
    k = 0
    for i in range(0, len(data), step):
        rec.write(Block(i / FS, FS, data[i : i + step]))
        while (
            k < len(events)
            and getattr(events[k], "detected_at", getattr(events[k], "t", 0)) <= i / FS
        ):
            ev = events[k]
            if isinstance(ev, EpisodeEvent):
                elog.handle(ev)
                rec.handle(ev)
            else:
                elog.handle_quality(ev)
                rec.handle_quality(ev)
            k += 1
    rec.close()
    elog.close_session(START + timedelta(seconds=len(data) / FS))
    elog.close()
    return db, sid, rec


def test_report_of_a_logged_session_uses_its_log_and_edf(tmp_path, capsys):
    eps = _episodes()
    data = _signal(
        duration_s=1800.0, bursts=[(e.start, e.end, 0 if e.channel == "L" else 1) for e in eps]
    )
    q = [
        SimpleNamespace(t=400.0, channel="R", kind="lead_off", active=True),
        SimpleNamespace(t=460.0, channel="R", kind="lead_off", active=False),
    ]
    db, sid, rec = _record_session(tmp_path, data, eps, q)
    out = tmp_path / "out" / "s.html"
    assert main(["report", str(sid), "--db", str(db), "-o", str(out)]) == 0
    s = json.loads(out.with_suffix(".json").read_text())
    assert s["episodes_total"] == len(eps)
    assert s["source"] == f"session {sid} (dev1)"
    assert s["model_version"] == "test-model"
    assert s["quality"]["per_channel"]["R"]["logged"] == {"lead_off": {"count": 1, "total_s": 60.0}}
    assert "written in" in capsys.readouterr().err


def test_report_of_a_file_runs_detection_first(tmp_path, capsys):
    from emgwatch.detector import detect_recording

    data = _signal(duration_s=300.0, bursts=[(60.0, 64.0, 0), (200.0, 230.0, 1)])
    path = tmp_path / "night.edf"
    write_recording(
        path, Recording(data, FS, ["L", "R"], units="adc", sensor="raw", start_time=START)
    )
    out = tmp_path / "n.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    s = json.loads(out.with_suffix(".json").read_text())
    expected = detect_recording(read_recording(path))
    assert s["episodes_total"] == len(expected) >= 1
    assert sorted(e["start_s"] for e in s["episodes"]) == sorted(
        round(e.start, 3) for e in expected
    )


def test_corrupt_or_truncated_edf_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0       " + b"garbage" * 20)
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("emgwatch report: error:") and "bad.edf" in err and "\n" not in err
    assert not (tmp_path / "x.html").exists()


def test_unknown_source_and_session_are_clear_errors(tmp_path, capsys):
    assert main(["report", "no-such-night.edf"]) == 2
    assert "no such file, and not a session id" in capsys.readouterr().err
    db, sid, _ = _record_session(tmp_path, _signal(duration_s=20.0), [])
    assert main(["report", "99", "--db", str(db)]) == 1
    assert "no session 99" in capsys.readouterr().err


def test_session_with_one_corrupt_file_reports_from_the_others(tmp_path, caplog):
    import sqlite3

    eps = _episodes()[:3]
    db, sid, rec = _record_session(tmp_path, _signal(duration_s=600.0), eps)
    bad = tmp_path / "rec" / "broken.edf"
    bad.write_bytes(rec.files[0].read_bytes()[:100])  # a file cut inside its header
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO recordings VALUES (?, ?, ?)", (sid, str(bad), 600.0))
    out = tmp_path / "s.html"
    assert main(["report", str(sid), "--db", str(db), "-o", str(out)]) == 0
    assert "skipping unreadable recording" in caplog.text and "broken.edf" in caplog.text
    s = json.loads(out.with_suffix(".json").read_text())
    assert s["episodes_total"] == 3
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM recordings WHERE path != ?", (str(bad),))
    assert main(["report", str(sid), "--db", str(db), "-o", str(out)]) == 1


@pytest.mark.slow
def test_an_eight_hour_night_reports_in_under_30_s(tmp_path):
    import time

    rng = np.random.default_rng(5)
    hours, fs = 8.0, 1000.0
    n = int(hours * 3600 * fs)
    data = np.empty((n, 2))
    for c in range(2):
        data[:, c] = rng.standard_normal(n, dtype=np.float32) * 3 + 512
    eps = []
    for i in range(300):  # a busy night: 300 episodes of every kind
        t0 = 60.0 + i * 95.0
        kind = ("plm", "spasm", "cramp", "clonus", "voluntary")[i % 5]
        eps.append(Episode(kind, ("L", "R")[i % 2], t0, t0 + 2 + (i % 7) * 9, 0.8, 10 + i % 30))
    rec = Recording(data, fs, ["L", "R"], units="adc", sensor="raw", start_time=START)
    night = Night(
        ["L", "R"], fs, rec.duration_s, [(0.0, rec)], eps, START, units="adc", sensor="raw"
    )
    t = time.perf_counter()
    _, js = make_report(night, tmp_path / "night8.html")
    took = time.perf_counter() - t
    print(f"\n8-h x 2-ch night, 300 episodes: report in {took:.1f} s")
    assert json.loads(js.read_text())["episodes_total"] == 300
    assert took < 30.0


def test_a_file_report_counts_every_live_alert_isolated_leg_movements_too(tmp_path):
    """A recording's report leaves out leg movements that joined no series, but a live run
    alerted on them and took them back: the live-alert counts must include them, as a
    session's report (from its log) does."""
    from emgwatch.detector import detect_recording
    from emgwatch.report import live_alert_counts, night_from_recording
    from emgwatch.synth import simulate

    rec, _ = simulate("mixed", 300, 1000, 5, channels=2)
    path = tmp_path / "m.edf"
    write_recording(path, rec)
    night = night_from_recording(path)
    every = detect_recording(read_recording(path), isolated_plm=True)
    assert night.alerts == live_alert_counts(every)
    shown = live_alert_counts(night.episodes)
    assert night.alerts[0] > shown[0] and night.alerts[1] > shown[1]
    _, json_path = make_report(night, tmp_path / "m.html")
    s = json.loads(json_path.read_text())
    assert (s["alerts_sent"], s["alerts_withdrawn"]) == night.alerts
