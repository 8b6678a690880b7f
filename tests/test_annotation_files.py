"""A sleep study's scoring in a file of its own (NSRR XML, Profusion XML, an EDF+ hypnogram,
CSV): read into the recording's annotations, placed in its time, or refused in one line."""

import datetime as dt
import logging

import numpy as np
import pytest

from emgwatch.annotation_files import read_annotation_file, with_annotation_file
from emgwatch.errors import InputError
from emgwatch.hypnogram import sleep_spans, total_s
from emgwatch.recording import Recording
from emgwatch.truth import truth_from_annotations


def _rec(duration_s=600.0, names=("LLEG", "RLEG"), start=None):
    n = int(duration_s * 256)
    return Recording(np.zeros((n, len(names))), 256.0, list(names), units="uV", start_time=start)


NSRR = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<PSGAnnotation>
<SoftwareVersion>Compumedics</SoftwareVersion>
<EpochLength>30</EpochLength>
<ScoredEvents>
<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept><Start>0</Start>
<Duration>600.0</Duration><ClockTime>00.00.00 22.15.00</ClockTime></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Wake|0</EventConcept>
<Start>0</Start><Duration>60.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Stage 2 sleep|2</EventConcept>
<Start>60</Start><Duration>420.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>REM sleep|5</EventConcept>
<Start>480</Start><Duration>90.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>Wake|0</EventConcept>
<Start>570</Start><Duration>30.0</Duration></ScoredEvent>
<ScoredEvent><EventType>Limb Movement|Limb Movement</EventType>
<EventConcept>Limb Movement (Left)|Limb Movement (Left)</EventConcept>
<Start>100.5</Start><Duration>1.5</Duration><SignalLocation>L Leg</SignalLocation></ScoredEvent>
<ScoredEvent><EventType>Limb Movement|Limb Movement</EventType>
<EventConcept>Limb Movement (Right)|Limb Movement (Right)</EventConcept>
<Start>130.25</Start><Duration>2</Duration><SignalLocation>R Leg</SignalLocation></ScoredEvent>
<ScoredEvent><EventType>Arousals|Arousals</EventType><EventConcept>Arousal|Arousal ()</EventConcept>
<Start>131</Start><Duration>5</Duration><SignalLocation>C3</SignalLocation></ScoredEvent>
</ScoredEvents>
</PSGAnnotation>
"""

PROFUSION = """<?xml version="1.0" encoding="UTF-8"?>
<CMPStudyConfig>
<EpochLength>30</EpochLength>
<ScoredEvents>
<ScoredEvent><Name>Limb Movement (Left)</Name><Start>100.5</Start><Duration>1.5</Duration>
<Input>L Leg</Input></ScoredEvent>
<ScoredEvent><Name>SpO2 desaturation</Name><Start>200</Start><Duration>20</Duration>
<Input>SpO2</Input></ScoredEvent>
</ScoredEvents>
<SleepStages>
<SleepStage>0</SleepStage><SleepStage>0</SleepStage><SleepStage>1</SleepStage>
<SleepStage>2</SleepStage><SleepStage>2</SleepStage><SleepStage>9</SleepStage>
<SleepStage>5</SleepStage><SleepStage>0</SleepStage>
</SleepStages>
</CMPStudyConfig>
"""


def test_nsrr_xml_gives_stages_and_scored_leg_movements_on_their_channels(tmp_path):
    p = tmp_path / "study-nsrr.xml"
    p.write_text(NSRR)
    rec = _rec()
    anns = read_annotation_file(p, rec)
    assert [a.description for a in anns][:2] == ["Wake|0", "Stage 2 sleep|2"]
    assert not any("Recording Start" in a.description for a in anns)
    lm = [a for a in anns if a.description.startswith("Limb")]
    assert [(a.onset, a.duration, a.channel) for a in lm] == [
        (100.5, 1.5, "LLEG"),  # "L Leg" names the recording's LLEG
        (130.25, 2.0, "RLEG"),
    ]
    assert [a.channel for a in anns if a.description.startswith("Arousal")] == [None]  # C3
    rec = with_annotation_file(rec, p)
    assert total_s(sleep_spans(rec.annotations, rec.duration_s)) == 510.0  # 60-570 s
    truth = truth_from_annotations(rec, "study.edf")
    assert [(e.start, e.end, e.kind, e.channel) for e in truth.episodes] == [
        (100.5, 102.0, "plm", "LLEG"),
        (130.25, 132.25, "plm", "RLEG"),
    ]


def test_profusion_xml_gives_one_stage_per_epoch(tmp_path):
    p = tmp_path / "study-profusion.xml"
    p.write_text(PROFUSION)
    anns = read_annotation_file(p, _rec(names=("L Leg",)))
    stages = [(a.onset, a.duration, a.description) for a in anns if "stage" in a.description]
    assert stages[:3] == [
        (0.0, 30.0, "Sleep stage W"),
        (30.0, 30.0, "Sleep stage W"),
        (60.0, 30.0, "Sleep stage 1"),
    ]
    assert stages[5][2] == "Sleep stage ?" and stages[6][2] == "Sleep stage R"  # 9, 5
    assert total_s(sleep_spans(anns, 600.0)) == 120.0  # epochs 2, 3, 4 and 6
    assert [a.channel for a in anns if a.description.startswith("Limb")] == ["L Leg"]


def test_a_hypnogram_edf_is_placed_by_its_start_time(tmp_path):
    import edfio

    start = dt.datetime(2026, 3, 1, 22, 0, 0)
    later = start + dt.timedelta(seconds=60)  # scoring began a minute into the recording
    p = tmp_path / "SC4001EC-Hypnogram.edf"
    edfio.Edf(
        [],
        annotations=[
            edfio.EdfAnnotation(0.0, 90.0, "Sleep stage W"),
            edfio.EdfAnnotation(90.0, 300.0, "Sleep stage 2"),
            edfio.EdfAnnotation(390.0, 30.0, "Sleep stage W"),
            edfio.EdfAnnotation(100.0, None, "LM RLEG"),
        ],
        starttime=later.time(),
        recording=edfio.Recording(startdate=later.date()),
    ).write(p)
    anns = read_annotation_file(p, _rec(start=start))
    assert [(a.onset, a.description, a.channel) for a in anns] == [
        (60.0, "Sleep stage W", None),
        (150.0, "Sleep stage 2", None),
        (160.0, "LM", "RLEG"),  # a trailing channel label, split off as the EDF+ reader does
        (450.0, "Sleep stage W", None),
    ]
    # without a start time to place it by, its onsets are taken as they are
    assert read_annotation_file(p, _rec())[0].onset == 0.0


def test_the_csv_emgwatch_writes_is_read_too(tmp_path):
    p = tmp_path / "scoring.csv"
    p.write_text("onset,duration,description,channel\n12.5,2,LM,LLEG\n40,0,Lights off,\n")
    anns = read_annotation_file(p, _rec())
    assert [(a.onset, a.duration, a.description, a.channel) for a in anns] == [
        (12.5, 2.0, "LM", "LLEG"),
        (40.0, 0.0, "Lights off", None),
    ]


def test_annotations_outside_the_recording_are_dropped_with_a_warning_or_refused(tmp_path, caplog):
    p = tmp_path / "s.csv"
    p.write_text("onset,duration,description\n10,2,LM\n599,5,LM\n700,2,LM\n")
    with caplog.at_level(logging.WARNING):
        anns = read_annotation_file(p, _rec())
    assert [a.onset for a in anns] == [10.0, 599.0]
    assert "1 of 3 annotations fall outside the recording (0-600 s)" in caplog.text
    p.write_text("onset,duration,description\n7000,2,LM\n7040,2,LM\n")
    with pytest.raises(InputError, match=r"none of its 2 annotations falls within the recording"):
        read_annotation_file(p, _rec())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<PSGAnnotation><ScoredEvents>\n<ScoredEvent></PSGAnnotation>",
            r"line 2, column \d+: not well-formed XML: mismatched tag",
        ),
        ("<html><body/></html>", r"expected NSRR \(<PSGAnnotation>\) or Compumedics Profusion"),
        (
            "<PSGAnnotation><ScoredEvents><ScoredEvent><EventConcept>LM</EventConcept>"
            "<Start>soon</Start></ScoredEvent></ScoredEvents></PSGAnnotation>",
            r"ScoredEvent 1: <Start> must be a number of seconds >= 0, got 'soon'",
        ),
        (
            "<CMPStudyConfig><ScoredEvents/><SleepStages><SleepStage>0</SleepStage>"
            "<SleepStage>N2</SleepStage></SleepStages></CMPStudyConfig>",
            r"SleepStage 2: expected a stage code 0-9, got 'N2'",
        ),
    ],
)
def test_a_scoring_file_that_cannot_be_read_is_refused_where_it_goes_wrong(tmp_path, text, message):
    p = tmp_path / "bad.xml"
    p.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        read_annotation_file(p, _rec())
    assert str(e.value).startswith(str(p)) and "\n" not in str(e.value)


def test_annotations_crossing_an_end_keep_their_part_within_the_recording(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("onset,duration,description\n-2,5,LM\n598,10,LM\n")
    anns = read_annotation_file(p, _rec())
    assert [(a.onset, a.duration) for a in anns] == [(0.0, 3.0), (598.0, 2.0)]


def test_channels_that_differ_only_in_punctuation_take_no_annotation(tmp_path, caplog):
    p = tmp_path / "s-nsrr.xml"
    p.write_text(NSRR)
    with caplog.at_level(logging.WARNING):
        anns = read_annotation_file(p, _rec(names=("L-Leg", "L_Leg", "RLEG")))
    assert "differ only in case or punctuation" in caplog.text
    assert [a.channel for a in anns if a.description.startswith("Limb")] == [None, "RLEG"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("gb.xml", b'<?xml version="1.0" encoding="GB2312"?><PSGAnnotation/>', "encoding"),
        ("odd.xml", b'<?xml version="1.0" encoding="x-nonsense"?><PSGAnnotation/>', "encoding"),
        (
            "code.xml",
            b"<CMPStudyConfig><ScoredEvents/><SleepStages><SleepStage>99</SleepStage>"
            b"</SleepStages></CMPStudyConfig>",
            "SleepStage 1: expected a stage code 0-9, got '99'",
        ),
        ("long.csv", b"onset,duration,description\n1,1," + b"x" * 200_000 + b"\n", "line 2"),
    ],
)
def test_unreadable_encodings_codes_and_rows_are_one_line_errors(tmp_path, name, data, message):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(InputError, match=message) as e:
        read_annotation_file(p, _rec())
    assert str(e.value).startswith(str(p)) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("rec_at", "hyp_at"),
    [((22, 0, 0), (22, 1, 0)), ((23, 59, 30), (0, 0, 30)), ((0, 0, 0), (0, 1, 0))],
)
def test_with_anonymised_dates_a_hypnogram_is_placed_by_the_time_of_day(
    tmp_path, caplog, rec_at, hyp_at
):
    """EDF+ files shared for research often say "Startdate X": the time of day is still in
    the header, and the scoring of a study starts within hours of its signal (across midnight
    too)."""
    import edfio

    from emgwatch.recording import read_recording

    signal = tmp_path / "psg.edf"
    edfio.Edf(
        [edfio.EdfSignal(np.zeros(256 * 300), 256, label="LLEG")],
        starttime=dt.time(*rec_at),
        recording=edfio.Recording(startdate=None),
    ).write(signal)
    hyp = tmp_path / "hyp.edf"
    edfio.Edf(
        [],
        annotations=[edfio.EdfAnnotation(10.0, 30.0, "Sleep stage W")],
        starttime=dt.time(*hyp_at),
        recording=edfio.Recording(startdate=None),
    ).write(hyp)
    rec = read_recording(signal)
    assert rec.start_time is None  # the date is gone
    with caplog.at_level(logging.WARNING):
        (a,) = read_annotation_file(hyp, rec)
    assert a.onset == 70.0 and "placed by the time of day" in caplog.text


def test_a_utf16_xml_as_windows_tools_save_it_is_read_like_utf8(tmp_path):
    p = tmp_path / "study-nsrr.xml"
    p.write_bytes(NSRR.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    rec = _rec()
    utf8 = tmp_path / "same.xml"
    utf8.write_text(NSRR)
    got = read_annotation_file(p, rec)
    assert len(got) > 2 and got == read_annotation_file(utf8, rec)


def test_blank_lines_before_a_csv_header_are_skipped_and_rows_keep_their_line_numbers(tmp_path):
    p = tmp_path / "scoring.csv"
    p.write_text("\n\nonset,duration,description,channel\n10,2,plm,LLEG\n")
    anns = read_annotation_file(p, _rec())
    assert [(a.onset, a.duration, a.description, a.channel) for a in anns] == [
        (10.0, 2.0, "plm", "LLEG")
    ]
    p.write_text("\n\nonset,duration,description\n10,x,plm\n")
    with pytest.raises(InputError, match="line 4: onset/duration not numbers"):
        read_annotation_file(p, _rec())


@pytest.mark.parametrize(
    "text",
    [
        "W\nW\nN1\nN2\nN2\nN3\nR\nW\n?\nN2\n\n",  # stage names, a trailing blank line
        "\n0\n0\n1\n2\n2\n3\n5\n0\n9\n2\n",  # codes as ISRUC or Profusion (5: REM, 9: unscored)
    ],
)
def test_a_text_hypnogram_of_one_stage_per_epoch_is_read_as_30_s_epochs(tmp_path, text):
    p = tmp_path / "hypnogram.txt"
    p.write_text(text)
    rec = with_annotation_file(_rec(), p)
    anns = rec.annotations
    assert [a.onset for a in anns] == [30.0 * k for k in range(10)]
    assert all(a.duration == 30.0 for a in anns)
    # sleep in epochs 2-6 and 9 (the unscored epoch 8 counts as neither)
    assert total_s(sleep_spans(anns, rec.duration_s)) == 6 * 30.0


def test_a_text_hypnogram_with_a_line_that_is_no_stage_is_refused_at_that_line(tmp_path):
    p = tmp_path / "hypnogram.txt"
    p.write_text("W\nN1\nN2 sleep maybe\nR\n")
    with pytest.raises(InputError, match="line 3: expected one sleep stage per 30-s epoch"):
        read_annotation_file(p, _rec())


def test_text_hypnograms_in_odd_shapes_are_read_or_refused_in_one_line(tmp_path, caplog):
    rec = _rec(duration_s=300.0)
    p = tmp_path / "h.txt"
    p.write_bytes(("W\n" * 4 + "N2\n" * 20).encode("utf-16"))  # UTF-16, longer than the recording
    with caplog.at_level(logging.WARNING):
        anns = read_annotation_file(p, rec)
    assert len(anns) == 10 and "14 epochs after the recording's end" in caplog.text
    for text, message in (
        ("\u00b2\nW\n", "line 1: expected header"),  # a superscript digit is no stage code
        ("W\nN1\n\nN2\n", "line 3: .* got a blank line"),
        ("\n\n  \r\n\t\n", "only blank lines"),
    ):
        p.write_text(text)
        with pytest.raises(InputError, match=message):
            read_annotation_file(p, rec)


def test_a_utf16_csv_is_read_like_utf8(tmp_path):
    p = tmp_path / "scoring.csv"
    p.write_bytes("onset,duration,description,channel\r\n10,2,plm,LLEG\r\n".encode("utf-16"))
    anns = read_annotation_file(p, _rec())
    assert [(a.onset, a.description, a.channel) for a in anns] == [(10.0, "plm", "LLEG")]
