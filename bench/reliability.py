"""Reliability report: faults injected, crawls completed, kill points tried, documents lost,
duplicates found, fuzz cases run, processes left after a kill. Writes ``bench/reliability.md``.

    .venv/bin/python bench/reliability.py                    # 20 minutes on 2 busy cores (load 5)
    .venv/bin/python bench/reliability.py --fuzz-profile long   # the long fuzz run (much longer)

Everything runs on 127.0.0.1 in a temporary folder, with the project's own code:
1. one crawl of the misbehaving server of ``tests/hostile_site.py`` (every fault kind at once);
2. the crash chain of ``tests/test_crash_recovery.py``: the pipeline killed with SIGKILL at
   each checkpoint in turn, then run to the end, compared with one uninterrupted run; the
   same for training;
3. ``kill -9`` of a `policytrends run` (the CLI, through Prefect) in the middle of a crawl of a
   slow site, then the next run (``tests/crashkit.py``'s ``kill_run_mid_crawl``);
4. the hostile-input cases of issue 15 (``EXTRA_SUITES``), the same cases the tests use:
   redirects and meta refreshes out of a source's origin, with another service listening there;
   sources files built to exhaust the loader; the two real block pages of
   ``/work/shared/benchmarks/realpages/_edge_cases`` (read there, never copied); bad settings,
   label and input files, unwritable outputs and a 4.7 MB text cell through the CLI; a sitemap
   with an XML entity;
5. the fuzz suite ``tests/test_fuzz.py`` with hypothesis statistics.

Each part also gives a row of the summary table (:func:`row`): cases tried, tracebacks,
requests outside the source's scope, processes left after a kill, documents lost, documents
stored that must not be, cases not ending as they should.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policytrends.settings import Settings, configure_environment  # noqa: E402

configure_environment(Settings())

from policytrends.crawlers.run import crawl  # noqa: E402
from tests.crashkit import (  # noqa: E402
    ARTICLES,
    KILL_CHAIN,
    KILL_GRACE,
    TRAIN_CHAIN,
    article_pages,
    differences,
    duplicates,
    kill_run_mid_crawl,
    processes_with_mark,
    run_direct,
    small_labels,
    store_picture,
    tables_picture,
    write_sources,
)
from tests.helpers import FixtureSite  # noqa: E402
from tests.hostile_site import FAULTS, GOOD, HostileSite  # noqa: E402

TRACEBACK = "Traceback (most recent call last)"


def row(suite: str, cases: int, tracebacks: int | None = None, outside_scope: int | None = None,
        processes_left: int | None = None, documents_lost: int | None = None, wrongly_stored: int | None = None,
        unexpected: int | None = None) -> dict:
    """One line of the summary table; None where the suite does not measure that figure.

    ``wrongly_stored``: documents stored that must not be (a block page, a page outside the
    source, a cut-off URL, a duplicate); ``unexpected``: cases that did not end as they should
    (a one-line ``error:`` naming the problem, or the counts the crawl must report).
    """
    return {"suite": suite, "cases": cases, "tracebacks": tracebacks, "outside_scope": outside_scope,
            "processes_left": processes_left, "documents_lost": documents_lost, "wrongly_stored": wrongly_stored,
            "unexpected": unexpected}


class _Trap:
    """Counts the requests that reach an address a crawl must not leave its source for."""

    def __init__(self, host: str, port: int):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        trap = self
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                trap.hits += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def hostile_crawl(tmp: Path) -> dict:
    from policytrends.corpus.store import CorpusStore

    site = HostileSite()
    # The off-site redirect points at 127.0.0.2, same port: a request that followed it lands here.
    trap = _Trap("127.0.0.2", int(site.base.rsplit(":", 1)[1]))
    try:
        db = f"sqlite:///{tmp / 'hostile.sqlite'}"
        started = time.perf_counter()
        report = crawl(site.sources(tmp / "hostile.yaml"), db, tmp / "hostile-crawl")
        seconds = time.perf_counter() - started
        log_text = Path(report.log_file).read_text(encoding="utf-8", errors="replace")
        counts = report.sources["hostile"]
        store = CorpusStore(db)
        with store.engine.connect() as conn:
            import sqlalchemy as sa

            from policytrends.corpus.store import documents
            titles = [r[0] for r in conn.execute(sa.select(documents.c.title))]
    finally:
        site.close()
        trap.close()
    return {"counts": counts, "seconds": seconds, "completed": report.exit_code == 0, "stored": titles,
            "tracebacks": log_text.count(TRACEBACK), "outside_scope": trap.hits}


def crash_chain(tmp: Path) -> dict:
    site = FixtureSite({path: (200, "text/html; charset=utf-8", body) for path, body in article_pages().items()})
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
        out["tracebacks"] = out["processes_left"] = 0
        for i, point in enumerate(KILL_CHAIN):
            mark = f"chain-{os.getpid()}-{i}"
            outcome = run_direct(home, outputs, ["run", "--sources", str(sources)], kill_at=point, mark=mark)
            time.sleep(KILL_GRACE)
            out["processes_left"] += len(processes_with_mark(mark))
            out["tracebacks"] += outcome.stderr.count(TRACEBACK)
            picture = store_picture(db)
            out["kills"].append({"point": point, "killed": outcome.killed, "duplicates": duplicates(picture),
                                 "documents": len(picture["documents"])})
        final = run_direct(home, outputs, ["run", "--sources", str(sources)])
        out["tracebacks"] += final.stderr.count(TRACEBACK)
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

        from policytrends.models.registry import Registry

        train_home = tmp / "train-killed"
        for point in TRAIN_CHAIN:
            outcome = run_direct(train_home, tmp / "o", ["train", "--labels", str(labels)], kill_at=point)
            out["tracebacks"] += outcome.stderr.count(TRACEBACK)
            registry = Registry(train_home / "registry")
            out["kills"].append({"point": point, "killed": outcome.killed, "duplicates": 0,
                                 "documents": f"{len(registry.versions())} whole version(s), current: {registry.current()}"})
        done = run_direct(train_home, tmp / "o", ["train", "--labels", str(labels)])
        out["tracebacks"] += done.stderr.count(TRACEBACK)
        out["train_final_ok"] = done.returncode == 0 and Registry(train_home / "registry").current() is not None
    finally:
        site.close()
    return out


def kill_run(tmp: Path) -> dict:
    """kill -9 of `policytrends run` mid-crawl; the model the crash chain trained serves the next run."""
    out = kill_run_mid_crawl(tmp / "kill-run", tmp / "model" / "registry")
    after = out["next"]
    summary = [line.strip() for line in after.stdout.splitlines() if line.strip().startswith(("crawled:", "store:"))]
    return {"running": [cmd for _, cmd in out["running"]], "left": [cmd for _, cmd in out["left"]],
            "stored_at_kill": out["stored_at_kill"], "stored_later": out["stored_later"],
            "requested_at_kill": out["requested_at_kill"], "requested_later": out["requested_later"],
            "next_ok": after.returncode == 0, "next_seconds": out["next_seconds"], "summary": summary,
            "documents": len(out["picture"]["documents"]), "duplicates": duplicates(out["picture"]),
            "next_left": len(out["next_left"]),
            "tracebacks": out["killed_output"].count(TRACEBACK) + after.stderr.count(TRACEBACK) + after.stdout.count(TRACEBACK),
            "took_over": f"taking over a stale run lock left by `policytrends run` (pid {out['pid']} " in after.stderr}


# --------------------------------------------------------------------------- hostile-input suites (issue 15)
# Each takes the temporary folder and returns row(...) (or a list of rows) for the summary table;
# the cases are the ones the tests use (tests/test_hostile_crawl.py, test_blocked.py,
# test_hostile_config.py, test_crawl_big_sites.py), run here once more to be counted.
REAL_BLOCK_PAGES = ROOT.parent / "shared" / "benchmarks" / "realpages" / "_edge_cases"
CLI_TIMEOUT = 120  # a case that hangs counts as unexpected instead of holding the report


def _stored(db: str) -> list:
    import sqlalchemy as sa

    from policytrends.corpus.store import CorpusStore, documents

    with CorpusStore(db).engine.connect() as conn:
        return conn.execute(sa.select(documents.c.source, documents.c.title, documents.c.url)).all()


def _log_tracebacks(report) -> int:
    return Path(report.log_file).read_text(encoding="utf-8", errors="replace").count(TRACEBACK) if report.log_file else 0


def _cli(home: Path, args: list[str], env: dict | None = None, timeout: float = CLI_TIMEOUT):
    """The CLI as a user runs it, in its own state folder; None if it did not end within ``timeout``."""
    base = {**os.environ, "POLICYTRENDS_HOME": str(home / "state"), "POLICYTRENDS_OUTPUTS": str(home / "outputs"),
            "POLICYTRENDS_SETTINGS": "", "HF_HUB_OFFLINE": "1"}
    try:
        return subprocess.run([sys.executable, "-m", "policytrends.cli", *args], capture_output=True, text=True,
                              env={**base, **(env or {})}, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None


def _refused(proc, expected: str) -> tuple[int, bool]:
    """(tracebacks, as expected): exit 1 and a single short `error:` line, the last one, that says ``expected``."""
    if proc is None:
        return 0, False
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    lines = proc.stderr.strip().splitlines()
    ok = (proc.returncode == 1 and len(errors) == 1 and lines[-1:] == errors and expected in errors[0]
          and len(errors[0]) <= 700)
    return proc.stderr.count(TRACEBACK) + proc.stdout.count(TRACEBACK), ok


def origin_escapes(tmp: Path) -> dict:
    """Redirects and meta refreshes to another port of 127.0.0.1, https on the http port."""
    from policytrends.crawlers.run import crawl
    from tests.hostile_site import ESCAPES, OtherService, RouteSite, escape_routes, listing_sources

    other = OtherService()
    site = RouteSite(escape_routes(other.base))
    db = f"sqlite:///{tmp / 'escapes.sqlite'}"
    try:
        # listing_sources' pattern for "s" is ^/s/(?!list): every page the listing links is an article.
        report = crawl(listing_sources(tmp / "escapes.yaml", site.base, ["s"], list_path="/s/list"), db, tmp / "escapes")
    finally:
        site.close()
        other.close()
    counts = report.sources["s"]
    stored = _stored(db)
    own = [r for r in stored if r.title == "A page of the source itself" and r.url.startswith(site.base)]
    return row("redirects and meta refreshes out of the source's origin (another port, https on the http port)",
               len(ESCAPES), tracebacks=_log_tracebacks(report), outside_scope=len(other.hits),
               documents_lost=1 - min(len(own), 1), wrongly_stored=len(stored) - min(len(own), 1),
               unexpected=int(counts.get("blocked_offsite", 0) != len(ESCAPES)))


def hostile_sources_files(tmp: Path) -> dict:
    """YAML alias bombs, 20,000 nested brackets, a non-string title... through `sources check`, `crawl`, `run`."""
    from tests.hostile_site import CLI_CASES, COMMANDS, HOSTILE_FILES

    tracebacks = unexpected = 0
    for case, command in CLI_CASES:
        text, expected = HOSTILE_FILES[case]
        path = tmp / "hostile-sources" / f"{case}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        started = time.monotonic()
        proc = _cli(tmp / "hostile-sources", [*COMMANDS[command], str(path)], timeout=60)
        t, ok = _refused(proc, expected)
        tracebacks += t
        unexpected += not ok or time.monotonic() - started >= 30
    return row("sources files built to exhaust the loader (alias bombs, deep nesting, non-string title), "
               "through the CLI", len(CLI_CASES), tracebacks=tracebacks, unexpected=unexpected)


def blocked_pages(tmp: Path) -> dict:
    """The two real block pages (a bot challenge, a rate-limit page) served by a loopback site."""
    from policytrends.crawlers.run import crawl
    from tests.hostile_site import RouteSite, block_routes, listing_sources

    # Read where they lie, never copied into the repository; without them, the tests' own fixtures.
    folder = REAL_BLOCK_PAGES if REAL_BLOCK_PAGES.is_dir() else ROOT / "tests" / "fixtures" / "sites" / "blocked"
    challenge, rate_limit = (next(folder.glob(pattern)).read_bytes() for pattern in ("*challenge*.htm*", "*rate*limit*.htm*"))
    sites = block_routes(challenge, rate_limit)
    site = RouteSite({path: route for routes in sites.values() for path, route in routes.items()})
    db = f"sqlite:///{tmp / 'blocked.sqlite'}"
    try:
        report = crawl(listing_sources(tmp / "blocked.yaml", site.base, list(sites)), db, tmp / "blocked")
    finally:
        site.close()
    stored = _stored(db)
    waited = {f"Article {i} after the wait" for i in (1, 2, 3)}
    kept = {r.title for r in stored if r.source == "limited-once" and r.title in waited}
    unexpected = sum(report.sources[name].get("blocked", 0) != 1 for name in sites)
    return row(f"block pages: bot challenge and rate limit ({'real captures' if folder == REAL_BLOCK_PAGES else 'fixtures'}"
               ", as 200, 403, 429), then a rate limit lifted", len(sites), tracebacks=_log_tracebacks(report),
               documents_lost=len(waited - kept), wrongly_stored=len(stored) - len(kept), unexpected=unexpected)


def hostile_settings_and_files(tmp: Path) -> dict:
    """Settings, label files, input files and output paths of issue 15 items 5-7, through the CLI."""
    import shutil

    import pandas as pd

    from tests.helpers import label_studio_shapes, read_only_folder

    home = tmp / "hostile-config"
    home.mkdir()
    settings_file = home / "policytrends.toml"
    settings_file.write_bytes(b'schedule = "0 2 * * *"\n# r\xe9sum\xe9 of the team settings\n')
    shapes = label_studio_shapes(home)
    latin = home / "labels.csv"
    latin.write_bytes("text,labels\nThe grid was hacked.,cyber\nLa d\xe9fense antimissile,bmd\n".encode("latin-1"))
    passages = home / "passages.csv"
    pd.DataFrame({"text": ["Intruders planted malware in the regional power grid."]}).to_csv(passages, index=False)
    a_file = home / "report.txt"
    a_file.write_text("an analyst's notes", encoding="utf-8")
    cases = [  # (args, environment, what the error line must say)
        (["config"], {"POLICYTRENDS_SETTINGS": str(settings_file)}, "is not UTF-8 text (byte 0xe9 on line 2): save it as UTF-8"),
        (["config"], {"POLICYTRENDS_SCHEDULE": "0 0 31 2 *"}, "never fires"),
        (["config"], {"POLICYTRENDS_DB_URL": "mysql://analyst:secret@db.internal/policy"}, "SQLite or PostgreSQL only"),
        (["config"], {"POLICYTRENDS_CRAWL_PROCESSES": "100000"}, "at least 1 and at most 64"),
        (["train", "--labels", str(shapes["keyed-numbers.json"])], {}, "neither Label Studio tasks nor labelled passages"),
        (["train", "--labels", str(shapes["tasks.json"])], {}, "fewer than 10 positive examples"),
        (["train", "--labels", str(latin)], {}, "save it as UTF-8"),
        (["classify", str(latin), "-o", str(home / "tagged.csv")], {}, "save it as UTF-8"),
        (["classify", str(passages), "-o", str(a_file / "tagged.csv")], {}, "is a file where a folder should be"),
        (["label-queue", "-o", str(a_file / "queue")], {}, "is a file where a folder should be"),
        (["trends"], {"POLICYTRENDS_OUTPUTS": str(a_file / "outputs")}, "a file is in the way"),
    ]
    tracebacks = unexpected = tried = 0

    def attempt(args, env, expected):
        nonlocal tracebacks, unexpected, tried
        proc = _cli(home, args, env)
        t, ok = _refused(proc, expected)
        tried, tracebacks, unexpected = tried + 1, tracebacks + t, unexpected + (not ok or "secret" in proc.stderr)

    for case in cases:
        attempt(*case)
    try:
        with read_only_folder(home / "locked") as locked:
            attempt(["classify", str(passages), "-o", str(locked / "tagged.csv")], {}, "cannot write in")
            attempt(["trends"], {"POLICYTRENDS_OUTPUTS": str(locked)}, "cannot write in")
            unexpected += bool(list(locked.iterdir()))  # the probe leaves nothing behind
    except BaseException as exc:  # pytest's skip: root without the immutable flag has no read-only folder
        if type(exc).__name__ != "Skipped":
            raise

    # A ~4.7 MB cell, classified with the model the crash chain trained: bounded, so it ends (and says so).
    model = tmp / "model" / "registry"
    if model.is_dir():
        cell_home = tmp / "long-cell"
        shutil.copytree(model, cell_home / "state" / "registry")
        huge = "The ministry published its spring forecast after a weak winter for exporters. " * 60_000
        cell_in, cell_out = cell_home / "passages.csv", cell_home / "tagged.jsonl"
        pd.DataFrame({"id": [1, 2], "text": ["Hackers planted malware in power grids.", huge]}).to_csv(cell_in, index=False)
        proc = _cli(cell_home, ["classify", str(cell_in), "-o", str(cell_out)], timeout=300)
        tried += 1
        if proc is None:
            unexpected += 1
        else:
            tracebacks += proc.stderr.count(TRACEBACK)
            whole = proc.returncode == 0 and cell_out.exists() and \
                pd.read_json(cell_out, lines=True)["text"].str.len().tolist()[1:] == [len(huge)]
            unexpected += not (whole and "longer than" in proc.stderr)
    return row("settings, label and input files, output paths, a 4.7 MB text cell (issue 15 items 5-7), through the CLI",
               tried, tracebacks=tracebacks, unexpected=unexpected)


def sitemap_entity(tmp: Path) -> dict:
    """A sitemap with an HTML entity XML does not know: that entry lost and counted, the next ones kept."""
    from policytrends.crawlers.run import crawl
    from tests.hostile_site import SITEMAP_NS, RouteSite, bigsite_sources, numbered_article

    routes: dict = {}
    site = RouteSite(routes)
    b = site.base
    articles = ["/a/before", "/a/after?lang=en&region=eu", "/a/last"]
    routes["/sitemap.xml"] = (200, "application/xml", (
        f'<?xml version="1.0"?>\n<urlset {SITEMAP_NS}><url><loc>{b}/a/before</loc></url>'
        f"<url><loc>{b}/a/caf&eacute;-diplomacy</loc></url>"
        f"<url><loc>{b}/a/after?lang=en&region=eu</loc></url><url><loc>{b}/a/last</loc></url></urlset>").encode(), {})
    # The cut-off and the guessed URL are served too: were either requested, it would be stored.
    routes.update({p: (200, "text/html", numbered_article(p), {}) for p in [*articles, "/a/caf", "/a/caf%C3%A9-diplomacy"]})
    db = f"sqlite:///{tmp / 'sitemap.sqlite'}"
    folder = tmp / "sitemap"
    folder.mkdir()
    try:
        report = crawl(bigsite_sources(folder, discovery={"sitemap": [f"{b}/sitemap.xml"]}), db, folder / "crawl")
    finally:
        site.close()
    urls = [r.url for r in _stored(db)]
    expected = {b + p for p in articles}
    return row("a sitemap with an XML entity (one entry lost and counted)", 1, tracebacks=_log_tracebacks(report),
               documents_lost=len(expected - set(urls)), wrongly_stored=len(urls) - len(expected & set(urls)),
               unexpected=int(report.sources["bigsite"].get("sitemap_bad_entries") != 1))


EXTRA_SUITES = [origin_escapes, hostile_sources_files, blocked_pages, hostile_settings_and_files, sitemap_entity]


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
    failed = re.search(r"(\d+) failed", proc.stdout)
    return {"profile": profile, "cases": per_test, "total": sum(per_test.values()), "ok": proc.returncode == 0,
            "failed": int(failed.group(1)) if failed else (0 if proc.returncode == 0 else 1),
            "tests_passed": int(passed.group(1)) if passed else 0, "seconds": seconds}


def rows(h: dict, c: dict, k: dict, f: dict, extra: list[dict]) -> list[dict]:
    return [
        row("one crawl of the misbehaving server (fault kinds)", sum(1 for v in FAULTS.values() if v),
            tracebacks=h["tracebacks"], outside_scope=h["outside_scope"], documents_lost=len(GOOD - set(h["stored"])),
            wrongly_stored=len(h["stored"]) - len(GOOD & set(h["stored"]))),
        row("pipeline killed at a checkpoint, then rerun", len(c["kills"]), tracebacks=c["tracebacks"],
            processes_left=c["processes_left"], documents_lost=c["documents_lost"], wrongly_stored=c["duplicates"]),
        row("kill -9 of `policytrends run` mid-crawl, then the next run", 1, tracebacks=k["tracebacks"],
            processes_left=len(k["left"]) + k["next_left"], documents_lost=ARTICLES - k["documents"],
            wrongly_stored=k["duplicates"]),
        row(f"fuzz cases (profile `{f['profile']}`)", f["total"], tracebacks=f["failed"]),
        *extra,
    ]


def _total(table: list[dict], key: str) -> str:
    measured = [r[key] for r in table if r[key] is not None]
    return str(sum(measured)) if measured else "not measured"


def summary_table(table: list[dict]) -> list[str]:
    cell = lambda v: "–" if v is None else str(v)  # noqa: E731
    return [
        "| figure | value | goal |",
        "|---|---|---|",
        f"| cases tried | {_total(table, 'cases')} | |",
        f"| tracebacks | {_total(table, 'tracebacks')} | 0 |",
        f"| requests outside scope | {_total(table, 'outside_scope')} | 0 |",
        f"| processes left after a kill ({KILL_GRACE:.0f} s later) | {_total(table, 'processes_left')} | 0 |",
        f"| documents lost | {_total(table, 'documents_lost')} | 0 |",
        f"| documents stored that must not be | {_total(table, 'wrongly_stored')} | 0 |",
        f"| cases not ending as they should | {_total(table, 'unexpected')} | 0 |",
        "",
        "| suite | cases | tracebacks | requests outside scope | processes left after a kill | documents lost "
        "| stored that must not be | not as they should |",
        "|---|---|---|---|---|---|---|---|",
        *[f"| {r['suite']} | {r['cases']} | {cell(r['tracebacks'])} | {cell(r['outside_scope'])} | "
          f"{cell(r['processes_left'])} | {cell(r['documents_lost'])} | {cell(r['wrongly_stored'])} | "
          f"{cell(r['unexpected'])} |" for r in table],
        "",
        "Tracebacks: in the output of every process started (and in the crawl's log); a failing fuzz "
        "property counts as one. Requests outside scope: requests that reached a server on an address "
        "a redirect pointed at outside the source. Processes left: processes of a killed run (found by "
        f"a mark in their environment, re-parented or not) still running {KILL_GRACE:.0f} s after the kill. "
        "Stored that must not be: a block page, a page outside the source, a cut-off URL, a duplicate. Not as "
        "they should: a case that did not end in one short `error:` line saying what it must (exit code 1), or "
        "whose crawl did not count it as it must (`blocked_offsite`, `blocked`, `sitemap_bad_entries`), or (the "
        "4.7 MB cell) that was not classified within 300 s, its text kept whole, with a warning.",
        "",
    ]


def kill_section(k: dict) -> list[str]:
    return [
        "## kill -9 of `policytrends run` in the middle of a crawl",
        "",
        "The CLI through Prefect, crawling a loopback site that answers each article after 1 s; the main "
        "process is killed with SIGKILL once 2 documents are stored, then the next run is started.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| processes of the run at the kill (itself, its server, its crawler) | {len(k['running'])}: "
        + ", ".join(f"`{' '.join(cmd.split()[1:4])[:60]}`" for cmd in k["running"]) + " |",
        f"| processes left {KILL_GRACE:.0f} s after the kill | {len(k['left'])} |",
        f"| documents stored at the kill, 1.5 s later | {k['stored_at_kill']}, {k['stored_later']} |",
        f"| articles requested at the kill, 1.5 s later | {k['requested_at_kill']}, {k['requested_later']} |",
        f"| next run | {'finished' if k['next_ok'] else 'FAILED'} in {k['next_seconds']:.1f} s; "
        f"{'took over the stale lock' if k['took_over'] else 'did NOT report the stale lock'} |",
        f"| next run's summary | {'; '.join(f'`{line}`' for line in k['summary'])} |",
        f"| documents in the store after it | {k['documents']} of {ARTICLES}, {k['duplicates']} duplicates |",
        f"| processes left after the next run ended | {k['next_left']} |",
        "",
    ]


def render(h: dict, c: dict, k: dict, f: dict, extra: list[dict]) -> str:
    counts = h["counts"]
    lines = [
        "# Reliability report",
        "",
        f"Written by `bench/reliability.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (2 cores, shared machine). "
        "Every server is on 127.0.0.1.",
        "",
        "## Summary: hostile input and bad luck",
        "",
        *summary_table(rows(h, c, k, f, extra)),
        "## Details",
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
        *kill_section(k),
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
        k = kill_run(tmp)
        print(f"kill -9 of run: {len(k['running'])} processes at the kill, {len(k['left'])} left "
              f"{KILL_GRACE:.0f} s later; next run stored {k['documents']} of {ARTICLES}", flush=True)
        extra = []
        for suite in EXTRA_SUITES:
            started = time.perf_counter()
            got = suite(tmp)
            extra += got if isinstance(got, list) else [got]
            print(f"{suite.__name__}: {time.perf_counter() - started:.0f} s", flush=True)
    f = fuzz(args.fuzz_profile)
    print(f"fuzz: {f['total']} cases", flush=True)
    Path(args.out).write_text(render(h, c, k, f, extra), encoding="utf-8")
    print("\n".join(summary_table(rows(h, c, k, f, extra))))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
