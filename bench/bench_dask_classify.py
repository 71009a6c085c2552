"""Classification of 20,000 stored passages in batches on a local Dask cluster of one, then two workers.

    .venv/bin/python bench/bench_dask_classify.py [--passages 20000]

Builds a store of distinct passages (sentences of the seed labels recombined, so every text is
new to the encoder: no cached embeddings), and classifies all of them with the current model
of .policytrends/registry (or the seed model, trained first if there is none) through the
flow `classify-distributed`, once per worker count, each time into a fresh copy of the store.
Prints wall time and passages per second, and the single-process path for comparison.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_store(path: Path, n: int) -> str:
    import json

    from policytrends.corpus.hashing import text_hash
    from policytrends.corpus.store import CorpusStore, Document

    sentences = []
    for line in (ROOT / "models" / "seed" / "seed_labels.jsonl").read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        sentences += [s.strip() + "." for s in text.split(".") if len(s.split()) > 4]
    rng = random.Random(5)
    store = CorpusStore(f"sqlite:///{path}")
    per_doc = 10
    for d in range(n // per_doc):
        texts = [" ".join(rng.sample(sentences, 3)) for _ in range(per_doc)]
        body = "\n\n".join(texts)
        doc = Document(url=f"https://bench.example/{d}", canonical_url=f"https://bench.example/{d}", source="bench",
                       title=f"doc {d}", authors=[], published=None, body=body, content_hash=text_hash(body),
                       content_type="text/plain", extraction_method="bench")
        store.upsert_document(doc)
        with store.engine.connect() as conn:
            import sqlalchemy as sa

            from policytrends.corpus.store import documents
            doc_id = conn.execute(sa.select(documents.c.id).where(documents.c.canonical_url == doc.canonical_url)).scalar()
        store.replace_passages(doc_id, texts, [text_hash(t) for t in texts], doc.content_hash)
    return store.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], metavar="N",
                        help="Dask worker counts to time, in order (default: 1 2)")
    parser.add_argument("--single", action="store_true", help="also time the single-process path")
    parser.add_argument("--registry", type=Path, default=ROOT / ".policytrends" / "registry",
                        help="model registry to copy the current model from (default: the project's; trains one if empty)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        tmp = Path(tmp)
        os.environ.update({"POLICYTRENDS_HOME": str(tmp / "state"), "POLICYTRENDS_OUTPUTS": str(tmp / "outputs"),
                           "POLICYTRENDS_SETTINGS": ""})
        from policytrends.settings import Settings, configure_environment

        settings = Settings()
        configure_environment(settings)
        settings.ensure_dirs()
        source_registry = args.registry
        if (source_registry / "CURRENT").exists():
            shutil.copytree(source_registry, settings.registry_dir, dirs_exist_ok=True)
        template = tmp / "template.sqlite"
        t0 = time.perf_counter()
        os.environ["POLICYTRENDS_DB_URL"] = build_store(template, args.passages)
        print(f"store of {args.passages} passages built in {time.perf_counter() - t0:.1f} s")
        from policytrends import pipeline

        version = pipeline.ensure_model(Settings())
        from prefect.testing.utilities import prefect_test_harness

        from policytrends.flows.classify_dask import classify_with_dask

        rows = []
        with prefect_test_harness(server_startup_timeout=120):
            runs = [("dask", n) for n in args.workers] + ([("single", 1)] if args.single else [])
            for kind, workers in runs:
                db = tmp / f"run-{kind}-{workers}.sqlite"
                shutil.copy(template, db)
                os.environ["POLICYTRENDS_DB_URL"] = f"sqlite:///{db}"
                started = time.perf_counter()
                if kind == "dask":
                    result = classify_with_dask(Settings(), version, workers=workers)
                else:
                    result = pipeline.classify_step(Settings(), version)
                wall = time.perf_counter() - started
                rows.append((kind, workers, result["passages_classified"], wall))
                print(f"{kind:<7} workers {workers}: {result['passages_classified']} passages in {wall:.1f} s = "
                      f"{result['passages_classified'] / wall:.1f} passages/s", flush=True)
        base = rows[0]
        for kind, workers, _, wall in rows[1:]:
            print(f"{kind} with {workers} worker(s): {base[3] / wall:.2f}x the speed of {base[0]} with {base[1]} worker(s)")


if __name__ == "__main__":
    main()
