"""Scope and safety: nothing read or written outside the folders given, no pickles, bound SQL parameters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policytrends.errors import PolicyTrendsError
from policytrends.models.registry import Registry
from tests.helpers import REPO

CODE = [p for d in ("policytrends", "corpus", "crawlers", "models", "trends", "flows")
        for p in (REPO / d).rglob("*.py")]


@pytest.mark.parametrize("name", ["../../etc", "..", ".v1.partial", "a/b", "/etc/passwd"])
def test_registry_versions_cannot_point_outside_the_registry(tmp_path, name):
    registry = Registry(tmp_path / "registry")
    (tmp_path / "registry").mkdir()
    (tmp_path / "model.json").write_text("{}")  # a model.json one level up must not be reachable
    with pytest.raises(PolicyTrendsError, match="not found"):
        registry.get(name)
    registry.pointer.write_text(name)
    with pytest.raises(PolicyTrendsError):
        registry.current()


def test_resolve_is_the_named_version_else_the_current_one(tmp_path, seed_registry):
    registry = Registry(tmp_path / "empty")
    with pytest.raises(PolicyTrendsError, match="no trained model"):
        registry.resolve(None)
    registry = Registry(seed_registry)
    current = registry.require_current().version
    assert registry.resolve(None).version == registry.resolve("").version == current
    assert registry.resolve(current).version == current
    with pytest.raises(PolicyTrendsError, match="not found"):
        registry.resolve("v-does-not-exist")


def test_sql_is_never_built_from_strings():
    """Every query goes through SQLAlchemy expressions with bound parameters; raw SQL is constant."""
    formatted = re.compile(r"(execute|exec_driver_sql|text)\(\s*(f[\"']|[\"'][^\"']*[\"']\s*(%|\.format|\+))")
    offenders = [f"{p.relative_to(REPO)}:{i}" for p in CODE
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if formatted.search(line)]
    assert offenders == []


def test_models_load_without_pickle():
    """No pickle, joblib or torch.load anywhere; the encoder insists on safetensors."""
    banned = re.compile(r"^\s*(import|from)\s+(pickle|joblib|cloudpickle|dill)\b|torch\.load\(|pickle\.loads?\(", re.M)
    offenders = [str(p.relative_to(REPO)) for p in CODE if banned.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert "use_safetensors=True" in (REPO / "models" / "encoder.py").read_text(encoding="utf-8")


def test_pdf_pages_are_capped(monkeypatch):
    from policytrends.crawlers import extract

    pdf = (Path(__file__).parent / "fixtures" / "extraction" / "caldera-pdf-report" / "page.pdf").read_bytes()
    full = extract.extract_pdf(pdf)
    monkeypatch.setattr(extract, "MAX_PDF_PAGES", 1)
    first_page = extract.extract_pdf(pdf)
    assert len(first_page.body) < len(full.body)
