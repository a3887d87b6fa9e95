"""Display blocks of the tiering and health sections on a built sample report."""

from __future__ import annotations

import pandas as pd
import pytest

from acctlib import accountviews, views
from acctlib.workspace import open_workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(small_report):
    path = small_report.run_dir.parents[1] / "work" / "2026-06-30" / "workspace.duckdb"
    return open_workspace(path)


def test_executive_highlights_blocks(workspace):
    blocks = accountviews.executive_highlights(workspace)
    html = [block.data for block in blocks]
    assert len(html) == 3
    assert "Tier 1 Strategic" in html[0]
    assert "vegaEmbed" in html[1]
    assert "AUC" in html[2]


def test_scatter_frame_stays_small(workspace):
    frame = accountviews.value_health_frame(workspace)
    assert len(frame) <= accountviews.MAX_SCATTER_POINTS
    assert (frame["value_amount"] > 0).all()
    assert (frame["label"] != "").sum() <= accountviews.MAX_LABELS


def test_pyramid_counts_every_account(workspace):
    pyramid = accountviews.tier_pyramid_frame(workspace)
    assert pyramid["accounts"].sum() == len(workspace.table("account_tiers"))
    assert pyramid["tier_label"].tolist()[0] == "Tier 1 Strategic"


def test_health_validation_table_formats_every_column(workspace):
    summary = workspace.table("health_validation")
    html = accountviews.health_validation_table(workspace).to_html()
    assert ">Win<" in html
    assert f">{summary['rows'].iloc[0]:,}<" in html
    assert f">{summary['rate'].iloc[0]:.1%}<" in html
    assert f">{summary['auc'].iloc[0]:.3f}<" in html


def test_key_accounts_fold_the_long_list(workspace):
    key = workspace.table("key_accounts")
    assert len(key) > accountviews.KEY_ACCOUNTS_SHOWN
    html = accountviews.key_accounts_table(workspace).data
    shown, folded = html.split("<details", 1)
    assert shown.count("<tr") == accountviews.KEY_ACCOUNTS_SHOWN + 1
    assert f"All {len(key):,} Tier 1 and Tier 2 accounts" in folded
    assert folded.count("<tr") == len(key) + 1


def test_at_risk_weekly_matches_whole_table(workspace):
    health = workspace.table("account_health")
    risky = health[health["at_risk"] & (health["tier"] == 1)]
    risky = risky.sort_values(["health_score", "account_id"]).head(12)
    weekly = workspace.table("account_weekly_touches")
    expected = weekly.merge(risky[["account_id", "name"]], on="account_id")
    expected = expected.sort_values(["name", "week"]).reset_index(drop=True)

    frame = accountviews.at_risk_weekly_frame(workspace)

    assert not frame.empty
    pd.testing.assert_frame_equal(frame, expected)


def test_key_accounts_folded_list_is_limited(workspace, monkeypatch):
    key = workspace.table("key_accounts")
    monkeypatch.setattr(accountviews, "KEY_ACCOUNTS_FOLDED", 40)
    html = accountviews.key_accounts_table(workspace).data
    _, folded = html.split("<details", 1)
    assert folded.count("<tr") == 40 + 1
    assert f"The first 40 of {len(key):,} Tier 1 and Tier 2 accounts" in folded
    assert "Every row is in key_accounts.csv beside this report." in folded
    assert "parquet" not in html


def test_at_risk_list_is_limited(workspace, monkeypatch):
    health = workspace.table("account_health")
    at_risk = int(health["at_risk"].sum())
    assert at_risk > 5
    monkeypatch.setattr(accountviews, "MAX_LISTED_ACCOUNTS", 5)
    html = accountviews.at_risk_table(workspace).data
    assert html.count("<tr") == 5 + 1
    assert f"Listed: 5 of {at_risk:,} at-risk accounts." in html
    assert "Every row is in at_risk_accounts.csv beside this report." in html
    assert "parquet" not in html


def test_sample_has_no_constant_component(workspace):
    # The sample's components vary, so the health page adds no note.
    assert accountviews.constant_components_note(workspace) is None


