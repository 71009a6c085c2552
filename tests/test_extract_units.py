"""crawlers/extract.py: dates, URLs, hashes, HTML and PDF extraction on small hand-written inputs."""

from __future__ import annotations

import json
from datetime import date

import pytest

from policytrends.corpus.dates import parse_date
from policytrends.corpus.hashing import content_hash
from policytrends.corpus.urls import canonicalize_url, rebase_url
from policytrends.crawlers.extract import (
    MIN_BODY_WORDS,
    ExtractionError,
    count_words,
    decode_html,
    decode_with,
    extract_html,
    extract_pdf,
)

TODAY = date(2024, 6, 30)

PARA_1 = (
    "Deterrence planning has shifted toward regional coalitions over the past decade. "
    "Officials now weigh the cost of forward basing against the value of visible commitments. "
    "Several allies have asked for clearer consultation rules before any deployment decision."
)
PARA_2 = (
    "Budget pressure shapes every part of this debate, from procurement schedules to training cycles. "
    "Planners expect the next review to revisit assumptions about readiness and reserve forces."
)
NAV = "Home About our team Research programmes Contact the press office"
NEWSLETTER = "Subscribe to our weekly newsletter and receive every new briefing straight in your inbox"
FOOTER = "Copyright Example Institute for Policy Research All rights reserved Privacy statement"


def page(head: str = "", body: str = "") -> str:
    return f"<!DOCTYPE html>\n<html>\n<head>\n<meta charset='utf-8'>\n{head}\n</head>\n<body>\n{body}\n</body>\n</html>\n"


def article(title: str = "Coalitions and Costs", extra: str = "") -> str:
    return f"<article>\n<h1>{title}</h1>\n{extra}\n<p>{PARA_1}</p>\n<p>{PARA_2}</p>\n</article>"


def ld_script(obj) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


META_NO_DATE = '<meta property="og:title" content="Meta Title">\n<meta name="author" content="Meta Person">'
META = (
    '<meta property="og:title" content="Meta Title">\n'
    '<meta name="author" content="Meta Person">\n'
    '<meta property="article:published_time" content="2015-01-05T08:00:00+00:00">'
)


# --------------------------------------------------------------------------- parse_date
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-03-04T09:30:00+01:00", date(2016, 3, 4)),
        ("2016-03-04", date(2016, 3, 4)),
        ("4 March 2016", date(2016, 3, 4)),
        ("4th March, 2016", date(2016, 3, 4)),
        ("March 4, 2016", date(2016, 3, 4)),
        ("march 4 2016", date(2016, 3, 4)),
        ("Mar. 4, 2016", date(2016, 3, 4)),
        ("Sept. 9, 2019", date(2019, 9, 9)),
        ("9 Sep 2019", date(2019, 9, 9)),
        ("13.05.2019", date(2019, 5, 13)),
        ("2016/03/04", date(2016, 3, 4)),
        ("Posted on May 1, 2020 by the editors", date(2020, 5, 1)),
        ("By A. Writer | Published 14 March 2017", date(2017, 3, 14)),
        # The sources' other languages: German, Spanish, French, Dutch, Italian, Portuguese.
        ("Stand: 20. März 2021, 15:00 Uhr", date(2021, 3, 20)),
        ("Mär 27, 2018", date(2018, 3, 27)),
        ("Publicado el 4 de mayo de 2020", date(2020, 5, 4)),
        ("Mis à jour le 1er avril 2020", date(2020, 4, 1)),
        ("5 août 2019", date(2019, 8, 5)),
        ("14 mei 2020", date(2020, 5, 14)),
        ("3 dicembre 2019", date(2019, 12, 3)),
        ("12 de outubro de 2022", date(2022, 10, 12)),
    ],
)
def test_parse_date_formats(text, expected):
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize("text", [None, "", "no date here", "2016-13-01", "31 February 2016", "Smarch 4, 2016", "04/03/2016",
                                  "version 2.4 March 2020", "Mairie 4 2016"])
def test_parse_date_none(text):
    assert parse_date(text, today=TODAY) is None


def test_parse_date_rejects_before_1990():
    assert parse_date("1989-12-31", today=TODAY) is None
    assert parse_date("1 January 1990", today=TODAY) == date(1990, 1, 1)


