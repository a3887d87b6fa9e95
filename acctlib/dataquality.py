"""Data quality of a run's intake: counts, rejections, merges, lint, currency.

:func:`prepare_data_quality` stores the intake audit tables in the run's
workspace once; the data-quality notebook and the ``check`` command show
the same figures:

- ``dq_counts``: rows read, accepted, rejected and merged per table,
  cells of optional columns blanked in accepted rows, whether read
  equals accepted + rejected + merged (``reconciled``) and the number of
  input files read into the table (``files``, 0 for a table that the
  adapter derives from another table's rows, such as stage history from
  deal columns);
- ``dq_rejections``: rows per table, action (``row rejected`` or ``cell
  blanked``) and reason;
- ``dq_merges``: accounts merged by domain, and name-only suggestions;
- ``dq_stage_lint``: the stage-map findings;
- ``dq_findings``: opportunities kept but odd (closed before created, won
  without amount, open or won with a negative amount, no account, shared
  by several companies, closed long before the stage history closes
  them), data that ends well before the as-of date, an as-of date
  before the first opportunity, and records dated after the day of the
  build;
- ``dq_currency``: the report currency and how many amounts each basis
  converted;
- ``dq_account_amounts``: won amount per account, with its name, under
  the ``shared_deal_split`` rule (empty unless the source links deals to
  several companies);
- ``dq_rejected_value``: rejected opportunities and the amounts of their
  raw rows per stage category and currency
  (:mod:`acctlib.rejectedvalue`);
- ``dq_rejected_rows``: the rejected opportunity rows counted by kind:
  the first row of a rejected opportunity, a repeat of an accepted or a
  rejected opportunity, or a blank row.
"""

from __future__ import annotations

import datetime as dt
import logging
from html import escape
from typing import Any

import altair as alt
import pandas as pd
from IPython.display import HTML

from acctlib import tables
from acctlib.charts import count_axis
from acctlib.intake import Intake, describe_unreconciled
from acctlib.intake.dedupe import AUDIT_COLUMNS
from acctlib.intake.hubspot import compute_account_amounts
from acctlib.intake.quality import (
    OUTLIER_CHECK,
    WON_UNCONVERTED_CHECK,
    WON_WITHOUT_AMOUNT_CHECK,
)
from acctlib.intake.stagelint import LINT_COLUMNS
from acctlib.labels import readable_column, table_in_words
from acctlib.rejectedvalue import (
    count_rejected_rows,
    summarize_rejected_opportunities,
)
from acctlib.stagesources import (
    CLOSE_REDATED_CHECK,
    CLOSE_UNDATED_CHECK,
    STAGE_DIFFERS_CHECK,
    check_stage_history,
)

logger = logging.getLogger(__name__)

STALE_DAYS = 31
"""Days the as-of date may follow the newest opportunity, stage change or close."""

STALE_DATA_CHECK = "data older than as-of"
AS_OF_BEFORE_DATA_CHECK = "as-of before data"
"""Check names in ``dq_findings`` of an as-of date outside the data."""
FUTURE_RECORDS_CHECK = "dated after today"
"""Check name in ``dq_findings`` of records dated after the day of the build."""

ACCOUNT_AMOUNT_COLUMNS = ["account_id", "name", "won_amount", "shared_deals"]

BASIS_LABELS = {
    "source": "converted column of the export",
    "same_currency": "already in the report currency",
    "rates_table": "dated rates table, at the close-date rate",
}


