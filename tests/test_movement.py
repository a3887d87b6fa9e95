"""Month-over-month changes of headline figures and accounts."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from acctlib import build, movement
from acctlib.intake import load_source
from acctlib.prepare import MOVEMENT_STEPS, prepare_workspace
from tests.conftest import small_params


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2026, 6, 30), dt.date(2026, 5, 31)),
        (dt.date(2026, 3, 15), dt.date(2026, 2, 28)),
        (dt.date(2026, 1, 31), dt.date(2025, 12, 31)),
    ],
)
def test_previous_month_end(as_of, expected):
    assert movement.previous_month_end(as_of) == expected


def test_flatten_headline_keeps_numbers_only():
    headline = {
        "accounts_by_status": {"customer": 3, "lost": 1},
        "open_pipeline": 100.5,
        "revenue_12m": None,
        "label": "text",
        "flag": True,
    }
    assert movement.flatten_headline(headline) == {
        "accounts_by_status.customer": 3.0,
        "accounts_by_status.lost": 1.0,
        "open_pipeline": 100.5,
    }


def test_headline_changes_subtract_previous():
    changes = movement.compute_headline_changes(
        {"open_pipeline": 150.0, "customers": 4, "forecast": 9.0},
        {"open_pipeline": 100.0, "customers": 5},
    )
    by_figure = changes.set_index("figure")
    assert list(changes["figure"]) == ["customers", "forecast", "open_pipeline"]
    assert by_figure.loc["open_pipeline", "change"] == 50.0
    assert by_figure.loc["customers", "change"] == -1.0
    assert pd.isna(by_figure.loc["forecast", "change"])


def account_frame(rows):
    return pd.DataFrame(rows, columns=["account_id", "name", "status", "value"])


def test_year_to_date_change_missing_in_january():
    changes = movement.compute_headline_changes(
        {"bookings_ytd": 100.0, "bookings_month": 100.0},
        {"bookings_ytd": 900.0, "bookings_month": 50.0},
        new_year=True,
    ).set_index("figure")

    assert np.isnan(changes.loc["bookings_ytd", "change"])
    assert changes.loc["bookings_month", "change"] == 50.0


def test_account_movements_list_changed_status():
    current = account_frame(
        [
            ("A1", "Acme", "customer", 10.0),
            ("A2", "Beta", "lost", 0.0),
            ("A3", "Gamma", "prospect", 0.0),
        ]
    )
    previous = account_frame(
        [("A1", "Acme", "open_opportunity", 5.0), ("A2", "Beta", "lost", 0.0)]
    )
    moves = movement.compute_account_movements(
        {"account_map": current}, {"account_map": previous}
    )
    assert moves[["account_id", "column", "previous", "current"]].values.tolist() == [
        ["A1", "status", "open_opportunity", "customer"],
        ["A3", "status", "none", "prospect"],
    ]
    assert set(moves["table"]) == {"account_map"}


def test_account_movements_skip_tables_without_accounts():
    frame = pd.DataFrame({"stage": ["a"], "status": ["x"]})
    moves = movement.compute_account_movements({"t": frame}, {"t": frame})
    assert moves.empty


def test_describe_movements_sentences():
    changes = pd.DataFrame(
        {
            "figure": ["open_pipeline", "bookings_month", "customers"],
            "current": [900.0, 300.0, 5.0],
            "previous": [1000.0, 100.0, 4.0],
            "change": [-100.0, 200.0, 1.0],
        }
    )
    movements = pd.DataFrame(
        {
            "table": ["account_map"] * 5,
            "account_id": ["A1", "A2", "A3", "A4", "A5"],
            "name": ["Delta", "Acme", "Beta", "Gamma", "Omega"],
            "column": ["status"] * 5,
            "previous": ["open_opportunity"] * 5,
            "current": ["customer"] * 4 + ["lost"],
        }
    )
    sentences = movement.describe_movements(changes, movements, "EUR")
    assert sentences == [
        "Bookings this month rose by EUR 200 to EUR 300.",
        "Open pipeline fell by EUR 100 to EUR 900.",
        "4 accounts moved to status customer: Acme, Beta, Delta and 1 more.",
        "1 account moved to status lost: Omega.",
    ]


def _dated_snapshot() -> pd.DataFrame:
    """Return open and won deals, two of them created at a stand-in date."""
    return pd.DataFrame(
        {
            "opportunity_id": ["old", "new", "stand_in_1", "stand_in_2", "won"],
            "created_at": pd.to_datetime(
                [
                    "2026-05-10",
                    "2026-06-10",
                    "2026-06-30",
                    "2026-06-30",
                    "2026-06-30",
                ],
                utc=True,
            ),
            "created_at_estimated": [False, False, True, True, True],
            "is_open": [True, True, True, True, False],
            "amount": [100.0, 200.0, 300.0, 400.0, 500.0],
        }
    )


def test_find_estimated_new_deals():
    deals = movement.find_estimated_new_deals(_dated_snapshot(), dt.date(2026, 5, 31))
    assert deals["opportunity_id"].tolist() == ["stand_in_1", "stand_in_2"]


def test_find_estimated_new_deals_without_column():
    snapshot = _dated_snapshot().drop(columns="created_at_estimated")
    deals = movement.find_estimated_new_deals(snapshot, dt.date(2026, 5, 31))
    assert deals.empty


def test_describe_movements_names_stand_in_dates():
    changes = pd.DataFrame(
        {
            "figure": ["open_opportunities", "open_pipeline"],
            "current": [4.0, 1000.0],
            "previous": [5.0, 1200.0],
            "change": [-1.0, -200.0],
        }
    )
    empty = pd.DataFrame(columns=["account_id", "name", "column", "current"])
    deals = movement.find_estimated_new_deals(_dated_snapshot(), dt.date(2026, 5, 31))

    sentences = movement.describe_movements(
        changes, empty, "USD", estimated_new_deals=deals
    )

    assert sentences == [
        "Open pipeline fell by USD 200 to USD 1,000.",
        "2 open opportunities (USD 700) have no creation date in the source "
        "and are dated 30 June 2026 as a stand-in, so they count as open at "
        "the previous month-end too and not as new this month.",
    ]


def test_estimated_deals_count_as_previous():
    deals = movement.find_estimated_new_deals(_dated_snapshot(), dt.date(2026, 5, 31))
    previous = {"open_opportunities": 1, "open_pipeline": 100.0, "customers": 3}

    counted = movement.count_estimated_deals_as_previous(previous, deals)

    assert counted["open_opportunities"] == 3
    assert counted["open_pipeline"] == 800.0
    assert counted["customers"] == 3
    assert previous["open_opportunities"] == 1


def test_estimated_deals_skip_missing_pipeline():
    deals = movement.find_estimated_new_deals(_dated_snapshot(), dt.date(2026, 5, 31))
    previous = {"open_opportunities": 1, "open_pipeline": None}

    counted = movement.count_estimated_deals_as_previous(previous, deals)

    assert counted["open_opportunities"] == 3
    assert counted["open_pipeline"] is None


STAND_IN_ACCOUNTS = """\
account_id,name,industry,country,region,employees,annual_revenue,owner,created_at
A1,Acme,Software,DE,EMEA,120,5000000,Dana,2024-01-01T00:00:00Z
"""
STAND_IN_DEALS = """\
opportunity_id,account_id,type,stage,amount,created_at,close_date,created_at_estimated
O1,A1,new_business,Discovery,100,2024-06-01T00:00:00Z,,false
O2,A1,new_business,Discovery,200,2024-12-31T00:00:00Z,,true
O3,A1,new_business,Discovery,400,2024-12-10T00:00:00Z,,false
"""


def test_stand_in_deal_not_new_this_month(tmp_path):
    """A deal dated by a stand-in after last month-end adds nothing to the change."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "accounts.csv").write_text(STAND_IN_ACCOUNTS, encoding="utf-8")
    (data / "opportunities.csv").write_text(STAND_IN_DEALS, encoding="utf-8")
    params = small_params(data, tmp_path, "as_of=2024-12-31")
    intake = load_source(params)
    workspace = tmp_path / "current.duckdb"
    prepared = prepare_workspace(intake, params, workspace, steps=MOVEMENT_STEPS)

    previous = build._prepare_previous_month(
        intake, params, tmp_path / "work", workspace, prepared
    )

    changes = prepared.frames["headline_changes"].set_index("figure")
    # O3 is new this month. O2 counts as open at the previous month-end.
    assert changes.loc["open_opportunities", "current"] == 3
    assert changes.loc["open_opportunities", "previous"] == 2
    assert changes.loc["open_opportunities", "change"] == 1
    assert changes.loc["open_pipeline", "previous"] == 300
    assert changes.loc["open_pipeline", "change"] == 400
    # The manifest keeps the figures as prepared for that date.
    assert previous["open_opportunities"] == 1


