"""Tables, charts and executive cards of the forecast section.

Every function takes an open :class:`~acctlib.workspace.Workspace` and
reads only the tables that :func:`acctlib.forecast.prepare.prepare_forecast`
stored, so a notebook cell is one call. Charts are aggregated: one point
per method and cut-off or window.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from acctlib import charts, tables, views
from acctlib.forecast import calibration as calibration_flags
from acctlib.forecast import plausibility
from acctlib.forecast.labels import (
    ACTUAL_STYLE,
    LOW_COVERAGE,
    METHOD_LABELS,
    METHOD_STYLES,
    MODEL_LABELS,
    describe_missing_backtest,
    describe_negative_open_deals,
    lower_first,
)
from acctlib.labels import join_words
from acctlib.workspace import Workspace

WINDOW_LABELS = {
    "current_quarter": "This quarter",
    "next_quarter": "Next quarter",
    "next_12_months": "Next 12 months",
}

_AMOUNT_LABELS = {
    "forecast": "Forecast",
    "p10": "P10",
    "p50": "P50",
    "p90": "P90",
    "closed_to_date": "Closed to date",
}


def window_label(window: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """Return a window's display name with its dates."""
    if window in WINDOW_LABELS:
        name = WINDOW_LABELS[window]
    else:
        name = window.replace("_", " ").capitalize()
    return f"{name} ({start:%Y-%m-%d} to {end:%Y-%m-%d})"


def has_forecast(ws: Workspace) -> bool:
    """Return whether the forecast step stored its tables in the workspace."""
    return "forecast" in ws.headline


def forecast_table(ws: Workspace, metric: str = "bookings") -> object:
    """Return every method's forecast and range per window for ``metric``."""
    if not has_forecast(ws):
        return views.note("No forecast was prepared for this run.")
    forecast = ws.table("forecast")
    if not (forecast["metric"] == metric).any():
        return views.note(f"No {metric} forecast: the source lacks the data.")
    frame = _merge_equal_windows(
        forecast[forecast["metric"] == metric], ws.headline["forecast"].get("window")
    )
    frame["model"] = frame["model"].map(MODEL_LABELS).fillna(frame["model"])
    columns = ["window_name", "label", "model", *_AMOUNT_LABELS]
    return tables.style_table(
        frame[columns],
        currency=ws.currency,
        money=list(_AMOUNT_LABELS),
        labels={
            "window_name": "Window",
            "label": "Method",
            "model": "Model",
            **_AMOUNT_LABELS,
        },
    )


def _merge_equal_windows(frame: pd.DataFrame, preferred: str | None) -> pd.DataFrame:
    """Keep one window per date range, named after the first window that has it.

    On a quarter's last day, "Next quarter" and the backtested "Next 3
    months" cover the same dates. The table then shows them once, as "Next
    quarter" with the dates, which match the executive summary's. The rows
    kept are those of ``preferred`` (the headline's window, so the figures
    match the executive summary too) when it shares the dates, else those of
    the first window. Adds ``window_name`` with the dates.
    """
    merged = []
    for (start, end), group in frame.groupby(
        ["window_start", "window_end"], sort=False
    ):
        windows = list(group["window"].drop_duplicates())
        chosen = preferred if preferred in windows else windows[0]
        rows = group[group["window"] == chosen]
        # Each kept row takes the table position of its first window's row.
        first = group[group["window"] == windows[0]]
        position = dict(zip(first["method"], first.index, strict=True))
        merged.append(
            rows.assign(
                window_name=window_label(windows[0], start, end),
                position=rows["method"].map(position),
            )
        )
    frame = pd.concat(merged).sort_values("position")
    return frame.drop(columns="position")


CATEGORY_CAPTION = (
    "Closed counts the deals won in the window up to the report date. Commit, "
    "best case and pipeline count the open deals expected to close in it."
)
"""Caption of the forecast-category table, which mixes won and open deals."""


