"""``policytrends serve``: the nightly schedule and the on-demand retrain, as Prefect deployments.

Two ways to run them:

- **served here** (the default): this process registers the deployments ``nightly`` (cron from
  the ``schedule`` setting, read in ``timezone``) and ``retrain`` (no schedule: started from the
  Prefect UI or ``prefect deployment run retrain/retrain``), then runs each flow run that falls
  due, until it is stopped. With no ``PREFECT_API_URL``, a Prefect server is started first on a
  free port of 127.0.0.1, with its SQLite database in the state folder.
- **on a work pool** (``--work-pool NAME``): the same deployments are registered for the pool
  and this command returns; ``prefect worker start --pool NAME`` on any machine that has the
  project installed at the same path runs them.

The Prefect servers started here (``serve``'s, and the temporary one of `run`, `retrain` and
``backfill``: :func:`flow_api`) die with the process that started them, even a ``kill -9``'d one
(``policytrends/runlock.py``'s ``spawn``); Prefect's own temporary server would outlive it.

Nightly runs never overlap (the deployment's concurrency limit is one: a run that falls due
while another still runs waits). Crawl tasks retry with backoff and each flow has a timeout
(see ``flows/``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from policytrends.errors import PolicyTrendsError
from policytrends.runlock import spawn
from policytrends.settings import Settings

log = logging.getLogger("policytrends.serve")

API_ENV = "PREFECT_API_URL"
SERVER_START_TIMEOUT = 120  # seconds: a first start also creates the database and copies the UI files
NIGHTLY_CONCURRENCY = 1  # a night's run that is still going when the next falls due: the next waits
DEPLOYMENTS = ("nightly", "retrain")


def api_reachable(api_url: str, timeout: float = 5.0) -> str | None:
    """None if the Prefect API at ``api_url`` answers its health check, else the reason in a few words."""
    import httpx

    try:
        response = httpx.get(api_url.rstrip("/") + "/health", timeout=timeout)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no answer'}"
    if response.status_code != 200:
        return f"HTTP {response.status_code} from {api_url.rstrip('/')}/health"
    return None


def require_api(api_url: str) -> None:
    """Stop with a one-line error if the configured Prefect server does not answer."""
    reason = api_reachable(api_url)
    if reason is not None:
        raise PolicyTrendsError(
            f"the Prefect server at {api_url} ({API_ENV}) does not answer ({reason}); start it "
            f"(`prefect server start`), correct {API_ENV}, or unset {API_ENV} so that `policytrends serve` "
            "starts its own server on 127.0.0.1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_server(settings: Settings) -> Iterator[str]:
    """A Prefect server on a free port of 127.0.0.1 for the duration of the block; yields its API URL.

    Its SQLite database and logs are in ``<home>/prefect/``; it is stopped when the block ends.
    """
    home = settings.prefect_home
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'server.sqlite'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop(API_ENV, None)  # the server is the API; it must not look for another one
    log_path = home / "server.log"
    log.info("starting a Prefect server at http://127.0.0.1:%d (database %s, log %s)", port, home / "server.sqlite", log_path)
    with log_path.open("ab") as log_file:
        proc = spawn(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_until_up(proc, api_url, SERVER_START_TIMEOUT, f"see {log_path}")
        yield api_url
    finally:
        _stop(proc, timeout=20, group=True)


def _stop(proc: subprocess.Popen, timeout: float, group: bool = False) -> None:
    """SIGTERM a server this process started (its whole process group with ``group``); SIGKILL after ``timeout`` s."""
    if proc.poll() is not None:
        return
    send = (lambda sig: os.killpg(proc.pid, sig)) if group else proc.send_signal
    send(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()


def _wait_until_up(proc: subprocess.Popen, api_url: str, timeout: float, where: str) -> None:
    deadline = time.monotonic() + timeout
    while api_reachable(api_url, timeout=2.0) is not None:
        if proc.poll() is not None:
            raise PolicyTrendsError(f"the Prefect server stopped at start (exit {proc.returncode}); {where}")
        if time.monotonic() > deadline:
            raise PolicyTrendsError(f"the Prefect server did not answer within {timeout:.0f} s; {where}")
        time.sleep(0.2)


@contextlib.contextmanager
def flow_api(settings: Settings) -> Iterator[str]:
    """The Prefect API for flows started by this process (`run`, `retrain`, `backfill`); yields its URL.

    The one in ``PREFECT_API_URL`` if set. Otherwise the temporary server Prefect itself would
    start (the same command: no UI, database in ``<home>/prefect/``), but started with
    ``spawn``: it dies with this process and holds its run lock, where Prefect's own would
    outlive a ``kill -9`` of the run. Stopped when the block ends.
    """
    import prefect
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        get_current_settings,
        temporary_settings,
    )

    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True),
           "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.pop(API_ENV, None)
    log.info("starting a temporary Prefect server at http://127.0.0.1:%d (stopped at the end of the run)", port)
    proc = spawn([sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
                  "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
                  "--log-level", "error", "--lifespan", "on"], env=env)
    try:
        # (Prefect's own default, 20 s, was missed on this 2-core machine under load)
        timeout = max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), SERVER_START_TIMEOUT)
        _wait_until_up(proc, api_url, timeout, f"set {API_ENV} to a running server (`prefect server start`) instead")
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            try:
                yield api_url
            finally:
                _send_pending_logs()
    finally:
        _stop(proc, timeout=10)


def _send_pending_logs() -> None:
    """Send the run's last log lines to the API while the server is still up.

    Prefect sends logs in the background; left to its exit hook, a loaded machine sends them
    after the temporary server has stopped, and the run ends with "Error logging to API".
    """
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(Exception):  # a log line lost is no reason to fail a finished run
        APILogWorker.drain_all(timeout=10, at_exit=False)


def _schedule(settings: Settings):
    from prefect.schedules import Cron

    return Cron(settings.schedule, timezone=settings.timezone)


def build_deployments(settings: Settings, sources_file: Path | None = None) -> list:
    """The two deployments to serve in this process: nightly on its cron schedule, retrain on demand."""
    from policytrends.flows.nightly import nightly
    from policytrends.flows.retrain import retrain

    params = {"sources_file": str(sources_file)} if sources_file else {}
    return [
        nightly.to_deployment(
            name="nightly", schedules=[_schedule(settings)], concurrency_limit=NIGHTLY_CONCURRENCY, parameters=params,
            description=f"crawl, segment, classify, aggregate: {settings.schedule} ({settings.timezone})"),
        retrain.to_deployment(
            name="retrain", description="train from label files, promote if not worse, reclassify, rebuild tables "
                                        "(on demand: give labels_files)"),
    ]


def deploy_to_work_pool(settings: Settings, work_pool: str, sources_file: Path | None = None) -> list[str]:
    """Register both deployments on ``work_pool``; its workers run them from the installed package's flows folder."""
    from prefect import flow as prefect_flow

    import policytrends.flows

    flows_folder = Path(policytrends.flows.__file__).resolve().parent

    params = {"sources_file": str(sources_file)} if sources_file else {}
    ids = []
    for name, entry, extra in (
        ("nightly", "nightly.py:nightly",
         {"schedules": [_schedule(settings)], "concurrency_limit": NIGHTLY_CONCURRENCY, "parameters": params}),
        ("retrain", "retrain.py:retrain", {}),
    ):
        loaded = prefect_flow.from_source(source=str(flows_folder), entrypoint=entry)
        ids.append(str(loaded.deploy(name=name, work_pool_name=work_pool, build=False, push=False,
                                     print_next_steps=False, ignore_warnings=True, **extra)))
    return ids


