"""What schema revision 0002 buys: the crawler's duplicate-text lookup with and without the index.

For every article it stores, the crawler asks the store whether the source already holds the
same text under another URL (``CorpusStore.content_hash_owner``). This builds an SQLite store
at revision 0001 with N documents in one source, times that lookup, upgrades the store to the
newest revision (index on documents (source, content_hash)) and times it again.

    .venv/bin/python bench/bench_store_index.py --documents 100000 --lookups 2000
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from policytrends.corpus.migrations import BASELINE, config
from policytrends.corpus.store import CorpusStore


def _lookups(store: CorpusStore, hashes: list[str]) -> float:
    start = time.perf_counter()
    for h in hashes:
        assert store.content_hash_owner("big", h) is not None
    return (time.perf_counter() - start) / len(hashes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.sqlite"
        url = f"sqlite:///{path}"
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            command.upgrade(config(conn), BASELINE)
        engine.dispose()
        conn = sqlite3.connect(path)
        now = "2026-11-28 00:00:00.000000"
        conn.executemany(
            "INSERT INTO documents (canonical_url, url, source, title, authors, published, body, content_hash, content_type,"
            " extraction_method, http_status, fetched_at, first_seen_at) VALUES (?, ?, ?, 't', '[]', NULL, 'b', ?, 'text/html',"
            " 'x', 200, ?, ?)",
            ((f"https://big.example/{i}", f"https://big.example/{i}", "big" if i % 10 else "other", f"{i:064x}", now, now)
             for i in range(args.documents)))
        conn.commit()
        conn.close()
        step = max(1, args.documents // args.lookups)
        hashes = [f"{i:064x}" for i in range(1, args.documents, step) if i % 10][: args.lookups]

        # Revision 0001, read without upgrading: a raw engine, not CorpusStore (which would upgrade it).
        old = CorpusStore.__new__(CorpusStore)
        old.url, old.engine = url, sa.create_engine(url)
        before = _lookups(old, hashes)
        old.engine.dispose()
        start = time.perf_counter()
        store = CorpusStore(url)  # upgrades to the newest revision
        upgrade = time.perf_counter() - start
        after = _lookups(store, hashes)
    print(f"{args.documents} documents ({args.documents * 9 // 10} in the source), {len(hashes)} lookups")
    print(f"revision 0001 (index on source):                 {before * 1e3:8.3f} ms per lookup")
    print(f"upgrade to 0002:                                 {upgrade:8.2f} s")
    print(f"revision 0002 (index on source, content_hash):   {after * 1e3:8.3f} ms per lookup ({before / after:.0f}x faster)")


if __name__ == "__main__":
    main()
