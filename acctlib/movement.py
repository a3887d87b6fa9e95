"""Month over month: what changed since the previous month-end.

The build prepares a second workspace as of the last day of the month
before ``as_of`` with the same prepare steps and the same data (see
:func:`acctlib.build.build_report`), so last month's figures come from the
same code. This module compares the two: the change of every numeric
headline figure, and the accounts whose status, tier or risk flag moved.
The results are stored in the run's workspace as the ``headline_changes``
and ``account_movements`` tables, and :func:`executive_highlights` turns
them into display blocks for the executive summary.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acctlib import schema, tables
from acctlib.asof import as_of_cutoff, creation_estimated, isin_values
from acctlib.bookings import (
    describe_days,
    is_month_end,
    month_bookings_label,
    same_days_previous_month,
    sum_bookings,
    won_in_period,
)

# Categorical account columns whose change is a movement worth reporting,
# checked in every prepared table keyed by account_id that has them.
MOVEMENT_COLUMNS = ("status", "tier", "health_band", "at_risk")
# The one table each movement column is read from. Other tables repeat
# these columns (key accounts, slices), and reading them too would count
# the same move several times.
MOVEMENT_SOURCES = {
    "status": "account_map",
    "tier": "account_tiers",
    "health_band": "account_health",
    "at_risk": "account_health",
}
HEADLINE_LABELS = {
    "open_pipeline": "Open pipeline",
    "open_opportunities": "Open opportunities",
    "bookings_month": "Bookings this month",
    "bookings_ytd": "Bookings year to date",
    "revenue_12m": "Revenue, last 12 complete months",
    "customers": "Customers",
    "won_acv": "Won ACV",
}
MONEY_FIGURES = {"open_pipeline", "bookings_month", "bookings_ytd", "revenue_12m"}
MONEY_FIGURES |= {"won_acv"}
MAX_MONEY_SENTENCES = 3
MAX_SENTENCES = 6
MAX_HIDDEN_MOVES = 4
"""Moves the last sentence names briefly once :data:`MAX_SENTENCES` is reached."""


def previous_month_end(as_of: dt.date) -> dt.date:
    """Return the last day of the calendar month before ``as_of``'s month."""
    return as_of.replace(day=1) - dt.timedelta(days=1)


