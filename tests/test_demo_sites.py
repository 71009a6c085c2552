"""The demo sites answer conditional requests for their PDF reports without rendering them again."""

from __future__ import annotations

import urllib.request

import pytest

from policytrends.demo_sites import DemoSites, server
from policytrends.demo_sites.content import load_articles


def _get(url: str, etag: str | None = None):
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
            return response.status, response.headers.get("ETag"), response.read()
    except urllib.error.HTTPError as exc:  # 304 arrives as an HTTPError
        return exc.code, exc.headers.get("ETag"), b""


@pytest.mark.slow
def test_pdf_report_304_without_rendering():
    reports = [a for a in load_articles("caldera") if a.format == "pdf"][:2]
    assert len(reports) == 2
    with DemoSites() as sites:
        base = sites.base_urls["caldera"]
        status, etag, body = _get(f"{base}/files/{reports[0].slug}.pdf")
        assert status == 200 and body.startswith(b"%PDF") and etag
        other = _get(f"{base}/files/{reports[1].slug}.pdf")[1]
        assert other and other != etag

        server._pdf.cache_clear()  # a new process, as on a rerun: nothing rendered yet
        status, again, body = _get(f"{base}/files/{reports[0].slug}.pdf", etag)
        assert (status, again, body) == (304, etag, b"")
        assert server._pdf.cache_info().misses == 0  # answered without rendering the PDF

        assert _get(f"{base}/files/{reports[0].slug}.pdf", '"stale"')[0] == 200
        assert _get(f"{base}/files/no-such-report.pdf", etag)[0] == 404