def test_sample_risk_is_not_widespread(workspace):
    health = workspace.table("account_health")
    key = health[health["tier"] <= 2]
    assert 0 < key["at_risk"].sum() < 0.9 * len(key)
    assert accountviews.widespread_risk_note(workspace) is None
    blocks = accountviews.executive_highlights(workspace)
    assert not any("are at risk," in block.data for block in blocks)


def test_short_list_has_no_limit_note(workspace):
    gaps = workspace.table("coverage_gaps")
    assert 0 < len(gaps) <= accountviews.MAX_LISTED_ACCOUNTS
    html = accountviews.coverage_gaps_table(workspace).data
    assert html.count("<tr") == len(gaps) + 1
    assert "Listed:" not in html


def test_account_lists_written_beside_pages(workspace, small_report):
    run_dir = small_report.run_dir
    health = workspace.table("account_health")
    expected_rows = {
        "key_accounts.csv": len(workspace.table("key_accounts")),
        "coverage_gaps.csv": len(workspace.table("coverage_gaps")),
        "at_risk_accounts.csv": int(health["at_risk"].sum()),
        "expansion_ready_accounts.csv": int(health["expansion_ready"].sum()),
    }
    for file_name, rows in expected_rows.items():
        frame = pd.read_csv(run_dir / file_name)
        assert len(frame) == rows, file_name
        assert frame.columns[:2].tolist() == ["account_id", "name"], file_name


class _Tables:
    """A stand-in workspace that returns the frames it was given."""

    def __init__(self, source_tables=("touchpoints",), **frames: pd.DataFrame) -> None:
        self.frames = frames
        self.info = {"tables": list(source_tables)}
        self.headline = {}
        self.params = {"owner": "", "team": ""}

    def table(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def test_pyramid_frame_keeps_unknown_value_missing():
    tiers = pd.DataFrame(
        {
            "account_id": ["A", "B", "C"],
            "tier": [1, 4, 4],
            "value_amount": [100.0, float("nan"), float("nan")],
        }
    )

    pyramid = accountviews.tier_pyramid_frame(_Tables(account_tiers=tiers))

    values = pyramid.set_index("tier")["value"]
    assert values[1] == 100.0
    assert values[2] == 0.0
    assert pd.isna(values[4])


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        ([2, 3], "No account is in Tier 1, so no coverage gap is listed."),
        ([1, 3], "Every Tier 1 account has an owner, sales and marketing coverage."),
    ],
)
def test_coverage_note_without_gaps(tiers, expected):
    ws = _Tables(
        coverage_gaps=pd.DataFrame(columns=["account_id", "name"]),
        account_tiers=pd.DataFrame({"tier": tiers}),
    )
    assert expected in accountviews.coverage_gaps_table(ws).data


TIER_RULES = {
    "tier_1": {"match": "all", "value": 75, "fit": 60},
    "tier_2": {"match": "all", "value": 50, "fit": 40},
    "tier_3": {"match": "any", "fit": 60, "engagement": 50},
}


def test_tier_accounts_keep_scores_off_thresholds():
    tiers = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "name": ["Acme", "Bolt"],
            "owner": ["Ana", "Ben"],
            "status": ["customer", "customer"],
            "tier": [3, 3],
            "fit_score": [60.4, 59.96],
            "value_score": [49.9, 30.2],
            "engagement_score": [float("nan"), 80.0],
            "value_amount": [2_000.0, 1_000.0],
            "reason": ["fit 60.4", "fit 60.0"],
        }
    )
    ws = _Tables(account_tiers=tiers)
    ws.currency = "USD"
    ws.params["tier_rules"] = TIER_RULES

    html = accountviews.tier_accounts_table(ws, 3).to_html()

    assert ">49.9</td>" in html
    assert ">50</td>" not in html
    assert ">30</td>" in html
    assert ">60</td>" in html
    assert ">59.96</td>" in html
    assert ">–</td>" in html
    assert ">80</td>" in html


