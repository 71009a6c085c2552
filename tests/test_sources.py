"""crawlers/sources.py: reading and validating the sources YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policytrends.crawlers.sources import DEMO_SOURCES_TEMPLATE, SourcesError, load_sources, parse_sources
from policytrends.errors import PolicyTrendsError

VALID = """\
sources:
  - name: alpha
    title: Alpha Institute
    discovery:
      sitemap: ["https://www.alpha.example/sitemap.xml"]
      feed: ["https://feeds.alpha.example/rss"]
    article_patterns: ['^/analysis/\\d{4}/[^/]+/$']
    follow_patterns: ['^/analysis/page/\\d+/$']
    skip_patterns: ['/tag/', '/author/']
    selectors: {body: 'div.entry-content', title: 'h1.headline'}
    politeness: {download_delay: 2.5, concurrency: 3, timeout: 45}
    canonical_base: https://alpha.example
  - name: beta_2
    discovery:
      listing: "http://beta.example/publications/"
    article_patterns: '^/publications/[^/]+/$'
    allowed_domains: [beta.example, cdn.beta.example]
"""


def _write(tmp_path: Path, text: str, name: str = "sources.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _entry(**overrides) -> dict:
    entry = {
        "name": "gamma",
        "discovery": {"feed": ["https://gamma.example/feed.xml"]},
        "article_patterns": ["^/articles/[^/]+$"],
    }
    entry.update(overrides)
    return entry


def _parse_one(**overrides):
    return parse_sources({"sources": [_entry(**overrides)]}, Path("conf/sources.yaml"))


# --------------------------------------------------------------------------- valid files
def test_valid_file_round_trip(tmp_path):
    sources = load_sources(_write(tmp_path, VALID))
    assert [s.name for s in sources] == ["alpha", "beta_2"]

    alpha = sources[0]
    assert alpha.title == "Alpha Institute"
    assert alpha.discovery == {
        "sitemap": ["https://www.alpha.example/sitemap.xml"],
        "feed": ["https://feeds.alpha.example/rss"],
    }
    assert alpha.article_patterns == [r"^/analysis/\d{4}/[^/]+/$"]
    assert alpha.follow_patterns == [r"^/analysis/page/\d+/$"]
    assert alpha.skip_patterns == ["/tag/", "/author/"]
    # allowed_domains defaults to the (sorted, distinct) hosts of the discovery URLs, without "www."
    assert alpha.allowed_domains == ["alpha.example", "feeds.alpha.example"]
    assert alpha.selectors == {"body": "div.entry-content", "title": "h1.headline"}
    assert alpha.download_delay == 2.5
    assert alpha.concurrency == 3
    assert alpha.timeout == 45.0
    assert isinstance(alpha.timeout, float)
    assert alpha.canonical_base == "https://alpha.example"
    assert alpha.start_urls() == [
        ("sitemap", "https://www.alpha.example/sitemap.xml"),
        ("feed", "https://feeds.alpha.example/rss"),
    ]


def test_defaults_and_single_strings(tmp_path):
    beta = load_sources(_write(tmp_path, VALID))[1]
    assert beta.title == "beta_2"  # title defaults to the name
    # a single string is accepted where a list is expected
    assert beta.discovery == {"listing": ["http://beta.example/publications/"]}
    assert beta.article_patterns == ["^/publications/[^/]+/$"]
    # explicit allowed_domains win over the discovery hosts
    assert beta.allowed_domains == ["beta.example", "cdn.beta.example"]
    assert beta.follow_patterns == [] and beta.skip_patterns == []
    assert beta.selectors == {}
    # politeness defaults
    assert beta.download_delay == 1.0
    assert beta.concurrency == 2
    assert beta.timeout == 30.0
    assert beta.canonical_base is None


def test_default_allowed_domains_deduplicated():
    (src,) = _parse_one(discovery={
        "sitemap": ["https://one.example/a.xml", "https://one.example/b.xml"],
        "feed": ["http://two.example:8080/feed"],
    })
    assert src.allowed_domains == ["one.example", "two.example"]


def test_default_allowed_domains_drop_www():
    (src,) = _parse_one(discovery={"feed": ["https://www.gamma.example/feed"], "listing": ["https://gamma.example/list/"]})
    assert src.allowed_domains == ["gamma.example"]


def test_zero_download_delay_allowed():
    (src,) = _parse_one(politeness={"download_delay": 0, "concurrency": 16})
    assert src.download_delay == 0.0 and src.concurrency == 16


def test_sources_error_is_policytrends_error():
    assert issubclass(SourcesError, PolicyTrendsError)


def test_demo_yaml_parses_after_filling_placeholders(tmp_path):
    template = DEMO_SOURCES_TEMPLATE.read_text(encoding="utf-8")
    ports = {"meridian": 8000, "harborview": 8001, "northgate": 8002, "caldera": 8003}
    text = template
    for key, port in ports.items():
        text = text.replace("{" + key + "}", f"http://127.0.0.1:{port}")
    assert "{" + "meridian}" not in text
    sources = load_sources(_write(tmp_path, text, "demo.yaml"))
    by_name = {s.name: s for s in sources}
    assert set(by_name) == set(ports)
    for name, port in ports.items():
        src = by_name[name]
        assert src.allowed_domains == ["127.0.0.1"]
        assert src.canonical_base == f"https://{name}.example"
        assert all(url.startswith(f"http://127.0.0.1:{port}/") for _, url in src.start_urls())
        assert src.download_delay == 0.0
    assert by_name["meridian"].discovery == {"sitemap": ["http://127.0.0.1:8000/sitemap.xml"]}
    assert list(by_name["northgate"].discovery) == ["listing"]
    assert len(by_name["caldera"].article_patterns) == 2


def test_demo_yaml_template_unfilled_is_rejected(tmp_path):
    # The raw template's "{meridian}/sitemap.xml" is not an http(s) URL.
    with pytest.raises(SourcesError, match=r"source 'meridian'.*is not an http\(s\) URL"):
        load_sources(DEMO_SOURCES_TEMPLATE)


# --------------------------------------------------------------------------- file-level errors
def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SourcesError, match=r"nope\.yaml does not exist \(pass an existing YAML file to --sources\)"):
        load_sources(missing)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("sources:\n  - name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SourcesError, match="is not UTF-8 text"):
        load_sources(path)


def test_not_yaml_names_line(tmp_path):
    path = _write(tmp_path, "sources:\n  - name: a\n    discovery: {feed: [x\n  - : :\n")
    with pytest.raises(SourcesError, match=r"is not valid YAML at line \d+, column \d+") as info:
        load_sources(path)
    assert "fix the syntax" in str(info.value)


def test_not_yaml_line_number_is_one_based(tmp_path):
    path = _write(tmp_path, "sources:\n  - name: a\n\tbad: tab\n")
    with pytest.raises(SourcesError, match="at line 3, column 1"):
        load_sources(path)


@pytest.mark.parametrize(
    "text",
    ["", "just a string\n", "sources: []\n", "sources: {name: a}\n", "other: [1]\n", "- name: a\n"],
    ids=["empty", "scalar", "empty-list", "mapping", "no-sources-key", "top-level-list"],
)
def test_no_sources_list(tmp_path, text):
    with pytest.raises(SourcesError, match="top level: expected a mapping with a non-empty 'sources' list"):
        load_sources(_write(tmp_path, text))


def test_error_message_names_file(tmp_path):
    path = _write(tmp_path, "sources: []\n", "my-sources.yaml")
    with pytest.raises(SourcesError, match=r"my-sources\.yaml: top level"):
        load_sources(path)


# --------------------------------------------------------------------------- entry errors
def test_entry_not_a_mapping():
    with pytest.raises(SourcesError, match=r"source #1: expected a mapping, got str"):
        parse_sources({"sources": ["alpha"]}, Path("s.yaml"))


@pytest.mark.parametrize("name", [None, "", "Alpha", "has space", "-lead", "x" * 65, 42])
def test_bad_name(name):
    entry = _entry(name=name)
    if name is None:
        del entry["name"]
    with pytest.raises(SourcesError, match=r"source #1: 'name' must be a short lowercase id"):
        parse_sources({"sources": [entry]}, Path("s.yaml"))


def test_bad_name_position_is_reported():
    with pytest.raises(SourcesError, match=r"source #2: 'name' must be a short lowercase id, got 'Bad Name'"):
        parse_sources({"sources": [_entry(), _entry(name="Bad Name")]}, Path("s.yaml"))


def test_duplicate_name():
    with pytest.raises(SourcesError, match=r"source 'gamma': duplicate name \(give every source its own name\)"):
        parse_sources({"sources": [_entry(), _entry()]}, Path("s.yaml"))


def test_unknown_key():
    with pytest.raises(SourcesError, match=r"source 'gamma': unknown key\(s\) \['start_url'\].*allowed keys"):
        _parse_one(start_url="https://gamma.example/")


@pytest.mark.parametrize("disc", [None, {}, "https://gamma.example/feed", ["https://gamma.example/feed"]])
def test_missing_discovery(disc):
    entry = _entry(discovery=disc)
    if disc is None:
        del entry["discovery"]
    with pytest.raises(SourcesError, match=r"source 'gamma': 'discovery' is missing"):
        parse_sources({"sources": [entry]}, Path("s.yaml"))


def test_unknown_discovery_kind():
    with pytest.raises(SourcesError, match=r"unknown discovery kind\(s\) \['rss'\]"):
        _parse_one(discovery={"rss": ["https://gamma.example/rss"]})


@pytest.mark.parametrize("url", ["ftp://gamma.example/feed", "gamma.example/feed", "/feed.xml", "https://"])
def test_non_http_discovery_url(url):
    with pytest.raises(SourcesError, match=r"discovery URL .* is not an http\(s\) URL"):
        _parse_one(discovery={"feed": [url]})


def test_discovery_urls_must_be_strings():
    with pytest.raises(SourcesError, match=r"'discovery\.feed' must be a list of strings"):
        _parse_one(discovery={"feed": [123]})


@pytest.mark.parametrize("patterns", [None, [], ""])
def test_empty_article_patterns(patterns):
    with pytest.raises(SourcesError, match=r"'article_patterns' (is empty|must be a list of strings)"):
        _parse_one(article_patterns=patterns)


def test_missing_article_patterns_says_empty():
    entry = _entry()
    del entry["article_patterns"]
    with pytest.raises(SourcesError, match=r"'article_patterns' is empty \(add a regex matching article URL paths\)"):
        parse_sources({"sources": [entry]}, Path("s.yaml"))


@pytest.mark.parametrize("key", ["article_patterns", "follow_patterns", "skip_patterns"])
def test_invalid_regex(key):
    overrides = {key: ["^/ok/$", "/broken/(unclosed"]}
    with pytest.raises(SourcesError, match=rf"{key} pattern '/broken/\(unclosed' is not a valid regular expression"):
        _parse_one(**overrides)


@pytest.mark.parametrize(
    ("politeness", "message"),
    [
        ({"download_delay": -1}, r"politeness\.download_delay must be >= 0 seconds, got -1"),
        ({"download_delay": "fast"}, r"politeness\.download_delay must be >= 0 seconds"),
        ({"concurrency": 0}, r"politeness\.concurrency must be an integer 1-16, got 0"),
        ({"concurrency": 17}, r"politeness\.concurrency must be an integer 1-16, got 17"),
        ({"concurrency": 2.5}, r"politeness\.concurrency must be an integer 1-16"),
        ({"timeout": 0}, r"politeness\.timeout must be 0-600 seconds, got 0"),
        ({"timeout": 601}, r"politeness\.timeout must be 0-600 seconds"),
        ({"timeout": "1m"}, r"politeness\.timeout must be 0-600 seconds"),
        ({"retries": 3}, r"unknown politeness key\(s\) \['retries'\]"),
    ],
)
def test_bad_politeness(politeness, message):
    with pytest.raises(SourcesError, match=message):
        _parse_one(politeness=politeness)


@pytest.mark.parametrize("base", ["gamma.example", "ftp://gamma.example", "https://", 5])
def test_bad_canonical_base(base):
    with pytest.raises(SourcesError, match=r"canonical_base must be an http\(s\) URL"):
        _parse_one(canonical_base=base)


@pytest.mark.parametrize("selectors", [["body"], {"headline": "h1"}, "div.body"])
def test_bad_selectors(selectors):
    with pytest.raises(SourcesError, match=r"'selectors' must map \('title', 'date', 'authors', 'body'\)"):
        _parse_one(selectors=selectors)


def test_bad_allowed_domains():
    with pytest.raises(SourcesError, match=r"'allowed_domains' must be a list of strings"):
        _parse_one(allowed_domains={"a": 1})


def test_yaml_written_source_parses_like_dict(tmp_path):
    entry = _entry(politeness={"download_delay": 0.5})
    path = _write(tmp_path, yaml.safe_dump({"sources": [entry]}))
    assert load_sources(path) == _parse_one(politeness={"download_delay": 0.5})


# --------------------------------------------------------------------------- known bugs
def test_politeness_not_a_mapping():
    with pytest.raises(SourcesError, match="politeness"):
        _parse_one(politeness=5)


def test_boolean_concurrency_rejected():
    with pytest.raises(SourcesError, match=r"politeness\.concurrency must be an integer 1-16"):
        _parse_one(politeness={"concurrency": True})


def test_discovery_without_urls_rejected():
    with pytest.raises(SourcesError, match="discovery"):
        _parse_one(discovery={"feed": []})


def test_selector_value_must_be_string():
    with pytest.raises(SourcesError, match="selectors"):
        _parse_one(selectors={"body": 5})


# --------------------------------------------------------------------------- a first crawl of a big site
def test_big_site_fields_default_for_a_nightly_run():
    (src,) = _parse_one()
    assert src.since is None and src.robots_sitemaps is True
    assert src.max_new_articles == 1000 and src.time_budget == 3600.0


def test_big_site_fields_from_yaml(tmp_path):
    entry = _entry(since="2020-01-01", max_new_articles=250, time_budget="1h30m", robots_sitemaps=False)
    (src,) = load_sources(_write(tmp_path, yaml.safe_dump({"sources": [entry]}).replace("'2020-01-01'", "2020-01-01")))
    assert src.since.isoformat() == "2020-01-01T00:00:00+00:00"  # YAML's own date, as an aware datetime
    assert (src.max_new_articles, src.time_budget, src.robots_sitemaps) == (250, 5400.0, False)


@pytest.mark.parametrize(("budget", "seconds"), [(90, 90.0), (2.5, 2.5), ("45m", 2700.0), ("2h", 7200.0), ("90s", 90.0),
                                                 ("1h 30min", 5400.0), ("24h", 86400.0)])
def test_time_budget_forms(budget, seconds):
    assert _parse_one(time_budget=budget)[0].time_budget == seconds


@pytest.mark.parametrize(("overrides", "message"), [
    ({"since": "last year"}, r"'since' must be a date, got 'last year' \(write since: 2020-01-01\)"),
    ({"since": 2020}, r"'since' must be a date"),
    ({"max_new_articles": 0}, r"'max_new_articles' must be a whole number of at least 1, got 0"),
    ({"max_new_articles": "all"}, r"'max_new_articles' must be a whole number"),
    ({"max_new_articles": True}, r"'max_new_articles' must be a whole number"),
    ({"time_budget": 0}, r"'time_budget' must be a duration above 0 and at most 24h, got 0"),
    ({"time_budget": "forever"}, r"'time_budget' must be a duration"),
    ({"time_budget": "25h"}, r"'time_budget' must be a duration"),
    ({"time_budget": ""}, r"'time_budget' must be a duration"),
    ({"robots_sitemaps": "yes"}, r"'robots_sitemaps' must be true or false"),
])
def test_bad_big_site_fields(overrides, message):
    with pytest.raises(SourcesError, match=message):
        _parse_one(**overrides)
