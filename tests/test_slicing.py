"""Owner and team slices: selection, and the same figures as the company view."""

from __future__ import annotations

import pandas as pd
import pytest

from acctlib import engine, slicing
from acctlib.errors import ParameterError
from acctlib.intake import load_source
from acctlib.prepare import prepare_workspace
from acctlib.workspace import open_workspace
from tests.conftest import small_params

ACCOUNTS = pd.DataFrame(
    {
        "account_id": ["A1", "A2", "A3", "A4"],
        "owner": ["Yara Kim", " yara kim ", "Omar Nakamura", None],
    }
)
TEAMS = {"east": ["Omar Nakamura", "Yara Kim"]}


@pytest.mark.parametrize(
    ("owner", "team", "expected"),
    [
        ("Yara Kim", "", ["A1", "A2"]),
        ("YARA KIM", "", ["A1", "A2"]),
        ("", "east", ["A1", "A2", "A3"]),
        ("Omar Nakamura", "east", ["A1", "A2", "A3"]),
    ],
)
def test_select_account_ids(owner, team, expected):
    assert slicing.select_account_ids(ACCOUNTS, owner, team, TEAMS) == expected


def test_unknown_team_raises():
    with pytest.raises(ParameterError, match="team 'west' is not in the teams"):
        slicing.select_account_ids(ACCOUNTS, "", "west", TEAMS)


def test_owner_without_accounts_raises():
    with pytest.raises(ParameterError) as raised:
        slicing.select_account_ids(ACCOUNTS, "Nobody", "", TEAMS)

    message = str(raised.value)
    assert message.startswith("owner 'Nobody' owns no account; known owners: ")
    assert "team" not in message


def test_unknown_owner_lists_twenty_owners():
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(25)],
            "owner": [f"Rep {i:02}" for i in range(25)],
        }
    )

    with pytest.raises(ParameterError, match="Rep 19 and 5 more. Check the spelling"):
        slicing.select_account_ids(accounts, "Nobody", "", {})


@pytest.mark.slow
@pytest.mark.parametrize("bulk_min_mb", [-1, 0], ids=["pandas", "bulk"])
def test_owner_slice_keeps_company_figures(
    small_report, small_sample, tmp_path, bulk_min_mb
):
    company_path = small_report.run_dir.parents[1] / "work" / "2026-06-30"
    company = open_workspace(company_path / "workspace.duckdb")
    params = small_params(
        small_sample,
        tmp_path,
        "owner=Yara Kim",
        f"bulk_intake_min_mb={bulk_min_mb}",
    )
    path = tmp_path / "workspace.duckdb"
    prepare_workspace(load_source(params), params, path)
    sliced = open_workspace(path)

    account_map = sliced.table("account_map")
    assert set(account_map["owner"]) == {"Yara Kim"}
    assert sliced.headline["slice"] == "owner Yara Kim"
    assert sum(sliced.headline["accounts_by_status"].values()) == len(account_map)
    ids = account_map["account_id"]
    for name in ("account_tiers", "account_health", "key_accounts"):
        expected = company.table(name)
        expected = expected[expected["account_id"].isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(sliced.table(name), expected, obj=name)
    # The histories are read from the workspace, not kept as frames.
    keys = ["month_end", "account_id"]
    for name in ("tier_history", "health_history"):
        expected = company.table(name)
        expected = expected[expected["account_id"].isin(ids)]
        pd.testing.assert_frame_equal(
            sliced.table(name).sort_values(keys, ignore_index=True),
            expected.sort_values(keys, ignore_index=True),
            obj=name,
        )
    transitions = sliced.table("tier_transitions")
    month = transitions[transitions["period"] == "month"]
    assert month["accounts"].sum() == len(sliced.table("account_tiers"))
    opportunities = sliced.table("opportunities")
    assert opportunities["account_id"].isin(ids).all()
    if bulk_min_mb < 0:
        touches = sliced.table("touchpoints")
        assert not touches.empty
        assert touches["account_id"].isin(ids).all()
    else:
        # Bulk-read touchpoints live only in the prepare connection.
        assert not sliced.has_table("touchpoints")
    credits = sliced.con.table("attribution_credits").to_pandas()
    assert not credits.empty
    assert credits["account_id"].isin(ids).all()
    # The summaries without accounts stay company-wide, as the note states.
    for name in ("attribution_bridge", "forecast"):
        pd.testing.assert_frame_equal(sliced.table(name), company.table(name))
    note = next(n for n in sliced.info["notes"] if n.startswith("Sliced to"))
    assert "So do the forecast and the attribution summaries" in note


def test_filter_bulk_keeps_slice_accounts():
    con = engine.connect()
    con.con.execute(
        "CREATE TEMP TABLE touchpoints AS SELECT * FROM (VALUES ('T1', 'A1'), "
        "('T2', 'A2'), ('T3', NULL), ('T4', 'A1')) t(touch_id, account_id)"
    )

    slicing._filter_bulk(con, "touchpoints", ["A1"])

    kept = con.con.execute("SELECT touch_id FROM touchpoints").fetchall()
    assert kept == [("T1",), ("T4",)]
