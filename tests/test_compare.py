"""Comparing two runs from their manifests and prepared tables."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from acctlib import compare
from acctlib.forecast.state import count_close_date_rules
from acctlib.verify import InputChangedError, check_inputs


def write_run(folder, *, params, headline, tables, sha="a" * 64):
    folder.mkdir(parents=True)
    manifest = {
        "params": params,
        "headline": headline,
        "inputs": [{"table": "accounts", "sha256": sha, "rows": 3, "path": "x"}],
        "generated_at": "2026-07-01T00:00:00Z",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "tables").mkdir()
    for name, frame in tables.items():
        frame.to_parquet(folder / "tables" / f"{name}.parquet", index=False)
    return compare.load_run(folder)


def account_map(statuses, values):
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "name": ["Acme", "Beta", "Gamma"],
            "status": statuses,
            "value": values,
            "is_target": [True, False, True],
        }
    )


@pytest.fixture
def two_runs(tmp_path):
    first = write_run(
        tmp_path / "2026-06-30",
        params={"influence_window_days": 90, "work_dir": "/a"},
        headline={"open_pipeline": 100.0, "accounts_by_status": {"customer": 1}},
        tables={
            "account_map": account_map(["customer", "lost", "prospect"], [1.0, 2, 3]),
            "weekly": pd.DataFrame({"week": [1, 2], "touches": [5, 6]}),
        },
    )
    second = write_run(
        tmp_path / "2026-06-30--short",
        params={"influence_window_days": 30, "work_dir": "/b"},
        headline={"open_pipeline": 100.0, "accounts_by_status": {"customer": 2}},
        tables={
            "account_map": account_map(
                ["customer", "customer", "prospect"], [1.0, 2, 4]
            ),
            "weekly": pd.DataFrame({"week": [2, 1], "touches": [6, 5]}),
            "tiers": pd.DataFrame({"account_id": ["A1"], "tier": ["1"]}),
        },
        sha="b" * 64,
    )
    return first, second


def test_compare_lists_parameter_and_input_changes(two_runs):
    comparison = compare.compare_runs(*two_runs)
    assert comparison.params == [("influence_window_days", 90, 30)]
    assert [name for name, _, _ in comparison.inputs] == ["accounts"]
    assert comparison.headline == [("accounts_by_status.customer", 1.0, 2.0)]


def test_compare_tables_account_by_account(two_runs):
    comparison = compare.compare_runs(*two_runs)
    by_table = {item["table"]: item for item in comparison.tables}
    assert set(by_table) == {"account_map", "tiers"}
    assert by_table["tiers"]["summary"] == "missing in the first run"
    changes = by_table["account_map"]["changes"]
    assert changes[["account_id", "column", "a", "b"]].values.tolist() == [
        ["A2", "status", "lost", "customer"],
        ["A3", "value", "3", "4"],
    ]
    assert by_table["account_map"]["summary"] == (
        "2 accounts differ in status (1), value (1)"
    )


def test_status_moves_keep_categorical_columns(two_runs):
    moves = compare.status_moves(compare.compare_runs(*two_runs))
    assert moves[["name", "column", "a", "b"]].values.tolist() == [
        ["Beta", "status", "lost", "customer"]
    ]


def test_identical_runs_have_no_differences(two_runs, tmp_path):
    first, _ = two_runs
    comparison = compare.compare_runs(first, first)
    assert comparison.identical_results
    assert comparison.differences() == []


def test_rows_in_other_order_are_equal():
    a = pd.DataFrame({"week": [1, 2], "touches": [5.0, 6.0]})
    assert compare.compare_tables("weekly", a, a.iloc[::-1]) is None
    changed = a.assign(touches=[5.0, 7.0])
    summary = compare.compare_tables("weekly", a, changed)["summary"]
    assert summary == "1 of the 2 shared rows differs in touches (1)"


def test_text_and_html_escape_names(two_runs, tmp_path):
    first, second = two_runs
    second.tables["account_map"].loc[1, "name"] = "<b>Beta</b>"
    comparison = compare.compare_runs(first, second)
    text = compare.format_text(comparison)
    assert "influence_window_days" in text
    assert "Accounts that moved" in text
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    assert "<b>Beta</b>" not in page
    assert "Beta" in page
    assert "<script" not in page


def test_load_run_requires_manifest(tmp_path):
    with pytest.raises(compare.RunError, match="manifest.json not found"):
        compare.load_run(tmp_path)


def test_check_inputs_rejects_changed_file(tmp_path):
    data = tmp_path / "accounts.csv"
    data.write_text("account_id\nA1\n")
    manifest = {"inputs": [{"path": str(data), "sha256": "0" * 64}]}
    with pytest.raises(InputChangedError, match=r"accounts\.csv changed"):
        check_inputs(manifest)
    missing = {"inputs": [{"path": str(tmp_path / "gone.csv"), "sha256": "0"}]}
    with pytest.raises(InputChangedError, match=r"gone\.csv not found"):
        check_inputs(missing)


def test_verify_rejects_replacing_run(tmp_path):
    from acctlib.errors import AcctlibError
    from acctlib.verify import verify_run

    run_dir = tmp_path / "reports" / "2026-06-30"
    run_dir.mkdir(parents=True)
    manifest = {"params": {"as_of": "2026-06-30"}, "inputs": [], "command": "x"}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AcctlibError, match="would replace"):
        verify_run(run_dir, tmp_path)
    assert (run_dir / "manifest.json").is_file()


def test_verification_lists_result_differences(two_runs):
    from acctlib.verify import Verification

    comparison = compare.compare_runs(*two_runs)
    verification = Verification(rebuilt_dir=two_runs[1].path, comparison=comparison)
    assert not verification.identical
    assert verification.differences() == [
        "headline accounts_by_status.customer: 1.0 -> 2.0",
        "table account_map: 2 accounts differ in status (1), value (1)",
        "table tiers: missing in the first run",
    ]


def test_text_table_keeps_last_column_whole():
    long_text = "1,953 accounts differ in marketing_channels_90d and 2 more columns"
    text = compare._text_table(
        "Tables", ["table", "difference"], [("account_map_" * 5, long_text)]
    )
    row = text.splitlines()[-1]
    assert row.endswith(long_text)
    assert row.startswith("account_map_" * 3 + "acc…  ")


def test_same_date_runs_named_by_folder(two_runs, tmp_path):
    first, _ = two_runs
    other = write_run(
        tmp_path / "other" / "2026-06-30",
        params={"influence_window_days": 90, "work_dir": "/c"},
        headline={"open_pipeline": 100.0},
        tables={},
    )
    comparison = compare.compare_runs(first, other)
    base = tmp_path.name
    assert comparison.labels == (f"{base}/2026-06-30", "other/2026-06-30")
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    assert f"<h1>{base}/2026-06-30 compared with other/2026-06-30</h1>" in page
    assert compare.compare_runs(first, first).labels == (
        "2026-06-30",
        "2026-06-30 (the same folder)",
    )


def test_page_names_runs_without_machine_paths(tmp_path, monkeypatch):
    reports = tmp_path / "work" / "reports"
    first = write_run(
        reports / "2026-06-30",
        params={"as_of": "2026-06-30", "data_dir": str(tmp_path / "exports" / "crm")},
        headline={},
        tables={},
    )
    first.manifest.update(run="2026-06-30", as_of="2026-06-30")
    second = write_run(
        reports / "2026-06-30--short",
        params={"as_of": "2026-06-30", "data_dir": str(tmp_path / "crm")},
        headline={},
        tables={},
    )
    second.manifest.update(run="2026-06-30--short", as_of="2026-06-30")
    monkeypatch.chdir(tmp_path / "work")
    # The first run as typed from a sibling folder, the second as an absolute path.
    first.path = Path("..") / "work" / "reports" / "2026-06-30"

    comparison = compare.compare_runs(first, second)
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    text = BeautifulSoup(page, "html.parser").get_text(" ")

    assert str(tmp_path) not in page
    assert ".." not in text
    assert "2026-06-30 compared with 2026-06-30--short" in text
    assert "First run: 2026-06-30, as of 2026-06-30, in reports/2026-06-30" in text
    assert (
        "Second run: 2026-06-30--short, as of 2026-06-30, "
        "in reports/2026-06-30--short" in text
    )
    assert "data_dir" in text
    assert "(generated 1 Jul 2026, 00:00 UTC)" in text


def test_same_name_runs_named_by_display_path(tmp_path, monkeypatch):
    first = write_run(
        tmp_path / "reports" / "2026-06-30", params={}, headline={}, tables={}
    )
    second = write_run(
        tmp_path / "rebuilt" / "2026-06-30", params={}, headline={}, tables={}
    )
    monkeypatch.chdir(tmp_path)

    comparison = compare.compare_runs(first, second)

    assert comparison.labels == ("reports/2026-06-30", "rebuilt/2026-06-30")


def test_accounts_in_one_run_counted_apart():
    first = pd.DataFrame(
        {"account_id": ["A1", "A2"], "name": ["Acme", "Beta"], "value": [1.0, 2.0]}
    )
    second = pd.DataFrame(
        {
            "account_id": ["A2", "A3", "A4"],
            "name": ["Beta", "Gamma", "Delta"],
            "value": [5.0, 3.0, 4.0],
        }
    )
    result = compare.compare_tables("account_map", first, second)

    assert result["summary"] == (
        "1 account differs in value (1); 1 account only in the first run; "
        "2 accounts only in the second run"
    )
    assert list(result["changes"]["account_id"]) == ["A2"]


def test_shared_columns_compared_when_columns_differ():
    first = pd.DataFrame({"account_id": ["A1"], "name": ["Acme"], "touches": [1]})
    second = pd.DataFrame(
        {"account_id": ["A1"], "name": ["Acme"], "touches": [2], "channels": ["x"]}
    )
    result = compare.compare_tables("account_map", first, second)

    assert result["summary"] == (
        "columns differ: only the second run has channels; "
        "1 account differs in touches (1)"
    )


def _month_label(two_runs, tmp_path, first_as_of, second_as_of):
    """Return the month's bookings label on the compare page of two dates."""
    first, second = two_runs
    first.manifest["params"]["as_of"] = first_as_of
    second.manifest["params"]["as_of"] = second_as_of
    comparison = compare.compare_runs(first, second)
    comparison.headline = [("bookings_month", 100.0, 40.0)]
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    return re.search(r"<td>(Bookings[^<]*)</td>", page).group(1)


