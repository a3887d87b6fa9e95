"""Data-quality checks that depend on the run's as-of date."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pandas as pd
import pytest

from acctlib import dataquality, engine
from acctlib.intake import load_source
from acctlib.prepare import PrepareContext, store_run_notes
from acctlib.tables import MINUS
from acctlib.workspace import open_workspace
from tests.conftest import small_params
from tests.intake.test_maven import load_export as load_maven_export
from tests.intake.test_maven import write_export as write_maven_export


def _tables(
    created: list[str],
    entered: list[str] | None = None,
    *,
    closed: list[str | None] | None = None,
    categories: list[str] | None = None,
) -> dict:
    """Build opportunities, open-won-open by default, and an optional history."""
    opportunities = pd.DataFrame(
        {
            "created_at": pd.to_datetime(created, utc=True),
            "stage_category": categories or ["open", "won", "open"][: len(created)],
            "amount": [100.0, 250.0, 50.0][: len(created)],
            "close_date": pd.to_datetime(closed or [None] * len(created)),
        }
    )
    tables = {"opportunities": opportunities}
    if entered is not None:
        tables["stage_history"] = pd.DataFrame(
            {"entered_at": pd.to_datetime(entered, utc=True)}
        )
    return tables


def test_data_ending_near_as_of_passes():
    tables = _tables(["2026-05-02", "2026-06-10"])

    assert dataquality.check_freshness(tables, dt.date(2026, 6, 30)) is None


def test_stage_change_counts_as_newest():
    tables = _tables(["2026-01-02", "2026-02-10"], entered=["2026-06-20"])

    assert dataquality.check_freshness(tables, dt.date(2026, 6, 30)) is None


def test_as_of_after_data_is_flagged():
    tables = _tables(
        ["2026-01-02", "2026-05-10", "2026-06-29"], entered=["2026-06-30T23:00:00Z"]
    )

    finding = dataquality.check_freshness(tables, dt.date(2027, 12, 31))

    assert finding is not None
    assert finding["check"] == "data older than as-of"
    assert finding["rows"] == 2
    assert finding["amount"] == 150.0
    assert finding["message"].startswith(
        "The newest opportunity, stage change or close date is dated 30 Jun "
        "2026, 549 days before the as-of date 31 Dec 2027. The 2 open deals may "
        "have closed since."
    )


def test_close_date_counts_as_newest():
    tables = _tables(["2026-01-02", "2026-02-10"], closed=["2026-12-31", "2026-06-20"])

    assert dataquality.check_freshness(tables, dt.date(2026, 6, 30)) is None


def test_open_close_date_is_not_newest():
    tables = _tables(["2026-01-02", "2026-02-10"], closed=["2026-06-20", "2026-02-28"])

    finding = dataquality.check_freshness(tables, dt.date(2026, 6, 30))

    assert finding is not None
    assert "is dated 28 Feb 2026, 122 days before" in finding["message"]


def test_stale_data_without_open_deals():
    tables = _tables(
        ["2018-01-02", "2018-02-10"],
        closed=["2018-11-14", "2018-05-31"],
        categories=["won", "lost"],
    )

    finding = dataquality.check_freshness(tables, dt.date(2018, 12, 31))

    assert finding is not None
    assert finding["rows"] == 0
    # No open deal puts an amount at stake, so the table shows none, not 0.
    assert pd.isna(finding["amount"])
    assert "is dated 14 Nov 2018, 47 days before" in finding["message"]
    assert "No deal is open, but deals created or closed" in finding["message"]
    assert "may have closed since" not in finding["message"]


def test_stale_data_one_open_deal():
    tables = _tables(["2026-01-02", "2026-02-10"], categories=["open", "won"])

    finding = dataquality.check_freshness(tables, dt.date(2026, 6, 30))

    assert finding is not None
    assert finding["rows"] == 1
    assert "The 1 open deal may have closed since." in finding["message"]


def test_stale_days_have_thousands_separator():
    tables = _tables(["2017-12-31", "2017-11-02"])

    finding = dataquality.check_freshness(tables, dt.date(2026, 11, 30))

    assert finding is not None
    assert "is dated 31 Dec 2017, 3,256 days before" in finding["message"]


def test_no_dates_gives_no_finding():
    tables = _tables([None, None])

    assert dataquality.check_freshness(tables, dt.date(2026, 6, 30)) is None


class _StageLintWorkspace:
    """A workspace stub with the tables that executive_highlights reads."""

    def __init__(self, errors: int) -> None:
        self.frames = {
            "dq_counts": pd.DataFrame(
                {
                    "table": ["accounts"],
                    "read": [10],
                    "accepted": [10],
                    "rejected": [0],
                    "cells_blanked": [0],
                    "merged": [0],
                    "reconciled": [True],
                    "files": [1],
                }
            ),
            "dq_stage_lint": pd.DataFrame(
                {
                    "level": ["error"] * errors + ["warning"],
                    "check": ["unmapped stage"] * errors + ["falling probability"],
                    "stage": [f"Stage {n}" for n in range(errors)] + ["Proposal"],
                }
            ),
            "dq_findings": pd.DataFrame(
                {"check": pd.Series(dtype=str), "message": pd.Series(dtype=str)}
            ),
        }

    def table(self, name: str) -> pd.DataFrame:
        return self.frames[name]


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (1, "1 stage is missing from the stage map."),
        (3, "3 stages are missing from the stage map."),
    ],
)
def test_highlights_count_missing_stages(errors, expected):
    notes = dataquality.executive_highlights(_StageLintWorkspace(errors))

    assert f'<p class="note">{expected}</p>' in [note.data for note in notes]


def test_highlights_count_each_missing_stage_once():
    ws = _StageLintWorkspace(0)
    ws.frames["dq_stage_lint"] = pd.DataFrame(
        {
            "level": ["error", "error", "error", "error"],
            "check": [
                "unmapped stage",
                "unmapped stage",
                "unmapped stage",
                "unmapped stage id",
            ],
            # One stage used by opportunities and by the stage history.
            "stage": ["Verbal Commit", "Verbal Commit", "closed won", "1234567"],
        }
    )

    notes = [note.data for note in dataquality.executive_highlights(ws)]

    assert '<p class="note">2 stages are missing from the stage map.</p>' in notes
    assert '<p class="note">1 stage ID is missing from the stage map.</p>' in notes


def test_highlights_name_outliers_and_unpriced_wins():
    ws = _StageLintWorkspace(0)
    outlier = "1 deal with an amount over 10,000 times the median deal amount."
    unpriced = "1 deal won without an amount (nothing added to bookings)."
    unconverted = (
        "1 deal won with EUR 150,000 but no converted amount; bookings leave "
        "out EUR 150,000 not converted to USD."
    )
    ws.frames["dq_findings"] = pd.DataFrame(
        {
            "check": [
                "outlier amount",
                "closed before created",
                "won without amount",
                "won without converted amount",
            ],
            "message": [outlier, "x", unpriced, unconverted],
        }
    )

    notes = [note.data for note in dataquality.executive_highlights(ws)]

    assert f'<p class="note">Deals: {outlier}</p>' in notes
    assert f'<p class="note">Deals: {unpriced}</p>' in notes
    assert f'<p class="note">Deals: {unconverted}</p>' in notes
    assert not any("x</p>" in note for note in notes)


class _FindingsWorkspace:
    """A workspace stub whose ``dq_findings`` are those of ``check_as_of``."""

    def __init__(self, tables: dict, as_of: dt.date) -> None:
        other = {"check": "closed before created", "rows": 1, "message": "Odd deal"}
        findings = [other, *dataquality.check_as_of(tables, as_of)]
        self.frames = {"dq_findings": pd.DataFrame(findings)}

    def table(self, name: str) -> pd.DataFrame:
        return self.frames[name]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (dt.date(2022, 1, 31), "before the first opportunity was created"),
        (dt.date(2027, 12, 31), "days before the as-of date 31 Dec 2027"),
    ],
)
def test_as_of_warnings_outside_data(as_of, expected):
    tables = _tables(["2023-07-10", "2024-01-05"])

    warnings = dataquality.as_of_warnings(_FindingsWorkspace(tables, as_of))

    assert len(warnings) == 1
    assert warnings[0].data.startswith('<p class="acctlib-warning" role="note">')
    assert expected in warnings[0].data


def test_as_of_warnings_name_future_records():
    tables = _tables(["2023-07-10", "2999-01-05"])
    tables["opportunities"]["opportunity_id"] = ["O1", "O2"]

    warnings = dataquality.as_of_warnings(
        _FindingsWorkspace(tables, dt.date(2024, 1, 31))
    )

    assert len(warnings) == 1
    assert "1 deal has a created_at after" in warnings[0].data


def test_as_of_warnings_within_data():
    tables = _tables(["2023-07-10", "2024-01-05"])

    workspace = _FindingsWorkspace(tables, dt.date(2024, 1, 31))

    assert dataquality.as_of_warnings(workspace) == []


def test_as_of_warnings_without_findings():
    workspace = _StageLintWorkspace(errors=0)

    assert dataquality.as_of_warnings(workspace) == []


def test_as_of_warnings_name_redated_closes():
    from acctlib.stagesources import CLOSE_REDATED_CHECK

    workspace = _StageLintWorkspace(errors=0)
    workspace.frames["dq_findings"] = pd.DataFrame(
        {"check": [CLOSE_REDATED_CHECK], "message": ["12 closed deals have ..."]}
    )

    warnings = dataquality.as_of_warnings(workspace)

    assert len(warnings) == 1
    assert "12 closed deals have" in warnings[0].data


def test_highlights_leave_stale_data_to_warning():
    workspace = _StageLintWorkspace(errors=0)
    stale = dataquality.check_freshness(
        _tables(["2023-07-10", "2024-01-05"]), dt.date(2027, 12, 31)
    )
    workspace.frames["dq_findings"] = pd.DataFrame([stale])

    notes = [note.data for note in dataquality.executive_highlights(workspace)]

    assert not any("days before the as-of date" in note for note in notes)


def test_stale_data_logs_warning(small_sample, tmp_path, caplog):
    params = small_params(small_sample, tmp_path, "as_of=2026-11-30")
    intake = load_source(params)
    context = PrepareContext(con=engine.connect(), intake=intake, params=params)

    with caplog.at_level(logging.WARNING, logger="acctlib"):
        dataquality.prepare_data_quality(context)

    warnings = [record for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "days before the as-of date 30 Nov 2026" in warnings[0].getMessage()
    assert context.notes == [warnings[0].getMessage()]


def test_as_of_before_data_is_flagged():
    tables = _tables(["2023-07-10", "2024-01-05"])

    finding = dataquality.check_as_of_before_data(tables, dt.date(2022, 1, 31))

    assert finding is not None
    assert finding["check"] == "as-of before data"
    assert "31 Jan 2022" in finding["message"]
    assert "first opportunity was created on 10 Jul 2023" in finding["message"]
    assert "Set as_of to 10 Jul 2023 or later" in finding["message"]


def test_as_of_within_data_passes():
    tables = _tables(["2023-07-10", "2024-01-05"])

    assert dataquality.check_as_of_before_data(tables, dt.date(2023, 7, 10)) is None


def test_as_of_before_data_without_dates():
    tables = _tables([None, None])

    assert dataquality.check_as_of_before_data(tables, dt.date(2022, 1, 31)) is None


def test_as_of_before_data_logs_warning(small_sample, tmp_path, caplog):
    params = small_params(small_sample, tmp_path, "as_of=2022-01-31")
    intake = load_source(params)
    context = PrepareContext(con=engine.connect(), intake=intake, params=params)

    with caplog.at_level(logging.WARNING, logger="acctlib"):
        dataquality.prepare_data_quality(context)

    warnings = [record.getMessage() for record in caplog.records]
    assert any("before the first opportunity" in message for message in warnings)
    assert any("before the first opportunity" in note for note in context.notes)


def test_currency_note_without_currency_column():
    tables = {"opportunities": pd.DataFrame({"currency": [None, None]})}

    note = dataquality.currency_note(tables, "EUR")

    assert note is not None
    assert "no currency" in note
    assert "in the report currency EUR" in note


def test_currency_note_with_currency_column():
    tables = {"opportunities": pd.DataFrame({"currency": ["USD", None]})}

    assert dataquality.currency_note(tables, "USD") is None


def test_check_report_lists_date_findings(small_sample, tmp_path):
    params = small_params(small_sample, tmp_path, "as_of=2026-09-30")
    intake = load_source(params)

    text = dataquality.format_check_report(intake, as_of=params.as_of)

    assert "data older than as-of" in text
    assert "days before the as-of date 30 Sep 2026" in text


def test_future_records_flagged():
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "created_at": pd.to_datetime(
                [
                    "2026-12-10T00:00",
                    "2026-11-01T00:00",
                    "2026-11-01T00:00",
                    "2026-12-06T23:00",
                ],
                utc=True,
            ),
            "stage_category": ["open", "won", "open", "open"],
            "amount": [100.0, 250.0, 50.0, 10.0],
            "close_date": pd.to_datetime(
                ["2027-02-01", "2027-01-10", "2027-03-01", None]
            ),
        }
    )
    tables = {
        "opportunities": opportunities,
        "stage_history": pd.DataFrame(
            {
                "opportunity_id": ["O3", "O3"],
                "entered_at": pd.to_datetime(["2026-12-20", "2026-12-06"], utc=True),
            }
        ),
        "touchpoints": pd.DataFrame(
            {
                "touch_id": ["T9", "T2", "T1"],
                "occurred_at": pd.to_datetime(
                    ["2026-12-07", "2027-01-01", "2026-12-01"], utc=True
                ),
            }
        ),
    }

    findings = dataquality.check_future_records(tables, dt.date(2026, 12, 6))

    assert [finding["rows"] for finding in findings] == [1, 1, 1, 2]
    assert {finding["check"] for finding in findings} == {"dated after today"}
    created, closed, stages, touches = (finding["message"] for finding in findings)
    assert created.startswith("1 deal has a created_at after 06 Dec 2026")
    assert "first is O1 with created_at 10 Dec 2026" in created
    assert "count them as open until that date" in closed
    assert "first is O2 with close_date 10 Jan 2027" in closed
    assert findings[1]["amount"] == 250.0
    assert stages.startswith("1 stage change is dated after 06 Dec 2026")
    assert "ignore it before that date" in stages
    assert "the first, of deal O3, has entered_at 20 Dec 2026" in stages
    assert "Correct entered_at in the stage history export." in stages
    assert touches.startswith("2 touchpoints are dated after 06 Dec 2026")
    assert "ignore them before that date" in touches
    assert "the first, touch T2, has occurred_at 01 Jan 2027" in touches


def test_records_up_to_today_pass():
    tables = _tables(["2026-12-06T23:59"], ["2026-12-06"])

    assert dataquality.check_future_records(tables, dt.date(2026, 12, 6)) == []


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (
            1,
            "3 input rows read from 1 file: 1 accepted, 1 rejected and 1 "
            "unreadable optional cell blanked (listed in rejected_rows.csv), 1 "
            "duplicate account merged.",
        ),
        (
            2,
            "6 input rows read from 2 files: 2 accepted, 2 rejected and 2 "
            "unreadable optional cells blanked (listed in rejected_rows.csv), 2 "
            "duplicate accounts merged.",
        ),
    ],
)
def test_highlights_counts_agree_in_number(count, expected):
    ws = _StageLintWorkspace(0)
    ws.frames["dq_counts"] = pd.DataFrame(
        {
            "table": ["accounts"],
            "read": [3 * count],
            "accepted": [count],
            "rejected": [count],
            "cells_blanked": [count],
            "merged": [count],
            "reconciled": [True],
            "files": [count],
        }
    )

    notes = [note.data for note in dataquality.executive_highlights(ws)]

    assert f'<p class="note">{expected}</p>' in notes


def _chart_labels(chart) -> dict[str, str]:
    """Return the text label of each table in a row-outcome chart."""
    spec = chart.to_dict()
    texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert len(texts) == 1
    rows = spec["datasets"][texts[0]["data"]["name"]]
    return {row["table"]: row["label"] for row in rows}


def test_row_outcomes_label_small_counts():
    counts = pd.DataFrame(
        {
            "table": ["accounts", "touchpoints", "revenue"],
            "read": [32, 301, 0],
            "accepted": [30, 299, 0],
            "rejected": [1, 2, 0],
            "merged": [1, 0, 0],
        }
    )

    labels = _chart_labels(dataquality.plot_row_outcomes(counts))

    assert labels["Accounts"] == "30 accepted · 1 rejected · 1 merged"
    assert labels["Touchpoints"] == "299 accepted · 2 rejected"
    assert labels["Revenue"] == "0 rows"


def test_counts_table_names_tables_in_words():
    counts = pd.DataFrame(
        {
            "table": ["stage_history", "touchpoints"],
            "read": [5, 7],
            "accepted": [5, 7],
            "rejected": [0, 0],
            "merged": [0, 0],
            "cells_blanked": [0, 0],
            "reconciled": [True, True],
            "files": [1, 0],
        }
    )
    ws = SimpleNamespace(table=lambda name: counts.copy())

    html = dataquality.counts_table(ws).to_html()

    assert ">Stage history<" in html
    assert ">Touchpoints<" in html
    assert "stage_history" not in html


def test_rejections_table_names_tables_in_words():
    rejections = pd.DataFrame(
        {
            "table": ["stage_history"],
            "action": ["row rejected"],
            "reason": ["missing entered_at"],
            "rows": [2],
        }
    )
    ws = SimpleNamespace(table=lambda name: rejections.copy())

    html = dataquality.rejections_table(ws).to_html()

    assert ">Stage history<" in html


def test_findings_table_shows_no_zero_count():
    findings = pd.DataFrame(
        {
            "check": ["closed before created", "data older than as-of"],
            "rows": [1, 0],
            "amount": [float("nan"), float("nan")],
            "message": ["1 deal with a close date before ...", "No deal is open."],
        }
    )
    ws = SimpleNamespace(currency="BRL", table=lambda name: findings)

    html = dataquality.findings_table(ws).to_html()

    assert ">0<" not in html
    assert "BRL 0" not in html
    assert ">1<" in html


def test_findings_table_shows_unconverted_amounts():
    findings = pd.DataFrame(
        {
            "check": ["won without converted amount", "won without converted amount"],
            "rows": [1, 3],
            "amount": [float("nan"), 312_000.0],
            "unconverted_amount": ["EUR 12,500", "GBP 150,000"],
            "message": ["1 deal won with EUR 12,500 ...", "3 deals won with ..."],
        }
    )
    ws = SimpleNamespace(currency="USD", table=lambda name: findings)

    html = dataquality.findings_table(ws).to_html()

    assert ">EUR 12,500<" in html
    assert ">USD 312,000 plus GBP 150,000<" in html
    assert ">–<" not in html


def test_findings_table_keeps_report_amounts():
    findings = pd.DataFrame(
        {
            "check": ["negative won amount", "data older than as-of"],
            "rows": [2, 0],
            "amount": [-1_500.0, float("nan")],
            "message": ["2 deals won with a negative amount ...", "No deal is open."],
        }
    )
    ws = SimpleNamespace(currency="USD", table=lambda name: findings)

    html = dataquality.findings_table(ws).to_html()

    assert f">USD {MINUS}1,500<" in html
    assert ">–<" in html


def test_highlights_name_unreconciled_table():
    ws = _StageLintWorkspace(0)
    ws.frames["dq_counts"] = pd.DataFrame(
        {
            "table": ["stage_history"],
            "read": [33],
            "accepted": [31],
            "rejected": [1],
            "cells_blanked": [0],
            "merged": [0],
            "reconciled": [False],
            "files": [1],
        }
    )

    notes = [note.data for note in dataquality.executive_highlights(ws)]

    assert any("stage history table do not reconcile" in note for note in notes)


def test_notes_list_shows_each_note_once():
    workspace = SimpleNamespace(
        info={
            "notes": [
                "Amounts at list price.",
                "Dated <export>.",
                "Amounts at list price.",
            ]
        }
    )

    html = dataquality.notes_list(workspace).data

    assert html.count("<li>") == 2
    assert "<li>Amounts at list price.</li>" in html
    assert "<li>Dated &lt;export&gt;.</li>" in html


def test_notes_list_without_notes():
    html = dataquality.notes_list(SimpleNamespace(info={"notes": []})).data
    assert "The run has no notes." in html


def test_stored_run_notes_reach_workspace(tmp_path):
    path = tmp_path / "workspace.duckdb"
    con = engine.connect(path)
    engine.write_table(
        con,
        "run_info",
        pd.DataFrame({"key": ["notes", "profile"], "value": ['["first"]', '"x"']}),
    )
    con.disconnect()

    store_run_notes(path, ["first", "Section 03 is left out."])

    workspace = open_workspace(path)
    try:
        assert workspace.info["notes"] == ["first", "Section 03 is left out."]
        assert workspace.info["profile"] == "x"
    finally:
        workspace.con.disconnect()


def test_highlights_count_derived_rows_apart(tmp_path):
    """Stage history derived from the Maven pipeline does not count as input."""
    intake = load_maven_export(write_maven_export(tmp_path))
    ws = _StageLintWorkspace(0)
    ws.frames["dq_counts"] = dataquality.summarize_intake(intake)["dq_counts"]

    notes = [note.data for note in dataquality.executive_highlights(ws)]

    # accounts.csv has 2 rows and sales_pipeline.csv 5; products.csv and
    # sales_teams.csv are price and team lists, not tables.
    assert notes[0] == (
        '<p class="note">7 input rows read from 2 files: 7 accepted, 0 rejected '
        "and 0 unreadable optional cells blanked (listed in rejected_rows.csv), "
        "0 duplicate accounts merged.</p>"
    )
    assert notes[1] == (
        '<p class="note">7 stage history rows derived from the input rows: '
        "7 accepted, 0 rejected.</p>"
    )


def test_check_report_counts_derived_rows_apart(tmp_path):
    intake = load_maven_export(write_maven_export(tmp_path))

    report = dataquality.format_check_report(intake)

    assert report.splitlines()[0] == (
        "Profile maven: 7 rows read from 2 files, 7 accepted, 0 rejected, "
        "0 merged (reconciled). 7 stage_history rows derived from them, "
        "7 accepted, 0 rejected. Cells of optional columns blanked in "
        "accepted rows: 0."
    )
