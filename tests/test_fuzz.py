"""Property-based fuzzing of everything that reads text from outside: pages, dates, URLs,
passages, label files, sources files.

The properties: no crash; nothing empty or garbled comes out as a document; a bad input is
refused with the project's own error (a PolicyTrendsError subclass), never a stray
KeyError or UnicodeDecodeError. The budget and seed are fixed in CI (profile "ci", loaded in
conftest.py); ``HYPOTHESIS_PROFILE=long`` runs many more cases (see docs/reliability.md).
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from policytrends.corpus.dates import EARLIEST, parse_date
from policytrends.corpus.segment import MAX_WORDS, segment
from policytrends.corpus.urls import canonicalize_url, clean_request_url
from policytrends.crawlers.extract import (
    MIN_BODY_WORDS,
    ExtractionError,
    decode_html,
    extract_html,
    extract_pdf,
)
from policytrends.crawlers.sources import load_sources
from policytrends.errors import PolicyTrendsError
from policytrends.models.labels import read_labels

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
PAGES = sorted(p.read_text(encoding="utf-8") for p in FIXTURES.glob("*/page.html"))
PDF = (FIXTURES / "caldera-pdf-report" / "page.pdf").read_bytes()
TODAY = date(2026, 11, 29)


def _check_document(doc) -> None:
    """What may be stored: a title, enough words of prose, a plausible date or none."""
    assert doc.title.strip()
    assert len(doc.body.split()) >= MIN_BODY_WORDS
    assert "\ufffd" not in doc.title
    assert doc.published is None or EARLIEST <= doc.published <= date.today().replace(year=date.today().year + 1)


def _mutate(data, draw_ops):
    """Apply byte-level edits (cut, insert, flip, repeat) to a sequence."""
    for op, at, chunk in draw_ops:
        at = at % (len(data) + 1)
        if op == "cut":
            data = data[:at] + data[at + len(chunk) * 7 :]
        elif op == "insert":
            data = data[:at] + chunk + data[at:]
        elif op == "flip":
            data = data[:at] + chunk + data[at + len(chunk) :]
        else:
            data = data[:at] + data[at : at + 40] * 3 + data[at:]
    return data


OPS = st.lists(st.tuples(st.sampled_from(["cut", "insert", "flip", "repeat"]), st.integers(0, 10**6),
                         st.binary(min_size=1, max_size=12)), min_size=1, max_size=6)
HTML_BITS = st.sampled_from(["<p>", "</p>", "<script type='application/ld+json'>", "</script>", "{", "}", "\"@type\": \"Article\"",
                             "<title>", "</title>", "<meta property='article:published_time' content='2019-02-30'>",
                             "<h1>", "</h1>", "\x00", "&#0;", "&#xD800;", "<!--", "<![CDATA[", "<link rel=canonical href='javascript:x'>",
                             "By ", " and ", "Published 31 February 2020", "\ufeff", "Ã©", "\u202e"])


# --------------------------------------------------------------------------- extraction
@given(page=st.sampled_from(PAGES), ops=OPS)
def test_mutated_pages_extract_or_are_refused(page, ops):
    mutated = _mutate(page.encode("utf-8"), [(op, at, chunk) for op, at, chunk in ops])
    try:
        doc = extract_html(decode_html(mutated, "utf-8"), "https://example.org/a/1", today=TODAY)
    except ExtractionError as exc:
        assert isinstance(exc, PolicyTrendsError) and str(exc)
        return
    _check_document(doc)


@given(parts=st.lists(st.one_of(HTML_BITS, st.text(max_size=40)), max_size=60))
def test_generated_markup_extracts_or_is_refused(parts):
    try:
        doc = extract_html("".join(parts), None, today=TODAY)
    except ExtractionError:
        return
    _check_document(doc)


@given(data=st.binary(max_size=3000), declared=st.sampled_from([None, "utf-8", "latin-1", "cp1252", "x-unknown", "utf-16"]))
def test_any_bytes_decode_to_text(data, declared):
    text = decode_html(data, declared)
    assert isinstance(text, str)


@settings(max_examples=25)  # each mutated PDF goes through pdfminer's full layout analysis
@given(ops=OPS)
def test_mutated_pdfs_extract_or_are_refused(ops):
    try:
        doc = extract_pdf(_mutate(PDF, ops), today=TODAY)
    except ExtractionError as exc:
        assert isinstance(exc, PolicyTrendsError)
        return
    _check_document(doc)


# --------------------------------------------------------------------------- dates
@given(text=st.one_of(st.text(max_size=200), st.from_regex(r"\d{1,4}[-./ ]\d{1,4}[-./ ]\d{1,4}", fullmatch=True),
                      st.from_regex(r"\d{1,2} (Jan|Feb|Sept|Mar\.|May|Dec)[a-z]* \d{4}", fullmatch=True)))
def test_parse_date_returns_a_plausible_date_or_none(text):
    d = parse_date(text, today=TODAY)
    assert d is None or EARLIEST <= d <= date(2026, 11, 30)


@given(d=st.dates(min_value=EARLIEST, max_value=TODAY), noise=st.text(alphabet=" |·abcXYZ:", max_size=20))
def test_written_dates_are_read_back(d, noise):
    assert parse_date(f"{noise} {d.isoformat()} {noise}", today=TODAY) == d
    assert parse_date(f"{d.day} {d.strftime('%B')} {d.year}", today=TODAY) == d


# --------------------------------------------------------------------------- URLs
URLS = st.builds(
    lambda scheme, host, port, path, query, frag: f"{scheme}://{host}{port}/{path}{query}{frag}",
    st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    st.sampled_from(["example.org", "www.Example.org", "127.0.0.1", "[::1]", "[::1", "xn--nxasmq6b.example", "a..b", ""]),
    st.sampled_from(["", ":80", ":443", ":8080", ":99999", ":x", ":"]),
    st.text(alphabet="abc/%.-_~é ", max_size=20),
    st.sampled_from(["", "?utm_source=x&id=2", "?b=1&a=2", "?a", "?fbclid=1&ref=x", "?%zz=1"]),
    st.sampled_from(["", "#top", "#"]),
)


@given(url=st.one_of(URLS, st.text(max_size=80)))
def test_canonical_urls_are_stable(url):
    try:
        once = canonicalize_url(url)
    except PolicyTrendsError:
        return  # refused with our own message
    assert canonicalize_url(once) == once
    assert "utm_" not in once and "#" not in once
    clean_request_url(url)


# --------------------------------------------------------------------------- segmentation
WORDS = st.text(alphabet="abcdefghij ABC.!?\"'”)(\n", min_size=0, max_size=3000)


@given(body=st.one_of(WORDS, st.lists(st.sampled_from(["Short heading.", "A sentence of several words here.", "\n", "\n\n",
                                                         "Mr. Smith said so! ", "x" * 50, " "]), max_size=400).map("".join)))
def test_segmentation_keeps_every_word_once_in_order(body):
    passages = segment(body)
    assert all(p.strip() for p in passages)
    assert " ".join(passages).split() == body.split()
    for p in passages:
        # over MAX_WORDS only when one sentence alone is that long
        assert len(p.split()) <= MAX_WORDS or len(segment(p)) == 1


# --------------------------------------------------------------------------- label files
def _read(name: str, content: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(content)
        return read_labels(path)


JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
                       lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(
                           st.sampled_from(["text", "labels", "data", "annotations", "result", "value", "choices",
                                            "was_cancelled", "id", "tasks", "7"]), kids, max_size=4)), max_leaves=20)
# What pandas says when a JSON object is taken for a table: the user would not know what to fix.
PANDAS_MESSAGES = ("scalar values", "Mixing dicts", "All arrays must be of the same length", "DataFrame constructor")


@given(value=JSONISH)
# Shapes that once crashed the Label Studio reader with AttributeError, or let non-strings through:
@example([{"data": "x"}])
@example([{"data": {"text": "a"}, "annotations": [1]}])
@example([{"data": {"text": "a"}, "annotations": [{"result": [{"value": {"choices": [1, {"a": 1}]}}]}]}])
@example([{"data": {"text": ["a"]}, "annotations": [{"result": []}]}])
@example([{"text": {"a": 1}, "labels": "x"}])
# Label Studio JSON as a dict (issue 15): {"tasks": [...]}, keyed by id, one task; a dict of scalars.
@example({"tasks": [{"data": {"text": "a"}, "annotations": [{"result": []}]}]})
@example({"7": {"data": {"text": "a"}, "annotations": [{"result": []}]}, "8": {"data": {"text": "b"}}})
@example({"data": {"text": "a"}, "annotations": [{"result": [{"value": {"choices": ["x"]}}]}]})
@example({"text": "a", "labels": "x"})
@example({"text": ["a", "b"], "labels": ["x"]})
@example({"id": 1, "value": 2})
def test_label_files_of_any_json_shape_read_or_refused(value):
    for name, content in (("l.json", json.dumps(value)), ("l.jsonl", json.dumps(value) + "\n" + json.dumps(value))):
        try:
            df = _read(name, content.encode())
        except PolicyTrendsError as exc:
            assert not any(m in str(exc) for m in PANDAS_MESSAGES), str(exc)
            continue
        assert list(df.columns) == ["text", "labels"] and len(df) > 0
        assert all(isinstance(t, str) and t.strip() for t in df["text"])
        assert all(isinstance(x, list) and all(isinstance(v, str) for v in x) for x in df["labels"])


@given(content=st.one_of(st.binary(max_size=300),
                         st.lists(st.sampled_from(["text,labels\n", "a passage,cyber\n", '"quoted, text",bmd;cyber\n', ",\n",
                                                   '"unclosed\n', "\x00", "x,y,z,w\n", "\ufeff", "labels,text\n"]),
                                  max_size=12).map(lambda xs: "".join(xs).encode("utf-8"))))
def test_label_csv_of_any_content_read_or_refused(content):
    try:
        df = _read("l.csv", content)
    except PolicyTrendsError:
        return
    assert len(df) > 0 and all(t.strip() for t in df["text"])


# --------------------------------------------------------------------------- sources files
@given(value=st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
                          lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(
                              st.sampled_from(["sources", "name", "discovery", "sitemap", "feed", "listing", "article_patterns",
                                               "allowed_domains", "politeness", "timeout", "selectors", "canonical_base"]),
                              kids, max_size=5)), max_leaves=25))
def test_sources_files_of_any_shape_load_or_are_refused(value):
    import yaml

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "sources.yaml"
        path.write_text(yaml.safe_dump(value), encoding="utf-8")
        try:
            sources = load_sources(path)
        except PolicyTrendsError:
            return
    for s in sources:
        assume(s.name)
        assert all(url.startswith(("http://", "https://")) for _, url in s.start_urls())


@pytest.mark.parametrize("text", ["\x00\x01binary", "sources: [", "- just a list", "sources: []"])
def test_broken_sources_files_are_refused_with_our_error(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyTrendsError):
        load_sources(path)
