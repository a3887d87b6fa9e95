"""The prepare context: frames kept for later steps, and frames only written."""

from __future__ import annotations

from types import SimpleNamespace

import ibis
import pandas as pd

from acctlib import engine
from acctlib.prepare import PrepareContext


def make_context() -> PrepareContext:
    return PrepareContext(con=engine.connect(), intake=None, params=None)


def test_stored_frame_is_kept_and_written():
    context = make_context()
    frame = pd.DataFrame({"account_id": ["A1", "A2"], "tier": [1, 3]})
    context.store("account_tiers", frame)

    assert context.read("account_tiers") is frame
    assert context.has_table("account_tiers")
    assert context.engine_tables == []
    written = engine.read_table(context.con, "account_tiers")
    pd.testing.assert_frame_equal(written, frame, check_dtype=False)


def test_unkept_frame_reads_from_workspace():
    context = make_context()
    history = pd.DataFrame(
        {
            "month_end": pd.to_datetime(["2026-05-31", "2026-06-30"]),
            "account_id": ["A1", "A1"],
            "tier": [2, 1],
            "reason": ["core fit", "strategic value"],
        }
    )
    context.store("tier_history", history)
    context.store("tier_history", history, keep=False)

    assert "tier_history" not in context.frames
    assert context.engine_tables == ["tier_history"]
    assert context.has_table("tier_history")
    assert not context.has_table("health_history")
    read = context.read("tier_history", ["month_end", "tier"])
    assert list(read.columns) == ["month_end", "tier"]
    expected = history[["month_end", "tier"]]
    pd.testing.assert_frame_equal(
        read.sort_values("month_end", ignore_index=True), expected, check_dtype=False
    )


def test_second_store_lists_table_once():
    context = make_context()
    frame = pd.DataFrame({"account_id": ["A1"], "tier": [4]})
    context.store("health_history", frame, keep=False)
    context.store("health_history", frame.assign(tier=3), keep=False)

    assert context.engine_tables == ["health_history"]
    assert context.read("health_history")["tier"].tolist() == [3]


def test_intake_table_writes_intake_once():
    touches = pd.DataFrame({"touch_id": ["T1", "T2"], "account_id": ["A1", "A2"]})
    intake = SimpleNamespace(tables={"touchpoints": touches})
    context = PrepareContext(con=engine.connect(), intake=intake, params=None)

    table = context.intake_table("touchpoints")
    assert context.intake_stored
    assert table.count().execute() == 2

    # A second request writes nothing, so a row deleted since stays deleted.
    context.con.con.execute("DELETE FROM touchpoints WHERE touch_id = 'T2'")
    context.store_intake()
    context.intake_table("touchpoints")

    remaining = engine.read_table(context.con, "touchpoints")
    assert remaining["touch_id"].tolist() == ["T1"]


def test_table_is_exported_instead_of_its_view():
    context = make_context()
    sums = pd.DataFrame(
        {"account_id": ["A1", "A2"], "linear": [300, 100], "first_touch": [0, 400]}
    )
    context.store_table("credit_sums", ibis.memtable(sums))
    table = context.con.table("credit_sums")
    context.store_view("credits", table.mutate(total=table.linear + table.first_touch))

    assert context.engine_tables == ["credit_sums"]
    assert context.engine_views == ["credits"]
    assert context.has_table("credits")
    assert context.exported_engine_tables() == ["credit_sums"]
    assert context.read("credits", ["total"])["total"].tolist() == [300, 500]
    context.con.con.execute("DELETE FROM credit_sums WHERE account_id = 'A1'")
    assert context.read("credits", ["account_id"])["account_id"].tolist() == ["A2"]
