"""One spider for every source: the sources file says how to discover its articles.

The spider only finds pages and yields them; pipelines extract and store. It is incremental:
an article URL fetched before is skipped when the sitemap's ``lastmod`` has not moved (compared
as dates, not strings), and otherwise asked for conditionally (``If-None-Match`` /
``If-Modified-Since``), so an unchanged page costs a 304 and no body. Discovery kinds:

- ``sitemap``: sitemap indexes are followed, URLs matching ``article_patterns`` fetched
  (gzipped, plain-text and malformed sitemaps: see :mod:`crawlers.sitemaps`); with no sitemap
  configured, the ``Sitemap:`` lines of the site's robots.txt are read instead;
- ``feed``: RSS 2.0 and Atom item links;
- ``listing``: pages whose links lead to articles and, through "next" links or
  ``follow_patterns``, to further listing pages.

Discovery runs first; article requests wait until it is done, then go out newest first, in
small batches, until the source's ``max_new_articles`` (new articles) or ``time_budget`` is
spent. What is left is counted as ``waiting``: the next run discovers it again, and since
what this run fetched is remembered, fetches the waiting articles and not the same ones again.
An article whose sitemap ``lastmod`` (or dated URL, ``/2019/05/``) is before ``since`` is not
fetched at all.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import scrapy
from scrapy import exceptions as scrapy_errors
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.web._newclient import ResponseNeverReceived

from policytrends.corpus.urls import canonicalize_url, clean_request_url, rebase_url
from policytrends.crawlers import STAT
from policytrends.crawlers.items import PageItem
from policytrends.crawlers.middlewares import Scope
from policytrends.crawlers.sitemaps import (
    MAX_SITEMAP_BYTES,
    SitemapError,
    date_in_path,
    parse_lastmod,
    read_sitemap,
    robots_sitemaps,
)
from policytrends.crawlers.sources import Source, load_sources


class SourceSpider(scrapy.Spider):
    name = "source"
    # A sitemap may be 50 MB by the protocol, more than the page size cap (DOWNLOAD_MAXSIZE).
    _SITEMAP_META = {"download_maxsize": MAX_SITEMAP_BYTES}

    def __init__(self, source: Source | str | None = None, sources_file: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(source, str) or source is None:
            if not sources_file:
                raise ValueError("give -a sources_file=FILE -a source=NAME")
            found = {s.name: s for s in load_sources(sources_file)}
            if source not in found:
                raise ValueError(f"source {source!r} is not in {sources_file}; known: {sorted(found)}")
            source = found[source]
        self.source = source
        self.allowed_domains = list(source.allowed_domains)
        self.scope = Scope.of(source)
        self._article = [re.compile(p) for p in source.article_patterns]
        self._follow = [re.compile(p) for p in source.follow_patterns]
        self._skip = [re.compile(p) for p in source.skip_patterns]
        self._state: dict[str, dict] = {}
        self._requested: set[str] = set()
        # Article requests found by discovery, not yet sent: (rank, seq, url, key, lastmod, new);
        # kept sorted so that pop() gives the next to send (see _queue).
        self._waiting: list[tuple] = []
        self._unsorted = False
        self._over_cap = 0  # new articles left for the next run by max_new_articles
        self._new_sent = 0
        self._batches = 0
        self._started = time.monotonic()
        # Small batches: the time budget is checked between them, so a run overshoots it by
        # one batch at most (a few pages at the source's delay).
        self._batch_size = max(8, 4 * source.concurrency)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        db_url = crawler.settings.get("POLICYTRENDS_DB_URL")
        if db_url:  # what earlier runs fetched, for conditional requests
            from policytrends.corpus.store import CorpusStore

            spider._state = CorpusStore(db_url).crawl_state_for(spider.source.name)
        crawler.signals.connect(spider._send_next_batch, signal=signals.spider_idle)
        crawler.signals.connect(spider._count_waiting, signal=signals.spider_closed)
        return spider

    def url_key(self, url: str) -> str:
        """The stable key of an article URL: rebased on the public address, canonicalised."""
        if self.source.canonical_base:
            url = rebase_url(url, self.source.canonical_base)
        return canonicalize_url(url)

    # ------------------------------------------------------------------ helpers
    def _count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(STAT + key, n)

    def classify(self, url: str) -> str | None:
        """'article', 'follow' or None (ignore) for a URL, by the source's patterns."""
        if not self.scope.allows(url):  # another origin (host, scheme or port): not ours to follow
            return None
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if any(p.search(path) for p in self._skip):
            return None
        if any(p.search(path) for p in self._article):
            return "article"
        if any(p.search(path) for p in self._follow):
            return "follow"
        return None

    def _request_for(self, url: str, lastmod: str | None = None):
        """A request for a discovered link to follow; article links are queued (see :meth:`_queue`)."""
        try:
            url = clean_request_url(url)
            kind = self.classify(url)
            key = self.url_key(url) if kind == "article" else None
        except ValueError:  # a link that is not a URL (bad port, broken IPv6 literal): skip it
            self._count("bad_links")
            return None
        if kind == "article":
            self._queue(url, key, lastmod)
            return None
        if kind == "follow":
            return scrapy.Request(url, callback=self.parse_listing, errback=self.on_error)
        return None

    def _queue(self, url: str, key: str, lastmod: str | None) -> None:
        """Queue an article for after discovery, unless it is a duplicate, unchanged or before ``since``."""
        if key in self._requested:  # the same article under another link (slash, tracking tags)
            return
        self._requested.add(key)
        self._count("articles_seen")
        known = self._state.get(key)
        stored = bool(known and known["last_status"] in (200, 304) and known["content_hash"])
        modified = parse_lastmod(lastmod)
        if stored and modified and (before := parse_lastmod(known["sitemap_lastmod"])) and modified <= before:
            self._count("skipped_unchanged_lastmod")
            return
        dated = modified or date_in_path(urlsplit(url).path)
        if self.source.since and dated and dated < self.source.since:
            self._count("skipped_before_since")
            return
        # Newest first; undated articles after dated ones, new before known, and known ones
        # least recently fetched first, so runs cut short by the time budget take turns.
        if dated:
            rank = (0, -dated.timestamp())
        elif known is None:
            rank = (1, 0.0)
        else:
            rank = (2, known["last_fetched_at"].timestamp() if known["last_fetched_at"] else 0.0)
        self._waiting.append((rank, len(self._requested), url, key, lastmod, known is None))
        self._unsorted = True

    def _article_request(self, url: str, key: str, lastmod: str | None) -> scrapy.Request:
        known = self._state.get(key)
        headers = {}
        if known and known["last_status"] in (200, 304) and known["content_hash"]:
            if known["etag"]:
                headers["If-None-Match"] = known["etag"]
            if known["last_modified"]:
                headers["If-Modified-Since"] = known["last_modified"]
        # dont_filter: duplicates are already removed by URL key, and Scrapy's own filter
        # would silently swallow a redirect loop instead of reporting it.
        return scrapy.Request(url, callback=self.parse_article, errback=self.on_error, headers=headers,
                              dont_filter=True,
                              meta={"lastmod": lastmod, "url_key": key, "handle_httpstatus_list": [304]})

    def _send_next_batch(self) -> None:
        """On idle (discovery done, the last batch fetched): send the next articles, newest first."""
        if not self._waiting:
            return
        # One batch at least, so a run whose discovery alone outlasts the budget still progresses.
        if self._batches and time.monotonic() - self._started >= self.source.time_budget:
            return
        if self._unsorted:
            self._waiting.sort(reverse=True)
            self._unsorted = False
        sent = 0
        while self._waiting and sent < self._batch_size:
            _, _, url, key, lastmod, new = self._waiting.pop()
            if new:
                if self._new_sent >= self.source.max_new_articles:
                    self._over_cap += 1
                    continue
                self._new_sent += 1
            self.crawler.engine.crawl(self._article_request(url, key, lastmod))
            sent += 1
        if sent:
            self._batches += 1
            raise DontCloseSpider

    def _count_waiting(self) -> None:
        waiting = len(self._waiting) + self._over_cap
        self.crawler.stats.set_value(STAT + "waiting", waiting)
        if waiting:
            if time.monotonic() - self._started >= self.source.time_budget:
                why = "time_budget reached"
            elif self._over_cap:
                why = "max_new_articles reached"
            else:
                why = "the run was stopped"  # e.g. the site blocked us (crawlers.middlewares.BlockedMiddleware)
            self.logger.info("[%s] %d article(s) waiting for the next run (%s)", self.source.name, waiting, why)

    # ------------------------------------------------------------------ discovery
    async def start(self):
        callbacks = {"sitemap": self.parse_sitemap, "feed": self.parse_feed, "listing": self.parse_listing}
        for kind, url in self.source.start_urls():
            meta = {"start": True, **(self._SITEMAP_META if kind == "sitemap" else {})}
            yield scrapy.Request(url, callback=callbacks[kind], errback=self.on_start_error, dont_filter=True, meta=meta)
        if self.source.robots_sitemaps and "sitemap" not in self.source.discovery:
            origins = {f"{p.scheme}://{p.netloc}" for p in (urlsplit(u) for _, u in self.source.start_urls())}
            for origin in sorted(origins):
                yield scrapy.Request(f"{origin}/robots.txt", callback=self.parse_robots, errback=self.on_robots_error,
                                     dont_filter=True, meta={"dont_obey_robotstxt": True})

    def parse_robots(self, response):
        text = response.body[:512 * 1024].decode("utf-8", errors="replace")  # robots.txt files are a few kB
        for url in robots_sitemaps(text):
            self._count("robots_sitemaps")
            yield scrapy.Request(response.urljoin(url), callback=self.parse_sitemap, errback=self.on_error, meta=self._SITEMAP_META)

    def on_robots_error(self, failure):
        # Many sites have no robots.txt: then there is simply no sitemap to learn from it.
        self.logger.debug("[%s] no robots.txt at %s: %s", self.source.name, failure.request.url, self._failure_kind(failure))

    def parse_sitemap(self, response):
        self._count("discovery_pages")
        try:
            sitemap = read_sitemap(response.body)
        except SitemapError as exc:
            self.logger.warning("[%s] %s is not a readable sitemap: %s", self.source.name, response.url, exc)
            self._count("discovery_failed")
            self._count(f"failed/{exc.kind}")
            return
        for problem in sitemap.problems:
            self._count(f"failed/{problem}")
            self.logger.warning("[%s] %s: %s (entities are never expanded)", self.source.name, response.url, problem)
        if sitemap.bad_entries:
            self._count("sitemap_bad_entries", sitemap.bad_entries)
            self.logger.warning("[%s] %s: %d entries unreadable (an XML entity or broken markup), skipped",
                                self.source.name, response.url, sitemap.bad_entries)
        if sitemap.kind == "sitemapindex":
            for entry in sitemap.entries:
                # A child sitemap last changed before `since` lists nothing changed since.
                modified = parse_lastmod(entry.lastmod)
                if self.source.since and modified and modified < self.source.since:
                    self._count("sitemaps_skipped_before_since")
                    continue
                yield scrapy.Request(response.urljoin(entry.loc), callback=self.parse_sitemap, errback=self.on_error,
                                     meta=self._SITEMAP_META)
            return
        for entry in sitemap.entries:
            if request := self._request_for(response.urljoin(entry.loc), entry.lastmod):
                yield request

    def parse_feed(self, response):
        self._count("discovery_pages")
        selector = scrapy.Selector(text=response.text, type="xml")
        selector.remove_namespaces()
        links = selector.xpath("//item/link/text() | //entry/link[not(@rel) or @rel='alternate']/@href").getall()
        if not links:
            self.logger.warning("[%s] feed %s lists no items", self.source.name, response.url)
        for link in links:
            if request := self._request_for(response.urljoin(link.strip())):
                yield request

    def parse_listing(self, response):
        self._count("discovery_pages")
        if not isinstance(response, scrapy.http.TextResponse):
            return
        for href in response.css("a::attr(href)").getall():
            if request := self._request_for(response.urljoin(href)):
                yield request
        for href in response.css("a[rel=next]::attr(href), link[rel=next]::attr(href), a.next::attr(href)").getall():
            url = response.urljoin(href)
            if self.classify(url) is not None or urlsplit(url).hostname in self.allowed_domains:
                yield scrapy.Request(url, callback=self.parse_listing, errback=self.on_error)

    # ------------------------------------------------------------------ articles
    def parse_article(self, response):
        self._count("not_modified" if response.status == 304 else "pages_fetched")
        header = response.headers.get
        raw_ctype = (header("Content-Type") or b"").decode("latin-1")
        ctype = raw_ctype.split(";")[0].strip().lower()
        declared = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", raw_ctype, re.I)
        yield PageItem(
            source=self.source.name,
            url=response.url,
            url_key=response.meta.get("url_key") or self.url_key(response.url),
            status=response.status,
            content_type=ctype or "application/octet-stream",
            body=response.body if response.status != 304 else b"",
            encoding=getattr(response, "encoding", None),
            declared_charset=declared.group(1) if declared else None,
            lastmod=response.meta.get("lastmod"),
            etag=(header("ETag") or b"").decode("latin-1") or None,
            last_modified=(header("Last-Modified") or b"").decode("latin-1") or None,
        )

    # ------------------------------------------------------------------ failures
    def _failure_kind(self, failure) -> str:
        """A short, stable name for why a request failed (used in counts and warnings)."""
        if failure.check(HttpError):
            response = failure.value.response
            target = (response.headers.get("Location") or b"").decode("latin-1")
            if 300 <= response.status < 400 and urlsplit(response.urljoin(target)).scheme not in ("http", "https"):
                return "redirect_other_scheme"  # file://, ftp://...: not followed
            return f"http_{response.status}"
        # Scrapy 2.13+ raises its own download errors; older versions raise Twisted's.
        kinds = [
            ("dns_error", [DNSLookupError, getattr(scrapy_errors, "CannotResolveHostError", None)]),
            ("connection_refused", [ConnectionRefusedError, getattr(scrapy_errors, "DownloadConnectionRefusedError", None)]),
            ("timeout", [TimeoutError, TCPTimedOutError, getattr(scrapy_errors, "DownloadTimeoutError", None)]),
            ("truncated", [getattr(scrapy_errors, "ResponseDataLossError", None)]),
            # The only downloads this crawl cancels are those announcing more than DOWNLOAD_MAXSIZE.
            ("too_large", [getattr(scrapy_errors, "DownloadCancelledError", None)]),
            ("connection_reset", [getattr(scrapy_errors, "DownloadFailedError", None), ConnectionLost,
                                  ResponseNeverReceived, ConnectionDone]),
            ("unsupported_scheme", [getattr(scrapy_errors, "UnsupportedURLSchemeError", None)]),
        ]
        for name, types in kinds:
            if failure.check(*[t for t in types if t is not None]):
                return name
        if failure.check(IgnoreRequest):
            message = str(failure.value).lower()
            if "redirect" in message:
                return "redirect_loop"
            if "outside the allowed domains" in message:
                return "offsite_redirect"
            if "blocked by the site" in message:  # a challenge or rate-limit page (crawlers/middlewares.py)
                return "blocked"
            if "robots.txt" in message:
                return "robots_forbidden"
            if "max size" in message or "download_maxsize" in message:  # a decompressed body (gzip bomb) over the cap
                return "too_large"
            return "ignored"
        return failure.type.__name__

    def on_error(self, failure):
        kind = self._failure_kind(failure)
        self._count(f"failed/{kind}")
        self.logger.warning("[%s] %s failed: %s", self.source.name, failure.request.url, kind)

    def on_start_error(self, failure):
        kind = self._failure_kind(failure)
        self._count("discovery_failed")
        self._count(f"failed/{kind}")
        self.logger.error("[%s] start URL %s unreachable: %s", self.source.name, failure.request.url, kind)
