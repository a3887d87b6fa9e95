"""Engagement counts in the engine, trends, stage durations and stalls."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from acctlib import engine, progression
from acctlib.params import load_declarations

AS_OF = dt.date(2026, 6, 30)
CUTOFF = pd.Timestamp("2026-07-01", tz="UTC")
STAGE_MAP = {
    "Qualification": {"category": "open", "probability": 0.1, "order": 1},
    "Proposal": {"category": "open", "probability": 0.6, "order": 2},
    "Closed Won": {"category": "won", "probability": 1.0, "order": 3},
    "Closed Lost": {"category": "lost", "probability": 0.0, "order": 4},
}


def make_touches(rows: list[tuple]) -> pd.DataFrame:
    """Touch rows: account, contact, occurred_at, function."""
    frame = pd.DataFrame(
        rows, columns=["account_id", "contact_id", "occurred_at", "function"]
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    frame["touch_id"] = [f"T{i}" for i in range(len(frame))]
    frame["channel"] = "email"
    return frame


def run_engagement(touches: pd.DataFrame, **options):
    con = engine.connect()
    engine.write_table(con, "touchpoints", touches)
    return progression.summarize_engagement(con.table("touchpoints"), AS_OF, **options)


def test_engagement_window_bounds():
    touches = make_touches(
        [
            ("A", "c1", CUTOFF - pd.Timedelta(seconds=1), "ae"),
            ("A", "c2", CUTOFF - pd.Timedelta(days=30), "marketing"),
            ("A", "c3", CUTOFF - pd.Timedelta(days=30, seconds=1), "marketing"),
            ("A", "c1", CUTOFF - pd.Timedelta(days=100), "sdr"),
            ("A", "c9", CUTOFF, "ae"),
        ]
    )
    engagement, weekly = run_engagement(touches)
    row = engagement.iloc[0]
    assert row["touches_30d"] == 2
    assert row["touches_90d"] == 3
    assert row["touches_30d_ae"] == 1
    assert row["touches_30d_marketing"] == 1
    assert row["touches_90d_marketing"] == 2
    assert row["contacts_90d"] == 3
    assert row["contacts_prev_90d"] == 1
    assert row["breadth_change"] == 2
    assert row["breadth_direction"] == "rising"
    latest_week = weekly[(weekly["account_id"] == "A") & (weekly["week"] == 11)]
    assert latest_week["touches"].tolist() == [1]
    assert len(weekly) == 12


@pytest.mark.parametrize(
    ("touches", "trend", "direction"),
    [
        (list(range(12)), 2.0, "rising"),
        (list(range(11, -1, -1)), -2.0, "falling"),
        ([3] * 12, 0.0, "flat"),
        ([0] * 11 + [5], None, "flat"),
    ],
)
def test_engagement_trend_hand_computed(touches, trend, direction):
    weekly = pd.DataFrame({"account_id": "A", "week": range(12), "touches": touches})
    result = progression.compute_engagement_trend(weekly, noise_band=0.5, min_touches=6)
    if trend is not None:
        # Weeks 0..11 with touches equal to the week: slope 1, mean 5.5,
        # fitted change 11, so the trend is 11 / 5.5 = 2.
        assert result["engagement_trend"].iloc[0] == pytest.approx(trend)
    assert result["engagement_direction"].iloc[0] == direction


def progression_with(engagement: pd.DataFrame | None) -> pd.DataFrame:
    """Return the account progression of accounts A and B without deals."""
    account_map = pd.DataFrame(
        {
            "account_id": ["A", "B"],
            "first_touch_at": pd.to_datetime(["2026-06-01", None], utc=True),
            "first_opportunity_at": pd.to_datetime([None, None], utc=True),
        }
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": pd.Series(dtype=str),
            "account_id": pd.Series(dtype=str),
            "stage_asof": pd.Series(dtype=str),
            "is_open": pd.Series(dtype=bool),
            "stalled": pd.Series(dtype=bool),
            "win_probability": pd.Series(dtype=float),
            "days_in_stage": pd.Series(dtype=float),
            "stall_threshold_days": pd.Series(dtype=float),
        }
    )
    return progression.compute_account_progression(
        account_map, engagement, opportunities, AS_OF
    ).set_index("account_id")


def test_account_progression_names_longest_stall():
    account_map = pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "first_touch_at": pd.to_datetime([None, None, None], utc=True),
            "first_opportunity_at": pd.to_datetime(["2026-01-01"] * 3, utc=True),
        }
    )
    # Account A has two late-stage stalls and an early-stage one that has sat
    # longer. Account B's only stall is early-stage, so it has none to name.
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4", "O5"],
            "account_id": ["A", "A", "A", "B", "C"],
            "stage_asof": ["Proposal", "Negotiation", "Discovery", "Discovery", "X"],
            "is_open": True,
            "stalled": [True, True, True, True, False],
            "win_probability": [0.6, 0.8, 0.1, 0.1, 0.9],
            "days_in_stage": [40.0, 95.6, 300.0, 300.0, 10.0],
            "stall_threshold_days": [30.0, 60.0, 20.0, 20.0, 30.0],
        }
    )

    result = progression.compute_account_progression(
        account_map, None, opportunities, AS_OF, late_stage_probability=0.6
    ).set_index("account_id")

    assert result.loc["A", "late_stall_stage"] == "Negotiation"
    assert result.loc["A", "late_stall_days"] == pytest.approx(95.6)
    assert pd.isna(result.loc["B", "late_stall_stage"])
    assert pd.isna(result.loc["B", "late_stall_days"])
    assert pd.isna(result.loc["C", "late_stall_stage"])


def test_account_progression_untouched_account_zero():
    touches = make_touches(
        [
            ("A", f"c{week}", CUTOFF - pd.Timedelta(days=7 * week + 1), "ae")
            for week in range(8)
        ]
    )
    engagement, _ = run_engagement(touches)

    result = progression_with(engagement)

    assert result.loc["A", "touches_90d"] == 8
    assert result.loc["B", "touches_90d"] == 0
    assert result.loc["B", "sales_touches_30d"] == 0
    assert result.loc["B", "engagement_direction"] == "flat"
    assert result.loc["B", "breadth_direction"] == "flat"
    assert result["touches_90d"].dtype == "int64"


def test_account_progression_without_touchpoints_missing():
    result = progression_with(None)

    counts = [
        "touches_30d",
        "touches_90d",
        "touches_30d_marketing",
        "touches_90d_ae",
        "sales_touches_30d",
        "contacts_90d",
        "contacts_prev_90d",
        "breadth_change",
    ]
    for column in counts:
        assert result[column].dtype == "Int64", column
        assert result[column].isna().all(), column
    for column in ("weekly_mean", "weekly_slope", "engagement_trend"):
        assert result[column].isna().all(), column
    for column in ("engagement_direction", "breadth_direction"):
        assert result[column].isna().all(), column
    untouched = progression_with(pd.DataFrame(columns=["account_id"]))
    assert list(result.columns) == list(untouched.columns)


def make_history() -> pd.DataFrame:
    rows = [
        ("O1", "Qualification", "2026-01-01"),
        ("O1", "Proposal", "2026-01-11"),
        ("O1", "Closed Won", "2026-02-10"),
        ("O2", "Qualification", "2026-01-01"),
        ("O2", "Proposal", "2026-01-21"),
        ("O3", "Qualification", "2026-05-01"),
        ("O3", "Proposal", "2026-08-01"),
    ]
    return history_frame(rows)


def history_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Return a stage history of (opportunity_id, stage, entered_at) rows."""
    frame = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_at"])
    frame["entered_at"] = pd.to_datetime(frame["entered_at"], utc=True)
    return frame


