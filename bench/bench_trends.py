"""Benchmark: build every trend output from 1,000,000 synthetic passage predictions.

    .venv/bin/python bench/bench_trends.py                 # 1,000,000 passages, store in a temp folder
    .venv/bin/python bench/bench_trends.py --passages 200000 --store /tmp/b.sqlite --keep

Three builds, each in a fresh process so that its peak memory is its own:

1. cold: no snapshot, all 4,000,000 prediction rows (1,000,000 passages x 4 themes) are read
   from the SQLite store;
2. unchanged: the next night with nothing new (the snapshot answers, nothing is read);
3. nightly: after a crawl adding 10,000 passages (only their 40,000 prediction rows are read).

Each prints wall seconds, peak resident memory (MB) and the seconds per stage. Results are
recorded in bench/README.md. Building the synthetic store itself (about a minute) is not timed.

``--readers`` times only the read, the frames the tables are built from (documents, every
passage with its predictions), two ways, each in a fresh process: the project's reader
(``trends.reading.StoreReader``, rows through Python's ``sqlite3``) and DuckDB's SQLite scanner
returning Arrow columns. Cold: no prediction snapshot, everything is read. Warm: the snapshot
holds every prediction, so only documents and passages are read. The DuckDB frames are
checked equal to the reader's. DuckDB is not a dependency; for this mode only:

    .venv/bin/pip install duckdb==1.5.5 duckdb-extension-sqlite-scanner==1.5.5
    .venv/bin/python bench/bench_trends.py --readers --store /tmp/b.sqlite --keep
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(url: str, outputs: str) -> dict:
    """One build in this process: seconds, peak RSS and the build summary's stage times."""
    from bench.synthetic import model_info
    from policytrends.corpus.store import CorpusStore
    from policytrends.trends.build import build_outputs

    store = CorpusStore(url)
    started = time.perf_counter()
    summary = build_outputs(store, model_info(), Path(outputs))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return {"seconds": round(seconds, 2), "peak_mb": round(peak_mb), "monthly_rows": summary["rows"],
            "prediction_rows_read": summary["prediction_rows_read"], "stages": summary["stage_seconds"],
            "tables": summary["tables"]}