def flatten_headline(headline: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Return the numeric headline figures as ``{dotted.name: value}``.

    Nested mappings such as ``accounts_by_status`` become
    ``accounts_by_status.customer``; text, lists and missing values are
    left out.
    """
    flat = {}
    for key, value in headline.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_headline(value, prefix=f"{name}."))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            flat[name] = float(value)
    return flat


def align_month_bookings(
    previous_headline: Mapping[str, Any],
    previous_snapshot: pd.DataFrame,
    as_of: dt.date,
) -> dict[str, Any]:
    """Return the previous headline with the month's bookings over the same days.

    Before the last day of a month, ``bookings_month`` covers the days from
    the 1st to ``as_of``, so comparing it with the whole previous month
    would set part of a month against all of one. Its previous value
    becomes the bookings of the same days of the previous month (see
    :func:`acctlib.bookings.same_days_previous_month`), read from
    ``previous_snapshot``, the opportunities as known at the previous
    month-end. On a month's last day the headline is returned unchanged.
    """
    aligned = dict(previous_headline)
    if is_month_end(as_of) or "bookings_month" not in aligned:
        return aligned
    start, end = same_days_previous_month(as_of)
    aligned["bookings_month"] = round(sum_bookings(previous_snapshot, start, end), 2)
    return aligned


def _figure_label(figure: str, as_of: dt.date | str | None) -> str:
    """Return the name of a headline figure on the report date ``as_of``."""
    if figure == "bookings_month":
        return month_bookings_label(as_of)
    return HEADLINE_LABELS.get(figure, figure)


def _compared_days(as_of: dt.date | str | None) -> str:
    """Return the previous month's days the month's bookings are compared with.

    Returns "" on a month's last day or without a date, when the whole
    previous month is compared.
    """
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if as_of is None or is_month_end(as_of):
        return ""
    return describe_days(*same_days_previous_month(as_of))


YEAR_TO_DATE_FIGURES = ("bookings_ytd",)
"""Figures that start again at zero on 1 January."""


def compute_headline_changes(
    current: Mapping[str, Any],
    previous: Mapping[str, Any],
    new_year: bool = False,
) -> pd.DataFrame:
    """Return every numeric headline figure now, a month ago and the change.

    Columns: ``figure`` (dotted name), ``current``, ``previous``, ``change``
    (current minus previous, NaN when either is missing), sorted by figure.
    With ``new_year`` (the previous month-end is in an earlier year), the
    figures of :data:`YEAR_TO_DATE_FIGURES` have no change, because last
    year's total and this year's first month measure different periods.
    """
    now, before = flatten_headline(current), flatten_headline(previous)
    names = sorted(set(now) | set(before))
    frame = pd.DataFrame(
        {
            "figure": names,
            "current": [now.get(name, float("nan")) for name in names],
            "previous": [before.get(name, float("nan")) for name in names],
        }
    )
    frame["change"] = (frame["current"] - frame["previous"]).round(2)
    if new_year:
        restarted = frame["figure"].isin(YEAR_TO_DATE_FIGURES)
        frame.loc[restarted, "change"] = np.nan
    return frame


def compute_account_movements(
    current: Mapping[str, pd.DataFrame], previous: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Return one row per account and column that changed since last month.

    Every prepared table present in both runs with an ``account_id`` column
    is checked for the columns of :data:`MOVEMENT_COLUMNS`. An account
    missing last month shows ``previous`` as "none".

    Returns
    -------
    DataFrame
        ``table``, ``account_id``, ``name`` (from the current table, else
        the account id), ``column``, ``previous``, ``current``; sorted by
        table, column and account id.
    """
    moves = []
    for column in MOVEMENT_COLUMNS:
        name = MOVEMENT_SOURCES[column]
        if name not in current or name not in previous:
            continue
        if column not in current[name].columns or column not in previous[name].columns:
            continue
        moves.append(_compare_column(current[name], previous[name], name, column))
    columns = ["table", "account_id", "name", "column", "previous", "current"]
    if not moves:
        return pd.DataFrame(columns=columns).astype("str")
    frame = pd.concat(moves, ignore_index=True)[columns]
    return frame.sort_values(["table", "column", "account_id"]).reset_index(drop=True)


def _compare_column(
    current: pd.DataFrame, previous: pd.DataFrame, table: str, column: str
) -> pd.DataFrame:
    now = current[current["account_id"] != schema.NO_ACCOUNT]
    names = now["name"] if "name" in now.columns else now["account_id"]
    now = now.drop_duplicates("account_id")
    names = names.loc[now.index]
    before = previous.drop_duplicates("account_id").set_index("account_id")[column]
    merged = pd.DataFrame(
        {
            "account_id": now["account_id"].astype("str"),
            "name": names.fillna(now["account_id"]).astype("str"),
            "current": _as_texts(now[column]),
            "previous": _as_texts(now["account_id"].map(before)),
        }
    )
    merged["previous"] = merged["previous"].where(
        isin_values(now["account_id"], before.index), "none"
    )
    changed = merged[merged["current"] != merged["previous"]]
    return changed.assign(table=table, column=column)


def _as_texts(values: pd.Series) -> pd.Series:
    """Return :func:`_as_text` of each value, and "none" for missing values.

    Each distinct value is written once, because these columns hold a few
    values over many accounts.
    """
    codes, uniques = pd.factorize(values.astype(object))
    texts = np.array([_as_text(value) for value in uniques] + ["none"], dtype=object)
    # A missing value has code -1, the position of "none".
    return pd.Series(texts[codes], index=values.index, dtype="str")


def _as_text(value: object) -> str:
    """Write a value so that 1, 1.0 and "1" compare equal."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


REVERSED_BOOKINGS_COLUMNS = [
    "opportunity_id",
    "name",
    "account_id",
    "amount",
    "closed_on_previous",
    "stage",
    "closed_on",
    "change",
]
"""Columns of :func:`find_reversed_bookings`."""


def find_reversed_bookings(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    as_of: dt.date,
    previous_as_of: dt.date,
) -> pd.DataFrame:
    """Return the deals in last month's bookings year to date that no longer count.

    ``current`` and ``previous`` are opportunity snapshots (see
    :func:`acctlib.asof.snapshot_opportunities`) as of ``as_of`` and
    ``previous_as_of``. A deal is listed when it was won with ``closed_on``
    in the year of ``as_of`` by ``previous_as_of``, and is no longer won
    with ``closed_on`` in that year up to ``as_of``. So it was lost or
    reopened since, or closes on another date now. When the two dates are
    in different years, the year to date starts again, so nothing is
    listed. Returns :data:`REVERSED_BOOKINGS_COLUMNS`, ``stage`` and
    ``closed_on`` as of ``as_of``, largest amount first. ``name`` is the
    opportunity's name, or its ID when the source has none, and ``change``
    is "lost", "reopened" or "closes on another date".
    """
    empty = pd.DataFrame(columns=REVERSED_BOOKINGS_COLUMNS)
    if previous_as_of.year != as_of.year:
        return empty
    year_start = pd.Timestamp(as_of.replace(month=1, day=1))
    before = previous.loc[
        won_in_period(previous, year_start, previous_as_of),
        ["opportunity_id", "account_id", "amount", "closed_on"],
    ].copy()
    ids = before["opportunity_id"].astype("str")
    if "name" in previous.columns:
        names = previous.loc[before.index, "name"].astype("str")
        before["name"] = names.where(names.notna() & names.ne(""), ids)
    else:
        before["name"] = ids
    still = current.loc[won_in_period(current, year_start, as_of), "opportunity_id"]
    dropped = before[~isin_values(before["opportunity_id"], still)]
    dropped = dropped.rename(columns={"closed_on": "closed_on_previous"})
    now = current[["opportunity_id", "stage_asof", "closed_on"]].rename(
        columns={"stage_asof": "stage"}
    )
    now["change"] = np.select(
        [current["is_lost"].astype(bool), current["is_won"].astype(bool)],
        ["lost", "closes on another date"],
        "reopened",
    )
    result = dropped.merge(now, on="opportunity_id", how="left")
    result = result.sort_values(["amount", "opportunity_id"], ascending=[False, True])
    return result[REVERSED_BOOKINGS_COLUMNS].reset_index(drop=True)


def find_estimated_new_deals(
    snapshot: pd.DataFrame, previous_as_of: dt.date
) -> pd.DataFrame:
    """Return the open deals created after ``previous_as_of`` at a stand-in date.

    ``snapshot`` is an opportunity snapshot (see
    :func:`acctlib.asof.snapshot_opportunities`). A deal is listed when it
    is open, its ``created_at`` lies after the end of ``previous_as_of``
    and its ``created_at_estimated`` is True, because then it appears this
    month only because the source gave it no creation date. Returns the
    matching rows of ``snapshot``.
    """
    is_new = snapshot["created_at"] >= as_of_cutoff(previous_as_of)
    is_open = snapshot["is_open"].astype(bool)
    return snapshot[is_open & is_new & creation_estimated(snapshot)]


def count_estimated_deals_as_previous(
    previous_headline: Mapping[str, Any], estimated_new_deals: pd.DataFrame
) -> dict[str, Any]:
    """Return the previous headline with the stand-in-dated deals open then too.

    ``estimated_new_deals`` are the open deals of
    :func:`find_estimated_new_deals`. Their stand-in creation date falls
    after the previous month-end, so last month's snapshot lacks them,
    although the deals may be older. Adding them to last month's
    ``open_opportunities`` and ``open_pipeline`` keeps them out of the
    month's change, so a deal whose creation date is unknown never counts
    as new.
    """
    # NOTE: Only these two figures are adjusted. An account whose only open
    # deal is such a deal still shows a status move, such as from prospect
    # to open opportunity, in the account movements and accounts_by_status.
    counted = dict(previous_headline)
    if estimated_new_deals.empty:
        return counted
    if counted.get("open_opportunities") is not None:
        counted["open_opportunities"] += len(estimated_new_deals)
    pipeline = counted.get("open_pipeline")
    if pipeline is not None and not pd.isna(pipeline):
        added = float(estimated_new_deals["amount"].sum())
        counted["open_pipeline"] = round(pipeline + added, 2)
    return counted


def describe_movements(
    changes: pd.DataFrame,
    movements: pd.DataFrame,
    currency: str,
    reversed_bookings: pd.DataFrame | None = None,
    estimated_new_deals: pd.DataFrame | None = None,
    as_of: dt.date | str | None = None,
) -> list[str]:
    """Return the largest movements since last month as plain sentences.

    ``as_of`` is the report date. Before a month's last day the month's
    bookings are named month to date, and their sentence names the
    previous month's days they are compared with.

    First come up to :data:`MAX_MONEY_SENTENCES` sentences on the headline
    amounts with the largest relative change. When ``estimated_new_deals``
    (see :func:`find_estimated_new_deals`) lists deals, one sentence names
    how many open opportunities carry a stand-in creation date and that
    they count as open at the previous month-end too (see
    :func:`count_estimated_deals_as_previous`). When
    bookings year to date fell and ``reversed_bookings`` (see
    :func:`find_reversed_bookings`) lists deals, one sentence names them
    next. Then comes one sentence per new value of each moved column, such
    as "3 accounts moved to status customer: ...", most accounts first and
    naming up to three accounts.
    The list stops at :data:`MAX_SENTENCES`; when moves do not fit, its
    last sentence names them briefly, starting "Also:".
    """
    money = changes[changes["figure"].isin(MONEY_FIGURES)].dropna(subset=["change"])
    money = money.assign(shown=_shown_changes(money))
    money = money[money["shown"].ne(0)]
    scale = money["previous"].abs().where(money["previous"] != 0, 1.0)
    money = money.assign(weight=money["change"].abs() / scale)
    money = money.sort_values(["weight", "figure"], ascending=[False, True])
    sentences = [
        _describe_figure(row, currency, as_of)
        for row in money.head(MAX_MONEY_SENTENCES).itertuples()
    ]
    if estimated_new_deals is not None and len(estimated_new_deals):
        sentences.append(_describe_estimated(estimated_new_deals, currency))
    ytd_fell = bool((money["figure"].eq("bookings_ytd") & money["change"].lt(0)).any())
    if ytd_fell and reversed_bookings is not None and len(reversed_bookings):
        sentences.append(_describe_reversed(reversed_bookings, currency))
    moves = _describe_move_groups(movements)
    room = MAX_SENTENCES - len(sentences)
    if len(moves) > room:
        # The moves left out can change how the listed ones read, such as
        # accounts moved to status lost, so one last sentence names them
        # briefly.
        listed_moves, hidden = moves[: room - 1], moves[room - 1 :]
    else:
        listed_moves, hidden = moves, []
    for move, _ in listed_moves:
        # A name may end in a full stop already, such as "Corp.".
        sentences.append(move if move.endswith(".") else f"{move}.")
    if hidden:
        parts = [brief for _, brief in hidden[:MAX_HIDDEN_MOVES]]
        rest = len(hidden) - MAX_HIDDEN_MOVES
        if rest > 0:
            parts.append(f"{rest:,} more {'move' if rest == 1 else 'moves'}")
        sentences.append(f"Also: {'; '.join(parts)}.")
    return sentences


def _describe_estimated(deals: pd.DataFrame, currency: str) -> str:
    count = len(deals)
    total = float(deals["amount"].sum())
    dates = sorted(set(deals["created_at"].dt.date))
    if len(dates) == 1:
        dated = f"{dates[0]:%d %B %Y}"
    else:
        dated = f"from {dates[0]:%d %B %Y} to {dates[-1]:%d %B %Y}"

    if count == 1:
        noun, has, is_dated, subject = "opportunity", "has", "is dated", "it counts"
    else:
        noun, has, is_dated, subject = (
            "opportunities",
            "have",
            "are dated",
            "they count",
        )
    return (
        f"{count:,} open {noun} ({tables.format_money(total, currency)}) {has} "
        f"no creation date in the source and {is_dated} {dated} as a "
        f"stand-in, so {subject} as open at the previous month-end too and "
        "not as new this month."
    )


def _describe_reversed(reversed_bookings: pd.DataFrame, currency: str) -> str:
    count = len(reversed_bookings)
    column = "name" if "name" in reversed_bookings.columns else "opportunity_id"
    names = [str(value) for value in reversed_bookings[column]]
    listed = ", ".join(names[:3])
    more = f" and {count - 3:,} more" if count > 3 else ""
    amount = tables.format_money(float(reversed_bookings["amount"].sum()), currency)
    deals = "deal" if count == 1 else "deals"
    reasons = "they were lost or reopened since, or now close on another date"
    if "change" in reversed_bookings.columns:
        counts = reversed_bookings["change"].value_counts()
        parts = [
            f"{number:,} {_REVERSAL_WORDS.get(change, change)}"
            for change, number in counts.items()
        ]
        reasons = " and ".join(parts)
    return (
        f"{count:,} {deals} won this year by last month-end ({amount}) no longer "
        f"count in bookings year to date ({reasons}): {listed}{more}."
    )


_REVERSAL_WORDS = {
    "lost": "lost since",
    "reopened": "reopened",
    "closes on another date": "now closing on another date",
}


KEY_TIER_VALUES = frozenset({"1", "2"})
"""Tiers, as movement texts, whose accounts can be flagged at risk."""
ENDED_STATUSES = frozenset({"lost", "churned"})
"""Statuses, as movement texts, of accounts whose business has ended."""
NO_LONGER_AT_RISK_REASONS = ("ended", "left_key_tiers", "recovered")
"""Reasons an account is no longer at risk, in the order the sentence lists them."""


def _describe_move_groups(movements: pd.DataFrame) -> list[tuple[str, str]]:
    """Return one move per group of accounts with the same new column value.

    Each move is ``(sentence, brief)``: the sentence names up to three
    accounts, and the brief, for the "Also:" sentence, names two. Groups
    with the most accounts come first. The accounts no longer at risk are
    one group whose sentence splits them by :func:`_split_no_longer_at_risk`,
    because an account that was lost is no recovery.
    """
    groups = sorted(
        movements.groupby(["column", "current"]),
        key=lambda item: (-len(item[1]), item[0]),
    )
    moves = []
    for (column, value), group in groups:
        if column == "at_risk" and value != "True":
            moves.append(_describe_no_longer_at_risk(group, movements))
            continue
        names = sorted(group["name"])
        noun = "account" if len(names) == 1 else "accounts"
        text = f"{len(names):,} {noun} {_describe_move(column, value, len(names))}"
        moves.append((f"{text}: {_list_names(names)}", f"{text} ({_brief(names)})"))
    return moves


def _list_names(names: list[str], limit: int = 3) -> str:
    listed = ", ".join(names[:limit])
    if len(names) > limit:
        return f"{listed} and {len(names) - limit:,} more"
    return listed


def _brief(names: list[str]) -> str:
    return f"{', '.join(names[:2])}{', …' if len(names) > 2 else ''}"


def _describe_no_longer_at_risk(
    group: pd.DataFrame, movements: pd.DataFrame
) -> tuple[str, str]:
    """Return the move of the accounts no longer at risk, split by reason."""
    parts = _split_no_longer_at_risk(group, movements)
    if [reason for reason, _ in parts] == ["recovered"]:
        names = parts[0][1]
        are = "is" if len(names) == 1 else "are"
        noun = "account" if len(names) == 1 else "accounts"
        text = f"{len(names):,} {noun} recovered and {are} no longer at risk"
        return f"{text}: {_list_names(names)}", f"{text} ({_brief(names)})"

    count = len(group)
    noun = "account is" if count == 1 else "accounts are"
    head = f"{count:,} {noun} no longer at risk"
    words = {
        "ended": "lost or churned",
        "left_key_tiers": "moved below Tier 2",
        "recovered": "recovered",
    }
    listed = "; ".join(
        f"{len(names):,} {words[reason]} ({_list_names(names)})"
        for reason, names in parts
    )
    brief = ", ".join(f"{len(names):,} {words[reason]}" for reason, names in parts)
    return f"{head}: {listed}", f"{head} ({brief})"


def _split_no_longer_at_risk(
    group: pd.DataFrame, movements: pd.DataFrame
) -> list[tuple[str, list[str]]]:
    """Split accounts no longer at risk by reason, as ``(reason, sorted names)``.

    Each account of ``group`` goes under one reason of
    :data:`NO_LONGER_AT_RISK_REASONS`: "ended" when its status moved to
    lost or churned, else "left_key_tiers" when its tier moved out of
    Tiers 1 and 2, else "recovered". Without an ``account_id`` column in
    ``movements`` every account counts as recovered. Reasons without
    accounts are left out.
    """
    if "account_id" not in movements.columns:
        return [("recovered", sorted(group["name"]))]
    moved_to = movements.assign(current=movements["current"].astype("str"))
    ended = moved_to.loc[
        moved_to["column"].eq("status") & moved_to["current"].isin(ENDED_STATUSES),
        "account_id",
    ]
    left = moved_to.loc[
        moved_to["column"].eq("tier") & ~moved_to["current"].isin(KEY_TIER_VALUES),
        "account_id",
    ]
    is_ended = isin_values(group["account_id"], ended)
    is_left = ~is_ended & isin_values(group["account_id"], left)
    parts = {
        "ended": group[is_ended],
        "left_key_tiers": group[is_left],
        "recovered": group[~is_ended & ~is_left],
    }
    return [
        (reason, sorted(part["name"])) for reason, part in parts.items() if len(part)
    ]


def _describe_move(column: str, value: str, count: int) -> str:
    if column == "at_risk" and value == "True":
        return "became at risk"
    if column == "tier" and value != "none":
        # Capitalised as in the tier labels elsewhere, such as "Tier 3 Growth".
        return f"moved to Tier {value}"
    target = "none" if value == "none" else value.replace("_", " ")
    return f"moved to {column.replace('_', ' ')} {target}"


def _shown_change(current: float, previous: float, change: float) -> float:
    """Return the change as the difference of the two whole numbers shown.

    Pages show figures in whole units, so 100.40 and 99.60 both read 100,
    and their change of 0.80 would read +1 beside two equal figures. The
    shown change is 0 instead, so the figures and the change on a page add
    up. A missing ``change`` stays missing.
    """
    if change is None or pd.isna(change):
        return float("nan")
    return float(round(current) - round(previous))


def _describe_figure(row, currency: str, as_of: dt.date | str | None) -> str:
    direction = "rose" if row.shown > 0 else "fell"
    sentence = (
        f"{_figure_label(row.figure, as_of)} {direction} by "
        f"{tables.format_money(abs(row.shown), currency)} to "
        f"{tables.format_money(row.current, currency)}"
    )
    days = _compared_days(as_of) if row.figure == "bookings_month" else ""
    if days:
        sentence += f", compared with the same days of last month ({days})"
    return sentence + "."


def headline_cards_with_change(
    headline: Mapping[str, Any],
    changes: pd.DataFrame,
    currency: str,
    as_of: dt.date | str | None = None,
) -> list[dict[str, str]]:
    """Return the headline cards of :func:`tables.headline_cards` with a change line.

    Each card gains ``change``, such as "+USD 12,000 since last month", or
    an empty string when the figure did not exist a month ago. Before a
    month's last day (``as_of``), the month-to-date bookings card names the
    previous month's days it is compared with instead, such as "+USD 500
    against 1 to 15 October".
    """
    by_figure = dict(zip(changes["figure"], _shown_changes(changes), strict=True))
    keys = {
        "Customers": "accounts_by_status.customer",
        "Open pipeline": "open_pipeline",
        month_bookings_label(as_of): "bookings_month",
        "Bookings year to date": "bookings_ytd",
        tables.revenue_12m_label(as_of): "revenue_12m",
    }
    days = _compared_days(as_of)
    cards = []
    for card in tables.headline_cards(dict(headline), currency, as_of):
        figure = keys.get(card["label"], "")
        suffix = f" against {days}" if figure == "bookings_month" and days else ""
        change = _format_change(
            by_figure.get(figure), card["label"], currency, suffix or SINCE_LAST_MONTH
        )
        cards.append({**card, "change": change})
    return cards


SINCE_LAST_MONTH = " since last month"


def _format_change(
    change: float | None, label: str, currency: str, suffix: str = SINCE_LAST_MONTH
) -> str:
    if change is None or pd.isna(change):
        return ""
    if change > 0:
        sign = "+"
    elif change < 0:
        sign = tables.MINUS
    else:
        sign = "±"
    if label == "Customers":
        amount = tables.format_count(abs(change))
    else:
        amount = tables.format_money(abs(change), currency)
    return f"{sign}{amount}{suffix}"


def executive_highlights(ws) -> list[object]:
    """Return display blocks of the month-over-month changes of a workspace.

    A table of the headline figures now, at the previous month-end and
    their change, then the largest movements in plain sentences. A
    workspace prepared without a previous month returns one note saying so.
    """
    from IPython.display import HTML

    if not ws.has_table("headline_changes"):
        return [HTML('<p class="acctlib-note">No comparison with last month.</p>')]
    changes = ws.table("headline_changes")
    movements = ws.table("account_movements")
    reversed_bookings = None
    if ws.has_table("reversed_bookings"):
        reversed_bookings = ws.table("reversed_bookings")
    since = previous_month_end(ws.as_of)
    estimated_new_deals = None
    if ws.has_table("opportunity_snapshot"):
        snapshot = ws.table("opportunity_snapshot")
        estimated_new_deals = find_estimated_new_deals(snapshot, since)
    sentences = describe_movements(
        changes,
        movements,
        ws.currency,
        reversed_bookings,
        estimated_new_deals,
        as_of=ws.as_of,
    )
    listing = "".join(f"<li>{html.escape(sentence)}</li>" for sentence in sentences)
    return [
        HTML(_changes_table(changes, ws.currency, ws.as_of)),
        HTML(f'<ul class="acctlib-movements">{listing or "<li>No change.</li>"}</ul>'),
    ]


def _shown_changes(changes: pd.DataFrame) -> list[float]:
    """Return :func:`_shown_change` of every row of ``changes``."""
    return [
        _shown_change(row.current, row.previous, row.change)
        for row in changes.itertuples()
    ]


def _changes_table(changes: pd.DataFrame, currency: str, as_of: dt.date) -> str:
    since = previous_month_end(as_of)
    listed = changes[changes["figure"].isin(HEADLINE_LABELS)]
    listed = listed.assign(shown=_shown_changes(listed))
    rows = []
    for row in listed.itertuples():
        if row.figure in MONEY_FIGURES:
            values = [
                tables.format_money(v, currency) for v in (row.current, row.previous)
            ]
            change = _format_change(row.shown, "", currency, suffix="")
        else:
            values = [tables.format_count(v) for v in (row.current, row.previous)]
            change = _format_change(row.shown, "Customers", currency, suffix="")
        cells = [_figure_label(row.figure, as_of), *values, change]
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
            + "</tr>"
        )
    header = "".join(
        f"<th>{label}</th>"
        for label in ("Figure", "Now", f"{since:%d %B %Y}", "Change")
    )
    caption = (
        "Change since the previous month-end: the figure now minus the figure "
        "then, both rounded as shown, so a change can differ by 1 from a "
        "figure rounded on its own"
    )
    days = _compared_days(as_of)
    if days:
        this_month = describe_days(as_of.replace(day=1), as_of)
        caption += (
            f". Bookings month to date compares {this_month} with the same days "
            f"of last month, {days}"
        )
    return (
        f'<table class="acctlib-changes"><caption>{html.escape(caption)}'
        f"</caption><tr>{header}</tr>{''.join(rows)}</table>"
    )
