"""Defining the report's abbreviations once, at their first use on a page."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from acctlib import glossary

WAPE = glossary.define_term("WAPE")


def page_text(page: str) -> str:
    return BeautifulSoup(page, "html.parser").get_text()


def test_definition_reads_as_plain_phrase():
    assert WAPE == (
        "WAPE (weighted absolute percentage error: the forecast's misses as a "
        "share of actual bookings)"
    )


def test_first_use_defined_once():
    page = "<p>The WAPE was 10%.</p><table><th>WAPE</th></table><p>WAPE again</p>"

    text = page_text(glossary.define_first_uses(page))

    assert text.count(WAPE) == 1
    assert text.startswith(f"The {WAPE} was 10%.")
    assert text.endswith("WAPEWAPE again")


def test_term_in_brackets_defined_after_comma():
    page = "<p>off by 10% of actual bookings (WAPE).</p>"

    text = page_text(glossary.define_first_uses(page))

    assert text == (
        "off by 10% of actual bookings (WAPE, weighted absolute percentage "
        "error: the forecast's misses as a share of actual bookings)."
    )


@pytest.mark.parametrize(
    "skipped",
    [
        "<title>AUC</title>",
        "<nav><a>AUC</a></nav>",
        "<aside><ul><li>AUC</li></ul></aside>",
        "<h2>AUC <a>¶</a></h2>",
        "<script>if (a < b) { label = 'AUC'; }</script>",
        "<style>/* AUC */</style>",
        "<code>AUC</code>",
        "<footer><p>AUC</p></footer>",
    ],
)
def test_skipped_elements_keep_term(skipped):
    page = f"<html>{skipped}<p>AUC 0.8</p></html>"

    result = glossary.define_first_uses(page)

    assert result.startswith(f"<html>{skipped}<p>AUC (area under the curve: ")
    assert result.count("area under the curve") == 1


def test_attributes_left_unchanged():
    page = '<p title="P10 > 0">P10</p>'

    result = glossary.define_first_uses(page)

    assert result.startswith('<p title="P10 > 0">P10 (10th percentile: ')


def test_definition_escaped_as_html():
    result = glossary.define_first_uses("<p>WAPE</p>")

    assert "forecast&#x27;s" not in result
    assert "forecast's misses" in result
    assert "<" not in result.removeprefix("<p>").removesuffix("</p>")


def test_every_term_defined():
    page = "".join(f"<p>{term}</p>" for term in glossary.TERMS)

    text = page_text(glossary.define_first_uses(page))

    for term in glossary.TERMS:
        assert glossary.define_term(term) in text, term


def test_page_without_terms_unchanged():
    page = "<p>Accounts by status, won revenue and ACVs.</p>"

    assert glossary.define_first_uses(page) == page


@pytest.mark.parametrize(
    "compact",
    [
        "<table><tr><th>P50</th></tr></table>",
        "<details><summary>Settings</summary><p>P50 of the range</p></details>",
        '<div class="acctlib-kpis"><div class="label">P50</div></div>',
        "<svg><g><text>P50</text></g><svg/></svg>",
    ],
)
def test_compact_only_term_listed_before_footer(compact):
    page = f"<body>{compact}<p>Bookings</p><footer>Generated</footer></body>"

    result = glossary.define_first_uses(page)

    listed = (
        '<p class="acctlib-terms">Terms on this page: '
        f"{glossary.define_term('P50')}.</p><footer>"
    )
    assert result == page.replace("<footer>", listed)


def test_table_then_prose_defined_in_prose():
    page = "<body><table><td>WAPE</td></table><p>The WAPE fell.</p></body>"

    result = glossary.define_first_uses(page)

    assert "<td>WAPE</td>" in result
    assert f"<p>The {WAPE} fell.</p>" in result
    assert "acctlib-terms" not in result


def test_term_list_without_footer_goes_last():
    result = glossary.define_first_uses("<table><td>AUC</td></table>")

    assert result.startswith("<table><td>AUC</td></table><p class=")
    assert result.endswith(f"{glossary.define_term('AUC')}.</p>")


def test_term_list_skips_footer_in_script():
    script = "<script>w.document.write('<footer></footer></body>')</script>"
    page = f"<body>{script}<table><td>AUC</td></table><footer>Run</footer></body>"

    result = glossary.define_first_uses(page)

    assert result.startswith(f"<body>{script}<table>")
    assert result.endswith("</p><footer>Run</footer></body>")


@pytest.mark.parametrize(
    ("term", "expansion"),
    [
        ("AE", "account executive"),
        ("CS", "customer success"),
        ("SE", "sales engineer"),
        ("SDR", "sales development representative"),
        ("QBR", "quarterly business review"),
        ("pp", "percentage points"),
    ],
)
def test_report_abbreviation_defined(term, expansion):
    result = glossary.define_first_uses(f"<p>Credit of {term}</p>")

    assert result.startswith(f"<p>Credit of {term} ({expansion}: ")


def test_functions_in_cards_listed():
    cards = '<div class="acctlib-kpis"><div class="value">Marketing, AE, CS</div></div>'
    page = f"<body>{cards}<footer>Run</footer></body>"

    text = page_text(glossary.define_first_uses(page))

    assert glossary.define_term("AE") in text
    assert glossary.define_term("CS") in text


def test_chart_only_term_listed():
    chart = "<noscript><svg><text>SDR</text><text>SE</text></svg></noscript>"
    page = f"<body><p>Credit by function</p>{chart}<footer>Run</footer></body>"

    result = glossary.define_first_uses(page)

    assert f"{chart}<p class=" in result
    assert glossary.define_term("SDR") in result
    assert glossary.define_term("SE") in result
