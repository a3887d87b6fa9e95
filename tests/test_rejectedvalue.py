"""What rejected opportunity rows carry, by stage category and currency."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from acctlib import dataquality, engine, rejectedvalue
from acctlib.intake import load_source
from acctlib.intake.parsers import parse_id
from acctlib.intake.quarantine import Quarantine
from acctlib.prepare import PrepareContext
from tests.conftest import small_params
from tests.intake.helpers import load, mapped_profile, write_files

STAGE_MAP = {
    "Qualification": {"category": "open"},
    "Negotiation": {"category": "open"},
    "Closed Won": {"category": "won"},
    "Closed Lost": {"category": "lost"},
}
FILE = "opportunities.csv"


def _quarantine(*rows: dict, blanked: tuple[dict, ...] = ()) -> pd.DataFrame:
    """Return a quarantine that rejects ``rows`` and blanks a cell of ``blanked``.

    Each item is a raw record, placed on the next 1-based row of one file.
    """
    quarantine = Quarantine()
    for number, record in enumerate(rows, start=1):
        quarantine.reject(
            "opportunities", FILE, [number], "stage", ["x"], "reason", [record]
        )
    for number, record in enumerate(blanked, start=len(rows) + 1):
        quarantine.blank(
            "opportunities", FILE, [number], "amount", ["x"], "reason", [record]
        )
    return quarantine.to_frame()


def _deal(
    opportunity_id: str,
    stage: str,
    amount: str = "",
    amount_original: str = "",
    currency: str = "",
) -> dict:
    return {
        "opportunity_id": opportunity_id,
        "stage": stage,
        "amount": amount,
        "amount_original": amount_original,
        "currency": currency,
    }


def _summarize(rejected: pd.DataFrame, **keywords) -> pd.DataFrame:
    return rejectedvalue.summarize_rejected_opportunities(
        rejected, STAGE_MAP, "USD", **keywords
    )


def test_summary_splits_by_stage_category():
    rejected = _quarantine(
        _deal("O1", "Closed Won", "18000"),
        _deal("O2", "closed  won", "22000"),
        _deal("O3", "Qualification", "10000"),
        _deal("O4", "Negotation", "50000"),
        _deal("O5", "Closed Lost", "9000"),
    )

    summary = _summarize(rejected)

    assert list(summary.columns) == rejectedvalue.SUMMARY_COLUMNS
    assert summary["category"].to_list() == ["won", "open", "lost", "unknown stage"]
    assert summary["currency"].to_list() == ["USD"] * 4
    assert summary["opportunities"].to_list() == [2, 1, 1, 1]
    assert summary["amount"].to_list() == [40000.0, 10000.0, 9000.0, 50000.0]


def test_summary_column_types():
    summary = _summarize(_quarantine(_deal("O1", "Closed Won", "1")))

    assert summary["opportunities"].dtype == "int64"
    assert summary["amount"].dtype == "float64"


def test_summary_empty_without_rejected_deals():
    quarantine = Quarantine()
    quarantine.reject("accounts", "accounts.csv", [1], "name", ["x"], "reason", [{}])

    summary = _summarize(quarantine.to_frame())

    assert summary.empty
    assert list(summary.columns) == rejectedvalue.SUMMARY_COLUMNS
    assert summary["opportunities"].dtype == "int64"


def test_blanked_cells_are_not_rejected_deals():
    rejected = _quarantine(blanked=(_deal("O1", "Closed Won", "5"),))

    assert _summarize(rejected).empty


def test_supplied_category_wins_over_stage():
    deal = {**_deal("O1", "Something new", "700"), "stage_category": "Won"}

    summary = _summarize(_quarantine(deal))

    assert summary["category"].to_list() == ["won"]


def test_empty_stage_is_unknown():
    summary = _summarize(_quarantine(_deal("O1", " ", "700")))

    assert summary["category"].to_list() == ["unknown stage"]


def test_opportunity_counts_once_per_id():
    rejected = _quarantine(
        _deal("O1", "Closed Won", "100"),
        _deal("O1", "Closed Won", "100"),
        _deal("", "Closed Won", "5"),
        _deal("", "Closed Won", "7"),
    )

    summary = _summarize(rejected)

    assert summary["opportunities"].to_list() == [3]
    assert summary["amount"].to_list() == [112.0]


def test_blank_row_is_no_opportunity():
    blank = {**_deal("", "", "", "", ""), "type": "new_business"}
    rejected = _quarantine(blank, _deal("O1", "Closed Won", "5"))

    summary = _summarize(rejected)

    assert summary["opportunities"].to_list() == [1]


def test_repeat_of_accepted_deal_left_out():
    rejected = _quarantine(
        _deal("O1", "Closed Won", "100"), _deal("O2", "Closed Won", "200")
    )

    summary = _summarize(rejected, accepted_ids=pd.Series(["O1"]))

    assert summary["opportunities"].to_list() == [1]
    assert summary["amount"].to_list() == [200.0]


def test_rejected_rows_counted_by_kind():
    blank = {**_deal("", "", "", "", ""), "type": "new_business"}
    rejected = _quarantine(
        _deal("O1", "Closed Won", "100"),
        _deal("O2", "Closed Won", "200"),
        _deal("O2", "Closed Won", "200"),
        blank,
        _deal("", "Closed Won", "5"),
    )

    counts = rejectedvalue.count_rejected_rows(rejected, accepted_ids=["O1"])

    assert counts["kind"].to_list() == list(rejectedvalue.ROW_KINDS)
    assert counts["rows"].to_list() == [2, 1, 1, 1]
    assert counts["rows"].dtype == "int64"


def test_derived_deals_of_one_line_count_apart():
    quarantine = Quarantine()
    for opportunity_id in ("O1", "O2"):
        record = _deal(opportunity_id, "Closed Won", "100")
        quarantine.reject(
            "opportunities", FILE, [4], "stage", ["x"], "reason", [record]
        )
    rejected = quarantine.to_frame()

    counts = rejectedvalue.count_rejected_rows(rejected)
    summary = _summarize(rejected)

    assert counts["rows"].sum() == quarantine.count("opportunities")
    assert counts["rows"].to_list() == [2, 0, 0, 0]
    assert summary["opportunities"].to_list() == [2]


def test_rejected_rows_empty_without_rejections():
    counts = rejectedvalue.count_rejected_rows(Quarantine().to_frame())

    assert counts["kind"].to_list() == list(rejectedvalue.ROW_KINDS)
    assert counts["rows"].to_list() == [0, 0, 0, 0]


def test_salesforce_ids_match_accepted_form():
    short = "0065g00000AbCdE"
    full = str(parse_id(pd.Series([short]), id_format="salesforce").values.iloc[0])
    options = {FILE: {"opportunity_id": {"id_format": "salesforce"}}}
    rejected = _quarantine(_deal(short, "Closed Won", "100"))

    summary = _summarize(rejected, accepted_ids=[full], options=options)

    assert len(full) == 18
    assert summary.empty


def test_original_amount_in_report_currency_counts():
    rejected = _quarantine(
        _deal("O1", "Closed Won", "", "300", "USD"),
        _deal("O2", "Closed Won", "oops", "400", ""),
    )

    summary = _summarize(rejected)

    assert summary["currency"].to_list() == ["USD"]
    assert summary["amount"].to_list() == [700.0]


def test_other_currency_is_not_converted():
    rejected = _quarantine(
        _deal("O1", "Closed Won", "1000"),
        _deal("O2", "Closed Won", "", "45000", "eur"),
    )

    summary = _summarize(rejected)

    assert summary["currency"].to_list() == ["USD", "EUR"]
    assert summary["amount"].to_list() == [1000.0, 45000.0]


def test_unreadable_amount_has_no_currency():
    rejected = _quarantine(
        _deal("O1", "Closed Won", "1000"),
        _deal("O2", "Closed Won", "n/a", "", "USD"),
    )

    summary = _summarize(rejected)

    assert summary["currency"].to_list() == ["USD", ""]
    assert summary["opportunities"].to_list() == [1, 1]
    assert math.isnan(summary["amount"].iloc[1])


def test_amounts_read_with_file_options():
    deal = _deal("O1", "Closed Won", "1.234,50")
    options = {FILE: {"amount": {"locale": "de-DE"}}}

    plain = _summarize(_quarantine(deal))
    localized = _summarize(_quarantine(deal), options=options)

    assert plain["currency"].to_list() == [""]
    assert localized["amount"].to_list() == [1234.5]


def test_currency_mark_in_amount_names_currency():
    deal = _deal("O1", "Closed Won", "€6,500.00")
    options = {FILE: {"amount": {"notation": "export"}}}

    summary = _summarize(_quarantine(deal), options=options)

    assert summary["currency"].to_list() == ["EUR"]
    assert summary["amount"].to_list() == [6500.0]


def _summary(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=rejectedvalue.SUMMARY_COLUMNS)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [("won", "USD", 2, 40000.0), ("open", "USD", 2, 60000.0)],
            "4 rejected opportunities worth USD 100,000 (won USD 40,000, open "
            "USD 60,000) are left out of these figures; see Data quality.",
        ),
        (
            [("lost", "USD", 1, 9000.0)],
            "1 rejected opportunity worth USD 9,000 (lost USD 9,000) is left out "
            "of these figures; see Data quality.",
        ),
        (
            [("won", "USD", 1, 100.0), ("won", "EUR", 1, 45000.0)],
            "2 rejected opportunities worth USD 100 (won USD 100) plus EUR 45,000 "
            "not converted to USD are left out of these figures; see Data quality.",
        ),
        (
            [("open", "GBP", 1, 5.0), ("open", "EUR", 1, 7.0)],
            "2 rejected opportunities worth EUR 7 and GBP 5 not converted to USD "
            "are left out of these figures; see Data quality.",
        ),
        (
            [("won", "USD", 1, 100.0), ("won", "", 2, float("nan"))],
            "3 rejected opportunities worth USD 100 (won USD 100) are left out of "
            "these figures; see Data quality. The amount of 2 of them could not "
            "be read.",
        ),
        (
            [("unknown stage", "", 1, float("nan"))],
            "1 rejected opportunity with no readable amount is left out of these "
            "figures; see Data quality.",
        ),
    ],
)
def test_describe_rejected_value(rows, expected):
    assert rejectedvalue.describe_rejected_value(_summary(rows), "USD") == expected


def _row_counts(*rows: int) -> pd.DataFrame:
    return pd.DataFrame({"kind": rejectedvalue.ROW_KINDS, "rows": rows})


@pytest.mark.parametrize(
    ("row_counts", "expected"),
    [
        (
            (4, 0, 0, 0),
            "4 rejected opportunities worth USD 100,000 (won USD 40,000, open "
            "USD 60,000) are left out of these figures; see Data quality.",
        ),
        (
            (4, 1, 0, 0),
            "5 opportunity rows were rejected: 4 opportunities worth USD 100,000 "
            "(won USD 40,000, open USD 60,000) are left out of these figures, and "
            "1 row repeats an accepted opportunity; see Data quality.",
        ),
        (
            (4, 2, 1, 1),
            "8 opportunity rows were rejected: 4 opportunities worth USD 100,000 "
            "(won USD 40,000, open USD 60,000) are left out of these figures, and "
            "2 rows repeat accepted opportunities, 1 row repeats a rejected "
            "opportunity and 1 row is blank; see Data quality.",
        ),
    ],
)
def test_describe_counts_rejected_rows(row_counts, expected):
    rows = [("won", "USD", 2, 40000.0), ("open", "USD", 2, 60000.0)]

    sentence = rejectedvalue.describe_rejected_value(
        _summary(rows), "USD", row_counts=_row_counts(*row_counts)
    )

    assert sentence == expected


def test_describe_blank_row_unreadable_amount():
    rows = [("open", "", 1, float("nan"))]

    sentence = rejectedvalue.describe_rejected_value(
        _summary(rows), "USD", row_counts=_row_counts(1, 0, 0, 2)
    )

    assert sentence == (
        "3 opportunity rows were rejected: 1 opportunity with no readable amount "
        "is left out of these figures, and 2 rows are blank; see Data quality."
    )


def test_describe_nothing_rejected():
    empty = rejectedvalue.summarize_rejected_opportunities(
        Quarantine().to_frame(), STAGE_MAP, "USD"
    )

    assert rejectedvalue.describe_rejected_value(empty, "USD") is None


@pytest.mark.parametrize(
    ("row_counts", "expected"),
    [
        (
            (0, 2, 0, 1),
            "3 opportunity rows were rejected, but no opportunity is left out of "
            "these figures: 2 rows repeat accepted opportunities and 1 row is "
            "blank; see Data quality.",
        ),
        (
            (0, 1, 0, 0),
            "1 opportunity row was rejected, but no opportunity is left out of "
            "these figures: 1 row repeats an accepted opportunity; see Data "
            "quality.",
        ),
        (
            (0, 0, 0, 2),
            "2 opportunity rows were rejected, but no opportunity is left out of "
            "these figures: 2 rows are blank; see Data quality.",
        ),
    ],
)
def test_describe_rows_without_value(row_counts, expected):
    sentence = rejectedvalue.describe_rejected_value(
        _summary([]), "USD", row_counts=_row_counts(*row_counts)
    )

    assert sentence == expected


def test_describe_repeats_and_blank_rows_only():
    blank = {**_deal("", "", "", "", ""), "type": "new_business"}
    rejected = _quarantine(_deal("O1", "Closed Won", "100"), blank)
    accepted = ["O1"]

    sentence = rejectedvalue.describe_rejected_value(
        _summarize(rejected, accepted_ids=accepted),
        "USD",
        row_counts=rejectedvalue.count_rejected_rows(rejected, accepted),
    )

    assert sentence == (
        "2 opportunity rows were rejected, but no opportunity is left out of "
        "these figures: 1 row repeats an accepted opportunity and 1 row is "
        "blank; see Data quality."
    )


def test_describe_sliced_run():
    rows = [("won", "USD", 1, 100.0)]

    sentence = rejectedvalue.describe_rejected_value(
        _summary(rows), "USD", "owner Fatima Cohen"
    )

    assert sentence is not None
    assert sentence.startswith("1 rejected opportunity worth USD 100 (won USD 100)")
    assert sentence.endswith(
        "Rejected rows are counted for the whole company, not only the accounts "
        "of owner Fatima Cohen."
    )


class _Workspace:
    currency = "USD"

    def __init__(
        self,
        summary: pd.DataFrame,
        slice_label: str = "",
        row_counts: pd.DataFrame | None = None,
    ) -> None:
        count = int(summary["opportunities"].sum()) if not summary.empty else 0
        self.tables = {
            "dq_rejected_value": summary,
            "dq_rejected_rows": (
                _row_counts(count, 0, 0, 0) if row_counts is None else row_counts
            ),
        }
        self.headline = {"slice": slice_label} if slice_label else {}

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def test_executive_note_only_when_rejected():
    rows = [("won", "USD", 1, 100.0)]

    notes = rejectedvalue.executive_note(_Workspace(_summary(rows)))
    empty = rejectedvalue.executive_note(_Workspace(_summary([])))

    assert len(notes) == 1
    assert notes[0].data.startswith('<p class="note">1 rejected opportunity worth')
    assert empty == []


def test_executive_note_counts_repeated_rows():
    summary = _summary([("won", "USD", 1, 100.0)])
    workspace = _Workspace(summary, row_counts=_row_counts(1, 1, 0, 0))

    notes = rejectedvalue.executive_note(workspace)

    assert notes[0].data.startswith(
        '<p class="note">2 opportunity rows were rejected: 1 opportunity worth'
    )
    assert "1 row repeats an accepted opportunity" in notes[0].data


def test_executive_note_counts_rows_without_value():
    workspace = _Workspace(
        _summary([]), "team East", row_counts=_row_counts(0, 1, 0, 1)
    )

    notes = rejectedvalue.executive_note(workspace)

    assert len(notes) == 1
    assert notes[0].data.startswith(
        '<p class="note">2 opportunity rows were rejected, but no opportunity is '
        "left out of these figures: 1 row repeats an accepted opportunity and 1 "
        "row is blank; see Data quality."
    )
    assert "not only the accounts of team East." in notes[0].data


def test_executive_note_names_slice():
    workspace = _Workspace(_summary([("won", "USD", 1, 100.0)]), "team East")

    notes = rejectedvalue.executive_note(workspace)

    assert "not only the accounts of team East." in notes[0].data


def test_page_table_shows_unreadable_amounts():
    rows = [("won", "USD", 1, 100.0), ("won", "", 1, float("nan"))]

    page = rejectedvalue.rejected_value_table(_Workspace(_summary(rows))).to_html()

    assert "USD 100" in page
    assert "Won" in page
    assert "not readable" in page
    assert "Stage category" in page


def test_page_table_names_repeat_and_blank_rows():
    workspace = _Workspace(_summary([]), row_counts=_row_counts(0, 2, 0, 1))

    note = rejectedvalue.rejected_value_table(workspace).data

    assert ">No opportunity was rejected: 2 rows repeat accepted" in note
    assert "and 1 row is blank, so every opportunity is in the figures." in note


def test_page_table_without_rejected_rows():
    workspace = _Workspace(_summary([]))

    note = rejectedvalue.rejected_value_table(workspace).data

    assert note.endswith(">No opportunity was rejected.</p>")


MAPPED_ACCOUNTS = "Account ID,Account Name\nA1,Acme\n"


def test_intake_reads_rejected_amounts_with_locale(tmp_path):
    deals = (
        "Opportunity ID,Account ID,Stage,Amount (converted),Amount,Currency,"
        "Close Date,Created\n"
        'O1,A1,Closed Won,"1.000,00","1.000,00",USD,2024-06-01,2024-01-01\n'
        'O2,A9,Closed Won,"2.500,50","2.500,50",USD,2024-06-01,2024-01-01\n'
    )
    files = {"accounts.csv": MAPPED_ACCOUNTS, "opportunities.csv": deals}

    intake = load(tmp_path, files, mapped_profile(locale="de-DE"))
    summary = dataquality.summarize_intake(intake)["dq_rejected_value"]

    assert summary["opportunities"].to_list() == [1]
    assert summary["amount"].to_list() == [2500.5]


CANONICAL_ACCOUNTS = (
    "account_id,name,industry,country,region,employees,annual_revenue,owner,"
    "created_at\nA1,Acme,Software,US,North America,10,,Dana,2024-01-01\n"
)
CANONICAL_DEALS = (
    "opportunity_id,account_id,name,type,stage,amount,created_at,close_date\n"
    "O1,A1,One,new_business,Closed Won,100,2024-01-01,2024-03-01\n"
    "O2,A1,Two,new_business,Closed Won,200,15.06.2024,2024-06-30\n"
    "O3,A9,Three,new_business,Qualification,300,2024-01-01,2024-12-01\n"
)


def test_prepare_stores_rejected_value(tmp_path):
    data = write_files(
        tmp_path / "data",
        {"accounts.csv": CANONICAL_ACCOUNTS, "opportunities.csv": CANONICAL_DEALS},
    )
    params = small_params(data, tmp_path, "as_of=2024-12-31")
    context = PrepareContext(
        con=engine.connect(), intake=load_source(params), params=params
    )

    dataquality.prepare_data_quality(context)
    stored = context.con.table("dq_rejected_value").to_pandas()

    assert stored["category"].to_list() == ["won", "open"]
    assert stored["opportunities"].to_list() == [1, 1]
    assert stored["amount"].to_list() == [200.0, 300.0]


def test_rejected_rows_add_up_to_intake_count(tmp_path):
    deals = (
        CANONICAL_DEALS
        + "O1,A1,One again,new_business,Closed Won,100,bad date,2024-03-01\n"
        + ",,,,,,,\n"
    )
    data = write_files(
        tmp_path / "data",
        {"accounts.csv": CANONICAL_ACCOUNTS, "opportunities.csv": deals},
    )
    params = small_params(data, tmp_path, "as_of=2024-12-31")
    intake = load_source(params)

    parts = dataquality.summarize_intake(intake)
    counts = intake.counts().set_index("table")
    rows = parts["dq_rejected_rows"].set_index("kind")["rows"]

    assert int(rows.sum()) == int(counts.loc["opportunities", "rejected"])
    assert rows[rejectedvalue.OPPORTUNITY_ROW] == 2
    assert rows[rejectedvalue.ACCEPTED_REPEAT_ROW] == 1
    assert rows[rejectedvalue.BLANK_ROW] == 1


def test_ambiguous_amount_is_not_read():
    deal = _deal("O1", "Closed Won", "6,500")
    options = {FILE: {"amount": {"notation": "export"}}}

    summary = _summarize(_quarantine(deal), options=options)

    assert summary["currency"].to_list() == [""]
