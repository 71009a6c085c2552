"""Benchmark: passages per second of policytrends classification against a plain ``transformers`` pipeline.

    .venv/bin/python bench/bench_classify.py                                    # trains a temporary model first (~20 s)
    .venv/bin/python bench/bench_classify.py --registry .policytrends/registry  # reuse that registry's current version

The same passages (real paragraphs of the bundled demo corpus, cycled to ``--passages``) go
through four paths, one after the other, in one process:

A. ``policytrends classify`` (cold): :func:`models.tagging.tag_frame` on a DataFrame with a
   ``text`` column: the MiniLM encoder with length-sorted batches, then the theme head.
B1. the store, cold: the passages in a temporary SQLite corpus store, then
    :func:`models.tagging.classify_store` once. It encodes each distinct passage text once and
    fills the store's embedding cache.
B2. the store, warm: ``classify_store`` again with a second model version (a head retrained on
    other labels, same encoder). The embeddings come from the cache: the encoder does not run.
baseline. ``transformers.pipeline("feature-extraction")`` over the texts in the given order,
   ``batch_size=32``, no length sorting; each output is mean-pooled, L2-normalised (as the
   project's encoder does) and given to the same head's ``predict_proba``.

Each path is warmed up once on 32 passages, then timed (``time.perf_counter``) in ``--repeats``
rounds (default 3): A and the baseline take turns going first, and B runs on a fresh store
each round. The medians are reported, with the range, because a shared 2-core machine is
noisy (single runs differed by 25%). Loading the encoder, the pipeline and the registry,
training, and filling the store are not timed. Torch keeps its default number of threads.
Results are recorded in bench/README.md.

Two details make the baseline agree with the project's encoder (checked and printed):

- ``max_length`` given straight to ``pipeline(...)`` is silently dropped by the feature-extraction
  pipeline (texts would be cut at the tokenizer's 512, not 256); it must go in ``tokenize_kwargs``.
- with ``batch_size > 1`` every output is padded to the longest text of its batch, so the mean
  has to be taken over the text's own tokens only (its unpadded token count), not over all rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path

# Before anything imports transformers or tokenizers.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SITES = ("meridian", "harborview", "northgate", "caldera")
WARMUP = 32
MAX_TOKENS = 256


def demo_passages(n: int) -> tuple[list[tuple[str, str, int]], int]:
    """``n`` (site, slug, paragraph) items: every paragraph of the demo articles, cycled."""
    from policytrends.demo_sites.content import load_articles

    distinct = [(a.site, a.slug, i) for site in SITES for a in load_articles(site) for i in range(len(a.paragraphs))]
    return list(islice(cycle(distinct), n)), len(distinct)


def paragraph(site: str, slug: str, i: int) -> str:
    from policytrends.demo_sites.content import load_articles

    return next(a for a in load_articles(site) if a.slug == slug).paragraphs[i]


class CountingEncoder:
    """Wraps the shared encoder's ``encode`` to count the texts it really encodes."""

    def __init__(self, encoder):
        self.encoder, self.inner, self.texts = encoder, encoder.encode, 0

    def __enter__(self):
        def encode(texts, progress=None):
            self.texts += len(texts)
            return self.inner(texts, progress=progress)

        self.encoder.encode = encode
        return self

    def __exit__(self, *exc):
        self.encoder.encode = self.inner


