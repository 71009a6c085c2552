"""`policytrends serve`: a real Prefect server, the nightly deployment on a cron schedule, a
scheduled run that completes and writes its outputs; and the one-line errors before serving."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from policytrends.manifest import RUN_MANIFEST
from policytrends.trends.outputs import THEME_TRENDS_MONTHLY
from tests.helpers import free_port


def _env(settings, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return {**env, "POLICYTRENDS_HOME": str(settings.home), "POLICYTRENDS_OUTPUTS": str(settings.outputs_dir),
            "PREFECT_HOME": str(settings.prefect_home), **extra}


def _error_line(proc) -> str:
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_serve_with_an_unreachable_prefect_server_names_the_setting(settings):
    url = f"http://127.0.0.1:{free_port()}/api"
    proc = subprocess.run([sys.executable, "-m", "policytrends.cli", "serve"], capture_output=True, text=True,
                          env=_env(settings, PREFECT_API_URL=url), timeout=120)
    assert proc.returncode == 1
    line = _error_line(proc)
    assert f"the Prefect server at {url} (PREFECT_API_URL) does not answer" in line
    assert "prefect server start" in line and "unset PREFECT_API_URL" in line


def test_serve_with_a_bad_cron_schedule_stops_before_starting_anything(settings):
    proc = subprocess.run([sys.executable, "-m", "policytrends.cli", "serve"], capture_output=True, text=True,
                          env=_env(settings, POLICYTRENDS_SCHEDULE="61 2 * * *"), timeout=120)
    assert proc.returncode == 1
    assert "schedule '61 2 * * *' (env POLICYTRENDS_SCHEDULE) is not a valid cron expression" in _error_line(proc)
    assert not (settings.prefect_home / "server.sqlite").exists()


def test_work_pool_needs_a_shared_prefect_server(settings):
    proc = subprocess.run([sys.executable, "-m", "policytrends.cli", "serve", "--work-pool", "night-shift"],
                          capture_output=True, text=True, env=_env(settings), timeout=120)
    assert proc.returncode == 1
    assert "--work-pool needs a shared Prefect server" in _error_line(proc)


def _completed_nightly_runs(api_url: str) -> list[dict]:
    import httpx

    body = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}},
            "deployments": {"name": {"any_": ["nightly"]}}}
    response = httpx.post(f"{api_url}/flow_runs/filter", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.mark.slow
def test_serve_runs_the_nightly_flow_on_its_cron_schedule(demo_corpus):
    """Every minute: the first scheduled run must complete and write the manifest and the tables."""
    manifest = demo_corpus.output(RUN_MANIFEST)
    assert not manifest.exists()
    table = demo_corpus.output(THEME_TRENDS_MONTHLY)
    table_mtime = table.stat().st_mtime
    env = _env(demo_corpus, POLICYTRENDS_SCHEDULE="* * * * *", PREFECT_RUNNER_POLL_FREQUENCY="2",
               PREFECT_UI_ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "policytrends.cli", "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        api_url = None
        deadline = time.monotonic() + 150
        while api_url is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            output.append(line)
            if line.startswith("serving nightly/nightly (* * * * *, UTC"):
                api_url = line.rsplit(" at ", 1)[1].split(";")[0].strip() + "/api"
        assert api_url, "".join(output)
        assert api_url.startswith("http://127.0.0.1:")
        runs: list[dict] = []
        while not runs and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(2)
            runs = _completed_nightly_runs(api_url)
        while not lines.empty():
            output.append(lines.get())
        assert runs, "no nightly run finished:\n" + "".join(output[-40:])
        assert runs[0]["state"]["type"] == "COMPLETED", "".join(output[-40:])
        assert runs[0]["deployment_id"] is not None
        written = json.loads(manifest.read_text())
        assert written["run_id"] == runs[0]["id"]
        assert written["stages"]["crawl"]["documents_new"] == 0  # the demo corpus was already stored
        assert table.stat().st_mtime > table_mtime
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the runner shuts down and serve stops the server it started
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert proc.returncode == 0
