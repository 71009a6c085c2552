"""Keys of stored text: the same words, whatever the whitespace between them, give the same key.

``text_hash`` keys a passage (its embedding cache, its prediction snapshot row, the analyst's
label); ``content_hash`` keys an article's extracted title and body, so a page fetched again
with the same text counts as unchanged. The body keeps its paragraph breaks: paragraphs joined
or split differently are a change, because the passages change with them.
"""

from __future__ import annotations

import hashlib


def squeeze(text: str) -> str:
    """``text`` with every run of whitespace made one space, and none at the ends."""
    return " ".join(text.split())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """Stable key of a passage's text (whitespace-normalised SHA-256)."""
    return _sha256(squeeze(text))


def content_hash(title: str, body: str) -> str:
    """Stable key of an article's extracted title and body, one paragraph per line."""
    return _sha256(squeeze(title) + "\n" + "\n".join(squeeze(line) for line in body.split("\n")))