def test_stage_durations_hand_computed():
    visits = progression.compute_stage_durations(make_history(), AS_OF)
    # O3 entered Proposal after the as-of date, so its Qualification visit
    # has not ended yet.
    assert visits["days"].tolist() == [10.0, 30.0, 20.0]
    summary = progression.summarize_stage_durations(visits, STAGE_MAP)
    assert summary["stage"].tolist() == ["Qualification", "Proposal"]
    assert summary["visits"].tolist() == [2, 1]
    assert summary["q3"].tolist() == [17.5, 30.0]


def test_stage_conversion_hand_computed():
    conversion = progression.compute_stage_conversion(make_history(), STAGE_MAP, AS_OF)
    by_stage = conversion.set_index("stage")
    assert by_stage.loc["Qualification", "entered"] == 3
    assert by_stage.loc["Qualification", "advanced"] == 2
    assert by_stage.loc["Proposal", "entered"] == 2
    assert by_stage.loc["Proposal", "conversion"] == pytest.approx(0.5)


def two_open_deals() -> pd.DataFrame:
    """Return a snapshot of O2 in Proposal and O3 in Qualification, both open."""
    return pd.DataFrame(
        {
            "opportunity_id": ["O2", "O3"],
            "account_id": ["A", "B"],
            "name": ["Deal 2", "Deal 3"],
            "type": "new_business",
            "stage_asof": ["Proposal", "Qualification"],
            "stage_order_asof": pd.array([2, 1], dtype="Int64"),
            "probability_asof": [0.6, 0.1],
            "is_open": True,
            "is_won": False,
            "amount": [100.0, 50.0],
            "acv": [100.0, 50.0],
            "created_at": pd.to_datetime(["2026-01-01", "2026-05-01"], utc=True),
            "closed_on": pd.to_datetime([None, None]),
        }
    )