def summarize_intake(intake: Intake) -> dict[str, pd.DataFrame]:
    """Return the data-quality tables of one intake, keyed by workspace name."""
    currency = intake.currency_basis or {"report_currency": ""}
    basis = pd.DataFrame(
        [
            {
                "report_currency": currency.get("report_currency", ""),
                "basis": BASIS_LABELS[key],
                "opportunities": int(currency.get(key, 0)),
            }
            for key in BASIS_LABELS
        ]
    )
    counts = intake.reconciliation()
    files = pd.Series([item.table for item in intake.inputs], dtype="str")
    counts["files"] = counts["table"].map(files.value_counts()).fillna(0)
    counts["files"] = counts["files"].astype("int64")
    result = {
        "dq_counts": counts,
        "dq_rejections": intake.quarantine.summary(),
        "dq_merges": intake.extras.get(
            "account_merges", pd.DataFrame(columns=AUDIT_COLUMNS)
        ),
        "dq_stage_lint": intake.extras.get(
            "stage_lint", pd.DataFrame(columns=LINT_COLUMNS)
        ),
        "dq_findings": intake.extras.get("quality_findings", pd.DataFrame()),
        "dq_currency": basis,
    }
    result["dq_account_amounts"] = summarize_account_amounts(intake)
    rejected = intake.quarantine.to_frame()
    accepted_ids = intake.tables["opportunities"]["opportunity_id"]
    result["dq_rejected_value"] = summarize_rejected_opportunities(
        rejected,
        intake.stage_map,
        currency["report_currency"],
        accepted_ids=accepted_ids,
        options=intake.opportunity_options,
    )
    result["dq_rejected_rows"] = count_rejected_rows(
        rejected, accepted_ids, intake.opportunity_options
    )
    return result


def prepare_data_quality(context: Any) -> None:
    """Store the data-quality tables and the currency basis of the run.

    An as-of date well after the newest opportunity, stage change or close
    date adds a finding and a note (:func:`check_freshness`).
    """
    parts = summarize_intake(context.intake)
    findings = check_as_of(context.intake.tables, context.as_of)
    findings += check_stage_history(
        context.intake.tables,
        context.intake.stage_map,
        context.as_of,
        context.intake.currency_basis.get("report_currency", ""),
        default_contract_months=context.params["default_contract_months"],
        prepared=context.opportunity_history,
        snapshot=context.frames.get("opportunity_snapshot"),
    )
    if findings:
        parts["dq_findings"] = pd.concat(
            [parts["dq_findings"], pd.DataFrame(findings)], ignore_index=True
        )
    for finding in findings:
        context.notes.append(finding["message"])
        logger.warning("%s", finding["message"])
    basis = context.intake.currency_basis
    note = currency_note(context.intake.tables, basis.get("report_currency", ""))
    if note is not None:
        context.notes.append(note)
    for name, frame in parts.items():
        context.store(name, _typed(frame.reset_index(drop=True)))
    context.headline["report_currency"] = basis.get("report_currency")


