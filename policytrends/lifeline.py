"""Child processes that die with the process that started them.

``kill -9`` of a `policytrends run` gives it no chance to stop what it started: its crawler
processes would go on storing documents beside the next run, and its temporary Prefect server
would stay up. So every child of a run is started through this module:

    python -m policytrends.lifeline PARENT_PID -- COMMAND...

which asks the kernel to send it SIGKILL when its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)``),
checks that the parent has not died already (the window between ``fork`` and ``prctl``), then
replaces itself with ``COMMAND`` (``exec``: same pid, and the death signal is kept). Done in the
child rather than in a ``preexec_fn``, which is unsafe in a process with threads (Prefect's).

The death signal follows the *thread* that started the child: start children from a thread
that outlives them (the main thread, or one that waits for them, as :func:`crawlers.run.crawl`
does). SIGKILL, not SIGTERM: a crawler stopped politely finishes its requests in flight and
stores more pages; every write is idempotent, so an abrupt stop loses nothing.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SUPPORTED = sys.platform.startswith("linux")


def command(cmd: list[str]) -> list[str]:
    """``cmd`` wrapped so that the process it starts dies with this one (unchanged where unsupported)."""
    if not SUPPORTED:
        return list(cmd)
    return [sys.executable, "-m", "policytrends.lifeline", str(os.getpid()), "--", *cmd]


def die_with_parent(parent_pid: int) -> bool:
    """Ask for SIGKILL when the parent dies; False if it is already gone (we were re-parented)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    return os.getppid() == parent_pid


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m policytrends.lifeline PARENT_PID -- COMMAND...", file=sys.stderr)
        return 2
    if not die_with_parent(int(argv[0])):
        return 128 + signal.SIGKILL  # what the death signal would have done, had it been set in time
    os.execvp(argv[2], argv[2:])  # does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
