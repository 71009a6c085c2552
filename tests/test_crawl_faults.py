"""One crawl of a server that misbehaves in every way we know: it finishes, retries what is
worth retrying, names every fault in its counts, and stores each good page once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from policytrends.corpus.store import CorpusStore, documents
from policytrends.crawlers.run import crawl
from tests.hostile_site import FAULTS, GOOD, HostileSite

pytestmark = pytest.mark.slow

# fault kind in the counts -> how many pages end with it
EXPECTED_FAILURES = {
    "http_500": 1, "http_503": 1, "connection_reset": 1, "timeout": 1, "truncated": 1, "redirect_loop": 1,
    "offsite_redirect": 1, "redirect_other_scheme": 2, "too_large": 2,
}
EXPECTED_RETRIES = {"http_503", "http_500", "connection_reset", "timeout", "truncated"}


@pytest.fixture
def hostile():
    site = HostileSite()
    yield site
    site.close()


def test_every_fault_in_one_crawl(settings, hostile, tmp_path):
    report = crawl(hostile.sources(tmp_path / "sources.yaml"), settings.db_url, settings.crawl_dir)
    counts = report.sources["hostile"]
    assert counts["articles_seen"] == len(FAULTS)

    failed = {k.removeprefix("failed/"): v for k, v in counts.items() if k.startswith("failed/")}
    assert failed == EXPECTED_FAILURES
    assert {k.removeprefix("retried/") for k in counts if k.startswith("retried/")} == EXPECTED_RETRIES
    assert counts["rejected/binary"] == counts["extraction_failed"] == 1
    assert counts["charset_corrected"] == 2
    assert counts["blocked_offsite"] == 1

    # Every good page once (three of them only after a retry), nothing else.
    with CorpusStore(settings.db_url).engine.connect() as conn:
        rows = conn.execute(sa.select(documents.c.title, documents.c.body, documents.c.url)).all()
    assert sorted(r.title for r in rows) == sorted(GOOD)
    bodies = {r.title: r.body for r in rows}
    assert "Café diplomacy – naïve hopes." in bodies["Wrong charset declared"]
    assert "Genève talks ’resume’." in bodies["UTF-8 sent as Latin-1"]
    assert all(r.url.startswith(hostile.base) for r in rows)

    # Retried, but not forever; what failed for good was tried at most three times.
    assert hostile.hits["/a/retry-503"] == 3 and hostile.hits["/a/http-500"] == 3
    assert hostile.hits.get("/etc/passwd") is None
    assert any("failed with too_large" in w for w in report.warnings)