def _snapshot(rows: list[tuple[str, bool, str | None, str]]) -> pd.DataFrame:
    """Return a snapshot of (opportunity, won, closed_on, stage) rows."""
    return pd.DataFrame(
        {
            "opportunity_id": [row[0] for row in rows],
            "account_id": ["A1"] * len(rows),
            "amount": [100.0 * (index + 1) for index in range(len(rows))],
            "is_won": [row[1] for row in rows],
            "is_lost": [row[3] == "Lost" for row in rows],
            "closed_on": pd.to_datetime([row[2] for row in rows]),
            "stage_asof": [row[3] for row in rows],
        }
    )


def test_reversed_bookings_list_lost_deals():
    previous = _snapshot(
        [
            ("O1", True, "2026-02-10", "Won"),
            ("O2", True, "2026-02-20", "Won"),
            ("O3", True, "2025-12-30", "Won"),
            ("O4", False, None, "Open"),
        ]
    )
    current = _snapshot(
        [
            ("O1", True, "2026-02-10", "Won"),
            ("O2", False, "2026-03-05", "Lost"),
            ("O3", False, "2026-03-01", "Lost"),
            ("O4", True, "2026-03-02", "Won"),
        ]
    )
    found = movement.find_reversed_bookings(
        current, previous, dt.date(2026, 3, 31), dt.date(2026, 2, 28)
    )
    # O3 closed last year, so it was never in this year's bookings.
    assert found["opportunity_id"].tolist() == ["O2"]
    assert found["name"].tolist() == ["O2"]
    assert found["stage"].tolist() == ["Lost"]
    assert found["change"].tolist() == ["lost"]
    assert found["amount"].tolist() == [200.0]


