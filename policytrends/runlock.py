"""One pipeline run at a time: a lock file in the state folder.

The flows that write the store (``nightly``, ``retrain``, ``backfill``) hold an exclusive
``flock`` on ``<home>/run.lock`` while they work, however they were started: by the CLI, by
``policytrends serve``'s schedule, by a worker of a work pool. They write into it who they are
(pid, host, command, start time). A second run finds the lock held and stops with a message
naming the first. The CLI takes the lock before Prefect starts, so a refusal is immediate;
the flow inside the same process then finds the lock already its own (the lock is re-entrant
within one process). The kernel drops a ``flock`` when its process
dies, however it dies (SIGKILL, OOM, power cut and reboot), so a lock left by a killed run is
never mistaken for a live one: the next run takes it over and says whose it was.

A run's child processes (crawlers, the temporary Prefect server) are started with
:func:`spawn`: they die with the run (``policytrends/lifeline.py``) and inherit the locked file
descriptor, so the kernel keeps the lock held until the last of them has exited. A run killed
with ``kill -9`` therefore keeps out the next one until its crawler has stopped writing too; its
pid and its children's are in the lock file, for the message.

Two machines sharing one state folder over NFS are not covered (``flock`` is local); give
each machine its own ``home`` and point them at one PostgreSQL store instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from policytrends.errors import PolicyTrendsError

log = logging.getLogger("policytrends")


class RunLockedError(PolicyTrendsError):
    """Another run holds the lock."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:  # a zombie (killed, not yet reaped by its parent) is no longer running anything
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_holder(path: Path) -> dict:
    """What the lock file says about the run that wrote it ({} if empty or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe(holder: dict) -> str:
    command = str(holder.get("command", "?"))
    who = f"`policytrends {command}`" if " " not in command else command  # a CLI command name, or a sentence
    return (f"{who} (pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
            f"started {holder.get('started', '?')})")


# Locks this process holds: resolved path -> (pid, what run_lock yielded, fd, what the file says).
# ``flock`` conflicts between two open() of one file even in one process, so nesting is
# recognised here instead.
_held: dict[str, tuple[int, dict, int, dict]] = {}
CHILDREN_GRACE = 5.0  # seconds: a killed run's children get their SIGKILL at once, but exiting takes a moment


def _try_lock(fd: int, holder_dead) -> bool:
    """Take the flock; if only a dead run's children still hold it, give them a moment to exit first."""
    deadline = time.monotonic() + CHILDREN_GRACE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not holder_dead() or time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def _is_dead(holder: dict) -> bool:
    """The run named in the lock file was on this machine and its process is gone."""
    return holder.get("host") == socket.gethostname() and not pid_alive(int(holder.get("pid") or 0))


def _refusal(path: Path) -> RunLockedError:
    holder = read_holder(path)
    if holder and _is_dead(holder):
        alive = [p for p in holder.get("children", []) if pid_alive(int(p))]
        who = f"pid {', '.join(map(str, alive))}" if alive else "they are not recorded in it"
        return RunLockedError(
            f"{describe(holder)} is gone, but processes it started still hold {path} ({who}): stop them "
            f"({'kill ' + ' '.join(map(str, alive)) if alive else 'see `fuser -v ' + str(path) + '`'}), then run again")
    return RunLockedError(
        f"another run is in progress: {describe(holder)}; it holds {path}. Wait for it to finish "
        "(or stop it), then run again")


@contextlib.contextmanager
def run_lock(path: Path, command: str) -> Iterator[dict]:
    """Hold the run lock for the block; raise :class:`RunLockedError` if another run holds it.

    ``command`` names the run for the message another run gets: a CLI command name (``run``) or
    a short sentence. Yields what was written into the lock, plus ``took_over`` (the holder of a
    stale lock, if any). If this process already holds the lock (the CLI took it, then started
    the flow that takes it again), the block runs under the outer hold.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    outer = _held.get(key)
    if outer is not None and outer[0] == os.getpid():  # a forked child is another run: it asks for the lock itself
        yield outer[1]
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd, lambda: _is_dead(read_holder(path))):
            raise _refusal(path)
        previous = read_holder(path)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
              "started": datetime.now(UTC).isoformat(timespec="seconds")}
        if previous:
            # The lock is ours, so whoever wrote this is gone without cleaning up (killed or crashed).
            state = "dead" if previous.get("host") != me["host"] or not pid_alive(int(previous.get("pid", 0))) else "no longer holding it"
            log.warning("taking over a stale run lock left by %s: that process is %s", describe(previous), state)
            me_out = {**me, "took_over": previous}
        else:
            me_out = dict(me)
        _write_holder(fd, me)
        _held[key] = (me["pid"], me_out, fd, me)
        try:
            yield me_out
        finally:
            _held.pop(key, None)
            os.ftruncate(fd, 0)  # a clean exit leaves an empty file: nothing stale to report next time
    finally:
        os.close(fd)  # releases the flock


def spawn(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """``subprocess.Popen(cmd)`` for a process of this run: it dies with this process, and holds
    the run locks this process holds until it exits (their pid is written into the lock file).

    Start it from a thread that outlives it (see ``policytrends/lifeline.py``).
    """
    from policytrends import lifeline

    mine = [entry for entry in _held.values() if entry[0] == os.getpid()]
    pass_fds = (*popen_kwargs.pop("pass_fds", ()), *(fd for _, _, fd, _ in mine))
    proc = subprocess.Popen(lifeline.command(cmd), pass_fds=pass_fds, **popen_kwargs)
    for _, _, fd, holder in mine:
        holder["children"] = [p for p in holder.get("children", []) if pid_alive(p)] + [proc.pid]
        _write_holder(fd, holder)
    return proc


def _write_holder(fd: int, holder: dict) -> None:
    """Replace the lock file's content (who holds it) in place: the file is never reopened, so the flock stays."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)


def flow_lock(path: Path, flow_name: str):
    """The run lock held by a flow run: named after the flow and its Prefect flow run.

    Called at the top of each flow that writes the store, so a run scheduled by
    ``policytrends serve`` and a `policytrends run` typed by an analyst never write at once.
    """
    from prefect.runtime import flow_run

    return run_lock(path, f"the {flow_name} flow (Prefect flow run {flow_run.name or flow_run.id})")
