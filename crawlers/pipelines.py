"""Item pipelines: extract the article from a fetched page, then store it.

Each pipeline gets its settings through ``from_crawler``; a page that yields no usable
article is dropped (``DropItem``) with its URL and the reason, counted in the crawl stats.
"""

from __future__ import annotations

from scrapy.exceptions import DropItem

from corpus.store import CorpusStore, Document
from crawlers.extract import (
    ExtractionError,
    canonicalize_url,
    content_hash,
    decode_html,
    extract_html,
    extract_pdf,
    rebase_url,
)
from crawlers.items import PageItem

STAT = "policytrends/"


def _is_pdf(item: PageItem) -> bool:
    return item.content_type == "application/pdf" or item.body[:5] == b"%PDF-"


class ExtractPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item: PageItem):
        spider = self.crawler.spider
        stats = self.crawler.stats
        try:
            if _is_pdf(item):
                item.extracted = extract_pdf(item.body, item.url)
            elif item.content_type in ("text/html", "application/xhtml+xml", "text/plain", ""):
                text = decode_html(item.body, item.encoding)
                item.extracted = extract_html(text, item.url, spider.source.selectors)
            else:
                raise ExtractionError(f"not an article: content type {item.content_type!r}")
        except ExtractionError as exc:
            stats.inc_value(STAT + "extraction_failed")
            spider.logger.warning("[%s] no article at %s: %s", item.source, item.url, exc)
            raise DropItem(f"{item.url}: {exc}") from None
        if item.extracted.published is None:
            stats.inc_value(STAT + "missing_date")
        return item


class StorePipeline:
    def __init__(self, crawler, db_url: str):
        self.crawler = crawler
        self.db_url = db_url
        self.store: CorpusStore | None = None

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("POLICYTRENDS_DB_URL")
        if not url:
            raise ValueError("POLICYTRENDS_DB_URL is not set for the crawl")
        return cls(crawler, url)

    def open_spider(self):
        self.store = CorpusStore(self.db_url)

    def process_item(self, item: PageItem):
        ex = item.extracted
        spider = self.crawler.spider
        canonical = ex.canonical_url if ex.canonical_url and spider.classify(ex.canonical_url) else item.url
        if spider.source.canonical_base:
            canonical = rebase_url(canonical, spider.source.canonical_base)
        doc = Document(
            url=item.url,
            canonical_url=canonicalize_url(canonical),
            source=item.source,
            title=ex.title,
            authors=ex.authors,
            published=ex.published,
            body=ex.body,
            content_hash=content_hash(ex.title, ex.body),
            content_type=item.content_type,
            extraction_method=ex.method,
            http_status=item.status,
        )
        outcome = self.store.upsert_document(doc)
        self.crawler.stats.inc_value(STAT + f"documents_{outcome}")
        return {"url": item.url, "outcome": outcome}