def test_stalled_opportunity_flagged():
    snapshot = two_open_deals()
    durations = pd.DataFrame(
        {"stage": ["Proposal", "Qualification"], "visits": [5, 5], "q3": [30.0, 100.0]}
    )
    opps = progression.compute_opportunity_progression(
        snapshot, make_history(), durations, AS_OF
    ).set_index("opportunity_id")
    # O2 entered Proposal on 2026-01-21: 161 days before the cutoff.
    assert opps.loc["O2", "days_in_stage"] == pytest.approx(161.0)
    assert bool(opps.loc["O2", "stalled"])
    # O3 has been in Qualification since 2026-05-01: 61 days, under 100.
    assert opps.loc["O3", "days_in_stage"] == pytest.approx(61.0)
    assert not bool(opps.loc["O3", "stalled"])


def test_undated_crm_stage_has_no_stall():
    """A CRM stage missing from the dated history has no time in stage."""
    snapshot = two_open_deals()
    # O3 is in Negotiation in the CRM, a stage its history never dates.
    snapshot["stage_asof"] = ["Proposal", "Negotiation"]
    snapshot["history_stage_asof"] = pd.array([pd.NA, "Qualification"], dtype="str")
    durations = pd.DataFrame(
        {"stage": ["Proposal", "Negotiation"], "visits": [5, 5], "q3": [30.0, 10.0]}
    )
    opps = progression.compute_opportunity_progression(
        snapshot, make_history(), durations, AS_OF
    ).set_index("opportunity_id")

    assert opps.loc["O2", "days_in_stage"] == pytest.approx(161.0)
    assert bool(opps.loc["O2", "stalled"])
    assert pd.isna(opps.loc["O3", "days_in_stage"])
    assert not bool(opps.loc["O3", "stalled"])


def test_estimated_creation_has_no_age():
    snapshot = two_open_deals()
    snapshot["created_at_estimated"] = pd.array([True, True], dtype="boolean")
    durations = pd.DataFrame(
        {"stage": ["Proposal", "Qualification"], "visits": [5, 5], "q3": [30.0, 1.0]}
    )
    opps = progression.compute_opportunity_progression(
        snapshot, make_history(), durations, AS_OF
    ).set_index("opportunity_id")

    assert opps["created_at_estimated"].tolist() == [True, True]
    assert opps["days_open"].isna().all()
    # O2 entered Proposal on a recorded date, so its time in stage stays.
    assert opps.loc["O2", "days_in_stage"] == pytest.approx(161.0)
    assert bool(opps.loc["O2", "stalled"])
    # O3 entered Qualification when it was created, on the stand-in date.
    assert pd.isna(opps.loc["O3", "days_in_stage"])
    assert not bool(opps.loc["O3", "stalled"])


