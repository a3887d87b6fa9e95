"""The email digest: settings, the MIME message and delivery over SMTP."""

from __future__ import annotations

import email
import json
import socket
from email import policy

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from acctlib import cli, delivery, glossary


def test_settings_from_environment(tmp_path):
    environ = {
        "ACCTLIB_SMTP_CONFIG": str(tmp_path / "absent.yaml"),
        "ACCTLIB_SMTP_HOST": "mail.example.com",
        "ACCTLIB_SMTP_PORT": "2525",
        "ACCTLIB_SMTP_TLS": "none",
        "ACCTLIB_SMTP_PASSWORD": "hunter2",
    }
    settings = delivery.load_smtp_settings(environ=environ)
    assert (settings.host, settings.port, settings.tls) == (
        "mail.example.com",
        2525,
        "none",
    )
    assert settings.password == "hunter2"
    assert "hunter2" not in repr(settings)


def test_settings_from_config_file(tmp_path):
    config = tmp_path / "smtp.yaml"
    config.write_text("host: smtp.example.org\nport: 465\ntls: ssl\nuser: me\n")
    environ = {"ACCTLIB_SMTP_CONFIG": str(config)}
    settings = delivery.load_smtp_settings("127.0.0.1:2526", environ=environ)
    assert (settings.host, settings.port, settings.tls) == ("127.0.0.1", 2526, "ssl")
    assert settings.user == "me"


def test_config_file_inside_project_rejected():
    environ = {"ACCTLIB_SMTP_CONFIG": str(delivery.PROJECT_ROOT / "pyproject.toml")}
    with pytest.raises(delivery.DeliveryError, match="inside the project folder"):
        delivery.load_smtp_settings(environ=environ)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no SMTP host configured"),
        ({"ACCTLIB_SMTP_HOST": "h", "ACCTLIB_SMTP_TLS": "tls1"}, "invalid SMTP TLS"),
        ({"ACCTLIB_SMTP_HOST": "h", "ACCTLIB_SMTP_PORT": "x"}, "invalid SMTP port"),
    ],
)
def test_invalid_settings_rejected(tmp_path, environ, message):
    environ = {"ACCTLIB_SMTP_CONFIG": str(tmp_path / "absent.yaml"), **environ}
    with pytest.raises(delivery.DeliveryError, match=message):
        delivery.load_smtp_settings(environ=environ)


@pytest.mark.parametrize("host_port", ["localhost", "localhost:", ":25", "h:smtp"])
def test_smtp_option_without_host_and_port_rejected(tmp_path, host_port):
    environ = {"ACCTLIB_SMTP_CONFIG": str(tmp_path / "absent.yaml")}
    with pytest.raises(delivery.DeliveryError) as caught:
        delivery.load_smtp_settings(host_port, environ=environ)

    message = str(caught.value)
    assert f"invalid --smtp {host_port!r}" in message
    assert "HOST:PORT" in message
    assert "--smtp localhost:1025" in message


@pytest.mark.slow
def test_message_body_is_mail_safe(small_report):
    message = delivery.build_message(small_report.run_dir, "cfo@example.com", "r@x")
    body = message.get_body(preferencelist=("html",))
    html = body.get_content()
    soup = BeautifulSoup(html, "html.parser")

    assert len(html.encode("utf-8")) < delivery.MAX_BODY_BYTES
    assert soup.find_all(["script", "style", "link"]) == []
    sources = [img["src"] for img in soup.find_all("img")]
    assert len(sources) >= 2
    assert all(src.startswith("cid:") for src in sources)
    images = {
        f"cid:{part['Content-ID'].strip('<>')}"
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }
    assert set(sources) == images
    assert "Open pipeline" in soup.get_text()
    assert "since last month" in soup.get_text()
    assert "Largest movements" in soup.get_text()
    attachments = [part.get_filename() for part in message.iter_attachments()]
    assert attachments == ["executive-summary-2026-06-30.html"]


@pytest.mark.slow
def test_plain_text_matches_html_figures(small_report):
    message = delivery.build_message(small_report.run_dir, "cfo@example.com", "r@x")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    soup = BeautifulSoup(html, "html.parser")

    assert "since last month)" in text
    assert "Largest movements" in text
    for item in soup.find_all("li"):
        assert f"- {item.get_text()}" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.mark.slow
