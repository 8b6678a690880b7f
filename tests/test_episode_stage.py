"""The episode-level second stage: its features, its labels, and how the tracker uses it."""

from __future__ import annotations

import numpy as np
import pytest
from test_episodes import ended, run, stream

from emgwatch.domain import WINDOW_CLASSES
from emgwatch.episode_stage import (
    FEATURE_NAMES,
    NONE_CLASS,
    EpisodeStage,
    episode_vector,
    label_candidates,
    stage_path,
)
from emgwatch.episodes import EpisodeTracker
from emgwatch.model import DEFAULT_MODEL, load_model


def _episode(rng, n=60, level=20.0):
    t = 10.0 + 0.05 * np.arange(n)
    p = rng.dirichlet(np.ones(len(WINDOW_CLASSES)), size=n)
    lev = level + rng.normal(0, 3, n)
    return t, p, lev


def test_features_are_named_and_finite():
    rng = np.random.default_rng(0)
    t, p, lev = _episode(rng)
    x = episode_vector(t, p, lev, 10.0, 12.5, p_off=0.35, since_prev_onset=None, since_prev_end=4.0)
    assert x.shape == (len(FEATURE_NAMES),) and np.isfinite(x).all()
    named = dict(zip(FEATURE_NAMES, x, strict=True))
    assert named["log_duration"] == pytest.approx(np.log1p(2.5))
    assert named["log_since_prev_end"] == pytest.approx(np.log1p(4.0))
    assert named["log_since_prev_onset"] == pytest.approx(np.log1p(600.0))  # none before: capped
    # windows after the end (the quiet tail the tracker waits through) are not part of it
    tail_t = t[-1] + 0.05 * np.arange(1, 21)
    with_tail = episode_vector(
        np.r_[t, tail_t],
        np.r_[p, p[:20]],
        np.r_[lev, np.full(20, 90.0)],
        10.0,
        t[-1],
        p_off=0.35,
        since_prev_onset=None,
        since_prev_end=4.0,
    )
    without = episode_vector(
        t, p, lev, 10.0, t[-1], p_off=0.35, since_prev_onset=None, since_prev_end=4.0
    )
    assert np.array_equal(with_tail, without)


def test_features_do_not_depend_on_gain():
    """Levels arrive in dB above the channel's own baseline: a gain change adds nothing."""
    rng = np.random.default_rng(1)
    t, p, lev = _episode(rng)
    a = episode_vector(
        t, p, lev, 10.0, 12.0, p_off=0.35, since_prev_onset=30.0, since_prev_end=28.0
    )
    b = episode_vector(
        t, p, lev.copy(), 10.0, 12.0, p_off=0.35, since_prev_onset=30.0, since_prev_end=28.0
    )
    assert np.array_equal(a, b)


def test_candidates_take_the_alerting_kind_they_overlap_most():
    truth = [
        {"kind": "spasm", "channel": "ch1", "start": 10.0, "end": 12.0},
        {"kind": "cramp", "channel": "ch1", "start": 11.5, "end": 40.0},
        {"kind": "turnover", "channel": "ch1", "start": 50.0, "end": 53.0},
        {"kind": "plm", "channel": "ch2", "start": 60.0, "end": 61.0},
    ]
    cands = [("ch1", 10.5, 30.0), ("ch1", 10.2, 11.6), ("ch1", 50.5, 52.0), ("ch1", 60.0, 61.0)]
    assert label_candidates(cands, truth) == ["cramp", "spasm", NONE_CLASS, NONE_CLASS]


class _Says:
    """A stand-in pipeline whose answer is fixed: the tracker's use of the stage, isolated."""

    def __init__(self, probs: dict[str, float]):
        self.classes_ = np.array(list(probs))
        self._p = np.array([list(probs.values())])

    def predict_proba(self, X):
        assert X.shape == (1, len(FEATURE_NAMES))
        return self._p