def category_table(ws: Workspace) -> object:
    """Return the forecast-category roll-up: closed, commit, best case, pipeline.

    The caption states that Closed counts won deals and the other categories
    open ones, because the two kinds share the table's columns.
    """
    rollup = ws.table("forecast_categories")
    if rollup.empty:
        return views.note("No open or won deal falls in the forecast windows.")
    frame = rollup.copy()
    frame["window"] = frame["window"].map(
        lambda name: WINDOW_LABELS.get(name, name.replace("_", " ").capitalize())
    )
    frame["category"] = frame["category"].str.replace("_", " ").str.capitalize()
    return tables.style_table(
        frame,
        currency=ws.currency,
        counts=["opportunities"],
        money=["amount", "cumulative"],
        labels={
            "window": "Window",
            "category": "Forecast category",
            "opportunities": "Opportunities",
            "amount": "Amount",
            "cumulative": "Cumulative",
        },
        caption=CATEGORY_CAPTION,
    )


def close_date_note(ws: Workspace) -> object:
    """Return how open deals without a future close date were placed in windows.

    Such a deal is expected to close the typical sales cycle after its
    creation, or on the day after the report date when that has passed
    (:func:`acctlib.forecast.state.expected_close_dates`). The note counts
    the deals each rule placed and names the windows that the day after the
    report date falls in, because those deals count in all of them. It also
    counts the open deals with a negative amount, which the forecast counts
    as 0.
    """
    headline = ws.headline.get("forecast") or {}
    rules = headline.get("close_date_rules")
    if not rules:
        return views.note("No forecast was prepared for this run.")
    sentences = _describe_close_date_rules(ws, rules)
    negative = headline.get("negative_open_deals", 0)
    if negative:
        sentences.append(describe_negative_open_deals(negative))
    return views.note(" ".join(sentences))


def _describe_close_date_rules(ws: Workspace, rules: dict) -> list[str]:
    """Return the sentences of :func:`close_date_note` on close dates."""
    without = (
        rules["without_close_date_by_cycle"] + rules["without_close_date_next_day"]
    )
    overdue = rules["overdue_by_cycle"] + rules["overdue_next_day"]
    if not without and not overdue:
        return [
            "Every open deal has a close date after the report date and is "
            "counted in the windows that contain it."
        ]
    next_day, cycle = rules["next_day"], rules["cycle_days"]
    next_day_total = rules["without_close_date_next_day"] + rules["overdue_next_day"]
    by_cycle_total = rules["without_close_date_by_cycle"] + rules["overdue_by_cycle"]
    kinds = []
    if without:
        kinds.append(f"{without:,} {_plural(without, 'has', 'have')} no close date")
    if overdue:
        kinds.append(
            f"{overdue:,} {_plural(overdue, 'has a close date', 'have close dates')} "
            "on or before the report date"
        )
    cycle_days = f"{cycle} {_plural(cycle, 'day', 'days')}"
    sentences = [
        f"Of the open deals, {join_words(kinds)} in the CRM.",
        f"Each of them is expected to close {cycle_days} after its creation "
        "(the median days from creation to win of the deals won by the report "
        f"date), or on {next_day}, the day after the report date, when that "
        "time has passed.",
    ]
    sentences.append(
        f"That places {next_day_total:,} on {next_day} and {by_cycle_total:,} "
        f"at creation plus {cycle_days}."
    )
    if without and overdue:
        sentences.append(
            "Of the deals without a close date, "
            f"{rules['without_close_date_next_day']:,} are on {next_day} and "
            f"{rules['without_close_date_by_cycle']:,} at creation plus {cycle_days}."
        )
    windows = _windows_containing(ws, next_day)
    if next_day_total and windows:
        listed = join_words([f"the {window}" for window in windows])
        sentences.append(f"Deals placed on {next_day} count in {listed}.")
    return sentences


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _windows_containing(ws: Workspace, day: str) -> list[str]:
    """Return the category table's window names whose dates contain ``day``."""
    forecast = ws.table("forecast")
    categories = set(ws.table("forecast_categories")["window"])
    rows = forecast[forecast["window"].isin(categories)].drop_duplicates("window")
    date = pd.Timestamp(day)
    inside = rows[(rows["window_start"] <= date) & (rows["window_end"] >= date)]
    return [
        WINDOW_LABELS.get(name, name.replace("_", " ")).lower()
        for name in inside["window"]
    ]


