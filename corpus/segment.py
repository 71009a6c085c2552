"""Cut an article body into paragraph-sized passages.

The extractor keeps one paragraph per line. A passage is one paragraph, except that very
short paragraphs (sub-headings, one-line asides) are joined to the next one and very long
ones are split at sentence ends, so each passage gives the classifier enough, but not too
much, text.
"""

from __future__ import annotations

import re

from policytrends.corpus.hashing import squeeze, text_hash
from policytrends.faults import checkpoint

MIN_WORDS = 25  # below this a paragraph is a heading or an aside: merged with its neighbour
MAX_WORDS = 220  # above this the encoder truncates (~256 word pieces): split at sentence ends

# A sentence ends at . ! or ?, possibly followed by a closing quote or bracket, which stays
# with its sentence; the split happens at the whitespace before the next capitalised word.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+(?=[A-Z0-9“\"'(])")


def _split_long(paragraph: str) -> list[str]:
    sentences = _SENTENCE_END.split(paragraph)
    chunks: list[str] = []
    current: list[str] = []
    words = 0
    for sentence in sentences:
        n = len(sentence.split())
        if current and words + n > MAX_WORDS:
            chunks.append(" ".join(current))
            current, words = [], 0
        current.append(sentence)
        words += n
    if current:
        chunks.append(" ".join(current))
    return chunks


def segment(body: str) -> list[str]:
    """Split ``body`` (paragraphs separated by newlines) into passages.

    >>> segment("Short heading\\n" + "word " * 30)[0].startswith("Short heading word")
    True
    """
    paragraphs = [squeeze(p) for p in re.split(r"\n+", body or "")]
    paragraphs = [p for p in paragraphs if p]
    passages: list[str] = []
    pending = ""
    for p in paragraphs:
        p = f"{pending} {p}".strip() if pending else p
        pending = ""
        if len(p.split()) < MIN_WORDS:
            pending = p
            continue
        passages.extend(_split_long(p) if len(p.split()) > MAX_WORDS else [p])
    if pending:
        if passages and len(passages[-1].split()) + len(pending.split()) <= MAX_WORDS:
            passages[-1] = f"{passages[-1]} {pending}"
        else:
            passages.append(pending)
    return passages


def segment_store(store) -> dict[str, int]:
    """Segment every document whose passages are missing or stale. Returns counts."""
    docs = passages = 0
    for doc_id, body, content_hash in store.documents_to_segment():
        texts = segment(body)
        store.replace_passages(doc_id, texts, [text_hash(t) for t in texts], content_hash)
        checkpoint("segment.document")
        docs += 1
        passages += len(texts)
    return {"documents_segmented": docs, "passages_written": passages}