def check_as_of(
    tables: dict[str, Any], as_of: dt.date, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Return the findings of the data's dates against ``as_of`` and ``today``.

    Both ``build`` and ``check`` list them, from :func:`check_freshness`,
    :func:`check_as_of_before_data` and :func:`check_future_records`.
    """
    findings = [
        check_freshness(tables, as_of),
        check_as_of_before_data(tables, as_of),
        *check_future_records(tables, today),
    ]
    return [finding for finding in findings if finding is not None]


def check_future_records(
    tables: dict[str, Any], today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Return a finding per kind of record dated after ``today``.

    A deal cannot be created, won or lost, change stage or be touched after
    the day its data was exported, so such dates are errors of the export.
    Reports count each record from its date on, so until then a deal
    created later is left out, a deal closed later counts as open, and a
    later stage change or touch is ignored. ``today`` is the UTC day of the
    build; a rebuild after those dates no longer lists them.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    after = pd.Timestamp(today, tz="UTC") + pd.Timedelta(days=1)
    opportunities = tables["opportunities"]
    created = pd.to_datetime(opportunities["created_at"], utc=True) >= after
    closed = opportunities["stage_category"].isin(("won", "lost")) & (
        pd.to_datetime(opportunities["close_date"]).dt.tz_localize("UTC") >= after
    )
    findings = [
        _future_deals(
            opportunities,
            created,
            "created_at",
            ("has", "have"),
            f"a created_at after {today:%d %b %Y}, the day of this build, so "
            "no report counts them before that date",
        ),
        _future_deals(
            opportunities,
            closed,
            "close_date",
            ("is", "are"),
            f"won or lost with a close_date after {today:%d %b %Y}, the day of "
            "this build, so reports count them as open until that date",
        ),
    ]
    later_records = (
        ("stage_history", "entered_at", "opportunity_id", "stage change", "of deal "),
        ("touchpoints", "occurred_at", "touch_id", "touchpoint", "touch "),
    )
    for table, column, key, noun, label in later_records:
        count, first_key, first_time = _first_after(
            tables.get(table), column, key, after
        )
        if not count:
            continue
        nouns, verb, pronoun = (
            (noun, "is", "it") if count == 1 else (f"{noun}s", "are", "them")
        )
        findings.append(
            {
                "check": FUTURE_RECORDS_CHECK,
                "rows": count,
                "amount": float("nan"),
                "message": (
                    f"{count:,} {nouns} {verb} dated after {today:%d %b %Y}, the "
                    f"day of this build, so reports ignore {pronoun} before that "
                    f"date; the first, {label}{first_key}, has {column} "
                    f"{first_time:%d %b %Y}. Correct {column} in the "
                    f"{table_in_words(table)} export."
                ),
            }
        )
    return [finding for finding in findings if finding is not None]


def _future_deals(
    opportunities: pd.DataFrame,
    mask: pd.Series,
    column: str,
    verbs: tuple[str, str],
    text: str,
) -> dict[str, Any] | None:
    """Return the finding of the deals of ``mask``, naming the first by id.

    ``verbs`` are the singular and plural verb that join the count to ``text``.
    """
    count = int(mask.sum())
    if count == 0:
        return None
    first = opportunities.loc[mask].sort_values("opportunity_id").iloc[0]
    deals, verb = ("deal", verbs[0]) if count == 1 else ("deals", verbs[1])
    amounts = opportunities.loc[mask, "amount"]
    return {
        "check": FUTURE_RECORDS_CHECK,
        "rows": count,
        "amount": float(amounts.sum()) if amounts.notna().any() else float("nan"),
        "message": (
            f"{count:,} {deals} {verb} {text}; the "
            f"first is {first['opportunity_id']} with {column} "
            f"{pd.Timestamp(first[column]):%d %b %Y}. Correct {column} in the "
            "opportunities export."
        ),
    }


def _first_after(
    table: Any, column: str, key: str, after: pd.Timestamp
) -> tuple[int, str | None, pd.Timestamp | None]:
    """Return how many rows have ``column`` at or after ``after``, and the first.

    The first is the row with the smallest ``key``, returned as its ``key``
    and ``column`` values. ``table`` is a pandas frame, a bulk table or None.
    """
    if table is None:
        return 0, None, None
    if not isinstance(table, pd.DataFrame):
        return table.first_at_or_after(column, after, key)
    times = pd.to_datetime(table[column], utc=True)
    later = times >= after
    if not later.any():
        return 0, None, None
    keys = table.loc[later, key].astype(str)
    first = keys.idxmin()
    return int(later.sum()), keys[first], times[first]


def check_as_of_before_data(
    tables: dict[str, Any], as_of: dt.date
) -> dict[str, Any] | None:
    """Return a finding when ``as_of`` is before the first opportunity was created.

    Only records known on or before the as-of date count, so such a report
    shows zero for every figure. Returns None when the data has no dates.
    """
    created = pd.to_datetime(tables["opportunities"]["created_at"], utc=True).min()
    if pd.isna(created):
        return None
    first_day = created.date()
    if as_of >= first_day:
        return None
    return {
        "check": AS_OF_BEFORE_DATA_CHECK,
        "rows": len(tables["opportunities"]),
        "amount": 0.0,
        "message": (
            f"The as-of date {as_of:%d %b %Y} is before the first opportunity "
            f"was created on {first_day:%d %b %Y}, so no record counts and every "
            f"figure of the report is zero. Set as_of to {first_day:%d %b %Y} or "
            "later."
        ),
    }


def currency_note(tables: dict[str, Any], report_currency: str) -> str | None:
    """Return a note that amounts are assumed in ``report_currency``, or None.

    The note applies when no opportunity names its currency, because then
    nothing shows which currency the amounts are in.
    """
    currency = tables["opportunities"].get("currency")
    if currency is not None and currency.notna().any():
        return None
    return (
        "The opportunities have no currency column, so every amount is taken "
        f"to be in the report currency {report_currency}."
    )


def check_freshness(
    tables: dict[str, Any], as_of: dt.date, max_days: int = STALE_DAYS
) -> dict[str, Any] | None:
    """Return a finding when ``as_of`` is over ``max_days`` after the newest record.

    The newest record is the latest opportunity creation, stage change or
    close date of a won or lost deal. Open deals then look open although
    they may have closed since, so the finding counts them and sums their
    amount. Without open deals the finding is about the data set as a
    whole, so it counts 0 records and its amount is NaN. Returns None when
    the data reaches close enough to ``as_of``, or has no dates.
    """
    newest_day = _newest_record_day(tables)
    if newest_day is None:
        return None
    days = (as_of - newest_day).days
    if days <= max_days:
        return None

    opportunities = tables["opportunities"]
    is_open = opportunities["stage_category"] == "open"
    open_count = int(is_open.sum())
    amount = float(opportunities.loc[is_open, "amount"].fillna(0).sum())
    if open_count == 0:
        consequence = (
            "No deal is open, but deals created or closed since then may be missing."
        )
        amount = float("nan")
    else:
        deals = "deal" if open_count == 1 else "deals"
        consequence = f"The {open_count:,} open {deals} may have closed since."
    return {
        "check": STALE_DATA_CHECK,
        "rows": open_count,
        "amount": amount,
        "message": (
            f"The newest opportunity, stage change or close date is dated "
            f"{newest_day:%d %b %Y}, {days:,} {'day' if days == 1 else 'days'} "
            "before the as-of date "
            f"{as_of:%d %b %Y}. {consequence} Export the data again, or set "
            "as_of to a date it covers."
        ),
    }


def _newest_record_day(tables: dict[str, Any]) -> dt.date | None:
    """Return the UTC day of the newest creation, stage change or close."""
    opportunities = tables["opportunities"]
    timestamps = [opportunities["created_at"]]
    if "stage_history" in tables:
        timestamps.append(tables["stage_history"]["entered_at"])
    latest = [pd.to_datetime(values, utc=True).max() for values in timestamps]
    days = [value.date() for value in latest if not pd.isna(value)]

    # The close date of an open deal is a forecast, so only closed deals count.
    is_closed = opportunities["stage_category"].isin(("won", "lost"))
    closed_on = pd.to_datetime(opportunities.loc[is_closed, "close_date"]).max()
    if not pd.isna(closed_on):
        days.append(closed_on.date())
    return max(days, default=None)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give every column a concrete type, so empty tables can be stored."""
    counts = {
        "rows",
        "read",
        "accepted",
        "rejected",
        "merged",
        "cells_blanked",
        "opportunities",
    }
    result = frame.copy()
    for column in result.columns:
        if column in counts:
            result[column] = result[column].astype("int64")
        elif column in ("amount", "won_amount"):
            result[column] = result[column].astype("float64")
        elif column == "reconciled":
            result[column] = result[column].astype("bool")
        elif result[column].dtype == object or result.empty:
            result[column] = result[column].astype("str")
    return result


def summarize_account_amounts(intake: Intake) -> pd.DataFrame:
    """Return won amounts per account under the shared-deal rule, with names.

    Columns: ``account_id``, ``name`` (empty on the ``No account`` row),
    ``won_amount`` and ``shared_deals``, as
    :func:`~acctlib.intake.hubspot.compute_account_amounts` computes them.
    The frame is empty when the source links no deal to a company.
    """
    links = intake.extras.get("deal_companies")
    if links is None:
        return pd.DataFrame(columns=ACCOUNT_AMOUNT_COLUMNS)
    amounts = compute_account_amounts(intake.tables["opportunities"], links)
    accounts = intake.tables["accounts"]
    names = pd.Series(accounts["name"].to_numpy(), index=accounts["account_id"])
    amounts["name"] = amounts["account_id"].map(names).fillna("")
    return amounts[ACCOUNT_AMOUNT_COLUMNS]


def format_check_report(
    intake: Intake, *, show: int = 20, as_of: dt.date | None = None
) -> str:
    """Return the text the ``check`` command prints.

    ``show`` is how many rejected rows and blanked cells are listed one by
    one, with file, row, column and value; the rest are only counted. With
    ``as_of``, the findings of :func:`check_as_of` join the data-quality
    findings.
    """
    parts = summarize_intake(intake)
    if as_of is not None:
        findings = check_as_of(intake.tables, as_of)
        findings += check_stage_history(
            intake.tables,
            intake.stage_map,
            as_of,
            intake.currency_basis.get("report_currency", ""),
        )
        if findings:
            parts["dq_findings"] = pd.concat(
                [parts["dq_findings"], pd.DataFrame(findings)], ignore_index=True
            )
    quarantined = intake.quarantine.to_frame()
    listed = quarantined[["file", "row", "column", "value", "reason", "action"]]
    more = len(listed) - show
    sections = [
        ("Rows per table", parts["dq_counts"]),
        ("Rejected rows and blanked cells by reason", parts["dq_rejections"]),
        (
            f"Rejected rows and blanked cells, first {min(show, len(listed))}"
            + (f" ({more:,} more in the full list)" if more > 0 else ""),
            listed.head(show),
        ),
        ("Rejected opportunities by stage category", parts["dq_rejected_value"]),
        ("Account merges and suggestions", parts["dq_merges"]),
        ("Stage map lint", parts["dq_stage_lint"][["level", "message"]]),
        ("Data-quality findings", _findings_text(parts["dq_findings"])),
        ("Currency", parts["dq_currency"]),
    ]
    if "deal_companies" in intake.extras:
        sections.append(("Won amount per account", parts["dq_account_amounts"]))
    lines = []
    counts = parts["dq_counts"]
    status = "reconciled" if counts["reconciled"].all() else "NOT reconciled"
    derived = counts["files"] == 0
    from_files = counts[~derived]
    read = int(from_files["read"].sum())
    files = int(from_files["files"].sum())
    summary = (
        f"Profile {intake.profile}: {read:,} {'row' if read == 1 else 'rows'} "
        f"read from {files:,} {'file' if files == 1 else 'files'}, "
        f"{int(from_files['accepted'].sum()):,} accepted, "
        f"{int(from_files['rejected'].sum()):,} rejected, "
        f"{int(from_files['merged'].sum()):,} merged ({status})."
    )
    for row in counts[derived].itertuples():
        summary += (
            f" {row.read:,} {row.table} {'row' if row.read == 1 else 'rows'} "
            f"derived from them, {row.accepted:,} accepted, "
            f"{row.rejected:,} rejected."
        )
    lines.append(
        f"{summary} Cells of optional columns blanked in accepted rows: "
        f"{int(counts['cells_blanked'].sum()):,}."
    )
    for title, frame in sections:
        lines.append("")
        lines.append(f"{title}:")
        lines.append(
            "  none" if frame.empty else frame.to_string(index=False, max_colwidth=None)
        )
    return "\n".join(lines)


def list_check_notes(intake: Intake, report_currency: str) -> list[str]:
    """Return the notes the ``check`` command prints after its report.

    Intake's notes repeat the message of each data-quality finding, which
    :func:`format_check_report` already lists, so those are left out. A
    note that several steps add is listed once, where it first appears.
    """
    findings = intake.extras.get("quality_findings")
    printed = set() if findings is None else set(findings["message"])
    notes = [note for note in intake.notes if note not in printed]
    currency = currency_note(intake.tables, report_currency)
    if currency is not None:
        notes.append(currency)
    return list(dict.fromkeys(notes))


def _findings_text(findings: pd.DataFrame) -> pd.DataFrame:
    if findings.empty:
        return findings
    return findings[["check", "rows", "message"]]


def has_errors(intake: Intake) -> bool:
    """Tell whether the intake has lint errors or does not reconcile."""
    lint = intake.extras.get("stage_lint")
    lint_errors = lint is not None and bool((lint["level"] == "error").any())
    return lint_errors or not bool(intake.reconciliation()["reconciled"].all())


# Views for the data-quality notebook. Each reads one prepared table.

OUTCOME_LABELS = {"accepted": "Accepted", "rejected": "Rejected", "merged": "Merged"}


def plot_row_outcomes(counts: pd.DataFrame) -> alt.LayerChart:
    """Stacked bars of rows accepted, rejected and merged per table.

    ``counts`` is the ``dq_counts`` table (one row per table). A label at
    the end of each bar gives the counts, such as "299 accepted · 2
    rejected", because a few rejected rows among hundreds draw a bar too
    thin to see. Outcomes of no rows are left out of the label.
    """
    counts = readable_column(counts, "table")
    data = counts.melt(
        id_vars="table",
        value_vars=list(OUTCOME_LABELS),
        var_name="outcome",
        value_name="rows",
    )
    data["outcome"] = data["outcome"].map(OUTCOME_LABELS)
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("table:N", title=None),
            x=alt.X("rows:Q", title="Rows", axis=count_axis("~s")),
            # Below the bars, the legend leaves the right side to the labels.
            color=alt.Color(
                "outcome:N",
                sort=list(OUTCOME_LABELS.values()),
                title="Outcome",
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("table:N", title="Table"),
                alt.Tooltip("outcome:N", title="Outcome"),
                alt.Tooltip("rows:Q", title="Rows", format=",.0f"),
            ],
        )
    )
    labels = (
        alt.Chart(_outcome_labels(counts))
        .mark_text(align="left", dx=4)
        .encode(y=alt.Y("table:N"), x=alt.X("rows:Q"), text="label:N")
    )
    return alt.layer(bars, labels, title="Input rows by outcome")


