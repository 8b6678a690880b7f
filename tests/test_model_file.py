"""Loading a model file: only types we trust, whatever its card claims."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from emgwatch.errors import InputError
from emgwatch.model import DEFAULT_MODEL, load_model


def test_the_shipped_card_lists_the_types_its_model_holds():
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert card["skops_types"] == sorted(sio.get_untrusted_types(file=DEFAULT_MODEL))


def test_a_model_holding_an_untrusted_type_is_refused_even_if_its_card_lists_only_trusted_ones(
    tmp_path,
):
    evil = Pipeline([("f", FunctionTransformer(func=os.getcwd))])  # any callable could run
    path = tmp_path / "evil.skops"
    sio.dump(evil, path)
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())  # claims trusted types only
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="untrusted types"):
        load_model(path)


def test_a_card_without_the_type_list_still_loads(tmp_path):
    """Models saved before cards listed their types load the slower way, unchanged."""
    for name in (DEFAULT_MODEL.name, DEFAULT_MODEL.with_suffix(".json").name):
        shutil.copy(DEFAULT_MODEL.parent / name, tmp_path / name)
    card_path = tmp_path / DEFAULT_MODEL.with_suffix(".json").name
    card = json.loads(card_path.read_text())
    del card["skops_types"]
    card_path.write_text(json.dumps(card))
    m = load_model(tmp_path / DEFAULT_MODEL.name, with_stage=False)
    assert m.version == card["model_version"]


@pytest.mark.parametrize("func", ["builtins.exec", "numpy.save"])
def test_functions_from_trusted_packages_are_still_refused(tmp_path, func):
    """Trust is by exact type, not by package: builtins.exec is in 'builtins' too."""
    import importlib

    module, name = func.rsplit(".", 1)
    evil = Pipeline(
        [("f", FunctionTransformer(func=getattr(importlib.import_module(module), name)))]
    )
    path = tmp_path / "evil.skops"
    sio.dump(evil, path)
    card = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    card["skops_types"] = sorted(sio.get_untrusted_types(file=path))  # honest about it
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="untrusted types"):
        load_model(path)
