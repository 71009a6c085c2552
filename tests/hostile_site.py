"""A misbehaving web server on 127.0.0.1: every fault a nightly crawl meets on the open web.

Used by ``tests/test_crawl_faults.py`` and ``bench/reliability.py``. ``FAULTS`` maps each
article path to its fault kind; ``GOOD`` lists the pages that must be stored (once each).
The other hostile cases the tests and the reliability report share live here too: pages that
try to leave a source's origin, block pages, big sites' sitemaps, sources files that attack the loader.
"""

from __future__ import annotations

import gzip
import time

import yaml

from tests.helpers import LoopbackServer, QuietHandler

STALL_SECONDS = 6  # well past the source's timeout (2 s) below, so a slow machine does not blur the two


def article(title: str, text: str = "Deterrence commitments need credible forces and clear messages to allies.",
            charset_note: str = "") -> str:
    body = " ".join([text] * 8)
    return (f"<html><head><title>{title}</title><meta property='article:published_time' content='2020-05-01'>"
            f"</head><body><article><h1>{title}</h1><p>{body}</p><p>{charset_note}{body}</p></article></body></html>")


class HostileSite(LoopbackServer):
    """Routes are functions of the request handler; each one misbehaves in its own way."""

    def __init__(self):
        self.hits: dict[str, int] = {}
        self.routes = self._routes()
        site = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                route = site.routes.get(self.path)
                if route is None:
                    return self.reply(404, b"<html><body>missing</body></html>")
                try:
                    route(self, site.hits[self.path])
                except (ConnectionError, BrokenPipeError):  # the crawler gave up on us first: as intended
                    self.close_connection = True

            def reply(self, status, body=b"", ctype="text/html; charset=utf-8", headers=None, length=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        self.serve(Handler)

    # --------------------------------------------------------------------------- routes
    def _routes(self):
        def good(title, **kw):
            return lambda h, n: h.reply(200, article(title, **kw).encode())

        def flaky_503(h, n):  # unavailable twice, asks to come back, then fine
            if n <= 2:
                return h.reply(503, b"busy", headers={"Retry-After": "1"})
            h.reply(200, article("Back after a 503").encode())

        def flaky_500(h, n):
            if n == 1:
                return h.reply(500, b"oops", headers={"Retry-After": "1"})
            h.reply(200, article("Back after a 500").encode())

        def reset_once(h, n):  # the connection drops before any response, once
            if n == 1:
                h.close_connection = True
                h.connection.shutdown(2)
                return
            h.reply(200, article("Back after a reset").encode())

        def always_reset(h, n):
            h.close_connection = True
            h.connection.shutdown(2)

        def stall(h, n):
            time.sleep(STALL_SECONDS)
            h.reply(200, article("Too late").encode())

        def truncated(h, n):  # announces more than it sends, then hangs up
            body = article("Cut short").encode()
            h.reply(200, body[: len(body) // 2], length=len(body))

        def huge(h, n):  # announces a gigabyte
            h.reply(200, b"<html>" + b" " * 1000, length=1024**3)

        def gzip_bomb(h, n):  # 60 MB of spaces in 60 KB
            h.reply(200, _BOMB, headers={"Content-Encoding": "gzip"})

        def redirect(target):
            return lambda h, n: h.reply(302, b"", headers={"Location": target(h)})

        cp1252 = article("Wrong charset declared", charset_note="Caf\u00e9 diplomacy \u2013 na\u00efve hopes. ").encode("cp1252")
        utf8_as_latin1 = article("UTF-8 sent as Latin-1", charset_note="Gen\u00e8ve talks \u2019resume\u2019. ").encode("utf-8")
        port = lambda h: h.server.server_address[1]  # noqa: E731
        return {
            "/list": lambda h, n: h.reply(200, "".join(f"<a href='{p}'>{p}</a>" for p in FAULTS).encode()),
            "/a/good-1": good("A good article"),
            "/a/good-2": good("Another good article", text="Missile defence interceptors protect allied cities from attack."),
            "/a/retry-503": flaky_503,
            "/a/retry-500": flaky_500,
            "/a/reset-once": reset_once,
            "/a/cp1252-labelled-utf8": lambda h, n: h.reply(200, cp1252, ctype="text/html; charset=utf-8"),
            "/a/utf8-labelled-latin1": lambda h, n: h.reply(200, utf8_as_latin1, ctype="text/html; charset=iso-8859-1"),
            "/a/http-500": lambda h, n: h.reply(500, b"broken", headers={"Retry-After": "1"}),
            "/a/http-503": lambda h, n: h.reply(503, b"down", headers={"Retry-After": "3600"}),
            "/a/reset": always_reset,
            "/a/stall": stall,
            "/a/truncated": truncated,
            "/a/loop-1": redirect(lambda h: "/a/loop-2"),
            "/a/loop-2": redirect(lambda h: "/a/loop-1"),
            "/a/offsite": redirect(lambda h: f"http://127.0.0.2:{port(h)}/a/good-1"),
            "/a/other-scheme": redirect(lambda h: "file:///etc/passwd"),
            "/a/ftp-scheme": redirect(lambda h: f"ftp://127.0.0.1:{port(h)}/a/good-1"),
            "/a/huge": huge,
            "/a/gzip-bomb": gzip_bomb,
            "/a/binary": lambda h, n: h.reply(200, bytes(range(256)) * 40, ctype="text/html"),
        }

    def sources(self, path, name: str = "hostile"):
        entry = {"name": name, "discovery": {"listing": [f"{self.base}/list"]}, "article_patterns": ["^/a/"],
                 "politeness": {"download_delay": 0, "concurrency": 4, "timeout": 2}}
        path.write_text(yaml.safe_dump({"sources": [entry]}), encoding="utf-8")
        return path


_BOMB = gzip.compress(b" " * (60 * 1024 * 1024), compresslevel=9)

# article path -> the fault it shows (None: a plain good page)
FAULTS = {
    "/a/good-1": None, "/a/good-2": None,
    "/a/retry-503": "503 with Retry-After, then 200", "/a/retry-500": "500, then 200", "/a/reset-once": "connection reset, then 200",
    "/a/cp1252-labelled-utf8": "cp1252 body declared as UTF-8", "/a/utf8-labelled-latin1": "UTF-8 body declared as Latin-1",
    "/a/http-500": "500 every time", "/a/http-503": "503 with Retry-After: 3600 every time", "/a/reset": "connection reset every time",
    "/a/stall": "stalls past the timeout", "/a/truncated": "truncated body", "/a/loop-1": "redirect loop",
    "/a/offsite": "redirect to another host", "/a/other-scheme": "redirect to file://", "/a/ftp-scheme": "redirect to ftp://",
    "/a/huge": "1 GB Content-Length", "/a/gzip-bomb": "gzip bomb (60 MB from 60 KB)", "/a/binary": "binary body labelled text/html",
}
GOOD = {"A good article", "Another good article", "Back after a 503", "Back after a 500", "Back after a reset",
        "Wrong charset declared", "UTF-8 sent as Latin-1"}


# --------------------------------------------------------------------------- leaving the source's origin
class OtherService(LoopbackServer):
    """Another service on the same host, on another port: nothing a source's pages say may reach it.

    It answers every path with an article, so anything that reached it would be stored.
    """

    def __init__(self):
        self.hits: list[str] = []
        service = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                service.hits.append(self.path)
                body = article("Internal service page").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.serve(Handler)


def escape_routes(other: str) -> dict:
    """Routes that try to send the crawler from a source's origin to ``other`` (another port of the same host).

    Each maps to (status, content type, body, headers); ESCAPES names what each one tries.
    """
    target = f"{other}/a/internal"
    refresh = (f"<html><head><title>Moved</title><meta http-equiv='refresh' content='0; url={target}'></head>"
               "<body><p>This page has moved.</p></body></html>")
    return {
        "/s/list": (200, "text/html", "".join(f"<a href='{p}'>{p}</a>" for p in [*ESCAPES, "/s/good"]).encode(), {}),
        "/s/good": (200, "text/html; charset=utf-8", article("A page of the source itself").encode(), {}),
        "/s/redirect-port": (302, "text/html", b"", {"Location": target}),
        "/s/refresh-port": (200, "text/html; charset=utf-8", refresh.encode(), {}),
        "/s/redirect-https-same-port": (302, "text/html", b"", {"Location": "https://{host}/s/good"}),
    }


ESCAPES = {
    "/s/redirect-port": "302 redirect to another port of 127.0.0.1",
    "/s/refresh-port": "meta refresh to another port of 127.0.0.1",
    "/s/redirect-https-same-port": "302 redirect to https on the source's own http port",
}


# --------------------------------------------------------------------------- block pages
def block_routes(challenge: bytes, rate_limit: bytes) -> dict[str, dict]:
    """One small site per way of being blocked, keyed by the source name that crawls it.

    ``challenge`` and ``rate_limit`` are the pages a bot check and a rate limiter send (the
    tests pass their own fixtures; ``bench/reliability.py`` may pass real captures it reads).
    Each site: a listing ``/<name>/list`` and three article paths ``/<name>/1`` to ``/3``,
    mapped to (status, content type, body, headers) or, for ``limited-once``, to a function of
    the path's hit number (the first request for ``/limited-once/1`` is rate limited with
    Retry-After: 1; every other request gets an article).
    """
    def site(name, page):
        routes = {f"/{name}/list": (200, "text/html", "".join(f"<a href='/{name}/{i}'>{i}</a>" for i in (1, 2, 3)).encode(), {})}
        routes.update({f"/{name}/{i}": page for i in (1, 2, 3)})
        return routes

    html = "text/html; charset=utf-8"
    sites = {
        "challenge-200": site("challenge-200", (200, html, challenge, {})),  # the body alone tells
        "challenge-403": site("challenge-403", (403, html, challenge, {"cf-mitigated": "challenge"})),
        "rate-limit-200": site("rate-limit-200", (200, html, rate_limit, {})),  # the shape of the real capture
        "rate-limit-long": site("rate-limit-long", (429, html, rate_limit, {"Retry-After": "3600"})),
        "limited-once": site("limited-once", None),
    }
    for i in (1, 2, 3):
        sites["limited-once"][f"/limited-once/{i}"] = (
            lambda n, i=i: (429, html, rate_limit, {"Retry-After": "1"}) if (i, n) == (1, 1)
            else (200, html, article(f"Article {i} after the wait").encode(), {}))
    return sites


class RouteSite(LoopbackServer):
    """A loopback site serving a dict of routes: path -> (status, content type, body, headers),
    or a function of how many times the path was asked for returning one. Records each request's
    time and path."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[tuple[float, str]] = []
        site = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                site.requests.append((time.monotonic(), self.path))
                route = site.routes.get(self.path, (404, "text/html", b"<html><body>missing</body></html>", {}))
                if callable(route):
                    route = route(sum(1 for _, p in site.requests if p == self.path))
                status, ctype, body, headers = route
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v.replace("{host}", self.headers.get("Host", "")))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.serve(Handler)

    def hits(self, prefix: str) -> list[str]:
        return [p for _, p in self.requests if p.startswith(prefix)]


def listing_sources(path, base: str, names: list[str], list_path: str = "/{name}/list", concurrency: int = 1):
    """A sources file with one listing source per name on ``base``; article pattern: any path under the listing."""
    entries = [{"name": name, "discovery": {"listing": [base + list_path.format(name=name)]},
                "article_patterns": [f"^/{name.split('/')[0]}/(?!list)"],
                "politeness": {"download_delay": 0, "concurrency": concurrency, "timeout": 5}} for name in names]
    path.write_text(yaml.safe_dump({"sources": entries}), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- big sites and their sitemaps
# (tests/test_crawl_big_sites.py and bench/reliability.py)
SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def bigsite_sources(tmp_path, **entry) -> str:
    """A sources file of one source, "bigsite", whose articles are /a/<name>; ``entry`` adds or overrides keys."""
    entry = {"name": "bigsite", "article_patterns": ["^/a/[^/]+$"],
             "politeness": {"download_delay": 0, "concurrency": 4, "timeout": 5}, **entry}
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [entry]}))
    return path


def numbered_article(n: int | str, published: str = "2024-03-01") -> bytes:
    """An article page of its own text (the same text under two URLs would be stored once)."""
    paras = "".join(
        f"<p>Article {n}, paragraph {i}: the alliance's planners weigh deterrence by denial against deterrence "
        f"by punishment, and the budget lines that follow from each choice, for the coming decade.</p>"
        for i in range(3)
    )
    return (f"<html><head><title>Article {n}</title><meta property='article:published_time' content='{published}'>"
            f"</head><body><main><h1>Article {n}</h1>{paras}</main></body></html>").encode()


# --------------------------------------------------------------------------- sources files that attack the loader
# (tests/test_hostile_crawl.py and bench/reliability.py run the same cases through the CLI)
def alias_bomb(levels: int) -> str:
    """A sources file whose title is ``levels`` levels of nine aliases each: 9**levels strings from a few hundred bytes."""
    lines = ['l0: &l0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + (f"\nsources:\n  - name: bomb\n    title: *l{levels}\n"
                               "    discovery: {feed: ['https://example.org/feed']}\n    article_patterns: ['^/a/']\n")


HOSTILE_FILES = {
    "alias-bomb-9": (alias_bomb(9), "aliases (*name) are expanded"),
    "alias-bomb-7": (alias_bomb(7), "aliases (*name) are expanded"),
    "nested-brackets": ("[" * 20_000 + "]" * 20_000 + "\n", "nested more than 64 deep"),
    "nested-mappings": ("{a: " * 20_000 + "1" + "}" * 20_000 + "\n", "nested more than 64 deep"),
    "self-alias": ("sources: &s [*s]\n", "alias names the list or mapping it is inside"),
    "title-list": ("sources:\n  - name: x\n    title: [a, b]\n    discovery: {feed: ['https://example.org/f']}\n"
                   "    article_patterns: [a]\n", "'title' must be a string"),
    "huge-quoted-value": ("sources:\n  - name: x\n    discovery: {feed: ['https://example.org/f']}\n    article_patterns: [a]\n"
                          f"    politeness: {{timeout: '{'9' * 1_000_000}'}}\n", "politeness.timeout must be"),
}


COMMANDS = {"sources-check": ["sources", "check"], "crawl": ["crawl", "--sources"], "run": ["run", "--sources"]}
# `run` imports Prefect (5 s): the two bombs of the issue are enough to show it refuses before starting it.
CLI_CASES = [(case, cmd) for case in sorted(HOSTILE_FILES) for cmd in ("sources-check", "crawl")] + [
    ("alias-bomb-9", "run"), ("nested-brackets", "run")]
