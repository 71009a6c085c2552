"""What spiders yield: a fetched page; pipelines turn it into a stored document."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PageItem:
    source: str
    url: str
    url_key: str  # canonical key of the fetched URL, for the crawl state
    status: int
    content_type: str
    body: bytes
    encoding: str | None = None
    declared_charset: str | None = None  # the charset in the Content-Type header, if any
    lastmod: str | None = None  # from the sitemap, when there is one
    etag: str | None = None
    last_modified: str | None = None
    extracted: object = field(default=None, repr=False)  # crawlers.extract.Extracted, set by ExtractPipeline
