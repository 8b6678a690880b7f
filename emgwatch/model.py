"""The window classifier: a scikit-learn Pipeline saved with skops, plus its model card.

Rows are (window, channel) feature vectors from :mod:`emgwatch.features`; classes are
``domain.WINDOW_CLASSES``. The feature step is a real transformer (column selection by name,
checked against the card) so the model can be cross-validated and saved as one object.
A model card (JSON beside the .skops file) records the training manifest and hash, feature list,
sampling-rate range, library versions and validation metrics; loading re-predicts a stored probe
so a model from another library version is either proven equal or refused — never silent garbage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import platform
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from emgwatch.domain import WINDOW_CLASSES
from emgwatch.errors import InputError

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "emgwatch-default.skops"

# Ground-truth kinds -> window classes. Look-alikes are non-alerting movement ("voluntary").
TRUTH_TO_CLASS = {
    "spasm": "spasm",
    "cramp": "cramp",
    "clonus": "clonus",
    "plm": "plm",
    "voluntary": "voluntary",
    "turnover": "voluntary",
    "posture": "voluntary",
    "twitch": "voluntary",
}


class FeatureSelector(TransformerMixin, BaseEstimator):
    """Select the model's features by name from a full feature matrix.

    Keeps the model valid when the extractor gains features: the card lists what the model
    was trained on, and columns are picked by name rather than position.
    """

    def __init__(self, all_names: tuple[str, ...] = (), use: tuple[str, ...] = ()) -> None:
        self.all_names = all_names
        self.use = use

    def fit(self, X, y=None):  # noqa: N803
        missing = [n for n in self.use if n not in self.all_names]
        if missing:
            raise ValueError(f"unknown features: {missing}")
        self.index_ = np.array(
            [self.all_names.index(n) for n in (self.use or self.all_names)], dtype=int
        )
        self.n_features_in_ = len(self.all_names)
        return self

    def transform(self, X):  # noqa: N803
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != len(self.all_names):
            raise ValueError(f"expected {len(self.all_names)} feature columns, got {X.shape[1]}")
        return X[:, self.index_]


def build_pipeline(
    feature_names: tuple[str, ...], use: tuple[str, ...] = (), random_state: int = 0
) -> Pipeline:
    # Strong regularisation on purpose: neighbouring windows are nearly copies of each other and
    # the detector is judged on recordings from other simulators and real sensors, so shallow
    # trees with large leaves generalise better than a high score on our own generator.
    clf = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.1,
        max_leaf_nodes=15,
        min_samples_leaf=400,
        l2_regularization=5.0,
        class_weight="balanced",
        # no early stopping: it never stopped before max_iter here (neighbouring windows in its
        # random 10 % hold-out leak the answer), so it only withheld training rows
        early_stopping=False,
        random_state=random_state,
    )
    return Pipeline([("features", FeatureSelector(tuple(feature_names), tuple(use))), ("clf", clf)])


_PARALLEL_MIN_ROWS = 2000  # below this many windows, predict on one thread
_CONTROLLER = None


def single_thread():
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="openmp")


@dataclass
class WindowClassifier:
    """A loaded model: the pipeline, its card, and probabilities in WINDOW_CLASSES order."""

    pipeline: Pipeline
    card: dict
    path: Path | None = None
    stage: object | None = None  # emgwatch.episode_stage.EpisodeStage, when shipped

    @property
    def version(self) -> str:
        return str(self.card.get("model_version", "unknown"))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """X (n, features) -> (n, len(WINDOW_CLASSES)); classes absent from training get 0."""
        out = np.zeros((X.shape[0], len(WINDOW_CLASSES)))
        if X.shape[0] == 0:
            return out
        if X.shape[0] < _PARALLEL_MIN_ROWS:
            # Live pushes are a few rows: OpenMP worker threads cost more than they save and,
            # next to the MQTT and serial threads, can spin-wait a 2-core board to a standstill.
            with single_thread():
                p = self.pipeline.predict_proba(X)
        else:
            p = self.pipeline.predict_proba(X)
        for j, cls in enumerate(self.pipeline.classes_):
            out[:, WINDOW_CLASSES.index(str(cls))] = p[:, j]
        return out


def _versions() -> dict:
    import scipy
    import skops

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
    }


def save_model(path: Path, pipeline: Pipeline, card: dict, probe: np.ndarray) -> None:
    """Write ``path`` (.skops) and ``path.with_suffix('.json')`` (card, incl. a prediction probe)."""
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # deflate: tree ensembles are thousands of small arrays, stored raw they are 4x larger
    sio.dump(pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    card = dict(card)
    card["versions"] = _versions()
    card["probe"] = {
        "X": np.round(probe, 6).tolist(),
        "proba": pipeline.predict_proba(np.round(probe, 6)).round(6).tolist(),
    }
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    card["skops_types"] = sorted(sio.get_untrusted_types(file=path))  # see _load_listed
    path.with_suffix(".json").write_text(json.dumps(card, indent=1))


# The types, beyond those skops trusts by default (scikit-learn estimators, NumPy arrays), that
# an emgwatch model may hold: exactly these, by name. Whole packages would let a model file name
# builtins.exec or numpy.save as a FunctionTransformer's function and run it on the first window.
_TRUSTED_TYPES = frozenset(
    {
        "emgwatch.model.FeatureSelector",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)


def _load_listed(p: Path, listed: object) -> Pipeline | None:
    """Load trusting exactly the types the card lists, if all of them are ones we trust.

    skops itself refuses a file holding any type not in that list, so this is as safe as asking
    it first (``get_untrusted_types``) and saves reading the model twice (about 0.2 s of every
    ``detect`` for the two shipped files). None when the card lists nothing usable or the file
    disagrees with it: the caller then looks properly and says what is wrong.
    """
    import skops.io as sio

    if not (
        isinstance(listed, list) and all(isinstance(t, str) and t in _TRUSTED_TYPES for t in listed)
    ):
        return None
    try:
        return sio.load(p, trusted=listed)
    except Exception:  # untrusted types after all, or not a model file
        return None


def load_model(path: str | Path | None = None, *, with_stage: bool = True) -> WindowClassifier:
    """Load a model and its card; refuse anything that is not one of ours or predicts differently.

    The episode-level second stage (``<stem>-episode.skops``), when present beside the window
    model, is loaded with it and checked the same way (``with_stage=False``: the window model
    alone, as training the stage needs it); so is its early version for episodes still going
    on (``<stem>-episode-early.skops``, confirmed alerts), if there is one.
    """
    from emgwatch.domain import WINDOW_CLASSES
    from emgwatch.episode_stage import EPISODE_CLASSES, early_stage_path, stage_path
    from emgwatch.features import FEATURE_NAMES as WINDOW_FEATURES

    p = Path(path) if path else DEFAULT_MODEL
    pipeline, card = _load_checked(p, default=not path)
    if card["features"] != list(WINDOW_FEATURES) or card["classes"] != list(WINDOW_CLASSES):
        what = "an episode stage" if card["classes"] == list(EPISODE_CLASSES) else "another model"
        raise InputError(
            p,
            None,
            f"{what}, not a window model for the {len(WINDOW_FEATURES)} features and "
            f"{len(WINDOW_CLASSES)} classes this emgwatch uses (its card: "
            f"{len(card['features'])} features, classes {', '.join(map(str, card['classes']))}); "
            "give the window model",
        )
    model = WindowClassifier(pipeline=pipeline, card=card, path=p)
    if with_stage:
        model.stage = _load_stage(stage_path(p), model.version)
        if model.stage is not None:
            model.stage.early = _load_stage(early_stage_path(p), model.version)
    return model


def _load_stage(sp: Path, window_version: str):  # noqa: ANN202 - EpisodeStage | None
    """A second stage (or its early version) beside a window model, checked; None if absent,
    or with a warning if made for another window model or other features."""
    from emgwatch.episode_stage import EPISODE_CLASSES, FEATURE_NAMES, REJECT_AT, EpisodeStage

    if not sp.exists():
        return None
    stage_pipe, stage_card = _load_checked(sp, default=False)
    made_for = stage_card.get("window_model_version")
    if made_for != window_version:
        # a stage learns how far to trust one window model; with another it would mislead
        warnings.warn(
            f"{sp}: second stage was trained for window model {made_for}, not {window_version}; "
            "ignoring it (retrain with 'emgwatch train --episode-stage-only')",
            stacklevel=3,
        )
        return None
    if stage_card.get("features") != list(FEATURE_NAMES):
        # an older stage describes episodes with other features: its answers would be noise
        warnings.warn(
            f"{sp}: second stage expects other episode features than this emgwatch computes; "
            "ignoring it (retrain with 'emgwatch train --episode-stage-only')",
            stacklevel=3,
        )
        return None
    if stage_card["classes"] != list(EPISODE_CLASSES):
        raise InputError(sp, None, f"second stage with classes {stage_card['classes']}")
    try:
        reject_at = float(stage_card.get("reject_at", REJECT_AT))
    except (TypeError, ValueError):
        reject_at = math.nan
    if not 0 < reject_at <= 1:
        raise InputError(sp.with_suffix(".json"), "key 'reject_at'", "expected a probability 0-1")
    return EpisodeStage(stage_pipe, stage_card, reject_at=reject_at)


def _load_checked(p: Path, *, default: bool) -> tuple[Pipeline, dict]:
    import skops.io as sio

    if not p.exists():
        raise InputError(
            p,
            None,
            "model file not found"
            + (" (run 'emgwatch train' to build the default model)" if default else ""),
        )
    card_path = p.with_suffix(".json")
    try:
        card = json.loads(card_path.read_text())
    except FileNotFoundError:
        raise InputError(
            card_path, None, "model card (JSON beside the .skops file) not found"
        ) from None
    except json.JSONDecodeError as e:
        raise InputError(
            card_path, f"line {e.lineno}", f"model card is not valid JSON ({e.msg})"
        ) from None
    except UnicodeDecodeError as e:
        raise InputError(card_path, f"byte {e.start}", "model card is not UTF-8 text") from None
    if not isinstance(card, dict):
        raise InputError(card_path, None, "model card: expected a JSON object")
    pipeline = _load_listed(p, card.get("skops_types"))
    if pipeline is None:
        try:
            untrusted = sio.get_untrusted_types(file=p)
        except Exception as e:  # zip/format errors from skops: the file is not a model
            raise InputError(p, None, f"not a skops model file ({type(e).__name__}: {e})") from None
        bad = [t for t in untrusted if t not in _TRUSTED_TYPES]
        if bad:
            raise InputError(p, None, f"model contains untrusted types {bad}; refusing to load")
        try:
            pipeline = sio.load(p, trusted=untrusted)
        except Exception as e:
            raise InputError(p, None, f"cannot load model ({type(e).__name__}: {e})") from None
    if not isinstance(pipeline, Pipeline) or not hasattr(pipeline, "predict_proba"):
        raise InputError(p, None, "file does not hold an emgwatch classifier pipeline")
    for key, tp, what in (
        ("versions", dict, "an object"),
        ("classes", list, "a list"),
        ("features", list, "a list"),
    ):
        if not isinstance(card.get(key), tp):
            raise InputError(card_path, f"key '{key}'", f"expected {what}, got {card.get(key)!r}")
    trained = str(card["versions"].get("scikit-learn", "?"))
    if trained.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        warnings.warn(
            f"{p}: model trained with scikit-learn {trained}, running {sklearn.__version__}; "
            "checking its predictions against the stored probe",
            stacklevel=2,
        )
    # whatever else the card says: the pipeline must take rows of its card's features and give
    # one probability per class of its card (a model of something else, or unfitted, does not)
    probe = card.get("probe") or {}
    try:
        rows = np.asarray(probe.get("X", np.zeros((1, len(card["features"])))), dtype=float)
        with single_thread():  # a few rows: see WindowClassifier.predict_proba
            got = pipeline.predict_proba(rows)
        want = np.asarray(probe.get("proba", got), dtype=float)
        # a model fitted where some classes never occurred gives fewer columns: its classes_
        fitted = [str(c) for c in getattr(pipeline, "classes_", card["classes"])]
        if not set(fitted) <= set(map(str, card["classes"])):
            raise ValueError(f"it predicts {', '.join(fitted)}")
        if got.shape != (len(rows), len(fitted)) or want.shape != got.shape:
            raise ValueError(f"{got.shape[-1]} probabilities per row for {len(fitted)} classes")
    except Exception as e:
        raise InputError(
            p, None, f"not a model for its card's {len(card['features'])} features: {e}"
        ) from None
    if probe and not np.allclose(got, want, atol=1e-4):
        raise InputError(
            p,
            None,
            f"model predicts differently under scikit-learn {sklearn.__version__} than when trained "
            f"({trained}); retrain it with 'emgwatch train'",
        )
    return pipeline, card