def test_month_bookings_named_month_to_date(two_runs, tmp_path):
    """A run dated mid-month names its month's bookings month to date."""
    month_ends = _month_label(two_runs, tmp_path, "2026-06-30", "2026-06-30")
    mixed = _month_label(two_runs, tmp_path, "2026-06-30", "2026-06-15")
    mid_month = _month_label(two_runs, tmp_path, "2026-06-15", "2026-06-15")

    assert month_ends == "Bookings this month"
    assert mixed == "Bookings this month (first run), month to date (second run)"
    assert mid_month == "Bookings month to date"


def test_headline_figures_read_as_in_report(two_runs):
    comparison = compare.compare_runs(*two_runs)
    for run in two_runs:
        run.manifest["params"]["report_currency"] = "USD"
    comparison.headline = [
        ("forecast.forecast", 4416653.917473714, 4400000.0),
        ("forecast.p10", 1.000000001, 1.000000002),
        ("accounts_by_tier.Tier 1 Strategic", 2.0, 1.0),
        ("health_auc_win", 0.5, "(none)"),
        ("bookings_ytd", 8873961.0, 10005534.0),
        ("some_new_figure", 3.0, 3.25),
    ]
    text = compare.format_text(comparison)
    rows = text[text.index("Headline figures") :].splitlines()

    assert rows[1].split() == ["figure", "first", "second", "change"]
    forecast_row = next(row for row in rows if row.startswith("Bookings forecast "))
    assert forecast_row.split() == [
        "Bookings",
        "forecast",
        "USD",
        "4,416,654",
        "USD",
        "4,400,000",
        "−USD",
        "16,654",
    ]
    low_row = next(row for row in rows if row.startswith("Bookings forecast, P10"))
    assert low_row.split()[3:5] == ["1.000000001", "1.000000002"]
    tier_row = next(row for row in rows if "Tier 1" in row)
    assert tier_row.split()[-3:] == ["2", "1", "−1"]
    assert tier_row.startswith("Accounts in Tier 1 Strategic ")
    auc_row = next(row for row in rows if "AUC" in row)
    assert auc_row.split() == [
        "Health",
        "score",
        "AUC",
        "for",
        "wins",
        "0.50",
        "–",
        "–",
    ]
    bookings_row = next(row for row in rows if row.startswith("Bookings year"))
    assert bookings_row.split()[-2:] == ["+USD", "1,131,573"]
    new_row = next(row for row in rows if row.startswith("Some new figure"))
    assert new_row.split() == ["Some", "new", "figure", "3", "3.25", "+0.25"]
    assert "some_new_figure" not in text
    assert "health_auc_win" not in text
    assert "forecast.p10" not in text