def test_zero_day_stage_flags_no_stall():
    history = history_frame(
        [
            ("O1", "Qualification", "2026-01-01"),
            ("O1", "Proposal", "2026-01-11"),
            ("O1", "Closed Won", "2026-01-11"),
            ("O4", "Qualification", "2026-02-01"),
            ("O4", "Proposal", "2026-02-11"),
            ("O4", "Closed Lost", "2026-02-11"),
            ("O2", "Qualification", "2026-05-01"),
            ("O2", "Proposal", "2026-06-20"),
        ]
    )
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["O2"],
            "account_id": ["A"],
            "name": ["Deal 2"],
            "type": "new_business",
            "stage_asof": ["Proposal"],
            "stage_order_asof": pd.array([2], dtype="Int64"),
            "probability_asof": [0.6],
            "is_open": True,
            "is_won": False,
            "amount": [100.0],
            "acv": [100.0],
            "created_at": pd.to_datetime(["2026-05-01"], utc=True),
            "closed_on": pd.to_datetime([None]),
        }
    )
    visits = progression.compute_stage_durations(history, AS_OF)
    durations = progression.summarize_stage_durations(visits, STAGE_MAP)

    opps = progression.compute_opportunity_progression(
        snapshot, history, durations, AS_OF
    ).set_index("opportunity_id")

    # Both completed Proposal visits lasted 0 days, so its 75th percentile
    # is 0 and would flag the deal after any time in the stage.
    assert durations.set_index("stage").loc["Proposal", "q3"] == 0.0
    assert opps.loc["O2", "days_in_stage"] == pytest.approx(11.0)
    assert pd.isna(opps.loc["O2", "stall_threshold_days"])
    assert not bool(opps.loc["O2", "stalled"])


def test_sub_day_stage_has_no_threshold():
    durations = pd.DataFrame(
        {
            "stage": ["Prospecting", "Qualification", "Proposal"],
            "visits": [10, 10, 10],
            "q3": [0.0014, 1.0, 12.5],
        }
    )

    thresholds = progression.compute_stall_thresholds(durations)

    # Two minutes (0.0014 days) would flag a deal 36 days in the stage.
    assert "Prospecting" not in thresholds
    assert thresholds["Qualification"] == pytest.approx(1.0)
    assert thresholds["Proposal"] == pytest.approx(12.5)


def test_stage_with_few_visits_has_no_threshold():
    durations = pd.DataFrame(
        {
            "stage": ["Qualification", "Contract Sent"],
            "visits": [5, 1],
            "q3": [8.0, 15.0],
        }
    )

    default = progression.compute_stall_thresholds(durations)
    from_one = progression.compute_stall_thresholds(durations, min_visits=1)

    assert default == {"Qualification": pytest.approx(8.0)}
    assert from_one["Contract Sent"] == pytest.approx(15.0)


def test_stall_min_visits_default_agrees():
    declaration = load_declarations()["stall_min_visits"]

    assert declaration.default == progression.DEFAULT_STALL_MIN_VISITS


def test_single_visit_flags_no_stall():
    """One completed Proposal visit of 10 days sets no threshold by default."""
    history = history_frame(
        [
            ("O1", "Qualification", "2026-01-01"),
            ("O1", "Proposal", "2026-01-05"),
            ("O1", "Closed Won", "2026-01-15"),
            ("O2", "Qualification", "2026-05-01"),
            ("O2", "Proposal", "2026-05-15"),
        ]
    )
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["O2"],
            "account_id": ["A"],
            "name": ["Deal 2"],
            "type": "new_business",
            "stage_asof": ["Proposal"],
            "stage_order_asof": pd.array([2], dtype="Int64"),
            "probability_asof": [0.6],
            "is_open": True,
            "is_won": False,
            "amount": [100.0],
            "acv": [100.0],
            "created_at": pd.to_datetime(["2026-05-01"], utc=True),
            "closed_on": pd.to_datetime([None]),
        }
    )
    visits = progression.compute_stage_durations(history, AS_OF)
    durations = progression.summarize_stage_durations(visits, STAGE_MAP)

    default = progression.compute_opportunity_progression(
        snapshot, history, durations, AS_OF
    ).iloc[0]
    from_one = progression.compute_opportunity_progression(
        snapshot, history, durations, AS_OF, stall_min_visits=1
    ).iloc[0]

    assert default["days_in_stage"] > 10
    assert pd.isna(default["stall_threshold_days"])
    assert not bool(default["stalled"])
    assert from_one["stall_threshold_days"] == pytest.approx(10.0)
    assert bool(from_one["stalled"])