def test_tier_accounts_explain_value_measures():
    """The tier table's weighted value comes with the note on the other measures."""
    tiers = pd.DataFrame(
        {
            "account_id": ["A1"],
            "name": ["Acme"],
            "owner": ["Ana"],
            "status": ["customer"],
            "tier": [1],
            "fit_score": [60.0],
            "value_score": [100.0],
            "engagement_score": [90.0],
            "value_amount": [309_342.0],
            "reason": ["value 100, fit 60"],
        }
    )
    ws = _Tables(account_tiers=tiers)
    ws.currency = "USD"
    ws.params["tier_rules"] = TIER_RULES
    tier_2 = _Tables(account_tiers=tiers.assign(tier=2))
    tier_2.currency = "USD"
    tier_2.params["tier_rules"] = TIER_RULES

    html = accountviews.tier_accounts_table(ws, 1).data
    tier_2_html = accountviews.tier_accounts_table(tier_2, 2).to_html()

    assert ">Won + weighted open ACV</th>" in html
    assert html.startswith(views.value_measures_note().data)
    assert views.value_measures_note().data not in tier_2_html


def test_coverage_gaps_count_accounts(monkeypatch):
    """The gap table counts the accounts that its rows, one per gap, cover."""
    gaps = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2"],
            "name": ["Acme", "Acme", "Bolt"],
            "gap": ["no owner", "no sales activity in 30 days", "no owner"],
        }
    )
    monkeypatch.setattr(accountviews, "MAX_LISTED_ACCOUNTS", 2)

    text = accountviews.coverage_gaps_table(_Tables(coverage_gaps=gaps)).data

    assert (
        "3 coverage gaps on 2 accounts: one row per gap, and an account can have "
        "more than one." in text
    )
    assert "Listed: 2 of 3 coverage gaps." in text


def test_coverage_note_without_touchpoints():
    ws = _Tables(
        source_tables=("accounts", "opportunities"),
        coverage_gaps=pd.DataFrame(columns=["account_id", "name"]),
        account_tiers=pd.DataFrame({"tier": [1, 3]}),
    )
    text = accountviews.coverage_gaps_table(ws).data

    assert "sales and marketing coverage are not checked" in text
    assert "Every Tier 1 account" not in text


def test_sensitivity_names_thresholds_in_words():
    sensitivity = pd.DataFrame(
        {
            "threshold": ["tier_1.fit", "tier_3.engagement"],
            "change": [-0.1, 0.1],
            "base": [60.0, 50.0],
            "value": [54.0, 55.0],
            "tier_1": [10, 9],
            "tier_2": [20, 20],
            "tier_3": [30, 30],
            "tier_4": [40, 41],
            "accounts_moved": [2, 1],
        }
    )
    html = accountviews.sensitivity_table(_Tables(tier_sensitivity=sensitivity))
    html = html.to_html()
    assert "Tier 1 fit" in html
    assert "Tier 3 engagement" in html
    assert "tier_1.fit" not in html


def test_health_sentence_names_missing_churn_auc():
    headline = {
        "health_auc_win": 0.71,
        "health_auc_win_missing_reason": "",
        "health_auc_churn": None,
        "health_auc_churn_missing_reason": "no account churned in the outcome window",
    }
    sentence = accountviews._describe_health_aucs(headline)
    assert "ranked next-90-day wins with AUC 0.71 (0.5 is chance" in sentence
    assert "churn with AUC" not in sentence
    assert sentence.endswith(
        "Health has no AUC for churn, because no account churned in the outcome window."
    )


def test_health_sentence_without_results():
    assert accountviews._describe_health_aucs({}) == ""


def test_health_sentence_warns_below_chance():
    headline = {"health_auc_win": 0.354, "health_auc_churn": 0.509}

    sentence = accountviews._describe_health_aucs(headline)

    assert (
        "Health ranked the accounts that won within 90 days lower than those "
        "that did not, with an AUC of 0.35, worse than chance at 0.5." in sentence
    )
    assert "Do not trust health as a ranking of accounts" in sentence
    assert "churned within 90 days higher" not in sentence


