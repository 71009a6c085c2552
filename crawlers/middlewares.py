"""Downloader middlewares."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

STAT = "policytrends/"


class ScopeMiddleware:
    """Keep every request, redirects included, on http(s) inside the source's allowed domains.

    Scrapy's offsite filter lets requests marked ``dont_filter`` through; article requests
    carry that flag (so a redirect loop is reported rather than silently de-duplicated), so
    scope is enforced here for all of them. Runs before robots.txt is fetched for a new host.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        spider = self.crawler.spider
        domains = getattr(spider, "allowed_domains", None)
        parts = urlsplit(request.url)
        host = (parts.hostname or "").lower()
        in_scope = parts.scheme in ("http", "https") and (
            not domains or any(host == d or host.endswith("." + d) for d in domains)
        )
        if in_scope:
            return None
        self.crawler.stats.inc_value(STAT + "blocked_offsite")
        spider.logger.warning("blocked %s: outside the source's allowed domains %s", request.url, domains)
        raise IgnoreRequest(f"outside the allowed domains: {request.url}")
