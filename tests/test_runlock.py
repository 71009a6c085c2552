"""One run at a time: a second `run` or `retrain` refuses, naming the first; a killed run's lock is taken over."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from policytrends.cli import main
from policytrends.runlock import RunLockedError, read_holder, run_lock
from tests.helpers import REPO

HOLDER = """
import sys
from pathlib import Path
from policytrends.runlock import run_lock
with run_lock(Path(sys.argv[1]), "run"):
    print("held", flush=True)
    sys.stdin.read()  # hold until the test closes stdin (or kills us)
"""


@pytest.fixture
def holder(settings):
    """Another process holding the run lock of ``settings``, as a running `policytrends run` would."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(settings.run_lock)], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_second_run_retrain_and_backfill_refuse_naming_the_running_one(trained, holder, capsys, tmp_path):
    settings = trained  # a current model, so backfill gets as far as the lock
    labels = tmp_path / "labels.csv"
    labels.write_text("text,labels\nsome passage,cyber\n")
    for argv in (["run"], ["retrain", "--labels", str(labels)], ["backfill", "--since", "2024-01-01", "--until", "2024-12-31"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: another run is in progress: `policytrends run`")
        assert f"pid {holder.pid} on host {socket.gethostname()}" in err
        assert "started 20" in err and str(settings.run_lock) in err
    assert holder.poll() is None  # the running one is untouched


@pytest.mark.parametrize("argv", [["crawl", "--demo"], ["import", "articles.csv"], ["train", "--labels", "labels.csv"], ["trends"]])
def test_commands_that_write_without_a_flow_refuse_too_before_any_work(settings, holder, capsys, tmp_path, argv):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: another run is in progress: `policytrends run`") and f"pid {holder.pid}" in err
    assert not settings.crawl_dir.exists() or not any(settings.crawl_dir.iterdir())  # nothing crawled
    assert holder.poll() is None


def test_direct_runner_refuses_too(settings, holder):
    with pytest.raises(RunLockedError, match=f"pid {holder.pid}"), run_lock(settings.run_lock, "direct run"):
        pass


def test_lock_of_a_killed_run_is_taken_over(settings, holder, caplog):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert read_holder(settings.run_lock)["pid"] == holder.pid  # left behind: nobody cleaned up
    with caplog.at_level("WARNING", logger="policytrends"), run_lock(settings.run_lock, "run") as me:
        assert me["took_over"]["pid"] == holder.pid
        assert read_holder(settings.run_lock)["pid"] == os.getpid()
    assert f"stale run lock left by `policytrends run` (pid {holder.pid}" in caplog.text
    assert "that process is dead" in caplog.text
    with run_lock(settings.run_lock, "run") as again:  # a clean exit leaves nothing stale
        assert "took_over" not in again


def test_lock_file_naming_a_dead_pid_is_stale(settings):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    settings.run_lock.write_text(f'{{"pid": {gone.pid}, "host": "{socket.gethostname()}", "command": "run", '
                                 '"started": "2026-01-01T02:00:00+00:00"}')
    with run_lock(settings.run_lock, "run") as me:
        assert me["took_over"]["pid"] == gone.pid


TRY_LOCK = """
import sys
from pathlib import Path
from policytrends.runlock import RunLockedError, run_lock
try:
    with run_lock(Path(sys.argv[1]), "run"):
        print("took it")
except RunLockedError:
    print("refused")
"""


def _other_process_tries(path) -> str:
    return subprocess.run([sys.executable, "-c", TRY_LOCK, str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=True).stdout.strip()


def test_lock_is_reentrant_within_one_process_only(settings):
    """The CLI holds the lock and the flow it starts takes it again: the nested hold must not refuse,
    must not release the outer one when it ends, and must still keep other processes out."""
    with run_lock(settings.run_lock, "run") as outer:
        with run_lock(settings.run_lock, "the nightly flow (Prefect flow run x)") as inner:
            assert inner == outer
            assert _other_process_tries(settings.run_lock) == "refused"
        assert read_holder(settings.run_lock)["command"] == "run"  # the inner exit left the outer hold intact
        assert _other_process_tries(settings.run_lock) == "refused"
    assert _other_process_tries(settings.run_lock) == "took it"


@pytest.mark.slow
def test_flows_take_the_lock_themselves(settings, holder, prefect_harness, tmp_path):
    """A flow run that did not come through the CLI (a run scheduled by `policytrends serve`, a
    work-pool worker) refuses to start while another run holds the lock, and writes nothing."""
    from policytrends.flows.backfill import backfill
    from policytrends.flows.nightly import nightly
    from policytrends.flows.retrain import retrain

    labels = tmp_path / "labels.csv"
    labels.write_text("text,labels\nsome passage,cyber\n")
    for start in (nightly, lambda: retrain(labels_files=[str(labels)]),
                  lambda: backfill(since="2024-01-01", until="2024-12-31")):
        with pytest.raises(RunLockedError, match=f"another run is in progress: `policytrends run` \\(pid {holder.pid}"):
            start()
    assert list(settings.outputs_dir.iterdir()) == []
    assert not (settings.registry_dir / "CURRENT").exists()
    assert holder.poll() is None


@pytest.mark.slow
def test_a_flow_run_holding_the_lock_is_named_in_the_refusal(settings, prefect_harness):
    from prefect import flow

    from policytrends.runlock import flow_lock

    @flow(name="lock-probe")
    def probe() -> str:
        with flow_lock(settings.run_lock, "nightly"):
            return read_holder(settings.run_lock)["command"]

    command = probe()
    assert command.startswith("the nightly flow (Prefect flow run ")
    assert "`policytrends" not in command


SPAWNER = """
import sys, time
from pathlib import Path
from policytrends.runlock import run_lock, spawn
with run_lock(Path(sys.argv[1]), "run"):
    child = spawn([sys.executable, "-c", sys.argv[2]])
    print(child.pid, flush=True)
    time.sleep(120)
"""
SLEEPER = "import time; time.sleep(120)"
# A child that takes back its death signal: one that would outlive its run (started by an older
# version, or by a tool that does not use spawn).
STUBBORN = "import ctypes, time; ctypes.CDLL(None).prctl(1, 0, 0, 0, 0); time.sleep(120)"


def _run_with_child(settings, child_code: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", SPAWNER, str(settings.run_lock), child_code], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline())


def _gone_within(pid: int, seconds: float) -> bool:
    from policytrends.runlock import pid_alive

    deadline = time.monotonic() + seconds
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _kill(*pids: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_children_of_a_killed_run_die_with_it(settings):
    run, child = _run_with_child(settings, SLEEPER)
    try:
        assert read_holder(settings.run_lock)["children"] == [child]
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        assert _gone_within(child, 2.0)
        with run_lock(settings.run_lock, "run") as me:
            assert me["took_over"]["pid"] == run.pid
    finally:
        _kill(run.pid, child)


@pytest.mark.slow
def test_a_child_left_alive_by_a_killed_run_keeps_the_next_run_out(settings):
    run, child = _run_with_child(settings, STUBBORN)
    try:
        time.sleep(1.0)  # let it take back its death signal
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        time.sleep(0.5)
        assert not _gone_within(child, 0.1)
        started = time.monotonic()
        with pytest.raises(RunLockedError) as refused, run_lock(settings.run_lock, "run"):
            pass
        assert time.monotonic() - started < 30  # waited a moment for the children to exit, then refused
        message = str(refused.value)
        assert f"`policytrends run` (pid {run.pid} " in message
        assert f"is gone, but processes it started still hold {settings.run_lock} (pid {child}): stop them (kill {child})" in message
        os.kill(child, signal.SIGKILL)
        assert _gone_within(child, 5.0)
        with run_lock(settings.run_lock, "run") as me:  # the last holder gone, the lock is free
            assert me["took_over"]["pid"] == run.pid
    finally:
        _kill(run.pid, child)


def test_a_child_whose_parent_died_before_it_started_does_not_run(tmp_path):
    """The window between fork and prctl: the launcher finds another parent and stops there."""
    marker = tmp_path / "ran"
    done = subprocess.run([sys.executable, "-m", "policytrends.lifeline", "1", "--", "touch", str(marker)],
                          cwd=REPO, timeout=60)
    assert done.returncode == 128 + signal.SIGKILL
    assert not marker.exists()
