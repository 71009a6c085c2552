"""corpus/segment.py: cutting bodies into passages, and re-segmenting stored documents."""

from __future__ import annotations

from datetime import date

import pytest

from policytrends.corpus.hashing import content_hash, text_hash
from policytrends.corpus.segment import MAX_WORDS, MIN_WORDS, segment, segment_store
from policytrends.corpus.store import CorpusStore, Document


def words(n: int, tag: str = "w") -> str:
    """n distinct words, so order and loss are visible."""
    return " ".join(f"{tag}{i}" for i in range(n))


def sentences(count: int, length: int = 10, tag: str = "s") -> str:
    """``count`` sentences of ``length`` words each, every one starting with a capital."""
    out = []
    for i in range(count):
        body = " ".join(f"{tag}{i}x{j}" for j in range(1, length))
        out.append(f"Word{tag}{i} {body}.")
    return " ".join(out)


def all_words(passages: list[str]) -> list[str]:
    return [w for p in passages for w in p.split()]


# --------------------------------------------------------------------------- segment()
@pytest.mark.parametrize("body", ["", None, "\n\n", "   \n \t \n"])
def test_empty_body(body):
    assert segment(body) == []


def test_one_paragraph_per_passage():
    a, b = words(30, "a"), words(40, "b")
    assert segment(f"{a}\n{b}") == [a, b]


def test_blank_lines_and_inner_whitespace_normalised():
    a, b = words(30, "a"), words(30, "b")
    body = f"\n\n  {a.replace(' ', '   ', 3)}  \n\n\n{b}\t\n"
    assert segment(body) == [a, b]


def test_short_paragraph_merged_into_next():
    heading = "Why this matters"
    para = words(MIN_WORDS, "p")
    assert segment(f"{heading}\n{para}") == [f"{heading} {para}"]


def test_several_short_paragraphs_accumulate():
    h1, h2 = words(3, "h"), words(4, "k")
    para = words(30, "p")
    assert segment(f"{h1}\n{h2}\n{para}") == [f"{h1} {h2} {para}"]


def test_paragraph_of_exactly_min_words_stands_alone():
    a = words(MIN_WORDS, "a")
    b = words(MIN_WORDS, "b")
    assert segment(f"{a}\n{b}") == [a, b]


def test_paragraph_one_below_min_is_merged():
    a = words(MIN_WORDS - 1, "a")
    b = words(MIN_WORDS, "b")
    assert segment(f"{a}\n{b}") == [f"{a} {b}"]


def test_short_parts_can_add_up_to_a_passage():
    a, b = words(15, "a"), words(15, "b")  # together 30 >= MIN_WORDS
    c = words(30, "c")
    assert segment(f"{a}\n{b}\n{c}") == [f"{a} {b}", c]


def test_trailing_short_paragraph_appended_to_previous():
    para = words(40, "p")
    tail = "Read the full report."
    assert segment(f"{para}\n{tail}") == [f"{para} {tail}"]


def test_trailing_short_kept_alone_when_previous_would_overflow():
    para = words(MAX_WORDS - 2, "p")
    tail = words(5, "t")
    assert segment(f"{para}\n{tail}") == [para, tail]


def test_only_short_text_is_one_passage():
    assert segment("Just a note.\nAnd another.") == ["Just a note. And another."]


def test_long_paragraph_split_at_sentence_ends():
    para = sentences(60, 10)  # 600 words in 10-word sentences
    out = segment(para)
    assert len(out) == 3
    assert all(len(p.split()) <= MAX_WORDS for p in out)
    assert all(p.endswith(".") for p in out)  # cut between sentences, not inside one
    assert all(p.split()[0].startswith("Words") for p in out)
    assert all_words(out) == para.split()


def test_paragraph_of_exactly_max_words_not_split():
    para = sentences(22, 10)
    assert len(para.split()) == MAX_WORDS
    assert segment(para) == [para]


def test_one_word_over_max_is_split():
    para = sentences(22, 10) + " Extra."
    out = segment(para)
    assert len(out) == 2
    assert out[1] == "Extra."


def test_long_sentence_is_not_cut_inside():
    long_sentence = "Start " + words(MAX_WORDS + 30, "l") + "."
    out = segment(long_sentence)
    assert out == [long_sentence]


def test_split_on_question_and_exclamation_marks():
    parts = [f"Q{i} " + words(49, f"q{i}_") + ("?" if i % 2 else "!") for i in range(6)]
    para = " ".join(parts)
    out = segment(para)
    assert all(len(p.split()) <= MAX_WORDS for p in out)
    assert len(out) == 2
    assert all_words(out) == para.split()


