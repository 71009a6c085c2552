"""Analysts' labels of real text: they override seed labels, weigh more, choose the thresholds,
give the error rates the trend tables correct with, and are what the promotion gate compares on.

Fast: a bag-of-words embedder stands in for the encoder (the real model's loop is measured in
bench/real_text.py); the label files are generated here, the seed folder is a temporary one.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from policytrends.models import labels as L
from policytrends.models.registry import Registry
from policytrends.models.training import ANALYST_SHARE, MIN_REAL_GATE, analyst_weight, evaluate, train
from policytrends.trends.prevalence import SEED_RATES_WARNING, error_rates
from tests.helpers import hash_embedder

THEMES = ("deterrence", "cyber", "bmd", "counterterrorism")
WORDS = {
    "deterrence": "deterrence warheads posture escalation arsenal retaliation triad",
    "cyber": "hackers malware intrusion ransomware networks breach espionage",
    "bmd": "interceptors radar shield aegis midcourse batteries intercept",
    "counterterrorism": "jihadist plot bombing extremist cell designation recruits",
    "": "tariffs harvest inflation ballots pensions rainfall tourism",
}


def _embed(texts):
    return hash_embedder(texts, dim=96)


def _passages(prefix: str, n_per_theme: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for theme, words in WORDS.items():
        for i in range(n_per_theme):
            picked = rng.choice(words.split(), size=4, replace=False)
            filler = rng.choice(WORDS[""].split(), size=3, replace=False)
            # a token of its own per passage (no word shared with others but the theme's and the filler)
            rows.append({"text": f"{prefix}{i}{theme[:2]}: " + " ".join([*picked, *filler]) + ".",
                         "labels": [theme] if theme else []})
    return rows


@pytest.fixture
def folders(tmp_path, monkeypatch):
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    monkeypatch.setattr(L, "SEED_FOLDER", seed_dir)
    return seed_dir, tmp_path


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_an_analysts_label_overrides_the_seed_label_whatever_the_file_order(folders):
    seed_dir, tmp = folders
    seed = _write(seed_dir / "seed_labels.jsonl", [{"text": "Shared passage about radars.", "labels": ["bmd"]},
                                                   {"text": "Same  labels here.", "labels": ["cyber"]},
                                                   {"text": "Seed only.", "labels": []}])
    mine = _write(tmp / "analyst.jsonl", [{"text": "Shared passage about  radars.", "labels": []},
                                          {"text": "Same labels here.", "labels": ["cyber"]},
                                          {"text": "Analyst only.", "labels": ["deterrence"]}])
    for order in ([seed, mine], [mine, seed]):
        df, overridden = L.read_training_labels(order)
        assert overridden == 1  # the passage with other labels; the one with the same labels is no override
        got = {" ".join(t.split()): (lab, o) for t, lab, o in zip(df["text"], df["labels"], df["origin"], strict=True)}
        assert got["Shared passage about radars."] == ([], L.ANALYST)
        assert got["Seed only."] == ([], L.SEED) and got["Analyst only."] == (["deterrence"], L.ANALYST)
        assert len(df) == 4
    assert L.read_label_files([seed, mine]).columns.tolist() == ["text", "labels"]


def test_analyst_weight():
    assert analyst_weight(3000, 150) == pytest.approx(ANALYST_SHARE * 3000 / 150)
    assert analyst_weight(100, 500) == 1.0  # never below a seed passage
    assert analyst_weight(3000, 0) == 1.0


def test_training_with_analyst_labels_records_where_everything_comes_from(folders):
    seed_dir, tmp = folders
    seed_rows = _passages("seed", 30, 1)
    seed = _write(seed_dir / "seed_labels.jsonl", seed_rows)
    registry = Registry(tmp / "registry")
    first = train(seed, registry, embedder=_embed)
    assert first.promoted and first.error_rates_from == L.SEED and first.real_metrics is None
    info = registry.require_current().info
    assert info["error_rates"]["source"] == L.SEED and info["training"]["analyst_passages"] == 0
    rates, warnings = error_rates(info, list(THEMES))
    assert SEED_RATES_WARNING in warnings and {r.source for r in rates.values()} <= {L.SEED}

    # The analyst relabels two seed passages and labels passages of their own, few of them bmd.
    analyst_rows = [r for r in _passages("real", 30, 2) if r["labels"] != ["bmd"]] + _passages("realbmd", 3, 3)[6:9]
    analyst_rows += [{"text": seed_rows[0]["text"], "labels": ["cyber"]}, {"text": seed_rows[1]["text"], "labels": []}]
    mine = _write(tmp / "analyst.jsonl", analyst_rows)
    second = train([seed, mine], registry, embedder=_embed)
    assert second.overridden == 2
    assert any("2 seed label(s) overridden" in w for w in second.warnings)
    assert any("bmd (3)" in w and "uncertain" in w for w in second.warnings)
    info = registry.get(second.version).info
    training = info["training"]
    assert training["analyst_passages"] == len(analyst_rows) and training["tuned_on"] == "analyst labels"
    real_held = sum(L.is_heldout(r["text"]) for r in analyst_rows)
    analyst_train = len(analyst_rows) - real_held
    assert training["analyst_weight"] == round(analyst_weight(training["train_passages"] - analyst_train, analyst_train), 3)
    assert info["error_rates"]["source"] == L.ANALYST
    assert info["error_rates"]["passages"] == len(analyst_rows)  # every analyst passage, scored by a model that did not see it
    assert info["error_rates"]["per_theme"]["bmd"]["support"] == 3
    rates, warnings = error_rates(info, list(THEMES))
    assert SEED_RATES_WARNING not in warnings and {r.source for r in rates.values()} == {L.ANALYST}
    card = (registry.root / second.version / "MODEL_CARD.md").read_text()
    assert "Real text: macro-F1" in card and "analyst labels of real text" in card
    # the gate compares on the analyst's held-out real text once there is enough of it
    if real_held >= MIN_REAL_GATE:
        assert "analysts' real text" in second.reason
    assert second.real_metrics["passages"] == real_held


def test_the_gate_compares_on_real_text_not_on_the_seed_split(folders):
    """A model that is better on the analyst's real text is promoted although the seed split
    would prefer the current one: the seed labels here contradict the analyst's reading."""
    seed_dir, tmp = folders
    seed_rows = _passages("seed", 30, 4)
    seed = _write(seed_dir / "seed_labels.jsonl", seed_rows)
    registry = Registry(tmp / "registry")
    train(seed, registry, embedder=_embed)
    # In the analyst's corpus the missile-defence words mean something else: those passages carry no theme.
    real = _passages("real", 40, 5)
    for r in real:
        if r["labels"] == ["bmd"]:
            r["labels"] = []
    mine = _write(tmp / "analyst.jsonl", real)
    result = train([seed, mine], registry, embedder=_embed)
    assert sum(L.is_heldout(r["text"]) for r in real) >= MIN_REAL_GATE
    assert "analysts' real text" in result.reason
    assert result.promoted, result.reason
    info = registry.get(result.version).info
    assert info["metrics"]["gate"]["passages"] == result.real_metrics["passages"]
    # On the seed split the current model is the better one: a gate on it would have refused.
    held = registry.get(result.version).heldout()
    seed_split = held[held["origin"] == L.SEED]
    themes = list(info["themes"])
    new = evaluate(registry.get(result.version).load(embedder=_embed), seed_split, themes)["macro_f1"]
    old = evaluate(registry.get(result.previous).load(embedder=_embed), seed_split, themes)["macro_f1"]
    assert new < old


