import json

import numpy as np
import pytest

from emgwatch.errors import InputError
from emgwatch.recording import Annotation, Recording
from emgwatch.truth import (
    TRUTH_EPISODE_KINDS,
    Truth,
    TruthArtifact,
    TruthEpisode,
    load_truth,
    save_truth,
)


def _truth() -> Truth:
    return Truth(
        scenario="night",
        seed=3,
        fs=1000.0,
        duration_s=60.0,
        channels=["ch1", "ch2"],
        sensor="raw",
        gain=2.0,
        mains_hz=50.0,
        episodes=[
            TruthEpisode(20.0, 22.5, "plm", "ch1", 0.2, {"series": 1}),
            TruthEpisode(5.0, 9.0, "spasm", "ch2", 0.6),
        ],
        artifacts=[TruthArtifact(1.0, 1.5, "pop", "ch1")],
    )


def test_truth_round_trips_through_json_including_extra_keys(tmp_path):
    p = tmp_path / "t.truth.json"
    save_truth(p, _truth())
    back = load_truth(p)
    assert back.to_dict() == _truth().to_dict()
    assert back.episodes[1].extra == {"series": 1}
    data = json.loads(p.read_text())
    assert data["version"] == 1
    assert [e["kind"] for e in data["episodes"]] == ["spasm", "plm"]  # sorted by start


def test_annotations_carry_episodes_and_prefixed_artifacts():
    ann = _truth().annotations()
    assert [(a.description, a.channel) for a in ann] == [
        ("spasm", "ch2"),
        ("plm", "ch1"),
        ("artifact:pop", "ch1"),
    ]
    assert ann[1].duration == pytest.approx(2.5)


def test_unknown_episode_kind_names_its_location(tmp_path):
    d = _truth().to_dict()
    d["episodes"][1]["kind"] = "sneeze"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(InputError, match=r"episodes\[1\]\.kind: unknown kind 'sneeze'"):
        load_truth(p)


def test_end_before_start_is_rejected(tmp_path):
    d = _truth().to_dict()
    d["episodes"][0]["end"] = 1.0
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(InputError, match="before start"):
        load_truth(p)


def test_malformed_json_reports_the_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{\n "version": 1,\n "fs": ,\n}')
    with pytest.raises(InputError, match="line 3: malformed JSON"):
        load_truth(p)


def test_missing_file_and_wrong_version_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_truth(tmp_path / "nope.json")
    p = tmp_path / "v2.json"
    p.write_text(json.dumps({**_truth().to_dict(), "version": 2}))
    with pytest.raises(InputError, match="expected 1"):
        load_truth(p)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from emgwatch.truth import truth_from_dict  # noqa: E402

_times = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)
_episode = st.builds(
    lambda s, d, k, c, i, x: TruthEpisode(round(s, 4), round(s + d, 4), k, c, round(i, 4), x),
    _times,
    st.floats(min_value=0, max_value=600),
    st.sampled_from(TRUTH_EPISODE_KINDS),
    st.sampled_from(["ch1", "left calf", "Ü"]),
    st.floats(min_value=0, max_value=2),
    st.dictionaries(
        st.sampled_from(["series", "cluster", "pattern", "rate_hz"]),
        st.integers(0, 99) | st.text(max_size=5),
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_episode, max_size=20))
def test_any_truth_survives_a_json_round_trip(tmp_path_factory, episodes):
    t = _truth()
    t.episodes = episodes
    p = tmp_path_factory.mktemp("t") / "x.json"
    save_truth(p, t)
    assert load_truth(p).to_dict() == t.to_dict()


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(max_size=4),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
    )
)
def test_arbitrary_json_is_accepted_or_rejected_with_an_input_error(data):
    try:
        truth_from_dict(data)
    except InputError:
        pass


# --- a recording's own annotations as its truth (evaluate --truth-from-annotations) ------------
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("spasm", "spasm"),
        ("Turnover", "turnover"),
        ("LM", "plm"),
        ("PLM", "plm"),
        ("PLMS", "plm"),
        ("Limb Movement (Left)", "plm"),
        ("Leg movement - right", "plm"),
        ("limb_movement", "plm"),
        ("Periodic limb movements in sleep", "plm"),
        ("Limb movement - left|Limb Movement (Left)", "plm"),  # NSRR's concept|name
        ("Periodic leg movement - right|PLM (Right)", "plm"),
        ("Bilateral LM", "plm"),
        ("Left Leg Movement", "plm"),
        ("LegMovement", "plm"),
        ("Leg movement Lt", "plm"),
        ("Leg Movement (LAT)", "plm"),
        ("Isolated LM", "plm"),
        ("PLM Series", None),
        ("LM Arousal", None),
        ("Sleep stage 2", None),
        ("Arousal", None),
        ("LMA", None),
        ("Limb movement arousal", None),
        ("Obstructive apnea", None),
    ],
)
def test_annotation_texts_name_an_episode_kind_or_none(text, kind):
    from emgwatch.truth import kind_of_annotation

    assert kind_of_annotation(text) == kind