def test_parse_date_rejects_future():
    today = date(2020, 1, 1)
    assert parse_date("2020-01-01", today=today) == today
    assert parse_date("2020-01-02", today=today) == date(2020, 1, 2)  # one day of clock skew allowed
    assert parse_date("2020-01-03", today=today) is None
    assert parse_date("March 4, 2031", today=today) is None


def test_parse_date_skips_implausible_to_next():
    assert parse_date("Founded 1 May 1975. Published 2 June 2012.", today=TODAY) == date(2012, 6, 2)
    assert parse_date("Event on 2030-01-01, written 2019-02-03", today=TODAY) == date(2019, 2, 3)


def test_parse_date_earliest_position_wins():
    # The day-first pattern is tried after the ISO one, but its date comes first in the text.
    assert parse_date("Updated 13.05.2019, first published 2016-03-04", today=TODAY) == date(2019, 5, 13)
    assert parse_date("Published 2016-03-04, updated 13.05.2019", today=TODAY) == date(2016, 3, 4)
    assert parse_date("2018/07/01 then March 4, 2016", today=TODAY) == date(2018, 7, 1)


# --------------------------------------------------------------------------- URLs
def test_canonicalize_docstring_example():
    assert canonicalize_url("HTTPS://www.Example.org/a/b/?utm_source=x&id=2#top") == "https://example.org/a/b?id=2"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.example.org/a", "https://example.org/a"),
        ("HTTP://EXAMPLE.ORG/Path/Case", "http://example.org/Path/Case"),  # path case kept
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("http://example.org:443/a", "http://example.org:443/a"),
        ("https://example.org/a?utm_source=rss&utm_campaign=x&fbclid=1&gclid=2", "https://example.org/a"),
        ("https://example.org/a?UTM_Medium=m&id=3", "https://example.org/a?id=3"),
        ("https://example.org/a#section-2", "https://example.org/a"),
        ("https://example.org/a/b/", "https://example.org/a/b"),
        ("https://example.org/", "https://example.org/"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org//a//b", "https://example.org/a/b"),
        ("https://example.org/s?z=1&a=2&m=3", "https://example.org/s?a=2&m=3&z=1"),
        ("https://example.org/s?page=2&lang=en&utm_term=k", "https://example.org/s?lang=en&page=2"),
        ("  https://example.org/a  ", "https://example.org/a"),
    ],
)
def test_canonicalize_url(url, expected):
    assert canonicalize_url(url) == expected


def test_canonicalize_url_variants_collapse():
    variants = [
        "https://www.example.org/report/7/?b=2&a=1",
        "https://example.org/report/7?a=1&b=2&utm_source=newsletter",
        "HTTPS://EXAMPLE.ORG:443/report/7/?a=1&b=2#comments",
        "https://example.org/report/7?fbclid=xyz&b=2&a=1",
    ]
    assert {canonicalize_url(u) for u in variants} == {"https://example.org/report/7?a=1&b=2"}


def test_canonicalize_url_idempotent():
    once = canonicalize_url("https://www.Example.org/x/y/?q=1&utm_medium=z")
    assert canonicalize_url(once) == once


def test_canonicalize_url_ipv6_host():
    assert canonicalize_url("http://[::1]:8080/a/") == "http://[::1]:8080/a"


def test_rebase_url():
    assert rebase_url("http://127.0.0.1:8123/blog/a.html?x=1", "https://harborview.example") == (
        "https://harborview.example/blog/a.html?x=1"
    )
    # the base's own path and the URL's fragment are dropped
    assert rebase_url("http://127.0.0.1:9/p/q/#frag", "https://site.example/ignored") == "https://site.example/p/q/"
    assert rebase_url("http://10.0.0.1/x", "http://mirror.example:8080") == "http://mirror.example:8080/x"


# --------------------------------------------------------------------------- content_hash
def test_content_hash_whitespace_insensitive():
    a = content_hash("A  Title", "First paragraph here.\nSecond   one.")
    b = content_hash(" A Title ", "  First\tparagraph  here. \n Second one.")
    assert a == b
    assert len(a) == 64 and int(a, 16) >= 0


