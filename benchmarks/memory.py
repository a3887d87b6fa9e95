"""Peak memory of a process tree, per labelled stage.

A background thread sums the resident set size (RSS) of this process and
all its descendants (notebook workers and their kernels) every 50 ms and
keeps the maximum seen under the current label. A process forked from
this one to prepare (see :mod:`acctlib.parallel`) shares this process's
pages until one of them writes to a page, so its RSS would count the
shared pages twice. For such a process only its private pages count,
read from Linux's ``/proc/<pid>/smaps_rollup``. That file is not read for
the other processes, because reading it walks a process's page tables,
which for this process slowed DuckDB's threads. For the same reason a
forked process is read every ``fork_interval`` (0.5 s), not at every
sample: read every 50 ms, the forked pieces of the large benchmark size
ran slower, and its prepare took 134 s instead of 126 s (one run each).
Between two reads the last value is used. Sampling can miss a spike
shorter than the interval; ``ru_maxrss`` from :func:`max_process_rss_mb`
gives the exact peak of the largest single process instead.
"""

from __future__ import annotations

import contextlib
import resource
import threading
import time
from collections.abc import Iterator

import psutil

MB = 1024 * 1024


class TreeMemorySampler:
    """Sample the RSS of the current process tree into per-label peaks."""

    def __init__(self, interval: float = 0.05, fork_interval: float = 0.5) -> None:
        self.interval = interval
        self.fork_interval = fork_interval
        self.peaks_mb: dict[str, float] = {}
        self.label = "startup"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._root = psutil.Process()
        self._forked: dict[int, bool] = {}
        # Per forked process: when its private bytes were last read, and their count.
        self._private: dict[int, tuple[float, int]] = {}

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._record(read_forks=True)

    @contextlib.contextmanager
    def stage(self, label: str) -> Iterator[None]:
        """Attribute the samples taken inside the block to ``label``."""
        previous, self.label = self.label, label
        self._record(read_forks=True)
        try:
            yield
        finally:
            self._record(read_forks=True)
            self.label = previous

    @property
    def peak_mb(self) -> float:
        return max(self.peaks_mb.values(), default=0.0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._record()

    def _record(self, read_forks: bool = False) -> None:
        total = 0
        for process in [self._root, *self._root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error, OSError):
                if self._is_fork(process):
                    total += self._fork_bytes(process.pid, read_forks)
                else:
                    total += process.memory_info().rss
        label = self.label
        self.peaks_mb[label] = max(self.peaks_mb.get(label, 0.0), total / MB)

    def _fork_bytes(self, pid: int, read_now: bool) -> int:
        """Return the private bytes of fork ``pid``, read once per ``fork_interval``."""
        now = time.monotonic()
        read_at, size = self._private.get(pid, (-1.0, 0))
        if read_now or read_at < 0 or now - read_at >= self.fork_interval:
            size = private_bytes(pid)
            self._private[pid] = (now, size)
        return size

    def _is_fork(self, process: psutil.Process) -> bool:
        """Return whether ``process`` is a fork of this one (same command line)."""
        if process.pid not in self._forked:
            self._forked[process.pid] = (
                process.pid != self._root.pid
                and process.ppid() == self._root.pid
                and process.cmdline() == self._root.cmdline()
            )
        return self._forked[process.pid]


def private_bytes(pid: int) -> int:
    """Return the pages process ``pid`` maps alone, in bytes (Linux only)."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1]) * 1024
    return total


def max_process_rss_mb() -> float:
    """Return the largest peak RSS of this process or any waited-for child.

    Linux reports ``ru_maxrss`` in kilobytes.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024
