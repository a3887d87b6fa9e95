"""Pieces of a prepare step in forked processes: same results, errors raised."""

from __future__ import annotations

import os

import pytest

from acctlib import parallel

pytestmark = pytest.mark.skipif(
    not parallel.can_fork(), reason="pieces run in forked processes only on Linux"
)


def test_results_keep_item_order():
    # A closure over a local value: forked processes need no pickling of it.
    offset = 1000

    def piece(item):
        return item + offset, os.getpid()

    results = parallel.map_forked(piece, range(8), processes=2)
    assert [value for value, _ in results] == list(range(1000, 1008))
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2


@pytest.mark.parametrize(("items", "processes"), [(range(5), 1), ([7], 4), ([], 2)])
def test_one_process_or_item_runs_here(items, processes):
    results = parallel.map_forked(lambda item: os.getpid(), items, processes)
    assert results == [os.getpid()] * len(items)


def test_error_in_a_piece_is_raised():
    def piece(item):
        if item == 3:
            raise ValueError(f"piece {item} failed")
        return item

    with pytest.raises(ValueError, match="piece 3 failed"):
        parallel.map_forked(piece, range(6), processes=2)


def test_garbage_collection_resumes_after_the_map():
    import gc

    parallel.map_forked(abs, [-1, -2], processes=2)
    assert gc.get_freeze_count() == 0


def test_input_error_keeps_location():
    from acctlib.errors import InputError

    def piece(item):
        raise InputError("bad amount", file="deals.csv", row=item, column="amount")

    with pytest.raises(InputError, match="bad amount") as caught:
        parallel.map_forked(piece, [4, 5], processes=2)
    assert (caught.value.file, caught.value.column) == ("deals.csv", "amount")
    assert caught.value.row in (4, 5)


@pytest.mark.parametrize("processes", [1, 2])
def test_pieces_see_the_state_at_creation(processes):
    state = {"offset": 10}

    def piece(item):
        return item + state["offset"]

    with parallel.ForkedMap(piece, [1, 2, 3], processes) as pending:
        # Work of the build while the pieces run changes nothing they see.
        state["offset"] = 99
        results = pending.results()
    assert results == [11, 12, 13]


def test_build_works_while_pieces_run(tmp_path):
    import time

    started = tmp_path / "started"

    def piece(item):
        started.touch()
        time.sleep(0.3)
        return os.getpid()

    with parallel.ForkedMap(piece, [1, 2], processes=2) as pending:
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists()
        pids = pending.results()
    assert os.getpid() not in pids


def test_leaving_early_cancels_waiting_pieces():
    import concurrent.futures
    import gc
    import time

    def piece(item):
        time.sleep(0.2)
        return item

    with parallel.ForkedMap(piece, range(6), processes=2) as pending:
        pass
    assert gc.get_freeze_count() == 0
    with pytest.raises(concurrent.futures.CancelledError):
        pending.results()
