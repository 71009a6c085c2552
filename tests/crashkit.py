"""Helpers for the crash and reliability tests: a small fixture think tank, a child-process
runner that can be killed at a checkpoint, and a comparable picture of a store and its tables.

Used by ``tests/test_crash_recovery.py`` and ``bench/reliability.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import yaml

from policytrends.faults import KILL_ENV
from policytrends.models.labels import SEED_LABELS
from tests.helpers import REPO, LoopbackServer, QuietHandler

ARTICLES = 12  # articles on the fixture site, 3 passages each, one passage shared by two articles


# In order: each point is reached on the state the kills before it left. Several points per stage.
KILL_CHAIN = [
    "crawl.stored#3",          # 3rd document stored, its crawl state not yet
    "crawl.fetch_recorded#4",  # the rerun refetches the 3rd (no state) and dies after 4 more
    "segment.document#2",
    "segment.document#5",
    "classify.embedded",       # embeddings cached, predictions not saved
    "classify.batch",          # predictions saved, the step not finished
    "aggregate.read",
    "aggregate.table#1",
    "aggregate.table#4",       # some tables new, some not yet written
    "aggregate.report",
]
TRAIN_CHAIN = ["train.saved", "train.renamed"]


def article_pages() -> dict[str, bytes]:
    """``{path: html}`` of a listing page and its articles, written from seed label passages."""
    rows = [json.loads(line) for line in SEED_LABELS.read_text(encoding="utf-8").splitlines()[: ARTICLES * 3]]
    texts = [r["text"] for r in rows]
    pages = {}
    for i in range(ARTICLES):
        paras = texts[i * 3 : i * 3 + 3]
        if i == ARTICLES - 1:
            paras = [texts[0], *paras[1:]]  # a paragraph quoted in two articles: equal probabilities, a tie
        title = f"Fixture commentary number {i + 1}"
        body = "".join(f"<p>{p}</p>" for p in paras)
        pages[f"/a/{i + 1:02d}"] = (
            f"<html><head><title>{title}</title><meta property='article:published_time' "
            f"content='2021-{i % 12 + 1:02d}-{10 + i % 15:02d}'></head><body><nav>Home About</nav>"
            f"<article><h1>{title}</h1><p>By Ada Analyst</p>{body}</article><footer>Copyright</footer></body></html>"
        ).encode()
    links = "".join(f"<a href='{path}'>{path}</a>" for path in pages)
    pages["/list"] = f"<html><body>{links}</body></html>".encode()
    return pages


def write_sources(path: Path, base: str, name: str = "fixture") -> Path:
    entry = {"name": name, "discovery": {"listing": [f"{base}/list"]}, "article_patterns": ["^/a/"],
             "politeness": {"download_delay": 0, "concurrency": 2, "timeout": 10}}
    path.write_text(yaml.safe_dump({"sources": [entry]}), encoding="utf-8")
    return path


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        """The process (or its crawler child, for crawl points) died of SIGKILL at the checkpoint."""
        return self.returncode == -signal.SIGKILL or (self.returncode == 1 and "crawler process failed (exit -9)" in self.stderr)


def run_direct(home: Path, outputs: Path, args: list[str], kill_at: str | None = None, timeout: float = 300,
               mark: str | None = None) -> Outcome:
    """``python -m policytrends.direct ARGS`` with its own state folder, optionally killed at a checkpoint
    (``mark``: see :func:`processes_with_mark`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYTRENDS_")}
    env.update({"POLICYTRENDS_HOME": str(home), "POLICYTRENDS_OUTPUTS": str(outputs), "POLICYTRENDS_SETTINGS": ""})
    if mark:
        env[RUN_MARK_ENV] = mark
    if kill_at:
        env[KILL_ENV] = kill_at
    proc = subprocess.run([sys.executable, "-m", "policytrends.direct", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


class SlowSite(LoopbackServer):
    """The fixture think tank of :func:`article_pages` on 127.0.0.1, each article answered after
    ``delay`` seconds: a crawl of it lasts long enough to be killed in the middle."""

    def __init__(self, delay: float = 1.0):
        import time

        pages = article_pages()
        self.hits: dict[str, int] = {}
        site = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                site.hits[self.path] = site.hits.get(self.path, 0) + 1
                body = pages.get(self.path)
                if body is not None and self.path != "/list":
                    time.sleep(delay)
                try:
                    self.send_response(200 if body is not None else 404)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body or b"")))
                    self.end_headers()
                    self.wfile.write(body or b"")
                except (BrokenPipeError, ConnectionResetError):  # the crawler was killed while we slept: as intended
                    self.close_connection = True

        self.serve(Handler)

    def articles_requested(self) -> int:
        return sum(n for path, n in self.hits.items() if path.startswith("/a/"))