def _outcome_labels(counts: pd.DataFrame) -> pd.DataFrame:
    """Return each table's bar length (``rows``) and its label of counts."""
    outcomes = counts[list(OUTCOME_LABELS)].astype("int64")
    labels = []
    for _, row in outcomes.iterrows():
        parts = [
            f"{row[outcome]:,} {outcome}" for outcome in OUTCOME_LABELS if row[outcome]
        ]
        labels.append(" · ".join(parts) or "0 rows")
    return pd.DataFrame(
        {
            "table": counts["table"].to_list(),
            "rows": outcomes.sum(axis=1).to_list(),
            "label": labels,
        }
    )


def counts_table(ws: Any) -> object:
    """Return rows read, accepted, rejected and merged per table.

    A table that the adapter derives from other tables' rows shows
    "derived" as its source, because none of its rows is a file row.
    """
    frame = readable_column(ws.table("dq_counts"), "table")
    frame["reconciled"] = frame["reconciled"].map({True: "yes", False: "NO"})
    frame["files"] = [
        "derived" if count == 0 else f"{count:,} {'file' if count == 1 else 'files'}"
        for count in frame["files"]
    ]
    columns = ["table", "files", *frame.columns.drop(["table", "files"])]
    return tables.style_table(
        frame[columns],
        counts=["read", "accepted", "rejected", "merged", "cells_blanked"],
        labels={
            "table": "Table",
            "read": "Rows read",
            "accepted": "Accepted",
            "rejected": "Rejected",
            "merged": "Merged",
            "cells_blanked": "Cells blanked (row kept)",
            "reconciled": "Read = accepted + rejected + merged",
            "files": "Source",
        },
    )


