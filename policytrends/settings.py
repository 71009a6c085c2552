"""Every path, URL and output name the project uses, declared once; and the user's settings.

Nothing else builds a path by hand: modules ask a :class:`Settings` for it. Each setting
comes from, in this order of precedence:

1. an environment variable (``POLICYTRENDS_DB_URL``, ``POLICYTRENDS_HOME``, ...: see ``KEYS``);
2. the settings file: ``$POLICYTRENDS_SETTINGS`` (or ``policytrends --settings FILE``), else
   ``policytrends.toml`` in the working directory if there is one (``policytrends config
   --example`` prints a file that documents every key);
3. the default: folders in the working directory (``.policytrends/`` for state, ``outputs/``),
   an embedded SQLite store, 02:00 UTC every night. Never the folder the package is installed in.

``policytrends config`` prints each effective value and where it came from.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from policytrends.errors import PolicyTrendsError, require_extra

# In the state folder: who is running the pipeline now (see policytrends/runlock.py).
RUN_LOCK = "run.lock"

SETTINGS_ENV = "POLICYTRENDS_SETTINGS"
# Looked for in the working directory; the example (every key, documented) sits in the repository's root.
SETTINGS_FILE = "policytrends.toml"
# Every key, documented: shipped with the package, printed by `policytrends config --example`.
SETTINGS_EXAMPLE = Path(__file__).with_name("policytrends.example.toml")
WRITE_EXAMPLE = f"policytrends config --example > {SETTINGS_FILE}"
# The defaults of home and outputs, relative to the working directory when settings are read.
DEFAULT_HOME = ".policytrends"
DEFAULT_OUTPUTS = "outputs"
DEFAULT_SCHEDULE = "0 2 * * *"  # 02:00 every night
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class Key:
    """One user setting: its name in the settings file, its environment variable, the Settings attribute."""

    name: str
    attribute: str
    path: bool  # a folder or file: relative values are resolved (against the settings file's folder)
    help: str

    @property
    def env(self) -> str:
        return f"POLICYTRENDS_{self.name.upper()}"


KEYS: dict[str, Key] = {k.name: k for k in (
    Key("db_url", "db_url_override", False, "SQLAlchemy URL of the corpus store (default: SQLite file corpus.sqlite in home)"),
    Key("home", "home", True, "state folder: store, model registry, crawl logs, Prefect home"),
    Key("sources", "sources_override", True, "sources file that `run` and the schedule crawl (default: the demo sites)"),
    Key("schedule", "schedule", False, "cron expression of the nightly run: minute hour day-of-month month day-of-week"),
    Key("timezone", "timezone", False, "IANA time zone the schedule is read in"),
    Key("registry", "registry_override", True, "model registry folder (default: registry/ in home)"),
    Key("outputs", "outputs_dir", True, "folder for trend tables, charts and the report"),
    # Scale-out: how many processes crawl, and whether classification fans out over Dask.
    Key("crawl_processes", "crawl_processes", False, "crawler processes; the sources are shared out between them"),
    Key("classify_workers", "classify_workers", False,
        "1: classify in the flow's process; 2 or more: batches on a local Dask cluster of that many workers"),
    Key("dask_address", "dask_address", False, "address of a Dask scheduler (tcp://host:8786): batches go to that cluster"),
)}

_DEFAULTS: dict[str, object] = {
    "db_url": None, "home": DEFAULT_HOME, "sources": None, "schedule": DEFAULT_SCHEDULE,
    "timezone": DEFAULT_TIMEZONE, "registry": None, "outputs": DEFAULT_OUTPUTS,
    "crawl_processes": "2", "classify_workers": "1", "dask_address": None,
}
# Settings that count processes: whole numbers from 1 to MAX_PROCESSES (they arrive as strings from the
# file or the environment). Each process holds a Scrapy crawler or an encoder (~300 MB); beyond a few
# dozen the machine swaps or runs out of file handles long before anything gets faster.
COUNT_KEYS = ("crawl_processes", "classify_workers")
MAX_PROCESSES = 64
# The corpus store runs on these SQLAlchemy backends (corpus/store.py refuses any other when it opens).
DATABASES = ("sqlite", "postgresql")
# A schedule must fire within this many years of now: `0 0 31 2 *` (31 February) never does.
SCHEDULE_HORIZON_YEARS = 5
_DERIVED = {"db_url": "default (corpus.sqlite in home)", "registry": "default (registry/ in home)"}


def settings_file_path() -> Path | None:
    """The settings file to read: ``$POLICYTRENDS_SETTINGS`` (empty: none), else ``policytrends.toml`` in the working directory."""
    named = os.environ.get(SETTINGS_ENV)
    if named is not None:
        if not named.strip():
            return None
        path = Path(named).expanduser().resolve()
        if not path.is_file():
            raise PolicyTrendsError(
                f"settings file {path} (named by {SETTINGS_ENV} or --settings) does not exist; create it with "
                f"`{WRITE_EXAMPLE}` or give the path of an existing file")
        return path
    here = Path.cwd() / SETTINGS_FILE
    return here if here.is_file() else None


def read_settings_file(path: Path) -> dict[str, str]:
    """The file's settings, checked: TOML, only known keys, each a string."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyTrendsError(f"settings file {path} is not valid TOML: {exc}; fix that line (`policytrends config --example` shows every key)") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition; a file saved as Latin-1 or UTF-16 fails here
        raise PolicyTrendsError(f"settings file {path} is not UTF-8 text ({not_utf8(exc)}): save it as UTF-8") from None
    except OSError as exc:
        raise PolicyTrendsError(f"cannot read settings file {path}: {exc.strerror}") from None
    for name, value in data.items():
        if name not in KEYS:
            close = difflib.get_close_matches(name, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PolicyTrendsError(
                f"settings file {path}: unknown key {name!r}{hint}; the known keys are {', '.join(KEYS)}: "
                "rename it or remove it")
        if not isinstance(value, str):
            raise PolicyTrendsError(
                f"settings file {path}: {name} must be a string in quotes, got {value!r}; write {name} = \"...\"")
    return data


def not_utf8(exc: UnicodeDecodeError) -> str:
    """Where a decoding error is, for a message: ``byte 0xe9 on line 12``."""
    line = exc.object.count(b"\n", 0, exc.start) + 1
    return f"byte 0x{exc.object[exc.start]:02x} on line {line}"


def _resolve() -> tuple[dict[str, object], dict[str, str], Path | None]:
    """Each key's value and origin: environment variable, then settings file, then default."""
    path = settings_file_path()
    from_file = read_settings_file(path) if path else {}
    values: dict[str, object] = {}
    origins: dict[str, str] = {}
    for name, key in KEYS.items():
        env = os.environ.get(key.env)
        if env:  # an empty variable counts as unset, as it always has
            value: object = Path(env).expanduser().resolve() if key.path else env
            origin = f"env {key.env}"
        elif name in from_file:
            raw = from_file[name]
            value = (path.parent / Path(raw).expanduser()).resolve() if key.path else raw
            origin = f"file {path}"
        else:
            value, origin = _DEFAULTS[name], _DERIVED.get(name, "default")
            if key.path and value is not None:
                value = Path.cwd() / str(value)
        values[name], origins[name] = value, origin
    return values, origins, path


def check_schedule(expression: str, origin: str) -> str:
    """The cron expression, if Prefect's scheduler will accept it; else a one-line error naming the setting."""
    from croniter import croniter

    fix = ("write five fields, minute hour day-of-month month day-of-week, e.g. '0 2 * * *' for 02:00 every day "
           f"(the schedule setting: {KEYS['schedule'].env} or schedule in the settings file)")
    fields = expression.split()
    if not expression.startswith("@") and len(fields) != 5:
        raise PolicyTrendsError(f"schedule {expression!r} ({origin}) has {len(fields)} fields, not 5; {fix}")
    if any(f.upper() in ("H", "R") for f in fields):  # croniter's hashed/random fields: Prefect refuses them
        raise PolicyTrendsError(f"schedule {expression!r} ({origin}) uses a hashed or random field (H, R); {fix}")
    try:
        croniter(expression)
    except (ValueError, KeyError) as exc:  # croniter's errors derive from ValueError
        reason = str(exc).splitlines()[0] if str(exc) else "it does not parse"
        raise PolicyTrendsError(f"schedule {expression!r} ({origin}) is not a valid cron expression: {reason}; {fix}") from None
    # A valid expression can still name a day that never comes (31 February): croniter only finds
    # out when asked for the next run, which `config` and the scheduler do later.
    try:
        croniter(expression, datetime.now(), max_years_between_matches=SCHEDULE_HORIZON_YEARS).get_next(datetime)
    except (ValueError, KeyError, OverflowError):  # CroniterBadDateError derives from ValueError
        raise PolicyTrendsError(
            f"schedule {expression!r} ({origin}) never fires (no matching date in the next {SCHEDULE_HORIZON_YEARS} "
            f"years: does that day exist in that month?); {fix}") from None
    return expression


def check_count(name: str, value: object, origin: str) -> int:
    """A setting that counts processes or workers: a whole number from 1 to MAX_PROCESSES, else a one-line error."""
    text = str(value).strip()
    # isascii: str.isdigit also accepts superscripts and other scripts' digits, which int() refuses.
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PROCESSES:
        raise PolicyTrendsError(
            f"{name} {value!r} ({origin}) is not a whole number of at least 1 and at most {MAX_PROCESSES}; write e.g. {name} = \"2\" "
            f"in the settings file or {KEYS[name].env}=2 (about one per core)")
    return int(text)


def check_db_url(value: str | None, origin: str) -> str | None:
    """A SQLite or PostgreSQL SQLAlchemy URL (or None: the default SQLite file), else a one-line error."""
    if not value:
        return None
    import sqlalchemy as sa

    fix = (f"set {KEYS['db_url'].env} or db_url in the settings file to a sqlite:////path/to/corpus.sqlite or "
           "postgresql+psycopg://user:password@host:5432/dbname URL, or unset it for the default SQLite file")
    try:
        backend = sa.engine.make_url(value).get_backend_name()
    except sa.exc.ArgumentError:
        raise PolicyTrendsError(f"db_url {_hide_password(value)!r} ({origin}) is not a database URL; {fix}") from None
    # postgres:// is the old spelling corpus/store.py accepts (sqlalchemy names it "postgres").
    if backend not in (*DATABASES, "postgres"):
        raise PolicyTrendsError(
            f"db_url {_hide_password(value)!r} ({origin}) names the database {backend!r}: the corpus store runs on "
            f"SQLite or PostgreSQL only; {fix}")
    if backend != "sqlite":
        require_extra("psycopg", "postgres", f"db_url {_hide_password(value)!r} ({origin}), a PostgreSQL store,")
    return value


def check_dask_address(value: str | None, origin: str) -> str | None:
    if value and "://" not in value:
        raise PolicyTrendsError(
            f"dask_address {value!r} ({origin}) is not a scheduler address; write it as tcp://HOST:PORT "
            f"(e.g. tcp://127.0.0.1:8786), or leave {KEYS['dask_address'].env} unset for a local cluster")
    return value or None


def check_timezone(name: str, origin: str) -> str:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
        return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(zoneinfo.available_timezones()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PolicyTrendsError(
            f"timezone {name!r} ({origin}) is not a known time zone{hint}; use an IANA name such as 'UTC' or "
            f"'Europe/Berlin' (the timezone setting: {KEYS['timezone'].env} or timezone in the settings file)") from None


@dataclass(frozen=True)
class Settings:
    """Where the state folder, store, model registry and outputs live, and when the nightly run starts.

    ``Settings()`` reads the environment and the settings file (see the module docstring); an
    argument given explicitly wins over both. Bad values raise :class:`PolicyTrendsError`.
    """

    home: Path = None
    outputs_dir: Path = None
    db_url_override: str | None = None
    sources_override: str | None = None
    registry_override: str | None = None
    schedule: str = None  # cron expression, read in ``timezone``
    timezone: str = None  # IANA name
    crawl_processes: int = None  # crawler child processes (sources shared out between them)
    classify_workers: int = None  # 1: in process; more: a local Dask cluster of that many workers
    dask_address: str | None = None  # a remote Dask scheduler instead of a local cluster
    settings_file: Path | None = field(default=None, compare=False)
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        values, origins, path = _resolve()
        for name, key in KEYS.items():
            if getattr(self, key.attribute) is not None:
                origins[name] = "argument"
            else:
                value = values[name]
                object.__setattr__(self, key.attribute, str(value) if value is not None and name in ("sources", "registry") else value)
        object.__setattr__(self, "origins", origins)
        object.__setattr__(self, "settings_file", path)
        check_schedule(self.schedule, origins["schedule"])
        check_timezone(self.timezone, origins["timezone"])
        for name in COUNT_KEYS:
            object.__setattr__(self, name, check_count(name, getattr(self, name), origins[name]))
        object.__setattr__(self, "dask_address", check_dask_address(self.dask_address, origins["dask_address"]))
        if self.dask_address or self.classify_workers > 1:
            require_extra("prefect_dask", "dask", f"classifying on Dask (classify_workers {self.classify_workers}, "
                                                  f"dask_address {self.dask_address or '-'})")
        object.__setattr__(self, "db_url_override", check_db_url(self.db_url_override, origins["db_url"]))

    def describe(self) -> dict[str, dict[str, str | None]]:
        """Each setting's effective value (a database password hidden) and its origin, for ``policytrends config``."""
        values = {"db_url": self.db_url, "home": self.home, "sources": self.sources_file, "schedule": self.schedule,
                  "timezone": self.timezone, "registry": self.registry_dir, "outputs": self.outputs_dir,
                  "crawl_processes": self.crawl_processes, "classify_workers": self.classify_workers,
                  "dask_address": self.dask_address}
        out = {}
        for name, key in KEYS.items():
            value = values[name]
            if name == "db_url":
                value = _hide_password(str(value))
            out[name] = {"value": None if value is None else str(value), "origin": self.origins[name], "env": key.env}
        return out

    def next_run(self, after: datetime | None = None) -> datetime:
        """When the schedule fires next, as an aware datetime in ``timezone``."""
        import zoneinfo

        from croniter import croniter

        tz = zoneinfo.ZoneInfo(self.timezone)
        start = (after or datetime.now(tz)).astimezone(tz)
        return croniter(self.schedule, start).get_next(datetime)

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
    def run_lock(self) -> Path:
        """Held by the running `run` or `retrain`: one pipeline run at a time per state folder."""
        return self.home / RUN_LOCK

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    def output(self, name: str) -> Path:
        return self.outputs_dir / name

    def ensure_dirs(self) -> None:
        """Create the state and output folders; a one-line error names the setting if one cannot be."""
        for d, name in ((self.home, "home"), (self.outputs_dir, "outputs"), (self.registry_dir, "registry"),
                        (self.crawl_dir, "home"), (self.prefect_home, "home")):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                reason = "a file is in the way" if isinstance(exc, (FileExistsError, NotADirectoryError)) else exc.strerror
                raise PolicyTrendsError(
                    f"cannot create the {name} folder {d}: {reason}; set {KEYS[name].env} or {name} in the settings "
                    "file to a folder you can write in, or move the file out of the way") from None


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
    # Our log lines outside a flow run (the CLI's trends, a lock take-over) stay local, without a warning.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def _hide_password(url: str) -> str:
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:  # not a URL: shown as given; the store says what is wrong with it
        return url