def closed_deals() -> pd.DataFrame:
    """Return O5 won on its creation day and O6 won before its creation date."""
    return pd.DataFrame(
        {
            "opportunity_id": ["O5", "O6"],
            "account_id": ["A", "A"],
            "name": ["Deal 5", "Deal 6"],
            "type": "new_business",
            "stage_asof": ["Closed Won", "Closed Won"],
            "stage_order_asof": pd.array([4, 4], dtype="Int64"),
            "probability_asof": [1.0, 1.0],
            "is_open": False,
            "is_won": True,
            "amount": [100.0, 50.0],
            "acv": [100.0, 50.0],
            "created_at": pd.to_datetime(
                ["2026-05-10 15:00", "2026-05-10 09:00"], utc=True
            ),
            "closed_on": pd.to_datetime(["2026-05-10", "2026-05-01"]),
        }
    )


def test_same_day_close_has_zero_cycle():
    opps = progression.compute_opportunity_progression(
        closed_deals(), None, None, AS_OF
    ).set_index("opportunity_id")

    # Closed on its creation day: midnight of the close date is 15 hours
    # before the creation time, but the deal was open for no whole day.
    assert opps.loc["O5", "days_open"] == pytest.approx(0.0)
    # Closed nine days before it was created: no cycle length at all.
    assert pd.isna(opps.loc["O6", "days_open"])


def test_velocity_counts_closed_before_created():
    opps = progression.compute_opportunity_progression(
        closed_deals(), None, None, AS_OF
    )
    groups = pd.DataFrame({"account_id": ["A"], "tier": [4]})

    row = progression.compute_pipeline_velocity(opps, groups, "tier", AS_OF).iloc[0]

    assert row["cycle_days"] == pytest.approx(0.0)
    assert row["cycle_left_out"] == 1
    assert row["win_rate"] == pytest.approx(1.0)


def test_pipeline_velocity_hand_computed():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "account_id": ["A", "A", "A", "A"],
            "is_open": [True, True, False, False],
            "is_won": [False, False, True, False],
            "amount": [10.0, 10.0, 600.0, 50.0],
            "closed_on": pd.to_datetime([None, None, "2026-06-01", "2026-05-01"]),
            "created_at": pd.to_datetime(
                ["2026-06-25", "2026-06-25", "2026-04-02", "2026-04-01"], utc=True
            ),
            "days_open": [5.0, 5.0, 60.0, 30.0],
        }
    )
    groups = pd.DataFrame({"account_id": ["A"], "tier": [1]})
    velocity = progression.compute_pipeline_velocity(opps, groups, "tier", AS_OF)
    row = velocity.iloc[0]
    # 2 open x 0.5 win rate x 600 average won deal / 60 days x 30 days.
    assert row["velocity_per_month"] == pytest.approx(300.0)
    assert row["win_rate"] == pytest.approx(0.5)


def test_velocity_without_opportunities_is_numeric():
    """An as-of date before any deal gives an empty table of numbers, not text."""
    opps = pd.DataFrame(
        {
            "opportunity_id": pd.Series(dtype=str),
            "account_id": pd.Series(dtype=str),
            "is_open": pd.Series(dtype=bool),
            "is_won": pd.Series(dtype=bool),
            "amount": pd.Series(dtype=float),
            "closed_on": pd.Series(dtype="datetime64[us]"),
            "created_at": pd.Series(dtype="datetime64[us, UTC]"),
            "days_open": pd.Series(dtype=float),
        }
    )
    groups = pd.DataFrame({"account_id": ["A"], "tier": [1]})

    velocity = progression.compute_pipeline_velocity(opps, groups, "tier", AS_OF)

    assert velocity.empty
    assert velocity["open_opportunities"].dtype == "int64"
    assert velocity["cycle_left_out"].dtype == "int64"
    assert velocity["amount_left_out"].dtype == "int64"
    assert velocity["no_amount_left_out"].dtype == "int64"
    assert velocity["win_rate"].dtype == "float64"
    assert velocity["velocity_per_month"].dtype == "float64"


