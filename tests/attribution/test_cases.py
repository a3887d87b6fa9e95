"""Worked cases of journeys, heuristic models, Markov and Shapley."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from acctlib.attribution import compare, credits, datadriven, markov, shapley
from acctlib.attribution.credits import compute_attribution
from acctlib.attribution.journeys import excluded_touch_note
from acctlib.attribution.settings import MODELS, AttributionSettings
from tests.attribution.frames import AS_OF, attribute, credit_by, opportunities, touches


@pytest.fixture(scope="module")
def two_deals():
    """One account, two won deals and a touch before either window."""
    deals = opportunities(
        ("O1", "A", "2024-01-10", "2024-03-15", 90_000, "won"),
        ("O2", "A", "2024-04-01", "2024-05-30", 30_000, "won"),
    )
    touch_frame = touches(
        ("t1", "A", "2023-06-01 10:00", "event"),
        ("t2", "A", "2024-01-05 10:00", "webinar"),
        ("t3", "A", "2024-02-20 10:00", "paid_search"),
        ("t4", "A", "2024-03-15 16:00", "email"),
        ("t5", "A", "2024-03-20 10:00", "email"),
        ("t6", "A", "2024-04-10 10:00", "partner_referral", "partner"),
    )
    return attribute(touch_frame, deals, lookback_days=180)


def test_two_deals_first_and_last_touch(two_deals):
    """O1's first touch is the webinar and its last the email on the close date."""
    assert credit_by(two_deals, "first_touch", opportunity="O1") == {
        "email": 0.0,
        "paid_search": 0.0,
        "webinar": 90_000.0,
    }
    last = credit_by(two_deals, "last_touch", opportunity="O1")
    assert last == {"email": 90_000.0, "paid_search": 0.0, "webinar": 0.0}


def test_two_deals_linear_split(two_deals):
    """Linear gives 30,000 to each O1 touch and 15,000 to each O2 touch."""
    o1 = credit_by(two_deals, "linear", opportunity="O1")
    o2 = credit_by(two_deals, "linear", opportunity="O2")
    assert o1 == {"email": 30_000.0, "paid_search": 30_000.0, "webinar": 30_000.0}
    assert o2 == {"email": 15_000.0, "partner_referral": 15_000.0}


def test_two_deals_event_outside_window(two_deals):
    """The 2023 event joins no journey and the run counts it once."""
    credited = set(two_deals.fetch_credits()["channel"])
    assert "event" not in credited
    revenue = two_deals.excluded_touches
    revenue = revenue[revenue["kind"] == "revenue"]
    assert revenue.to_dict("records") == [
        {"kind": "revenue", "reason": "outside window", "touches": 1}
    ]
    note = excluded_touch_note(two_deals.excluded_touches, AS_OF)
    assert note == (
        "Attribution: 1 touch known on 2024-12-31 joined no won deal's journey, "
        "so it earns no won-revenue credit: 1 outside every won deal's "
        "lookback window."
    )


def test_excluded_touches_per_kind_and_reason():
    """Every known touch outside the journeys is counted once per kind."""
    deals = opportunities(
        ("W1", "A", "2024-06-01", "2024-07-01", 10_000, "won"),
        ("P1", "B", "2024-06-01", "2024-12-01", 5_000, "open"),
    )
    touch_frame = touches(
        ("a-old", "A", "2023-01-01", "event"),
        ("a-in", "A", "2024-06-15", "webinar"),
        ("a-late", "A", "2024-08-01", "email"),
        ("b-in", "B", "2024-06-15", "email"),
        ("c-none", "C", "2024-06-15", "email"),
        ("a-unknown", "A", "2025-02-01", "email"),
    )
    excluded = attribute(touch_frame, deals, lookback_days=90).excluded_touches
    assert excluded.to_dict("records") == [
        {"kind": "pipeline", "reason": "after last close", "touches": 1},
        {"kind": "pipeline", "reason": "no opportunity", "touches": 1},
        {"kind": "pipeline", "reason": "outside window", "touches": 1},
        {"kind": "revenue", "reason": "after last close", "touches": 1},
        {"kind": "revenue", "reason": "no opportunity", "touches": 2},
        {"kind": "revenue", "reason": "outside window", "touches": 1},
    ]


