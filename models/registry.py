"""The model registry: one folder per trained version and a ``CURRENT`` pointer.

A version folder holds ``head.safetensors`` and ``head.json`` (the classifier, no pickle),
``model.json`` (taxonomy, thresholds, encoder, the encoder weights' sha256 and the library
versions it was trained with, training-data hash, settings, metrics, promotion decision),
``heldout.jsonl`` (the labels it was evaluated on) and ``MODEL_CARD.md``. Promotion rewrites ``CURRENT`` atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from policytrends.errors import PolicyTrendsError
from policytrends.files import write_text_atomic
from policytrends.models.classifier import ThemeClassifier
from policytrends.models.encoder import WEIGHTS_SHA256

HELDOUT_FILE = "heldout.jsonl"  # the labels a version was validated on: the next gate's yardstick

log = logging.getLogger("policytrends.models")
# Versions already warned about in this process: classify loads the model once per batch.
_WARNED: set[tuple[str, str]] = set()


@dataclass
class ModelVersion:
    version: str
    folder: Path
    info: dict

    @property
    def themes(self) -> list[str]:
        return list(self.info["themes"])

    @property
    def weights_sha256(self) -> str | None:
        """sha256 of the encoder weights this version was trained with (None before it was recorded)."""
        return (self.info.get("encoder_weights") or {}).get("sha256")

    def load(self, embedder=None) -> ThemeClassifier:
        self._warn_other_weights()
        return ThemeClassifier.load(self.folder, embedder=embedder)

    def _warn_other_weights(self) -> None:
        """A version trained with other encoder weights still loads (its heads are valid numbers), but
        its embeddings now come from the pinned weights, so its recorded metrics may not hold."""
        trained = self.weights_sha256
        if trained is None or trained == WEIGHTS_SHA256 or (str(self.folder), trained) in _WARNED:
            return
        _WARNED.add((str(self.folder), trained))
        log.warning("model %s was trained with encoder weights sha256 %s, but this installation uses %s: its predictions "
                    "may differ from its recorded metrics (retrain with `policytrends train`)", self.version, trained, WEIGHTS_SHA256)

    def heldout(self):
        """The held-out labels this version was evaluated on (text, labels)."""
        import pandas as pd

        path = self.folder / HELDOUT_FILE
        if not path.exists():
            return pd.DataFrame(columns=["text", "labels"])
        return pd.read_json(path, lines=True, dtype=False)


class Registry:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def versions(self) -> list[ModelVersion]:
        out = []
        if self.root.exists():
            for folder in sorted(self.root.iterdir()):
                info_path = folder / "model.json"
                # ".<version>.partial" is a training that has not finished (or was killed): not a version.
                if folder.is_dir() and not folder.name.startswith(".") and info_path.exists():
                    out.append(ModelVersion(folder.name, folder, json.loads(info_path.read_text(encoding="utf-8"))))
        return out

    def get(self, version: str) -> ModelVersion:
        folder = self.root / version
        if version.startswith(".") or "/" in version or not (folder / "model.json").exists():
            known = [v.version for v in self.versions()]
            raise PolicyTrendsError(f"model version {version!r} not found in {self.root}; known: {known}")
        return ModelVersion(version, folder, json.loads((folder / "model.json").read_text(encoding="utf-8")))

    def current(self) -> ModelVersion | None:
        if not self.pointer.exists():
            return None
        return self.get(self.pointer.read_text(encoding="utf-8").strip())

    def require_current(self) -> ModelVersion:
        cur = self.current()
        if cur is None:
            raise PolicyTrendsError(
                f"no trained model in {self.root} (run `policytrends train` or `policytrends run`, "
                "which trains the first model from the bundled seed labels)"
            )
        return cur

    def resolve(self, version: str | None) -> ModelVersion:
        """The named version, or the current one when ``version`` is empty (a command's ``--model`` left out)."""
        return self.get(version) if version else self.require_current()

    def promote(self, version: str) -> None:
        self.get(version)
        write_text_atomic(self.pointer, version + "\n")  # readers see the old or the new pointer, never half