def fill_store(store, items: list[tuple[str, str, int]], copy_size: int) -> None:
    """One document per article and copy of the corpus; its passages written with replace_passages."""
    import hashlib

    from policytrends.corpus.hashing import text_hash
    from policytrends.corpus.store import Document
    from policytrends.demo_sites.content import load_articles

    groups: dict[tuple[int, str, str], list[str]] = {}
    for k, (site, slug, i) in enumerate(items):
        groups.setdefault((k // copy_size, site, slug), []).append(paragraph(site, slug, i))
    by_hash = {}
    for (copy, site, slug), texts in groups.items():
        article = next(a for a in load_articles(site) if a.slug == slug)
        body = "\n".join(texts)
        content_hash = hashlib.sha256(f"{copy}\x00{body}".encode()).hexdigest()
        url = f"https://{site}.bench.invalid/{slug}/?copy={copy}"
        store.upsert_document(Document(url=url, canonical_url=url, source=site, title=article.title,
                                       authors=list(article.authors), published=article.date, body=body,
                                       content_hash=content_hash, content_type="text/html", extraction_method="bench"))
        by_hash[content_hash] = texts
    for doc_id, _body, content_hash in store.documents_to_segment():
        texts = by_hash[content_hash]
        store.replace_passages(doc_id, texts, [text_hash(t) for t in texts], content_hash)


def make_pipeline():
    from transformers import pipeline

    from policytrends.models.encoder import model_dir

    path = str(model_dir())
    # framework="pt" is accepted but a no-op in transformers 5 (PyTorch is its only backend).
    # max_length goes in tokenize_kwargs: given as pipeline(..., max_length=256) it is dropped.
    pipe = pipeline("feature-extraction", model=path, tokenizer=path, framework="pt",
                    tokenize_kwargs={"truncation": True, "max_length": MAX_TOKENS})
    if pipe.tokenizer.padding_side != "right":
        raise SystemExit("the pooling below assumes right padding")
    return pipe


def run_baseline(pipe, model, texts: list[str], batch_size: int):
    """Pipeline embeddings (masked mean, L2-normalised) and the head's probabilities.

    Also returns the unmasked mean over the padded outputs, to show what it would cost.
    """
    import numpy as np
    import torch

    clf = model.load()
    lengths = [len(ids) for ids in pipe.tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]]
    emb = np.zeros((len(texts), 384), dtype=np.float32)
    naive = np.zeros_like(emb)
    longest = 0
    with torch.inference_mode():
        for i, out in enumerate(pipe(texts, batch_size=batch_size, return_tensors=True)):
            hidden = out[0]  # (padded length, 384): padded to the longest text of its batch
            longest = max(longest, hidden.shape[0])
            emb[i] = torch.nn.functional.normalize(hidden[: lengths[i]].mean(0), dim=0).numpy()
            naive[i] = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
    if longest > MAX_TOKENS:
        raise SystemExit(f"pipeline output has {longest} tokens: max_length={MAX_TOKENS} was not applied")
    return clf.predict_proba(texts, emb), emb, naive, clf


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def labels_subset(path: Path, out: Path, drop_every: int = 10) -> Path:
    """The seed labels without every ``drop_every``-th line: training data for a second head."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    out.write_text("\n".join(ln for k, ln in enumerate(lines) if k % drop_every) + "\n", encoding="utf-8")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--registry", type=Path, help="reuse this registry's current model version (read only) instead of training one")
    ap.add_argument("--passages", type=int, default=2000, help="passages to classify (default 2000)")
    ap.add_argument("--batch-size", type=int, default=32, help="baseline pipeline batch size (default 32)")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds; medians are reported (default 3)")
    args = ap.parse_args(argv)

    import logging

    import numpy as np
    import pandas as pd
    import torch

    from policytrends.corpus.hashing import text_hash
    from policytrends.corpus.store import CorpusStore
    from policytrends.models.encoder import get_encoder
    from policytrends.models.labels import SEED_LABELS
    from policytrends.models.registry import Registry
    from policytrends.models.tagging import classify_store, tag_frame
    from policytrends.models.training import train

    logging.basicConfig(level=logging.WARNING)
    items, n_distinct = demo_passages(args.passages)
    texts = [paragraph(*it) for it in items]
    tmp = Path(tempfile.mkdtemp(prefix="bench_classify_"))
    try:
        # ---- models (not timed) ---------------------------------------------------------------
        temp_registry = Registry(tmp / "registry")
        if args.registry:
            model1 = Registry(args.registry).require_current()
            print(f"model 1: {model1.version} (current version of {args.registry})")
        else:
            t, res = timed(lambda: train(SEED_LABELS, temp_registry))
            model1 = temp_registry.get(res.version)
            print(f"model 1: {model1.version} trained from {SEED_LABELS.name} in {t:.1f} s")
        # A second head (other training labels, same encoder), as after an analyst's retraining.
        subset = labels_subset(SEED_LABELS, tmp / "seed_subset.jsonl")
        t, res = timed(lambda: train(subset, temp_registry, force=True))
        model2 = temp_registry.get(res.version)
        print(f"model 2: {model2.version} trained from 90% of {SEED_LABELS.name} in {t:.1f} s")
        if model2.info["encoder"] != model1.info["encoder"] or model2.info["max_tokens"] != model1.info["max_tokens"]:
            raise SystemExit("the two model versions use different encoders")

        encoder = get_encoder()
        pipe = make_pipeline()
        frame = pd.DataFrame({"text": texts})

        # ---- warm-ups: each path once on 32 passages --------------------------------------
        tag_frame(frame.head(WARMUP), model1)
        run_baseline(pipe, model1, texts[:WARMUP], args.batch_size)
        warm_store = CorpusStore(f"sqlite:///{tmp / 'warmup.sqlite'}")
        fill_store(warm_store, items[:WARMUP], copy_size=n_distinct)
        classify_store(warm_store, model1)

        load_start = os.getloadavg()[0]
        # ---- timed rounds: A and the baseline take turns going first, then B on a fresh store --
        times: dict[str, list[float]] = {"A": [], "baseline": [], "B1": [], "B2": []}
        encoded: dict[str, int] = {}
        classified: dict[str, int] = {}
        for r in range(args.repeats):
            def run_a():
                with CountingEncoder(encoder) as count:
                    t, out = timed(lambda: tag_frame(frame, model1))
                times["A"].append(t)
                encoded["A"] = count.texts
                return out

            def run_base():
                t, out = timed(lambda: run_baseline(pipe, model1, texts, args.batch_size))
                times["baseline"].append(t)
                encoded["baseline"] = len(texts)
                return out

            if r % 2 == 0:
                tagged = run_a()
                p_base, emb_base, emb_naive, clf1 = run_base()
            else:
                p_base, emb_base, emb_naive, clf1 = run_base()
                tagged = run_a()

            # B: the corpus store, cold (fills the embedding cache), then reclassified with model 2.
            store = CorpusStore(f"sqlite:///{tmp / f'bench{r}.sqlite'}")
            t_fill, _ = timed(lambda store=store: fill_store(store, items, copy_size=n_distinct))
            for key, model in (("B1", model1), ("B2", model2)):
                with CountingEncoder(encoder) as count:
                    t, res = timed(lambda store=store, model=model: classify_store(store, model))
                times[key].append(t)
                encoded[key] = count.texts
                classified[key] = res["passages_classified"]
            print(f"round {r + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)

        # ---- agreement (last round) --------------------------------------------------------
        themes = [str(c) for c in clf1.classes_]
        p_a = tagged[[f"p_{t}" for t in themes]].to_numpy(dtype=np.float64)  # tag_frame rounds to 4 decimals
        labels_base = [";".join(t for t, h in zip(themes, row, strict=True) if h) for row in p_base >= clf1.thresholds_]
        label_diff = int(sum(a != b for a, b in zip(tagged["labels"], labels_base, strict=True)))
        cached = store.cached_embeddings(encoder.id, [text_hash(t) for t in texts])
        emb_store = np.stack([cached[text_hash(t)] for t in texts])
        p_naive = clf1.predict_proba(texts, emb_naive)

        n = len(texts)
        med = {k: float(np.median(v)) for k, v in times.items()}
        names = {"A": "A  policytrends classify (tag_frame, cold)", "B1": "B1 classify_store, cold (fills the cache)",
                 "B2": "B2 classify_store, 2nd model (cache warm)", "baseline": "   transformers pipeline + same head"}
        print()
        print(f"passages: {n} ({n_distinct} distinct paragraphs of {len(SITES)} demo sites, cycled)")
        print(f"torch threads: {torch.get_num_threads()} (default; {os.cpu_count()} CPUs), torch {torch.__version__}, "
              f"pipeline batch_size={args.batch_size}, project encoder batch size {encoder.batch_size} (length-sorted)")
        print(f"median of {args.repeats} timed round(s), after one warm-up per path; range in brackets; "
              f"1-min load average at start {load_start:.2f}, at end {os.getloadavg()[0]:.2f} (other processes slow every path)")
        print()
        print(f"{'path':<45}{'seconds':>9}{'passages/s':>12}{'texts encoded':>15}   range (s)")
        for key in ("A", "B1", "B2", "baseline"):
            print(f"{names[key]:<45}{med[key]:>9.2f}{n / med[key]:>12.1f}{encoded[key]:>15d}   "
                  f"[{min(times[key]):.2f} - {max(times[key]):.2f}]")
        print()
        ratios = [b / a for a, b in zip(times["A"], times["baseline"], strict=True)]
        print(f"ratio A / baseline (passages per second): {med['baseline'] / med['A']:.2f}x "
              f"(per round: {', '.join(f'{x:.2f}' for x in ratios)})")
        print(f"store: {store.count('documents')} documents, {store.count('passages')} passages (filled in {t_fill:.1f} s, not timed); "
              f"classify_store works on distinct texts: {classified['B1']} classified cold "
              f"({encoded['B1'] / med['B1']:.1f} encoded texts/s), {classified['B2']} with model 2 and {encoded['B2']} encoded")
        print()
        print("agreement with the baseline:")
        print(f"  max |p_A - p_baseline| = {np.abs(p_a - p_base).max():.2e} (p_A rounded to 4 decimals by tag_frame); "
              f"label sets differing: {label_diff}/{n}")
        print(f"  max |embedding in store cache - baseline embedding| = {np.abs(emb_store - emb_base).max():.2e}")
        print(f"  (unmasked mean over the padded pipeline output instead: max |p_A - p| = {np.abs(p_a - p_naive).max():.2e})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