def _scored(annotations, made_by: str = "") -> Recording:
    return Recording(
        data=np.zeros((256 * 300, 1)),
        fs=256.0,
        channel_names=["LAT"],
        annotations=[Annotation(*a) for a in annotations],
        path=None,
        made_by=made_by,
    )


def test_a_scorers_leg_movements_become_the_truth_and_the_rest_is_left_out():
    from emgwatch.truth import truth_from_annotations

    rec = _scored(
        [
            (0.0, 30.0, "Sleep stage W"),
            (30.0, 270.0, "Sleep stage 2"),
            (40.0, 1.5, "Limb Movement (Left)"),
            (61.0, 2.0, "LM", "LAT"),
            (80.0, 1.0, "Limb", "Movement"),  # a signal named "Movement" took the last word
            (100.0, 0.0, "Arousal"),
            (120.0, 0.0, "LM"),  # an instant cannot be scored
            (150.0, 0.6, "artifact:pop"),
            (200.0, 1.0, "gap"),  # another program's annotation, not emgwatch's mark
        ]
    )
    t = truth_from_annotations(rec, "psg.edf")
    assert [(e.start, e.end, e.kind, e.channel) for e in t.episodes] == [
        (40.0, 41.5, "plm", ""),
        (61.0, 63.0, "plm", "LAT"),
        (80.0, 81.0, "plm", ""),
    ]
    assert [(a.kind, a.start) for a in t.artifacts] == [("pop", 150.0)]
    assert t.channels == [] and t.duration_s == 300.0 and t.fs == 256.0


def test_annotations_without_episodes_or_outside_the_recording_are_refused():
    from emgwatch.truth import truth_from_annotations

    with pytest.raises(
        InputError,
        match=r"psg.edf: no annotation names an episode.*"
        r"2 leg movements or episodes are instants.*'Sleep stage 2'",
    ):
        truth_from_annotations(
            _scored([(0.0, 30.0, "Sleep stage 2"), (5.0, 0.0, "LM"), (9.0, 0.0, "LM")]), "psg.edf"
        )
    # scored with several recordings, one beyond the end would land in the next one
    with pytest.raises(InputError, match=r"psg.edf: episodes\[1\]: ends at 1682 s, after the"):
        truth_from_annotations(_scored([(10.0, 2.0, "LM"), (1681.0, 1.0, "LM")]), "psg.edf")


@pytest.mark.parametrize(
    ("made_by", "annotations", "refused"),
    [
        ("emgwatch run", [(10.0, 2.0, "spasm LAT")], "recorded by 'emgwatch run'"),
        # written by emgwatch before the header named the command: told by what it holds
        ("emgwatch", [(10.0, 2.0, "spasm"), (40.0, 3.0, "quality lead_off LAT")], "quality"),
        ("emgwatch", [(10.0, 2.0, "plm LAT (revised, was spasm)")], "revised"),
        ("emgwatch", [(10.0, 2.0, "spasm"), (20.0, 3.0, "voluntary")], "own detections"),
        ("emgwatch", [(10.0, 2.0, "spasm"), (20.0, 0.3, "twitch")], None),  # a simulation
        ("emgwatch simulate", [(10.0, 2.0, "spasm")], None),
        ("", [(10.0, 2.0, "spasm"), (40.0, 3.0, "quality lead_off LAT")], None),
    ],
)
def test_a_file_of_emgwatchs_own_detections_is_not_a_truth(made_by, annotations, refused):
    from emgwatch.truth import truth_from_annotations

    rec = _scored(annotations, made_by)
    if refused is None:
        assert truth_from_annotations(rec, "f.edf").episodes
    else:
        with pytest.raises(InputError, match=refused):
            truth_from_annotations(rec, "f.edf")


_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "LM",
            "PLM (Left)",
            "Limb Movement (Left)",
            "spasm",
            "artifact:pop",
            "gap",
            "quality lead_off LAT",
            "plm LAT (revised, was spasm)",
            "Sleep stage 2",
            "|",
        ]
    ),
)
_annotation = st.builds(
    Annotation,
    st.floats(-50, 400, allow_nan=False),
    st.floats(-5, 500, allow_nan=False),
    _texts,
    st.one_of(st.none(), st.sampled_from(["LAT", "Movement", ""])),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_annotation, max_size=12),
    st.sampled_from(["", "emgwatch", "emgwatch run", "emgwatch simulate", "X"]),
)
def test_any_annotations_give_a_truth_that_fits_or_one_input_error(annotations, made_by):
    from emgwatch.truth import kind_of_annotation, truth_from_annotations

    for a in annotations:
        assert kind_of_annotation(a.description) in (None, *TRUTH_EPISODE_KINDS)
    rec = _scored([], made_by)
    rec.annotations = annotations
    try:
        t = truth_from_annotations(rec, "f.edf")
    except InputError as e:
        assert "f.edf" in str(e) and "\n" not in str(e)
        return
    assert made_by != "emgwatch run" and t.episodes
    for e in t.episodes:
        assert e.end > e.start and e.kind in TRUTH_EPISODE_KINDS
        assert -1.0 <= e.start and e.end <= rec.duration_s + 3.0