def test_content_hash_differs():
    base = content_hash("Title", "Body text one.")
    assert content_hash("Title", "Body text two.") != base
    assert content_hash("Other title", "Body text one.") != base
    # the paragraph break is part of the text
    assert content_hash("Title", "Body text\none.") != base
    assert content_hash("Title", "Body text one.") == base


# --------------------------------------------------------------------------- decode_html
def test_decode_html_wrong_declared_charset():
    raw = "Café talks – “quoted” remarks".encode("cp1252")
    assert decode_html(raw, "utf-8") == "Café talks – “quoted” remarks"


def test_decode_html_missing_or_bogus_charset():
    raw = "Naïve résumé".encode("cp1252")
    assert decode_html(raw, None) == "Naïve résumé"
    assert decode_html(raw, "x-no-such-charset") == "Naïve résumé"


def test_decode_html_utf8_wins_over_declared():
    raw = "Naïve “smart” quotes".encode()
    assert decode_html(raw, "iso-8859-1") == "Naïve “smart” quotes"


def test_decode_html_declared_used_when_not_utf8():
    raw = "Привет".encode("koi8-r")
    assert decode_html(raw, "koi8-r") == "Привет"


def test_decode_utf8_page_with_stray_latin1_bytes():
    # A UTF-8 page with a few bytes pasted from a Latin-1 source: UTF-8, the strays read as cp1252.
    raw = ("Grüße aus Köln – die Straße ist schön. " * 5).encode("utf-8") + b"Caf\xe9 au lait \x96 fin."
    text, used = decode_with(raw, "utf-8")
    assert used == "utf-8"
    assert text.startswith("Grüße aus Köln – die Straße") and text.endswith("Café au lait – fin.")


def test_decode_single_byte_page_stays_single_byte():
    raw = "Déjà vu à la française, très élégant.".encode("cp1252")
    assert decode_with(raw, None) == ("Déjà vu à la française, très élégant.", "cp1252")


# --------------------------------------------------------------------------- extract_html
def test_jsonld_graph_preferred_over_meta():
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Example Institute"},
            {
                "@type": "NewsArticle",
                "headline": "Structured Title",
                "author": [{"@type": "Person", "name": "Ana Ruiz"}, {"@type": "Person", "name": "Ben Okafor"}],
                "datePublished": "2018-06-02T10:00:00Z",
                "dateModified": "2021-01-01T00:00:00Z",
            },
        ],
    }
    doc = extract_html(page(ld_script(ld) + "\n" + META_NO_DATE, article()), today=TODAY)
    assert doc.title == "Structured Title"
    assert doc.authors == ["Ana Ruiz", "Ben Okafor"]
    assert doc.published == date(2018, 6, 2)
    assert doc.method.startswith("json-ld")
    assert PARA_1 in doc.paragraphs and PARA_2 in doc.paragraphs


def test_jsonld_and_meta_dates_disagree_htmldate_decides():
    # On htmldate's 1,000 real pages, where JSON-LD's date and htmldate's choice differ,
    # htmldate was right 16 times and JSON-LD 6: its choice (here the meta tag) stands.
    ld = {"@type": "NewsArticle", "headline": "Structured Title", "datePublished": "2018-06-02T10:00:00Z"}
    doc = extract_html(page(ld_script(ld) + "\n" + META, article()), today=TODAY)
    assert doc.title == "Structured Title"
    assert doc.published == date(2015, 1, 5)
    assert doc.method.startswith("htmldate")


def test_visible_microdata_date_wins():
    # A visible element marked datePublished names the local date; the meta tag's UTC
    # timestamp falls on the next day.
    head = '<meta property="article:published_time" content="2023-11-09T02:11:03+00:00">'
    extra = '<time itemprop="datePublished" datetime="2023-11-08T21:11:03-05:00">November 8, 2023</time>'
    doc = extract_html(page(head, article(extra=extra)), today=TODAY)
    assert doc.published == date(2023, 11, 8)
    assert doc.method.startswith("microdata")


def test_jsonld_list_of_objects_and_string_authors():
    ld = [
        {"@type": "BreadcrumbList", "name": "Crumbs"},
        {"@type": ["Report", "CreativeWork"], "name": "Listed Report", "author": ["Chen Wu", {"name": "Dara Obi"}],
         "datePublished": "March 4, 2016"},
    ]
    doc = extract_html(page(ld_script(ld), article()), today=TODAY)
    assert doc.title == "Listed Report"
    assert doc.authors == ["Chen Wu", "Dara Obi"]
    assert doc.published == date(2016, 3, 4)


