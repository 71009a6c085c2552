"""The real MiniLM encoder: text beyond its window is pooled over windows, not cut off."""

from __future__ import annotations

import numpy as np
import pytest

from policytrends.models.encoder import MAX_CHARS, MAX_TOKENS, MAX_WINDOWS, bound_texts, get_encoder, over_bound
from tests.helpers import hash_embedder

FILLER = ("The finance ministry published its spring forecast, revising growth down by half a point "
          "after a weak winter for exporters and a slower recovery in household spending. ")
CYBER = ("Intruders working for a foreign intelligence service planted malware in the control systems "
         "of the regional power grid and cut electricity to two cities for a night.")


@pytest.mark.slow
def test_long_text_is_pooled_over_windows_and_short_text_is_unchanged():
    pooled, truncated = get_encoder(long_text="pool"), get_encoder(long_text="truncate")
    assert pooled.id != truncated.id  # cached vectors of one mode are never served for the other
    long_text = FILLER * 12 + CYBER  # the cyber sentence starts far beyond the first window
    windows, owner = pooled._windows([long_text, CYBER])
    assert owner.count(0) >= 2 and owner.count(1) == 1
    assert all(len(w) <= MAX_TOKENS for w in windows)

    short = [CYBER, FILLER]
    np.testing.assert_allclose(pooled.encode(short), truncated.encode(short), atol=1e-5)

    cyber, filler = pooled.encode([CYBER, FILLER])
    p_long, t_long = pooled.encode([long_text])[0], truncated.encode([long_text])[0]
    assert abs(np.linalg.norm(p_long) - 1) < 1e-5
    # Cut off, the long text is the filler alone; pooled, it moves toward what its end says.
    assert float(t_long @ filler) > float(t_long @ cyber) + 0.3
    assert float(p_long @ cyber) > float(t_long @ cyber) + 0.1


@pytest.mark.slow
def test_a_multi_megabyte_text_is_encoded_from_a_bounded_number_of_windows():
    encoder = get_encoder()
    huge = FILLER * 40_000  # ~6.6 MB: unbounded, ~6,000 windows and over half an hour on two cores
    windows, owner = encoder._windows([huge, CYBER])
    assert owner.count(0) == MAX_WINDOWS and owner.count(1) == 1
    # Text of a word piece every other character (numbers, symbols) stops at the same window count.
    windows, owner = encoder._windows(["7 " * 2_500_000])
    assert len(windows) == MAX_WINDOWS
    # What is encoded is the bounded start: the same vector as the start alone.
    np.testing.assert_allclose(encoder.encode([huge])[0], encoder.encode([huge[:MAX_CHARS]])[0], atol=1e-5)


def test_every_view_of_the_classifier_reads_the_bounded_text():
    from policytrends.models.classifier import ThemeClassifier

    seen: list[int] = []

    def embedder(texts):
        seen.extend(len(t) for t in texts)
        return hash_embedder(texts)

    texts = [f"{CYBER} {i}" for i in range(12)] + [f"{FILLER} {i}" for i in range(12)]
    for i in (0, 1):  # ~8 MB cells whose last words come after the bound
        texts[i] = f"{CYBER} {FILLER * 50_000} sabotage beyond the bound"
    Y = np.array([[1]] * 12 + [[0]] * 12)
    clf = ThemeClassifier(embedder=embedder, cv=2).fit(texts, Y)
    assert max(seen) == MAX_CHARS
    assert "sabotage" not in clf.vectorizer_.vocabulary_  # TF-IDF read the bounded text too
    seen.clear()
    p = clf.predict_proba([texts[0], CYBER])
    assert max(seen) == MAX_CHARS and p.shape == (2, 1)
    assert bound_texts(["short", FILLER * 1000]) == ["short", (FILLER * 1000)[:MAX_CHARS]]
    assert over_bound(["short", FILLER * 1000, None]) == 1