def test_words_preserved_in_order_mixed_body():
    body = "\n".join([
        "Overview",
        sentences(5, 8, "a"),
        "A short aside.",
        sentences(40, 12, "b"),
        words(26, "c"),
        sentences(3, 30, "d"),
        "Notes",
    ])
    out = segment(body)
    assert all_words(out) == body.split()
    assert all(p == " ".join(p.split()) for p in out)
    # every passage except possibly a lone final one has enough words
    assert all(len(p.split()) >= MIN_WORDS for p in out)
    assert all(len(p.split()) <= MAX_WORDS for p in out)


def test_long_paragraph_split_keeps_closing_quotes():
    para = " ".join(['He said "Stop now." Then he left the room after a long pause.'] * 50)
    out = segment(para)
    assert len(out) > 1
    assert all_words(out) == para.split()


# --------------------------------------------------------------------------- text_hash
def test_text_hash_whitespace_insensitive():
    assert text_hash("a  b\nc") == text_hash(" a b c ")
    assert text_hash("a b c") != text_hash("a b d")
    assert text_hash("abc") != text_hash("a bc")
    assert len(text_hash("x")) == 64


# --------------------------------------------------------------------------- segment_store
def _doc(body: str, title: str = "Alliance Budgets", url: str = "https://example.org/a/1") -> Document:
    return Document(
        url=url,
        canonical_url=url,
        source="demo",
        title=title,
        authors=["Ana Ruiz"],
        published=date(2020, 5, 1),
        body=body,
        content_hash=content_hash(title, body),
        content_type="text/html",
        extraction_method="json-ld+trafilatura",
    )


def _passages(store: CorpusStore) -> list[tuple[int, int, str, str]]:
    import sqlalchemy as sa

    from policytrends.corpus.store import passages

    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(passages.c.document_id, passages.c.position, passages.c.text, passages.c.text_hash).order_by(
                passages.c.document_id, passages.c.position
            )
        ).all()
    return [tuple(r) for r in rows]


@pytest.fixture
def store(store_url):
    """An empty store on SQLite, then on PostgreSQL (see store_url in conftest.py)."""
    s = CorpusStore(store_url)
    yield s
    s.engine.dispose()


def test_segment_store_writes_then_nothing(store):
    body = "\n".join([words(30, "a"), "Heading", words(40, "b"), sentences(30, 10, "c")])
    assert store.upsert_document(_doc(body)) == "new"
    expected = segment(body)

    result = segment_store(store)
    assert result == {"documents_segmented": 1, "passages_written": len(expected)}
    rows = _passages(store)
    assert [r[2] for r in rows] == expected
    assert [r[1] for r in rows] == list(range(len(expected)))
    assert [r[3] for r in rows] == [text_hash(t) for t in expected]
    assert store.count("passages") == len(expected)

    assert segment_store(store) == {"documents_segmented": 0, "passages_written": 0}
    assert _passages(store) == rows


def test_unchanged_document_is_not_resegmented(store):
    body = words(60, "a")
    assert store.upsert_document(_doc(body)) == "new"
    segment_store(store)
    assert store.upsert_document(_doc(body)) == "unchanged"
    assert segment_store(store) == {"documents_segmented": 0, "passages_written": 0}
    assert store.count("documents") == 1


def test_updated_document_passages_replaced(store):
    old_body = "\n".join([words(30, "a"), words(30, "b"), words(30, "c"), words(30, "d")])
    assert store.upsert_document(_doc(old_body)) == "new"
    segment_store(store)
    assert store.count("passages") == 4

    new_body = "\n".join([words(30, "x"), words(35, "y")])
    assert store.upsert_document(_doc(new_body)) == "updated"
    assert store.count("documents") == 1
    expected = segment(new_body)
    assert segment_store(store) == {"documents_segmented": 1, "passages_written": len(expected)}
    assert store.count("passages") == len(expected) == 2
    assert [r[2] for r in _passages(store)] == expected
    assert segment_store(store) == {"documents_segmented": 0, "passages_written": 0}


def test_whitespace_only_change_is_unchanged(store):
    body = words(50, "a")
    store.upsert_document(_doc(body))
    assert store.upsert_document(_doc(body.replace(" ", "  "))) == "unchanged"


def test_segment_store_only_touches_stale_documents(store):
    store.upsert_document(_doc(words(40, "a"), url="https://example.org/a/1"))
    segment_store(store)
    store.upsert_document(_doc(words(40, "b") + "\n" + words(40, "c"), url="https://example.org/a/2"))
    assert segment_store(store) == {"documents_segmented": 1, "passages_written": 2}
    rows = _passages(store)
    assert len({r[0] for r in rows}) == 2
    assert store.count("passages") == 3


def test_document_with_empty_body_gets_no_passages(store):
    store.upsert_document(_doc(""))
    assert segment_store(store) == {"documents_segmented": 1, "passages_written": 0}
    assert store.count("passages") == 0
    # and it is not picked up again
    assert segment_store(store) == {"documents_segmented": 0, "passages_written": 0}