def test_jsonld_modified_used_only_without_published():
    ld = {"@type": "Article", "headline": "Only Modified", "dateModified": "2019-09-09"}
    doc = extract_html(page(ld_script(ld), article()), today=TODAY)
    assert doc.published == date(2019, 9, 9)


def test_broken_jsonld_falls_back_to_meta():
    broken = '<script type="application/ld+json">{"@type": "Article", "headline": "Never seen", </script>'
    doc = extract_html(page(broken + "\n" + META, article()), today=TODAY)
    assert doc.title == "Meta Title"
    assert doc.authors == ["Meta Person"]
    assert doc.published == date(2015, 1, 5)
    assert doc.method.startswith("meta")


def test_meta_author_urls_ignored():
    head = '<meta property="og:title" content="Linked"><meta property="article:author" content="https://example.org/people/x">'
    doc = extract_html(page(head, article(extra="<p>By Eva Lind</p>")), today=TODAY)
    assert doc.authors == ["Eva Lind"]


def test_visible_byline_and_date():
    byline = "<p>By Carla Mendes and David Ito | Published 14 March 2017</p>"
    doc = extract_html(page("<title>Site name</title>", article("Visible Title", byline)), today=TODAY)
    assert doc.title == "Visible Title"
    assert doc.authors == ["Carla Mendes", "David Ito"]
    assert doc.published == date(2017, 3, 14)
    assert doc.method.startswith("dateline")  # the short line under the headline


def test_dateline_under_headline_beats_utc_timestamps():
    # A US evening: the meta tag and JSON-LD carry the UTC time, already the next day; the
    # page shows the local date under the headline, with the update after it.
    ld = {"@type": "NewsArticle", "headline": "Coalitions and Costs", "datePublished": "2023-11-09T02:40:00Z"}
    head = ld_script(ld) + '<meta property="article:published_time" content="2023-11-09T02:40:00+00:00">'
    dateline = ('<div class="byline">By <a href="/people/ana-ruiz">Ana Ruiz</a></div>'
                '<div class="dateline">Published <span>November 8, 2023 9:40pm EST</span> | Updated November 9, 2023 7:05am EST</div>')
    doc = extract_html(page(head, article(extra=dateline)), today=TODAY)
    assert doc.published == date(2023, 11, 8)
    assert doc.method.startswith("dateline")


def test_date_inside_a_sentence_under_the_headline_is_no_dateline():
    # The event the article is about, written in its first paragraph: the meta tag decides.
    sentence = ("<p>The ministers meet again on <strong>22 November 2023</strong> to settle the basing question, "
                "and most delegations expect another delay.</p>")
    doc = extract_html(page(META, article(extra=sentence)), today=TODAY)
    assert doc.published == date(2015, 1, 5)


def test_date_under_the_site_logo_heading_is_no_dateline():
    # The logo is an <h1> too, with today's date beside it; the article's <h1> holds the title
    # and has no dateline: the meta tag decides.
    logo = '<header><h1><a href="/">Example Institute</a></h1><span class="today">Sunday, 30 June 2024</span></header>'
    doc = extract_html(page(META, logo + article("Meta Title")), today=TODAY)
    assert doc.published == date(2015, 1, 5)


def test_new_year_with_a_time_of_day_is_a_date_not_a_year_guess():
    # htmldate reads 1 January with a time from the meta tag: a real date, kept even though
    # JSON-LD says otherwise (htmldate decides, as on any other day).
    ld = {"@type": "Article", "headline": "Coalitions and Costs", "datePublished": "2023-06-05"}
    head = ld_script(ld) + '<meta name="date" content="2024-01-01T09:30:00+01:00">'
    doc = extract_html(page(head, article()), today=TODAY)
    assert doc.published == date(2024, 1, 1)
    assert doc.method.startswith("htmldate")


def test_new_year_in_the_url_is_a_date_not_a_year_guess():
    head = '<meta property="og:title" content="Outlook"><meta property="article:published_time" content="2024-12-31T23:40:00+00:00">'
    doc = extract_html(page(head, article()), "https://blog.example/2025/01/01/outlook/", today=date(2025, 6, 1))
    assert doc.published == date(2025, 1, 1)