def test_move_in_several_tables_listed_once(two_runs, tmp_path):
    first, second = two_runs
    for run, tiers in ((first, ["1", "2", "3"]), (second, ["2", "2", "3"])):
        for table in ("account_tiers", "account_health"):
            run.tables[table] = pd.DataFrame(
                {"account_id": ["A1", "A2", "A3"], "tier": tiers}
            )
    comparison = compare.compare_runs(first, second)

    moves = compare.status_moves(comparison)
    assert moves[["name", "column", "a", "b", "tables"]].values.tolist() == [
        ["Beta", "status", "lost", "customer", "account_map"],
        ["A1", "tier", "1", "2", "account_health, account_tiers"],
    ]
    text = compare.format_text(comparison)
    moved = text[text.index("Accounts that moved") :].splitlines()
    assert moved[1].split() == ["account", "column", "first", "second", "tables"]
    assert len(moved) == 5
    assert moved[-1].split() == [
        "A1",
        "tier",
        "1",
        "2",
        "account_health,",
        "account_tiers",
    ]
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    cells = [
        [cell.get_text() for cell in row.find_all("td")]
        for row in BeautifulSoup(page, "html.parser").find_all("table")[-1]("tr")
    ]
    assert cells[1:] == [
        ["Beta", "status", "lost", "customer", "account_map"],
        ["A1", "tier", "1", "2", "account_health, account_tiers"],
    ]


