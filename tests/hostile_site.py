"""A misbehaving web server on 127.0.0.1: every fault a nightly crawl meets on the open web.

Used by ``tests/test_crawl_faults.py`` and ``bench/reliability.py``. ``FAULTS`` maps each
article path to its fault kind; ``GOOD`` lists the pages that must be stored (once each).
"""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

STALL_SECONDS = 6  # well past the source's timeout (2 s) below, so a slow machine does not blur the two


def article(title: str, text: str = "Deterrence commitments need credible forces and clear messages to allies.",
            charset_note: str = "") -> str:
    body = " ".join([text] * 8)
    return (f"<html><head><title>{title}</title><meta property='article:published_time' content='2020-05-01'>"
            f"</head><body><article><h1>{title}</h1><p>{body}</p><p>{charset_note}{body}</p></article></body></html>")


class HostileSite:
    """Routes are functions of the request handler; each one misbehaves in its own way."""

    def __init__(self):
        self.hits: dict[str, int] = {}
        self.routes = self._routes()
        site = self

        class Handler(BaseHTTPRequestHandler):
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

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

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

    def close(self):
        self.server.shutdown()
        self.server.server_close()


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
