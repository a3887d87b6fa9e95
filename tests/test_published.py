"""Comparing the CSV exports and the pages' visible text of two run folders."""

from __future__ import annotations

from acctlib.published import compare_published, page_text

FOOTER = (
    "<footer><p>As of <strong>2017-12-31</strong>. Generated {time} by acctlib "
    "{version} (commit {commit}). Amounts in USD.</p>"
    "<p>Reproduce with: <code>acctlib build --set reports_dir={reports_dir}</code></p>"
    "</footer>"
)
PAGE = (
    "<html><head><style>p {{ color: red }}</style></head><body>"
    "<h1>Executive summary</h1>"
    "<div class='card'><p>Bookings year to date</p><p>USD {ytd}</p></div>"
    "<script>vegaEmbed('#chart', {{'data': [{ytd_raw}]}})</script>"
    "<noscript><svg><text>{ytd_raw}</text></svg></noscript>"
    "{footer}</body></html>"
)
CSV = "account_id,name,annual_revenue\nA1,Acme,1200000.0\nA2,Beta,{revenue}\n"


def write_run(folder, *, ytd="10,005,534", revenue="350000.0", **footer):
    values = {"time": "6 Dec 2026, 12:21 UTC", "version": "0.1.0", "commit": "46840e9"}
    values["reports_dir"] = ".../r1"
    values.update(footer)
    folder.mkdir(parents=True)
    page = PAGE.format(
        ytd=ytd, ytd_raw=ytd.replace(",", ""), footer=FOOTER.format(**values)
    )
    (folder / "00-executive-summary.html").write_text(page, encoding="utf-8")
    (folder / "account_map.csv").write_text(CSV.format(revenue=revenue))
    return folder


def test_page_text_skips_scripts_and_charts(tmp_path):
    run = write_run(tmp_path / "run")
    lines = page_text(run / "00-executive-summary.html")

    assert lines[:4] == [
        "Executive summary",
        "Bookings year to date",
        "USD 10,005,534",
        "As of",
    ]
    assert not any("10005534" in line for line in lines)
    assert not any("color" in line for line in lines)


def test_rebuild_footers_are_equal(tmp_path):
    first = write_run(tmp_path / "a")
    second = write_run(
        tmp_path / "b",
        time="7 Jan 2027, 08:05 CET",
        version="0.2.0",
        commit="0123abc-dirty",
        reports_dir="/tmp/acctlib-verify-x/reports",
    )

    assert compare_published(first, second) == []


def test_changed_figure_names_page_and_line(tmp_path):
    first = write_run(tmp_path / "a", ytd="10,905,534")
    second = write_run(tmp_path / "b")

    assert compare_published(first, second) == [
        "file 00-executive-summary.html: text line 3, after 'Bookings year to "
        "date': 'USD 10,905,534' -> 'USD 10,005,534'"
    ]


def test_changed_csv_value_names_row_and_column(tmp_path):
    first = write_run(tmp_path / "a", revenue="999")
    second = write_run(tmp_path / "b")

    assert compare_published(first, second) == [
        "file account_map.csv: line 3 (account_id A2), annual_revenue: "
        "'999' -> '350000.0'"
    ]


def test_csv_row_added_counted(tmp_path):
    first = write_run(tmp_path / "a")
    second = write_run(tmp_path / "b")
    with (second / "account_map.csv").open("a") as file:
        file.write("A3,Gamma,5.0\n")

    assert compare_published(first, second) == [
        "file account_map.csv: 2 rows in the first run, 3 in the second"
    ]


def test_csv_later_differences_counted(tmp_path):
    first = write_run(tmp_path / "a", revenue="1.0")
    second = write_run(tmp_path / "b")
    with (first / "account_map.csv").open("a") as file:
        file.write("A3,Gamma,5.0\n")

    assert compare_published(first, second) == [
        "file account_map.csv: line 3 (account_id A2), annual_revenue: "
        "'1.0' -> '350000.0' (1 more row differs)"
    ]


def test_file_in_one_run_listed(tmp_path):
    first = write_run(tmp_path / "a")
    second = write_run(tmp_path / "b")
    (second / "key_accounts.csv").write_text("account_id\n")
    (first / "00-executive-summary.html").unlink()

    assert compare_published(first, second) == [
        "file key_accounts.csv: missing in the first run",
        "file 00-executive-summary.html: missing in the first run",
    ]
