"""Item pipelines: extract the article from a fetched page, then store it.

Each pipeline gets its settings through ``from_crawler``; a page that yields no usable
article is dropped (``DropItem``) with its URL and the reason, counted in the crawl stats.
"""

from __future__ import annotations

from statistics import median

from scrapy.exceptions import DropItem

from policytrends.corpus.hashing import content_hash
from policytrends.corpus.store import CorpusStore, Document
from policytrends.corpus.urls import canonicalize_url, rebase_url
from policytrends.crawlers import STAT
from policytrends.crawlers.extract import (
    ExtractionError,
    charset_corrected,
    decode_with,
    extract_html,
    extract_pdf,
)
from policytrends.crawlers.items import PageItem
from policytrends.faults import checkpoint


def _is_pdf(item: PageItem) -> bool:
    return item.content_type == "application/pdf" or item.body[:5] == b"%PDF-"


class ExtractPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item: PageItem):
        if item.status == 304:  # unchanged since the last crawl: nothing to extract
            return item
        spider = self.crawler.spider
        stats = self.crawler.stats
        try:
            if _is_pdf(item):
                item.extracted = extract_pdf(item.body, item.url)
            elif item.content_type in ("text/html", "application/xhtml+xml", "text/plain", ""):
                text, used = decode_with(item.body, item.encoding)
                item.extracted = extract_html(text, item.url, spider.source.selectors)
                if charset_corrected(item.declared_charset, used):
                    stats.inc_value(STAT + "charset_corrected")  # stored, read in the charset the bytes are really in
            else:
                raise ExtractionError(f"not an article: content type {item.content_type!r}", "content_type")
        except ExtractionError as exc:
            stats.inc_value(STAT + "extraction_failed")
            stats.inc_value(STAT + f"rejected/{exc.kind}")
            spider.logger.warning("[%s] no article at %s: %s", item.source, item.url, exc)
            raise DropItem(f"{item.url}: {exc}") from None
        if item.extracted.published is None:
            stats.inc_value(STAT + "missing_date")
        return item


class StorePipeline:
    """Upsert documents; remember what was fetched; drop the same article under a second URL."""

    def __init__(self, crawler, db_url: str):
        self.crawler = crawler
        self.db_url = db_url
        self.store: CorpusStore | None = None
        self.stored_by: dict[str, str] = {}  # canonical URL -> url_key that stored it this run
        self.body_words: list[int] = []

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("POLICYTRENDS_DB_URL")
        if not url:
            raise ValueError("POLICYTRENDS_DB_URL is not set for the crawl")
        return cls(crawler, url)

    def open_spider(self):
        self.store = CorpusStore(self.db_url)

    def close_spider(self):
        if self.body_words:
            self.crawler.stats.set_value(STAT + "median_body_words", float(median(self.body_words)))

    def _key(self, url: str) -> str:
        base = self.crawler.spider.source.canonical_base
        return canonicalize_url(rebase_url(url, base) if base else url)

    def _duplicate(self, item: PageItem, canonical: str, owner: str) -> None:
        stats, spider = self.crawler.stats, self.crawler.spider
        stats.inc_value(STAT + "duplicates_dropped")
        spider.logger.info("[%s] %s is a duplicate of %s: not stored twice", item.source, item.url, owner)
        self.store.record_fetch(item.url_key, item.source, item.status, item.etag, item.last_modified,
                                item.lastmod, canonical_url=owner)
        raise DropItem(f"{item.url}: duplicate of {owner}")

    def process_item(self, item: PageItem):
        if item.status == 304:
            self.store.record_fetch(item.url_key, item.source, 304, sitemap_lastmod=item.lastmod)
            return {"url": item.url, "outcome": "not_modified"}
        ex = item.extracted
        spider = self.crawler.spider
        explicit = bool(ex.canonical_url and spider.classify(ex.canonical_url))
        canonical = self._key(ex.canonical_url if explicit else item.url)
        explicit = explicit and canonical != item.url_key  # the page names another URL as its own
        digest = content_hash(ex.title, ex.body)
        since = spider.source.since
        if since and ex.published and ex.published < since.date():
            # Found without a date (a feed, a listing): not stored, but remembered as fetched,
            # so later runs ask for it conditionally instead of counting it as new again.
            self.crawler.stats.inc_value(STAT + "skipped_before_since")
            self.store.record_fetch(item.url_key, item.source, item.status, item.etag, item.last_modified,
                                    item.lastmod, digest)
            raise DropItem(f"{item.url}: published {ex.published}, before the source's since {since.date()}")
        if self.stored_by.get(canonical, item.url_key) != item.url_key:
            self._duplicate(item, canonical, canonical)
        owner = self.store.content_hash_owner(item.source, digest)
        if owner and owner != canonical:
            owner_url = self.store.document_url(owner)
            if explicit and owner_url and self._key(owner_url) == owner:
                # The earlier copy was filed under its own URL; this page names the canonical
                # one. An explicit declaration wins: the stored document moves to it.
                self.store.rename_document(owner, canonical)
                self.stored_by[canonical] = self.stored_by.pop(owner, item.url_key)
                self.crawler.stats.inc_value(STAT + "duplicates_dropped")
                spider.logger.info("[%s] %s filed under its canonical URL %s", item.source, owner, canonical)
            else:
                self._duplicate(item, canonical, owner)  # same text under another URL
        doc = Document(
            url=item.url,
            canonical_url=canonical,
            source=item.source,
            title=ex.title,
            authors=ex.authors,
            published=ex.published,
            body=ex.body,
            content_hash=digest,
            content_type=item.content_type,
            extraction_method=ex.method,
            http_status=item.status,
        )
        outcome = self.store.upsert_document(doc)
        checkpoint("crawl.stored")
        self.stored_by[canonical] = item.url_key
        self.store.record_fetch(item.url_key, item.source, item.status, item.etag, item.last_modified,
                                item.lastmod, digest, canonical)
        checkpoint("crawl.fetch_recorded")
        self.crawler.stats.inc_value(STAT + f"documents_{outcome}")
        if outcome in ("new", "updated"):
            self.body_words.append(len(ex.body.split()))
        return {"url": item.url, "outcome": outcome}