def rejections_table(ws: Any) -> object:
    """Return rejected rows and blanked cells per table and reason.

    Returns a note when intake rejected no row and blanked no cell.
    """
    frame = ws.table("dq_rejections")
    if frame.empty:
        return _note("No input row was rejected and no cell was blanked.")
    return tables.style_table(
        readable_column(frame, "table"),
        counts=["rows"],
        labels={
            "table": "Table",
            "action": "Action",
            "reason": "Reason",
            "rows": "Rows",
        },
        caption=(
            "Every row and cell is listed in rejected_rows.csv. A blanked "
            "cell is an optional value that could not be read; its row is kept."
        ),
    )


def merges_table(ws: Any) -> object:
    """Return merged and suggested accounts, or a note when none."""
    frame = ws.table("dq_merges")
    if frame.empty:
        return _note("No duplicate accounts were merged or suggested.")
    return tables.style_table(
        frame,
        labels={
            "action": "Action",
            "account_id": "Account",
            "name": "Name",
            "into_account_id": "Into account",
            "into_name": "Into name",
            "key": "Matched on",
            "reason": "Reason",
        },
    )


def lint_table(ws: Any) -> object:
    """Return the stage-map findings, or a note when the map is clean."""
    frame = ws.table("dq_stage_lint")
    if frame.empty:
        return _note("The stage map covers every stage; no finding.")
    return tables.style_table(
        frame[["level", "check", "message"]],
        labels={"level": "Level", "check": "Check", "message": "Finding"},
    )


