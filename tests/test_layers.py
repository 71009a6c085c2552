"""The package's layers, written down: a lower layer never imports a higher one.

From the bottom: the kernel (errors, settings, safe file writing, the run lock), the corpus
store, the workers that read from or write to it (crawlers, models, trends, the demo sites:
none imports another), and the application that strings them together (pipeline, flows, CLI).
Data flows one way: crawl, store, segment, classify, aggregate.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

KERNEL = "kernel"
LAYERS: dict[str, tuple[int, str]] = {
    "policytrends.errors": (0, KERNEL), "policytrends.files": (0, KERNEL), "policytrends.settings": (0, KERNEL),
    "policytrends.faults": (0, KERNEL), "policytrends.runlock": (0, KERNEL), "policytrends.lifeline": (0, KERNEL),
    "policytrends.corpus": (1, "store"),
    "policytrends.crawlers": (2, "crawlers"), "policytrends.models": (2, "models"),
    "policytrends.trends": (2, "trends"), "policytrends.demo_sites": (2, "demo sites"),
    "policytrends.pipeline": (3, "app"), "policytrends.manifest": (3, "app"), "policytrends.reclassify": (3, "app"),
    "policytrends.direct": (3, "app"), "policytrends.serve": (3, "app"), "policytrends.cli": (3, "app"),
    "policytrends.__main__": (3, "app"), "policytrends.flows": (3, "app"),
}
# The repository's folders and the names they install under (pyproject.toml's package-dir).
FOLDERS = {"policytrends": "policytrends", "corpus": "policytrends.corpus", "crawlers": "policytrends.crawlers",
           "models": "policytrends.models", "trends": "policytrends.trends", "demo_sites": "policytrends.demo_sites",
           "flows": "policytrends.flows"}


def layer_of(module: str) -> tuple[int, str]:
    """The layer of a ``policytrends.*`` module: its longest declared prefix."""
    if module == "policytrends":  # the package's __init__: its version only
        return 0, KERNEL
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise KeyError(f"{module} is in no layer: add it to LAYERS in tests/test_layers.py")


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every policytrends import in ``source``, at any depth (lazy imports count too)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("policytrends")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("policytrends"):
            if node.module == "policytrends":  # from policytrends import pipeline
                out += [(node.lineno, f"policytrends.{a.name}") for a in node.names if a.name != "__version__"]
            else:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            out.append((node.lineno, package))  # relative imports stay inside their own package
    return out


def violations(module: str, source: str) -> list[str]:
    """The imports in ``source`` (the code of ``module``) that reach up, or across to a sibling worker."""
    level, name = layer_of(module)
    found = []
    for line, target in imported_modules(source, module):
        if target == "policytrends":
            continue
        t_level, t_name = layer_of(target)
        if t_level > level or (t_level == level and level == 2 and t_name != name):
            found.append(f"{module}:{line} ({name}) imports {target} ({t_name})")
    return found


def product_modules() -> list[tuple[str, Path]]:
    modules = []
    for folder, package in FOLDERS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            modules.append((".".join([package, *parts]), path))
    return modules


def test_every_product_module_is_in_a_layer():
    assert len(product_modules()) > 40
    for module, _ in product_modules():
        layer_of(module)


def test_no_module_imports_a_higher_layer_or_a_sibling_worker():
    found = [v for module, path in product_modules() for v in violations(module, path.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("module, code", [
    ("policytrends.corpus.store", "from policytrends.crawlers.extract import parse_date\n"),
    ("policytrends.corpus.store", "def f():\n    from policytrends import pipeline\n"),
    ("policytrends.models.queue", "from policytrends.trends.build import build_outputs\n"),
    ("policytrends.settings", "import policytrends.corpus.store\n"),
    ("policytrends.trends.build", "from policytrends.cli import main\n"),
])
def test_a_wrong_import_is_caught(module, code):
    assert violations(module, code), code


@pytest.mark.parametrize("module, code", [
    ("policytrends.crawlers.pipelines", "from policytrends.corpus.store import CorpusStore\n"),
    ("policytrends.models.labels", "from policytrends.files import restore_formulas\n"),
    ("policytrends.cli", "from policytrends.trends.build import build_outputs\nfrom policytrends import pipeline\n"),
    ("policytrends.crawlers.run", "from policytrends.crawlers import STAT\n"),
])
def test_a_right_import_passes(module, code):
    assert violations(module, code) == []
