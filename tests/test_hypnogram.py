"""Sleep stages from annotations: the PLM index per hour of sleep needs to know when it was."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emgwatch.hypnogram import in_spans, sleep_spans, stage_of, total_s
from emgwatch.recording import Annotation


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("Sleep stage W", "wake"),
        ("Sleep stage 2", "sleep"),
        ("Sleep stage R", "sleep"),
        ("Sleep stage N3", "sleep"),
        ("Sleep stage ?", "unscored"),
        ("Stage 2 sleep|2", "sleep"),  # NSRR's name|code
        ("REM sleep|5", "sleep"),
        ("Wake|0", "wake"),
        ("Unscored|9", "unscored"),
        ("Movement time", "unscored"),
        ("SLEEP-S0", "wake"),  # Compumedics
        ("SLEEP-S2", "sleep"),
        ("SLEEP-REM", "sleep"),
        ("SLEEP-MT", "unscored"),
        ("NREM2", "sleep"),
        ("Stage - No Stage", "unscored"),
        ("R arousal", None),
        ("S1 start", None),
        ("2", None),
        ("N1", "sleep"),
        ("W", "wake"),
        ("LM", None),
        ("Arousal", None),
        ("Limb Movement (Left)", None),
    ],
)
def test_stage_texts_of_sleep_scoring_software(text, stage):
    assert stage_of(text) == stage


def test_stages_with_durations_or_as_instants_give_the_same_sleep():
    stages = [(0.0, 60.0, "Sleep stage W"), (60.0, 90.0, "Sleep stage 1")]
    stages += [(150.0, 30.0, "Sleep stage ?"), (180.0, 120.0, "Sleep stage R")]
    durations = [Annotation(*x) for x in stages] + [Annotation(200.0, 1.5, "LM")]
    instants = [  # one per 30-s epoch, as scoring software exports them
        Annotation(t, 0.0, text) for on, d, text in stages for t in np.arange(on, on + d, 30.0)
    ]
    probe = np.arange(0.0, 300.0, 5.0)
    for anns in (durations, instants):
        spans = sleep_spans(anns, 300.0)
        assert total_s(spans) == 210.0
        assert in_spans(probe, spans).tolist() == [60 <= t < 150 or t >= 180 for t in probe]
    assert sleep_spans([Annotation(5.0, 1.0, "LM")], 300.0) is None  # no hypnogram


def test_a_stray_marker_is_no_hypnogram_and_an_instant_lasts_one_epoch_at_most():
    # an "R" marker (an ECG R peak) or a stimulus "S1" once made the rest of the night sleep
    assert sleep_spans([Annotation(10.0, 0.0, "R")], 28800.0) is None
    stray = [Annotation(0.0, 0.0, "Lights off"), Annotation(450.0, 0.0, "S1")]
    assert sleep_spans(stray, 900.0) is None
    # a hypnogram that stops early: its last epoch does not run to the end of the recording
    scored = [Annotation(t, 0.0, "W" if t < 60 else "N2") for t in np.arange(0.0, 150.0, 30.0)]
    assert total_s(sleep_spans(scored, 7200.0)) == 90.0


def test_a_stage_whose_last_word_was_taken_for_a_channel_is_still_a_stage():
    # beside leg channels named L and R, the EDF+ reader splits "Sleep stage R" into the text
    # "Sleep stage" and the channel "R"
    anns = [Annotation(0.0, 30.0, "Sleep stage", "W")]
    anns += [Annotation(30.0 * k, 30.0, "Sleep stage 2") for k in range(1, 4)]
    anns += [Annotation(120.0, 60.0, "Sleep stage", "R")]
    assert total_s(sleep_spans(anns, 180.0)) == 150.0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-100, 1000, allow_nan=False),
            st.floats(0, 500, allow_nan=False),
            st.sampled_from(["Sleep stage W", "Sleep stage 2", "Sleep stage ?", "N3", "LM"]),
        ),
        max_size=20,
    )
)
def test_sleep_never_exceeds_the_recording(items):
    spans = sleep_spans([Annotation(*x) for x in items], 600.0)
    if spans is None:  # too few stages, or not both sleep and wake among them
        stages = [stage_of(x[2]) for x in items]
        assert sum(s is not None for s in stages) < 4 or not {"sleep", "wake"} <= set(stages)
        return
    assert ((spans[:, 0] >= 0) & (spans[:, 1] <= 600.0) & (spans[:, 1] > spans[:, 0])).all()
    assert 0.0 <= total_s(spans) <= 600.0