def findings_table(ws: Any) -> object:
    """Return the findings of records kept with a note, or a note without any.

    A finding about the data set as a whole, such as stale data without
    open deals, names no record, so its count shows the missing marker
    rather than 0 and its message explains the finding.
    """
    frame = ws.table("dq_findings")
    if frame.empty:
        return _note("No opportunity needed a data-quality note.")
    frame = frame.assign(
        rows=frame["rows"].astype("Int64").mask(frame["rows"] == 0),
        amount=_finding_amounts(frame, ws.currency),
    )
    columns = ["check", "rows", "amount", "message"]
    styler = tables.style_table(
        frame[columns],
        currency=ws.currency,
        counts=["rows"],
        labels={
            "check": "Check",
            "rows": "Records",
            "amount": "Amount",
            "message": "Finding",
        },
    )
    # The amounts are text, which style_table aligns left, so they are set
    # right-aligned on one line as its money columns are.
    return styler.set_properties(
        subset=["amount"], **{"text-align": "right", "white-space": "nowrap"}
    )


def _finding_amounts(findings: pd.DataFrame, currency: str) -> pd.Series:
    """Return the text of each finding's amount, such as "USD 1,200 plus EUR 500".

    The amount in ``currency`` comes first. Amounts that no rate converts
    follow in their own currencies, because they are known but cannot be
    added to it. A finding with neither shows the missing marker.
    """
    unconverted = pd.Series("", index=findings.index, dtype="object")
    if "unconverted_amount" in findings.columns:
        unconverted = findings["unconverted_amount"].fillna("").astype(str)
    texts = []
    for amount, other in zip(findings["amount"], unconverted, strict=True):
        parts = [] if pd.isna(amount) else [tables.format_money(amount, currency)]
        if other:
            parts.append(other)
        texts.append(" plus ".join(parts) or "–")
    return pd.Series(texts, index=findings.index, dtype="object")


