"""The shipped sources file, checked as far as is possible offline.

For every entry of ``crawlers/sources/thinktanks.yaml``: its article patterns accept that
site's article URL shapes and refuse its tag (topic, region, category), author and event
pages, and its listing pages (date archives, pagination). The URLs are written here from the
sites' public URL structure (the slugs are made up); classification is the spider's own
(``SourceSpider.classify``: scheme, allowed domains, skip patterns, then article patterns).
"""

from __future__ import annotations

import pytest

from policytrends.crawlers.sources import DEMO_SOURCES_TEMPLATE, load_sources
from policytrends.crawlers.spiders.source_spider import SourceSpider

THINKTANKS = load_sources(DEMO_SOURCES_TEMPLATE.with_name("thinktanks.yaml"))

# name -> (host, article paths, {kind of page: paths that must not be taken for articles})
SHAPES: dict[str, tuple[str, list[str], dict[str, list[str]]]] = {
    "carnegie": ("carnegieendowment.org", [
        "/research/2024/05/arms-control-after-new-start?lang=en",
        "/research/2023/11/the-indian-ocean-as-a-strategic-space",
        "/posts/2022/03/what-sanctions-can-and-cannot-do",
        "/emissary/2024/10/alliance-burden-sharing-debate",
        "/russia-eurasia/politika/2024/06/the-kremlins-budget-choices",
    ], {
        "tag": ["/topics/nuclear-policy", "/regions/south-asia", "/research"],
        "author": ["/people/jane-example"],
        "event": ["/events/2024/05/nuclear-dialogue-launch"],
        "listing": ["/research/2024/05", "/emissary"],
    }),
    "brookings": ("www.brookings.edu", [
        "/articles/what-the-new-defense-budget-means-for-readiness/",
        "/articles/chinas-export-controls-on-critical-minerals",
    ], {
        "tag": ["/topics/defense-security/", "/regions/asia-the-pacific/"],
        "author": ["/people/jane-example/"],
        "event": ["/events/the-future-of-nato-enlargement/"],
        "listing": ["/articles/", "/articles/page/2/"],
    }),
    "csis": ("www.csis.org", [
        "/analysis/understanding-the-black-sea-grain-deal",
        "/analysis/space-threat-assessment-2024",
    ], {
        "tag": ["/topics/defense-and-security", "/regions/europe"],
        "author": ["/people/jane-example"],
        "event": ["/events/conversation-with-the-chief-of-naval-operations"],
        "listing": ["/analysis", "/programs/international-security-program"],
    }),
    "rand": ("www.rand.org", [
        "/pubs/commentary/2024/05/why-deterrence-in-the-taiwan-strait-is-fragile.html",
        "/pubs/research_reports/RRA2034-1.html",
        "/pubs/research_reports/RR2680.html",
        "/pubs/perspectives/PEA1234-2.html",
    ], {
        "tag": ["/topics/arms-control.html", "/topics/cybersecurity.html"],
        "author": ["/about/people/e/example_jane.html"],
        "event": ["/events/2024/05/policy-forum-on-ai-and-security.html"],
        "listing": ["/pubs/commentary.html", "/pubs/research_reports.html"],
    }),
    "armscontrol": ("www.armscontrol.org", [
        "/act/2024-05/features/verifying-a-fissile-material-cutoff",
        "/act/2023-12/news/iran-expands-enrichment-capacity",
        "/issue-briefs/2024-03/the-case-for-a-nuclear-test-ban",
        "/blog/2024-05-12/senate-debate-missile-defense",
    ], {
        "tag": ["/taxonomy/term/58", "/subject/nuclear-testing"],
        "author": ["/about/jane-example"],
        "event": ["/events/2024-06/annual-meeting"],
        "listing": ["/act/2024-05", "/act/2024-05/features", "/blog"],
    }),
    "chathamhouse": ("www.chathamhouse.org", [
        "/2024/05/why-the-eus-enlargement-debate-is-back",
        "/2023/11/sudans-war-and-the-region",
    ], {
        "tag": ["/topics/defence-and-security", "/regions/europe"],
        "author": ["/about-us/our-people/jane-example"],
        "event": ["/events/all/research-event/future-of-european-security"],
        "listing": ["/2024/05", "/2024/05/12"],
    }),
    "cfr": ("www.cfr.org", [
        "/article/how-the-us-can-respond-to-houthi-attacks",
        "/blog/what-to-watch-at-the-nato-summit",
        "/report/a-new-strategy-for-arms-control",
        "/backgrounder/what-is-the-quad",
        "/expert-brief/north-koreas-missile-tests",
        "/in-brief/the-g7-summit-in-five-points",
    ], {
        "tag": ["/defense-and-security", "/topic/nuclear-weapons", "/asia"],
        "author": ["/bio/jane-example"],
        "event": ["/event/conversation-with-the-secretary-of-defense"],
        "listing": ["/podcasts/the-president-s-inbox", "/search?keyword=nato"],
    }),
    "atlanticcouncil": ("www.atlanticcouncil.org", [
        "/blogs/new-atlanticist/what-the-summit-means-for-ukraine/",
        "/blogs/ukrainealert/ukraines-defense-industry-grows/",
        "/in-depth-research-reports/report/the-future-of-deterrence/",
        "/in-depth-research-reports/issue-brief/securing-undersea-cables/",
    ], {
        "tag": ["/category/region/europe/", "/tag/nato/"],
        "author": ["/expert/jane-example/"],
        "event": ["/event/future-of-transatlantic-security/"],
        "listing": ["/blogs/new-atlanticist/", "/in-depth-research-reports/"],
    }),
    "warontherocks": ("warontherocks.com", [
        "/2024/05/the-case-for-a-bigger-navy/",
        "/2023/11/rethinking-deterrence-in-the-baltic",
    ], {
        "tag": ["/tag/nato/", "/category/commentary/"],
        "author": ["/author/jane-example/"],
        "event": ["/podcast/the-war-on-the-rocks-event-series/"],
        "listing": ["/2024/05/", "/2024/05/12/", "/2024/05/page/2/"],
    }),
    "lawfare": ("www.lawfaremedia.org", [
        "/article/the-legal-basis-for-strikes-in-yemen",
        "/article/cyber-operations-and-the-law-of-armed-conflict",
    ], {
        "tag": ["/topics/cybersecurity-tech", "/topics/foreign-relations-international-law"],
        "author": ["/contributors/jane-example"],
        "event": ["/events/lawfare-live-congress-and-war-powers", "/podcasts/lawfare-podcast-war-powers"],
        "listing": ["/article", "/search?q=sanctions"],
    }),
    "iiss": ("www.iiss.org", [
        "/online-analysis/military-balance/2024/05/chinas-new-amphibious-ships/",
        "/online-analysis/survival-online/2023/11/the-limits-of-sanctions",
        "/research-paper/2024/03/european-air-defence-gaps/",
    ], {
        "tag": ["/topics/defence-and-military-analysis/", "/regions/asia/"],
        "author": ["/people/jane-example/"],
        "event": ["/events/2024/05/shangri-la-dialogue/"],
        "listing": ["/online-analysis/military-balance/", "/research-paper/2024/03/"],
    }),
    "rusi": ("www.rusi.org", [
        "/explore-our-research/publications/commentary/russias-war-economy-in-2024",
        "/explore-our-research/publications/occasional-papers/the-future-of-ukraines-air-defence",
        "/explore-our-research/publications/rusi-newsbrief/drones-over-the-black-sea",
        "/explore-our-research/publications/emerging-insights/cyber-resilience-in-europe",
        "/explore-our-research/publications/policy-briefs/sanctions-enforcement-at-sea",
    ], {
        "tag": ["/explore-our-research/topics/cyber-security", "/explore-our-research/regions/europe"],
        "author": ["/people/jane-example"],
        "event": ["/events/conference/land-warfare-conference-2024"],
        "listing": ["/explore-our-research/publications/commentary", "/explore-our-research/publications"],
    }),
    "stimson": ("www.stimson.org", [
        "/2024/the-future-of-un-peacekeeping/",
        "/2023/water-security-in-the-mekong",
    ], {
        "tag": ["/tag/nuclear-weapons/", "/category/analysis/"],
        "author": ["/experts/jane-example/"],
        "event": ["/events/a-conversation-on-arms-control/"],
        "listing": ["/2024/", "/2024/05/", "/2024/page/2/"],
    }),
}


def test_every_shipped_source_has_url_shapes():
    assert sorted(SHAPES) == sorted(s.name for s in THINKTANKS)


@pytest.mark.parametrize("source", THINKTANKS, ids=lambda s: s.name)
def test_article_patterns_accept_articles_and_refuse_tag_author_event_and_listing_pages(source):
    host, articles, refused = SHAPES[source.name]
    spider = SourceSpider(source=source)
    for path in articles:
        assert spider.classify(f"https://{host}{path}") == "article", path
    assert {"tag", "author", "event"} <= set(refused)
    for kind, paths in refused.items():
        for path in paths:
            assert spider.classify(f"https://{host}{path}") != "article", f"{kind} page {path}"


@pytest.mark.parametrize("source", THINKTANKS, ids=lambda s: s.name)
def test_articles_on_another_site_are_refused(source):
    host, articles, _ = SHAPES[source.name]
    spider = SourceSpider(source=source)
    assert spider.classify(f"https://elsewhere.example{articles[0]}") is None
    assert spider.classify(f"ftp://{host}{articles[0]}") is None
