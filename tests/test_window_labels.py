"""Window labels from ground truth: what the window classifier is taught."""

import numpy as np

from emgwatch.training import window_labels
from emgwatch.truth import Truth, TruthArtifact, TruthEpisode


def _truth(artifacts, episodes=()):
    return Truth(
        scenario="daily",
        seed=0,
        fs=1000.0,
        duration_s=10.0,
        channels=["a", "b"],
        episodes=list(episodes),
        artifacts=list(artifacts),
    )


def test_a_background_under_the_whole_recording_leaves_rest_and_episodes_as_they_are():
    t = np.arange(0.0, 10.0, 0.5)
    truth = _truth(
        [
            TruthArtifact(0.0, 10.0, "mains", "a"),
            TruthArtifact(0.0, 10.0, "ecg", "b"),
            TruthArtifact(2.0, 6.0, "wander", "a"),
            TruthArtifact(7.0, 8.0, "motion", "b"),
        ],
        [TruthEpisode(3.0, 4.0, "spasm", "a", 0.5)],
    )
    lab = window_labels(t, ["a", "b"], truth)
    a, b = lab[:, 0], lab[:, 1]
    assert set(a[(t < 3.0) | (t >= 4.0)]) == {"rest"}
    assert set(a[(t >= 3.0) & (t < 4.0)]) == {"spasm"}
    # an event that replaces the muscle signal is still an artifact
    assert list(b[(t >= 7.0) & (t < 8.0)]) == ["artifact", "artifact"]
    assert set(b[(t < 7.0) | (t >= 8.0)]) == {"rest"}


def test_transient_artifacts_on_every_channel_are_artifact():
    t = np.arange(0.0, 10.0, 1.0)
    truth = _truth([TruthArtifact(2.0, 4.0, "pop", ""), TruthArtifact(5.0, 6.0, "clipping", "a")])
    lab = window_labels(t, ["a", "b"], truth)
    assert list(lab[:, 0]) == ["rest"] * 2 + ["artifact"] * 2 + ["rest", "artifact"] + ["rest"] * 4
    assert list(lab[:, 1]) == ["rest"] * 2 + ["artifact"] * 2 + ["rest"] * 6
