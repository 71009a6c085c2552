"""crawlers/sitemaps.py: sitemaps as real sites serve them, read without the network."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from policytrends.crawlers.sitemaps import (
    MAX_SITEMAP_BYTES,
    SitemapError,
    date_in_path,
    gunzip_capped,
    parse_lastmod,
    read_sitemap,
    robots_sitemaps,
)

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _locs(body: bytes) -> list[str]:
    return [e.loc for e in read_sitemap(body).entries]


def test_urlset_with_lastmod_and_namespaced_extensions():
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {NS} xmlns:image="http://www.google.com/schemas/sitemap-image/1.1" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            "<url><loc> https://x.example/a/1 </loc><lastmod>2024-05-01</lastmod>"
            "<image:image><image:loc>https://x.example/i.png</image:loc></image:image></url>"
            "<!-- a comment --><url><loc>https://x.example/a/2</loc>"
            "<news:news><news:publication_date>2024-05-02T10:00:00Z</news:publication_date></news:news></url>"
            "</urlset>").encode()
    sitemap = read_sitemap(body)
    assert sitemap.kind == "urlset" and sitemap.bad_entries == 0 and sitemap.problems == []
    assert [(e.loc, e.lastmod) for e in sitemap.entries] == [
        ("https://x.example/a/1", "2024-05-01"), ("https://x.example/a/2", "2024-05-02T10:00:00Z")]


def test_sitemap_index():
    body = f"<sitemapindex {NS}><sitemap><loc>https://x.example/s1.xml.gz</loc><lastmod>2024-01-01</lastmod></sitemap></sitemapindex>"
    sitemap = read_sitemap(body.encode())
    assert sitemap.kind == "sitemapindex" and [e.lastmod for e in sitemap.entries] == ["2024-01-01"]


@pytest.mark.parametrize("layers", [1, 2])
def test_gzip_is_recognised_by_its_bytes_whatever_the_name(layers):
    body = f"<urlset {NS}><url><loc>https://x.example/a</loc></url></urlset>".encode()
    for _ in range(layers):
        body = gzip.compress(body)
    assert _locs(body) == ["https://x.example/a"]


def test_an_entity_loses_its_entry_only_and_is_never_cut_off():
    body = (f"<urlset {NS}><url><loc>https://x.example/a/one</loc></url>"
            "<url><loc>https://x.example/a/caf&eacute;</loc></url>"
            "<url><loc>https://x.example/a/two?x=1&amp;y=2&#38;z=3</loc></url>"
            "<url><loc>https://x.example/a/three?p=1&q=2</loc></url></urlset>").encode()
    sitemap = read_sitemap(body)
    assert sitemap.bad_entries == 1
    # predefined and numeric references are read; a bare "&" is the ampersand it means
    assert _locs(body) == ["https://x.example/a/one", "https://x.example/a/two?x=1&y=2&z=3", "https://x.example/a/three?p=1&q=2"]


def test_declared_entities_are_never_expanded():
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "ha"}">' for i in range(10))
    body = f'<?xml version="1.0"?><!DOCTYPE urlset [{laughs}]><urlset {NS}><url><loc>https://x.example/&l9;</loc></url>' \
           "<url><loc>https://x.example/a</loc></url></urlset>"
    sitemap = read_sitemap(body.encode())
    assert sitemap.problems == ["sitemap_xml_bomb"] and sitemap.bad_entries == 1
    assert [e.loc for e in sitemap.entries] == ["https://x.example/a"]
    xxe = f'<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]><urlset {NS}><url><loc>https://x.example/&x;</loc></url></urlset>'
    assert read_sitemap(xxe.encode()).problems == ["sitemap_xml_bomb"]
    plain = f'<!DOCTYPE urlset [<!ENTITY site "x.example">]><urlset {NS}><url><loc>https://x.example/b</loc></url></urlset>'
    assert read_sitemap(plain.encode()).problems == ["sitemap_dtd_entities"]


def test_a_broken_entry_does_not_take_the_next_one_with_it():
    body = f"<urlset {NS}><url><loc>https://x.example/a</loc><lastmod></url><url><loc>https://x.example/b</loc></url><url><loc></loc></url></urlset>"
    sitemap = read_sitemap(body.encode())
    assert [e.loc for e in sitemap.entries] == ["https://x.example/b"] and sitemap.bad_entries == 2


def test_plain_text_sitemap():
    assert _locs(b"\xef\xbb\xbfhttps://x.example/a\r\n\r\nhttp://x.example/b\n") == ["https://x.example/a", "http://x.example/b"]
    assert read_sitemap(b"https://x.example/a\n").kind == "text"


@pytest.mark.parametrize(("body", "kind"), [
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "sitemap_not_xml"),
    (b"", "sitemap_not_xml"),
    (b"just some words\nhttps://x.example/a\n", "sitemap_not_xml"),
    (b"\x1f\x8b\x08\x00garbage", "sitemap_bad_gzip"),
    (gzip.compress(b"https://x.example/a\n")[:-12], "sitemap_bad_gzip"),
    (gzip.compress(b"<urlset>" + b" " * (MAX_SITEMAP_BYTES + 1)), "sitemap_gzip_bomb"),
])
def test_unreadable_sitemaps_are_named(body, kind):
    with pytest.raises(SitemapError) as info:
        read_sitemap(body)
    assert info.value.kind == kind


def test_gunzip_stops_at_the_cap_without_inflating_everything():
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))
    with pytest.raises(SitemapError, match="more than 1 MB"):
        gunzip_capped(bomb, limit=1024 * 1024)
    assert gunzip_capped(b"not gzip") == b"not gzip"


def test_robots_sitemaps():
    text = "User-agent: *\nDisallow: /search\nSitemap: https://x.example/s.xml.gz  # main\nsitemap:https://x.example/t.xml\n" \
           "SITEMAP: https://x.example/s.xml.gz\nSitemap:\n"
    assert robots_sitemaps(text) == ["https://x.example/s.xml.gz", "https://x.example/t.xml"]


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ("2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),
    ("2024-05-01T08:00Z", datetime(2024, 5, 1, 8, tzinfo=UTC)),
    ("2024-05-01T08:00:00.500Z", datetime(2024, 5, 1, 8, 0, 0, 500000, tzinfo=UTC)),
    ("2024-05-01 08:00:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),  # no zone: UTC
    ("2024-05", datetime(2024, 5, 1, tzinfo=UTC)),
    ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
    ("Wed, 01 May 2024 08:00:00 GMT", datetime(2024, 5, 1, 8, tzinfo=UTC)),
    ("yesterday", None), ("", None), (None, None), ("2024-13", None),
])
def test_lastmod_is_read_as_an_aware_datetime(text, expected):
    assert parse_lastmod(text) == expected


def test_lastmod_order_is_by_time_not_by_text():
    # As text, the first sorts after the second; as times, it is an hour earlier.
    assert parse_lastmod("2024-05-01T10:00:00+02:00") < parse_lastmod("2024-05-01T09:00:00Z")
    assert parse_lastmod("2024-05-01") == parse_lastmod("2024-05-01T00:00:00+00:00")


@pytest.mark.parametrize(("path", "expected"), [
    ("/research/2023/05/some-title", datetime(2023, 5, 31, 23, 59, 59, tzinfo=UTC)),
    ("/blog/2023-02-12/x", datetime(2023, 2, 12, 23, 59, 59, tzinfo=UTC)),
    ("/act/2023-12/features/x", datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("/2024/02/", datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)),
    ("/pubs/RR2019-05.html", None), ("/analysis/some-title", None), ("/2023/13/x", None), ("/2023/02/30/x", None),
])
def test_date_in_path(path, expected):
    assert date_in_path(path) == expected
