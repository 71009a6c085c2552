"""Reliability report: faults injected, crawls completed, kill points tried, documents lost,
duplicates found, fuzz cases run. Writes ``bench/reliability.md``.

    .venv/bin/python bench/reliability.py                    # 5 to 8 minutes on 2 cores
    .venv/bin/python bench/reliability.py --fuzz-profile long   # the long fuzz run (much longer)

Everything runs on 127.0.0.1 in a temporary folder, with the project's own code:
1. one crawl of the misbehaving server of ``tests/hostile_site.py`` (every fault kind at once);
2. the crash chain of ``tests/test_crash_recovery.py``: the pipeline killed with SIGKILL at
   each checkpoint in turn, then run to the end, compared with one uninterrupted run; the
   same for training;
3. the fuzz suite ``tests/test_fuzz.py`` with hypothesis statistics.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policytrends.settings import Settings, configure_environment  # noqa: E402

configure_environment(Settings())

from crawlers.run import crawl  # noqa: E402
from tests.crashkit import (  # noqa: E402
    article_pages,
    differences,
    duplicates,
    run_direct,
    small_labels,
    store_picture,
    tables_picture,
    write_sources,
)
from tests.hostile_site import FAULTS, GOOD, HostileSite  # noqa: E402
from tests.test_crash_recovery import KILL_CHAIN, TRAIN_CHAIN  # noqa: E402


def hostile_crawl(tmp: Path) -> dict:
    from corpus.store import CorpusStore

    site = HostileSite()
    try:
        db = f"sqlite:///{tmp / 'hostile.sqlite'}"
        started = time.perf_counter()
        report = crawl(site.sources(tmp / "hostile.yaml"), db, tmp / "hostile-crawl")
        seconds = time.perf_counter() - started
        counts = report.sources["hostile"]
        store = CorpusStore(db)
        with store.engine.connect() as conn:
            import sqlalchemy as sa

            from corpus.store import documents
            titles = [r[0] for r in conn.execute(sa.select(documents.c.title))]
    finally:
        site.close()
    return {"counts": counts, "seconds": seconds, "completed": report.exit_code == 0, "stored": titles}


def crash_chain(tmp: Path) -> dict:
    from tests.conftest import _Site

    site = _Site({path: (200, "text/html; charset=utf-8", body) for path, body in article_pages().items()})
    out: dict = {"kills": []}
    try:
        labels = small_labels(tmp / "labels.jsonl")
        # A model for both runs: trained once, copied (the crash chain does not test training).
        model_home = tmp / "model"
        assert run_direct(model_home, tmp / "o", ["train", "--labels", str(labels)]).returncode == 0
        sources = write_sources(tmp / "sources.yaml", site.base)

        def fresh(name: str) -> tuple[Path, Path, str]:
            import shutil

            home = tmp / name / "state"
            shutil.copytree(model_home / "registry", home / "registry")
            return home, tmp / name / "outputs", f"sqlite:///{home / 'corpus.sqlite'}"

        home, outputs, db = fresh("uninterrupted")
        started = time.perf_counter()
        assert run_direct(home, outputs, ["run", "--sources", str(sources)]).returncode == 0
        out["uninterrupted_seconds"] = time.perf_counter() - started
        expected_store, expected_tables = store_picture(db), tables_picture(outputs, db)

        home, outputs, db = fresh("killed")
        started = time.perf_counter()
        for point in KILL_CHAIN:
            outcome = run_direct(home, outputs, ["run", "--sources", str(sources)], kill_at=point)
            picture = store_picture(db)
            out["kills"].append({"point": point, "killed": outcome.killed, "duplicates": duplicates(picture),
                                 "documents": len(picture["documents"])})
        final = run_direct(home, outputs, ["run", "--sources", str(sources)])
        out["chain_seconds"] = time.perf_counter() - started
        picture = store_picture(db)
        expected_docs = {r[0] for r in expected_store["documents"]}
        out["final_ok"] = final.returncode == 0
        out["documents_expected"] = len(expected_docs)
        out["documents_lost"] = len(expected_docs - {r[0] for r in picture["documents"]})
        out["passages_lost"] = len(set(expected_store["passages"]) - set(picture["passages"]))
        out["predictions_lost"] = len(set(expected_store["predictions"]) - set(picture["predictions"]))
        out["duplicates"] = duplicates(picture)
        out["store_equal"] = all(picture[k] == v for k, v in expected_store.items())
        out["table_differences"] = differences(tables_picture(outputs, db), expected_tables)
        out["tables"] = len(expected_tables)

        from models.registry import Registry

        train_home = tmp / "train-killed"
        for point in TRAIN_CHAIN:
            outcome = run_direct(train_home, tmp / "o", ["train", "--labels", str(labels)], kill_at=point)
            registry = Registry(train_home / "registry")
            out["kills"].append({"point": point, "killed": outcome.killed, "duplicates": 0,
                                 "documents": f"{len(registry.versions())} whole version(s), current: {registry.current()}"})
        done = run_direct(train_home, tmp / "o", ["train", "--labels", str(labels)])
        out["train_final_ok"] = done.returncode == 0 and Registry(train_home / "registry").current() is not None
    finally:
        site.close()
    return out


def fuzz(profile: str) -> dict:
    env = {**os.environ, "HYPOTHESIS_PROFILE": profile}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py",
                           "--hypothesis-show-statistics"], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    per_test: dict[str, int] = {}
    current = None
    for line in proc.stdout.splitlines():
        m = re.match(r"tests/test_fuzz\.py::(\S+):", line.strip())
        if m:
            current = m.group(1)
        m = re.search(r"(\d+) passing, (\d+) failing", line)
        if m and current:
            per_test[current] = per_test.get(current, 0) + int(m.group(1)) + int(m.group(2))
    passed = re.search(r"(\d+) passed", proc.stdout)
    return {"profile": profile, "cases": per_test, "total": sum(per_test.values()), "ok": proc.returncode == 0,
            "tests_passed": int(passed.group(1)) if passed else 0, "seconds": seconds}


def render(h: dict, c: dict, f: dict) -> str:
    counts = h["counts"]
    lines = [
        "# Reliability report",
        "",
        f"Written by `bench/reliability.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (2 cores, shared machine). "
        "Every server is on 127.0.0.1.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| fault kinds injected in one crawl | {sum(1 for v in FAULTS.values() if v)} (on {len(FAULTS)} article URLs) |",
        f"| crawls completed | {'1 of 1' if h['completed'] else '0 of 1'} ({h['seconds']:.1f} s) |",
        f"| good pages stored (each once) | {len(h['stored'])} of {len(GOOD)}"
        f"{'' if sorted(h['stored']) == sorted(GOOD) else ' (MISMATCH)'} |",
        f"| kill points tried (SIGKILL, then rerun) | {len(c['kills'])}, killed at {sum(k['killed'] for k in c['kills'])} |",
        f"| documents lost | {c['documents_lost']} of {c['documents_expected']} (passages lost {c['passages_lost']}, "
        f"predictions lost {c['predictions_lost']}) |",
        f"| duplicates found | {c['duplicates'] + sum(k['duplicates'] for k in c['kills'])} |",
        f"| store after the kills equals an uninterrupted run | {'yes' if c['store_equal'] else 'NO'} |",
        f"| tables identical to an uninterrupted run | "
        f"{'all ' + str(c['tables']) if not c['table_differences'] else ', '.join(c['table_differences'])} |",
        f"| fuzz cases run (profile `{f['profile']}`) | {f['total']} in {len(f['cases'])} properties, "
        f"{'no failure' if f['ok'] else 'FAILURES'} ({f['seconds']:.0f} s) |",
        "",
        "## Faults injected (one crawl)",
        "",
        "| URL | fault |",
        "|---|---|",
        *[f"| `{path}` | {kind or 'none (a plain good page)'} |" for path, kind in FAULTS.items()],
        "",
        "Counts the crawl reported (`outputs/run_summary.json` carries the same per source):",
        "",
        "| count | value |",
        "|---|---|",
        *[f"| `{k}` | {v} |" for k, v in sorted(counts.items())
          if k.startswith(("failed/", "retried/", "rejected/")) or k in (
              "articles_seen", "pages_fetched", "documents_new", "extraction_failed", "blocked_offsite",
              "charset_corrected", "retries_exhausted")],
        "",
        "## Kill points (in chain order: each kill acts on what the previous ones left)",
        "",
        "| point | killed | documents stored at the kill | duplicates |",
        "|---|---|---|---|",
        *[f"| `{k['point']}` | {'yes' if k['killed'] else 'NO'} | {k['documents']} | {k['duplicates']} |" for k in c["kills"]],
        "",
        f"The pipeline run without a kill took {c['uninterrupted_seconds']:.1f} s (a child process: start-up, crawl of "
        f"{c['documents_expected']} articles, segment, classify, aggregate); the chain of {len(KILL_CHAIN)} killed runs and "
        f"the final one {c['chain_seconds']:.1f} s. The rerun after the training kills "
        f"{'promoted a whole version' if c['train_final_ok'] else 'FAILED'}.",
        "",
        "Tables are compared cell by cell, with the store's row ids (`passage_id`, `document_id`) resolved to the "
        "document URL and passage position they stand for, and without the two crawl-time columns of "
        "`source_coverage.csv` (`first_crawled`, `last_crawled`), which record when the pages were fetched.",
        "",
        "## Fuzz cases per property",
        "",
        "| property | cases |",
        "|---|---|",
        *[f"| `{name}` | {n} |" for name, n in sorted(f["cases"].items())],
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-profile", default="ci", help="hypothesis profile: ci (60 cases each) or long")
    parser.add_argument("--out", default=str(ROOT / "bench" / "reliability.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["POLICYTRENDS_HOME"] = str(tmp / "bench-home")  # the crawl's own state, not the project's
        h = hostile_crawl(tmp)
        print(f"hostile crawl: {len(h['stored'])} stored in {h['seconds']:.1f} s", flush=True)
        c = crash_chain(tmp)
        print(f"crash chain: {len(c['kills'])} kills, {c['documents_lost']} lost, {c['duplicates']} duplicates", flush=True)
    f = fuzz(args.fuzz_profile)
    print(f"fuzz: {f['total']} cases", flush=True)
    Path(args.out).write_text(render(h, c, f), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
