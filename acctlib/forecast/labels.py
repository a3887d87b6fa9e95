"""Names the report shows for the forecast methods and their models.

Kept apart from :mod:`acctlib.forecast.methods`, so that the forecast
section's notebook reads them without importing statsmodels.
"""

METHOD_LABELS = {
    "stage_weighted": "Stage-weighted pipeline",
    "account_based": "Account-based",
    "win_probability": "Win-probability model",
    "time_series": "Bookings trend",
    "sarimax": "Seasonal bookings model (SARIMAX)",
}
"""Method identifiers and the names the report shows for them.

Both time-series methods forecast from past monthly bookings, so their
names differ in words, not only in a bracketed model name, for readers
who skip the brackets. ``time_series`` fits the model in
:data:`MODEL_LABELS` that its history allows (mean, ETS or seasonal ETS).
"""

REVENUE_METHOD_LABELS = {
    "time_series": "Revenue trend",
    "sarimax": "Seasonal revenue model (SARIMAX)",
}
"""Names the report shows for the methods that forecast monthly revenue.

The same time-series models fit past monthly recognised revenue there, so
these names use "revenue" where :data:`METHOD_LABELS` uses "bookings".
"""

METHOD_STYLES = {
    "stage_weighted": ("#1f4e79", [8, 4], "square"),
    "account_based": ("#e67e22", [2, 3], "triangle-up"),
    "win_probability": ("#54a24b", [8, 3, 2, 3], "diamond"),
    "time_series": ("#8e44ad", [4, 4], "cross"),
    "sarimax": ("#c0392b", [12, 3], "triangle-down"),
}
"""Line colour, dash pattern (stroke and gap lengths, pixels) and point
shape per method.

Hues far apart, different dashes and point shapes keep two methods apart
where their lines overlap, and each method keeps its style whichever
others are drawn.
"""

ACTUAL_STYLE = ("#222222", [1, 0], "circle")
"""Colour, solid dash pattern and point shape of the actual bookings line."""

MODEL_LABELS = {
    "stage": "stage win rates",
    "tier_stage": "win rates by tier and stage, plus expected repeat bookings",
    "logit": "logistic regression on deal features",
    "mean": "mean of past months (under 12 months of history)",
    "ets": "ETS without seasonality (under 24 months of history)",
    "ets_seasonal": "ETS with a 12-month season",
    "sarimax": "SARIMAX(0,1,1)(1,0,0,12)",
}


# A P10 to P90 range should hold the actual figure 8 times in 10; below this
# share of month-ends the range understates the uncertainty. The backtest's
# sentences and the report's range card both read it.
LOW_COVERAGE = 0.65


def lower_first(label: str) -> str:
    """Lower-case a label's first letter only, so "(SARIMAX)" keeps its capitals."""
    return label[:1].lower() + label[1:]


def describe_missing_backtest(
    horizon_months: int, cutoffs_requested: int | None = None
) -> str:
    """Return why no forecast method was backtested, as one plain sentence."""
    if cutoffs_requested == 0:
        return (
            "No method was backtested, because forecast_backtest_cutoffs is 0, "
            "so the stage-weighted forecast is shown."
        )
    return (
        "No method could be backtested: no past month-end had a complete "
        f"{horizon_months}-month horizon with won bookings, so the "
        "stage-weighted forecast is shown."
    )


def describe_negative_open_deals(count: int) -> str:
    """Return the note on ``count`` open deals whose negative amount counts as 0."""
    deals = "open deal has" if count == 1 else "open deals have"
    pronoun = "it" if count == 1 else "them"
    return (
        f"{count:,} {deals} a negative amount in the CRM. The forecast counts "
        f"{pronoun} as 0."
    )