def test_reversed_bookings_named_after_deal():
    previous = _snapshot([("O1", True, "2026-02-10", "Won")]).assign(name=["Renewal"])
    current = _snapshot([("O1", False, "2026-03-05", "Lost")]).assign(name=["Renewal"])
    found = movement.find_reversed_bookings(
        current, previous, dt.date(2026, 3, 31), dt.date(2026, 2, 28)
    )
    assert found["name"].tolist() == ["Renewal"]


def test_reversed_bookings_empty_across_years():
    previous = _snapshot([("O1", True, "2025-12-10", "Won")])
    current = _snapshot([("O1", False, "2026-01-05", "Lost")])
    found = movement.find_reversed_bookings(
        current, previous, dt.date(2026, 1, 31), dt.date(2025, 12, 31)
    )
    assert found.empty


def test_describe_movements_names_reversed_bookings():
    changes = pd.DataFrame(
        {
            "figure": ["bookings_ytd"],
            "current": [0.0],
            "previous": [830.0],
            "change": [-830.0],
        }
    )
    movements = pd.DataFrame(columns=["column", "current", "name"])
    reversed_bookings = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "amount": [500.0, 200, 100, 30],
            "change": ["lost", "lost", "lost", "reopened"],
        }
    )
    sentences = movement.describe_movements(
        changes, movements, "USD", reversed_bookings
    )
    assert sentences == [
        "Bookings year to date fell by USD 830 to USD 0.",
        "4 deals won this year by last month-end (USD 830) no longer count in "
        "bookings year to date (3 lost since and 1 reopened): O1, O2, O3 and "
        "1 more.",
    ]


def test_describe_movements_at_risk_agreement():
    """One account "is" no longer at risk, and a name's own full stop ends it."""
    movements = pd.DataFrame(
        {
            "table": ["account_health"] * 3,
            "account_id": ["A1", "A2", "A3"],
            "name": ["Summit Tidal Market Corp.", "Acme", "Beta"],
            "column": ["at_risk"] * 3,
            "previous": ["True", "False", "False"],
            "current": ["False", "True", "True"],
        }
    )
    no_changes = pd.DataFrame(columns=["figure", "current", "previous", "change"])
    sentences = movement.describe_movements(no_changes, movements, "EUR")
    assert sentences == [
        "2 accounts became at risk: Acme, Beta.",
        "1 account recovered and is no longer at risk: Summit Tidal Market Corp.",
    ]