def test_nested_parameters_listed_by_key(tmp_path):
    rules = {"tier_1": {"fit": 60, "match": "all", "value": 75}, "tier_2": {"fit": 40}}
    models = ["first_touch", "creation_touch", "last_touch", "linear", "time_decay"]
    first = write_run(
        tmp_path / "a",
        params={"tier_rules": rules, "attribution_models": models},
        headline={},
        tables={},
    )
    changed = {**rules, "tier_1": {**rules["tier_1"], "value": 90}}
    second = write_run(
        tmp_path / "b",
        params={"tier_rules": changed, "attribution_models": models[:2]},
        headline={},
        tables={},
    )
    comparison = compare.compare_runs(first, second)

    assert comparison.params == [
        ("attribution_models", models, models[:2]),
        ("tier_rules.tier_1.value", 75, 90),
    ]
    text = compare.format_text(comparison)
    parameters = text[text.index("Parameters") : text.index("Inputs")]
    for model in models:
        assert f"'{model}'" in parameters
    assert "…" not in parameters
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    assert "<td>tier_rules.tier_1.value</td><td>75</td><td>90</td>" in page


def test_window_named_columns_compared(tmp_path):
    def touches(window, counts):
        return pd.DataFrame(
            {
                "account_id": ["A1", "A2"],
                "name": ["Acme", "Beta"],
                f"touches_{window}d": counts,
                f"marketing_touches_{window}d": [1, 1],
            }
        )

    # account_progression counts touches over fixed windows of 30 and 90 days.
    progression = pd.DataFrame(
        {"account_id": ["A1", "A2"], "touches_30d": [1, 2], "touches_90d": [3, 4]}
    )
    first = write_run(
        tmp_path / "a",
        params={"influence_window_days": 90},
        headline={},
        tables={"account_map": touches(90, [5, 2]), "account_progression": progression},
    )
    second = write_run(
        tmp_path / "b",
        params={"influence_window_days": 30},
        headline={},
        tables={"account_map": touches(30, [1, 2]), "account_progression": progression},
    )
    comparison = compare.compare_runs(first, second)

    assert [item["table"] for item in comparison.tables] == ["account_map"]
    result = comparison.tables[0]
    assert result["summary"] == "1 account differs in touches_90d/30d (1)"
    assert result["changes"][["account_id", "column", "a", "b"]].values.tolist() == [
        ["A1", "touches_90d/30d", "5", "1"]
    ]


