"""The nightly pipeline with plain functions, no Prefect: ``python -m policytrends.direct``.

The same steps as the ``nightly`` flow (crawl → segment → classify → aggregate), under the
same run lock, without starting Prefect's local API (12-15 s). The crash tests run it in a
child process, kill it at a checkpoint (``policytrends/faults.py``) and run it again.

    python -m policytrends.direct run --sources FILE     # crawl, segment, classify, aggregate
    python -m policytrends.direct train --labels FILE    # train a version, promoted if not worse

Exit codes: 0 done, 1 a PolicyTrendsError (printed as ``error: ...``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from policytrends.errors import PolicyTrendsError
from policytrends.settings import Settings, configure_environment


def run(settings: Settings, sources_file: Path) -> dict:
    """crawl → segment → (model) → classify → aggregate, holding the run lock."""
    from policytrends import pipeline
    from policytrends.runlock import run_lock

    with run_lock(settings.run_lock, "direct run"):
        summary = pipeline.run_stages(settings, sources_file, pipeline.Stages.plain(settings))
    return {"crawl": summary["crawl"]["sources"], "segment": summary["segment"], "classify": summary["classify"],
            "tables": {"rows": summary["tables"]["rows"], "model_version": summary["model_version"]}}


def train(settings: Settings, labels: list[Path], force: bool = False) -> dict:
    from policytrends import pipeline
    from policytrends.runlock import run_lock

    with run_lock(settings.run_lock, "direct train"):
        return pipeline.train_step(settings, labels, force)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policytrends.direct", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--sources", required=True)
    p = sub.add_parser("train")
    p.add_argument("--labels", required=True, action="append")
    p.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        configure_environment(settings)
        settings.ensure_dirs()
        if args.command == "run":
            result = run(settings, Path(args.sources))
        else:
            result = train(settings, [Path(p) for p in args.labels], args.force)
    except PolicyTrendsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
