"""Deals of an owner slice that belong to other owners, and owners' deals elsewhere."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from acctlib import asof, dealowners, slicing
from acctlib.schema import NO_ACCOUNT

SNAPSHOT = pd.DataFrame(
    {
        "opportunity_id": ["O1", "O2", "O3", "O4", "O5", "O6", "O7"],
        "account_id": ["A1", "A1", "A2", "A3", NO_ACCOUNT, "A1", "A3"],
        "owner": ["Yara Kim", "Omar Nakamura", " yara kim ", "Yara Kim", "Yara Kim"]
        + [None, "Omar Nakamura"],
        "amount": [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0],
        "is_open": [True, True, False, True, True, False, True],
        "is_won": [False, False, True, False, False, True, False],
    }
)


def test_summary_counts_both_directions():
    summary = dealowners.summarize_deal_owners(SNAPSHOT, ["A1", "A2"], {"yara kim"})

    assert summary == {
        "slice_deals": 4,
        "other_owners": {"deals": 1, "open_pipeline": 200.0, "won": 0.0},
        "no_owner": {"deals": 1, "open_pipeline": 0.0, "won": 3200.0},
        "own_deals": 4,
        "outside_slice": {
            "deals": 2,
            "open_pipeline": 2400.0,
            "won": 0.0,
            "without_account": 1,
        },
    }


def test_summary_counts_team_members():
    owners = {"yara kim", "omar nakamura"}

    summary = dealowners.summarize_deal_owners(SNAPSHOT, ["A1", "A2", "A3"], owners)

    assert summary["other_owners"]["deals"] == 0
    assert summary["outside_slice"]["deals"] == 1
    assert summary["outside_slice"]["without_account"] == 1


@pytest.mark.parametrize(
    "owners",
    [pd.Series([None] * 7, dtype=object), pd.Series([""] * 6 + ["  "])],
    ids=["missing", "blank"],
)
def test_summary_without_deal_owners_is_none(owners):
    snapshot = SNAPSHOT.assign(owner=owners)

    assert dealowners.summarize_deal_owners(snapshot, ["A1"], {"yara kim"}) is None


def test_summary_without_owner_column_is_none():
    snapshot = SNAPSHOT.drop(columns="owner")

    assert dealowners.summarize_deal_owners(snapshot, ["A1"], {"yara kim"}) is None


def test_blank_selected_owner_matches_no_deal():
    summary = dealowners.summarize_deal_owners(SNAPSHOT, ["A1"], {""})

    assert summary["own_deals"] == 0
    assert summary["no_owner"]["deals"] == 1


def test_description_states_figures():
    summary = dealowners.summarize_deal_owners(SNAPSHOT, ["A1", "A2"], {"yara kim"})

    text = dealowners.describe_deal_owners(summary, "Yara Kim", "USD")

    assert text.startswith(
        "The pipeline, bookings and win figures of this slice count every deal "
        "at these accounts, whoever owns it."
    )
    assert (
        "Of the 4 deals at these accounts, 1 belongs to other owners "
        "(open pipeline USD 200, won to date USD 0)." in text
    )
    assert "1 deal at these accounts has no owner (open pipeline USD 0, won " in text
    assert (
        "Of the 4 deals of Yara Kim, 2 are left out because they are at "
        "accounts outside this slice or, for 1 of them, without an account "
        "(open pipeline USD 2,400, won to date USD 0)." in text
    )


def test_description_when_deals_match():
    summary = dealowners.summarize_deal_owners(SNAPSHOT, ["A2"], {"yara kim"})
    summary["outside_slice"]["deals"] = 0

    text = dealowners.describe_deal_owners(summary, "Yara Kim", "USD")

    assert text == (
        "Every deal at these accounts belongs to Yara Kim, and every deal of "
        "Yara Kim is at these accounts."
    )


def test_description_of_team_slice():
    owners = {"yara kim", "omar nakamura"}
    summary = dealowners.summarize_deal_owners(SNAPSHOT, ["A1", "A2", "A3"], owners)
    owners_text = dealowners.describe_owners("", "east")

    text = dealowners.describe_deal_owners(summary, owners_text, "EUR")

    assert "No deal at these accounts belongs to another owner." in text
    assert (
        "Of the 6 deals of the members of team east, 1 is left out because it "
        "is without an account (open pipeline EUR 1,600, won to date EUR 0)." in text
    )


@pytest.mark.parametrize(
    ("owner", "team", "expected"),
    [
        ("Yara Kim", "", "Yara Kim"),
        ("", "east", "the members of team east"),
        ("Yara Kim", "east", "Yara Kim or the members of team east"),
    ],
)
def test_describe_owners(owner, team, expected):
    assert dealowners.describe_owners(owner, team) == expected


MAVEN_DIR = Path(__file__).parents[2] / "shared/datasets/maven-crm-sales-opportunities"


@pytest.mark.skipif(not MAVEN_DIR.is_dir(), reason="Maven dataset not present")
def test_maven_slice_holds_other_agents_deals(tmp_path):
    from acctlib.intake import load_source
    from acctlib.params import resolve_params

    params = resolve_params(
        Path(__file__).parents[1] / "params/maven.yaml",
        [f"data_dir={MAVEN_DIR}", f"work_dir={tmp_path}"],
    )
    intake = load_source(params)
    snapshot = asof.snapshot_opportunities(
        intake.tables["opportunities"],
        intake.tables.get("stage_history"),
        intake.stage_map,
        params["as_of"],
        default_contract_months=params["default_contract_months"],
    )
    accounts = intake.tables["accounts"]
    ids = slicing.select_account_ids(accounts, "Anna Snelling", "", {})

    summary = dealowners.summarize_deal_owners(snapshot, ids, {"anna snelling"})

    # An account's owner is the agent of its latest deal, so most deals at
    # Anna Snelling's accounts are other agents', and most of her own
    # deals are at accounts whose latest deal another agent made.
    in_slice = snapshot["account_id"].isin(ids)
    hers = snapshot["owner"] == "Anna Snelling"
    assert summary["slice_deals"] == int(in_slice.sum())
    assert summary["other_owners"]["deals"] == int((in_slice & ~hers).sum())
    assert summary["own_deals"] == int(hers.sum())
    assert summary["outside_slice"]["deals"] == int((hers & ~in_slice).sum())
    assert summary["other_owners"]["deals"] > summary["slice_deals"] / 2
    assert summary["outside_slice"]["deals"] > summary["own_deals"] / 2
    assert summary["outside_slice"]["without_account"] > 0


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "slice_deal_owners.other_owners.won",
            2500.0,
            ("Won amount of slice deals of other owners", "USD 2,500"),
        ),
        (
            "slice_deal_owners.outside_slice.deals",
            12.0,
            ("Owners' deals outside the slice", "12"),
        ),
    ],
)
def test_headline_labels_slice_figures(key, value, expected):
    from acctlib.headlinefigures import figure_label, format_figure

    assert (figure_label(key), format_figure(key, value, "USD")) == expected
