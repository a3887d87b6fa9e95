"""Independent pieces of a prepare step, computed in forked processes.

Account history computes the account state at twelve month-ends, and the
forecast backtest forecasts from a dozen cut-offs. Each piece is pandas,
numpy and statsmodels work that keeps one core busy, and no piece reads
another's result, so :func:`map_forked` spreads them over processes
forked from the build. :class:`ForkedMap` does the same while the build
goes on with other work. A forked process starts at once with the build's
memory as it is, so the prepared inputs are neither copied nor pickled.
Only each piece's argument and result are pickled.

A function run this way must not use the workspace connection or any
other engine handle: the forked process has none of the engine's threads.
The parent's objects are frozen out of garbage collection while the
processes run (:func:`gc.freeze`), so that no forked process collects,
and thereby closes, a handle it inherited.

Processes are forked only on Linux, where the tests and benchmarks run
them. Python's documentation calls forking unsafe on macOS, so elsewhere
the pieces run one after another in the build process, with the same
results.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# The function of the running map. The pool's initializer sets it in each
# forked process, and a fork passes the initializer's arguments unpickled.
_function: Callable[[Any], Any] | None = None


def can_fork() -> bool:
    """Return whether :func:`map_forked` runs pieces in forked processes here."""
    return sys.platform.startswith("linux")


def map_forked(
    function: Callable[[Item], Result], items: Iterable[Item], processes: int
) -> list[Result]:
    """Return ``[function(item) for item in items]`` computed in forked processes.

    With fewer than two processes or items, or where :func:`can_fork` is
    false, the items run in this process. Otherwise each forked process
    takes the next item when it is done with one, so pieces of unequal
    cost still share the work. Results come back in the order of
    ``items``. ``function`` need not be picklable, but each item and
    result must be. An error raised by ``function`` is raised here, once
    the pieces already running have finished; the others do not start.
    """
    with ForkedMap(function, items, processes) as pending:
        return pending.results()


class ForkedMap(Generic[Item, Result]):
    """A :func:`map_forked` whose pieces run while this process goes on.

    The processes fork when the map is created, so they see the build as
    it is then. The build may go on meanwhile, with the engine too, and
    collects the results with :meth:`results`. Where the pieces run in
    this process, they run at creation, so they also see the build as it
    was then. Leaving the map's ``with`` block stops the pieces that have
    not started and waits for the others.
    """

    def __init__(
        self,
        function: Callable[[Item], Result],
        items: Iterable[Item],
        processes: int,
    ) -> None:
        items = list(items)
        workers = min(int(processes), len(items))
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[Result]] = []
        self._computed: list[Result] = []
        if workers < 2 or not can_fork():
            self._computed = [function(item) for item in items]
            return
        gc.collect()
        gc.freeze()
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_install,
                initargs=(function,),
            )
            # A forking pool starts all its processes at the first submit.
            self._futures = [self._pool.submit(_call, item) for item in items]
        except BaseException:
            self.close()
            raise

    def results(self) -> list[Result]:
        """Wait for every piece and return the results in the order of the items.

        An error of a piece is raised once the pieces already running have
        finished, and the others do not start.
        """
        if not self._futures:
            return self._computed
        try:
            return [future.result() for future in self._futures]
        finally:
            self.close()

    def close(self) -> None:
        """Stop the pieces that have not started and wait for the others."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        try:
            pool.shutdown(cancel_futures=True)
        finally:
            gc.unfreeze()

    def __enter__(self) -> ForkedMap[Item, Result]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _install(function: Callable[[Any], Any]) -> None:
    global _function
    _function = function


def _call(item: Any) -> Any:
    assert _function is not None
    return _function(item)
