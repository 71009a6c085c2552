"""The codebook's rules as cases (tests/fixtures/codebook_cases.jsonl), checked on the seed model.

Each case is a passage written for one rule of shared/CODEBOOK.md with the labels the rule
demands. The model must get nearly all of them exactly right; every miss is printed with its
rule, so a model that regresses on a rule shows which one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.registry import Registry

CASES = [json.loads(line) for line in (Path(__file__).parent / "fixtures" / "codebook_cases.jsonl").read_text().splitlines()]
THEMES = {"deterrence", "cyber", "bmd", "counterterrorism"}


def test_cases_cover_every_theme_and_the_none_case():
    assert all(set(c["labels"]) <= THEMES for c in CASES)
    assert {t for c in CASES for t in c["labels"]} == THEMES
    assert sum(not c["labels"] for c in CASES) >= len(CASES) // 3
    assert len({c["rule"] for c in CASES}) == len(CASES)


@pytest.mark.slow
def test_seed_model_follows_the_codebook(seed_registry, capsys):
    model = Registry(seed_registry).require_current()
    clf = model.load()
    predicted = clf.predict([c["text"] for c in CASES])
    misses = []
    for case, row in zip(CASES, predicted, strict=True):
        got = {str(t) for t, hit in zip(clf.classes_, row, strict=True) if hit}
        if got != set(case["labels"]):
            misses.append(f"  {case['rule']}: expected {sorted(case['labels'])}, got {sorted(got)}")
    with capsys.disabled():
        print(f"\ncodebook cases: {len(CASES) - len(misses)}/{len(CASES)} exactly right" + ("\n" + "\n".join(misses) if misses else ""))
    assert len(misses) <= len(CASES) // 10, "\n".join(misses)