def test_health_sentence_warns_churn_below_chance():
    headline = {"health_auc_win": 0.71, "health_auc_churn": 0.42}

    sentence = accountviews._describe_health_aucs(headline)

    assert (
        "Health ranked the accounts that churned within 90 days higher than "
        "those that stayed, with an AUC of 0.42, worse than chance at 0.5." in sentence
    )
    assert "won within 90 days lower" not in sentence


@pytest.mark.parametrize("auc", [0.5, 0.496, 0.71, None])
def test_health_sentence_no_warning_at_chance(auc):
    sentence = accountviews._describe_health_aucs({"health_auc_win": auc})

    assert "worse than chance" not in sentence


class _SummaryWorkspace:
    """A workspace stub whose only table is ``health_validation``."""

    def __init__(self, summary: pd.DataFrame) -> None:
        self.summary = summary

    def table(self, name: str) -> pd.DataFrame:
        assert name == "health_validation"
        return self.summary


def test_health_validation_table_notes_missing_auc():
    summary = pd.DataFrame(
        {
            "outcome": ["win", "churn"],
            "rows": [40, 30],
            "events": [8, 0],
            "rate": [0.2, 0.0],
            "auc": [0.71, float("nan")],
            "month_ends": [3, 3],
            "auc_missing_reason": ["", "no account churned in the outcome window"],
        }
    )
    html = accountviews.health_validation_table(_SummaryWorkspace(summary)).data
    assert ">0.710<" in html
    assert "auc_missing_reason" not in html
    assert "No AUC for churn, because no account churned in the outcome window." in html


def test_health_validation_table_warns_below_chance():
    summary = pd.DataFrame(
        {
            "outcome": ["win", "churn"],
            "rows": [569, 235],
            "events": [74, 34],
            "rate": [0.13, 0.145],
            "auc": [0.354, 0.509],
            "month_ends": [10, 10],
            "auc_missing_reason": ["", ""],
        }
    )

    html = accountviews.health_validation_table(_SummaryWorkspace(summary)).data

    assert "lower than those that did not, with an AUC of 0.35" in html
    assert "nor the at-risk list" in html


def test_at_risk_table_warns_below_chance():
    health = pd.DataFrame(
        {
            "account_id": ["A1"],
            "name": ["Acme"],
            "owner": ["Ana"],
            "tier": [1],
            "health_score": [40.0],
            "health_change": [-5.0],
            "at_risk": [True],
            "risk_reason": ["engagement falling"],
        }
    )
    workspace = _Tables(account_health=health)
    workspace.headline = {"health_auc_win": 0.35}

    html = accountviews.at_risk_table(workspace).data

    assert "nor the at-risk list, which orders accounts by health" in html
    assert "Acme" in html


def test_risk_card_caveat_below_chance():
    gaps = pd.DataFrame({"account_id": ["A1"], "gap": ["no owner"]})
    workspace = _CardWorkspace(gaps)
    workspace.headline["health_auc_win"] = 0.35
    none_at_risk = _CardWorkspace(gaps)
    none_at_risk.headline |= {"health_auc_win": 0.35, "accounts_at_risk": 0}

    html = accountviews.tier_cards(workspace).data

    assert "listed by health, which ranked outcomes below chance" in html
    assert "below chance" not in accountviews.tier_cards(none_at_risk).data


class _CardWorkspace(_Tables):
    """A stand-in workspace with headline figures and a coverage-gap table."""

    def __init__(self, gaps: pd.DataFrame) -> None:
        super().__init__(coverage_gaps=gaps)
        self.headline = {
            "accounts_by_tier": {"Tier 1 Strategic": 2},
            "accounts_at_risk": 1,
            "accounts_expansion_ready": 1,
            "coverage_gaps": len(gaps),
        }

    def has_table(self, name: str) -> bool:
        return name in self.frames


def test_gap_card_counts_accounts():
    gaps = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2"],
            "gap": ["no owner", "no sales activity in 30 days", "no owner"],
        }
    )

    cards = accountviews.tier_cards(_CardWorkspace(gaps)).data

    assert '<div class="label">Accounts with coverage gaps</div>' in cards
    assert '<div class="value">2</div></div></div>' in cards
    assert '<div class="value">3</div>' not in cards