def shares(models, share=0.5):
    rows = [(model, channel) for model in models for channel in ("email", "paid")]
    return pd.DataFrame(
        {
            "model": [model for model, _ in rows],
            "channel": [channel for _, channel in rows],
            "share": share,
        }
    )


def test_rows_matched_on_text_key():
    first = shares(["first_touch", "linear", "markov", "shapley"])
    second = shares(["linear", "first_touch"])

    result = compare.compare_tables("attribution_shares_channel", first, second)
    assert result["summary"] == (
        "4 rows only in the first run; the 4 shared rows are equal"
    )
    assert result["changes"].empty

    changed = second.assign(share=[0.5, 0.25, 0.5, 0.5])
    result = compare.compare_tables("attribution_shares_channel", first, changed)
    assert result["summary"] == (
        "4 rows only in the first run; 1 of the 4 shared rows differs in share (1)"
    )

    result = compare.compare_tables("attribution_shares_channel", second, first)
    assert result["summary"] == (
        "4 rows only in the second run; the 4 shared rows are equal"
    )


def test_rows_matched_with_missing_key():
    first = pd.DataFrame({"channel": ["email", None], "share": [0.5, 0.5]})
    second = pd.DataFrame({"channel": [None, "paid"], "share": [0.5, 0.5]})
    result = compare.compare_tables("attribution_markov", first, second)

    assert result["summary"] == (
        "1 row only in the first run; 1 row only in the second run; "
        "the 1 shared row is equal"
    )


def test_rows_without_key_matched_whole():
    first = pd.DataFrame({"change": [0.1, 0.1, 0.2], "accounts": [3, 4, 5]})
    second = pd.DataFrame({"change": [0.1, 0.2, 0.1], "accounts": [3, 5, 7]})
    result = compare.compare_tables("tier_sensitivity", first, second)

    assert result["summary"] == (
        "1 row only in the first run; 1 row only in the second run; "
        "2 rows are in both runs"
    )


def test_rows_equal_in_value_only():
    first = pd.DataFrame({"stage": ["won", "lost"], "order": [1, 2]})
    second = first.assign(order=["1", "2"])
    result = compare.compare_tables("stage_conversion", first, second)

    assert result["summary"] == "rows are equal in value, not in type"


