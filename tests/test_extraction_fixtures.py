"""Extraction against stored pages, one per demo layout (fundus-style golden files).

Regenerate the expected files with ``python tests/fixtures/extraction/regenerate.py`` and
review the diff. A second test checks every demo article against the text it was written
from, so the golden files cannot drift away from the truth unnoticed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policytrends.demo_sites import layouts as L
from policytrends.demo_sites.content import SITES, load_articles

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
LAYOUT_DIRS = sorted(p for p in FIXTURES.iterdir() if (p / "meta.json").exists())


def _regenerate_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("regenerate", FIXTURES / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_demo_layout_has_a_fixture():
    regen = _regenerate_module()
    assert set(regen.LAYOUTS) <= {p.name for p in LAYOUT_DIRS}
    assert {site for site, _, _ in regen.LAYOUTS.values()} == set(SITES)


@pytest.mark.parametrize("folder", LAYOUT_DIRS, ids=[p.name for p in LAYOUT_DIRS])
def test_extraction_matches_expected(folder):
    regen = _regenerate_module()
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    got = regen.extract_fixture(folder)
    assert got == expected
    if "rejected" in got:  # a page refused on purpose (a PDF's landing page): the reason is named
        return
    # No missing field, no empty value (fundus's rule).
    assert got["title"] and got["authors"] and got["published"] and len(got["paragraphs"]) >= meta.get("min_paragraphs", 4)
    assert all(p.strip() for p in got["paragraphs"])
    assert not any(b in p for p in got["paragraphs"] for b in BOILERPLATE + REAL_BOILERPLATE)


# What the real-layout fixtures put around the article: none of it is body text.
REAL_BOILERPLATE = ["Read more:", "Share on", "Posted in", "One thought on", "Good piece", "newsletter", "Latest publications",
                    "Topics:", "Access options", "subscribe", "Purchase", "People also read", "Log in", "enable JavaScript"]


BOILERPLATE = ["Subscribe", "Sign up", "All rights reserved", "Most read", "You might also like",
               "Related analysis", "More from the Forum", "Research Report", "Their work has appeared"]


# caldera's articles include PDFs, written and read back: seconds of their own, so slow.
@pytest.mark.parametrize("site", [pytest.param(s, marks=pytest.mark.slow) if s == "caldera" else s for s in sorted(SITES)])
def test_all_demo_articles_extract_to_their_source_text(site):
    from policytrends.crawlers.extract import extract_html, extract_pdf

    for a in load_articles(site):
        if site == "caldera" and a.format == "pdf":
            got = extract_pdf(L.caldera_pdf(a))
        else:
            page = {"meridian": L.meridian_article, "harborview": L.harborview_article,
                    "northgate": L.northgate_article, "caldera": L.caldera_commentary}[site](a)
            got = extract_html(page)
        assert got.title == a.title, a.slug
        assert got.authors == list(a.authors), a.slug
        assert got.published == a.date, a.slug
        assert got.paragraphs == list(a.paragraphs), a.slug
        assert not any(b in got.body for b in BOILERPLATE), a.slug
