"""Backtest: rebuild every method at past month-ends and score it.

:func:`run_backtest` takes each of the last N month-ends whose horizon (the
next few months) has fully passed by the report date. It rebuilds every
method from what was known at that month-end, because
:func:`compute_state` uses only opportunities created, stages entered and
touches made by then. It then compares each forecast with the bookings
actually won in the horizon, as known on the report date. Adding records
dated after a cut-off therefore changes nothing in that cut-off's
forecasts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from acctlib import parallel
from acctlib.asof import OpportunityHistory, isin_values
from acctlib.bookings import sum_bookings
from acctlib.forecast import labels
from acctlib.forecast.labels import LOW_COVERAGE, METHOD_LABELS, lower_first
from acctlib.forecast.methods import ForecastSettings, compute_forecasts
from acctlib.forecast.periods import add_months, horizon_window, last_complete_month
from acctlib.forecast.state import (
    ForecastInputs,
    ForecastState,
    compute_state,
    opportunity_history,
)
from acctlib.forecast.winprob import TouchIndex
from acctlib.labels import join_words

logger = logging.getLogger(__name__)


_FORECAST_DTYPES = {
    "cutoff": "datetime64[us]",
    "window_end": "datetime64[us]",
    "method": "str",
    "model": "str",
    "forecast": "float",
    "p10": "float",
    "p50": "float",
    "p90": "float",
    "actual": "float",
}
_SCORED_DTYPES = {
    "opportunity_id": "str",
    "predicted": "float",
    "cutoff": "datetime64[us]",
    "won": "bool",
}
_ACCURACY_DTYPES = {
    "method": "str",
    "label": "str",
    "cutoffs": "int",
    "wape": "float",
    "bias": "float",
    "coverage": "float",
    "checked": "int",
    "actual": "float",
    "forecast": "float",
    "rank": "Int64",
}


@dataclass
class BacktestResult:
    """Per cut-off forecasts against actuals, and what the fits reported.

    ``forecasts`` has ``cutoff``, ``window_end``, ``method``, ``model``,
    ``forecast``, ``p10``, ``p50``, ``p90`` and ``actual`` (report
    currency). ``scored`` has ``cutoff``, ``opportunity_id``, ``predicted``
    and ``won`` for open deals whose outcome was known on the report date.
    ``warnings`` has ``cutoff``, ``method`` and ``warning``. ``skipped``
    has ``cutoff``, ``method`` and ``reason`` for each method that could
    not run at a cut-off.
    """

    forecasts: pd.DataFrame
    scored: pd.DataFrame
    warnings: pd.DataFrame
    notes: list[str]
    skipped: pd.DataFrame


def backtest_cutoffs(as_of: dt.date, count: int, horizon_months: int) -> list[dt.date]:
    """Return the last ``count`` month-ends whose horizon ends by ``as_of``.

    The horizon of a cut-off is the ``horizon_months`` after it. Cut-offs
    come oldest first.
    """
    latest = last_complete_month(as_of)
    cutoffs = []
    month = latest
    while len(cutoffs) < count:
        cutoff = month.end_time.date()
        if add_months(cutoff, horizon_months) <= as_of:
            cutoffs.append(cutoff)
        month -= 1
    return sorted(cutoffs)


def run_backtest(
    inputs: ForecastInputs,
    final: ForecastState,
    cutoffs: list[dt.date],
    horizon_months: int,
    stage_map: Mapping[str, Mapping[str, Any]],
    touches: TouchIndex,
    settings: ForecastSettings,
    history: OpportunityHistory | None = None,
    processes: int = 1,
) -> BacktestResult:
    """Forecast the horizon after each cut-off and add what was actually won.

    ``final`` is the state on the report date; its closed deals give the
    actual bookings and the outcomes of the deals scored at each cut-off.
    Cut-offs before the first opportunity are skipped. ``inputs.tiers`` is
    not used: each cut-off ranks accounts into stand-in tiers from its own
    snapshot, so no later deal leaks into it. ``history`` is
    :func:`~acctlib.forecast.state.opportunity_history` of ``inputs``, built
    here when None. The cut-offs are forecast in ``processes`` processes
    (see :func:`acctlib.parallel.map_forked`).
    """
    with start_backtest(
        inputs,
        final,
        cutoffs,
        horizon_months,
        stage_map,
        touches,
        settings,
        history,
        processes,
    ) as pending:
        return pending.result()


class PendingBacktest:
    """A backtest whose cut-offs are being forecast in forked processes.

    Returned by :func:`start_backtest`. Use it as a context manager, and
    call :meth:`result` inside it.
    """

    def __init__(self, cutoffs: parallel.ForkedMap) -> None:
        self._cutoffs = cutoffs

    def result(self) -> BacktestResult:
        """Wait for every cut-off and return the backtest."""
        frames, scored, warnings, notes, skipped = [], [], [], [], []
        for outcome in self._cutoffs.results():
            forecasts, known, warned, cutoff_notes, cutoff_skipped = outcome
            frames.append(forecasts)
            if known is not None:
                scored.append(known)
            warnings += warned
            notes += cutoff_notes
            skipped += cutoff_skipped
        return BacktestResult(
            _concat(frames, _FORECAST_DTYPES),
            _concat(scored, _SCORED_DTYPES),
            pd.DataFrame(warnings, columns=["cutoff", "method", "warning"]),
            notes,
            pd.DataFrame(skipped, columns=["cutoff", "method", "reason"]),
        )

    def __enter__(self) -> PendingBacktest:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._cutoffs.close()


def start_backtest(
    inputs: ForecastInputs,
    final: ForecastState,
    cutoffs: list[dt.date],
    horizon_months: int,
    stage_map: Mapping[str, Mapping[str, Any]],
    touches: TouchIndex,
    settings: ForecastSettings,
    history: OpportunityHistory | None = None,
    processes: int = 1,
) -> PendingBacktest:
    """Start :func:`run_backtest` in forked processes and return at once.

    The build can forecast the report date meanwhile. The arguments are
    those of :func:`run_backtest`, and with fewer than two ``processes``
    the cut-offs are forecast before this function returns (see
    :class:`acctlib.parallel.ForkedMap`).
    """
    # Account tiers describe the report date; at a past cut-off they would
    # leak later deals, so each cut-off ranks accounts by its own snapshot.
    inputs = dataclasses.replace(inputs, tiers=None)
    first_created = inputs.opportunities["created_at"].min()
    outcomes = final.closed.set_index("opportunity_id")["is_won"]
    if history is None:
        history = opportunity_history(inputs)
    cutoffs = [
        cutoff
        for cutoff in cutoffs
        if pd.Timestamp(cutoff, tz="UTC") >= pd.to_datetime(first_created, utc=True)
    ]

    def forecast_from(cutoff: dt.date) -> tuple:
        window = horizon_window(cutoff, horizon_months)
        state = compute_state(inputs, cutoff, history)
        results = compute_forecasts(state, [window], stage_map, touches, settings)

        forecasts = results.forecasts.drop(columns=["window", "closed_to_date"])
        forecasts.insert(0, "cutoff", pd.Timestamp(cutoff))
        forecasts.insert(1, "window_end", pd.Timestamp(window.end))
        forecasts["actual"] = sum_bookings(final.closed, window.start, window.end)

        known = None
        if not results.scored.empty:
            known = results.scored[
                isin_values(results.scored["opportunity_id"], outcomes.index)
            ]
            known = known.assign(
                cutoff=pd.Timestamp(cutoff),
                won=known["opportunity_id"].map(outcomes).astype(bool),
            )
        warned = [
            {"cutoff": pd.Timestamp(cutoff), "method": method, "warning": message}
            for method, message in results.warnings
        ]
        skipped = [
            {"cutoff": pd.Timestamp(cutoff), "method": method, "reason": reason}
            for method, reason in results.skipped.items()
        ]
        return forecasts, known, warned, results.notes, skipped

    return PendingBacktest(parallel.ForkedMap(forecast_from, cutoffs, processes))


def describe_won_only_source(state: ForecastState) -> str:
    """Return a warning when no deal closed by the report date was lost.

    Returns "" when ``state`` has a lost deal or no closed deal. Some
    exports, such as the Olist marketing funnel, record a deal only once it
    is won. Every deal open at a past cut-off was then won later, so the
    backtest scores forecasts whose pipeline held only future wins, and
    win rates learned from closed deals are 100%.
    """
    closed = state.closed
    if closed.empty or not closed["is_won"].astype(bool).all():
        return ""
    if state.open_deals.empty:
        recorded = (
            "The source records only won deals: no deal is lost or still open "
            "on the report date."
        )
    else:
        recorded = (
            "The source records no lost deal: every deal closed by the report "
            "date was won."
        )
    return (
        f"{recorded} Every deal open at a past month-end that has closed since "
        "was therefore won. Win rates learned from closed deals are 100%, and "
        "the backtest cannot be trusted, because it scores forecasts as if "
        "each method had known which deals would be won."
    )


def summarize_accuracy(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Return WAPE, bias and P10-P90 coverage per method, best first.

    WAPE is the sum of absolute errors over the sum of actuals. Bias is the
    sum of errors (forecast minus actual) over the sum of actuals, so a
    positive bias means over-forecasting. Both ratios are missing when
    nothing was won. Coverage is the share of cut-offs whose actual fell
    between P10 and P90, among those at which bookings were expected or
    won.

    Methods are compared on the same cut-offs: those at which every method
    that ran on at least half of the cut-offs has a forecast. A method that
    ran on fewer (a model that needs more history than the early cut-offs
    had) is scored on its own cut-offs and left unranked.

    Returns columns ``method``, ``label``, ``cutoffs`` (cut-offs scored),
    ``wape``, ``bias``, ``coverage``, ``checked`` (cut-offs at which bookings
    were expected or won, the base of coverage), ``actual`` and ``forecast`` (sums over
    the scored cut-offs, report currency) and ``rank`` (1 is the lowest
    WAPE, missing when unranked).
    """
    columns = list(_ACCURACY_DTYPES)
    if forecasts.empty:
        return _empty_frame(_ACCURACY_DTYPES)
    runs = forecasts.groupby("method")["cutoff"].nunique()
    ranked_methods = runs[runs * 2 >= runs.max()].index
    shared = forecasts[forecasts["method"].isin(ranked_methods)]
    per_cutoff = shared.groupby("cutoff")["method"].nunique()
    common = per_cutoff[per_cutoff == len(ranked_methods)].index

    compared = _score(shared[shared["cutoff"].isin(common)])
    compared = compared.sort_values(["wape", "method"], na_position="last")
    compared["rank"] = pd.array(range(1, len(compared) + 1), dtype="Int64")
    compared.loc[compared["wape"].isna(), "rank"] = pd.NA
    others = _score(forecasts[~forecasts["method"].isin(ranked_methods)])
    others["rank"] = pd.array([pd.NA] * len(others), dtype="Int64")

    accuracy = pd.concat(
        [frame for frame in (compared, others) if not frame.empty],
        ignore_index=True,
    )
    accuracy["label"] = accuracy["method"].map(METHOD_LABELS)
    return accuracy[columns]


