"""Account state on past dates: no future data leaks, month-end listing."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from acctlib import accountstate, engine, health, movement, prepare
from acctlib.accountmap import summarize_touch_activity, summarize_touch_history
from acctlib.asof import as_of_cutoff, snapshot_opportunities
from acctlib.intake import load_source
from acctlib.prepare import PrepareContext
from tests.conftest import small_params

AS_OF = dt.date(2026, 3, 31)


def truncate_tables(tables: dict[str, pd.DataFrame], as_of: dt.date) -> dict:
    """Return the tables without any record dated after ``as_of``."""
    cutoff = as_of_cutoff(as_of)
    dated = {
        "accounts": "created_at",
        "opportunities": "created_at",
        "stage_history": "entered_at",
        "touchpoints": "occurred_at",
        "signals": "occurred_at",
    }
    kept = {}
    for name, frame in tables.items():
        if name in dated:
            kept[name] = frame[frame[dated[name]] < cutoff].reset_index(drop=True)
        elif name == "revenue":
            kept[name] = frame[frame["month"] <= pd.Timestamp(as_of)]
        else:
            kept[name] = frame
    return kept


def make_context(intake, params, tables) -> PrepareContext:
    con = engine.connect()
    for name, frame in tables.items():
        engine.write_table(con, name, frame)
    intake = type(intake)(
        tables=tables,
        quarantine=intake.quarantine,
        inputs=intake.inputs,
        stage_map=intake.stage_map,
    )
    return PrepareContext(con=con, intake=intake, params=params)


@pytest.fixture(scope="module")
def sample_intake(small_sample, tmp_path_factory):
    params = small_params(small_sample, tmp_path_factory.mktemp("state"))
    return load_source(params), params


def test_future_records_change_nothing(sample_intake):
    intake, params = sample_intake
    full = make_context(intake, params, intake.tables)
    past = make_context(intake, params, truncate_tables(intake.tables, AS_OF))
    assert len(past.intake.tables["touchpoints"]) < len(intake.tables["touchpoints"])

    with_future = accountstate.compute_account_state(full, AS_OF)
    without_future = accountstate.compute_account_state(past, AS_OF)
    for name in ("account_progression", "account_tiers", "account_health"):
        pd.testing.assert_frame_equal(
            with_future[name], without_future[name], check_dtype=False, obj=name
        )


@pytest.mark.parametrize(
    ("as_of", "first", "last"),
    [
        (dt.date(2026, 6, 30), dt.date(2025, 6, 30), dt.date(2026, 5, 31)),
        (dt.date(2026, 3, 15), dt.date(2025, 3, 31), dt.date(2026, 2, 28)),
    ],
)
def test_month_ends_before(as_of, first, last):
    ends = accountstate.month_ends_before(as_of)
    assert len(ends) == 12
    assert ends[0] == first
    assert ends[-1] == last


def test_touch_history_equals_one_date_at_a_time(sample_intake):
    intake, params = sample_intake
    context = make_context(intake, params, intake.tables)
    touches = context.touchpoints()
    opportunities = intake.tables["opportunities"]
    history = intake.tables["stage_history"]
    first_opportunity = opportunities["created_at"].min().date()
    # A month-end before any opportunity, one in the first month with one,
    # and the twelve month-ends a report looks back on.
    dates = [
        first_opportunity.replace(day=1) - dt.timedelta(days=1),
        accountstate.month_ends_before(first_opportunity, 1)[0] + dt.timedelta(days=40),
        *accountstate.month_ends_before(params.as_of),
    ]
    latest = snapshot_opportunities(
        opportunities, history, intake.stage_map, params.as_of
    )
    together = summarize_touch_history(touches, latest, dates)

    assert sorted(together) == sorted(dates)
    for date in dates:
        snapshot = snapshot_opportunities(
            opportunities, history, intake.stage_map, date
        )
        alone = summarize_touch_activity(touches, snapshot, date)
        pd.testing.assert_frame_equal(together[date], alone, obj=str(date))
    assert together[dates[-1]]["marketing_sourced"].any()
    assert together[dates[-1]]["marketing_channels_90d"].gt(0).any()


HISTORY_STEPS = [
    prepare.prepare_account_map,
    accountstate.prepare_progression,
    accountstate.prepare_tiers_and_health,
    accountstate.prepare_account_history,
]


def test_previous_month_reuses_history_state(sample_intake, tmp_path):
    intake, params = sample_intake
    current = prepare.prepare_workspace(
        intake, params, tmp_path / "now.duckdb", steps=HISTORY_STEPS
    )
    earlier = movement.previous_month_end(params.as_of)
    assert list(current.month_end_states) == [earlier]

    previous_params = params.replace(as_of=earlier)
    steps = prepare.MOVEMENT_STEPS
    reused = prepare.prepare_workspace(
        intake,
        previous_params,
        tmp_path / "reused.duckdb",
        steps=steps,
        month_end_states=current.month_end_states,
    )
    computed = prepare.prepare_workspace(
        intake, previous_params, tmp_path / "computed.duckdb", steps=steps
    )
    assert reused.headline == computed.headline
    assert sorted(reused.frames) == sorted(computed.frames)
    for name, frame in computed.frames.items():
        pd.testing.assert_frame_equal(reused.frames[name], frame, obj=name)


def read_workspace(path) -> dict[str, pd.DataFrame]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        names = [row[0] for row in con.execute("SHOW TABLES").fetchall()]
        return {name: con.execute(f'SELECT * FROM "{name}"').df() for name in names}


def test_history_in_forked_processes_equals_one_process(sample_intake, tmp_path):
    intake, params = sample_intake
    workspaces, states = {}, {}
    for processes in (1, 2):
        path = tmp_path / f"{processes}.duckdb"
        context = prepare.prepare_workspace(
            intake,
            params.replace(prepare_processes=processes),
            path,
            steps=HISTORY_STEPS,
        )
        workspaces[processes] = read_workspace(path)
        (states[processes],) = context.month_end_states.values()
    assert "tier_history" in workspaces[1]
    # run_info records the parameters, which differ on purpose.
    del workspaces[1]["run_info"], workspaces[2]["run_info"]
    assert sorted(workspaces[2]) == sorted(workspaces[1])
    for name, frame in workspaces[1].items():
        pd.testing.assert_frame_equal(workspaces[2][name], frame, obj=name)
    assert sorted(states[2]) == sorted(states[1])
    for name, frame in states[1].items():
        pd.testing.assert_frame_equal(states[2][name], frame, obj=name)


def test_history_inputs_reuse_account_map_history(sample_intake):
    intake, params = sample_intake
    context = make_context(intake, params, intake.tables)
    prepare.prepare_account_map(context)

    history = accountstate.HistoryInputs.from_context(context)

    assert context.opportunity_history is not None
    assert history.opportunities is context.opportunity_history


class _StoringContext:
    """A prepare context that keeps stored frames in memory."""

    def __init__(self, current: pd.DataFrame) -> None:
        self.frames = {"account_health": current}
        self.params = {"health_noise_band": 5}
        self.notes = []

    def store(self, name: str, frame: pd.DataFrame, *, keep: bool = True) -> None:
        self.frames[name] = frame


def _health_rows(scores: dict[str, float], touched: bool) -> pd.DataFrame:
    """Return ``account_health`` rows whose score is all engagement level."""
    rows = []
    for account_id, score in scores.items():
        row = {c: float("nan") for c in health.COMPONENTS}
        row.update({f"{c}_points": 0.0 for c in health.COMPONENTS})
        row.update(
            account_id=account_id,
            health_score=score,
            engagement_level=score if touched else 0.0,
            breadth=0.0,
            engagement_level_points=score,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def test_untouched_previous_health_has_no_change():
    """An account that scored 0 from no activity last month is not a mover."""
    previous = pd.concat(
        [
            _health_rows({"OLD": 40.0}, touched=True),
            _health_rows({"NEW": 0.0}, touched=False),
        ],
        ignore_index=True,
    )
    current = _health_rows({"OLD": 50.0, "NEW": 66.5}, touched=True)
    context = _StoringContext(current)
    states = {
        dt.date(2026, 5, 31): {"account_health": previous},
        dt.date(2026, 6, 30): {"account_health": current},
    }

    accountstate._store_health_drivers(context, states)

    stored = context.frames["account_health"].set_index("account_id")
    assert stored.at["OLD", "health_change"] == 10.0
    assert pd.isna(stored.at["NEW", "health_previous"])
    assert pd.isna(stored.at["NEW", "health_change"])
    assert stored.at["NEW", "drivers"] == ""
    assert set(context.frames["health_drivers"]["account_id"]) == {"OLD"}
