"""Test modules and benchmarks share code through helper modules, never through each other.

A test file imported by another is collected twice over and its fixtures leak; conftest is
pytest's to load. Shared code lives in tests/helpers.py or a dedicated helper module
(tests/crashkit.py, tests/hostile_site.py).
"""

from __future__ import annotations

import ast

from tests.helpers import REPO


def _forbidden(module: str) -> bool:
    """A test module (test_*) or conftest, however it is named: ``tests.test_x``, ``test_x``, ``conftest``."""
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def forbidden_imports(source: str) -> list[str]:
    """The test modules and conftests a module's source imports, at any depth of the code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if any(_forbidden(part) for part in alias.name.split("."))]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if any(_forbidden(part) for part in module.split(".") if part):
                found.append("." * node.level + module)
            else:  # from tests import test_x / from . import conftest
                found += ["." * node.level + f"{module}.{alias.name}".lstrip(".") for alias in node.names
                          if _forbidden(alias.name)]
    return found


def test_the_check_sees_every_way_of_importing_a_test_module():
    bad = ("from tests.test_cli import run\nimport tests.conftest\nfrom conftest import free_port\n"
           "def f():\n    from tests import test_fuzz\n    from .test_store import x\n    import test_crawl as c\n")
    assert forbidden_imports(bad) == ["tests.test_cli", "tests.conftest", "conftest", "tests.test_fuzz", ".test_store",
                                      "test_crawl"]
    fine = "from tests.helpers import REPO\nfrom tests.crashkit import KILL_CHAIN\nimport pytest\nfrom policytrends import cli\n"
    assert forbidden_imports(fine) == []


def test_no_test_file_or_benchmark_imports_a_test_module_or_conftest():
    files = sorted([*(REPO / "tests").glob("test_*.py"), *(REPO / "tests").glob("conftest.py"), *(REPO / "bench").glob("*.py")])
    assert len(files) > 20
    offenders = {str(f.relative_to(REPO)): found for f in files if (found := forbidden_imports(f.read_text(encoding="utf-8")))}
    assert offenders == {}, "move what these import into tests/helpers.py or a helper module (tests/crashkit.py, ...)"