def _duckdb(path: str):
    """A DuckDB connection with the SQLite scanner loaded from its wheel (no download)."""
    import duckdb
    import duckdb_extension_sqlite_scanner as ext

    folder = Path(ext.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    con = duckdb.connect()
    con.execute(f"LOAD '{folder / 'sqlite_scanner.duckdb_extension'}'")
    con.execute(f"ATTACH '{path}' AS store (TYPE sqlite, READ_ONLY)")
    return con


def _duckdb_documents(con):
    """The reader's documents frame, from DuckDB (dates parsed by the reader's own function)."""
    import numpy as np

    from policytrends.trends.reading import _datetimes

    con.execute("SET sqlite_all_varchar = true")  # dates as SQLite stored them (ISO text), as sqlite3 gives them
    frame = con.execute("""
        SELECT CAST(d.id AS BIGINT) AS document_id, d.source, d.published, d.first_seen_at, d.fetched_at, d.canonical_url,
               COALESCE(n.passages, 0) AS passages
        FROM store.documents d
        LEFT JOIN (SELECT CAST(document_id AS BIGINT) AS document_id, count(*) AS passages
                   FROM store.passages GROUP BY 1) n ON n.document_id = CAST(d.id AS BIGINT)
        ORDER BY document_id""").fetch_arrow_table().to_pandas()
    con.execute("SET sqlite_all_varchar = false")
    frame["published"] = _datetimes(frame["published"]).dt.normalize()
    for col in ("first_seen_at", "fetched_at"):
        frame[col] = _datetimes(frame[col])
    frame["passages"] = frame["passages"].astype(np.int64)
    frame["source"] = frame["source"].astype(object)
    frame["canonical_url"] = frame["canonical_url"].astype(object)
    return frame[["document_id", "source", "published", "first_seen_at", "fetched_at", "canonical_url", "passages"]]


def _duckdb_predictions(con, version: str, themes: list[str], snapshot: Path | None):
    """Every passage with its predictions: pivoted and joined inside DuckDB (cold), or the
    passages from DuckDB joined to the snapshot's Parquet inside DuckDB (warm)."""
    import numpy as np

    from policytrends.trends.reading import PassagePredictions

    if snapshot is None:
        cols = ", ".join(f"max(CASE WHEN theme = $t{j} THEN CAST(probability AS FLOAT) END) AS p_{j}, "
                         f"bool_or(CASE WHEN theme = $t{j} THEN CAST(label AS INTEGER) = 1 END) AS l_{j}"
                         for j in range(len(themes)))
        source = f"(SELECT text_hash, {cols} FROM store.predictions WHERE model_version = $version GROUP BY text_hash)"
        params = {"version": version, **{f"t{j}": t for j, t in enumerate(themes)}}
    else:
        cols = ", ".join(f"p_{t} AS p_{j}, l_{t} AS l_{j}" for j, t in enumerate(themes))
        source = f"(SELECT text_hash, {cols} FROM read_parquet('{snapshot}'))"
        params = {}
    table = con.execute(f"""
        SELECT CAST(p.id AS BIGINT) AS id, CAST(p.document_id AS BIGINT) AS document_id, s.*
        FROM store.passages p JOIN {source} s ON s.text_hash = p.text_hash
        ORDER BY id""", params).fetch_arrow_table()
    prob = np.column_stack([table.column(f"p_{j}").to_numpy() for j in range(len(themes))]).astype(np.float32)
    label = np.column_stack([table.column(f"l_{j}").to_numpy(zero_copy_only=False) for j in range(len(themes))]).astype(bool)
    return PassagePredictions(table.column("id").to_numpy(), table.column("document_id").to_numpy(), prob, label, list(themes))


def measure_read(how: str, url: str, snapshot_dir: str) -> dict:
    """One read of the frames in this process: seconds, peak RSS, and a digest to compare the two ways by."""
    import hashlib

    import numpy as np

    from bench.synthetic import model_info
    from policytrends.corpus.store import CorpusStore
    from policytrends.trends.reading import StoreReader

    info = model_info()
    version, themes = info["version"], info["themes"]
    folder = Path(snapshot_dir) if snapshot_dir != "-" else None
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    if how == "reader":
        reader = StoreReader(CorpusStore(url))
        docs = reader.documents()
        pp, _ = reader.predictions(version, themes, folder)
    else:
        con = _duckdb(url.removeprefix("sqlite:///"))
        docs = _duckdb_documents(con)
        pp = _duckdb_predictions(con, version, themes, folder / f"{version}.parquet" if folder else None)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before  # DuckDB scans on several threads: CPU can exceed wall time
    peak_mb = usage.ru_maxrss / 1024
    # Same frames whatever the row order: documents by id, passages by id.
    docs = docs.sort_values("document_id", ignore_index=True)
    order = np.argsort(pp.passage_id, kind="stable")
    digest = hashlib.sha256()
    digest.update(docs.to_csv(index=False).encode())
    for arr in (pp.passage_id[order], pp.document_id[order], pp.prob[order], pp.label[order]):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_mb": round(peak_mb), "passages": len(pp), "digest": digest.hexdigest()[:16]}


def compare_readers(url: str, tmp: Path) -> dict:
    """Cold and warm reads, the project's reader against DuckDB, each in a fresh process."""
    snapshots = tmp / "snapshots"
    out = {}
    for label, how, folder in [("reader cold", "reader", "-"), ("duckdb cold", "duckdb", "-"),
                               ("reader snapshot", "reader", str(snapshots)),  # writes the snapshot: not timed as warm
                               ("reader warm", "reader", str(snapshots)), ("duckdb warm", "duckdb", str(snapshots))]:
        proc = subprocess.run([sys.executable, __file__, "--measure-read", how, url, folder],
                              capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(f"{label} read failed:\n{proc.stderr}")
        out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{label:<16} {out[label]['seconds']:>6.2f} s  cpu {out[label]['cpu_seconds']:>6.2f} s  peak {out[label]['peak_mb']:>5} MB  "
              f"passages {out[label]['passages']:>9,}  frames {out[label]['digest']}")
    return out


def _run(label: str, url: str, outputs: Path) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--measure", url, str(outputs)], capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"{label} build failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = round(time.perf_counter() - started, 2)  # with Python start-up and imports
    print(f"{label:<10} {result['seconds']:>6.2f} s ({result['process_seconds']:>5.2f} s with start-up)  "
          f"peak {result['peak_mb']:>5} MB  prediction rows read {result['prediction_rows_read']:>9,}  stages {result['stages']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--store", help="SQLite file for the synthetic store (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="reuse --store if it exists, and keep it")
    parser.add_argument("--readers", action="store_true", help="time only the read: the reader against DuckDB (see above)")
    parser.add_argument("--measure", nargs=2, metavar=("URL", "OUTPUTS"), help=argparse.SUPPRESS)
    parser.add_argument("--measure-read", nargs=3, metavar=("HOW", "URL", "SNAPSHOTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    if args.measure_read:
        print(json.dumps(measure_read(*args.measure_read)))
        return

    from bench.synthetic import add_documents, make_store

    with tempfile.TemporaryDirectory(prefix="bench-trends-") as tmp:
        path = Path(args.store) if args.store else Path(tmp) / "corpus.sqlite"
        if not (args.keep and path.exists()):
            started = time.perf_counter()
            make_store(path, passages=args.passages)
            print(f"synthetic store: {args.passages:,} passages x 4 themes in {time.perf_counter() - started:.0f} s ({path})")
        url = f"sqlite:///{path}"
        if args.readers:
            print(json.dumps(compare_readers(url, Path(tmp)), indent=1))
        else:
            outputs = Path(tmp) / "outputs"
            cold = _run("cold", url, outputs)
            same = _run("unchanged", url, outputs)
            add_documents(url, passages=10_000)
            nightly = _run("nightly", url, outputs)
            print(json.dumps({"cold": cold, "unchanged": same, "nightly": nightly}, indent=1))
        if args.store and not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
