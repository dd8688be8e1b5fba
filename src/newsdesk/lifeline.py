"""A helper process that must not outlive the process it serves (Linux pidfds)."""

from __future__ import annotations

import os
import select
import threading


def exit_with(pid: int) -> None:
    """End this process as soon as process `pid` ends, however it ends.

    A process killed outright (SIGKILL, the OOM killer) shuts nothing down, and its helpers
    (the CPU pool's workers, `newsdesk web --workers N`'s server processes) lived on as
    orphans for good: a pool worker holds the write ends of its own pipes, so it never reads
    an end of file, and a server process keeps answering on the shared port, on code and
    settings nobody runs any more. The CPU pool's workers watch the runner itself, not their
    parent (the forkserver, which PR_SET_PDEATHSIG would watch): once they are gone the
    forkserver reads the end of its alive pipe and exits, and the resource tracker after it.

    A pidfd becomes readable when the process ends, even before it is reaped, so a thread
    blocked on it costs nothing until then and sees no recycled pid. Without pidfds (not
    Linux, or a kernel before 5.3) this is a no-op and a killed parent's helpers live on as
    before: polling for the parent instead would wake every helper for its whole life.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:  # it ended before this process started watching
        os._exit(1)
    except (AttributeError, OSError):
        return

    def wait() -> None:
        select.select([pidfd], [], [])
        os._exit(1)

    threading.Thread(target=wait, name=f"exit-with-{pid}", daemon=True).start()
