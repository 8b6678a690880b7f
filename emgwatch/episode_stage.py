"""Second stage: decide an episode's kind from the whole episode, not from 0.5-s windows.

A window classifier sees a spasm, a leg movement in sleep, a turnover and a hard voluntary burst
as near copies; the difference is in the episode's shape: how fast it rose, how long it lasted,
whether the level is steady, rhythmic or ramped, how much of it looked voluntary, how long since
the last one. When an episode ends, the tracker describes it with the features below and this
stage says which alerting kind it was, or that it was none (then the episode is logged as
non-alerting "voluntary" activity and, live, its end message says what it had been alerted as).

The stage is optional: without ``models/<name>-episode.skops`` the tracker keeps the window
average. It runs at the end of an episode only, so it never delays an alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emgwatch.domain import ALERT_KINDS, WINDOW_CLASSES

log = logging.getLogger(__name__)

NONE_CLASS = "none"  # the episode was not an involuntary contraction
EPISODE_CLASSES = (*ALERT_KINDS, NONE_CLASS)
ONSET_S = 1.0  # the first second of an episode: how it started
CAP_S = 600.0  # intervals longer than this all look the same
# p(none) at which an alerted episode is withdrawn (logged as non-alerting). Chosen on the
# validation split ('auto' context): without the stage 95 % of true episodes found at 48 false
# alarms/h; at 0.7, 89 % at 24/h; at 0.5, 83 % at 15/h (precision 84 %). Alarms that are not
# real cost more trust than a late one, so 0.5. Written into the stage's model card.
REJECT_AT = 0.5


def _names() -> tuple[str, ...]:
    n = ["log_duration"]
    n += [f"mean_{c}" for c in WINDOW_CLASSES]
    n += [f"onset_{c}" for c in WINDOW_CLASSES]
    n += [f"max_{c}" for c in (*ALERT_KINDS, "voluntary")]
    n += ["level_max", "level_mean", "level_std", "level_spread", "level_first"]
    n += ["first_below_peak", "mean_below_peak"]
    n += ["rise_s", "crossings_per_s", "active_fraction"]
    n += ["log_since_prev_onset", "log_since_prev_end"]
    return tuple(n)


FEATURE_NAMES = _names()


def episode_vector(
    times: np.ndarray,
    proba: np.ndarray,
    level_db: np.ndarray,
    start: float,
    end: float,
    *,
    p_off: float,
    since_prev_onset: float | None,
    since_prev_end: float | None,
) -> np.ndarray:
    """Features of one candidate episode from its windows (times, class probabilities, level).

    Every input is already gain-invariant (probabilities, dB above the channel's baseline), so
    these are too.
    """
    times = np.asarray(times, dtype=float)
    keep = times <= end + 1e-9
    if keep.sum() >= 1:
        times, proba, level_db = times[keep], proba[keep], level_db[keep]
    proba = np.asarray(proba, dtype=float).reshape(len(times), len(WINDOW_CLASSES))
    lev = np.asarray(level_db, dtype=float)
    dur = max(end - start, 0.0)
    onset = times <= times[0] + ONSET_S
    alert_idx = [WINDOW_CLASSES.index(k) for k in ALERT_KINDS]
    vol = WINDOW_CLASSES.index("voluntary")
    p_alert = proba[:, alert_idx].sum(axis=1)
    peak = float(lev.max())
    rise = float(times[np.argmax(lev >= peak - 6.0)] - times[0])
    centred = lev - lev.mean()
    crossings = np.count_nonzero(np.diff(np.signbit(centred).astype(np.int8)))
    span = max(float(times[-1] - times[0]), 0.05)

    def log_gap(x: float | None) -> float:
        return float(np.log1p(CAP_S if x is None else min(max(x, 0.0), CAP_S)))

    v = [np.log1p(dur)]
    v += list(proba.mean(axis=0))
    v += list(proba[onset].mean(axis=0))
    v += list(proba[:, [*alert_idx, vol]].max(axis=0))
    v += [
        peak,
        float(lev.mean()),
        float(lev.std()),
        float(np.percentile(lev, 90) - np.percentile(lev, 10)),
        float(lev[0]),
    ]
    # the same levels against the episode's own peak: how abruptly it began and how it was
    # sustained, whatever the person's resting tone (dB above the floor differ by tens of dB
    # between people and electrodes, these do not)
    v += [peak - float(lev[0]), peak - float(lev.mean())]
    v += [rise, crossings / span, float((p_alert >= p_off).mean())]
    v += [log_gap(since_prev_onset), log_gap(since_prev_end)]
    return np.asarray(v, dtype=float)


@dataclass
class EpisodeVerdict:
    kind: str  # an alerting kind, or NONE_CLASS
    p_alert: float  # probability that the episode was an involuntary contraction at all


class FlatForest:
    """A fitted HistGradientBoostingClassifier's trees as flat arrays, for one row at a time.

    scikit-learn predicts tree by tree from Python (about 6 us per tree, 4-5 ms for this model's
    750 trees); an 8-hour night closes a few hundred episodes, so that alone cost 1.5 s. Here all
    trees are walked together, one NumPy step per tree level. Numerical features only (ours).
    """

    def __init__(self, clf) -> None:  # noqa: ANN001 - HistGradientBoostingClassifier
        nodes, roots, cls = [], [], []
        offset = 0
        for iteration in clf._predictors:
            for k, predictor in enumerate(iteration):
                n = predictor.nodes
                if n["is_categorical"].any():
                    raise ValueError("categorical splits are not supported")
                roots.append(offset)
                cls.append(k)
                nodes.append(n)
                offset += len(n)
        allnodes = np.concatenate(nodes)
        base = np.repeat(np.asarray(roots), [len(n) for n in nodes])
        self.feature = allnodes["feature_idx"].astype(np.intp)
        self.threshold = allnodes["num_threshold"].astype(float)
        self.missing_left = allnodes["missing_go_to_left"].astype(bool)
        self.left = allnodes["left"].astype(np.intp) + base
        self.right = allnodes["right"].astype(np.intp) + base
        self.is_leaf = allnodes["is_leaf"].astype(bool)
        self.value = allnodes["value"].astype(float)
        self.roots = np.asarray(roots, dtype=np.intp)
        self.tree_class = np.asarray(cls, dtype=np.intp)
        self.n_classes = len(clf.classes_)
        self.baseline = np.asarray(clf._baseline_prediction, dtype=float).reshape(-1)
        self.depth = int(allnodes["depth"].max()) + 1

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float).reshape(-1)
        idx = self.roots.copy()
        for _ in range(self.depth):
            leaf = self.is_leaf[idx]
            if leaf.all():
                break
            v = x[self.feature[idx]]
            go_left = np.where(np.isnan(v), self.missing_left[idx], v <= self.threshold[idx])
            idx = np.where(leaf, idx, np.where(go_left, self.left[idx], self.right[idx]))
        raw = self.baseline + np.bincount(
            self.tree_class, weights=self.value[idx], minlength=self.n_classes
        )
        if self.n_classes <= 2:
            p1 = 1.0 / (1.0 + np.exp(-raw[0]))
            return np.array([1.0 - p1, p1])
        e = np.exp(raw - raw.max())
        return e / e.sum()


@dataclass
class EpisodeStage:
    """A loaded second-stage model (scikit-learn pipeline over FEATURE_NAMES)."""

    pipeline: object
    card: dict
    reject_at: float = REJECT_AT  # p(none) needed to call an alerted episode "not involuntary"
    # the same judgement for an episode still going on, trained on episodes cut short at the
    # moments a confirmed alert is checked (``<stem>-episode-early.skops``); None: this one
    early: EpisodeStage | None = None

    def __post_init__(self) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self._fast: FlatForest | None = None
        steps = getattr(self.pipeline, "steps", None)
        if steps and len(steps) == 1 and isinstance(steps[0][1], HistGradientBoostingClassifier):
            self._fast = FlatForest(steps[0][1])

    @property
    def version(self) -> str:
        return str(self.card.get("model_version", "unknown"))

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (order of ``pipeline.classes_``) for one episode's features."""
        if self._fast is not None:
            return self._fast.predict_proba(x)
        from emgwatch.model import single_thread

        with single_thread():
            return self.pipeline.predict_proba(x.reshape(1, -1))[0]

    def decide_so_far(self, x: np.ndarray, reject_at: float | None = None) -> EpisodeVerdict:
        """The verdict on an episode that is still going on (``x`` describes it up to now)."""
        return (self.early or self).decide(x, reject_at)

    def decide(self, x: np.ndarray, reject_at: float | None = None) -> EpisodeVerdict:
        """The episode's kind; ``reject_at`` overrides the card's p(none) threshold."""
        p = self.proba(x)
        probs = {str(c): float(pi) for c, pi in zip(self.pipeline.classes_, p, strict=True)}
        p_none = probs.get(NONE_CLASS, 0.0)
        alert = {k: probs.get(k, 0.0) for k in ALERT_KINDS}
        if p_none >= (self.reject_at if reject_at is None else reject_at):
            return EpisodeVerdict(NONE_CLASS, 1.0 - p_none)
        return EpisodeVerdict(max(alert, key=alert.get), 1.0 - p_none)


def stage_path(window_model_path: Path) -> Path:
    """Where the second stage of a window model lives: beside it, ``<stem>-episode.skops``."""
    p = Path(window_model_path)
    return p.with_name(p.stem + "-episode.skops")


def early_stage_path(window_model_path: Path) -> Path:
    """Where the early second stage lives: beside the window model,
    ``<stem>-episode-early.skops``."""
    p = Path(window_model_path)
    return p.with_name(p.stem + "-episode-early.skops")


def label_candidates(candidates: list[tuple[str, float, float]], truth_episodes) -> list[str]:
    """Truth label per candidate (channel, start, end): the alerting kind it overlaps most, else none."""
    out = []
    for ch, s, e in candidates:
        best, best_ov = NONE_CLASS, 0.0
        for t in truth_episodes:
            t = t if isinstance(t, dict) else t.__dict__
            if t["kind"] not in ALERT_KINDS:
                continue
            if t.get("channel") not in (None, "", "all", ch):
                continue
            ov = min(e, t["end"]) - max(s, t["start"])
            if ov > best_ov:
                best, best_ov = t["kind"], ov
        out.append(best)
    return out


def build_stage_pipeline(random_state: int = 0):
    """Small, regularised boosting: a few thousand episodes, judged on other generators."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            (
                "clf",
                HistGradientBoostingClassifier(
                    max_iter=150,
                    learning_rate=0.08,
                    max_leaf_nodes=8,
                    min_samples_leaf=30,
                    l2_regularization=2.0,
                    class_weight="balanced",
                    random_state=random_state,
                ),
            )
        ]
    )