def test_expansion_note_without_touchpoints():
    health = pd.DataFrame(
        {
            "account_id": ["A1"],
            "name": ["Acme"],
            "owner": ["Ana"],
            "tier": [1],
            "health_score": [50.0],
            "health_change": [0.0],
            "expansion_ready": [False],
        }
    )
    ws = _Tables(source_tables=("accounts",), account_health=health)

    text = accountviews.expansion_table(ws).data

    assert "The source has no touchpoints table" in text


def test_tier_cards_caveat_without_touchpoints():
    gaps = pd.DataFrame({"account_id": ["A1"], "gap": ["no owner"]})
    touched = _CardWorkspace(gaps)
    untouched = _CardWorkspace(gaps)
    untouched.info = {"tables": ["accounts", "opportunities"]}

    assert "caveat" not in accountviews.tier_cards(touched).data
    html = accountviews.tier_cards(untouched).data
    assert "stalled deals only: no touch data" in html
    assert "owners and open deals only: no touch data" in html


def _value_health_workspace(values, scores) -> _Tables:
    """Return a workspace of unflagged accounts with these values and health scores."""
    ids = [f"A{i}" for i in range(len(values))]
    health = pd.DataFrame(
        {
            "account_id": ids,
            "name": [f"Account {i}" for i in range(len(values))],
            "health_score": scores,
            "at_risk": False,
            "expansion_ready": False,
        }
    )
    tiers = pd.DataFrame({"account_id": ids, "value_amount": values})
    return _Tables(account_health=health, account_tiers=tiers)


def test_value_health_note_counts_unknown_value():
    ws = _value_health_workspace([100.0, float("nan"), 0.0], [50.0, 40.0, 10.0])

    frame = accountviews.value_health_frame(ws)
    text = accountviews.value_health_note(ws).data

    assert frame["name"].tolist() == ["Account 0"]
    assert "leaves out 1 account whose won + weighted open ACV is unknown" in text
    assert "leaves out 1 account whose won + weighted open ACV is zero" in text


def test_value_health_note_counts_unplotted():
    ws = _value_health_workspace(
        [100.0, 0.0, -5.0, 200.0], [50.0, 40.0, 10.0, float("nan")]
    )

    frame = accountviews.value_health_frame(ws)
    text = accountviews.value_health_note(ws).data

    assert frame["name"].tolist() == ["Account 0"]
    assert "The chart leaves out 2 accounts whose won + weighted open ACV" in text
    assert "is zero or less, because a log scale cannot show it." in text
    assert "The chart leaves out 1 account without a health score." in text
    assert "at most" not in text


def test_value_health_note_counts_over_limit(monkeypatch):
    monkeypatch.setattr(accountviews, "MAX_SCATTER_POINTS", 2)
    ws = _value_health_workspace([300.0, 200.0, 100.0, 50.0], [10.0, 20.0, 30.0, 40.0])

    frame = accountviews.value_health_frame(ws)
    text = accountviews.value_health_note(ws).data

    assert frame["name"].tolist() == ["Account 0", "Account 1"]
    assert "The chart shows at most 2 accounts" in text
    assert "so it leaves out 2 other accounts." in text


def test_value_health_note_when_all_plotted():
    ws = _value_health_workspace([100.0, 200.0], [50.0, 60.0])

    assert accountviews.value_health_note(ws) is None


def _stage_workspace(rows, stage_map=None):
    """Return a workspace with stage durations and conversion, a stage per row.

    Each row is (stage, visits, min, q1, median, q3, max, entered,
    conversion), in process order.
    """
    columns = ["stage", "visits", "min", "q1", "median", "q3", "max"]
    frame = pd.DataFrame(rows, columns=[*columns, "entered", "conversion"])
    durations = frame[columns].copy()
    durations.insert(1, "order", range(1, len(frame) + 1))
    conversion = frame[["stage", "entered", "conversion"]]
    ws = _Tables(stage_durations=durations, stage_conversion=conversion)
    ws.params = {"stall_min_visits": 5}
    ws.stage_map = stage_map or {}
    return ws


