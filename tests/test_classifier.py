"""The theme classifier: real MiniLM encoder on the seed labels, plus estimator habits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from policytrends.errors import PolicyTrendsError
from policytrends.models.classifier import ThemeClassifier
from policytrends.models.labels import SEED_LABELS, read_labels, split
from policytrends.models.registry import Registry
from policytrends.models.training import evaluate, format_metrics, train
from tests.helpers import hash_embedder

_hash_embedder = hash_embedder  # 64 dimensions


TOY = [
    ("Nuclear deterrence rests on a survivable second strike force.", "deterrence"),
    ("Extended deterrence reassures allies under the nuclear umbrella.", "deterrence"),
    ("Strategic stability talks covered warhead limits and escalation.", "deterrence"),
    ("The arsenal grew and nuclear posture shifted toward deterrence.", "deterrence"),
    ("Hackers breached the grid operator with destructive malware.", "cyber"),
    ("A cyber espionage campaign stole files from ministries.", "cyber"),
    ("Ransomware backed by the state hit pipelines and hospitals.", "cyber"),
    ("Election systems were probed by foreign hacking teams.", "cyber"),
    ("Trade talks stalled over tariffs on steel and grain.", ""),
    ("The climate summit ended with a weak emissions pledge.", ""),
    ("Inflation eased as central banks held interest rates.", ""),
    ("Voters returned the coalition with a reduced majority.", ""),
]


def _toy():
    texts = [t for t, _ in TOY]
    Y = pd.DataFrame({"cyber": [int(lab == "cyber") for _, lab in TOY], "deterrence": [int(lab == "deterrence") for _, lab in TOY]})
    return texts, Y


def test_estimator_habits():
    texts, Y = _toy()
    clf = ThemeClassifier(C=2.0, cv=3, embedder=_hash_embedder)
    assert not hasattr(clf, "coef_")  # __init__ only stores parameters
    assert clf.fit(texts, Y) is clf
    assert list(clf.classes_) == ["cyber", "deterrence"]
    assert clf.thresholds_.shape == (2,) and ((clf.thresholds_ > 0) & (clf.thresholds_ < 1)).all()
    proba = clf.predict_proba(texts)
    assert proba.shape == (12, 2) and ((proba >= 0) & (proba <= 1)).all()
    assert (clf.predict(texts) == (proba >= clf.thresholds_)).all()
    twin = clone(clf)
    assert twin.get_params()["C"] == 2.0 and not hasattr(twin, "coef_")
    # Refitting forgets the previous fit: a different taxonomy replaces the old one.
    clf.fit(texts, Y[["cyber"]])
    assert list(clf.classes_) == ["cyber"] and clf.coef_.shape[0] == 1


def test_fit_rejects_a_theme_without_negatives_or_mismatched_rows():
    texts, Y = _toy()
    with pytest.raises(ValueError, match="only positive"):
        ThemeClassifier(embedder=_hash_embedder).fit(texts, Y.assign(cyber=1))
    with pytest.raises(ValueError, match="12 texts but Y has 11"):
        ThemeClassifier(embedder=_hash_embedder).fit(texts, Y.iloc[:11])


def test_save_and_load_without_pickle_give_identical_predictions(tmp_path):
    texts, Y = _toy()
    clf = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(texts, Y)
    clf.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["head.json", "head.safetensors"]
    back = ThemeClassifier.load(tmp_path, embedder=_hash_embedder)
    np.testing.assert_allclose(back.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    assert list(back.classes_) == list(clf.classes_)


@pytest.mark.slow
def test_seed_model_on_heldout_split(seed_registry, capsys):
    """The real model on the seed labels it never saw in training: macro-F1 printed."""
    model = Registry(seed_registry).require_current()
    held = split(read_labels(SEED_LABELS))[1]
    metrics = evaluate(model.load(), held, model.themes)
    with capsys.disabled():
        print("\n" + format_metrics(metrics, f"held-out seed labels, model {model.version}:"))
    assert metrics == model.info["metrics"]["heldout"]  # what the registry recorded is reproducible
    assert metrics["passages"] == len(held) >= 80
    assert metrics["macro_f1"] >= 0.85
    assert all(m["f1"] >= 0.75 for m in metrics["per_theme"].values())
    card = (model.folder / "MODEL_CARD.md").read_text()
    assert "Macro-F1" in card and model.version in card
    assert json.loads((model.folder / "model.json").read_text())["training"]["data_hash"]


@pytest.mark.slow
def test_shuffled_labels_are_rejected_and_current_model_stays(trained, tmp_path):
    registry = Registry(trained.registry_dir)
    before = registry.require_current().version
    # A third of the seed labels is plenty to show the gate at work, at a third of the fitting time.
    rows = [json.loads(line) for line in SEED_LABELS.read_text().splitlines()][::3]
    rng = np.random.default_rng(7)
    shuffled = [r["labels"] for r in rows]
    rng.shuffle(shuffled)
    bad = tmp_path / "shuffled.jsonl"
    bad.write_text("\n".join(json.dumps({"text": r["text"], "labels": s}) for r, s in zip(rows, shuffled, strict=True)))
    result = train(bad, registry)
    assert not result.promoted and "not promoted" in result.reason
    assert result.metrics["macro_f1"] < result.previous_metrics["macro_f1"]
    assert registry.require_current().version == before
    # The rejected version is kept for inspection, with its decision recorded.
    assert registry.get(result.version).info["promotion"]["promoted"] is False


@pytest.mark.slow
def test_bad_label_file_leaves_registry_untouched(trained, tmp_path):
    registry = Registry(trained.registry_dir)
    before = sorted(p.name for p in registry.root.iterdir())
    bad = tmp_path / "labels.csv"
    bad.write_text("passage,tags\nsome text,cyber\n")
    with pytest.raises(PolicyTrendsError, match=r"missing column\(s\) \['text', 'labels'\]; found \['passage', 'tags'\]"):
        train(bad, registry)
    assert sorted(p.name for p in registry.root.iterdir()) == before


def test_blend_weight_and_thresholds_come_from_cross_validation():
    texts, Y = _toy()
    chosen = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(texts, Y)
    assert 0.0 < chosen.weight_ < 1.0 and 0.0 <= chosen.cv_macro_f1_ <= 1.0
    fixed = ThemeClassifier(cv=3, weight=1.0, embedder=_hash_embedder).fit(texts, Y)
    alone = ThemeClassifier(cv=3, lexical=False, embedder=_hash_embedder).fit(texts, Y)
    # weight 1.0 is the embedding head alone: the TF-IDF head no longer moves the probabilities
    np.testing.assert_allclose(fixed.predict_proba(texts), alone.predict_proba(texts), atol=1e-9)
    assert alone.vectorizer_ is None and alone.weight_ == 1.0


def test_a_model_saved_by_the_first_release_still_loads(tmp_path):
    """Format 1: one head over [embedding, TF-IDF]. A registry from before the blend keeps working."""
    from safetensors.numpy import save_file

    texts, Y = _toy()
    new = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(texts, Y)
    vocab_size = len(new.vectorizer_.vocabulary_)
    rng = np.random.default_rng(0)
    coef = rng.normal(size=(2, 64 + vocab_size))
    save_file({"coef": coef.astype(np.float32), "intercept": np.array([0.1, -0.2], np.float32),
               "thresholds": np.array([0.4, 0.6], np.float32), "idf": new.vectorizer_.idf_}, str(tmp_path / "head.safetensors"))
    (tmp_path / "head.json").write_text(json.dumps({
        "params": {"C": 4.0, "lexical": True, "max_features": 20000, "cv": 5},
        "classes": ["cyber", "deterrence"], "vocabulary": {k: int(v) for k, v in new.vectorizer_.vocabulary_.items()}}))
    old = ThemeClassifier.load(tmp_path, embedder=_hash_embedder)
    features = np.hstack([_hash_embedder(texts), new.vectorizer_.transform(texts).toarray()])
    expected = 1 / (1 + np.exp(-(features @ coef.T + np.array([0.1, -0.2]))))
    np.testing.assert_allclose(old.predict_proba(texts), expected, atol=1e-5)
    assert (old.predict(texts) == (expected >= np.array([0.4, 0.6]))).all()


def test_analysts_weighted_labels_move_the_model():
    """A passage labelled against the grain moves further towards its label when it weighs more."""
    texts, Y = _toy()
    odd = "Voters returned to the polls after hackers leaked the party's emails."
    X, Ycyber = texts + [odd], pd.concat([Y, pd.DataFrame({"cyber": [1], "deterrence": [0]})], ignore_index=True)
    light = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(X, Ycyber, sample_weight=np.ones(len(X)))
    heavy = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(X, Ycyber, sample_weight=np.r_[np.ones(len(texts)), 20.0])
    assert heavy.predict_proba([odd])[0, 0] > light.predict_proba([odd])[0, 0] + 0.05
    with pytest.raises(ValueError, match="one value per text"):
        ThemeClassifier(embedder=_hash_embedder).fit(X, Ycyber, sample_weight=np.ones(3))


def test_thresholds_are_tuned_on_the_marked_rows_when_they_hold_enough_of_a_theme():
    texts, Y = _toy()
    X = texts * 2
    Y2 = pd.concat([Y, Y], ignore_index=True)
    everyone = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(X, Y2)
    # Too few positives among the marked rows: every theme falls back to all rows.
    few = np.zeros(len(X), bool)
    few[:3] = True
    fallback = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(X, Y2, tune_on=few)
    np.testing.assert_array_equal(fallback.thresholds_, everyone.thresholds_)
    assert fallback.tuned_on_ == 3 and everyone.tuned_on_ == len(X)
    assert everyone.oof_proba_.shape == (len(X), 2)


def test_a_saved_model_keeps_the_cues_it_was_trained_with(tmp_path, monkeypatch):
    from policytrends.models import cues as model_cues

    texts, Y = _toy()
    clf = ThemeClassifier(cv=3, embedder=_hash_embedder).fit(texts, Y)
    assert clf.n_features_in_ == 64 + 2 * len(model_cues.CUES)
    clf.save(tmp_path)
    monkeypatch.setattr(model_cues, "CUES", {"only": (r"steel",)})  # the code's cues change later
    back = ThemeClassifier.load(tmp_path, embedder=_hash_embedder)
    np.testing.assert_allclose(back.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_a_model_saved_before_the_cues_still_loads(tmp_path):
    """Format 2: the blend without cues. Its head.json has no cues and its params no 'cues' key."""
    texts, Y = _toy()
    clf = ThemeClassifier(cv=3, cues=False, embedder=_hash_embedder).fit(texts, Y)
    clf.save(tmp_path)
    meta = json.loads((tmp_path / "head.json").read_text())
    meta["format"] = 2
    del meta["cues"], meta["params"]["cues"], meta["params"]["cue_scale"]
    (tmp_path / "head.json").write_text(json.dumps(meta))
    back = ThemeClassifier.load(tmp_path, embedder=_hash_embedder)
    assert back.cue_features_ is None and back.n_features_in_ == 64
    np.testing.assert_allclose(back.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_cues_count_the_codebook_words_and_ignore_case():
    from policytrends.models.cues import CUES, CueFeatures

    cues = CueFeatures()
    names = list(CUES)
    F = cues.transform(["IAEA inspectors went back to Natanz and Fordow to check enrichment.", "Tariffs on steel rose."])
    nonprolif = names.index("nonproliferation")
    # IAEA, inspectors, Natanz, Fordow, enrichment: 5 hits of 4 terms (Natanz and Fordow are one term, the sites)
    assert F[0, nonprolif] == pytest.approx(np.log1p(5))
    assert F[0, len(names) + nonprolif] == pytest.approx(np.log1p(4))
    assert F[1, nonprolif] == 0 and F[1, names.index("other_deterring")] > 0


def test_the_real_text_figure_was_measured_on_the_shipped_seed_labels():
    """Model cards quote models/seed/real_text.json for models trained from exactly these labels:
    change the seed labels and `bench/real_text.py --record` must be run again."""
    from policytrends.models.labels import REAL_TEXT_RECORD, data_hash

    record = json.loads(REAL_TEXT_RECORD.read_text(encoding="utf-8"))
    assert record["data_hash"] == data_hash(read_labels(SEED_LABELS)), "run bench/real_text.py --record"
    assert 0 < record["macro_f1"] <= 1 and record["passages"] > 0


def test_baselines_read_only_the_bounded_text_the_classifier_reads():
    from policytrends.models.baselines import KeywordMatcher
    from policytrends.models.encoder import MAX_CHARS

    themes = pd.DataFrame({"bmd": [1, 0], "cyber": [0, 1]})
    matcher = KeywordMatcher().fit(Y=themes)
    early = "Interceptors of the missile defense system failed the test. " + "x" * MAX_CHARS
    late = "x " * MAX_CHARS + "Interceptors of the missile defense system failed the test."
    got = matcher.predict([early, late])
    assert got[0, 0] and not got[1, 0]
