from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from datetime import UTC, datetime
from types import SimpleNamespace

import edfio
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emgwatch.block import Block
from emgwatch.episodes import Episode, EpisodeEvent
from emgwatch.errors import UsageError
from emgwatch.sinks import edf_recorder
from emgwatch.sinks.edf_recorder import EdfRecorder, record_duration_for

START = datetime(2026, 11, 25, 22, 0, 0, tzinfo=UTC)


def _adc(n, n_ch=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(512 + rng.normal(0, 60, (n, n_ch))), 0, 1023)


def _feed(rec, x, fs=1000.0, block=50, t0=0.0):
    for i in range(0, len(x), block):
        rec.write(Block(t0 + i / fs, fs, x[i : i + block]))


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return edfio.read_edf(path)


def _anns(edf):
    return [(round(a.onset, 3), round(a.duration or 0.0, 3), a.text) for a in edf.annotations]


def test_adc_counts_round_trip_losslessly_with_annotations(tmp_path):
    x = _adc(10_000)
    with EdfRecorder(tmp_path, 1000, ["calf L", "calf R"], START, units="adc") as rec:
        _feed(rec, x[:4000])
        rec.handle(EpisodeEvent("start", Episode("cramp", "calf L", 1.5), 1.8))
        rec.handle(EpisodeEvent("end", Episode("cramp", "calf L", 1.5, 3.25), 3.9))
        rec.annotate(7.0, 0.0, "note")
        _feed(rec, x[4000:], t0=4.0)
    (path,) = rec.files
    edf = _read(path)
    assert edf.labels == ("calf L", "calf R")
    assert np.array_equal(edf.signals[0].data, x[:, 0])
    assert np.array_equal(edf.signals[1].data, x[:, 1])
    assert _anns(edf) == [(1.5, 1.75, "cramp calf L"), (7.0, 0.0, "note")]
    assert edf.startdatetime.replace(tzinfo=UTC) == START


def test_a_recording_says_which_command_wrote_it_and_is_no_ground_truth(tmp_path):
    # 'emgwatch run' files hold its own detections as annotations; `evaluate
    # --truth-from-annotations` must tell them from a simulation's truth or a scorer's file
    from emgwatch.errors import InputError
    from emgwatch.recording import read_recording
    from emgwatch.truth import truth_from_annotations

    for made_by in ("run", "simulate"):
        d = tmp_path / made_by
        kw = {} if made_by == "run" else {"made_by": made_by}
        with EdfRecorder(d, 1000, ["calf L"], START, units="adc", **kw) as rec:
            _feed(rec, _adc(10_000, 1))
            rec.handle(EpisodeEvent("end", Episode("spasm", "calf L", 1.5, 3.25), 3.9))
        (path,) = rec.files
        got = read_recording(path)
        assert got.made_by == f"emgwatch {made_by}"
        if made_by == "run":
            with pytest.raises(InputError, match="recorded by 'emgwatch run'"):
                truth_from_annotations(got, path)
        else:
            assert [e.kind for e in truth_from_annotations(got, path).episodes] == ["spasm"]


def test_microvolt_signal_keeps_sub_microvolt_resolution_and_mne_reads_volts(tmp_path):
    mne = pytest.importorskip("mne")
    rng = np.random.default_rng(1)
    x = rng.normal(0, 200, (3000, 1))
    with EdfRecorder(tmp_path, 1000, ["ch1"], START, units="uV") as rec:
        _feed(rec, x)
    raw = mne.io.read_raw_edf(rec.files[0], preload=True, verbose="error")
    assert np.max(np.abs(raw.get_data()[0] * 1e6 - x[:, 0])) < 0.31


def test_files_rotate_at_duration_and_at_size(tmp_path):
    x = _adc(25_000, n_ch=1)
    rec = EdfRecorder(tmp_path / "d", 1000, ["ch1"], START, rotate_s=10)
    _feed(rec, x)
    rec.close()
    assert [_read(p).num_data_records for p in rec.files] == [10, 10, 5]
    assert [p.name for p in rec.files][1] == "emgwatch-20261125T220010Z.edf"
    joined = np.concatenate([_read(p).signals[0].data for p in rec.files])
    assert np.array_equal(joined, x[:, 0])
    by_size = EdfRecorder(tmp_path / "s", 1000, ["ch1"], START, rotate_bytes=20_000)
    _feed(by_size, x)
    by_size.close()
    assert all(p.stat().st_size <= 20_000 for p in by_size.files)
    assert len(by_size.files) == 3