def test_rows_name_differing_columns():
    first = pd.DataFrame(
        {
            "kind": ["pipeline", "pipeline", "won"],
            "opportunity_id": ["201", "202", "201"],
            "window_start": pd.to_datetime(["2025-05-07", "2025-10-03", "2025-05-07"]),
            "touches": [3, 2, 3],
        }
    )
    second = first.assign(
        window_start=pd.to_datetime(["2025-08-05", "2025-10-03", "2025-08-05"]),
        touches=[2, 2, 3],
    )
    result = compare.compare_tables("attribution_opportunities", first, second)

    assert result["summary"] == (
        "2 of the 3 shared rows differ in touches (1), window_start (2)"
    )


def test_rows_matched_on_natural_key():
    # The tier is a float, so only the natural key of tier and type matches
    # these rows, and a changed count is not a row in each run.
    first = pd.DataFrame(
        {
            "tier": [1.0, 1.0, 2.0],
            "type": ["expansion", "new_business", "new_business"],
            "opportunities": [1, 4, 1],
            "amount_share": [1.0, 0.6875, 1.0],
        }
    )
    second = first.assign(opportunities=[1, 5, 1], amount_share=[1.0, 0.75, 1.0])
    result = compare.compare_tables("attribution_coverage", first, second)

    assert result["summary"] == (
        "1 of the 3 shared rows differs in amount_share (1), opportunities (1)"
    )


def test_natural_key_skips_changed_columns():
    # coverage_gaps repeats the tier label, which a key guessed from the
    # text columns would include, so a new label would read as a new row.
    first = pd.DataFrame(
        {
            "account_id": ["101", "101"],
            "name": ["Acme", "Acme"],
            "tier_label": ["Tier 2 Core", "Tier 2 Core"],
            "gap": ["no marketing", "no sales"],
        }
    )
    second = first.assign(tier_label="Tier 1 Strategic")
    result = compare.compare_tables("coverage_gaps", first, second)

    assert result["summary"] == "2 of the 2 shared rows differ in tier_label (2)"


def test_natural_key_falls_back_when_repeated():
    # A deal whose credit is split between two companies repeats the credit
    # keys, so account_id joins the key.
    first = pd.DataFrame(
        {
            "kind": ["won", "won", "won"],
            "opportunity_id": ["201", "201", "202"],
            "channel": ["email", "email", "email"],
            "function": ["marketing", "marketing", "marketing"],
            "account_id": ["101", "102", "101"],
            "linear": [500, 500, 800],
            "tier": [1.0, 2.0, 1.0],
        }
    )
    second = first.assign(tier=[1.0, 1.0, 1.0])
    result = compare.compare_tables("attribution_credit_sums", first, second)

    assert result["summary"] == "1 of the 3 shared rows differs in tier (1)"


def test_output_folders_listed_apart(tmp_path):
    first = write_run(
        tmp_path / "a",
        params={"as_of": "2026-06-30", "reports_dir": "/r1", "work_dir": "/w1"},
        headline={},
        tables={},
    )
    second = write_run(
        tmp_path / "b",
        params={"as_of": "2026-06-30", "reports_dir": "/r2", "work_dir": "/w1"},
        headline={},
        tables={},
    )
    comparison = compare.compare_runs(first, second)

    assert comparison.params == []
    assert comparison.settings == [("reports_dir", "/r1", "/r2")]
    assert comparison.differences() == []
    text = compare.format_text(comparison)
    assert "Parameters that change figures: no differences" in text
    output = text[text.index("Settings that change no figure") :]
    assert output.splitlines()[3].split() == ["reports_dir", "/r1", "/r2"]
    assert "work_dir" not in text
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    headings = [heading.get_text() for heading in soup.find_all("h2")]
    assert headings[:3] == [
        "Parameters that change figures",
        "Settings that change no figure",
        "Inputs",
    ]
    assert "<td>reports_dir</td><td>r1</td><td>r2</td>" in page


