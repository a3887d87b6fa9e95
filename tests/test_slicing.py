"""Owner and team slices: selection, and the same figures as the company view."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from acctlib import engine, slicing
from acctlib.attribution import prepare as attribution_prepare
from acctlib.attribution.compare import NO_TOUCH
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


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ("yara kim", "Yara Kim"),
        ("  OMAR NAKAMURA ", "Omar Nakamura"),
        ("Nobody Known", "Nobody Known"),
    ],
)
def test_owner_spelt_as_crm(owner, expected):
    owners = pd.concat([ACCOUNTS["owner"], pd.Series(["Yara Kim"])])

    assert slicing.spell_owner_as_crm(owners, owner) == expected


def test_unknown_team_raises():
    with pytest.raises(ParameterError, match="team 'west' is not in the teams"):
        slicing.select_account_ids(ACCOUNTS, "", "west", TEAMS)


def test_owner_without_accounts_raises():
    with pytest.raises(ParameterError) as raised:
        slicing.select_account_ids(ACCOUNTS, "Nobody", "", TEAMS)

    message = str(raised.value)
    assert message.startswith("owner 'Nobody' owns no account; known owners: ")
    assert "team" not in message


def test_owner_slice_without_owners_raises():
    accounts = pd.DataFrame({"account_id": ["A1", "A2"], "owner": [None, ""]})

    with pytest.raises(ParameterError) as raised:
        slicing.select_account_ids(accounts, "Nobody", "", {})

    message = str(raised.value)
    assert "no account of the source has an owner" in message
    assert "known owners" not in message


def test_unknown_owner_lists_twenty_owners():
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(25)],
            "owner": [f"Rep {i:02}" for i in range(25)],
        }
    )

    with pytest.raises(ParameterError, match="Rep 19 and 5 more. Check the spelling"):
        slicing.select_account_ids(accounts, "Nobody", "", {})


def test_unknown_owner_lists_closest_first():
    owners = [f"Rep {i:02}" for i in range(25)] + ["Yusuf Cohen", "Yusra Cohn"]
    accounts = pd.DataFrame(
        {"account_id": [f"A{i}" for i in range(len(owners))], "owner": owners}
    )

    with pytest.raises(ParameterError) as raised:
        slicing.select_account_ids(accounts, "yusuf cohn", "", {})

    message = str(raised.value)
    assert message.startswith(
        "owner 'yusuf cohn' owns no account; closest known owners: "
        "'Yusuf Cohen', 'Yusra Cohn'; other owners: Rep 00, "
    )
    assert "Rep 17 and 7 more. Check the spelling" in message


@pytest.mark.slow
def test_owner_slice_titled_as_crm(small_sample, tmp_path):
    params = small_params(small_sample, tmp_path, "owner=yara KIM")
    path = tmp_path / "workspace.duckdb"
    prepare_workspace(load_source(params), params, path)
    sliced = open_workspace(path)

    assert sliced.headline["slice"] == "owner Yara Kim"
    assert sliced.headline["slice_owner"] == "Yara Kim"
    assert not any("yara KIM" in note for note in sliced.info["notes"])


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
    gaps = sliced.table("coverage_gaps")
    assert sliced.headline["coverage_gaps"] == gaps["account_id"].nunique()
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
    # Tables built from journeys or without accounts stay company-wide, as
    # the note states.
    for name in (
        "forecast",
        "attribution_shares_campaign",
        "attribution_windows",
        "attribution_markov",
        "attribution_excluded_touches",
        "dq_counts",
        "dq_rejections",
        "dq_stage_lint",
        "dq_findings",
    ):
        pd.testing.assert_frame_equal(sliced.table(name), company.table(name))
    note = next(n for n in sliced.info["notes"] if n.startswith("Sliced to"))
    assert "So do the forecast, the campaign credits" in note
    assert "the input row counts" in note
    assert "deal findings of the data-quality page" in note
    assert "coverage, sourced revenue and bridge are the slice's" in note
    deal_owners = sliced.headline["slice_deal_owners"]
    assert deal_owners["slice_deals"] == len(opportunities)
    company_deals = company.table("opportunity_snapshot")
    assert deal_owners["own_deals"] == int(company_deals["owner"].eq("Yara Kim").sum())
    owner_note = next(
        n
        for n in sliced.info["notes"]
        if n.startswith("The pipeline, bookings and win")
    )
    assert "deals of Yara Kim" in owner_note or "deal of Yara Kim" in owner_note
    _check_sliced_attribution(sliced, credits)


@pytest.mark.slow
def test_sliced_report_pages_show_notice(small_report, small_sample, tmp_path):
    from bs4 import BeautifulSoup

    from acctlib.build import build_report

    params = small_params(small_sample, tmp_path, "owner=Yara Kim")
    sliced = build_report(params, command="acctlib build (test)")
    notice = "This report covers only the accounts of owner Yara Kim."

    sliced_pages = sorted(sliced.run_dir.glob("*.html"))
    assert [path.name for path in sliced_pages][-1] == "index.html"
    assert len(sliced_pages) == 8
    for path in sliced_pages:
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        text = " ".join(page.get_text(" ").split())
        assert text.count(notice) == 1, path.name
        assert "the bookings forecast, stage benchmarks, health validation" in text
        assert "Account review of owner Yara Kim as of 2026-06-30" in (
            page.title.get_text()
        )
    for path in sorted(small_report.run_dir.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        assert "This report covers" not in text, path.name


def _check_sliced_attribution(sliced, credits: pd.DataFrame) -> None:
    """Check that the credit summaries of a slice add up from its own credits."""
    revenue = credits[(credits["kind"] == "revenue") & (credits["channel"] != NO_TOUCH)]
    expected = revenue.groupby(["model", "channel"])["credit_cents"].sum() / 100.0
    shares = sliced.table("attribution_shares_channel")
    shares = shares[shares["channel"] != NO_TOUCH].set_index(["model", "channel"])
    pd.testing.assert_series_equal(
        shares["credit"].sort_index(),
        expected.rename("credit").sort_index(),
        check_exact=False,
        rtol=1e-12,
    )
    bridge = sliced.table("attribution_bridge").set_index("step")
    snapshot = sliced.table("opportunity_snapshot")
    won = snapshot.loc[snapshot["is_won"].astype(bool), "amount"].fillna(0.0)
    assert bridge.loc["Closed won", "amount"] == pytest.approx(won.sum())
    assert bridge.loc["Closed won", "opportunities"] == len(won)
    assert bridge.loc["Difference", "amount"] == 0
    coverage = sliced.table("attribution_coverage")
    opportunities = sliced.table("attribution_opportunities")
    assert coverage["opportunities"].sum() == len(
        opportunities[opportunities["kind"] == "revenue"]
    )


def test_filter_bulk_keeps_slice_accounts():
    con = engine.connect()
    con.con.execute(
        "CREATE TEMP TABLE touchpoints AS SELECT * FROM (VALUES ('T1', 'A1'), "
        "('T2', 'A2'), ('T3', NULL), ('T4', 'A1')) t(touch_id, account_id)"
    )

    slicing._filter_bulk(con, "touchpoints", ["A1"])

    kept = con.con.execute("SELECT touch_id FROM touchpoints").fetchall()
    assert kept == [("T1",), ("T4",)]


def test_won_in_slice_counts_credited_share():
    """A shared won deal counts for the cents its slice accounts were credited."""
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "account_id": ["A1", "A1", "A2", "A2"],
            "is_won": [True, True, True, False],
            "amount": [100.0, 10.01, 50.0, 70.0],
        }
    )
    links = pd.DataFrame(
        {
            "opportunity_id": ["O2", "O2"],
            "account_id": ["A1", "A2"],
            "share": [0.5, 0.5],
        }
    )
    # O2's 1001 cents were credited over two rows, each split between A1
    # and A2, so A1 has 501 cents where a half of the deal would be 500.5.
    credits = ibis.memtable(
        pd.DataFrame(
            {
                "kind": ["revenue"] * 4 + ["pipeline"],
                "model": ["linear"] * 5,
                "opportunity_id": ["O1", "O2", "O2", "O3", "O2"],
                "account_id": ["A1", "A1", "A1", "A2", "A1"],
                "credit_cents": [10000, 251, 250, 5000, 999],
            }
        )
    )

    won = attribution_prepare._won_in_slice(snapshot, links, ["A1"], credits)

    assert list(won["opportunity_id"]) == ["O1", "O2"]
    assert list(won["amount"]) == [100.0, 5.01]


def test_won_in_slice_keeps_close_dates():
    """Owned and shared won deals keep their close dates for the bridge."""
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "account_id": ["A1", "A1"],
            "is_won": [True, True],
            "amount": [100.0, 10.0],
            "close_date": pd.to_datetime(["2024-01-15", "2024-03-31"]),
        }
    )
    links = pd.DataFrame(
        {"opportunity_id": ["O2", "O2"], "account_id": ["A1", "A2"], "share": 0.5}
    )
    credits = ibis.memtable(
        pd.DataFrame(
            {
                "kind": ["revenue", "revenue"],
                "model": ["linear", "linear"],
                "opportunity_id": ["O1", "O2"],
                "account_id": ["A1", "A1"],
                "credit_cents": [10000, 500],
            }
        )
    )

    won = attribution_prepare._won_in_slice(snapshot, links, ["A1"], credits)
    close = won.set_index("opportunity_id")["close_date"]

    assert close["O1"] == pd.Timestamp("2024-01-15")
    assert close["O2"] == pd.Timestamp("2024-03-31")


def slice_params(owner: str = "", team: str = "", teams=None) -> dict:
    return {"owner": owner, "team": team, "teams": TEAMS if teams is None else teams}


def test_team_member_without_accounts_raises():
    teams = {"east": ["Omar Nakamura", "Yara Kimm", "Nobody Real"]}

    with pytest.raises(ParameterError) as raised:
        slicing.check_owner_slice(
            slice_params(team="east", teams=teams), {"accounts": ACCOUNTS}
        )

    message = str(raised.value)
    assert "team 'east'" in message
    assert "'Yara Kimm' (closest known owners: 'Yara Kim')" in message
    assert "'Nobody Real' (no known owner has a similar name)" in message
    assert "'Omar Nakamura'" not in message


def test_team_members_match_ignoring_case():
    teams = {"east": [" omar nakamura", "YARA KIM"]}

    slicing.check_owner_slice(
        slice_params(team="east", teams=teams), {"accounts": ACCOUNTS}
    )


def test_unknown_team_checked_before_members():
    with pytest.raises(ParameterError, match="team 'west' is not in the teams"):
        slicing.check_owner_slice(slice_params(team="west"), {"accounts": ACCOUNTS})


@pytest.mark.parametrize(
    ("owner", "team", "label"),
    [
        ("Maya Iyer", "", "owner Maya Iyer"),
        ("", "east", "team east"),
        ("Maya Iyer", "east", "owner Maya Iyer and team east"),
    ],
)
def test_slice_label_names_every_selection(owner, team, label):
    assert slicing.describe_slice(owner, team) == label