def best_method_note(ws: Workspace) -> object:
    """Return the sentence naming the most accurate method."""
    headline = ws.headline.get("forecast")
    if not headline:
        return views.note("No forecast was prepared for this run.")
    return views.note(_method_sentence(headline, ws.headline.get("slice")))


def _method_sentence(headline: dict, slice_label: str | None = None) -> str:
    """Return the best-method sentence followed by how far it can be trusted.

    In a run sliced to ``slice_label``, such as "owner Fatima Cohen", the
    sentence starts by saying that the forecast covers the whole company.
    A source that records no lost deal adds the warning that the backtest
    cannot be trusted.
    """
    company = None
    if slice_label:
        company = (
            f"The forecast covers the whole company, not only the accounts of "
            f"{slice_label}."
        )
    parts = (
        company,
        headline["sentence"],
        headline.get("won_only_warning"),
        headline.get("reliability"),
    )
    return " ".join(part for part in parts if part)


def _missing_backtest_note(ws: Workspace) -> object:
    """Return the note on why no forecast method was backtested."""
    return views.note(
        describe_missing_backtest(
            ws.params["forecast_horizon_months"], ws.params["forecast_backtest_cutoffs"]
        )
    )


def accuracy_table(ws: Workspace) -> object:
    """Return WAPE, bias and P10-P90 coverage per method, best first."""
    accuracy = ws.table("forecast_accuracy")
    if accuracy.empty:
        return _missing_backtest_note(ws)
    return tables.style_table(
        accuracy[["rank", "label", "cutoffs", "wape", "bias", "checked", "coverage"]],
        counts=["rank", "cutoffs", "checked"],
        percents=["wape", "bias", "coverage"],
        labels={
            "rank": "Rank",
            "label": "Method",
            "cutoffs": "Month-ends scored",
            "wape": "WAPE",
            "bias": "Bias",
            "checked": "Month-ends with bookings expected or won",
            "coverage": "Actual within P10-P90",
        },
    )


def plot_backtest(ws: Workspace) -> alt.Chart:
    """Line chart of each method's backtest forecast against actual bookings."""
    backtest = ws.table("forecast_backtest")
    forecasts = backtest.assign(series=backtest["method"].map(METHOD_LABELS))
    actual = backtest.drop_duplicates("cutoff").assign(
        series="Actual bookings", forecast=lambda frame: frame["actual"]
    )
    data = pd.concat([forecasts, actual], ignore_index=True)
    data = data[["cutoff", "series", "forecast"]].rename(columns={"forecast": "amount"})
    data["cutoff"] = pd.to_datetime(data["cutoff"]).dt.strftime("%Y-%m-%d")
    # The legend lists only the series drawn, and each keeps its style
    # whichever others are missing.
    styles = {METHOD_LABELS[method]: style for method, style in METHOD_STYLES.items()}
    styles["Actual bookings"] = ACTUAL_STYLE
    order = [label for label in styles if label in set(data["series"])]
    return (
        alt.Chart(data, title=f"Backtest: forecast against actual ({ws.currency})")
        .mark_line(point=True)
        .encode(
            x=alt.X("cutoff:O", title="Month-end of the forecast"),
            y=alt.Y(
                "amount:Q",
                title=f"Bookings in the next months ({ws.currency})",
                axis=alt.Axis(format="~s"),
            ),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(
                    domain=order, range=[styles[label][0] for label in order]
                ),
                title=None,
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(
                    domain=order, range=[styles[label][1] for label in order]
                ),
                title=None,
            ),
            shape=alt.Shape(
                "series:N",
                scale=alt.Scale(
                    domain=order, range=[styles[label][2] for label in order]
                ),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("cutoff:O", title="Month-end"),
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("amount:Q", title="Amount", format=",.0f"),
            ],
        )
        # A month-end axis is ordinal, so without a width each month-end
        # would take a narrow default step and the chart a third of the page.
        .properties(width=charts.CHART_WIDTH)
    )