def test_variant_listed_as_setting(tmp_path):
    first = write_run(
        tmp_path / "a",
        params={"as_of": "2026-06-30", "variant": ""},
        headline={},
        tables={},
    )
    second = write_run(
        tmp_path / "b",
        params={"as_of": "2026-06-30", "variant": "short-window"},
        headline={},
        tables={},
    )
    comparison = compare.compare_runs(first, second)

    assert comparison.params == []
    assert comparison.settings == [("variant", "", "short-window")]
    assert comparison.differences() == []


def test_technical_settings_listed_apart(tmp_path):
    """Settings of how the build runs are not listed as changing figures."""
    first = write_run(
        tmp_path / "a",
        params={"as_of": "2026-06-30", "parallel_notebooks": 2, "seed": 1},
        headline={},
        tables={},
    )
    second = write_run(
        tmp_path / "b",
        params={"as_of": "2026-06-30", "parallel_notebooks": 1, "seed": 1},
        headline={},
        tables={},
    )
    comparison = compare.compare_runs(first, second)

    assert comparison.params == []
    assert comparison.settings == [("parallel_notebooks", 2, 1)]
    text = compare.format_text(comparison)
    assert "Parameters that change figures: no differences" in text
    settings = text[text.index("Settings that change no figure") :]
    assert settings.splitlines()[3].split() == ["parallel_notebooks", "2", "1"]


def test_same_output_folders_not_listed(two_runs, tmp_path):
    first, _ = two_runs
    comparison = compare.compare_runs(first, first)
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()

    assert comparison.settings == []
    assert "Settings that change no figure" not in compare.format_text(comparison)
    assert "Settings that change no figure" not in page


def test_page_headline_has_change_column(two_runs, tmp_path):
    comparison = compare.compare_runs(*two_runs)
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    table = soup.find("h2", string="Headline figures").find_next("table")
    cells = [[cell.get_text() for cell in row(["th", "td"])] for row in table("tr")]

    assert cells == [
        ["Figure", "First run", "Second run", "Change"],
        ["Accounts with status customer", "1", "2", "+1"],
    ]


def run_with_forecast_and_attribution(folder: Path, overdue: int) -> compare.Run:
    """Write a run whose headline has the nested forecast and attribution figures."""
    open_deals = pd.DataFrame(
        {
            "created_at": pd.to_datetime(["2026-01-05", "2026-06-01"], utc=True),
            "close_date": pd.to_datetime(["2026-03-31", None]),
        }
    )
    rules = count_close_date_rules(open_deals, dt.date(2026, 6, 30), 90.0)
    rules["overdue_next_day"] += overdue
    headline = {
        "forecast": {"close_date_rules": rules, "negative_open_deals": overdue},
        "attribution": {
            "revenue_coverage": 0.5 + overdue / 10,
            "lookback_days": 90 + overdue,
            "suggested_lookback_days": 60 + overdue,
        },
    }
    return write_run(
        folder,
        params={"report_currency": "USD"},
        headline=headline,
        tables={},
    )


def test_nested_figures_read_as_labels(tmp_path):
    first = run_with_forecast_and_attribution(tmp_path / "2026-06-30", 0)
    second = run_with_forecast_and_attribution(tmp_path / "2026-06-30--b", 2)
    comparison = compare.compare_runs(first, second)

    text = compare.format_text(comparison)
    page = compare.write_html(comparison, tmp_path / "compare.html").read_text()
    soup = BeautifulSoup(page, "html.parser")
    table = soup.find("h2", string="Headline figures").find_next("table")
    labels = [row("td")[0].get_text() for row in table("tr")[1:]]

    assert len(labels) == 5
    for label in labels:
        assert "." not in label
        assert "_" not in label
    assert "Open deals past their close date, expected the day after the " in (
        " ".join(labels)
    )
    headline_text = text[text.index("Headline figures") : text.index("Tables")]
    assert "_" not in headline_text
    assert "forecast." not in headline_text
    assert "attribution." not in headline_text
    assert "Won revenue with a recorded touch" in page
    assert "50%" in headline_text
