"""Training data from recordings + ground truth, and training of the window classifier.

Labels come from the truth file: a window is labelled with the episode covering its last sample
on its channel (look-alikes map to "voluntary"), with artifacts that replace the muscle signal
as "artifact" (not a background such as mains hum or ECG: truth.BACKGROUND_ARTIFACT_KINDS), else
"rest".
Rest windows dominate real data; they are subsampled (reproducibly) so training stays quick.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from emgwatch.domain import FS_FULL_BAND_HZ, FS_MAX_HZ, WINDOW_CLASSES, sensor_to_read
from emgwatch.mixed_sensors import extract_mixed_features
from emgwatch.model import TRUTH_TO_CLASS, build_pipeline, save_model
from emgwatch.quality import feeds_detection
from emgwatch.recording import Recording
from emgwatch.truth import BACKGROUND_ARTIFACT_KINDS

log = logging.getLogger(__name__)

ARTIFACT_CLASS = "artifact"
STAGE_CONTEXTS = ("auto", "sleep", "exercise")


def window_labels(t: np.ndarray, channel_names: list[str], truth) -> np.ndarray:
    """Class name per (window, channel) from ground truth; shape (n, ch), dtype object."""
    labels = np.full((len(t), len(channel_names)), "rest", dtype=object)
    for kind_list, mapper in (
        (truth.artifacts, lambda k: None if k in BACKGROUND_ARTIFACT_KINDS else ARTIFACT_CLASS),
        (truth.episodes, TRUTH_TO_CLASS.get),
    ):
        for ev in kind_list:
            ev = ev if isinstance(ev, dict) else ev.__dict__
            cls = mapper(ev["kind"])
            if cls is None:
                continue
            lo, hi = np.searchsorted(t, [ev["start"], ev["end"]])
            chans = (
                range(len(channel_names))
                if ev.get("channel") in (None, "", "all")
                else (
                    [channel_names.index(ev["channel"])] if ev["channel"] in channel_names else []
                )
            )
            for c in chans:
                labels[lo:hi, c] = cls
    return labels


def collect(
    pairs: Iterable[tuple[Recording, object]],
    *,
    rest_keep: float = 0.25,
    stride: int = 1,
    seed: int = 0,
    progress=None,
):
    """Feature rows and labels from (recording, truth) pairs. Returns X, y, groups, names.

    ``stride`` keeps every k-th window: neighbours overlap almost entirely, so this costs little
    information and makes training k times cheaper.
    """
    rng = np.random.default_rng(seed)
    Xs, ys, gs = [], [], []
    names = None
    for k, (rec, truth) in enumerate(pairs):
        ff = extract_mixed_features(
            rec.data,
            rec.fs,
            rec.channel_names,
            sensor=sensor_to_read(rec.sensor),
        )
        names = tuple(ff.names)
        lab = window_labels(ff.t, rec.channel_names, truth)
        usable = feeds_detection(ff.quality)  # what the detector will classify
        for c in range(rec.n_channels):
            y = lab[:, c]
            keep = (y != "rest") | (rng.random(len(y)) < rest_keep)
            keep &= usable[:, c] | (y == ARTIFACT_CLASS)
            keep &= np.arange(len(y)) % stride == 0
            Xs.append(ff.X[keep, c, :])
            ys.append(y[keep])
            gs.append(np.full(int(keep.sum()), k))
        if progress:
            progress(k, rec)
    X = np.concatenate(Xs).astype(np.float64)
    y = np.concatenate(ys).astype(str)
    return X, y, np.concatenate(gs), names


def class_report(y_true: np.ndarray, y_pred: np.ndarray, classes=WINDOW_CLASSES) -> dict:
    out = {}
    for cls in classes:
        t = y_true == cls
        p = y_pred == cls
        tp = int((t & p).sum())
        out[cls] = {
            "n": int(t.sum()),
            "recall": round(tp / t.sum(), 3) if t.sum() else None,
            "precision": round(tp / p.sum(), 3) if p.sum() else None,
        }
    out["accuracy"] = round(float((y_true == y_pred).mean()), 4) if len(y_true) else None
    return out


def train_model(
    train_pairs,
    val_pairs,
    out_path,
    *,
    manifest: dict | None = None,
    random_state: int = 0,
    progress=None,
):
    """Fit the pipeline on train pairs, measure on validation pairs, save model + card."""
    X, y, _, names = collect(
        train_pairs, stride=6, rest_keep=0.5, seed=random_state, progress=progress
    )
    log.info("training on %d windows: %s", len(y), {c: int((y == c).sum()) for c in WINDOW_CLASSES})
    pipe = build_pipeline(names, random_state=random_state)
    pipe.fit(X, y)
    metrics = {"train": class_report(y, pipe.predict(X))}
    if val_pairs is not None:
        Xv, yv, _, _ = collect(val_pairs, rest_keep=1.0, stride=2, seed=random_state + 1)
        metrics["validation"] = class_report(yv, pipe.predict(Xv))
    manifest = manifest or {}
    card = {
        "model_version": datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "classes": list(WINDOW_CLASSES),
        "features": list(names),
        "fs_range_hz": [FS_FULL_BAND_HZ, FS_MAX_HZ],  # what the generator writes
        "training_manifest": manifest,
        "training_manifest_sha256": hashlib.sha256(
            json.dumps(manifest, sort_keys=True).encode()
        ).hexdigest(),
        "n_training_windows": int(len(y)),
        "class_counts": {c: int((y == c).sum()) for c in WINDOW_CLASSES},
        "random_state": random_state,
        "metrics": metrics,
        "intended_use": "monitoring aid for involuntary contractions in surface EMG; not a diagnostic device",
    }
    rng = np.random.default_rng(random_state)
    probe = X[rng.choice(len(X), size=min(8, len(X)), replace=False)]
    save_model(out_path, pipe, card, probe)
    return pipe, card


def collect_candidates(pairs, *, model, contexts=("auto",), progress=None, prefixes=None):
    """Episode candidates the tracker opens on each recording, with their features and labels.

    The detector runs without a second stage; every episode it closes is a candidate, labelled
    with the true alerting kind it overlaps most (or "none": a look-alike or nothing at all).
    Returns X (n, features), y (n,), groups (recording index). With ``prefixes`` (a list), the
    same episodes cut short where a confirmed alert is checked are appended to it as (x, label)
    pairs, labelled as the whole episode: what the early second stage learns from.
    """
    from emgwatch.detector import Detector
    from emgwatch.episode_stage import label_candidates
    from emgwatch.model import WindowClassifier

    bare = WindowClassifier(pipeline=model.pipeline, card=model.card, path=model.path)
    Xs, ys, gs = [], [], []
    for k, (rec, truth) in enumerate(pairs):
        for ctx in contexts:
            det = Detector(
                rec.fs,
                rec.channel_names,
                context=ctx,
                model=bare,
                sensor=sensor_to_read(rec.sensor),
            )
            det.tracker.candidates = []
            det.tracker.prefixes = [] if prefixes is not None else None
            for block in rec.blocks(60.0):
                det.push(block)
            det.flush()
            cands = det.tracker.candidates
            if not cands:
                continue
            Xs.append(np.array([x for _, x in cands]))
            labels = label_candidates(
                [(ep.channel, ep.start, ep.end) for ep, _ in cands], truth.episodes
            )
            ys += labels
            gs += [k] * len(cands)
            if prefixes is not None:
                label_of = {ep.id: y for (ep, _), y in zip(cands, labels, strict=True)}
                prefixes += [(x, label_of[ep.id]) for ep, x in det.tracker.prefixes]
        if progress:
            progress(k, rec)
    if not Xs:
        from emgwatch.episode_stage import FEATURE_NAMES

        return np.zeros((0, len(FEATURE_NAMES))), np.asarray([], dtype=str), np.asarray([], int)
    return np.concatenate(Xs), np.asarray(ys), np.asarray(gs)


def train_episode_stage(
    train_pairs,
    val_pairs,
    window_model_path,
    *,
    random_state: int = 0,
    progress=None,
    training_data: str | list[str] = "",
    early_only: bool = False,
):
    """Fit the episode-level second stage on the candidates the window model's tracker opens.

    The pairs must be recordings the window model was not trained on (the 'stage' split): on its
    own training data its probabilities are overconfident, and a stage fitted there learns to trust
    them too much. Candidates come from every context's tracker thresholds, so the stage sees
    episodes cut the way each context cuts them. Saved beside the window model
    (``<stem>-episode.skops``), with the early stage that judges episodes still going on
    (``<stem>-episode-early.skops``; ``early_only``: that one alone, for the stage there is).
    Returns the cards of the stages written, by kind ("episode stage", "early episode stage").
    """
    from emgwatch.episode_stage import (
        EPISODE_CLASSES,
        FEATURE_NAMES,
        REJECT_AT,
        build_stage_pipeline,
        early_stage_path,
        stage_path,
    )
    from emgwatch.model import load_model

    window = load_model(window_model_path, with_stage=False)  # the stage is being replaced
    cut: list = []
    X, y, _ = collect_candidates(
        train_pairs, model=window, contexts=STAGE_CONTEXTS, progress=progress, prefixes=cut
    )
    log.info(
        "episode stage: %d candidates %s", len(y), {c: int((y == c).sum()) for c in EPISODE_CLASSES}
    )
    if len(set(y.tolist())) < 2:
        log.warning(
            "only %d candidate episode(s) of one kind: too few to train the second stage; "
            "the window model works alone",
            len(y),
        )
        return {}
    Xp, yp = _xy(cut, len(FEATURE_NAMES))
    val_cut: list = []
    if val_pairs is not None:
        Xv, yv, _ = collect_candidates(
            val_pairs, model=window, contexts=STAGE_CONTEXTS, prefixes=val_cut
        )
    written: dict[str, dict] = {}
    for kind, Xs, ys, val, out in (
        ("episode stage", X, y, None if val_pairs is None else (Xv, yv), stage_path),
        ("early episode stage", Xp, yp, _xy(val_cut, len(FEATURE_NAMES)), early_stage_path),
    ):
        if early_only and kind == "episode stage":
            continue
        if len(set(ys.tolist())) < 2:
            if not early_only:  # the window model is new: one left from the old would stay
                out(window_model_path).unlink(missing_ok=True)
                out(window_model_path).with_suffix(".json").unlink(missing_ok=True)
            continue
        pipe = build_stage_pipeline(random_state=random_state)
        pipe.fit(Xs, ys)
        metrics = {"train": class_report(ys, pipe.predict(Xs), EPISODE_CLASSES)}
        if val is not None and len(val[1]):
            metrics["validation"] = class_report(val[1], pipe.predict(val[0]), EPISODE_CLASSES)
        card = {
            "model_version": datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "kind": kind,
            "window_model_version": window.version,
            "classes": list(EPISODE_CLASSES),
            "features": list(FEATURE_NAMES),
            "reject_at": REJECT_AT,
            "training_data": training_data,
            "n_training_candidates": int(len(ys)),
            "class_counts": {c: int((ys == c).sum()) for c in EPISODE_CLASSES},
            "random_state": random_state,
            "metrics": metrics,
        }
        rng = np.random.default_rng(random_state)
        probe = Xs[rng.choice(len(Xs), size=min(8, len(Xs)), replace=False)]
        save_model(out(window_model_path), pipe, card, probe)
        written[kind] = card
    return written


def _xy(pairs: list, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, label) pairs as a feature matrix and a label vector."""
    return (
        np.array([x for x, _ in pairs]).reshape(len(pairs), n_features),
        np.asarray([label for _, label in pairs]),
    )