def _score(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Return cut-offs, WAPE, bias, coverage and totals per method of ``forecasts``.

    A cut-off whose range was 0 to 0 and at which nothing was won shows
    nothing about how well the range is judged, so coverage leaves it out.
    ``checked`` counts the other cut-offs, and coverage is missing when
    there are none.
    """
    nothing_expected = (forecasts["p10"] == 0) & (forecasts["p90"] == 0)
    frame = forecasts.assign(
        error=forecasts["forecast"] - forecasts["actual"],
        covered=(forecasts["p10"] <= forecasts["actual"])
        & (forecasts["actual"] <= forecasts["p90"]),
        checked=~(nothing_expected & (forecasts["actual"] == 0)),
    )
    frame["covered"] = frame["covered"].astype(float).where(frame["checked"])
    grouped = frame.groupby("method").agg(
        cutoffs=("cutoff", "size"),
        actual=("actual", "sum"),
        forecast=("forecast", "sum"),
        absolute=("error", lambda error: error.abs().sum()),
        error=("error", "sum"),
        coverage=("covered", "mean"),
        checked=("checked", "sum"),
    )
    grouped["coverage"] = grouped["coverage"].astype(float)
    grouped["checked"] = grouped["checked"].astype(int)
    total = grouped["actual"].where(grouped["actual"] > 0)
    grouped["wape"] = grouped["absolute"] / total
    grouped["bias"] = grouped["error"] / total
    columns = ["cutoffs", "wape", "bias", "coverage", "checked", "actual", "forecast"]
    return grouped[columns].reset_index()


def describe_best_method(
    accuracy: pd.DataFrame,
    horizon_months: int,
    cutoffs_requested: int | None = None,
    never_ran: Iterable[str] = (),
) -> str:
    """Return plain sentences naming the most accurate method and its margin.

    ``cutoffs_requested`` is the ``forecast_backtest_cutoffs`` parameter,
    which explains why no method was backtested when none was.
    ``never_ran`` lists the methods rebuilt at no cut-off; the text names
    them, and the methods it compared, so that the count of month-ends
    matches the methods behind it. When even the best WAPE is above
    :data:`UNRANKABLE_WAPE`, the text states that the backtest cannot rank
    the methods, and gives the totals.
    """
    ranked = accuracy.dropna(subset=["rank"]).sort_values("rank")
    if ranked.empty:
        return labels.describe_missing_backtest(horizon_months, cutoffs_requested)
    left_out = _describe_left_out(accuracy, ranked, never_ran)
    text = _describe_ranking(ranked, horizon_months, cutoffs_requested)
    return f"{text} {left_out}" if left_out else text


def _describe_ranking(
    ranked: pd.DataFrame, horizon_months: int, cutoffs_requested: int | None
) -> str:
    best = ranked.iloc[0]
    compared = list(ranked["label"])
    if float(best["wape"]) > UNRANKABLE_WAPE:
        return _describe_unrankable(best, horizon_months, cutoffs_requested, compared)
    runner_up = ranked.iloc[1] if len(ranked) > 1 else None
    # Scores equal to the percentage point read as a tie, not as a winner.
    tied = runner_up is not None and float(runner_up["wape"]) <= UNRANKABLE_WAPE
    tied = tied and round((runner_up["wape"] - best["wape"]) * 100) == 0
    rank_phrase = "tied for the most accurate" if tied else "the most accurate"
    sentence = (
        f"{_scored_span(int(best['cutoffs']), cutoffs_requested, compared)}, the "
        f"{lower_first(best['label'])} forecast has been {rank_phrase} for this "
        f"business: its forecasts of {_next_months(horizon_months, possessive=True)} "
        "bookings "
        f"were off by {best['wape']:.0%} of actual bookings (WAPE)"
    )
    if runner_up is None:
        return sentence + "."
    runner_up_text = (
        f"the {lower_first(runner_up['label'])} forecast ({runner_up['wape']:.0%})"
    )
    if float(runner_up["wape"]) > UNRANKABLE_WAPE:
        # A margin of hundreds of points means little, so name the gap only.
        return f"{sentence}, far better than the next best, {runner_up_text}."
    margin = round((runner_up["wape"] - best["wape"]) * 100)
    if margin == 0:
        return f"{sentence}, level with the next best, {runner_up_text}."
    points = "percentage point" if margin == 1 else "percentage points"
    return f"{sentence}, {margin} {points} better than the next best, {runner_up_text}."


# Above this WAPE every method missed by more than the bookings themselves,
# so the scores do not rank the methods.
UNRANKABLE_WAPE = 1.0


def _next_months(months: int, *, possessive: bool = False) -> str:
    """Return "the next 3 months", or "the next month" for one month."""
    if months == 1:
        return "the next month's" if possessive else "the next month"
    return f"the next {months} months'" if possessive else f"the next {months} months"


def _scored_span(scored: int, requested: int | None, compared: list[str]) -> str:
    """Return the opening that names the month-ends the methods were scored on.

    Methods are compared on the month-ends where each of ``compared`` (the
    labels of the ranked methods) ran. Month-ends before the first
    opportunity and a model short of history at the earliest cut-offs leave
    fewer than the ``forecast_backtest_cutoffs`` requested.
    """
    if requested and scored < requested:
        if len(compared) == 1:
            rebuilt = f"the {_forecasts(compared)} could be rebuilt"
        else:
            every = "both" if len(compared) == 2 else "all"
            rebuilt = f"the {_forecasts(compared)} could {every} be rebuilt"
        return (
            f"Over {scored} of the last {requested} month-ends, those at which "
            f"{rebuilt}"
        )
    return f"Over the last {scored} month-ends"


def _forecasts(names: list[str]) -> str:
    """Return "account-based forecast" or "a, b and c forecasts"."""
    names = [lower_first(name) for name in names]
    if len(names) == 1:
        return f"{names[0]} forecast"
    return f"{join_words(names)} forecasts"


def _describe_left_out(
    accuracy: pd.DataFrame, ranked: pd.DataFrame, never_ran: Iterable[str]
) -> str:
    """Return sentences naming the methods the ranking leaves out, or ``""``.

    A method rebuilt at fewer than half of the cut-offs is scored on its
    own and left unranked. A method in ``never_ran`` was rebuilt at none.
    """
    sentences = []
    unranked = accuracy[~accuracy["method"].isin(ranked["method"])]
    for _, row in unranked.sort_values("method").iterrows():
        cutoffs = int(row["cutoffs"])
        month_ends = "month-end" if cutoffs == 1 else "month-ends"
        sentences.append(
            f"The {_forecasts([row['label']])} is not compared, because it "
            f"could be rebuilt at only {cutoffs} {month_ends}."
        )
    missing = sorted(set(never_ran) - set(accuracy["method"]))
    if missing:
        names = _forecasts([METHOD_LABELS[method] for method in missing])
        subject = "is" if len(missing) == 1 else "are"
        pronoun = "it" if len(missing) == 1 else "they"
        sentences.append(
            f"The {names} {subject} not compared, because {pronoun} could be "
            "rebuilt at no month-end."
        )
    return " ".join(sentences)


def _describe_unrankable(
    best: pd.Series,
    horizon_months: int,
    cutoffs_requested: int | None,
    compared: list[str],
) -> str:
    """Return why the backtest could not rank the methods, with its totals."""
    label = lower_first(best["label"])
    span = _scored_span(int(best["cutoffs"]), cutoffs_requested, compared)
    sentences = [
        f"{span}, every compared forecast method "
        f"missed the bookings actually won in {_next_months(horizon_months)} "
        "by more than those bookings, so the backtest cannot rank the methods."
    ]
    if "actual" in best.index and "forecast" in best.index:
        sentences.append(
            f"The bookings came to {float(best['actual']):,.0f} in the report "
            f"currency, against {float(best['forecast']):,.0f} forecast by the "
            f"closest method, the {label} forecast."
        )
    sentences.append(
        f"Even that forecast was off by {best['wape']:.0%} of actual bookings "
        "(WAPE), so treat every forecast as unchecked."
    )
    return " ".join(sentences)


# Below this many backtested month-ends the ranking of methods is shaky.
FEW_CUTOFFS = 6
# A WAPE above this means even the best method missed by more than half.
ROUGH_WAPE = 0.5


def describe_reliability(accuracy: pd.DataFrame) -> str:
    """Return how far the best method's forecast and range can be trusted.

    Says how many backtested month-ends the best method's P10 to P90 range
    held actual bookings, and warns when that is well under 8 in 10, when
    the error is above half of bookings (or above all of them) or when few
    month-ends were tested.
    Returns an empty string without a backtest.
    """
    ranked = accuracy.dropna(subset=["rank"]).sort_values("rank")
    if ranked.empty:
        return ""
    best = ranked.iloc[0]
    cutoffs = int(best["cutoffs"])
    parts = [_describe_coverage(best)]
    if float(best["wape"]) > UNRANKABLE_WAPE:
        parts.append(
            "Its forecasts missed by more than the actual bookings themselves, "
            "so the backtest does not show how far it can be trusted."
        )
    elif float(best["wape"]) > ROUGH_WAPE:
        parts.append(
            "Even this method missed by more than half of actual bookings, so "
            "read the forecast as a rough guide."
        )
    if cutoffs < FEW_CUTOFFS:
        parts.append(
            f"Only {cutoffs} month-ends could be tested, too few to rank the "
            "methods with confidence."
        )
    return " ".join(parts)


def _describe_coverage(best: pd.Series) -> str:
    """Return how often the range of ``best`` held actual bookings.

    Month-ends at which the range was 0 to 0 and nothing was won are named
    apart. A range that expects no bookings is right there, but it shows
    nothing about how well a range is judged.
    """
    cutoffs = int(best["cutoffs"])
    checked = int(best.get("checked", cutoffs))
    quiet = cutoffs - checked
    if checked == 0:
        return (
            f"At all {cutoffs} month-ends it expected no bookings and none "
            "were won, so the backtest does not show how well its range is "
            "judged."
        )
    covered = round(float(best["coverage"]) * checked)
    where = "month-end" if checked == 1 else "month-ends"
    if quiet:
        where += " at which bookings were expected or won"
    sentence = (
        f"Its P10 to P90 range held actual bookings at {covered} of {checked} "
        f"{where}, where a well-judged range holds them about 8 times in 10"
    )
    if float(best["coverage"]) < LOW_COVERAGE:
        sentence += ", so the real uncertainty is wider than the range shows."
    else:
        sentence += "."
    if quiet:
        sentence += f" At the other {quiet} it expected no bookings and none were won."
    return sentence


def _concat(frames: list[pd.DataFrame], dtypes: dict[str, str]) -> pd.DataFrame:
    """Concatenate ``frames``, or return an empty frame typed by ``dtypes``.

    DuckDB cannot store a column without a type, so empty results keep
    theirs.
    """
    if not frames:
        return _empty_frame(dtypes)
    return pd.concat(frames, ignore_index=True)


def _empty_frame(dtypes: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()}
    )
