"""Crash-test hook: kill this process at a named point, to prove a rerun loses nothing.

The stage code calls ``checkpoint("classify.batch")`` at the moments where a crash would
hurt most (between two writes, after a write and before its bookkeeping). Normally that is
a dictionary lookup and nothing else. With ``POLICYTRENDS_FAULT_KILL_AT=<point>[#N]`` in the
environment, the process sends itself SIGKILL the N-th time (default: the first) it reaches
that point: no ``finally`` block, no atexit handler, no flush runs, exactly as when the
machine loses power or the OOM killer strikes. ``tests/test_crash_recovery.py`` uses it.

>>> checkpoint("segment.document")   # no variable set: returns at once
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "POLICYTRENDS_FAULT_KILL_AT"

# Every point the stage code declares, with where it sits; the tests try each of them.
POINTS = {
    "crawl.stored": "crawler process, right after a document is stored and before its crawl state is recorded",
    "crawl.fetch_recorded": "crawler process, after a page's crawl state is recorded",
    "segment.document": "after a document's passages were written",
    "classify.embedded": "after a batch's embeddings were cached, before its predictions are saved",
    "classify.batch": "after a batch of predictions was saved",
    "aggregate.read": "after the predictions were read, before any table is written",
    "aggregate.table": "after one table was written (CSV and Parquet), before the next",
    "aggregate.report": "after the tables, before the charts and report",
    "train.saved": "after the new version's files were written, before the folder is renamed into the registry",
    "train.renamed": "after the version folder is in the registry, before it is promoted",
}

_counts: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(KILL_ENV, "").strip()
    if not spec:
        return None
    point, _, nth = spec.partition("#")
    return point, int(nth) if nth else 1


def checkpoint(point: str) -> None:
    """Kill this process with SIGKILL if ``point`` is the configured kill point and this is its N-th visit."""
    target = _target()
    if target is None or target[0] != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