def backtest_caption(ws: Workspace) -> object:
    """Return the caption under the backtest chart: which methods have a line.

    Each method that could not be rebuilt at any month-end is named with
    the reason, so a reader does not look for its line.
    """
    backtest = ws.table("forecast_backtest")
    if backtest.empty:
        return _missing_backtest_note(ws)
    drawn = [
        lower_first(label)
        for method, label in METHOD_LABELS.items()
        if method in set(backtest["method"])
    ]
    if len(drawn) == 1:
        first = f"The dashed line shows the {drawn[0]} forecast"
    else:
        first = f"Dashed lines show the {join_words(drawn)} forecasts"
    sentences = [f"{first}, the solid line actual bookings."]

    skipped = (ws.headline.get("forecast") or {}).get("backtest_skipped", {})
    for method, label in METHOD_LABELS.items():
        if method in skipped:
            sentences.append(
                f"The {lower_first(label)} forecast has no line, because it "
                f"could not be rebuilt at any month-end: {skipped[method]}."
            )
    won_only = (ws.headline.get("forecast") or {}).get("won_only_warning")
    if won_only:
        sentences.append(won_only)
    return views.note(" ".join(sentences))


def plot_ranges(ws: Workspace, window: str | None = None) -> alt.Chart:
    """Range chart: P10 to P90 bar and point forecast per method for one window.

    ``window`` defaults to the backtested horizon shown in the headline. The
    title names the window and its dates.
    """
    forecast = ws.table("forecast")
    window = window or ws.headline["forecast"]["window"]
    data = forecast[(forecast["metric"] == "bookings") & (forecast["window"] == window)]
    title = f"Bookings forecast with P10-P90 ({ws.currency})"
    if not data.empty:
        first = data.iloc[0]
        name = window_label(window, first["window_start"], first["window_end"])
        title = f"{title}, {lower_first(name)}"
    data = data[["label", "forecast", "p10", "p50", "p90"]]
    base = alt.Chart(data)
    bars = base.mark_rule(strokeWidth=8, opacity=0.4).encode(
        y=alt.Y("label:N", title=None, sort=list(METHOD_LABELS.values())),
        x=alt.X("p10:Q", title=f"Bookings ({ws.currency})", axis=alt.Axis(format="~s")),
        x2="p90:Q",
    )
    points = base.mark_point(filled=True, size=80).encode(
        y=alt.Y("label:N", sort=list(METHOD_LABELS.values())),
        x="forecast:Q",
        tooltip=[
            alt.Tooltip("label:N", title="Method"),
            alt.Tooltip("forecast:Q", title="Forecast", format=",.0f"),
            alt.Tooltip("p10:Q", title="P10", format=",.0f"),
            alt.Tooltip("p90:Q", title="P90", format=",.0f"),
        ],
    )
    return (bars + points).properties(height=180, title=title)


def calibration_table(ws: Workspace) -> object:
    """Return the win-probability model's predicted and actual win rate by decile."""
    calibration = ws.table("forecast_calibration")
    if calibration.empty:
        return views.note(_describe_missing_calibration(ws))
    return tables.style_table(
        calibration,
        counts=["decile", "deals"],
        percents=["predicted", "actual"],
        labels={
            "decile": "Decile",
            "deals": "Deals",
            "predicted": "Predicted win rate",
            "actual": "Actual win rate",
        },
    )


def calibration_note(ws: Workspace) -> object:
    """Return the sentence under the calibration table on deciles off target.

    Returns None, which a notebook displays as nothing, when the table is
    empty, because :func:`calibration_table` already states why.
    """
    calibration = ws.table("forecast_calibration")
    if calibration.empty:
        return None
    return views.note(calibration_flags.describe_flags(calibration))


