"""Shared fixtures: isolated state folders, the demo sites, one trained model per session."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from policytrends.models.labels import SEED_LABELS
from policytrends.settings import SETTINGS_ENV, Settings, configure_environment
from tests.helpers import FixtureSite

# The suite ignores a developer's own settings file and schedule: each test sets what it needs.
os.environ[SETTINGS_ENV] = ""
for _name in ("POLICYTRENDS_SCHEDULE", "POLICYTRENDS_TIMEZONE"):
    os.environ.pop(_name, None)

# Fuzz tests (tests/test_fuzz.py): a fixed budget and seed in CI ("ci", the default), many more
# cases on demand: HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/test_fuzz.py
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", max_examples=60, derandomize=True, deadline=None, print_blob=True)
    _hypothesis_settings.register_profile("long", max_examples=3000, deadline=None, print_blob=True)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # installed with the test extra; without it only the fuzz tests cannot run
    pass

# PostgreSQL: the tests that need it use a fresh schema of this database; without it they
# skip, unless POLICYTRENDS_TEST_PG_REQUIRED=1 (set by .ci/run), where a skip would hide that
# the PostgreSQL backend went untested, so they fail instead.
PG_URL_ENV = "POLICYTRENDS_TEST_PG_URL"
PG_REQUIRED_ENV = "POLICYTRENDS_TEST_PG_REQUIRED"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """A fresh state folder and outputs folder for one test."""
    monkeypatch.setenv("POLICYTRENDS_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("POLICYTRENDS_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.delenv("POLICYTRENDS_DB_URL", raising=False)
    monkeypatch.delenv("POLICYTRENDS_SOURCES", raising=False)
    monkeypatch.delenv("POLICYTRENDS_REGISTRY", raising=False)
    s = Settings()
    configure_environment(s)
    s.ensure_dirs()
    return s


def _no_postgres(reason: str):
    if os.environ.get(PG_REQUIRED_ENV) == "1":
        pytest.fail(f"{reason}, but {PG_REQUIRED_ENV}=1: the PostgreSQL tests must run", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def pg_url():
    """URL of an empty PostgreSQL schema for one test (``search_path`` set in the URL), dropped after it."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        _no_postgres(f"no PostgreSQL: set {PG_URL_ENV} to a postgresql+psycopg:// URL of a database the tests may use "
                     "(.ci/run starts one)")
    import sqlalchemy as sa

    from policytrends.corpus.store import dispose_engine

    admin = sa.create_engine(base, connect_args={"connect_timeout": 10}, poolclass=sa.pool.NullPool)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:  # a URL was given: not reaching it is an error, not a skip
        pytest.fail(f"{PG_URL_ENV} is set but PostgreSQL cannot be reached: {str(exc.orig).splitlines()[0]}", pytrace=False)
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    url = url.render_as_string(hide_password=False)
    yield url
    dispose_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A URL for a new, empty corpus store: an SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        (tmp_path / "store").mkdir()
        return f"sqlite:///{tmp_path / 'store' / 'corpus.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for flow tests, started once per session (it takes ~15 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_sites():
    from policytrends.demo_sites import DemoSites

    with DemoSites() as sites:
        yield sites


@pytest.fixture(scope="session")
def seed_registry(tmp_path_factory) -> Path:
    """A registry holding one model trained on the bundled seed labels (trained once)."""
    from policytrends.models.registry import Registry
    from policytrends.models.training import train

    root = tmp_path_factory.mktemp("seed-registry")
    result = train(SEED_LABELS, Registry(root))
    assert result.promoted
    return root


@pytest.fixture
def trained(settings, seed_registry) -> Settings:
    """``settings`` whose registry already holds the seed model (a copy: tests may change it)."""
    shutil.copytree(seed_registry, settings.registry_dir, dirs_exist_ok=True)
    return settings


_SETTINGS_ENV = ("POLICYTRENDS_HOME", "POLICYTRENDS_OUTPUTS", "POLICYTRENDS_DB_URL", "POLICYTRENDS_SOURCES", "POLICYTRENDS_REGISTRY")


@pytest.fixture(scope="session")
def demo_state(tmp_path_factory, seed_registry, demo_sites):
    """The demo sites crawled over HTTP, segmented, classified by the seed model and aggregated,
    once per session. Read-only: tests that change the store use ``demo_corpus`` (a copy).

    Returns (home folder, outputs folder, aggregate summary).
    """
    import os

    from policytrends import pipeline
    from policytrends.crawlers.sources import DEMO_SOURCES_TEMPLATE

    root = tmp_path_factory.mktemp("demo-state")
    saved = {k: os.environ.get(k) for k in _SETTINGS_ENV}
    for k in _SETTINGS_ENV:
        os.environ.pop(k, None)
    os.environ.update({"POLICYTRENDS_HOME": str(root / "state"), "POLICYTRENDS_OUTPUTS": str(root / "outputs")})
    try:
        s = Settings()
        configure_environment(s)
        s.ensure_dirs()
        shutil.copytree(seed_registry, s.registry_dir, dirs_exist_ok=True)
        pipeline.crawl_step(s, demo_sites.write_sources(DEMO_SOURCES_TEMPLATE, s.crawl_dir / "demo.yaml"))
        pipeline.segment_step(s)
        pipeline.classify_step(s)
        summary = pipeline.aggregate_step(s)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return s.home, s.outputs_dir, summary


@pytest.fixture
def demo_corpus(trained, demo_state) -> Settings:
    """``trained`` holding a copy of the classified demo corpus and its outputs."""
    home, outputs, _ = demo_state
    shutil.copytree(home, trained.home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("prefect"))
    shutil.copytree(outputs, trained.outputs_dir, dirs_exist_ok=True)
    return trained


@pytest.fixture
def make_site():
    sites: list[FixtureSite] = []

    def make(routes):
        site = FixtureSite(routes)
        sites.append(site)
        return site

    yield make
    for s in sites:
        s.close()


# A test that needs the trained seed model, the classified demo corpus or the Prefect harness is
# slow whatever its own body does (when it runs first it pays minutes of training, a crawl or a
# 15 s server start), so it is marked slow here too: `make test-fast` never trains a model.
SLOW_FIXTURES = {"seed_registry", "demo_state", "prefect_harness"}


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
