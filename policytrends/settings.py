"""Every path, URL and output name the project uses, declared once.

Nothing else builds a path by hand: modules ask a :class:`Settings` for it. Values come from
environment variables (``POLICYTRENDS_HOME``, ``POLICYTRENDS_DB_URL``, ``POLICYTRENDS_OUTPUTS``,
``POLICYTRENDS_SOURCES``, ``POLICYTRENDS_REGISTRY``) or fall back to folders inside the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Output file names: part of the contract with analysts (see outputs/README.md).
THEME_TRENDS_MONTHLY = "theme_trends_monthly.csv"
THEME_TRENDS_WEEKLY = "theme_trends_weekly.csv"
THEME_SPIKES = "theme_spikes.csv"
THEME_COOCCURRENCE = "theme_cooccurrence.csv"
THEME_EVIDENCE = "theme_evidence.csv"
SOURCE_COVERAGE = "source_coverage.csv"
# The same tables as Parquet (typed columns, no spreadsheet quoting), for pandas, Arrow, DuckDB.
THEME_TRENDS_MONTHLY_PARQUET = "theme_trends_monthly.parquet"
THEME_TRENDS_WEEKLY_PARQUET = "theme_trends_weekly.parquet"
THEME_SPIKES_PARQUET = "theme_spikes.parquet"
THEME_COOCCURRENCE_PARQUET = "theme_cooccurrence.parquet"
THEME_EVIDENCE_PARQUET = "theme_evidence.parquet"
SOURCE_COVERAGE_PARQUET = "source_coverage.parquet"
THEME_SHARE_CHART = "theme_share_yearly.png"
THEME_SHARE_BY_SOURCE_CHART = "theme_share_by_source.png"
THEME_SHARE_RECENT_CHART = "theme_share_recent.png"
TRENDS_REPORT = "report.html"
RUN_SUMMARY = "run_summary.json"
# `policytrends label-queue`: passages to label, for a spreadsheet and for Label Studio.
LABEL_QUEUE_CSV = "label_queue.csv"
LABEL_QUEUE_LABEL_STUDIO = "label_queue_labelstudio.json"
LABEL_STUDIO_CONFIG = "label_studio_config.xml"
# Columnar snapshot of one model version's predictions, so a run reads only new ones from the store.
PREDICTION_SNAPSHOTS = ".prediction_snapshots"

# Seed labels shipped with the code: the first model is trained from them.
SEED_LABELS = PROJECT_ROOT / "models" / "seed" / "seed_labels.jsonl"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Where the state folder, store, model registry and outputs live."""

    home: Path = field(default_factory=lambda: _env_path("POLICYTRENDS_HOME", PROJECT_ROOT / ".policytrends"))
    outputs_dir: Path = field(default_factory=lambda: _env_path("POLICYTRENDS_OUTPUTS", PROJECT_ROOT / "outputs"))
    db_url_override: str | None = field(default_factory=lambda: os.environ.get("POLICYTRENDS_DB_URL"))
    sources_override: str | None = field(default_factory=lambda: os.environ.get("POLICYTRENDS_SOURCES"))
    registry_override: str | None = field(default_factory=lambda: os.environ.get("POLICYTRENDS_REGISTRY"))

    @property
    def db_url(self) -> str:
        """SQLAlchemy URL of the corpus store: an embedded SQLite file unless overridden."""
        return self.db_url_override or f"sqlite:///{self.home / 'corpus.sqlite'}"

    @property
    def registry_dir(self) -> Path:
        """Model registry: one folder per trained version and a CURRENT pointer."""
        return Path(self.registry_override).resolve() if self.registry_override else self.home / "registry"

    @property
    def sources_file(self) -> Path | None:
        """A user sources file, or None to crawl the bundled demo sites."""
        return Path(self.sources_override).resolve() if self.sources_override else None

    @property
    def crawl_dir(self) -> Path:
        """Crawl logs, per-run statistics and resolved source files."""
        return self.home / "crawl"

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    def output(self, name: str) -> Path:
        return self.outputs_dir / name

    def ensure_dirs(self) -> None:
        for d in (self.home, self.outputs_dir, self.registry_dir, self.crawl_dir, self.prefect_home):
            d.mkdir(parents=True, exist_ok=True)


def configure_environment(settings: Settings) -> None:
    """Environment for the libraries we drive: offline models, quiet local Prefect.

    Must run before ``prefect`` or ``transformers`` is imported.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Telemetry would try the network and log an error on every run.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    # Our own log lines (crawl counts, warnings) go to the Prefect run logs too.
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "policytrends")
