"""Names the report shows for the forecast methods and their models.

Kept apart from :mod:`acctlib.forecast.methods`, so that the forecast
section's notebook reads them without importing statsmodels.
"""

METHOD_LABELS = {
    "stage_weighted": "Stage-weighted pipeline",
    "account_based": "Account-based",
    "win_probability": "Win-probability model",
    "time_series": "Time series (ETS)",
    "sarimax": "Time series (SARIMAX)",
}
"""Method identifiers and the names the report shows for them."""

MODEL_LABELS = {
    "stage": "stage win rates",
    "tier_stage": "win rates by tier and stage, plus expected repeat bookings",
    "logit": "logistic regression on deal features",
    "mean": "mean of past months (under 12 months of history)",
    "ets": "ETS without seasonality (under 24 months of history)",
    "ets_seasonal": "ETS with a 12-month season",
    "sarimax": "SARIMAX(0,1,1)(1,0,0,12)",
}