def test_velocity_leaves_out_negative_won_deal():
    """A refund won at a negative amount is no win and no deal size."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "account_id": ["A", "A", "A", "B"],
            "is_open": [True, False, False, True],
            "is_won": [False, True, True, False],
            "amount": [10.0, 600.0, -5_000.0, 10.0],
            "closed_on": pd.to_datetime([None, "2026-06-01", "2026-06-02", None]),
            "created_at": pd.to_datetime(
                ["2026-06-25", "2026-04-02", "2026-05-19", "2026-06-25"], utc=True
            ),
            "days_open": [5.0, 60.0, 14.0, 5.0],
        }
    )
    opps = pd.concat(
        [
            opps,
            pd.DataFrame(
                {
                    "opportunity_id": ["O5"],
                    "account_id": ["B"],
                    "is_open": [False],
                    "is_won": [True],
                    "amount": [0.0],
                    "closed_on": pd.to_datetime(["2026-06-03"]),
                    "created_at": pd.to_datetime(["2026-05-20"], utc=True),
                    "days_open": [14.0],
                }
            ),
        ],
        ignore_index=True,
    )
    groups = pd.DataFrame({"account_id": ["A", "B"], "tier": [1, 4]})

    velocity = progression.compute_pipeline_velocity(opps, groups, "tier", AS_OF)
    rows = velocity.set_index("tier")

    assert rows.loc["1", "win_rate"] == pytest.approx(1.0)
    assert rows.loc["1", "average_deal"] == pytest.approx(600.0)
    assert rows.loc["1", "cycle_days"] == pytest.approx(60.0)
    # 1 open x 1.0 win rate x 600 average won deal / 60 days x 30 days.
    assert rows.loc["1", "velocity_per_month"] == pytest.approx(300.0)
    assert rows.loc["1", "amount_left_out"] == 1
    # A won deal of amount 0 is left out too, so tier 4 has no closed deal.
    assert pd.isna(rows.loc["4", "win_rate"])
    assert pd.isna(rows.loc["4", "velocity_per_month"])
    assert rows.loc["4", "amount_left_out"] == 1


def test_velocity_leaves_out_won_deal_without_amount():
    """A won deal without an amount is left out of every velocity figure."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "account_id": ["A", "A", "A", "A"],
            "is_open": [True, False, False, False],
            "is_won": [False, True, True, False],
            "amount": [10.0, 600.0, float("nan"), float("nan")],
            "closed_on": pd.to_datetime(
                [None, "2026-06-01", "2026-06-02", "2026-06-03"]
            ),
            "created_at": pd.to_datetime(
                ["2026-06-25", "2026-04-02", "2026-05-19", "2026-05-20"], utc=True
            ),
            "days_open": [5.0, 60.0, 14.0, 14.0],
        }
    )
    groups = pd.DataFrame({"account_id": ["A"], "tier": [1]})

    velocity = progression.compute_pipeline_velocity(opps, groups, "tier", AS_OF)
    row = velocity.iloc[0]

    # O2 won and O4 lost; the lost deal counts although it has no amount.
    assert row["win_rate"] == pytest.approx(0.5)
    assert row["average_deal"] == pytest.approx(600.0)
    assert row["cycle_days"] == pytest.approx(60.0)
    assert row["no_amount_left_out"] == 1
    assert row["amount_left_out"] == 0


def test_velocity_names_deals_without_account():
    opps = progression.compute_opportunity_progression(
        closed_deals(), None, None, AS_OF
    )
    opps = pd.concat([opps, opps.assign(account_id=None, opportunity_id="N1")])
    groups = pd.DataFrame({"account_id": ["B"], "tier": [4]})

    velocity = progression.compute_pipeline_velocity(opps, groups, "tier", AS_OF)

    assert velocity["tier"].tolist() == ["No account", "Unknown"]
