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
    from policytrends.corpus.store import CorpusStore
    from policytrends.trends.build import build_outputs

    from bench.synthetic import model_info

    store = CorpusStore(url)
    started = time.perf_counter()
    summary = build_outputs(store, model_info(), Path(outputs))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return {"seconds": round(seconds, 2), "peak_mb": round(peak_mb), "monthly_rows": summary["rows"],
            "prediction_rows_read": summary["prediction_rows_read"], "stages": summary["stage_seconds"],
            "tables": summary["tables"]}


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
    parser.add_argument("--measure", nargs=2, metavar=("URL", "OUTPUTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return

    from bench.synthetic import add_documents, make_store

    with tempfile.TemporaryDirectory(prefix="bench-trends-") as tmp:
        path = Path(args.store) if args.store else Path(tmp) / "corpus.sqlite"
        if not (args.keep and path.exists()):
            started = time.perf_counter()
            make_store(path, passages=args.passages)
            print(f"synthetic store: {args.passages:,} passages x 4 themes in {time.perf_counter() - started:.0f} s ({path})")
        url = f"sqlite:///{path}"
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
