"""Hostile input that tries to leave a source's origin, and sources files built to exhaust the loader.

Crawls are real Scrapy over HTTP on 127.0.0.1; the CLI runs as a subprocess, as a user runs it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import yaml
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from policytrends.corpus.store import CorpusStore, documents
from policytrends.crawlers.middlewares import Scope, ScopeMiddleware
from policytrends.crawlers.run import crawl
from policytrends.crawlers.sources import parse_sources
from tests.hostile_site import CLI_CASES, COMMANDS, ESCAPES, HOSTILE_FILES, OtherService, RouteSite, alias_bomb, escape_routes

ROOT = Path(__file__).resolve().parent.parent


def _source(discovery: str, **entry):
    return parse_sources({"sources": [{"name": "s", "discovery": {"feed": [discovery]}, "article_patterns": ["."], **entry}]},
                         Path("s.yaml"))[0]


# --------------------------------------------------------------------------- scope is the origin
def test_scope_is_scheme_host_and_port_of_the_discovery_urls():
    scope = Scope.of(_source("http://127.0.0.1:8123/feed"))
    assert scope.allows("http://127.0.0.1:8123/a/1")
    assert not scope.allows("http://127.0.0.1:8124/a/1")   # another service on the same host
    assert not scope.allows("https://127.0.0.1:8123/a/1")  # another scheme on the same port
    assert not scope.allows("http://127.0.0.1/a/1")        # the default port is another origin too
    assert not scope.allows("http://127.0.0.1:99999/a/1")  # not a port at all
    assert not scope.allows("file:///etc/passwd")


def test_a_site_on_default_ports_keeps_http_and_https_and_its_subdomains():
    scope = Scope.of(_source("https://www.example.org/feed"))
    for url in ("https://example.org/a", "http://example.org/a", "https://www.example.org/a", "https://cdn.example.org/a.pdf",
                "https://example.org:443/a"):
        assert scope.allows(url), url
    for url in ("https://example.org:8443/a", "http://example.org:8080/a", "https://example.org.evil.test/a",
                "https://notexample.org/a"):
        assert not scope.allows(url), url


def test_declared_domains_get_default_ports_or_the_port_they_name():
    scope = Scope.of(_source("https://beta.example/feed", allowed_domains=["beta.example", "files.other.example:8443"]))
    assert scope.allows("https://beta.example/a")
    assert scope.allows("https://files.other.example:8443/r.pdf")
    assert not scope.allows("https://files.other.example:9443/r.pdf")


def _refused(source, url: str) -> bool:
    """Run the scope middleware of a crawler of ``source`` on one request (no network: literal addresses only)."""
    crawler = get_crawler()
    crawler.spider = SimpleNamespace(source=source, logger=logging.getLogger("test"))  # all the middleware reads of it
    middleware = ScopeMiddleware(crawler)
    try:
        asyncio.run(middleware.process_request(Request(url)))
    except IgnoreRequest as exc:
        assert "outside the allowed domains" in str(exc)
        assert crawler.stats.get_value("policytrends/blocked_offsite") == 1
        return True
    return False


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/admin",
                                 "http://0.0.0.0/", "http://127.0.0.1/", "http://[::ffff:127.0.0.1]/"])
def test_a_public_source_never_reaches_an_internal_address(url):
    # Declared as allowed, so only the address check can refuse them.
    host = url.split("/")[2].strip("[]")
    source = _source("https://93.184.215.14/feed", allowed_domains=["93.184.215.14", host])
    assert _refused(source, url)
    assert not _refused(source, "https://93.184.215.14/a/1")


def test_a_source_on_loopback_may_use_loopback():
    source = _source("http://127.0.0.1:8123/feed")
    assert not _refused(source, "http://127.0.0.1:8123/a/1")
    assert _refused(source, "http://127.0.0.1:8124/a/1")


def _crawl_listing(settings, tmp_path, name: str, site: RouteSite, other: OtherService):
    """Crawl ``site``'s listing /s/list as source ``name`` (articles: /s/...), then stop both servers."""
    try:
        path = tmp_path / "sources.yaml"
        path.write_text(yaml.safe_dump({"sources": [{
            "name": name, "discovery": {"listing": [f"{site.base}/s/list"]}, "article_patterns": ["^/s/(?!list)"],
            "politeness": {"download_delay": 0, "concurrency": 2, "timeout": 5}}]}), encoding="utf-8")
        return crawl(path, settings.db_url, settings.crawl_dir)
    finally:
        site.close()
        other.close()


@pytest.mark.slow
def test_redirects_and_meta_refreshes_to_another_port_are_refused_and_counted(settings, tmp_path):
    other = OtherService()
    site = RouteSite(escape_routes(other.base))
    report = _crawl_listing(settings, tmp_path, "escapes", site, other)
    counts = report.sources["escapes"]
    assert other.hits == []  # nothing reached the other service
    assert counts["blocked_offsite"] == len(ESCAPES) == counts["failed/offsite_redirect"]
    with CorpusStore(settings.db_url).engine.connect() as conn:
        stored = conn.execute(sa.select(documents.c.title, documents.c.url)).all()
    assert [r.title for r in stored] == ["A page of the source itself"]
    assert all(r.url.startswith(site.base) for r in stored)
    assert any("redirect(s) to other sites not followed" in w for w in report.warnings)


@pytest.mark.slow
def test_a_link_to_another_port_is_not_followed_at_all(settings, tmp_path):
    """A link (not a redirect) out of the origin is not the source's: never requested, so nothing to refuse."""
    other = OtherService()
    links = [f"{other.base}/s/elsewhere", "/s/good"]
    site = RouteSite({"/s/list": (200, "text/html", "".join(f"<a href='{u}'>{u}</a>" for u in links).encode(), {}),
                      "/s/good": (200, "text/html; charset=utf-8", escape_routes(other.base)["/s/good"][2], {})})
    report = _crawl_listing(settings, tmp_path, "links", site, other)
    counts = report.sources["links"]
    assert other.hits == []
    assert (counts["articles_seen"], counts["documents_new"], counts["blocked_offsite"]) == (1, 1, 0)


# --------------------------------------------------------------------------- sources files that attack the loader
def test_the_alias_bomb_is_small():
    assert len(alias_bomb(9).encode()) < 700  # the point of a bomb: a few hundred bytes


# `sources check` starts in a fraction of a second; `crawl` and `run` import Scrapy or Prefect first (seconds): slow.
@pytest.mark.parametrize(("case", "command"), [
    pytest.param(case, cmd, id=f"{case}-{cmd}", marks=() if cmd == "sources-check" else pytest.mark.slow) for case, cmd in CLI_CASES])
def test_hostile_sources_files_end_in_one_line_errors_quickly(settings, tmp_path, case, command):
    text, expected = HOSTILE_FILES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "policytrends.cli", *COMMANDS[command], str(path)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()  # `crawl` logs the store it opens first
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:], done.stderr[:2000]
    assert expected in errors[0] and str(path) in errors[0]
    assert len(errors[0]) <= 700  # names the problem, quotes little
    assert errors[0].rstrip().endswith(")")  # ... and ends with the fix