def test_stage_table_notes_zero_day_stage():
    ws = _stage_workspace(
        [
            ("Qualification", 6, 0.0, 0.0, 5.0, 12.0, 20.0, 5, 0.8),
            ("Proposal", 5, 0.0, 0.0, 0.0, 0.0, 0.0, 4, 0.75),
            ("Negotiation", 5, 0.0, 0.0, 0.0, 0.0, 0.0, 2, 1.0),
        ],
    )

    html = accountviews.stage_table(ws).data

    assert "Stages Proposal and Negotiation have no stall threshold" in html
    assert "the 75th percentile of their completed visits is under one day" in html
    assert "12.0" in html


def test_stage_table_notes_sub_day_stage():
    ws = _stage_workspace(
        [
            ("Prospecting", 40, 0.0, 0.0, 0.0007, 0.0014, 36.0, 45, 0.3),
            ("Qualification", 10, 1.0, 3.0, 6.0, 9.0, 20.0, 12, 0.5),
        ],
    )

    html = accountviews.stage_table(ws).data

    assert "Stage Prospecting has no stall threshold" in html
    assert "its completed visits is under one day" in html
    assert "9.0" in html


def test_stage_table_notes_few_visits():
    ws = _stage_workspace(
        [
            ("Qualification", 9, 1.0, 3.0, 6.0, 9.0, 20.0, 12, 0.5),
            ("Contract Sent", 1, 15.0, 15.0, 15.0, 15.0, 15.0, 2, 0.5),
            ("Negotiation", 6, 0.0, 0.0, 0.0, 0.0, 0.0, 6, 1.0),
        ],
    )

    html = accountviews.stage_table(ws).data

    assert "Stage Contract Sent has no stall threshold" in html
    assert "because fewer than 5 completed visits give no usual time" in html
    assert "stall_min_visits" in html
    assert "Stage Negotiation has no stall threshold" in html
    assert "its completed visits is under one day" in html
    # 15.0 is Contract Sent's median; its threshold cell stays empty.
    assert html.count(">15.0<") == 1
    assert "9.0" in html


def _shares_workspace(
    revenue_share: float, reason: str, orphan_pipeline: float = 0.0
) -> _Tables:
    """Return a workspace with one tier's shares and the revenue headline.

    The account map has account A and the "No account" row, whose open
    pipeline is ``orphan_pipeline``.
    """
    shares = pd.DataFrame(
        {
            "tier_label": ["Tier 1 Strategic"],
            "accounts": [3],
            "accounts_share": [1.0],
            "open_pipeline": [1_000.0],
            "open_pipeline_share": [1.0],
            "bookings_12m": [500.0],
            "bookings_12m_share": [1.0],
            "revenue_share": [revenue_share],
            "win_rate": [0.5],
            "cycle_days": [30.0],
        }
    )
    account_map = pd.DataFrame(
        {
            "account_id": ["A", "No account"],
            "open_pipeline": [1_000.0, orphan_pipeline],
            "bookings_12m": [500.0, 0.0],
        }
    )
    ws = _Tables(tier_shares=shares, account_map=account_map)
    ws.headline = {"revenue_12m_missing_reason": reason}
    ws.currency = "USD"
    return ws


def test_tier_shares_table_notes_missing_revenue():
    ws = _shares_workspace(float("nan"), "No revenue table in the source")

    html = accountviews.tier_shares_table(ws).data

    assert "Share of revenue is left empty: no revenue table in the source." in html
    assert "–" in html


def test_tier_shares_table_with_revenue_has_no_note():
    ws = _shares_workspace(1.0, "")

    html = accountviews.tier_shares_table(ws).to_html()

    assert "left empty" not in html


def test_tier_shares_table_names_orphan_pipeline():
    ws = _shares_workspace(1.0, "", orphan_pipeline=3_000.0)

    html = accountviews.tier_shares_table(ws).data

    assert "taken over the USD 1,000 of open pipeline on accounts" in html
    assert "leaves out USD 3,000 on deals without an account" in html
    assert "the whole open pipeline is USD 4,000." in html
    assert "bookings in 12 months" not in html