def _describe_missing_calibration(ws: Workspace) -> str:
    """Return why the calibration table is empty.

    The table scores deals open at the month-ends where the win-probability
    model was fitted. It is empty when no month-end was tested, when the
    model was fitted at none of them, or when none of those deals has
    closed yet.
    """
    backtest = ws.table("forecast_backtest")
    if backtest.empty:
        return "No calibration, because no past month-end was backtested."
    skipped = (ws.headline.get("forecast") or {}).get("backtest_skipped", {})
    if "win_probability" in skipped:
        return (
            "No calibration, because the win-probability model could not be "
            f"fitted at any backtest month-end: {skipped['win_probability']}."
        )
    if "win_probability" not in set(backtest["method"]):
        return (
            "No calibration, because the win-probability model could not be "
            "fitted at any backtest month-end."
        )
    return (
        "No calibration: no deal open at a month-end where the win-probability "
        "model was fitted has closed yet."
    )


def plausibility_note(ws: Workspace) -> object:
    """Return the plausibility check of the forecasts of the next 12 months.

    Each method whose forecast lies outside
    :data:`~acctlib.forecast.plausibility.RATIO_MIN` to
    :data:`~acctlib.forecast.plausibility.RATIO_MAX` times the bookings of
    the last 12 months gets a sentence with its ratio.
    """
    if not ws.has_table("forecast_plausibility"):
        return views.note("No plausibility check was prepared for this run.")
    checks = ws.table("forecast_plausibility")
    if checks.empty:
        return views.note("No forecast of the next 12 months to check.")
    if checks["ratio"].isna().all():
        return views.note(
            "No plausibility check: nothing was booked in the last 12 months."
        )
    bounds = f"{plausibility.RATIO_MIN:g} to {plausibility.RATIO_MAX:g}"
    flagged = checks[checks["flagged"]]
    if flagged.empty:
        last_year = tables.format_money(checks["last_12_months"].iloc[0], ws.currency)
        return views.note(
            f"Plausibility check: every forecast of the next 12 months "
            f"is {bounds} times the {last_year} booked in the last 12 months."
        )
    sentences = plausibility.describe_flags(flagged, ws.currency)
    first = (
        f"Plausibility check: {len(flagged)} of {len(checks)} forecasts of the "
        f"next 12 months lie outside {bounds} times the bookings of the last "
        "12 months."
    )
    return views.note(" ".join([first, *sentences]))


def _count_flagged(ws: Workspace) -> int:
    if not ws.has_table("forecast_plausibility"):
        return 0
    return int(ws.table("forecast_plausibility")["flagged"].sum())


def warnings_table(ws: Workspace) -> object:
    """Return the model-fit warnings counted per method and warning.

    Without any, the note also states how many forecasts the plausibility
    check flagged, so that "no warning" does not read as "no concern".
    """
    warnings = ws.table("forecast_warnings")
    if warnings.empty:
        flagged = _count_flagged(ws)
        if not flagged:
            return views.note("No model fit raised a warning.")
        forecasts = "forecast" if flagged == 1 else "forecasts"
        return views.note(
            f"No model fit raised a warning, but the plausibility check under "
            f"the forecast table flags {flagged} {forecasts} of the next 12 "
            "months as far from the bookings of the last 12 months."
        )
    grouped = (
        warnings.groupby(["method", "warning"])
        .agg(dates=("cutoff", "size"))
        .reset_index()
    )
    grouped["method"] = grouped["method"].map(METHOD_LABELS)
    grouped["meaning"] = grouped["warning"].map(describe_warning)
    return tables.style_table(
        grouped[["method", "meaning", "dates", "warning"]],
        counts=["dates"],
        labels={
            "method": "Method",
            "meaning": "What it means",
            "dates": "Fits",
            "warning": "Message from statsmodels",
        },
    )


