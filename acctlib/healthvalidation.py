"""Does health at a month-end predict a win or a churn in the next 90 days?

Health at each month-end comes from data known then (see
:mod:`acctlib.accountstate`). Outcomes come from the report's as-of
snapshot and the later month-end's account statuses, so only month-ends
at least three months before the as-of date are scored.

- **win**: an account that was not a customer at the month-end has an
  opportunity won with ``closed_on`` in the 90 days after it. Higher
  health should mean more wins.
- **churn**: a customer at the month-end is no longer a customer three
  month-ends later. Lower health should mean more churn, so the AUC is
  computed on ``-health_score``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from acctlib.lookup import is_in

OUTCOME_DAYS = 90
DECILES = 10
# An AUC from fewer account-months than this on either side of an outcome
# (events or non-events) rests on a handful of cases, so none is reported.
MIN_OUTCOME_ROWS = 5

_EVENT_NOUNS = {"win": ("win", "wins"), "churn": ("churn", "churns")}


def label_outcomes(
    health_history: pd.DataFrame,
    snapshot: pd.DataFrame,
    as_of: dt.date,
    months: int = 3,
) -> pd.DataFrame:
    """Return one row per account and scored month-end with its outcomes.

    Parameters
    ----------
    health_history
        Stacked ``account_health`` frames with ``month_end``, ``account_id``,
        ``status`` and ``health_score``.
    snapshot
        The as-of opportunity snapshot (``account_id``, ``is_won``,
        ``closed_on``).
    months
        Month-ends between a score and the status that decides churn.

    Returns
    -------
    pandas.DataFrame
        ``month_end``, ``account_id``, ``health_score``, ``was_customer``,
        ``won`` (bool, non-customers) and ``churned`` (bool, customers).
    """
    # Split once: filtering the whole history by each month-end took 1 s of
    # 2.2 s on 1.2 million rows.
    by_month = dict(tuple(health_history.groupby("month_end", sort=True)))
    dates = list(by_month)
    rows = []
    won = snapshot.loc[snapshot["is_won"], ["account_id", "closed_on"]].copy()
    won["closed_on"] = pd.to_datetime(won["closed_on"])
    for i, month_end in enumerate(dates):
        if i + months >= len(dates) or month_end + pd.Timedelta(
            days=OUTCOME_DAYS
        ) > pd.Timestamp(as_of):
            continue
        frame = by_month[month_end]
        later = by_month[dates[i + months]]
        later_status = later.set_index("account_id")["status"]
        window = won[
            (won["closed_on"] > month_end)
            & (won["closed_on"] <= month_end + pd.Timedelta(days=OUTCOME_DAYS))
        ]
        scored = frame[["month_end", "account_id", "health_score"]].copy()
        scored["was_customer"] = (frame["status"] == "customer").to_numpy()
        scored["won"] = (
            is_in(scored["account_id"], window["account_id"]) & ~scored["was_customer"]
        )
        still_customer = scored["account_id"].map(later_status) == "customer"
        scored["churned"] = scored["was_customer"] & ~still_customer
        rows.append(scored)
    columns = [
        "month_end",
        "account_id",
        "health_score",
        "was_customer",
        "won",
        "churned",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def compute_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Return the ROC AUC of ``scores`` for boolean ``labels`` (ties count half).

    NaN when either class is empty.
    """
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    # pandas ranks as scipy's rankdata does, and the report pages that read
    # this module's sentences then need not import scipy.
    ranks = pd.Series(np.asarray(scores, dtype=float)).rank(method="average").to_numpy()
    rank_sum = ranks[labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def validate_health(outcomes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the lift by health decile and the AUC of each outcome.

    Deciles split the scored rows of one outcome by ``health_score`` rank
    (decile 10 is the healthiest). ``lift`` is the decile's outcome rate
    over the overall rate.

    Returns
    -------
    (deciles, summary)
        ``deciles``: ``outcome``, ``decile``, ``rows``, ``events``,
        ``rate``, ``lift``, ``mean_health``. ``summary``: ``outcome``,
        ``rows``, ``events``, ``rate``, ``auc`` (for churn, the AUC of
        low health), ``month_ends`` and ``auc_missing_reason``. ``auc`` is
        NaN and the reason is set when events or non-events number fewer
        than :data:`MIN_OUTCOME_ROWS`.
    """
    decile_frames, summary_rows = [], []
    for outcome, population in (
        ("win", ~outcomes["was_customer"]),
        ("churn", outcomes["was_customer"]),
    ):
        frame = outcomes[population.astype(bool)]
        # An account without a health score cannot rank against the others.
        frame = frame[frame["health_score"].notna()]
        labels = frame["won" if outcome == "win" else "churned"].astype(bool)
        scores = frame["health_score"].astype(float).to_numpy()
        rate = labels.mean() if len(frame) else np.nan
        reason = describe_missing_auc(outcome, int(labels.sum()), int((~labels).sum()))
        auc = (
            np.nan
            if reason
            else compute_auc(scores if outcome == "win" else -scores, labels.to_numpy())
        )
        summary_rows.append(
            {
                "outcome": outcome,
                "rows": len(frame),
                "events": int(labels.sum()),
                "rate": rate,
                "auc": auc,
                "month_ends": int(frame["month_end"].nunique()),
                "auc_missing_reason": reason,
            }
        )
        if len(frame) >= DECILES:
            decile = np.ceil(
                pd.Series(scores).rank(method="first").to_numpy() * DECILES / len(frame)
            )
            grouped = pd.DataFrame(
                {
                    "decile": decile.astype(int),
                    "event": labels.to_numpy(),
                    "health": scores,
                }
            ).groupby("decile")
            table = pd.DataFrame(
                {
                    "rows": grouped.size(),
                    "events": grouped["event"].sum(),
                    "rate": grouped["event"].mean(),
                    "mean_health": grouped["health"].mean(),
                }
            ).reset_index()
            table["lift"] = table["rate"] / rate if rate else np.nan
            decile_frames.append(table.assign(outcome=outcome))
    columns = ["outcome", "decile", "rows", "events", "rate", "lift", "mean_health"]
    if decile_frames:
        deciles = pd.concat(decile_frames, ignore_index=True)[columns]
    else:
        dtypes = [str, "int64", "int64", "int64", float, float, float]
        deciles = pd.DataFrame(
            {c: pd.Series(dtype=t) for c, t in zip(columns, dtypes, strict=True)}
        )
    return deciles, pd.DataFrame(summary_rows)


def describe_missing_auc(outcome: str, events: int, non_events: int) -> str:
    """Return why ``outcome`` gets no AUC, or an empty string when it gets one.

    ``events`` and ``non_events`` count scored account-months with and
    without the outcome in the 90 days after their month-end.
    """
    singular, plural = _EVENT_NOUNS[outcome]
    past = "won" if outcome == "win" else "churned"
    if events + non_events == 0:
        return "no account-month could be scored"
    if events == 0:
        return f"no account {past} in the outcome window"
    if non_events == 0:
        return f"every scored account {past} in the outcome window"
    if events < MIN_OUTCOME_ROWS:
        noun = singular if events == 1 else plural
        return (
            f"only {events} {noun} fell in the outcome window, fewer than the "
            f"{MIN_OUTCOME_ROWS} the report needs for an AUC"
        )
    if non_events < MIN_OUTCOME_ROWS:
        account_months = "account-month" if non_events == 1 else "account-months"
        return (
            f"only {non_events} scored {account_months} had no {singular}, fewer "
            f"than the {MIN_OUTCOME_ROWS} the report needs for an AUC"
        )
    return ""


_BELOW_CHANCE_CLAUSES = {
    "win": "the accounts that won within 90 days lower than those that did not",
    "churn": "the accounts that churned within 90 days higher than those that stayed",
}


def is_below_chance(auc: float | None) -> bool:
    """Return whether ``auc`` ranks the outcome worse than chance.

    The AUC is compared at the two decimals the executive summary shows, so
    that a shown 0.50 is never called below chance.
    """
    return auc is not None and not pd.isna(auc) and round(float(auc), 2) < 0.5


def describe_below_chance(aucs: dict[str, float | None]) -> str:
    """Return a warning for the outcomes whose AUC is below chance, or ``""``.

    ``aucs`` maps ``win`` and ``churn`` to their AUC or ``None``. Below 0.5,
    health ranks the outcome the wrong way round, so neither health nor the
    at-risk list, which orders accounts by health, is a ranking to act on.
    """
    below = [
        (outcome, float(aucs[outcome]))
        for outcome in _BELOW_CHANCE_CLAUSES
        if is_below_chance(aucs.get(outcome))
    ]
    if not below:
        return ""
    # No brackets around "AUC", because the page glossary adds its own.
    clauses = " and ".join(
        f"{_BELOW_CHANCE_CLAUSES[outcome]}, with an AUC of {auc:.2f}"
        for outcome, auc in below
    )
    return (
        f"Health ranked {clauses}, worse than chance at 0.5. Do not trust "
        "health as a ranking of accounts, nor the at-risk list, which orders "
        "accounts by health."
    )