def test_excluded_touches_of_deal_without_amount():
    """Touches at an account whose only won deal has no amount get their own reason."""
    deals = opportunities(
        ("W1", "A", "2024-06-01", "2024-07-01", 10_000, "won"),
        ("W2", "B", "2024-06-01", "2024-07-01", None, "won"),
    )
    touch_frame = touches(
        ("a-lead", "A", "2024-06-01", "paid_search"),
        ("b-lead", "B", "2024-06-01", "paid_search"),
        ("b-sdr", "B", "2024-07-01", "call", "sdr"),
        ("c-lead", "C", "2024-06-01", "paid_search"),
    )
    result = attribute(touch_frame, deals)
    excluded = result.excluded_touches.set_index(["kind", "reason"])["touches"]

    assert excluded.to_dict() == {
        ("pipeline", "deal without an amount"): 2,
        ("pipeline", "no opportunity"): 1,
        ("revenue", "deal without an amount"): 2,
        ("revenue", "no opportunity"): 1,
    }
    assert excluded_touch_note(result.excluded_touches, AS_OF) == (
        "Attribution: 3 touches known on 2024-12-31 joined no won deal's "
        "journey, so they earn no won-revenue credit: 2 at accounts whose won "
        "deals all lack a positive amount, so attribution leaves them out; "
        "1 at accounts without a won deal."
    )


def test_credits_in_parts_equal_one_pass(monkeypatch):
    """Journeys credited a few at a time get the cents of one pass."""
    deals = opportunities(
        ("O1", "A", "2024-01-10", "2024-03-15", 90_000.01, "won"),
        ("O2", "A", "2024-04-01", "2024-05-30", 30_000, "won"),
        ("O3", "B", "2024-02-01", "2024-05-01", 10_000, "lost"),
        ("O4", "B", "2024-03-01", "2024-06-20", 70_000.07, "won"),
        ("O5", "C", "2024-01-15", "2024-06-01", 5_000, "open"),
    )
    touch_frame = touches(
        ("t1", "A", "2024-01-05 10:00", "webinar"),
        ("t2", "A", "2024-02-20 10:00", "paid_search"),
        ("t3", "A", "2024-03-15 16:00", "email", "sdr"),
        ("t4", "A", "2024-04-10 10:00", "partner_referral", "partner"),
        ("t5", "B", "2024-01-20 10:00", "email"),
        ("t6", "B", "2024-03-02 10:00", "webinar", "ae"),
        ("t7", "B", "2024-04-11 10:00", "paid_search"),
        ("t8", "B", "2024-06-01 10:00", "event"),
        ("t9", "C", "2024-02-01 10:00", "email"),
        ("t10", "C", "2024-03-01 10:00", "event", "sdr"),
    )
    whole = attribute(touch_frame, deals, lookback_days=90)
    monkeypatch.setattr(credits, "JOURNEY_ROWS_PER_PART", 2)
    split = attribute(touch_frame, deals, lookback_days=90)
    assert split.fetch_credits()["model"].nunique() == len(MODELS)
    pd.testing.assert_frame_equal(split.fetch_credits(), whole.fetch_credits())
    pd.testing.assert_frame_equal(split.campaign_credits, whole.campaign_credits)


def test_drop_cached_frees_engine_tables():
    """Credits read cached sums until the result drops them."""
    con = ibis.duckdb.connect()
    table = con.create_table(
        "touchpoints", touches(("t1", "A", "2024-06-15", "webinar"))
    )
    deals = opportunities(("W1", "A", "2024-06-01", "2024-07-01", 10_000, "won"))
    settings = AttributionSettings(as_of=AS_OF, models=MODELS)
    result = compute_attribution(con, table, deals, settings)

    def engine_tables():
        query = "SELECT table_name FROM information_schema.tables"
        return {name for (name,) in con.con.execute(query).fetchall()}

    names = {cached.get_name().split(".")[-1] for cached in result.cached}
    # Every model's sums, side by side in one table.
    assert len(names) == 1
    assert names <= engine_tables()
    assert result.fetch_credits()["credit_cents"].sum() == 2 * 10_000_00 * len(MODELS)
    result.drop_cached(con)
    assert not names & engine_tables()
    assert result.cached == []