def test_describe_movements_split_no_longer_at_risk():
    """Accounts lost or moved below Tier 2 are not named as recovered."""
    rows = [
        ("account_health", "A1", "Apex", "at_risk", "True", "False"),
        ("account_map", "A1", "Apex", "status", "open_opportunity", "lost"),
        ("account_tiers", "A1", "Apex", "tier", "1", "3"),
        ("account_health", "A2", "Birch", "at_risk", "True", "False"),
        ("account_map", "A2", "Birch", "status", "customer", "churned"),
        ("account_health", "A3", "Cedar", "at_risk", "True", "False"),
        ("account_tiers", "A3", "Cedar", "tier", "2", "3"),
        ("account_health", "A4", "Dune", "at_risk", "True", "False"),
        ("account_map", "A4", "Dune", "status", "open_opportunity", "customer"),
        ("account_tiers", "A4", "Dune", "tier", "2", "1"),
        ("account_health", "A5", "Elm", "at_risk", "True", "False"),
    ]
    columns = ["table", "account_id", "name", "column", "previous", "current"]
    movements = pd.DataFrame(rows, columns=columns)
    no_changes = pd.DataFrame(columns=["figure", "current", "previous", "change"])

    sentences = movement.describe_movements(no_changes, movements, "EUR")

    assert sentences == [
        "5 accounts are no longer at risk: 2 lost or churned (Apex, Birch); "
        "1 moved below Tier 2 (Cedar); 2 recovered (Dune, Elm).",
        "2 accounts moved to Tier 3: Apex, Cedar.",
        "1 account moved to status churned: Birch.",
        "1 account moved to status customer: Dune.",
        "1 account moved to status lost: Apex.",
        "1 account moved to Tier 1: Dune.",
    ]


def test_describe_movements_brief_split_beyond_limit():
    """The "Also:" sentence keeps the split of accounts no longer at risk."""
    rows = [("A1", "Apex", "at_risk", "False"), ("A1", "Apex", "status", "lost")]
    rows += [("A2", "Birch", "at_risk", "False")]
    rows += [(f"T{n}", f"Tier {n}", "tier", str(n)) for n in range(1, 8)]
    for n in range(1, 8):
        rows += [(f"T{n}x{k}", f"Tier {n}", "tier", str(n)) for k in range(3)]
    movements = pd.DataFrame(rows, columns=["account_id", "name", "column", "current"])
    no_changes = pd.DataFrame(columns=["figure", "current", "previous", "change"])

    sentences = movement.describe_movements(no_changes, movements, "EUR")

    assert (
        "2 accounts are no longer at risk (1 lost or churned, 1 recovered)"
        in (sentences[-1])
    )


def test_describe_movements_names_moves_beyond_limit():
    """Moves past the sentence limit are named in one last sentence."""
    tiers = ["1", "2", "3", "4"]
    rows = [
        (f"A{tier}{number}", f"Acct {tier}{number}", "tier", tier)
        for tier in tiers
        for number in range(int(tier))
    ]
    rows += [
        ("B1", "Bolt", "health_band", "good"),
        ("B2", "Cask", "health_band", "watch"),
        ("B3", "Dune", "at_risk", "False"),
    ]
    movements = pd.DataFrame(rows, columns=["account_id", "name", "column", "current"])
    no_changes = pd.DataFrame(columns=["figure", "current", "previous", "change"])

    sentences = movement.describe_movements(no_changes, movements, "EUR")

    assert len(sentences) == movement.MAX_SENTENCES
    assert sentences[0].startswith("4 accounts moved to Tier 4: ")
    assert sentences[-2] == "1 account moved to health band good: Bolt."
    assert sentences[-1] == (
        "Also: 1 account moved to health band watch (Cask); 1 account moved to "
        "Tier 1 (Acct 10)."
    )


def test_previous_bookings_cover_same_days():
    previous_snapshot = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "is_won": [True, True, False, True],
            "closed_on": pd.to_datetime(
                ["2026-10-05", "2026-10-20", "2026-10-03", "2026-09-30"]
            ),
            "amount": [100.0, 50.0, 70.0, 30.0],
        }
    )
    previous = {"bookings_month": 150.0, "bookings_ytd": 900.0}

    mid_month = movement.align_month_bookings(
        previous, previous_snapshot, dt.date(2026, 11, 15)
    )
    month_end = movement.align_month_bookings(
        previous, previous_snapshot, dt.date(2026, 11, 30)
    )

    assert mid_month == {"bookings_month": 100.0, "bookings_ytd": 900.0}
    assert month_end == previous
    assert previous["bookings_month"] == 150.0


