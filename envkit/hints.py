"""The one "did you mean" of envkit: the closest known names to a mistyped one.

Every message that rejects a name (a spec key, a scene, a reward term, a preset, a
sweep setting) suggests the nearest valid one through `closest`, with the same
notion of "near" (difflib's ratio >= 0.6), so a typo gets the same help everywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: difflib similarity a candidate needs to be suggested.
CUTOFF = 0.6


def closest(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    """Up to `n` candidates close to `word`, closest first (empty when none is close)."""
    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=CUTOFF)


def suggest(word: str, candidates: Iterable[str]) -> str:
    """Ends a sentence: "; did you mean 'x'?" when a candidate is close, else "."."""
    close = closest(word, candidates)
    return f"; did you mean '{close[0]}'?" if close else "."