def notes_list(ws: Any) -> HTML:
    """Return every note of the run as a list, each note once.

    The notes are those of the run's index page: what intake assumed or
    changed about the source, such as amounts valued at a list price or
    stand-in creation dates, and what the build left out.
    """
    notes = list(dict.fromkeys(ws.info.get("notes", [])))
    if not notes:
        return _note("The run has no notes.")
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    return HTML(f'<ul class="acctlib-notes">{items}</ul>')


def currency_table(ws: Any) -> object:
    """Return the report currency and the conversion basis of amounts."""
    return tables.style_table(
        ws.table("dq_currency"),
        counts=["opportunities"],
        labels={
            "report_currency": "Report currency",
            "basis": "Converted by",
            "opportunities": "Opportunities",
        },
    )


def account_amounts_table(ws: Any) -> object:
    """Return won amounts per account under the shared-deal rule."""
    frame = ws.table("dq_account_amounts")
    if frame.empty:
        return _note("The source links each deal to at most one account.")
    rule = ws.params.get("shared_deal_split", "first")
    return tables.style_table(
        frame,
        currency=ws.currency,
        money=["won_amount"],
        counts=["shared_deals"],
        labels={
            "account_id": "Account ID",
            "name": "Account",
            "won_amount": "Won amount",
            "shared_deals": "Shared deals",
        },
        caption=(
            f"Shared deals split by the {rule!r} rule; the total counts each deal once."
        ),
    )


