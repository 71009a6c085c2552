"""Article URLs: the stable key a document is stored under, and the URL to fetch.

Here rather than in ``crawlers/`` because the crawler and the importer both file documents
under these keys, and the store's package is what they share. Canonical keys are
``w3lib.url.canonicalize_url`` (Scrapy's own: query sorted, percent-encoding normalised,
fragment dropped) plus our own rules: tracking parameters (``utm_*``, ``fbclid``...)
dropped, ``www.``, default ports, a trailing slash and doubled slashes normalised.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

from policytrends.errors import PolicyTrendsError

TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|ref|ref_src|cmpid|s_cid)$", re.I)


class BadURLError(PolicyTrendsError, ValueError):
    """A link that is not a URL (a bad port, a broken IPv6 address): skipped and counted."""


def canonicalize_url(url: str) -> str:
    """A stable key for an article URL.

    Lower-cases scheme and host, drops ``www.``, default ports, fragments, tracking
    parameters (``utm_*``, ``fbclid``...) and a trailing slash; sorts the query and
    normalises percent-encoding (``/café`` and ``/caf%C3%A9`` are one key).

    >>> canonicalize_url("HTTPS://www.Example.org/a/b/?utm_source=x&id=2#top")
    'https://example.org/a/b?id=2'
    """
    url = url.strip()
    try:
        port = urlsplit(url).port  # w3lib lets ":x" through; we refuse it like a bad port
        parts = urlsplit(w3lib_canonicalize_url(url, keep_blank_values=True))
    except (ValueError, UnicodeError) as exc:  # "[::1" (bad IPv6 literal), ":99999" or ":x" (bad port), bad IDNA
        raise BadURLError(f"not a valid URL: {url[:200]!r} ({exc})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().removeprefix("www.")
    if ":" in host:  # IPv6 literal: keep its brackets
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    # w3lib has already sorted and encoded the pairs; dropping some keeps that form (idempotent).
    pairs = [p for p in parts.query.split("&") if p and not TRACKING_PARAMS.match(unquote_plus(p.split("=", 1)[0]))]
    return urlunsplit((scheme, netloc, path, "&".join(pairs), ""))


def clean_request_url(url: str) -> str:
    """The URL to fetch: tracking parameters and fragment dropped, everything else kept.

    >>> clean_request_url("http://127.0.0.1:8000/a/x/?utm_source=rss&page=2#comments")
    'http://127.0.0.1:8000/a/x/?page=2'
    """
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAMS.match(k)])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def rebase_url(url: str, base: str) -> str:
    """``url``'s path and query under another scheme and host.

    >>> rebase_url("http://127.0.0.1:8123/blog/a.html?x=1", "https://harborview.example")
    'https://harborview.example/blog/a.html?x=1'
    """
    parts, b = urlsplit(url), urlsplit(base)
    return urlunsplit((b.scheme, b.netloc, parts.path, parts.query, ""))