def test_episode_spanning_a_rotation_is_annotated_in_the_file_where_it_ends(tmp_path):
    rec = EdfRecorder(tmp_path, 1000, ["ch1"], START, rotate_s=5)
    _feed(rec, _adc(8000, n_ch=1))
    rec.handle(EpisodeEvent("end", Episode("spasm", "ch1", 4.0, 6.5), 7.0))
    rec.close()
    assert _anns(_read(rec.files[1])) == [(0.0, 1.5, "spasm ch1")]


def test_short_gap_is_padded_and_annotated_long_gap_starts_a_new_file(tmp_path):
    x = _adc(3000, n_ch=1)
    rec = EdfRecorder(tmp_path, 1000, ["ch1"], START)
    _feed(rec, x[:1000])
    rec.write(Block(1.5, 1000.0, x[1000:2000], gap_before=True))  # 0.5 s lost
    rec.write(Block(60.0, 1000.0, x[2000:3000], gap_before=True))  # 57.5 s lost
    rec.close()
    first, second = (_read(p) for p in rec.files)
    assert first.duration == 3.0
    assert _anns(first) == [(1.0, 0.5, "gap")]
    assert np.array_equal(first.signals[0].data[1500:2500], x[1000:2000, 0])
    assert second.startdatetime.replace(tzinfo=UTC) == datetime(2026, 11, 25, 22, 1, 0, tzinfo=UTC)
    assert np.array_equal(second.signals[0].data[:1000], x[2000:3000, 0])


def test_quality_events_become_spans_and_open_ones_close_with_the_file(tmp_path):
    rec = EdfRecorder(tmp_path, 1000, ["ch1"], START)
    _feed(rec, _adc(2000, n_ch=1))
    rec.handle_quality(SimpleNamespace(t=0.5, channel="ch1", kind="lead_off", active=True))
    rec.handle_quality(SimpleNamespace(t=1.25, channel="ch1", kind="lead_off", active=False))
    rec.handle_quality(SimpleNamespace(t=1.5, channel="ch1", kind="saturation", active=True))
    _feed(rec, _adc(1000, n_ch=1), t0=2.0)
    rec.close()
    assert _anns(_read(rec.files[0])) == [
        (0.5, 0.75, "quality lead_off ch1"),
        (1.5, 1.5, "quality saturation ch1"),
    ]


def test_many_annotations_spill_into_following_records(tmp_path):
    rec = EdfRecorder(tmp_path, 1000, ["ch1"], START)
    for i in range(12):
        rec.annotate(0.1 * i, 0.05, f"twitch number {i}")
    _feed(rec, _adc(2000, n_ch=1))
    rec.close()
    assert [a[2] for a in _anns(_read(rec.files[0]))] == [f"twitch number {i}" for i in range(12)]


def test_record_duration_gives_whole_samples():
    assert record_duration_for(1000) == 1.0
    assert record_duration_for(512.5) == 2.0
    assert record_duration_for(250.1) == 10.0
    with pytest.raises(UsageError, match="fs=1000.37 Hz"):
        record_duration_for(1000.37)


def test_failing_disk_puts_recorder_in_failed_state_without_raising(tmp_path, monkeypatch, caplog):
    x = _adc(6000, n_ch=1)
    rec = EdfRecorder(tmp_path, 1000, ["ch1"], START)
    _feed(rec, x[:3000])
    real_write = os.write

    def full(fd, data):
        real_write(fd, bytes(data)[:100])  # a partial record reaches the disk, then ENOSPC
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(edf_recorder.os, "write", full)
    _feed(rec, x[3000:5000], t0=3.0)  # must not raise
    monkeypatch.setattr(edf_recorder.os, "write", real_write)
    _feed(rec, x[5000:], t0=5.0)
    rec.close()
    assert rec.status == "failed"
    assert (
        "No space left on device" in caplog.text and "detection and alerts continue" in caplog.text
    )
    assert rec.dropped_samples == 3000  # queued when the disk filled, and all after
    edf = _read(rec.files[0])  # what was written before is intact and ends on a record
    assert edf.num_data_records == 3
    assert np.array_equal(edf.signals[0].data, x[:3000, 0])