@pytest.mark.parametrize(
    ("shares", "expected", "left_out"),
    [
        ({"A": 0.5, "B": 0.5}, {"webinar": 5_000.0, "event": 5_000.0}, 1),
        ({"A": 1.0, "B": 0.0}, {"webinar": 10_000.0}, 2),
    ],
)
def test_shared_deal_draws_every_company(shares, expected, left_out):
    """A deal shared by two companies draws both companies' touches."""
    deals = opportunities(("S1", "A", "2024-06-01", "2024-07-01", 10_000, "won"))
    touch_frame = touches(
        ("a1", "A", "2024-06-10", "webinar"),
        ("b1", "B", "2024-06-20", "event"),
        ("c1", "C", "2024-06-20", "email"),
    )
    links = pd.DataFrame(
        {
            "opportunity_id": "S1",
            "account_id": list(shares),
            "share": list(shares.values()),
        }
    )
    con = ibis.duckdb.connect()
    table = con.create_table("touchpoints", touch_frame)
    settings = AttributionSettings(as_of=AS_OF)
    result = compute_attribution(con, table, deals, settings, links)
    assert credit_by(result, "linear") == expected
    # C's touch, and B's when B has no share, join no journey.
    excluded = result.excluded_touches
    assert excluded.loc[excluded["kind"] == "revenue", "touches"].sum() == left_out


def test_assign_all_credits_both_deals():
    """With the all assignment the webinar also joins O2's journey."""
    deals = opportunities(
        ("O1", "A", "2024-01-10", "2024-03-15", 90_000, "won"),
        ("O2", "A", "2024-04-01", "2024-05-30", 30_000, "won"),
    )
    touch_frame = touches(
        ("t0", "A", "2023-01-05 10:00", "email"),
        ("t2", "A", "2024-01-05 10:00", "webinar"),
        ("t6", "A", "2024-04-10 10:00", "partner_referral", "partner"),
    )
    result = attribute(touch_frame, deals, assignment="all")
    o2 = credit_by(result, "linear", opportunity="O2")
    assert o2 == {"partner_referral": 15_000.0, "webinar": 15_000.0}
    # The webinar joins two journeys but is one touch: only the email of
    # 2023, before both lookbacks, is left out.
    excluded = result.excluded_touches.set_index(["kind", "reason"])["touches"]
    assert excluded.to_dict() == {
        ("pipeline", "outside window"): 1,
        ("revenue", "outside window"): 1,
    }


@pytest.fixture(scope="module")
def three_won_deals():
    deals = opportunities(
        ("O1", "A", "2024-03-01", "2024-04-01", 100_000, "won"),
        ("O2", "B", "2024-03-01", "2024-04-01", 50_000, "won"),
        ("O3", "C", "2024-03-01", "2024-04-01", 25_000, "won"),
    )
    touch_frame = touches(
        ("t1", "A", "2024-02-01", "webinar"),
        ("t2", "A", "2024-02-15", "paid_search"),
        ("t3", "B", "2024-02-01", "event"),
    )
    return attribute(touch_frame, deals)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_totals_closed_won(three_won_deals, model):
    """Every model credits 175,000 with 25,000 on "No recorded touch"."""
    credit = credit_by(three_won_deals, model)
    assert sum(credit.values()) == 175_000.0
    assert credit["No recorded touch"] == 25_000.0


def test_coverage_of_won_revenue(three_won_deals):
    """Touched deals hold 150,000 of 175,000 won, 85.7%."""
    coverage = compare.compute_coverage(three_won_deals.opportunities)
    assert round(coverage["amount_share"].iloc[0], 3) == 0.857
    assert coverage["opportunities"].iloc[0] == 3
    assert coverage["touched"].iloc[0] == 2