def test_mid_month_bookings_named_month_to_date():
    as_of = dt.date(2026, 11, 15)
    current = {"bookings_month": 300.0, "open_pipeline": 1000.0}
    changes = movement.compute_headline_changes(
        current, {"bookings_month": 100.0, "open_pipeline": 1000.0}
    )
    empty = pd.DataFrame(columns=["account_id", "name", "column", "current"])

    sentences = movement.describe_movements(changes, empty, "USD", as_of=as_of)
    cards = movement.headline_cards_with_change(current, changes, "USD", as_of)
    workspace = _ChangesWorkspace(changes)
    workspace.as_of = as_of
    table = movement.executive_highlights(workspace)[0].data

    assert sentences == [
        "Bookings month to date rose by USD 200 to USD 300, compared with the "
        "same days of last month (1 to 15 October)."
    ]
    by_label = {card["label"]: card["change"] for card in cards}
    assert by_label["Bookings month to date"] == "+USD 200 against 1 to 15 October"
    assert "Bookings this month" not in by_label
    assert "<td>Bookings month to date</td>" in table
    assert "compares 1 to 15 November with the same days of last month" in table


def test_month_end_bookings_named_this_month():
    as_of = dt.date(2026, 11, 30)
    changes = movement.compute_headline_changes(
        {"bookings_month": 300.0}, {"bookings_month": 100.0}
    )
    empty = pd.DataFrame(columns=["account_id", "name", "column", "current"])

    sentences = movement.describe_movements(changes, empty, "USD", as_of=as_of)

    assert sentences == ["Bookings this month rose by USD 200 to USD 300."]


def test_headline_cards_show_change():
    changes = movement.compute_headline_changes(
        {"accounts_by_status": {"customer": 7}, "open_pipeline": 1500.0},
        {"accounts_by_status": {"customer": 9}, "open_pipeline": 1000.0},
    )
    cards = movement.headline_cards_with_change(
        {"accounts_by_status": {"customer": 7}, "open_pipeline": 1500.0},
        changes,
        "USD",
    )
    by_label = {card["label"]: card["change"] for card in cards}
    assert by_label["Customers"] == "−2 since last month"
    assert by_label["Open pipeline"] == "+USD 500 since last month"
    assert by_label["Bookings this month"] == ""


class _ChangesWorkspace:
    """A workspace stub with the tables that executive_highlights reads."""

    as_of = dt.date(2026, 6, 30)
    currency = "USD"

    def __init__(self, changes: pd.DataFrame) -> None:
        self.tables = {
            "headline_changes": changes,
            "account_movements": pd.DataFrame(
                columns=["table", "account_id", "name", "column", "previous", "current"]
            ),
        }

    def has_table(self, name: str) -> bool:
        return name in self.tables

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def test_shown_changes_match_rounded_figures():
    # 100.40 and 99.60 both read 100, and 1,000.60 and 899.60 read 1,001
    # and 900, so the changes shown are 0 and 101, not +1 and +101.
    current = {"open_pipeline": 100.4, "bookings_ytd": 1000.6}
    previous = {"open_pipeline": 99.6, "bookings_ytd": 899.6}
    changes = movement.compute_headline_changes(current, previous)

    table = movement.executive_highlights(_ChangesWorkspace(changes))[0].data
    assert "<td>Open pipeline</td><td>USD 100</td><td>USD 100</td><td>±USD 0</td>" in (
        table
    )
    assert "<td>USD 1,001</td><td>USD 900</td><td>+USD 101</td>" in table
    assert "the figure now minus the figure then, both rounded as shown" in table

    cards = movement.headline_cards_with_change(current, changes, "USD")
    by_label = {card["label"]: card["change"] for card in cards}
    assert by_label["Open pipeline"] == "±USD 0 since last month"

    empty = pd.DataFrame(columns=["account_id", "name", "column", "current"])
    sentences = movement.describe_movements(changes, empty, "USD")
    assert sentences == ["Bookings year to date rose by USD 101 to USD 1,001."]