def test_real_full_filesystem_keeps_earlier_records_and_the_log_keeps_going(tmp_path, caplog):
    from emgwatch.sinks.episode_log import EpisodeLog

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mnt)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        elog = EpisodeLog(mnt / "episodes.sqlite")
        elog.open_session("dev", START, "sleep", "v")
        elog.handle(EpisodeEvent("end", Episode("cramp", "ch1", 1.0, 9.0, id="before"), 9.5))
        x = _adc(120_000, n_ch=1)
        rec = EdfRecorder(mnt / "rec", 1000, ["ch1"], START)
        _feed(rec, x)  # fills the disk; must not raise
        for i in range(20):  # the log meets a full disk too; must not raise either
            ep = Episode("spasm", "ch1", 100.0 + i, 100.5 + i, id=f"after{i}")
            elog.handle(EpisodeEvent("end", ep, 101.0 + i))
        rec.close()
        assert rec.status == "failed" and "No space left" in rec.error
        edf = _read(io.BytesIO(rec.files[0].read_bytes()))  # no mapping left on the mount
        n = edf.num_data_records
        assert 20 <= n < 120
        assert np.array_equal(edf.signals[0].data, x[: n * 1000, 0])
        stored = [e.episode.id for e in elog.episodes()]
        assert stored[0] == "before" and len(stored) + elog.pending == 21
        elog.close()
        print(
            f"\ntiny tmpfs: recorder failed cleanly after {n} s ({rec.error}); episode log: "
            f"{len(stored)} episodes stored, {elog.pending} kept in memory"
        )
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, UTC
    import numpy as np
    from emgwatch.block import Block
    from emgwatch.episodes import Episode, EpisodeEvent
    from emgwatch.sinks.edf_recorder import EdfRecorder
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    x = np.clip(np.rint(512 + rng.normal(0, 60, (600_000, 2))), 0, 1023)
    rec = EdfRecorder(out, 1000, ["calf L", "calf R"], datetime(2026, 11, 25, 22, tzinfo=UTC),
                      flush_s=1.0)
    for i in range(0, len(x), 20):   # 20-sample blocks as from the serial source, ~10x real time
        rec.write(Block(i / 1000, 1000.0, x[i:i + 20]))
        if i % 5000 == 0 and i:
            rec.handle(EpisodeEvent("end", Episode("plm", "calf L", i / 1000 - 3, i / 1000 - 1), i / 1000))
        print(i + 20, flush=True)   # samples handed to the recorder so far
        time.sleep(0.002)
    """
)


def test_sigkilled_writer_leaves_a_file_readable_up_to_the_last_second(tmp_path):
    mne = pytest.importorskip("mne")
    pyedflib = pytest.importorskip("pyedflib")
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    target = 30_000 + int(np.random.default_rng().integers(0, 1000))  # anywhere in a second
    accepted = 0
    deadline = time.monotonic() + 60
    while accepted < target and time.monotonic() < deadline:
        accepted = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    rest = proc.stdout.read().split()  # lines printed before it died
    proc.wait()
    accepted = int(rest[-1]) if rest else accepted
    (path,) = list(tmp_path.glob("*.edf"))
    rng = np.random.default_rng(7)
    x = np.clip(np.rint(512 + rng.normal(0, 60, (600_000, 2))), 0, 1023)

    edf = _read(path)
    n = len(edf.signals[0].data)
    assert np.array_equal(edf.signals[0].data, x[:n, 0])
    assert np.array_equal(edf.signals[1].data, x[:n, 1])
    r = pyedflib.EdfReader(str(path))
    n_py = int(r.getNSamples()[0])
    assert np.array_equal(r.readSignal(1, digital=True)[:n_py], x[:n_py, 1])
    ann_py = r.readAnnotations()
    r.close()
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    assert raw.n_times == n == n_py
    lost_s = (accepted - n) / 1000
    assert 0 <= lost_s <= 1.0 + 0.02  # at most one flush interval (and the block in hand)
    episodes = [a for a in edf.annotations if a.text == "plm calf L"]
    assert len(episodes) >= (n // 5000) - 1
    assert len(raw.annotations) == len(episodes) == len(ann_py[0])
    print(
        f"\nSIGKILL after {accepted / 1000:.2f} s of signal handed to the recorder: {path.name} "
        f"reads back {n / 1000:.0f} s (lost {lost_s:.2f} s) - edfio {n} samples, pyedflib {n_py}, "
        f"MNE {raw.n_times}, all equal to what was written; {len(episodes)} episode annotations "
        f"(pyedflib {len(ann_py[0])}, MNE {len(raw.annotations)})"
    )


def test_file_cut_mid_record_reads_back_up_to_the_last_whole_record(tmp_path):
    mne = pytest.importorskip("mne")
    x = _adc(5000, n_ch=1)
    with EdfRecorder(tmp_path, 1000, ["ch1"], START) as rec:
        _feed(rec, x)
    path = rec.files[0]
    data = path.read_bytes()
    # power cut while the 5th record was being written: its count was not yet in the header
    path.write_bytes(data[:236] + b"4       " + data[244 : len(data) - 700])
    assert _read(path).num_data_records == 4
    assert mne.io.read_raw_edf(path, verbose="error").n_times == 4000


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fs=st.sampled_from([250.0, 500.0, 1000.0]),
    n_ch=st.integers(1, 3),
    seconds=st.floats(0.3, 4.5),
    cuts=st.lists(st.integers(1, 700), min_size=1, max_size=30),
)
@example(fs=250.0, n_ch=1, seconds=1.0, cuts=[1])
@example(fs=250.0, n_ch=2, seconds=3.0, cuts=[7])
def test_block_sizes_never_change_the_file(tmp_path, fs, n_ch, seconds, cuts):
    n = int(seconds * fs)
    x = _adc(n, n_ch=n_ch, seed=n)
    files = []
    for name, sizes in (("one", [n]), ("many", cuts)):
        rec = EdfRecorder(
            tmp_path / f"{name}-{n}-{n_ch}-{len(cuts)}", fs, [f"c{i}" for i in range(n_ch)], START
        )
        i = k = 0
        while i < n:
            step = sizes[k % len(sizes)]
            rec.write(Block(i / fs, fs, x[i : i + step]))
            i, k = i + step, k + 1
        rec.annotate(0.25, 0.5, "mark")
        rec.close()
        files.append(rec.files[0].read_bytes())
    assert files[0] == files[1]
    edf = _read(rec.files[0])
    spr = int(fs)  # one-second records
    whole = int(np.ceil(n / spr) * spr)  # the last record is padded with the mid value
    if n % spr == 0:
        whole += spr  # every record was already on disk: the late annotation gets a filler record
    data = edf.signals[0].data
    assert np.array_equal(data[:n], x[:, 0]) and len(data) == whole
    assert np.all(data[n:] == 512)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=120))
def test_any_annotation_text_reads_back_whole_or_cut_on_a_character(tmp_path, text):
    d = tmp_path / str(abs(hash(text)))
    rec = EdfRecorder(d, 100, ["ch1"], START)
    rec.annotate(0.5, 1.0, text)
    _feed(rec, _adc(200, n_ch=1), fs=100.0)
    rec.close()
    (got,) = [a.text for a in _read(rec.files[0]).annotations]
    # whole, or (too long for a record's annotation space) cut on a character boundary
    assert got == text or (text.startswith(got) and len(got.encode()) >= 90)


def test_a_revised_kind_replaces_a_queued_annotation_and_follows_one_on_disk(tmp_path):
    x = _adc(12_000)
    with EdfRecorder(tmp_path, 1000, ["leg", "arm"], START, units="adc") as rec:
        _feed(rec, x[:3000])
        spasm = Episode("spasm", "leg", 1.0, 2.5)
        rec.handle(EpisodeEvent("end", spasm, 2.6))
        # still queued: the annotation itself takes the new kind
        rec.handle(
            EpisodeEvent("update", Episode("plm", "leg", 1.0, 2.5, id=spasm.id), 2.9, "spasm")
        )
        other = Episode("spasm", "leg", 2.7, 2.95)
        rec.handle(EpisodeEvent("end", other, 2.99))
        _feed(rec, x[3000:8000], t0=3.0)  # flushed to disk now
        rec.handle(
            EpisodeEvent("update", Episode("plm", "leg", 2.7, 2.95, id=other.id), 8.0, "spasm")
        )
        # a series mark alone changes no annotation text
        rec.handle(EpisodeEvent("update", Episode("plm", "leg", 1.0, 2.5, id=spasm.id), 8.1, "plm"))
        _feed(rec, x[8000:], t0=8.0)
    (path,) = rec.files
    assert sorted(_anns(_read(path))) == [
        (1.0, 1.5, "plm leg"),
        (2.7, 0.25, "plm leg (revised, was spasm)"),
        (2.7, 0.25, "spasm leg"),
    ]


def _revised_after_rotation(tmp_path, kinds: list[str]) -> list[list[tuple]]:
    """A spasm ending in the first file (rotated at 10 s), then revised to each of ``kinds``
    in turn at 15 s, before the second file's next flush; the files' annotations."""
    x = _adc(30_000)
    with EdfRecorder(tmp_path, 1000, ["leg", "arm"], START, units="adc", rotate_s=10) as rec:
        _feed(rec, x[:5000])
        ep = Episode("spasm", "leg", 2.0, 4.0)
        rec.handle(EpisodeEvent("end", ep, 4.5))
        _feed(rec, x[5000:15000], t0=5.0)  # the first file ends at 10 s
        for k, kind in enumerate(kinds):
            previous, ep.kind = ep.kind, kind
            rec.handle(EpisodeEvent("update", ep, 15.0 + 0.2 * k, previous=previous))
        _feed(rec, x[15000:], t0=15.0)
    return [_anns(_read(f)) for f in rec.files[:2]]


def test_a_revision_after_the_file_rotated_names_the_episode_where_the_new_file_is(tmp_path):
    first, second = _revised_after_rotation(tmp_path, ["plm"])
    assert first == [(2.0, 2.0, "spasm leg")]
    assert second == [(5.0, 0.0, "plm leg (revised, was spasm; episode 22:00:02-22:00:04 UTC)")]


def test_a_queued_revision_of_an_earlier_files_episode_is_revised_in_place(tmp_path):
    # revised again before the note reached the disk: one note, saying what it is now
    _, second = _revised_after_rotation(tmp_path, ["plm", "clonus"])
    assert second == [(5.0, 0.0, "clonus leg (revised, was spasm; episode 22:00:02-22:00:04 UTC)")]


def test_a_queued_revision_released_again_leaves_what_the_file_says(tmp_path):
    x = _adc(12_000)
    with EdfRecorder(tmp_path, 1000, ["leg", "leg2"], START, units="adc") as rec:
        _feed(rec, x[:3000])
        ep = Episode("spasm", "leg", 1.0, 2.5)
        rec.handle(EpisodeEvent("end", ep, 2.6))
        twin = Episode("plm", "leg2", 1.0, 2.5)  # same onset on another channel: untouched
        rec.handle(EpisodeEvent("end", twin, 2.6))
        _feed(rec, x[3000:6000], t0=3.0)  # both on disk
        ep.kind = "plm"
        rec.handle(EpisodeEvent("update", ep, 6.1, previous="spasm"))
        ep.kind = "clonus"
        rec.handle(EpisodeEvent("update", ep, 6.2, previous="plm"))  # renames the queued one
        _feed(rec, x[6000:9000], t0=6.0)
        ep2 = Episode("spasm", "leg", 7.0, 7.5)
        rec.handle(EpisodeEvent("end", ep2, 7.6))
        _feed(rec, x[9000:10000], t0=9.0)
        ep2.kind = "plm"
        rec.handle(EpisodeEvent("update", ep2, 10.1, previous="spasm"))
        ep2.kind = "spasm"
        rec.handle(EpisodeEvent("update", ep2, 10.2, previous="plm"))  # back: nothing to add
        _feed(rec, x[10000:], t0=10.0)
    (path,) = rec.files
    assert sorted(_anns(_read(path))) == [
        (1.0, 1.5, "clonus leg (revised, was spasm)"),
        (1.0, 1.5, "plm leg2"),
        (1.0, 1.5, "spasm leg"),
        (7.0, 0.5, "spasm leg"),
    ]