def test_email_sent_over_smtp(small_report, monkeypatch, tmp_path):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("ACCTLIB_SMTP_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("ACCTLIB_SMTP_TLS", "none")
    monkeypatch.setenv("ACCTLIB_SMTP_FROM", "reports@example.com")
    try:
        code = cli.main(
            [
                "-q",
                "email",
                str(small_report.run_dir),
                "--to",
                "cfo@example.com",
                "--smtp",
                f"127.0.0.1:{port}",
            ]
        )
    finally:
        controller.stop()

    assert code == 0
    assert len(inbox.messages) == 1
    recipients, raw = inbox.messages[0]
    assert recipients == ["cfo@example.com"]
    received = email.message_from_bytes(raw, policy=policy.default)
    assert received["Subject"] == "Account review as of 2026-06-30"
    assert received["From"] == "reports@example.com"
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "Customers" in html
    pngs = [p for p in received.walk() if p.get_content_type() == "image/png"]
    assert pngs
    assert pngs[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_email_written_as_eml(small_report, tmp_path):
    target = tmp_path / "digest.eml"
    code = cli.main(
        [
            "-q",
            "email",
            str(small_report.run_dir),
            "--to",
            "a@b.c",
            "--eml",
            str(target),
        ]
    )
    assert code == 0
    parsed = email.message_from_bytes(target.read_bytes(), policy=policy.default)
    assert parsed["To"] == "a@b.c"
    assert parsed.is_multipart()


def test_config_file_loaded_safely(tmp_path):
    marker = tmp_path / "ran"
    config = tmp_path / "smtp.yaml"
    config.write_text(f"host: !!python/object/apply:os.system ['touch {marker}']\n")
    environ = {"ACCTLIB_SMTP_CONFIG": str(config)}
    with pytest.raises(delivery.DeliveryError, match="not valid YAML"):
        delivery.load_smtp_settings(environ=environ)
    assert not marker.exists()


def _manifest_with_forecast() -> dict:
    """Return a manifest whose headline has the nested forecast of a real build."""
    return {
        "run": "2026-06-30",
        "as_of": "2026-06-30",
        "command": "acctlib build",
        "params": {"report_currency": "USD"},
        "headline": {
            "open_pipeline": 6618187.9,
            "forecast": {
                "method": "win_probability",
                "label": "Win-probability model",
                "window": "next_3_months",
                "window_start": "2026-07-01",
                "window_end": "2026-09-30",
                "forecast": 4416653.917473714,
                "p10": 4125813.8999999994,
                "p50": 4451615.799999999,
                "p90": 4678259.119999999,
                "backtested": True,
                "sentence": "The win-probability model has been the most accurate.",
                "reliability": None,
            },
        },
    }


def test_body_shows_nested_forecast(tmp_path):
    body = delivery.render_body(tmp_path, _manifest_with_forecast(), [])
    text = BeautifulSoup(body, "html.parser").get_text(" ")

    assert "Bookings forecast, 2026-07-01 to 2026-09-30" in text
    assert "USD 4,416,654" in text
    assert "Range, P10 to P90" in text
    assert "USD 4,125,814 to USD 4,678,259" in text
    assert "Win-probability model" in text


def test_body_defines_abbreviations_once(tmp_path):
    body = delivery.render_body(tmp_path, _manifest_with_forecast(), [])
    text = BeautifulSoup(body, "html.parser").get_text(" ")

    assert text.count(glossary.define_term("P10")) == 1
    assert text.count(glossary.define_term("P90")) == 1


def test_body_without_forecast_has_no_section(tmp_path):
    manifest = _manifest_with_forecast()
    del manifest["headline"]["forecast"]
    body = delivery.render_body(tmp_path, manifest, [])

    assert "Forecast" not in body


def _run_with_forecast(tmp_path):
    """Write a run folder with the manifest and an executive summary without charts."""
    run_dir = tmp_path / "2026-06-30"
    run_dir.mkdir()
    manifest = {**_manifest_with_forecast(), "generated_at": "2026-07-01T08:00:00Z"}
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run_dir / delivery.SUMMARY_FILE).write_text(
        "<html><body>summary</body></html>", encoding="utf-8"
    )
    return run_dir


def test_plain_text_shows_forecast(tmp_path):
    message = delivery.build_message(_run_with_forecast(tmp_path), "a@b.c", "r@x")
    text = message.get_body(preferencelist=("plain",)).get_content()

    assert "Bookings forecast, 2026-07-01 to 2026-09-30: USD 4,416,654" in text
    assert "Range, P10 to P90: USD 4,125,814 to USD 4,678,259" in text
    assert "Method: Win-probability model" in text


def test_plain_text_without_forecast(tmp_path):
    manifest = _manifest_with_forecast()
    del manifest["headline"]["forecast"]
    text = delivery._plain_text(tmp_path, manifest)

    assert "Open pipeline: USD 6,618,188" in text
    assert "forecast" not in text.lower()


@pytest.mark.parametrize("to", ["not an address", "", "ann@example", "ann@@x.org"])
def test_invalid_recipient_rejected(tmp_path, to):
    with pytest.raises(delivery.DeliveryError, match="invalid recipient address"):
        delivery.build_message(_run_with_forecast(tmp_path), to, "r@x")


def test_several_recipients_accepted(tmp_path):
    to = "Ann <ann@example.com>, bob@example.org"
    message = delivery.build_message(_run_with_forecast(tmp_path), to, "r@x")
    assert message["To"] == to


# The navigation bar as the report template writes it, and as the
# published page has it, with each element's attributes sorted.
TEMPLATE_NAV = (
    '<nav class="acctlib-nav" aria-label="Report sections">\n'
    '  <a href="index.html">Contents</a>\n'
    '  <a href="00-executive-summary.html" class="current">Executive summary</a>\n'
    '  <a href="01-account-map.html">Account map</a>\n'
    '  <span class="run">As of 2026-06-30</span>\n'
    "</nav>"
)
PUBLISHED_NAV = (
    '<nav aria-label="Report sections" class="acctlib-nav">\n'
    '<a href="index.html">Contents</a>\n'
    '<a class="current" href="00-executive-summary.html">Executive summary</a>\n'
    '<a href="01-account-map.html">Account map</a>\n'
    '<span class="run">As of 2026-06-30</span>\n'
    "</nav>"
)


@pytest.mark.parametrize("nav", [TEMPLATE_NAV, PUBLISHED_NAV])
def test_attached_summary_has_no_links_to_other_pages(tmp_path, nav):
    run_dir = _run_with_forecast(tmp_path)
    (run_dir / delivery.SUMMARY_FILE).write_text(
        "<html><body>" + nav + '<a href="#bookings">Bookings</a> '
        '<a class="x" href="06-data-quality.html#currency">data quality page</a> '
        '<a href="https://example.com/guide">guide</a>'
        "</body></html>",
        encoding="utf-8",
    )

    message = delivery.build_message(run_dir, "ann@example.com", "r@x")

    attachment = next(message.iter_attachments()).get_content()
    page = BeautifulSoup(attachment, "html.parser")
    text = page.get_text()
    hrefs = [link["href"] for link in page.find_all("a")]
    assert hrefs == ["#bookings", "https://example.com/guide"]
    assert "As of 2026-06-30" in text
    assert "data quality page" in text
    assert "Account map" not in text
    assert "Contents" not in text
    assert (
        "The other sections of this report are in its run folder, 2026-06-30." in text
    )


RELIABILITY = (
    "Its P10 to P90 range held actual bookings at 3 of 10 month-ends, where a "
    "well-judged range holds them about 8 times in 10, so the real uncertainty "
    "is wider than the range shows."
)


def test_range_followed_by_reliability(tmp_path):
    manifest = _manifest_with_forecast()
    manifest["headline"]["forecast"]["reliability"] = RELIABILITY
    body = delivery.render_body(tmp_path, manifest, [])
    text = " ".join(BeautifulSoup(body, "html.parser").get_text(" ").split())
    plain = delivery._plain_text(tmp_path, manifest)

    # The first P10 and P90 outside the figures' table get their definitions.
    sentence = "range held actual bookings at 3 of 10 month-ends"
    assert sentence in text
    assert text.index("USD 4,125,814 to USD 4,678,259") < text.index(sentence)
    assert f"Method: Win-probability model\n{RELIABILITY}\n" in plain


def test_sliced_digest_names_slice(tmp_path):
    manifest = _manifest_with_forecast()
    manifest["headline"]["slice"] = "owner Fatima Cohen"
    body = delivery.render_body(tmp_path, manifest, [])
    text = " ".join(BeautifulSoup(body, "html.parser").get_text(" ").split())
    plain = delivery._plain_text(tmp_path, manifest)

    assert delivery._subject(manifest) == (
        "Account review of owner Fatima Cohen as of 2026-06-30"
    )
    assert "This report covers only the accounts of owner Fatima Cohen." in text
    forecast_note = (
        "The forecast covers the whole company, not only the accounts of "
        "owner Fatima Cohen."
    )
    assert forecast_note in text
    assert forecast_note in plain
    assert "This report covers only the accounts of owner Fatima Cohen." in plain


def test_company_digest_has_no_slice_notice(tmp_path):
    body = delivery.render_body(tmp_path, _manifest_with_forecast(), [])

    assert "covers only" not in body
    assert "whole company" not in body


def test_chart_png_keeps_legend_gradient():
    import altair as alt
    import pandas as pd
    import vl_convert

    from acctlib import charts

    shares = pd.DataFrame(
        {
            "model": ["Linear", "Linear", "First touch", "First touch"],
            "function": ["Marketing", "CS", "Marketing", "CS"],
            "share": [0.7, 0.1, 0.4, 0.3],
        }
    )
    chart = (
        alt.Chart(shares)
        .mark_rect()
        .encode(x="model:N", y="function:N", color="share:Q")
    )
    svg = charts.static_svg(chart)
    # The report page passes through html.parser, which lower-cases names.
    page = str(
        BeautifulSoup(
            f'<noscript class="acctlib-static">{svg}</noscript>', "html.parser"
        )
    )
    from_page = delivery.STATIC_CHART.findall(page)[0]

    assert "linearGradient" in svg
    assert "linearGradient" not in from_page
    assert "linearGradient" in delivery.restore_svg_case(from_page)
    assert delivery._chart_png(from_page) == vl_convert.svg_to_png(svg, scale=1.0)


def _run_with_chart(tmp_path):
    """Write a run whose executive summary has a period note and one chart."""
    import altair as alt

    from acctlib import charts, views

    run_dir = _run_with_forecast(tmp_path)
    chart = alt.Chart(
        pd.DataFrame({"x": ["a"], "y": [1]}),
        title=alt.Title("Credit by function", subtitle="Share of won revenue."),
    )
    svg = charts.static_svg(chart.mark_bar().encode(x="x:N", y="y:Q"))
    period = views.note("Won revenue covers every deal since 2023.", period=True)
    page = (
        f"<html><body><h2>Attribution</h2>{period.data}"
        f'<noscript class="acctlib-static">{svg}</noscript></body></html>'
    )
    (run_dir / delivery.SUMMARY_FILE).write_text(page, encoding="utf-8")
    return run_dir


def test_chart_has_title_and_period(tmp_path):
    message = delivery.build_message(_run_with_chart(tmp_path), "a@b.c", "r@x")
    html = message.get_body(preferencelist=("html",)).get_content()
    soup = BeautifulSoup(html, "html.parser")

    image = soup.find("img")
    heading = image.find_previous("h3")
    assert heading.get_text() == "Credit by function"
    assert image["alt"] == "Credit by function: Share of won revenue."
    notes = [p.get_text() for p in heading.find_next_siblings("p")]
    assert "Won revenue covers every deal since 2023." in notes


def test_body_has_no_build_command(tmp_path):
    message = delivery.build_message(_run_with_chart(tmp_path), "a@b.c", "r@x")
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()

    assert "acctlib build" not in html
    assert "acctlib build" not in text


def test_eml_attachment_declares_charset(tmp_path):
    message = delivery.build_message(_run_with_chart(tmp_path), "a@b.c", "r@x")
    target = delivery.write_eml(message, tmp_path / "digest.eml")

    parsed = email.message_from_bytes(target.read_bytes(), policy=policy.default)
    attachment = next(parsed.iter_attachments())

    assert attachment.get_content_type() == "text/html"
    assert attachment.get_content_charset() == "utf-8"
    assert "Won revenue covers every deal" in attachment.get_content()


def _run_with_rejected_rows(tmp_path, rejected_rows: int, summary=None):
    """Write a run folder with ``rejected_rows`` and a ``dq_rejected_value`` table."""
    run_dir = tmp_path / "2026-06-30"
    run_dir.mkdir()
    manifest = {
        **_manifest_with_forecast(),
        "generated_at": "2026-07-01T08:00:00Z",
        "rejected_rows": rejected_rows,
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run_dir / delivery.SUMMARY_FILE).write_text(
        "<html><body>summary</body></html>", encoding="utf-8"
    )
    if summary is not None:
        (run_dir / "tables").mkdir()
        summary.to_parquet(run_dir / "tables" / "dq_rejected_value.parquet")
    return run_dir


REJECTED_VALUE = pd.DataFrame(
    {
        "category": ["won", "open"],
        "currency": ["USD", "USD"],
        "opportunities": [2, 1],
        "amount": [40000.0, 10000.0],
    }
)
REJECTED_ROWS_SENTENCE = "12 input rows were rejected."
REJECTED_VALUE_SENTENCE = (
    "3 rejected opportunities worth USD 50,000 (won USD 40,000, open USD 10,000) "
    "are left out of these figures; see Data quality."
)


def test_digest_names_rejected_value(tmp_path):
    run_dir = _run_with_rejected_rows(tmp_path, 12, REJECTED_VALUE)

    message = delivery.build_message(run_dir, "a@b.c", "r@x")
    html = message.get_body(preferencelist=("html",)).get_content()
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    plain = message.get_body(preferencelist=("plain",)).get_content()

    assert REJECTED_ROWS_SENTENCE in text
    assert REJECTED_VALUE_SENTENCE in text
    assert REJECTED_ROWS_SENTENCE in plain
    assert REJECTED_VALUE_SENTENCE in plain


def test_digest_counts_repeated_deal_rows(tmp_path):
    run_dir = _run_with_rejected_rows(tmp_path, 12, REJECTED_VALUE)
    row_counts = pd.DataFrame(
        {
            "kind": [
                "opportunity",
                "repeat of accepted",
                "repeat of rejected",
                "blank",
            ],
            "rows": [3, 1, 0, 0],
        }
    )
    row_counts.to_parquet(run_dir / "tables" / "dq_rejected_rows.parquet")

    plain = delivery._plain_text(
        run_dir, json.loads((run_dir / "manifest.json").read_text())
    )

    assert (
        "4 opportunity rows were rejected: 3 opportunities worth USD 50,000 "
        "(won USD 40,000, open USD 10,000) are left out of these figures, and "
        "1 row repeats an accepted opportunity; see Data quality."
    ) in " ".join(plain.split())


def test_digest_of_older_run_counts_rows(tmp_path):
    run_dir = _run_with_rejected_rows(tmp_path, 1)

    plain = delivery._plain_text(
        run_dir, json.loads((run_dir / "manifest.json").read_text())
    )

    assert "1 input row was rejected." in plain
    assert "rejected opportunit" not in plain


def test_digest_points_to_data_quality_page(tmp_path):
    run_dir = _run_with_rejected_rows(tmp_path, 12, REJECTED_VALUE)

    plain = delivery._plain_text(
        run_dir, json.loads((run_dir / "manifest.json").read_text())
    )
    text = " ".join(plain.split())

    assert (
        "12 input rows were rejected. The report's Data quality page lists each "
        "with its reason."
    ) in text
    assert "rejected_rows.csv" not in text
    assert "run folder" not in text


def test_digest_without_rejected_rows(tmp_path):
    empty = REJECTED_VALUE.iloc[0:0]
    run_dir = _run_with_rejected_rows(tmp_path, 0, empty)

    message = delivery.build_message(run_dir, "a@b.c", "r@x")
    html = message.get_body(preferencelist=("html",)).get_content()
    plain = message.get_body(preferencelist=("plain",)).get_content()

    assert "rejected" not in html
    assert "rejected" not in plain
