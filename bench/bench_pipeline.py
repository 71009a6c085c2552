"""The demo `policytrends run` from an empty state, then again with nothing new: wall time per stage.

    .venv/bin/python bench/bench_pipeline.py [--keep-model]

Each run is the real command in a child process, with a fresh state folder and outputs folder
under a temporary directory; the stage times come from the run manifest. The first run trains
the first model from the seed labels (stage `model`) unless --keep-model copies one in from
the project's registry. Also prints the crawl's pages per second on the demo sites.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policytrends.manifest import RUN_MANIFEST  # noqa: E402


def run_once(home: Path, outputs: Path) -> tuple[float, dict]:
    env = {**os.environ, "POLICYTRENDS_HOME": str(home), "POLICYTRENDS_OUTPUTS": str(outputs), "POLICYTRENDS_SETTINGS": ""}
    for name in ("POLICYTRENDS_DB_URL", "POLICYTRENDS_SOURCES", "POLICYTRENDS_REGISTRY", "PREFECT_API_URL"):
        env.pop(name, None)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "policytrends.cli", "run"], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"policytrends run failed:\n{proc.stderr[-3000:]}")
    return wall, json.loads((outputs / RUN_MANIFEST).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-model", action="store_true", help="copy the current model of .policytrends/registry in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        home, outputs = Path(tmp) / "state", Path(tmp) / "outputs"
        if args.keep_model:
            shutil.copytree(ROOT / ".policytrends" / "registry", home / "registry")
        rows = []
        for label in ("empty state", "rerun, nothing new"):
            wall, manifest = run_once(home, outputs)
            rows.append((label, wall, manifest))
        stages = list(rows[0][2]["stage_seconds"])
        print(f"{'run':<22}{'wall s':>8}{'flow s':>8}" + "".join(f"{s:>11}" for s in stages))
        for label, wall, m in rows:
            print(f"{label:<22}{wall:>8.1f}{m['seconds']:>8.1f}" + "".join(f"{m['stage_seconds'][s]:>11.1f}" for s in stages))
        first, second = rows[0], rows[1]
        print(f"rerun / first run: {second[1] / first[1]:.2f} of the wall time")
        crawl = first[2]["stages"]["crawl"]
        print(f"crawl on the demo sites: {crawl['pages_fetched']} pages downloaded in {first[2]['stage_seconds']['crawl']:.1f} s "
              f"= {crawl['pages_fetched'] / first[2]['stage_seconds']['crawl']:.1f} pages/s "
              f"(crawl_processes {os.environ.get('POLICYTRENDS_CRAWL_PROCESSES', '2')}, includes process start-up and the "
              f"sources' politeness delays); rerun: {second[2]['stages']['crawl']['articles_seen']} articles checked in "
              f"{second[2]['stage_seconds']['crawl']:.1f} s")
        print(f"passages: {first[2]['stages']['store']['passages']}, classified in the first run: "
              f"{first[2]['stages']['classify']['passages_classified']}, in the rerun: "
              f"{second[2]['stages']['classify']['passages_classified']}")


if __name__ == "__main__":
    main()