def test_markov_single_channel_paths():
    """Removal effects give A 2/3 and B 1/3 of 300, like first and last touch."""
    paths = pd.DataFrame(
        {
            "channels": [["A"], ["B"], ["A"], ["B"]],
            "conversions": [2, 1, 0, 0],
            "nulls": [0, 0, 1, 2],
        }
    )
    effects = markov.compute_removal_effects(markov.count_path_transitions(paths))
    shares = dict(zip(effects["channel"], effects["share"], strict=True))
    assert shares["A"] == pytest.approx(2 / 3, abs=1e-12)
    assert shares["B"] == pytest.approx(1 / 3, abs=1e-12)
    assert (effects["removal_effect"] >= 0).all()


def test_markov_credit_equals_first_touch():
    """On one-channel journeys worth 100 each, Markov credits A 200 and B 100."""
    deals = opportunities(
        ("W1", "a1", "2024-03-01", "2024-04-01", 100, "won"),
        ("W2", "a2", "2024-03-01", "2024-04-01", 100, "won"),
        ("W3", "a3", "2024-03-01", "2024-04-01", 100, "won"),
        ("L1", "a4", "2024-03-01", "2024-04-01", 100, "lost"),
        ("L2", "a5", "2024-03-01", "2024-04-01", 100, "lost"),
        ("L3", "a6", "2024-03-01", "2024-04-01", 100, "lost"),
    )
    channels = ["A", "A", "B", "A", "B", "B"]
    touch_frame = touches(
        *[(f"t{i}", f"a{i + 1}", "2024-03-10", c) for i, c in enumerate(channels)]
    )
    result = attribute(touch_frame, deals)
    markov_credit = credit_by(result, "markov")
    assert markov_credit == {"A": 200.0, "B": 100.0}
    assert markov_credit == credit_by(result, "first_touch")
    assert markov_credit == credit_by(result, "last_touch")


def test_shapley_two_channels():
    """v(A)=60, v(B)=20, v(AB)=100 gives A 70 and B 30."""
    worth = {
        frozenset(): 0.0,
        frozenset({"A"}): 60.0,
        frozenset({"B"}): 20.0,
        frozenset({"A", "B"}): 100.0,
    }
    values = shapley.shapley_values(worth, ["A", "B"])
    assert values["A"] == pytest.approx(70.0)
    assert values["B"] == pytest.approx(30.0)


def test_shapley_groups_rare_channels():
    """25 channels become 11 players and "other"."""
    channels = [f"c{i:02d}" for i in range(25)]
    sets = pd.DataFrame(
        {
            "channels": [frozenset(channels[i : i + 3]) for i in range(23)],
            "conversions": list(range(1, 24)),
            "nulls": [2] * 23,
        }
    )
    values = shapley.compute_channel_shapley(sets, max_channels=12)
    assert values["player"].nunique() == 12
    assert (values["player"] == shapley.OTHER).sum() == 14


def _channel_weights(rows):
    return pd.DataFrame(rows, columns=["channel", "player", "channel_weight"])


@pytest.mark.parametrize("shapley_groups", [False, True])
def test_channel_weights_split_over_player_touches(shapley_groups):
    """A player's weight is split over its touches in the journey.

    Shapley groups B and C into one player in one case; D has no weight.
    """
    journeys = ibis.memtable(
        {
            "journey_id": [0, 0, 0, 0, 0, 1],
            "position": [0, 1, 2, 3, 4, 0],
            "channel": ["A", "B", "C", "C", "D", "C"],
        }
    )
    markov_weights = _channel_weights(
        [("A", "A", 0.5), ("B", "B", 0.3), ("C", "C", 0.2)]
    )
    other = shapley.OTHER if shapley_groups else None
    shapley_weights = _channel_weights(
        [("A", "A", 0.6), ("B", other or "B", 0.4), ("C", other or "C", 0.4)]
    )
    weighted = datadriven.add_channel_weights(
        journeys, {"markov": markov_weights, "shapley": shapley_weights}
    )
    frame = weighted.to_pandas().sort_values(["journey_id", "position"])
    assert list(frame.columns) == [
        "journey_id",
        "position",
        "channel",
        "weight_markov",
        "weight_shapley",
    ]
    assert frame["weight_markov"].tolist() == [0.5, 0.3, 0.1, 0.1, 0.0, 0.2]
    grouped = [0.6, 0.4 / 3, 0.4 / 3, 0.4 / 3, 0.0, 0.4]
    alone = [0.6, 0.4, 0.2, 0.2, 0.0, 0.4]
    expected = grouped if shapley_groups else alone
    assert frame["weight_shapley"].tolist() == expected
    # Models that group the channels alike share one count of player touches.
    sql = ibis.to_sql(weighted, dialect="duckdb")
    assert sql.count("COUNT(*)") == (2 if shapley_groups else 1)
    assert "OVER" not in sql