# Set in the environment of a run started by :func:`start_cli`: every process of that run inherits
# it, so the processes left after a kill are found even once they have been re-parented.
RUN_MARK_ENV = "POLICYTRENDS_TEST_RUN_MARK"


def cli_env(home: Path, outputs: Path, mark: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYTRENDS_", "PREFECT_API_URL"))}
    env.update({"POLICYTRENDS_HOME": str(home), "POLICYTRENDS_OUTPUTS": str(outputs), "POLICYTRENDS_SETTINGS": "",
                RUN_MARK_ENV: mark})
    return env


def start_cli(home: Path, outputs: Path, args: list[str], mark: str, log: Path) -> subprocess.Popen:
    """``policytrends ARGS`` in a child process, its output in ``log`` (a pipe nobody reads would
    fill up and stall it); in its own session, so that a test can clean up after it."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "policytrends.cli", *args], cwd=REPO,
                                env=cli_env(home, outputs, mark), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def processes_with_mark(mark: str) -> list[tuple[int, str]]:
    """``(pid, command line)`` of the running processes (not zombies) whose environment carries ``mark``."""
    needle = f"{RUN_MARK_ENV}={mark}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes():
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")))
        except (OSError, IndexError):  # gone meanwhile, or not ours to read
            continue
    return found


def kill_marked(mark: str) -> None:
    """SIGKILL whatever is left of a run (a test's clean-up: it must not leave strays behind when it fails)."""
    for pid, _ in processes_with_mark(mark):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


KILL_GRACE = 2.0  # seconds after a kill -9 of a run by which none of its processes may be left


def stored_documents(db_file: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(db_file, timeout=30) as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.OperationalError:  # no store yet
        return 0


def kill_run_mid_crawl(root: Path, registry: Path, start_timeout: float = 300) -> dict:
    """``kill -9`` of a `policytrends run` while it crawls a slow site, then the next run.

    ``registry`` (a folder with a current model) is copied in for the next run. Returns what the
    test and ``bench/reliability.py`` judge: the run's processes before the kill and
    :data:`KILL_GRACE` seconds after it, documents stored and pages asked for then and a moment
    later, and the next run's exit code, output and store.
    """
    import shutil
    import time
    import uuid

    home, outputs = root / "state", root / "outputs"
    shutil.copytree(registry, home / "registry")
    db_file = home / "corpus.sqlite"
    site = SlowSite(delay=1.0)  # 12 articles, 2 at a time: a crawl of 6 s at least
    sources = write_sources(root / "sources.yaml", site.base)
    mark, next_mark = uuid.uuid4().hex, uuid.uuid4().hex
    out: dict = {}
    try:
        killed_log = root / "killed-run.log"
        run = start_cli(home, outputs, ["run", "--sources", str(sources)], mark, killed_log)
        deadline = time.monotonic() + start_timeout  # Prefect's start-up on a loaded machine
        while stored_documents(db_file) < 2:
            if run.poll() is not None or time.monotonic() > deadline:
                run.kill()
                raise RuntimeError(f"the run ended or stalled before it could be killed:\n"
                                   f"{killed_log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        out["pid"] = run.pid
        out["running"] = processes_with_mark(mark)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        time.sleep(KILL_GRACE)
        out["left"] = processes_with_mark(mark)
        out["killed_output"] = killed_log.read_text(encoding="utf-8", errors="replace")
        out["stored_at_kill"], out["requested_at_kill"] = stored_documents(db_file), site.articles_requested()
        time.sleep(1.5)  # a crawler left running would store more, and ask for more pages
        out["stored_later"], out["requested_later"] = stored_documents(db_file), site.articles_requested()

        started = time.perf_counter()
        after = subprocess.run([sys.executable, "-m", "policytrends.cli", "run", "--sources", str(sources)],
                               cwd=REPO, env=cli_env(home, outputs, next_mark), capture_output=True,
                               text=True, timeout=900)
        out["next_seconds"] = time.perf_counter() - started
        out["next"] = Outcome(after.returncode, after.stdout, after.stderr)
        out["next_left"] = processes_with_mark(next_mark)
        out["picture"] = store_picture(f"sqlite:///{db_file}")
    finally:
        kill_marked(mark)
        kill_marked(next_mark)
        site.close()
    return out


def store_picture(db_url: str) -> dict:
    """Everything stored, keyed by what identifies it (URLs, positions, text hashes), not by row ids."""
    from policytrends.corpus.store import CorpusStore, crawl_state, documents, passages, predictions

    store = CorpusStore(db_url)
    with store.engine.connect() as conn:
        docs = conn.execute(sa.select(documents.c.canonical_url, documents.c.url, documents.c.source, documents.c.title,
                                      documents.c.authors, documents.c.published, documents.c.body,
                                      documents.c.content_hash, documents.c.segmented_hash)).all()
        pas = conn.execute(sa.select(documents.c.canonical_url, passages.c.position, passages.c.text_hash)
                           .select_from(passages.join(documents, passages.c.document_id == documents.c.id))).all()
        preds = conn.execute(sa.select(predictions.c.text_hash, predictions.c.model_version, predictions.c.theme,
                                       predictions.c.probability, predictions.c.label)).all()
        # (not last_status: a rerun asks conditionally and gets 304 where the first run got 200)
        state = conn.execute(sa.select(crawl_state.c.url_key, crawl_state.c.content_hash, crawl_state.c.canonical_url)).all()
    return {"documents": sorted(map(tuple, docs)), "passages": sorted(map(tuple, pas)),
            "predictions": sorted(map(tuple, preds)), "crawl_state": sorted(map(tuple, state))}


def duplicates(picture: dict) -> int:
    """Rows stored more than once under their natural key."""
    keys = {"documents": lambda r: r[0], "passages": lambda r: r[:2], "predictions": lambda r: r[:3],
            "crawl_state": lambda r: r[0]}
    return sum(len(rows) - len({keys[name](r) for r in rows}) for name, rows in picture.items())


def _id_maps(db_url: str) -> tuple[dict[int, str], dict[int, str]]:
    from policytrends.corpus.store import CorpusStore, documents, passages

    with CorpusStore(db_url).engine.connect() as conn:
        docs = dict(conn.execute(sa.select(documents.c.id, documents.c.canonical_url)).all())
        pas = {pid: f"{docs[did]}#{pos}" for pid, did, pos in
               conn.execute(sa.select(passages.c.id, passages.c.document_id, passages.c.position))}
    return docs, pas


# Wall-clock facts: when this store's documents were crawled. Every other column must match.
CRAWL_TIME_COLUMNS = ("first_crawled", "last_crawled")


def tables_picture(outputs: Path, db_url: str) -> dict[str, pd.DataFrame]:
    """Every CSV table, with the store's row ids (``passage_id``, ``document_id``) resolved to the
    document URL and passage position they stand for: ids differ between two stores built from the
    same pages in another order, what they point at must not."""
    docs, pas = _id_maps(db_url)
    out = {}
    for path in sorted(Path(outputs).glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "passage_id" in frame:
            frame["passage_id"] = frame["passage_id"].map(lambda i: pas[int(i)])
        if "document_id" in frame:
            frame["document_id"] = frame["document_id"].map(lambda i: docs[int(i)])
        out[path.name] = frame.drop(columns=[c for c in CRAWL_TIME_COLUMNS if c in frame])
    return out


def differences(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> list[str]:
    """Names of tables that differ (missing, other shape, other values)."""
    out = [f"{name}: only in one run" for name in sorted(set(a) ^ set(b))]
    for name in sorted(set(a) & set(b)):
        if not a[name].equals(b[name]):
            out.append(f"{name}: {len(a[name])} vs {len(b[name])} rows, values differ")
    return out


def small_labels(path: Path) -> Path:
    """100 seed passages with enough of each theme to train on (a full training takes a minute)."""
    rows = [json.loads(line) for line in SEED_LABELS.read_text(encoding="utf-8").splitlines()]
    picked, per_theme = [], {}
    for row in rows:
        themes = row["labels"] or ["none"]
        if all(per_theme.get(t, 0) >= 20 for t in themes):
            continue
        picked.append(row)
        for t in themes:
            per_theme[t] = per_theme.get(t, 0) + 1
    path.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    return path