def test_held_out_origin_survives_the_registry(folders):
    seed_dir, tmp = folders
    seed = _write(seed_dir / "seed_labels.jsonl", _passages("seed", 30, 6))
    mine = _write(tmp / "analyst.jsonl", _passages("real", 30, 7))
    registry = Registry(tmp / "registry")
    train([seed, mine], registry, embedder=_embed)
    held = registry.require_current().heldout()
    assert set(held["origin"]) == {L.SEED, L.ANALYST}
    assert (held["origin"] == L.ANALYST).sum() == sum(L.is_heldout(r["text"]) for r in _passages("real", 30, 7))
    assert isinstance(held, pd.DataFrame)


def test_theme_names_are_case_folded_and_new_themes_must_be_asked_for(folders):
    seed_dir, tmp = folders
    seed = _write(seed_dir / "seed_labels.jsonl", _passages("seed", 30, 8))
    registry = Registry(tmp / "registry")
    train(seed, registry, embedder=_embed)
    before = sorted(p.name for p in registry.root.iterdir())
    rows = _passages("real", 12, 9)
    for r in rows:
        r["labels"] = [t.capitalize() for t in r["labels"]]  # "Cyber" beside the seed's "cyber"
    upper = _write(tmp / "upper.jsonl", rows)
    assert L.themes_of(L.read_labels(upper)) == sorted(THEMES)
    typo = _write(tmp / "typo.jsonl", rows + [{"text": "A passage about hackers.", "labels": ["cybr"]}])
    with pytest.raises(L.LabelsError, match=r"theme 'cybr' is not in the taxonomy .*did you mean 'cyber'\?"):
        train([seed, typo], registry, embedder=_embed)
    new = _write(tmp / "new.jsonl", rows + [{"text": f"Orbital debris report {i}: tariffs harvest.", "labels": ["space"]}
                                            for i in range(14)])
    with pytest.raises(L.LabelsError, match=r"theme\(s\) 'space' not in the taxonomy .*pass --new-theme space"):
        train([seed, new], registry, embedder=_embed)
    assert sorted(p.name for p in registry.root.iterdir()) == before  # nothing written
    result = train([seed, new], registry, embedder=_embed, new_themes=["Space"])
    assert "space" in registry.get(result.version).themes