def test_suggested_lookback_from_journeys():
    """First touches 40 and 100 days before creation suggest 90 days."""
    deals = opportunities(
        ("O1", "A", "2024-06-01", "2024-07-01", 100, "won"),
        ("O2", "B", "2024-06-01", "2024-07-01", 100, "won"),
    )
    touch_frame = touches(
        ("t1", "A", "2024-04-22", "webinar"),
        ("t2", "B", "2024-02-22", "event"),
        ("t3", "B", "2024-06-15", "email"),
    )
    con = ibis.duckdb.connect()
    table = con.create_table("touchpoints", touch_frame)
    settings = AttributionSettings(as_of=AS_OF)
    # The 0.8 quantile of 40 and 100 days is 88, rounded up to 90.
    assert compare.suggest_lookback(table, deals, settings) == 90


def test_campaign_credit_totals_closed_won(three_won_deals):
    """Campaign credit per model also totals 175,000, untouched deals included."""
    rows = three_won_deals.campaign_credits
    revenue = rows[rows["kind"] == "revenue"]
    totals = revenue.groupby("model")["credit"].sum()
    assert (totals == 175_000.0).all()
    assert len(totals) == len(MODELS)
    untouched = revenue[revenue["campaign"] == "No recorded touch"]
    assert (untouched["credit"] == 25_000.0).all()


@pytest.mark.parametrize(
    ("models", "builds"),
    [(("linear", "first_touch"), 4), (("first_touch", "last_touch"), 5)],
)
def test_window_sensitivity_reads_the_credits_at_the_lookback(
    monkeypatch, models, builds
):
    """The run's own lookback comes from its credits, with the same cents."""
    deals = opportunities(
        ("O1", "A", "2024-06-01", "2024-07-01", 100.01, "won"),
        ("O2", "B", "2024-06-01", "2024-08-01", 250.02, "won"),
        ("O3", "C", "2024-06-01", "2024-08-01", 500, "lost"),
        ("O4", "D", "2024-06-01", "2024-08-01", 75, "won"),
    )
    touch_frame = touches(
        ("t1", "A", "2024-05-20", "webinar"),
        ("t2", "A", "2024-04-15", "email"),
        ("t3", "A", "2024-02-10", "event"),
        ("t4", "B", "2024-05-25", "email"),
        ("t5", "B", "2023-12-20", "webinar"),
        ("t6", "B", "2024-06-20", "paid_search"),
        ("t7", "C", "2024-05-01", "event"),
    )
    con = ibis.duckdb.connect()
    table = con.create_table("touchpoints", touch_frame)
    settings = AttributionSettings(as_of=AS_OF, lookback_days=90, models=models)
    result = compute_attribution(con, table, deals, settings)
    fresh = compare.compute_window_sensitivity(table, deals, settings)
    calls = []
    original = compare.build_journeys

    def counted(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(compare, "build_journeys", counted)
    reused = compare.compute_window_sensitivity(
        table, deals, settings, credits=result.credits
    )

    assert len(calls) == builds
    pd.testing.assert_frame_equal(reused, fresh)
    at_lookback = fresh[fresh["lookback_days"] == 90].set_index("channel")
    # O1 splits 100.01 over t2 and t1, the earlier touch taking the odd
    # cent; O2 splits 250.02 over t4 and t6. The lost O3 and the untouched
    # O4 are left out.
    assert at_lookback["credit"].to_dict() == {
        "email": 175.02,
        "paid_search": 125.01,
        "webinar": 50.0,
    }