def test_a_withdrawn_alert_ends_as_voluntary_and_says_what_it_was_alerted_as():
    segs = [(5, "rest", 1), (3, "spasm", 0.9), (5, "rest", 1)]
    stage = EpisodeStage(
        _Says({"spasm": 0.1, "cramp": 0.0, "clonus": 0.0, "plm": 0.05, NONE_CLASS: 0.85}), {}
    )
    ev = run(EpisodeTracker(["ch1"], stage=stage), *stream(segs))
    assert [e.event for e in ev] == ["start", "end"]  # the start went out as an alert...
    (ep,) = ended(ev)
    assert ep.kind == "voluntary" and ep.extra["alerted_as"] == "spasm"  # ...the end withdraws it
    assert ep.confidence == pytest.approx(0.15)


def test_the_stage_can_rename_but_duration_rules_still_hold():
    segs = [(5, "rest", 1), (3, "spasm", 0.9), (5, "rest", 1)]
    says_cramp = _Says({"spasm": 0.2, "cramp": 0.7, "clonus": 0.0, "plm": 0.0, NONE_CLASS: 0.1})
    (ep,) = ended(run(EpisodeTracker(["ch1"], stage=EpisodeStage(says_cramp, {})), *stream(segs)))
    assert ep.kind == "spasm"  # a 3-s "cramp" is a spasm by definition (cramps last >= 8 s)
    says_clonus = _Says({"spasm": 0.2, "cramp": 0.0, "clonus": 0.7, "plm": 0.0, NONE_CLASS: 0.1})
    (ep,) = ended(run(EpisodeTracker(["ch1"], stage=EpisodeStage(says_clonus, {})), *stream(segs)))
    assert ep.kind == "clonus" and ep.extra["alerted_as"] == "spasm"


def test_exercise_context_never_turns_an_episode_into_plm():
    segs = [(5, "rest", 1), (3, "spasm", 0.95), (5, "rest", 1)]
    says_plm = _Says({"spasm": 0.1, "cramp": 0.0, "clonus": 0.0, "plm": 0.8, NONE_CLASS: 0.1})
    tr = EpisodeTracker(["ch1"], context="exercise", stage=EpisodeStage(says_plm, {}))
    (ep,) = ended(run(tr, *stream(segs)))
    assert ep.kind == "voluntary"


@pytest.mark.skipif(not stage_path(DEFAULT_MODEL).exists(), reason="no shipped episode stage")
def test_the_shipped_stage_loads_with_the_window_model_and_matches_its_card():
    m = load_model()
    assert m.stage is not None
    assert m.stage.card["window_model_version"] == m.version
    assert list(m.stage.card["features"]) == list(FEATURE_NAMES)
    assert 0.5 <= m.stage.reject_at < 1.0
    # and its early version, for episodes still going on (confirmed alerts)
    assert m.stage.early is not None and m.stage.early.card["kind"] == "early episode stage"
    assert m.stage.early.card["window_model_version"] == m.version
    assert m.stage.early.reject_at == m.stage.reject_at


