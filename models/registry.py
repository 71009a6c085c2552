"""The model registry: one folder per trained version and a ``CURRENT`` pointer.

A version folder holds ``head.safetensors`` and ``head.json`` (the classifier, no pickle),
``model.json`` (taxonomy, thresholds, encoder, training-data hash, settings, metrics,
promotion decision), ``heldout.jsonl`` (the labels it was evaluated on) and ``MODEL_CARD.md``. Promotion rewrites ``CURRENT`` atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from policytrends.models.classifier import ThemeClassifier

from policytrends.errors import PolicyTrendsError

HELDOUT_FILE = "heldout.jsonl"  # the labels a version was validated on: the next gate's yardstick


@dataclass
class ModelVersion:
    version: str
    folder: Path
    info: dict

    @property
    def themes(self) -> list[str]:
        return list(self.info["themes"])

    def load(self, embedder=None) -> ThemeClassifier:
        return ThemeClassifier.load(self.folder, embedder=embedder)

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

    def promote(self, version: str) -> None:
        self.get(version)
        tmp = self.pointer.with_suffix(".tmp")
        tmp.write_text(version + "\n", encoding="utf-8")
        os.replace(tmp, self.pointer)  # atomic: readers see the old or the new pointer, never half


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