def test_year_alone_is_still_refused():
    # A copyright year is all htmldate finds: its 1 January guess is not a publication date.
    head = '<meta property="og:title" content="Undated"><meta itemprop="copyrightYear" content="2019">'
    doc = extract_html(page(head, article()), today=TODAY)
    assert doc.published is None


def test_visible_date_in_hinted_element_minified():
    byline = '<p class="post-byline">By Carla Mendes and David Ito | Published 14 March 2017</p>'
    html_text = page("", article("Visible Title", byline)).replace("\n", "")
    doc = extract_html(html_text, today=TODAY)
    assert doc.published == date(2017, 3, 14)


def test_visible_date_minified_html_without_hint_class():
    byline = "<p>By Carla Mendes and David Ito | Published 14 March 2017</p>"
    html_text = page("", article("Visible Title", byline)).replace("\n", "")
    doc = extract_html(html_text, today=TODAY)
    assert doc.published == date(2017, 3, 14)


def test_time_element_date():
    extra = '<time datetime="2019-11-20">20 November</time>'
    doc = extract_html(page("", article(extra=extra)), today=TODAY)
    assert doc.published == date(2019, 11, 20)


def test_future_dates_ignored_by_today():
    head = '<meta property="article:published_time" content="2024-07-05">'
    doc = extract_html(page(head, article()), today=TODAY)
    assert doc.published is None
    doc = extract_html(page(head, article()), today=date(2024, 7, 5))
    assert doc.published == date(2024, 7, 5)


def test_selectors_override():
    body = (
        '<h1>Wrong Heading</h1>\n<h2 class="t">Selected Title</h2>\n'
        f'<div class="x">\n<p>{PARA_1}</p>\n<p>{PARA_2}</p>\n</div>\n'
        '<div class="y"><p>Sidebar text that must not be taken into the selected article body at all.</p></div>'
    )
    ld = {"@type": "Article", "headline": "Structured Title"}
    doc = extract_html(page(ld_script(ld), body), selectors={"body": "div.x", "title": "h2.t"}, today=TODAY)
    assert doc.title == "Selected Title"
    assert doc.paragraphs == [PARA_1, PARA_2]
    assert "selector" in doc.method and "trafilatura" not in doc.method


def test_selectors_date_and_authors():
    body = (
        '<h1>Heading</h1><span class="who">Farah Nasser; Gil Amar</span><span class="when">Sept. 9, 2019</span>\n'
        f'<div class="x"><p>{PARA_1}</p><p>{PARA_2}</p></div>'
    )
    doc = extract_html(page(META, body), selectors={"authors": "span.who", "date": "span.when", "body": "div.x"}, today=TODAY)
    assert doc.authors == ["Farah Nasser", "Gil Amar"]
    assert doc.published == date(2019, 9, 9)


def test_selector_miss_falls_back_to_trafilatura():
    doc = extract_html(page("", article()), selectors={"body": "div.does-not-exist"}, today=TODAY)
    assert doc.paragraphs[-2:] == [PARA_1, PARA_2]
    assert "trafilatura" in doc.method


def test_boilerplate_not_in_body():
    body = (
        f'<nav><ul><li><a href="/">{NAV}</a></li></ul></nav>\n'
        f"{article('Nav Title')}\n"
        f'<div class="newsletter"><p>{NEWSLETTER}.</p></div>\n'
        f"<footer><p>{FOOTER}.</p></footer>"
    )
    doc = extract_html(page("", body), today=TODAY)
    assert doc.title == "Nav Title"
    assert PARA_1 in doc.paragraphs and PARA_2 in doc.paragraphs
    for junk in ("Contact the press office", "weekly newsletter", "All rights reserved"):
        assert junk not in doc.body


def test_title_line_removed_from_body():
    doc = extract_html(page("", article("Coalitions and Costs")), today=TODAY)
    assert doc.title == "Coalitions and Costs"
    assert doc.paragraphs == [PARA_1, PARA_2]


def test_canonical_link():
    head = '<link rel="canonical" href=" https://example.org/pub/1 ">'
    doc = extract_html(page(head, article()), today=TODAY)
    assert doc.canonical_url == "https://example.org/pub/1"


