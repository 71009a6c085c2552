"""The real MiniLM encoder: text beyond its window is pooled over windows, not cut off."""

from __future__ import annotations

import numpy as np
import pytest

from models.encoder import MAX_TOKENS, get_encoder

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
