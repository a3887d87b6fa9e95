"""Independent pieces of a prepare step, computed in forked processes.

Account history computes the account state at twelve month-ends, and the
forecast backtest forecasts from a dozen cut-offs. Each piece is pandas,
numpy and statsmodels work that keeps one core busy, and no piece reads
another's result, so :func:`map_forked` spreads them over processes
forked from the build. A forked process starts at once with the build's
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
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

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
    items = list(items)
    workers = min(int(processes), len(items))
    if workers < 2 or not can_fork():
        return [function(item) for item in items]
    context = multiprocessing.get_context("fork")
    gc.collect()
    gc.freeze()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_install,
        initargs=(function,),
    )
    try:
        return list(pool.map(_call, items))
    finally:
        pool.shutdown(cancel_futures=True)
        gc.unfreeze()


def _install(function: Callable[[Any], Any]) -> None:
    global _function
    _function = function


def _call(item: Any) -> Any:
    assert _function is not None
    return _function(item)