def executive_highlights(ws: Any) -> list[HTML]:
    """Return one-line notes on intake quality for the executive summary.

    Input rows are the rows of the input files. The rows of a table that the
    adapter derives from them, such as stage history from deal columns, are
    counted apart, so that no file row counts twice.
    """
    counts = ws.table("dq_counts")
    derived = counts["files"] == 0
    notes = [_describe_input_rows(counts[~derived])]
    notes += [_describe_derived_rows(row) for row in counts[derived].itertuples()]
    notes += describe_unreconciled(counts)
    notes += _describe_missing_stages(ws.table("dq_stage_lint"))
    # An outlier amount can make up most of a headline figure, and a won deal
    # without an amount is missing from bookings, so the summary names them
    # beside those figures rather than only on the data-quality page.
    findings = ws.table("dq_findings")
    if "check" in findings.columns:
        named = findings["check"].isin(
            (OUTLIER_CHECK, WON_WITHOUT_AMOUNT_CHECK, WON_UNCONVERTED_CHECK)
        )
        notes.extend(f"Deals: {message}" for message in findings.loc[named, "message"])
    return [_note(text) for text in notes]


def _describe_missing_stages(lint: pd.DataFrame) -> list[str]:
    """Return the notes that count the stages and stage IDs missing from the map.

    A stage used by both the opportunities and the stage history has a lint
    finding for each, but counts once.
    """
    if lint.empty:
        return []
    errors = lint[lint["level"] == "error"]
    notes = []
    stages = errors.loc[errors["check"] == "unmapped stage", "stage"].nunique()
    if stages:
        verb = "stage is" if stages == 1 else "stages are"
        notes.append(f"{stages} {verb} missing from the stage map.")
    ids = errors.loc[errors["check"] == "unmapped stage id", "stage"].nunique()
    if ids:
        verb = "stage ID is" if ids == 1 else "stage IDs are"
        notes.append(f"{ids} {verb} missing from the stage map.")
    return notes


def _describe_input_rows(counts: pd.DataFrame) -> str:
    read = int(counts["read"].sum())
    files = int(counts["files"].sum())
    rejected = int(counts["rejected"].sum())
    merged = int(counts["merged"].sum())
    blanked = int(counts["cells_blanked"].sum())
    accepted = int(counts["accepted"].sum())
    rows = "input row" if read == 1 else "input rows"
    cells = "cell" if blanked == 1 else "cells"
    accounts = "account" if merged == 1 else "accounts"
    return (
        f"{read:,} {rows} read from {files:,} {'file' if files == 1 else 'files'}: "
        f"{accepted:,} accepted, {rejected:,} rejected and {blanked:,} "
        f"unreadable optional {cells} blanked (listed in rejected_rows.csv), "
        f"{merged:,} duplicate {accounts} merged."
    )


def _describe_derived_rows(row: Any) -> str:
    table = table_in_words(str(row.table))
    rows = "row" if row.read == 1 else "rows"
    text = (
        f"{row.read:,} {table} {rows} derived from the input rows: "
        f"{row.accepted:,} accepted, {row.rejected:,} rejected"
    )
    if row.cells_blanked:
        cells = "cell" if row.cells_blanked == 1 else "cells"
        text += f", {row.cells_blanked:,} unreadable optional {cells} blanked"
    return text + "."


def as_of_warnings(ws: Any) -> list[HTML]:
    """Return a warning for each finding of :func:`check_as_of`.

    The executive summary shows them at its top, because its figures are
    all zero before the data starts, out of date well after it ends, and
    leave out or keep open the records dated after the build day. It also
    shows the findings of :func:`acctlib.stagesources.check_stage_history`,
    because deals counted in a stage that their history does not date, or
    closed on a date other than their ``close_date``, move the headline
    figures. The run's
    index and the data-quality page show the same messages.
    """
    findings = ws.table("dq_findings")
    if "check" not in findings.columns:
        return []
    checks = (
        AS_OF_BEFORE_DATA_CHECK,
        STALE_DATA_CHECK,
        FUTURE_RECORDS_CHECK,
        STAGE_DIFFERS_CHECK,
        CLOSE_UNDATED_CHECK,
        CLOSE_REDATED_CHECK,
    )
    messages = findings.loc[findings["check"].isin(checks), "message"]
    return [
        HTML(f'<p class="acctlib-warning" role="note">{escape(text)}</p>')
        for text in messages
    ]


def _note(text: str) -> HTML:
    return HTML(f'<p class="note">{escape(text)}</p>')