def test_velocity_table_notes_left_out_deals():
    velocity = pd.DataFrame(
        {
            "group": ["Tier 4 Nurture"],
            "open_opportunities": [0],
            "win_rate": [0.8],
            "average_deal": [1.0],
            "cycle_days": [0.0],
            "velocity_per_month": [float("nan")],
            "cycle_left_out": [2],
            "grouping": ["tier_label"],
        }
    )
    ws = _Tables(pipeline_velocity=velocity)
    ws.currency = "USD"

    html = accountviews.velocity_table(ws).data

    assert "The cycle length leaves out 2 won deals" in html
    assert "cycle_left_out" not in html
    assert "\u2212" not in html


def _velocity_slice_workspace(outside_deals: int) -> _Tables:
    """Return a slice of owner Yara Kim with ``outside_deals`` of hers elsewhere."""
    velocity = pd.DataFrame(
        {
            "group": ["Retail"],
            "open_opportunities": [1],
            "win_rate": [0.5],
            "average_deal": [100.0],
            "cycle_days": [30.0],
            "velocity_per_month": [50.0],
            "grouping": ["industry"],
        }
    )
    ws = _Tables(pipeline_velocity=velocity)
    ws.currency = "USD"
    ws.params = {"owner": "Yara Kim", "team": ""}
    no_deals = {"deals": 0, "open_pipeline": 0.0, "won": 0.0}
    ws.headline = {
        "slice": "owner Yara Kim",
        "slice_deal_owners": {
            "slice_deals": 4,
            "other_owners": no_deals,
            "no_owner": no_deals,
            "own_deals": 4 + outside_deals,
            "outside_slice": no_deals | {"deals": outside_deals, "without_account": 0},
        },
    }
    return ws


def test_velocity_table_captions_slice_accounts():
    ws = _velocity_slice_workspace(outside_deals=3)

    html = accountviews.velocity_table(ws, "industry").data

    assert (
        "These velocity figures count every deal at the accounts of owner "
        "Yara Kim, whoever owns it, so they are not the figures of the deals "
        "of Yara Kim." in html
    )


def test_velocity_table_of_matching_slice_has_no_caption():
    ws = _velocity_slice_workspace(outside_deals=0)

    table = accountviews.velocity_table(ws, "industry")

    assert "whoever owns it" not in table.to_html()


def test_velocity_table_notes_refunds():
    velocity = pd.DataFrame(
        {
            "group": ["Retail"],
            "open_opportunities": [1],
            "win_rate": [float("nan")],
            "average_deal": [float("nan")],
            "cycle_days": [float("nan")],
            "velocity_per_month": [float("nan")],
            "cycle_left_out": [0],
            "amount_left_out": [1],
            "grouping": ["industry"],
        }
    )
    ws = _Tables(pipeline_velocity=velocity)
    ws.currency = "USD"

    html = accountviews.velocity_table(ws, "industry").data

    assert "leave out 1 won deal of the last 12 months with an amount" in html
    assert "The cycle length leaves out" not in html
    assert "amount_left_out" not in html


@pytest.mark.parametrize(
    ("not_positive", "no_amount", "expected"),
    [
        (
            0,
            2,
            "leave out 2 won deals of the last 12 months without an amount, "
            "as attribution does.",
        ),
        (
            1,
            2,
            "leave out 3 won deals of the last 12 months: 1 with an amount of "
            "zero or less, such as refunds and credits, and 2 without an amount",
        ),
    ],
)
def test_velocity_table_notes_missing_amounts(not_positive, no_amount, expected):
    velocity = pd.DataFrame(
        {
            "group": ["Retail"],
            "open_opportunities": [1],
            "win_rate": [float("nan")],
            "average_deal": [float("nan")],
            "cycle_days": [float("nan")],
            "velocity_per_month": [float("nan")],
            "cycle_left_out": [0],
            "amount_left_out": [not_positive],
            "no_amount_left_out": [no_amount],
            "grouping": ["industry"],
        }
    )
    ws = _Tables(pipeline_velocity=velocity)
    ws.currency = "USD"

    html = accountviews.velocity_table(ws, "industry").data

    assert expected in html
    assert "no_amount_left_out" not in html