def test_movements_count_each_account_once():
    previous = {
        "account_map": pd.DataFrame(
            {
                "account_id": ["A1", "A2"],
                "name": ["Acme", "Beta"],
                "status": ["prospect", "customer"],
            }
        ),
        "account_tiers": pd.DataFrame(
            {"account_id": ["A1", "A2"], "name": ["Acme", "Beta"], "tier": [1.0, 2.0]}
        ),
        "key_accounts": pd.DataFrame(
            {
                "account_id": ["A1"],
                "name": ["Acme"],
                "status": ["prospect"],
                "tier": [1.0],
            }
        ),
    }
    current = {
        "account_map": previous["account_map"].assign(status=["customer", "customer"]),
        "account_tiers": previous["account_tiers"].assign(tier=[1, 2]),
        "key_accounts": previous["key_accounts"].assign(status=["customer"], tier=[1]),
    }

    moves = movement.compute_account_movements(current, previous)

    assert moves["account_id"].tolist() == ["A1"]
    assert moves["column"].tolist() == ["status"]
    assert moves["table"].tolist() == ["account_map"]


def test_movement_steps_match_full_prepare(small_sample, tmp_path):
    """The previous-month steps store what a full prepare stores for movements."""
    params = small_params(small_sample, tmp_path, "as_of=2026-05-31")
    intake = load_source(params)
    full = prepare_workspace(intake, params, tmp_path / "full.duckdb")
    light = prepare_workspace(
        intake, params, tmp_path / "light.duckdb", steps=MOVEMENT_STEPS
    )

    for column, table in movement.MOVEMENT_SOURCES.items():
        assert (column in light.frames[table]) == (column in full.frames[table])
        if column not in full.frames[table]:
            continue
        columns = ["account_id", column]
        pd.testing.assert_frame_equal(
            light.frames[table][columns], full.frames[table][columns]
        )
    for figure in movement.HEADLINE_LABELS:
        assert light.headline[figure] == full.headline[figure]
    assert light.headline["accounts_by_status"] == full.headline["accounts_by_status"]
    assert "forecast" not in light.headline


def _workspace_tables(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("overrides", [(), ("owner=Yara Kim",)])
def test_previous_month_stores_no_intake(small_sample, tmp_path, overrides):
    """The previous month-end's prepare writes no intake table it would not read."""
    params = small_params(small_sample, tmp_path, *overrides)
    intake = load_source(params)
    prepared = prepare_workspace(intake, params, tmp_path / "current.duckdb")
    earlier = movement.previous_month_end(params.as_of)
    assert earlier in prepared.month_end_states
    previous_params = params.replace(as_of=earlier)

    def prepare_previous(name: str, *, store_intake: bool):
        return prepare_workspace(
            intake,
            previous_params,
            tmp_path / name,
            steps=MOVEMENT_STEPS,
            month_end_states=prepared.month_end_states,
            store_intake=store_intake,
        )

    light = prepare_previous("light.duckdb", store_intake=False)
    stored = prepare_previous("stored.duckdb", store_intake=True)

    assert not light.intake_stored
    assert not set(intake.tables) & _workspace_tables(tmp_path / "light.duckdb")
    assert set(intake.tables) <= _workspace_tables(tmp_path / "stored.duckdb")
    assert light.frames.keys() == stored.frames.keys()
    for name, frame in stored.frames.items():
        pd.testing.assert_frame_equal(light.frames[name], frame, obj=name)
    assert light.headline == stored.headline


def test_in_memory_prepare_writes_no_file(small_sample, tmp_path):
    params = small_params(small_sample, tmp_path, "as_of=2026-05-31")
    intake = load_source(params)
    on_disk = prepare_workspace(
        intake, params, tmp_path / "disk.duckdb", steps=MOVEMENT_STEPS
    )
    in_memory = prepare_workspace(
        intake, params, tmp_path / "memory.duckdb", steps=MOVEMENT_STEPS, in_memory=True
    )

    assert not (tmp_path / "memory.duckdb").exists()
    assert in_memory.frames.keys() == on_disk.frames.keys()
    for name, frame in on_disk.frames.items():
        pd.testing.assert_frame_equal(in_memory.frames[name], frame, obj=name)
    assert in_memory.headline == on_disk.headline


def test_touchpoint_read_stores_intake(small_sample, tmp_path):
    """Without a state to reuse, the account map reads the stored touchpoints."""
    params = small_params(small_sample, tmp_path, "as_of=2026-05-31")
    intake = load_source(params)
    path = tmp_path / "previous.duckdb"

    context = prepare_workspace(
        intake, params, path, steps=MOVEMENT_STEPS, store_intake=False
    )

    assert context.intake_stored
    assert set(intake.tables) <= _workspace_tables(path)
    full = prepare_workspace(intake, params, tmp_path / "full.duckdb")
    pd.testing.assert_frame_equal(
        context.frames["account_map"], full.frames["account_map"]
    )