def serve(settings: Settings, work_pool: str | None = None, sources_file: Path | None = None) -> int:
    """Serve the deployments (blocks until interrupted), or register them on a work pool and return."""
    if sources_file is not None and not Path(sources_file).is_file():
        raise PolicyTrendsError(f"sources file {sources_file} does not exist; give an existing YAML sources file")
    configured = os.environ.get(API_ENV)
    if configured:
        require_api(configured)
        return _serve_on(configured, settings, work_pool, sources_file)
    if work_pool:
        raise PolicyTrendsError(
            f"--work-pool needs a shared Prefect server that the workers reach too: set {API_ENV} to its API URL "
            "(e.g. http://prefect.internal:4200/api) and run again")
    # Until Prefect's runner takes over SIGTERM (a graceful stop), make it unwind this function,
    # so that the server started here is stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    with local_server(settings) as api_url:
        os.environ[API_ENV] = api_url
        try:
            return _serve_on(api_url, settings, None, sources_file)
        finally:
            os.environ.pop(API_ENV, None)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _serve_on(api_url: str, settings: Settings, work_pool: str | None, sources_file: Path | None) -> int:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    ui = api_url.removesuffix("/api")
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        if work_pool:
            deploy_to_work_pool(settings, work_pool, sources_file)
            print(f"deployments nightly/nightly ({settings.schedule}, {settings.timezone}) and retrain/retrain registered "
                  f"on work pool {work_pool!r} at {ui}; start workers with: prefect worker start --pool {work_pool}",
                  flush=True)
            return 0
        from prefect import serve as prefect_serve

        deployments = build_deployments(settings, sources_file)
        print(f"serving nightly/nightly ({settings.schedule}, {settings.timezone}; next run "
              f"{settings.next_run():%Y-%m-%d %H:%M %Z}) and retrain/retrain at {ui}; Ctrl-C stops", flush=True)
        prefect_serve(*deployments, print_starting_message=False)
    return 0