def test_the_flat_forest_predicts_exactly_like_scikit_learn():
    """The fast one-row path must be the same model, not an approximation of it."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from emgwatch.episode_stage import FlatForest

    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 6))
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values take the learned side
    y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (np.nan_to_num(X[:, 1]) > 1)]
    for yy in (y, (X[:, 2] > 0).astype(int)):  # multiclass and binary
        clf = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=8, random_state=0)
        clf.fit(X, yy)
        fast = FlatForest(clf)
        Xt = rng.normal(size=(50, 6))
        Xt[::4, 3] = np.nan
        got = np.array([fast.predict_proba(x) for x in Xt])
        assert np.allclose(got, clf.predict_proba(Xt), atol=1e-12)


def test_train_writes_both_stages_and_detect_uses_them(tmp_path, capsys):
    from emgwatch.cli import main

    recs = []
    for seed in (5, 6, 7):
        path = tmp_path / f"r{seed}.edf"
        assert (
            main(
                [
                    "simulate",
                    "--scenario",
                    "mixed",
                    "--duration",
                    "4m",
                    "--seed",
                    str(seed),
                    "-o",
                    str(path),
                ]
            )
            == 0
        )
        recs.append(str(path))
    model = tmp_path / "m" / "my.skops"
    assert main(["train", "-o", str(model), *recs[:2]]) == 0
    out = capsys.readouterr().out
    assert "my-episode.skops" in out
    loaded = load_model(model)
    assert loaded.stage is not None and loaded.stage.card["window_model_version"] == loaded.version
    assert loaded.stage.card["training_data"] == ["r5.edf", "r6.edf"]
    assert "my-episode-early.skops" in out
    early = loaded.stage.early
    assert early is not None and early.card["kind"] == "early episode stage"
    # more rows than whole episodes: each episode cut short where it would be checked
    assert early.card["n_training_candidates"] > loaded.stage.card["n_training_candidates"]
    # the early stage alone: the window model and the stage stay as they were
    kept = {p: p.read_bytes() for p in model.parent.iterdir() if "early" not in p.name}
    assert main(["train", "-o", str(model), "--early-stage-only", recs[2]]) == 0
    assert {p: p.read_bytes() for p in model.parent.iterdir() if "early" not in p.name} == kept
    assert load_model(model).stage.early.card["training_data"] == ["r7.edf"]
    # without an episode stage there is nothing to add an early one to
    lone = tmp_path / "lone" / "lone.skops"
    assert main(["train", "-o", str(lone), "--no-episode-stage", recs[0]]) == 0
    capsys.readouterr()
    assert main(["train", "-o", str(lone), "--early-stage-only", recs[2]]) == 2
    assert "no episode stage" in capsys.readouterr().err
    assert not (lone.parent / "lone-episode-early.skops").exists()
    # the stage can learn from other recordings than the window model did
    other = tmp_path / "o" / "other.skops"
    assert main(["train", "-o", str(other), *recs[:2], "--stage-recordings", recs[2]]) == 0
    assert load_model(other).stage.card["training_data"] == ["r7.edf"]
    assert load_model(other).card["training_manifest"]["recordings"] == ["r5.edf", "r6.edf"]
    assert main(["detect", "--model", str(model), "--all", recs[0]]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    assert lines, "the trained pair found nothing in its own training recording"


def _edited_copy_of_the_shipped_pair(tmp_path, edit) -> None:
    """The shipped window model and stage copied to tmp_path, the stage card changed by edit."""
    import json
    import shutil

    if not stage_path(DEFAULT_MODEL).exists():
        pytest.skip("no shipped episode stage")
    for src in (DEFAULT_MODEL, stage_path(DEFAULT_MODEL)):
        for suffix in (".skops", ".json"):
            shutil.copy(src.with_suffix(suffix), tmp_path / (src.stem + suffix))
    card = tmp_path / (stage_path(DEFAULT_MODEL).stem + ".json")
    data = json.loads(card.read_text())
    edit(data)
    card.write_text(json.dumps(data))


def test_a_stage_made_for_another_window_model_is_ignored_with_a_warning(tmp_path):
    _edited_copy_of_the_shipped_pair(
        tmp_path, lambda card: card.update(window_model_version="19990101-000000")
    )
    with pytest.warns(UserWarning, match="ignoring it"):
        m = load_model(tmp_path / DEFAULT_MODEL.name)
    assert m.stage is None


def test_a_stage_that_expects_other_episode_features_is_ignored_with_a_warning(tmp_path):
    def older(card):
        assert card["features"] == list(FEATURE_NAMES)  # the shipped pair matches this code
        card["features"] = card["features"][:-2]  # as a stage from an older emgwatch would

    _edited_copy_of_the_shipped_pair(tmp_path, older)
    with pytest.warns(UserWarning, match="other episode features"):
        m = load_model(tmp_path / DEFAULT_MODEL.name)
    assert m.stage is None


def test_an_early_stage_made_for_another_window_model_is_ignored_the_stage_kept(tmp_path):
    import json
    import shutil

    from emgwatch.episode_stage import early_stage_path

    if not early_stage_path(DEFAULT_MODEL).exists():
        pytest.skip("no shipped early stage")
    for src in (DEFAULT_MODEL, stage_path(DEFAULT_MODEL), early_stage_path(DEFAULT_MODEL)):
        for suffix in (".skops", ".json"):
            shutil.copy(src.with_suffix(suffix), tmp_path / (src.stem + suffix))
    card = tmp_path / (early_stage_path(DEFAULT_MODEL).stem + ".json")
    data = json.loads(card.read_text())
    data["window_model_version"] = "19990101-000000"
    card.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="-episode-early.skops: .*ignoring it"):
        m = load_model(tmp_path / DEFAULT_MODEL.name)
    assert m.stage is not None and m.stage.early is None
