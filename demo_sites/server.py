"""Serve the four demo think tanks on 127.0.0.1, each on its own free port.

Used by ``policytrends run`` with no sources configured, by the tests and by hand::

    python -m policytrends.demo_sites            # prints the four base URLs, serves until Ctrl-C
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from functools import cache, lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from policytrends.demo_sites import layouts as L
from policytrends.demo_sites.content import SITES, load_articles

Response = tuple[str, bytes]  # (content type, body)
HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"

ROBOTS = {
    "meridian": "User-agent: *\nDisallow: /search\nSitemap: {base}/sitemap.xml\n",
    "harborview": "User-agent: *\nDisallow: /members/\n",
    "northgate": "User-agent: *\nDisallow: /intranet/\n",
    "caldera": "User-agent: *\nDisallow: /drafts/\n",
}


def _html(text: str) -> Response:
    return HTML, text.encode("utf-8")


def _xml(text: str) -> Response:
    return XML, text.encode("utf-8")


@cache
def _index(site: str) -> dict[str, object]:
    urls = {
        "meridian": L.meridian_url,
        "harborview": L.harborview_url,
        "northgate": L.northgate_url,
        "caldera": L.caldera_url,
    }[site]
    return {urls(a): a for a in load_articles(site)}


@cache
def _pdf_etags() -> dict[str, str]:
    """ETags of the PDF reports, from their article text and the layout code, without rendering them.

    Rendering a PDF takes about 0.3 s; a rerun asks for all of them conditionally, and would
    otherwise render each one only to find it unchanged.
    """
    layout = hashlib.sha1(Path(L.__file__).read_bytes()).hexdigest()
    tags = {}
    for a in load_articles("caldera"):
        if a.format == "pdf":
            key = repr((layout, a.slug, a.title, a.authors, a.date.isoformat(), a.summary, a.paragraphs))
            tags[f"/files/{a.slug}.pdf"] = '"pdf-' + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16] + '"'
    return tags


def etag_without_body(site: str, path: str) -> str | None:
    """The ETag of ``path`` when it can be known without building the response (the PDFs), else None."""
    return _pdf_etags().get(path) if site == "caldera" else None


@lru_cache(maxsize=512)
def _pdf(slug: str) -> bytes | None:
    for a in load_articles("caldera"):
        if a.slug == slug and a.format == "pdf":
            return L.caldera_pdf(a)
    return None


def route(site: str, path: str, base: str) -> Response | None:
    """The response for ``path`` on ``site``, or None for 404. Pure: easy to test."""
    if path == "/robots.txt":
        return "text/plain; charset=utf-8", ROBOTS[site].format(base=base).encode()
    article = _index(site).get(path)
    if site == "meridian":
        if article:
            return _html(L.meridian_article(article))
        if path == "/sitemap.xml":
            return _xml(L.meridian_sitemap_index(base))
        m = re.fullmatch(r"/sitemaps/(\w+)\.xml", path)
        if m and (xml := L.meridian_sitemap(base, m.group(1))):
            return _xml(xml)
    elif site == "harborview":
        if article:
            return _html(L.harborview_article(article))
        if path == "/feed.xml":
            return "application/rss+xml; charset=utf-8", L.harborview_feed(base).encode()
    elif site == "northgate":
        if article:
            return _html(L.northgate_article(article))
        m = re.fullmatch(r"/publications/(?:page/(\d+)/)?", path)
        if m and (page := L.northgate_listing(int(m.group(1) or 1))):
            return _html(page)
    elif site == "caldera":
        if article and article.format == "pdf":
            return _html(L.caldera_report_landing(article))
        if article:
            return _html(L.caldera_commentary(article))
        if path == "/feed.atom":
            return "application/atom+xml; charset=utf-8", L.caldera_feed(base).encode()
        m = re.fullmatch(r"/files/([\w-]+)\.pdf", path)
        if m and (pdf := _pdf(m.group(1))):
            return "application/pdf", pdf
    if path == "/":
        name = SITES[site].name
        return _html(f"<html><head><title>{name}</title></head><body><h1>{name}</h1></body></html>")
    return None


def _handler(site: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "DemoThinkTank/1.0"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            base = f"http://{self.headers.get('Host') or '127.0.0.1'}"
            path = self.path.split("?", 1)[0]
            known = etag_without_body(site, path)
            if known and self.headers.get("If-None-Match") == known:
                self._send(304, "application/pdf", b"", known)
                return
            found = route(site, path, base)
            if found is None:
                self._send(404, HTML, b"<html><body><h1>Not found</h1></body></html>")
                return
            ctype, body = found
            etag = known or '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, ctype, b"", etag)
                return
            self._send(200, ctype, body, etag)

        def _send(self, status: int, ctype: str, body: bytes, etag: str | None = None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, *args):  # quiet: the crawler logs what matters
            pass

    return Handler


class DemoSites:
    """Context manager: the four demo sites served on free loopback ports.

    >>> with DemoSites() as sites:            # doctest: +SKIP
    ...     sites.base_urls["meridian"]
    'http://127.0.0.1:40123'
    """

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.base_urls: dict[str, str] = {}
        self._servers: list[ThreadingHTTPServer] = []

    def start(self) -> DemoSites:
        for site in SITES:
            server = ThreadingHTTPServer((self.host, 0), _handler(site))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True, name=f"demo-{site}").start()
            self._servers.append(server)
            self.base_urls[site] = f"http://{self.host}:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> DemoSites:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def write_sources(self, template: Path, target: Path) -> Path:
        """The demo sources file with this run's base URLs filled in."""
        text = template.read_text(encoding="utf-8")
        for site, url in self.base_urls.items():
            text = text.replace("{" + site + "}", url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target


def serve_forever(on_ready: Callable[[dict[str, str]], None] = print) -> None:
    sites = DemoSites().start()
    on_ready(sites.base_urls)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sites.stop()