def _stalled_workspace(names: list[str]) -> _Tables:
    """Return a workspace with stalled deals O1 and O2 named ``names``."""
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "account_id": ["A", "A"],
            "name": names,
            "stage_asof": ["Engaging", "Engaging"],
            "amount": [100.0, 200.0],
            "days_in_stage": [3256.0, 40.0],
            "stall_threshold_days": [30.0, 30.0],
            "stalled": [True, True],
        }
    )
    tiers = pd.DataFrame(
        {"account_id": ["A"], "name": ["Acme"], "tier_label": ["Tier 1 Strategic"]}
    )
    ws = _Tables(opportunity_progression=opportunities, account_tiers=tiers)
    ws.currency = "USD"
    return ws


def test_stalled_table_shows_opportunity_id():
    html = accountviews.stalled_table(_stalled_workspace(["MG Advanced"] * 2))
    html = html.to_html()

    assert "Opportunity ID" in html
    assert ">O1<" in html
    assert ">O2<" in html
    assert "MG Advanced" in html
    assert html.index(">O1<") < html.index(">O2<")


def test_stalled_table_drops_name_equal_to_id():
    html = accountviews.stalled_table(_stalled_workspace(["O1", "O2"])).to_html()

    assert "Opportunity ID" in html
    assert ">Name<" not in html


def test_stage_table_names_last_stage_share_won():
    ws = _stage_workspace(
        [
            ("Prospecting", 10, 1.0, 2.0, 3.0, 4.0, 5.0, 20, 0.5),
            ("Engaging", 10, 1.0, 2.0, 3.0, 4.0, 5.0, 10, 0.4),
        ],
        stage_map={
            "Prospecting": {"category": "open", "order": 1},
            "Engaging": {"category": "open", "order": 2},
            "Won": {"category": "won", "order": 3},
            "Lost": {"category": "lost", "order": 4},
        },
    )

    html = accountviews.stage_table(ws).data

    assert "Reached a later stage or won" in html
    assert "Moved to a later stage" not in html
    assert "counting those still open as not yet moved on" in html
    assert "From Engaging, the last open stage, the only way on is a win" in html


def _drivers_workspace(changes):
    """Return a workspace whose accounts moved by ``changes``, with drivers."""
    health = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(changes))],
            "name": [f"Account {i}" for i in range(len(changes))],
            "tier": 1,
            "health_score": 50.0,
            "health_change": changes,
            "drivers": ["usage −6.0" if abs(c) > 5 else "" for c in changes],
        }
    )
    ws = _Tables(account_health=health)
    ws.params["health_noise_band"] = 5
    return ws


def test_drivers_table_counts_moved_accounts():
    ws = _drivers_workspace([-20.0, 8.0, 12.0, 2.0])

    html = accountviews.drivers_table(ws, n=2).to_html()

    assert html.count("<tr") == 2 + 1
    assert "3 accounts' health moved by more than 5 points since last month." in html
    assert "The table shows the 2 largest moves." in html


def test_drivers_table_shows_every_move():
    ws = _drivers_workspace([-20.0, 2.0])

    html = accountviews.drivers_table(ws).to_html()

    assert "1 account's health moved by more than 5 points since last month." in html
    assert "largest moves" not in html


def test_account_list_explains_missing_change():
    frame = pd.DataFrame(
        {"name": ["Acme", "Birch"], "health_score": [66.5, 40.0]}
    ).assign(health_change=[float("nan"), -5.0])

    html = accountviews._account_list(frame, "at_risk_accounts.csv", "accounts").data

    assert "no health score at the previous month-end" in html
    assert "−5.0" in html


def test_account_list_without_missing_change_has_no_note():
    frame = pd.DataFrame({"name": ["Birch"], "health_change": [-5.0]})

    listed = accountviews._account_list(frame, "at_risk_accounts.csv", "accounts")

    assert "previous month-end" not in listed.to_html()