def test_to_dict():
    head = '<meta property="article:published_time" content="2016-03-04">'
    d = extract_html(page(head, article()), today=TODAY).to_dict()
    assert d["published"] == "2016-03-04"
    assert d["paragraphs"][-2:] == [PARA_1, PARA_2]
    assert set(d) == {"title", "authors", "published", "paragraphs", "method"}


def test_xml_declaration_page_is_read():
    xhtml = '<?xml version="1.0" encoding="utf-8"?>\n' + page("<title>XHTML</title>", article("Served as XHTML"))
    doc = extract_html(xhtml, today=TODAY)
    assert doc.title == "Served as XHTML" and PARA_1 in doc.paragraphs


def test_empty_logo_heading_is_no_title():
    logo = '<h1 class="site-title"><a href="/"><img src="/logo.svg" alt=""></a></h1>'
    body = f"<header>{logo}</header><article><p>{PARA_1}</p><p>{PARA_2}</p></article>"
    doc = extract_html(page("<title>Coalitions and Costs | Example Institute</title>", body), today=TODAY)
    assert doc.title == "Coalitions and Costs"


def test_cjk_text_counts_characters():
    assert count_words("抑止力は機能する") == 4
    assert count_words("Deterrence works") == 2
    text = "同盟国は抑止力の信頼性について協議を続けている。" * 3
    doc = extract_html(page("<title>抑止</title>", f"<article><h1>抑止力の信頼性</h1><p>{text}</p></article>"), today=TODAY)
    assert doc.title == "抑止力の信頼性" and doc.body == text


def test_indian_scripts_are_prose():
    # Vowel signs are combining marks, not letters: they must not make Hindi "not prose".
    text = "भारत और पाकिस्तान के बीच परमाणु प्रतिरोध की स्थिरता पर नई बहस शुरू हुई है। " * 4
    doc = extract_html(page("", f"<article><h1>प्रतिरोध</h1><p>{text.strip()}</p></article>"), today=TODAY)
    assert doc.title == "प्रतिरोध"


def test_layout_table_text_kept():
    table = ("<table><tr><td><p>" + PARA_1 + "</p></td></tr><tr><td>"
             "<table><tr><th>Year</th><th>Budget</th></tr><tr><td>2022</td><td>41</td></tr><tr><td>2023</td><td>67</td></tr></table>"
             "</td></tr></table>")
    doc = extract_html(page("<title>Tables</title>", f"<h1>Tables</h1>{table}<p>{PARA_2}</p>"), today=TODAY)
    assert PARA_1 in doc.body and "| 2023 | 67 |" in doc.paragraphs


def test_related_and_promo_lines_dropped():
    extra = ("<p>Read more: <a href='/x'>Basing choices in the north</a></p>"
             "<p>Lea también: Las bases del norte</p>"
             "<p>Sign up for our weekly newsletter.</p>")
    doc = extract_html(page("", article(extra="") .replace("</article>", extra + "</article>")), today=TODAY)
    assert doc.paragraphs == [PARA_1, PARA_2]


def test_pdf_only_page_refused_with_the_pdf_named():
    body = ("<main><h1>Interceptor Supply</h1><p>A report on production lines.</p>"
            "<a href='/files/interceptor-supply.pdf'>Download the report (PDF)</a></main>"
            "<footer><a href='/privacy.pdf'>Privacy</a></footer>")
    with pytest.raises(ExtractionError, match=r"the article is a PDF \(https://example.org/files/interceptor-supply.pdf\)") as exc:
        extract_html(page("", body), url="https://example.org/pubs/interceptor-supply", today=TODAY)
    assert exc.value.kind == "pdf_only"
    # A full article that also offers a PDF version is an article.
    doc = extract_html(page("", article(extra="<a href='/files/a.pdf'>Download PDF</a>")), url="https://example.org/a", today=TODAY)
    assert doc.paragraphs == [PARA_1, PARA_2]


def test_no_body_text_too_short():
    with pytest.raises(ExtractionError, match=rf"body text too short \(\d+ words, need {MIN_BODY_WORDS}\)"):
        extract_html(page("", "<h1>Only a heading</h1>\n<p>Coming soon.</p>"), today=TODAY)


