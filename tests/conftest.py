"""Shared fixtures: isolated state folders, the demo sites, one trained model per session."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from policytrends.settings import SEED_LABELS, Settings, configure_environment


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """A fresh state folder and outputs folder for one test."""
    monkeypatch.setenv("POLICYTRENDS_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("POLICYTRENDS_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.delenv("POLICYTRENDS_DB_URL", raising=False)
    monkeypatch.delenv("POLICYTRENDS_SOURCES", raising=False)
    monkeypatch.delenv("POLICYTRENDS_REGISTRY", raising=False)
    s = Settings()
    configure_environment(s)
    s.ensure_dirs()
    return s


@pytest.fixture(scope="session")
def demo_sites():
    from demo_sites import DemoSites

    with DemoSites() as sites:
        yield sites


@pytest.fixture(scope="session")
def seed_registry(tmp_path_factory) -> Path:
    """A registry holding one model trained on the bundled seed labels (trained once)."""
    from models.registry import Registry
    from models.training import train

    root = tmp_path_factory.mktemp("seed-registry")
    result = train(SEED_LABELS, Registry(root))
    assert result.promoted
    return root


@pytest.fixture
def trained(settings, seed_registry) -> Settings:
    """``settings`` whose registry already holds the seed model (a copy: tests may change it)."""
    shutil.copytree(seed_registry, settings.registry_dir, dirs_exist_ok=True)
    return settings


class _Site:
    """A throwaway HTTP site on 127.0.0.1 serving fixed responses, for bad-input tests."""

    def __init__(self, routes: dict[str, tuple[int, str, bytes]]):
        routes = dict(routes)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                status, ctype, body = routes.get(self.path, (404, "text/html", b"<html><body>missing</body></html>"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_site():
    sites: list[_Site] = []

    def make(routes):
        site = _Site(routes)
        sites.append(site)
        return site

    yield make
    for s in sites:
        s.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
