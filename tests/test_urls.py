"""corpus/urls.py: the keys documents are stored under, shared by the crawler and the importer."""

from __future__ import annotations

import pytest

from policytrends.corpus.urls import BadURLError, canonicalize_url


@pytest.mark.parametrize(("url", "expected"), [
    # Ordinary URLs keep the keys they were stored under before w3lib did the normalising.
    ("HTTPS://www.Example.org/a/b/?utm_source=x&id=2#top", "https://example.org/a/b?id=2"),
    ("https://example.org/s?z=1&a=2&m=3&fbclid=abc", "https://example.org/s?a=2&m=3&z=1"),
    ("http://[::1]:8080/a/", "http://[::1]:8080/a"),
    ("https://example.org", "https://example.org/"),
    ("https://example.org/a?b", "https://example.org/a?b="),
    # One key for one article however its link is encoded.
    ("https://example.org/caf\u00e9-talks", "https://example.org/caf%C3%A9-talks"),
    ("https://example.org/caf%c3%a9-talks", "https://example.org/caf%C3%A9-talks"),
    ("https://example.org/%7Euser/p", "https://example.org/~user/p"),
    ("https://example.org/s?q=a b&utm_medium=x", "https://example.org/s?q=a+b"),
    ("https://example.org/s?%75tm_source=x&id=1", "https://example.org/s?id=1"),  # an encoded "u" is still utm_
])
def test_canonical_keys(url, expected):
    assert canonicalize_url(url) == expected
    assert canonicalize_url(expected) == expected


@pytest.mark.parametrize("url", ["http://example.org:99999/a", "http://[::1/a", "http://example.org:x/a"])
def test_bad_urls_are_refused_with_our_error(url):
    with pytest.raises(BadURLError, match="not a valid URL"):
        canonicalize_url(url)
