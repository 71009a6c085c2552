"""The codebook's decision rules as cases (tests/fixtures/codebook_cases.jsonl), checked on the seed model.

Each case is a passage written for one of the fourteen decision rules of the codebook
(docs/codebook.md), or for a theme's definition, with the labels the codebook demands and
the side of the rule it sits on: ``applies`` (the rule makes a theme apply) or ``does not
apply`` (the rule keeps a theme away). Every rule has cases on both sides. The model must get
nearly all of them exactly right; every miss is printed with its rule, so a model that
regresses on a rule shows which one.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from policytrends.models.registry import Registry

CASES = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "codebook_cases.jsonl").read_text().splitlines()]
THEMES = {"deterrence", "cyber", "bmd", "counterterrorism"}
RULES = range(1, 15)


def test_every_rule_has_cases_on_both_sides():
    assert all(set(c["labels"]) <= THEMES for c in CASES)
    assert {t for c in CASES for t in c["labels"]} == THEMES
    assert sum(not c["labels"] for c in CASES) >= len(CASES) // 3
    sides = Counter((c["rule"], c["side"]) for c in CASES)
    for rule in RULES:
        assert sides[(rule, "applies")] >= 2 and sides[(rule, "does not apply")] >= 2, f"rule {rule}: {sides}"
    assert {c["side"] for c in CASES} == {"applies", "does not apply"}
    assert len({" ".join(c["text"].split()) for c in CASES}) == len(CASES)


def test_cases_are_not_in_the_seed_labels():
    """The cases test what the model learned, not what it memorised."""
    from policytrends.models.labels import SEED_LABELS

    seed = {" ".join(json.loads(line)["text"].split()) for line in SEED_LABELS.read_text(encoding="utf-8").splitlines()}
    assert not [c["why"] for c in CASES if " ".join(c["text"].split()) in seed]


@pytest.mark.slow
def test_seed_model_follows_the_codebook(seed_registry, capsys):
    model = Registry(seed_registry).require_current()
    clf = model.load()
    predicted = clf.predict([c["text"] for c in CASES])
    misses = []
    for case, row in zip(CASES, predicted, strict=True):
        got = {str(t) for t, hit in zip(clf.classes_, row, strict=True) if hit}
        if got != set(case["labels"]):
            misses.append(f"  rule {case['rule']} ({case['side']}: {case['why']}): expected {sorted(case['labels'])}, got {sorted(got)}")
    with capsys.disabled():
        print(f"\ncodebook cases: {len(CASES) - len(misses)}/{len(CASES)} exactly right" + ("\n" + "\n".join(misses) if misses else ""))
    assert len(misses) <= len(CASES) // 10, "\n".join(misses)