_HARMLESS = "so the fit started from zero. This usually does not change the forecast."
_NOT_CONVERGED = (
    "The fit stopped before it converged. Read this method's range with care."
)

# Plain readings of the warnings statsmodels raises while fitting, by a
# phrase of the message. Start values only seed the optimiser.
WARNING_MEANINGS = {
    "starting seasonal autoregressive": "The seasonal start values were "
    f"unstable, {_HARMLESS}",
    "starting MA parameters": "The moving-average start values were "
    f"unstable, {_HARMLESS}",
    "starting autoregressive": f"The start values were unstable, {_HARMLESS}",
    "failed to converge": _NOT_CONVERGED,
    "ConvergenceWarning": _NOT_CONVERGED,
}


def describe_warning(message: str) -> str:
    """Return what a model-fit warning means for the forecast, in plain words."""
    for phrase, meaning in WARNING_MEANINGS.items():
        if phrase in message:
            return meaning
    return "The fit raised an unusual warning; compare this method's backtest."


def format_range(headline: dict, currency: str) -> str:
    """Return the P10 to P90 range of a forecast, or "no bookings expected".

    A range of 0 to 0 means the method expects nothing in the window, which
    reads more plainly in words than as "USD 0 to USD 0".
    """
    if headline["p10"] == 0 and headline["p90"] == 0:
        return "no bookings expected"
    low = tables.format_money(headline["p10"], currency)
    high = tables.format_money(headline["p90"], currency)
    return f"{low} to {high}"


def range_caveat(headline: dict) -> str:
    """Return a warning for a forecast range too narrow in the backtest, or "".

    A P10 to P90 range should hold actual bookings about 8 times in 10,
    counted over the backtest month-ends at which bookings were expected or
    won (``coverage_cutoffs``). One that held them less often than
    :data:`~acctlib.forecast.labels.LOW_COVERAGE` understates the
    uncertainty, and the range card shows this warning under it.
    """
    coverage, cutoffs = headline.get("coverage"), headline.get("coverage_cutoffs")
    if coverage is None or not cutoffs or coverage >= LOW_COVERAGE:
        return ""
    within = round(coverage * cutoffs)
    month_ends = "month-end" if cutoffs == 1 else "month-ends"
    return (
        f"Too narrow in the backtest: it held actual bookings at {within} of "
        f"{cutoffs} past {month_ends} at which bookings were expected or won"
    )


OPEN_DEAL_METHODS = ("stage_weighted", "win_probability")
"""Methods that forecast only the deals open on the report date."""


def forecast_caveat(headline: dict) -> str:
    """Return the caveat under the forecast card, or "" when none applies.

    A forecast of a method in :data:`OPEN_DEAL_METHODS` leaves out the
    deals that will be created and won within the window, so it can read
    as a fall against past bookings that included them.
    """
    if headline.get("method") not in OPEN_DEAL_METHODS:
        return ""
    return "Open deals only: deals not yet created are not in it"


def executive_highlights(ws: Workspace) -> list[object]:
    """Return the chosen forecast with its range and the accuracy sentence.

    The chosen method is the one with the lowest backtest WAPE, and the
    window is the backtested horizon after the report date. Returns cards
    and one note, ready to display in the executive summary.
    """
    headline = ws.headline.get("forecast")
    if not headline:
        return [views.note("No forecast was prepared for this run.")]
    currency = ws.currency
    period = f"{headline['window_start']} to {headline['window_end']}"
    cards = [
        {
            "label": f"Bookings forecast, {period}",
            "value": tables.format_money(headline["forecast"], currency),
            "caveat": forecast_caveat(headline),
        },
        {
            "label": "Range, P10 to P90",
            "value": format_range(headline, currency),
            "caveat": range_caveat(headline),
        },
        {"label": "Method", "value": headline["label"]},
    ]
    return [
        views.kpi_cards(cards),
        views.note(_method_sentence(headline, ws.headline.get("slice"))),
    ]
