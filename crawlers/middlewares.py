"""Downloader middlewares: keep each source inside its own origins, and treat being blocked as a state.

- :class:`ScopeMiddleware`: every request, redirects and meta refreshes included, stays on the
  origins (scheme, host, port) of the source, and off internal addresses unless the source is
  itself on one.
- :class:`BlockedMiddleware`: a bot challenge or a rate-limit page is counted as ``blocked``,
  never handed on as a page, and backs the source off for the rest of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from policytrends.crawlers import STAT

DEFAULT_PORTS = {"http": 80, "https": 443}
BOTH_DEFAULTS = frozenset({("http", 80), ("https", 443)})


# ----------------------------------------------------------------------------- scope
def _domain_entry(entry: str) -> tuple[str, int | None]:
    """An ``allowed_domains`` entry as (host, port): ``example.org`` or ``127.0.0.1:8080``."""
    parts = urlsplit("//" + entry.strip())
    try:
        return (parts.hostname or entry).lower(), parts.port
    except ValueError:  # "host:notaport": no port, the entry never matches a real host
        return entry.lower(), None


def _under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


@dataclass(frozen=True)
class Scope:
    """Where a source's requests may go: per allowed domain (subdomains included), the
    (scheme, port) pairs of its origins.

    A discovery URL on a default port (``https://example.org/feed``) allows http on 80 and
    https on 443 of its domain, since sites move from one to the other by redirect; one on
    another port (``http://127.0.0.1:8123/``) allows that scheme and port only. A declared
    domain with no discovery URL under it gets the default ports; ``host:port`` adds a port.
    """

    origins: tuple[tuple[str, frozenset[tuple[str, int]]], ...]

    @classmethod
    def of(cls, source) -> Scope:
        discovered: list[tuple[str, frozenset[tuple[str, int]]]] = []
        for _, url in source.start_urls():
            parts = urlsplit(url)
            port = parts.port or DEFAULT_PORTS[parts.scheme]
            pairs = BOTH_DEFAULTS if port == DEFAULT_PORTS[parts.scheme] else frozenset({(parts.scheme, port)})
            discovered.append(((parts.hostname or "").lower().removeprefix("www."), pairs))
        rules: dict[str, set[tuple[str, int]]] = {}
        for host, pairs in discovered:
            rules.setdefault(host, set()).update(pairs)
        for entry in source.allowed_domains:
            domain, port = _domain_entry(entry)
            related = [pairs for host, pairs in discovered if _under(host, domain) or _under(domain, host)]
            pairs = rules.setdefault(domain, set())
            pairs.update(frozenset().union(*related) if related else BOTH_DEFAULTS)
            if port is not None:
                pairs.update({("http", port), ("https", port)})
        return cls(tuple((d, frozenset(p)) for d, p in sorted(rules.items())))

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            return False
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:  # a port that is not a number, or out of range
            return False
        host = (parts.hostname or "").lower()
        return any(_under(host, domain) and (parts.scheme, port) in pairs for domain, pairs in self.origins)

    def __str__(self) -> str:
        return ", ".join(f"{d} ({', '.join(f'{s}:{p}' for s, p in sorted(pairs))})" for d, pairs in self.origins)


def is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local (cloud metadata services) or unspecified (0.0.0.0 reaches this host)."""
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def _literal(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class ScopeMiddleware:
    """Keep every request, redirects and meta refreshes included, inside the source's origins.

    Scrapy's offsite filter compares host names only and lets requests marked ``dont_filter``
    through; article requests carry that flag (so a redirect loop is reported rather than
    silently de-duplicated), so scope is enforced here for all of them. Runs before robots.txt
    is fetched for a new host, and before any connection: a request that leaves the scope, or
    whose host resolves to an internal address when the source is not on one, is refused and
    counted as ``blocked_offsite``.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.scope: Scope | None = None
        self.internal_ok: bool | None = None  # the source itself is on an internal address
        self.addresses: dict[str, object] = {}  # host -> resolved address (None: unresolvable)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def _address(self, host: str):
        """The address ``host`` connects to: the literal, or Scrapy's cached DNS answer (the one the download uses)."""
        if (literal := _literal(host)) is not None:
            return literal
        if host not in self.addresses:
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet import reactor

            try:
                self.addresses[host] = _literal(await maybe_deferred_to_future(reactor.resolve(host)))
            except Exception:  # unresolvable: the download itself fails and is counted as dns_error
                self.addresses[host] = None
        return self.addresses[host]

    def _refuse(self, request, why: str):
        spider = self.crawler.spider
        self.crawler.stats.inc_value(STAT + "blocked_offsite")
        spider.logger.warning("blocked %s: %s", request.url, why)
        # The spider names the failure by this message ("outside the allowed domains"); the URL is
        # left out of it so that a path containing "redirect" or "robots.txt" cannot rename it.
        raise IgnoreRequest(f"outside the allowed domains: {why.split(':')[0]}")

    async def process_request(self, request):
        spider = self.crawler.spider
        if self.scope is None:
            self.scope = Scope.of(spider.source)
        if not self.scope.allows(request.url):
            self._refuse(request, f"another origin than the source's: {self.scope}")
        if self.internal_ok is None:
            hosts = {urlsplit(url).hostname or "" for _, url in spider.source.start_urls()}
            found = [await self._address(h) for h in sorted(hosts)]
            self.internal_ok = any(a is not None and is_internal(a) for a in found)
        if not self.internal_ok:
            host = urlsplit(request.url).hostname or ""
            address = await self._address(host)
            if address is not None and is_internal(address):
                self._refuse(request, f"an internal address: {host} is {address}, and the source is not on one")
        return None


# ----------------------------------------------------------------------------- blocked
SNIFF_BYTES = 256 * 1024  # block pages are a few kB; an article page this big is read no further
SHORT_PAGE_WORDS = 150  # a block page says a sentence or two; an article page carries far more text
# Said by bot checks and rate-limit pages (Cloudflare, Imperva, DataDome, PerimeterX, Akamai,
# Sucuri and generic ones), lower case. Each alone could appear in an article about the web,
# so it counts only on an error status or on a page with almost no text.
BLOCK_PHRASES = {
    "challenge": (
        "<title>just a moment", "verifying you are human", "checking your browser before accessing",
        "needs to review the security of your connection", "enable javascript and cookies to continue",
        "attention required! | cloudflare", "please complete the security check", "captcha-delivery.com",
        "px-captcha", "_incapsula_resource", "are you a robot", "sucuri website firewall - access denied",
        "/_sec/cp_challenge/",
    ),
    "rate_limited": (
        "you are being rate limited", "has banned you temporarily", "error 1015", "too many requests",
        "rate limit exceeded",
    ),
}
# Only ever on a challenge page: the inline settings of Cloudflare's challenge script.
CHALLENGE_ONLY = ("window._cf_chl_opt", "_cf_chl_opt=")
_INVISIBLE = re.compile(r"<(script|style|template)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def visible_words(html: str) -> int:
    """Roughly how many words a reader sees: scripts, styles, comments and tags left out."""
    return len(_TAG.sub(" ", _INVISIBLE.sub(" ", html)).split())


def block_kind(status: int, headers, body: bytes) -> str | None:
    """``"challenge"`` or ``"rate_limited"`` when a response is a bot check or a rate-limit page
    instead of the page asked for, else None. ``headers`` is a Scrapy ``Headers`` or a dict."""
    if status == 429:
        return "rate_limited"
    mitigated = headers.get(b"cf-mitigated") if hasattr(headers, "getlist") else headers.get("cf-mitigated")
    if isinstance(mitigated, bytes):
        mitigated = mitigated.decode("latin-1")
    if (mitigated or "").strip().lower() == "challenge":
        return "challenge"
    head = body[:SNIFF_BYTES].decode("utf-8", "replace")
    low = head.lower()
    if any(marker in low for marker in CHALLENGE_ONLY):
        return "challenge"
    for kind, phrases in BLOCK_PHRASES.items():
        if any(p in low for p in phrases):
            if status >= 400 or (len(body) <= SNIFF_BYTES and visible_words(head) < SHORT_PAGE_WORDS):
                return kind
    return None


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds, or an HTTP date); None if absent or unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class BlockedMiddleware:
    """A bot challenge or rate-limit page is a state of the source, not an article.

    Each such response is counted (``blocked``, ``blocked/challenge``, ``blocked/rate_limited``)
    and never handed to the spider, so it is never stored. Then the source backs off:

    - a rate limit that says when to come back (Retry-After, within ``POLICYTRENDS_BLOCKED_MAX_WAIT``
      seconds in all for the run): no request of this source leaves before then, the source is
      slowed to one request every ``max(1 s, 2 x its delay)`` (doubling on each further rate
      limit), and the page is asked for once more;
    - anything else (a challenge, a rate limit with no usable Retry-After, the same page limited
      twice, or the wait budget spent): the source is stopped for this run. What it did not
      fetch is fetched on the next run, as nothing of it was recorded.

    Requests wait here, at most the source's concurrency of them past this point, rather than
    in the downloader's queue, where a wait or a stop could no longer reach them. Placed after
    decompression (590) and before meta refresh (580) and retries (550), so it reads the real
    body and a 429 is not retried at once.
    """

    HOLDS = "policytrends_gate"  # request.meta key: this request holds one of the source's places

    def __init__(self, crawler):
        from scrapy import signals

        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("POLICYTRENDS_BLOCKED_MAX_WAIT", 60.0)
        self.waited = 0.0  # seconds of Retry-After honoured so far
        self.resume_at = 0.0  # time.monotonic() before which no request of this source leaves
        self.interval = 0.0  # at least this long between two requests, once rate limited
        self.next_slot = 0.0
        self.in_flight = 0
        self.freed = asyncio.Event()
        self.stopped = False
        crawler.signals.connect(self._downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(self._left_downloader, signal=signals.request_left_downloader)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _limit(self) -> int:
        source = getattr(self.crawler.spider, "source", None)
        return getattr(source, "concurrency", None) or self.crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2)

    async def process_request(self, request):
        while True:
            if self.stopped:
                self.crawler.stats.inc_value(STAT + "blocked_not_sent")
                raise IgnoreRequest("blocked by the site earlier in this run: not sent")
            now = time.monotonic()
            start = max(self.resume_at, self.next_slot)
            if start > now:
                await asyncio.sleep(min(start - now, 0.5))  # short steps: a stop is seen within half a second
            elif self.in_flight >= self._limit():
                self.freed.clear()
                with contextlib.suppress(TimeoutError):  # a place freed while clearing is seen at the timeout
                    await asyncio.wait_for(self.freed.wait(), 0.5)
            else:
                break
        self.in_flight += 1
        request.meta[self.HOLDS] = True
        if self.interval:
            self.next_slot = now + self.interval
        return None

    def _release(self, request) -> None:
        if request.meta.pop(self.HOLDS, False):
            self.in_flight -= 1
            self.freed.set()

    def _left_downloader(self, request, spider=None):
        self._release(request)  # whatever happens to the response next (redirect, error, item)

    def process_exception(self, request, exception):
        self._release(request)  # refused before reaching the downloader
        return None

    def _downloaded(self, response, request, spider=None):
        # Before the next request of this source can leave: a rate limit's wait starts at once.
        if response.status == 429:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None and self.waited + wait <= self.max_wait:
                self.resume_at = max(self.resume_at, time.monotonic() + wait)

    def process_response(self, request, response):
        self._release(request)
        kind = block_kind(response.status, response.headers, response.body)
        if kind is None:
            return response
        stats, spider = self.crawler.stats, self.crawler.spider
        stats.inc_value(STAT + "blocked")
        stats.inc_value(STAT + f"blocked/{kind}")
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if (kind == "rate_limited" and wait is not None and self.waited + wait <= self.max_wait
                and not request.meta.get("blocked_retried") and not self.stopped):
            self.waited += wait
            self.resume_at = max(self.resume_at, time.monotonic() + wait)
            self.interval = max(1.0, 2 * getattr(spider.source, "download_delay", 0.0), 2 * self.interval)
            stats.set_value(STAT + "backoff_wait_seconds", round(self.waited, 1))
            stats.set_value(STAT + "backoff_interval_seconds", self.interval)
            spider.logger.warning("[%s] rate limited at %s: waiting %.0f s as the site asks (Retry-After), "
                                  "then one request every %.1f s", spider.source.name, request.url, wait, self.interval)
            again = request.replace(dont_filter=True)
            again.meta["blocked_retried"] = True
            return again
        self._stop(kind, request.url)
        raise IgnoreRequest(f"blocked by the site: a {kind.replace('_', '-')} page, not an article")

    def _stop(self, kind: str, url: str) -> None:
        if self.stopped:
            return
        self.stopped = True
        spider = self.crawler.spider
        self.crawler.stats.set_value(STAT + "blocked_stopped", 1)
        spider.logger.warning("[%s] %s answered with a %s page: source stopped for this run, tried again on the next",
                              spider.source.name, url, kind.replace("_", "-"))
        self._drop_queued()
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(self.crawler.engine.close_spider_async(reason="blocked"))

    def _drop_queued(self) -> None:
        """Fail the requests already waiting in the downloader's queue (a redirect's, a robots.txt's):
        closing the spider would let them go out."""
        slots = getattr(self.crawler.engine.downloader, "slots", {})
        for slot in list(slots.values()):
            queue = getattr(slot, "queue", None)
            while queue:
                _, waiting = queue.popleft()
                self.crawler.stats.inc_value(STAT + "blocked_not_sent")
                waiting.errback(IgnoreRequest("blocked by the site earlier in this run: not sent"))


def blocked_warnings(sources: dict[str, dict]) -> list[str]:
    """The run-manifest warnings for sources that were blocked (from their crawl counts)."""
    out = []
    for name, counts in sorted(sources.items()):
        n = counts.get("blocked", 0)
        if not n:
            continue
        kinds = " and ".join(k.replace("_", "-") for k in ("challenge", "rate_limited") if counts.get(f"blocked/{k}"))
        if counts.get("blocked_stopped"):
            action = "the source was stopped for this run and is tried again on the next"
        else:
            action = (f"the crawler waited {counts.get('backoff_wait_seconds', 0)} s as the site asked and slowed to one "
                      f"request every {counts.get('backoff_interval_seconds', 0)} s")
        out.append(f"source {name!r}: blocked by the site ({n} {kinds} page(s), not stored); {action} "
                   "(if it persists, raise politeness.download_delay or ask the site to allow the crawler)")
    return out
