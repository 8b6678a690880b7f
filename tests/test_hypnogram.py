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
    durations = [
        Annotation(0.0, 60.0, "Sleep stage W"),
        Annotation(60.0, 90.0, "Sleep stage 1"),
        Annotation(150.0, 30.0, "Sleep stage ?"),
        Annotation(180.0, 120.0, "Sleep stage R"),
        Annotation(200.0, 1.5, "LM"),  # not a stage
    ]
    instants = [Annotation(a.onset, 0.0, a.description) for a in durations[:4]]
    for anns in (durations, instants):
        spans = sleep_spans(anns, 300.0)
        np.testing.assert_array_equal(spans, [[60.0, 150.0], [180.0, 300.0]])
        assert total_s(spans) == 210.0
    assert sleep_spans([Annotation(5.0, 1.0, "LM")], 300.0) is None  # no hypnogram
    assert in_spans(np.array([59.9, 60.0, 149.9, 150.0, 299.0]), spans).tolist() == [
        False,
        True,
        True,
        False,
        True,
    ]


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
    if spans is None:
        assert not any(stage_of(x[2]) for x in items)
        return
    assert ((spans[:, 0] >= 0) & (spans[:, 1] <= 600.0) & (spans[:, 1] > spans[:, 0])).all()
    assert 0.0 <= total_s(spans) <= 600.0