def test_binary_content():
    with pytest.raises(ExtractionError, match="binary content served as HTML"):
        extract_html("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + "x" * 100)


def test_no_title():
    with pytest.raises(ExtractionError, match="no title found"):
        extract_html(page("", f"<div>\n<p>{PARA_1}</p>\n<p>{PARA_2}</p>\n</div>"), today=TODAY)


def test_garbled_body_rejected():
    mojibake = (PARA_1 + " " + PARA_2).replace("the ", "theâ€™ ")
    with pytest.raises(ExtractionError, match=r"body text is garbled \(\d+ broken characters: wrong charset\?\)"):
        extract_html(page("", f"<article><h1>T</h1><p>{mojibake}</p></article>"), selectors={"body": "article"}, today=TODAY)


def test_non_prose_body_rejected():
    digits = " ".join(["12345,67890;"] * 60)
    with pytest.raises(ExtractionError, match="body text is not prose"):
        extract_html(page("", f"<h1>Numbers</h1><div class='x'><p>{digits}</p></div>"), selectors={"body": "div.x"}, today=TODAY)


# --------------------------------------------------------------------------- PDF
@pytest.fixture(scope="module")
def caldera_report():
    from policytrends.demo_sites.content import load_articles
    from policytrends.demo_sites.layouts import caldera_pdf

    reports = [a for a in load_articles("caldera") if a.format == "pdf"]
    assert reports, "the demo corpus should hold PDF reports"
    # the shortest report renders fastest
    a = min(reports, key=lambda r: len(r.body))
    return a, caldera_pdf(a)


def test_extract_pdf_valid(caldera_report):
    a, data = caldera_report
    doc = extract_pdf(data)
    assert doc.title == a.title
    assert doc.authors == list(a.authors)
    assert doc.published == a.date
    assert doc.paragraphs == list(a.paragraphs)
    assert doc.method == "pdf"
    # running header and page numbers are gone
    assert "Research Report" not in doc.body


def test_extract_pdf_not_a_pdf():
    with pytest.raises(ExtractionError, match=r"not a PDF file \(missing %PDF header\)"):
        extract_pdf(b"<html><body>Not a report</body></html>")


def test_extract_pdf_header_only():
    with pytest.raises(ExtractionError, match="unreadable PDF"):
        extract_pdf(b"%PDF-1.7\n")


def test_extract_pdf_truncated(caldera_report):
    _, data = caldera_report
    with pytest.raises(ExtractionError):
        extract_pdf(data[: len(data) // 2])


@pytest.fixture
def precise_reading_finds_only_a_slogan(monkeypatch):
    """trafilatura's precise reading finds only the site's slogan (as on a real page whose theme wraps
    the article in widget containers); its recall reading finds the article."""
    import trafilatura

    real = trafilatura.bare_extraction
    seen = []

    def reading(tree, **kwargs):
        seen.append(kwargs["favor_recall"])
        if not kwargs["favor_recall"]:
            return real(lxml_fragment("<html><body><p>Your touchpoint for the harbour trade.</p></body></html>"), **kwargs)
        return real(tree, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", reading)
    return seen


def lxml_fragment(html_text: str):
    from lxml import html as lxml_html

    return lxml_html.fromstring(html_text)


ARTICLE = """<html><head><title>Harbour review</title></head><body><h1>Harbour review</h1>
<p>The harbour authority published its annual review of port security on Tuesday, describing drills,
new sensors along the quay and a training programme for night crews.</p>
<p>Officials said the sensors cut the time needed to spot a small boat near the terminal.</p></body></html>"""


def test_a_page_the_precise_reading_misses_is_read_again_favouring_recall(precise_reading_finds_only_a_slogan):
    doc = extract_html(ARTICLE, "https://harbour.example/review")
    assert precise_reading_finds_only_a_slogan == [False, True]
    assert "new sensors along the quay" in doc.body and "touchpoint" not in doc.body


def test_a_page_without_an_article_stays_too_short_after_the_second_reading(precise_reading_finds_only_a_slogan):
    with pytest.raises(ExtractionError, match="body text too short"):
        extract_html("<html><head><title>Home</title></head><body><h1>Home</h1><p>Welcome.</p></body></html>",
                     "https://harbour.example/")
    assert precise_reading_finds_only_a_slogan == [False, True]
