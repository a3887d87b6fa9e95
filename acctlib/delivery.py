"""The email digest of a run: a MIME message written to a file or sent by SMTP.

The body is HTML that common mail clients show as intended: inline styles,
no scripts, no external images. It carries the headline figures with
their change since the previous month-end, the largest movements and the
headline bookings forecast with its P10 to P90 range. The charts of the
executive summary follow as PNG images attached inline (``cid:``
references), converted from the static SVG each chart carries, each under
its title with its period note (see :mod:`acctlib.emailcharts`). The full
executive summary is attached without its links to the run's other pages,
and its navigation bar names the run folder that holds them instead.

SMTP settings come from environment variables (``ACCTLIB_SMTP_HOST``,
``ACCTLIB_SMTP_PORT``, ``ACCTLIB_SMTP_TLS`` as ``none``, ``starttls`` or
``ssl``, ``ACCTLIB_SMTP_USER``, ``ACCTLIB_SMTP_PASSWORD``,
``ACCTLIB_SMTP_FROM``) or from a YAML file named by
``ACCTLIB_SMTP_CONFIG`` (default ``~/.config/acctlib/smtp.yaml``) with the
keys host, port, tls, user, password and from. The file must live outside
the project, and nothing of these settings is written to any report.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from acctlib import emailcharts, glossary, movement, publish, rejectedvalue, tables
from acctlib.errors import AcctlibError
from acctlib.params import PROJECT_ROOT

logger = logging.getLogger(__name__)

SUMMARY_FILE = "00-executive-summary.html"
MAX_BODY_BYTES = 100_000
MAX_CHARTS = 4
DEFAULT_CONFIG = Path("~/.config/acctlib/smtp.yaml")
STATIC_CHART = emailcharts.STATIC_CHART
TLS_MODES = ("none", "starttls", "ssl")
# Inline styles: mail clients drop <style> elements and external sheets.
FONT = "font-family:Helvetica,Arial,sans-serif;color:#222222;"
CELL = "padding:4px 10px;border-bottom:1px solid #e5e5e5;text-align:left;"
NOTICE = "background:#fef5e7;border-left:6px solid #d68910;padding:8px 12px;"


class DeliveryError(AcctlibError):
    """The digest cannot be built or sent."""


@dataclass(frozen=True)
class SmtpSettings:
    """SMTP server address, TLS mode and credentials.

    The repr leaves out ``password``, so logging the settings shows no secret.
    """

    host: str
    port: int
    tls: str = "starttls"
    user: str | None = None
    password: str | None = None
    sender: str = "acctlib@localhost"

    def __repr__(self) -> str:
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, tls={self.tls!r}, "
            f"user={self.user!r}, sender={self.sender!r})"
        )


def load_smtp_settings(
    host_port: str | None = None, environ: dict[str, str] | None = None
) -> SmtpSettings:
    """Read SMTP settings from the environment and the config file.

    Environment variables win over the file; ``host_port`` (``HOST:PORT``,
    from the command line) wins over both for the server address.

    Raises
    ------
    DeliveryError
        When no host is configured, the port or TLS mode is invalid, or the
        config file lies inside the project folder.
    """
    environ = dict(os.environ if environ is None else environ)
    config = _read_config(
        Path(environ.get("ACCTLIB_SMTP_CONFIG", str(DEFAULT_CONFIG))).expanduser()
    )
    values = {key: config.get(key) for key in ("host", "port", "tls", "user")}
    values["password"] = config.get("password")
    values["from"] = config.get("from")
    for key in ("host", "port", "tls", "user", "password", "from"):
        env_value = environ.get(f"ACCTLIB_SMTP_{key.upper()}")
        if env_value:
            values[key] = env_value
    if host_port:
        values["host"], values["port"] = _split_host_port(host_port)
    return _settings_from(values)


def _split_host_port(host_port: str) -> tuple[str, str]:
    """Split the ``--smtp`` value ``HOST:PORT`` into host and port.

    Raises DeliveryError, with an example, when a part is missing or the
    port is not a number.
    """
    host, _, port = host_port.rpartition(":")
    if not host.strip() or not port.strip().isdigit():
        raise DeliveryError(
            f"invalid --smtp {host_port!r}; it takes the server as HOST:PORT, "
            "such as --smtp localhost:1025 or --smtp smtp.example.org:587"
        )
    return host.strip(), port.strip()


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    resolved = path.resolve()
    if resolved.is_relative_to(PROJECT_ROOT):
        raise DeliveryError(
            f"SMTP config file {path} is inside the project folder {PROJECT_ROOT}; "
            "move it outside the repository, for example to ~/.config/acctlib/"
        )
    try:
        content = yaml.safe_load(resolved.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise DeliveryError(
            f"SMTP config file {path} is not valid YAML: {error}"
        ) from error
    if not isinstance(content, dict):
        raise DeliveryError(f"SMTP config file {path} must be a mapping of keys")
    return content


def _settings_from(values: dict[str, Any]) -> SmtpSettings:
    if not values.get("host"):
        raise DeliveryError(
            "no SMTP host configured; pass --smtp HOST:PORT, set ACCTLIB_SMTP_HOST "
            f"or write host and port to {DEFAULT_CONFIG}"
        )
    tls = str(values.get("tls") or "starttls").lower()
    if tls not in TLS_MODES:
        raise DeliveryError(f"invalid SMTP TLS mode {tls!r}; use one of {TLS_MODES}")
    try:
        port = int(values.get("port") or (465 if tls == "ssl" else 587))
    except ValueError as error:
        raise DeliveryError(f"invalid SMTP port {values.get('port')!r}") from error
    return SmtpSettings(
        host=str(values["host"]),
        port=port,
        tls=tls,
        user=values.get("user"),
        password=values.get("password"),
        sender=str(values.get("from") or "acctlib@localhost"),
    )


def build_message(run_dir: str | Path, to: str, sender: str) -> EmailMessage:
    """Return the digest of the run in ``run_dir`` addressed to ``to``.

    Raises
    ------
    DeliveryError
        When ``to`` is not a list of e-mail addresses, the run has no
        manifest or executive summary, or the HTML body would exceed
        :data:`MAX_BODY_BYTES`.
    """
    _check_recipients(to)
    run_dir = Path(run_dir)
    manifest = _read_manifest(run_dir)
    summary_path = run_dir / SUMMARY_FILE
    if not summary_path.is_file():
        raise DeliveryError(f"{summary_path} not found; build the report first")
    summary_html = summary_path.read_text(encoding="utf-8")
    page_charts = emailcharts.find_charts(summary_html)[:MAX_CHARTS]
    charts = [_chart_png(chart.svg) for chart in page_charts]
    cids = [make_msgid(domain="acctlib.local") for _ in charts]

    body = render_body(
        run_dir,
        manifest,
        [
            EmailChart(cid[1:-1], chart.title, chart.subtitle, chart.period_note)
            for cid, chart in zip(cids, page_charts, strict=True)
        ],
    )
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        raise DeliveryError(
            f"email body is {len(body.encode('utf-8')):,} bytes, over the limit of "
            f"{MAX_BODY_BYTES:,}; the headline or movements are too long"
        )

    message = EmailMessage()
    message["Subject"] = _subject(manifest)
    message["From"] = sender
    message["To"] = to
    # The date header comes from the manifest so that the same run always
    # gives the same message.
    message["Date"] = formatdate(_generated_timestamp(manifest), usegmt=True)
    message.set_content(_plain_text(run_dir, manifest))
    message.add_alternative(body, subtype="html")
    html_part = message.get_payload()[1]
    for cid, png in zip(cids, charts, strict=True):
        html_part.add_related(png, maintype="image", subtype="png", cid=cid)
    message.add_attachment(
        detach_page(summary_html, manifest["run"]).encode("utf-8"),
        maintype="text",
        subtype="html",
        filename=f"executive-summary-{manifest['run']}.html",
        params={"charset": "utf-8"},
    )
    return message


# The navigation bar of report pages, as templates/report/index.html.j2
# writes it, its run label, and a link to a relative address such as
# "01-account-map.html". A link within the page ("#...") or with a scheme
# ("https:") is not relative. The exported page has each element's
# attributes in alphabetical order, not the template's, so no pattern
# relies on the order of attributes.
NAV_BAR = re.compile(r'<nav\b[^>]*\bclass="acctlib-nav"[^>]*>.*?</nav>', re.DOTALL)
RUN_LABEL = re.compile(r'<span\b[^>]*\bclass="run"[^>]*>.*?</span>', re.DOTALL)
RELATIVE_LINK = re.compile(
    r'<a\b[^>]*?\bhref="(?!#|[a-zA-Z][a-zA-Z0-9+.-]*:)[^"]*"[^>]*>(.*?)</a>',
    re.DOTALL,
)


def detach_page(page: str, run: str) -> str:
    """Remove the links of a report page that lead to the other pages of its run.

    An attached page opens from the mail without its run folder, so such
    links are dead. The navigation bar becomes a line saying that the
    other sections are in the folder of ``run``, followed by the as-of
    date, and any other link to a relative address becomes its plain text.
    """

    def replace_nav(nav: re.Match[str]) -> str:
        label = RUN_LABEL.search(nav.group(0))
        where = html.escape(
            f"The other sections of this report are in its run folder, {run}."
        )
        return (
            '<nav class="acctlib-nav" aria-label="Report sections">'
            f"<span>{where}</span>"
            f"{label.group(0) if label else ''}</nav>"
        )

    page = NAV_BAR.sub(replace_nav, page)
    return RELATIVE_LINK.sub(r"\1", page)


ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_recipients(to: str) -> None:
    """Raise unless ``to`` lists e-mail addresses, separated by commas.

    A typo such as a missing @ would otherwise surface only as an SMTP
    rejection, or not at all in an .eml file.
    """
    addresses = [address for _, address in getaddresses([to])]
    invalid = [text for text in addresses if not ADDRESS.fullmatch(text)]
    if not addresses or invalid:
        raise DeliveryError(
            f"invalid recipient address {to!r}; give one or more addresses "
            "such as ann@example.com, separated by commas"
        )


def _read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    if not path.is_file():
        raise DeliveryError(f"{run_dir} is not a report run: manifest.json not found")
    return json.loads(path.read_text(encoding="utf-8"))


# Mixed-case SVG names that Python's html.parser lower-cases. nbconvert's
# HTMLExporter (7.17) rewrites every page through it, so the static SVG read
# back from a page has ``lineargradient`` and ``viewbox``. Browsers restore
# the case when they parse SVG inside HTML, but resvg, which vl-convert uses
# for PNGs, parses XML and then ignores the gradient of a colour legend.
# The names are those of the HTML standard's SVG case adjustments for
# gradients, clips, patterns, masks, text paths and scaling.
SVG_TAG_NAMES = {
    name.lower(): name
    for name in (
        "clipPath",
        "foreignObject",
        "linearGradient",
        "radialGradient",
        "textPath",
    )
}
SVG_ATTRIBUTE_NAMES = {
    name.lower(): name
    for name in (
        "clipPathUnits",
        "gradientTransform",
        "gradientUnits",
        "lengthAdjust",
        "maskContentUnits",
        "maskUnits",
        "pathLength",
        "patternContentUnits",
        "patternTransform",
        "patternUnits",
        "preserveAspectRatio",
        "spreadMethod",
        "startOffset",
        "textLength",
        "viewBox",
    )
}
SVG_TAG = re.compile(r"<[^<>]+>")
SVG_TAG_NAME = re.compile(r"^(</?)([a-z]+)")
SVG_ATTRIBUTE_NAME = re.compile(r"(\s)([a-z]+)(?==)")


def restore_svg_case(svg: str) -> str:
    """Return ``svg`` with the mixed-case SVG element and attribute names restored.

    Only the inside of tags changes. Text and attribute values stay as they
    are, because the page escapes every ``<`` and ``>`` in them.
    """

    def fix_tag(tag: re.Match[str]) -> str:
        text = SVG_TAG_NAME.sub(
            lambda m: m.group(1) + SVG_TAG_NAMES.get(m.group(2), m.group(2)),
            tag.group(0),
        )
        return SVG_ATTRIBUTE_NAME.sub(
            lambda m: m.group(1) + SVG_ATTRIBUTE_NAMES.get(m.group(2), m.group(2)),
            text,
        )

    return SVG_TAG.sub(fix_tag, svg)


def _chart_png(svg: str) -> bytes:
    import vl_convert

    return vl_convert.svg_to_png(restore_svg_case(svg), scale=1.0)


def _subject(manifest: dict[str, Any]) -> str:
    return publish.run_title(manifest)


def _generated_timestamp(manifest: dict[str, Any]) -> float:
    moment = pd.Timestamp(manifest["generated_at"].replace("Z", "+00:00"))
    return moment.timestamp()


@dataclass(frozen=True)
class EmailChart:
    """A chart image of the digest: its Content-ID and the text shown with it.

    ``title``, ``subtitle`` and ``period_note`` are the chart's, as
    :class:`acctlib.emailcharts.PageChart` has them, and may be empty.
    """

    cid: str
    title: str = ""
    subtitle: str = ""
    period_note: str = ""


def render_body(
    run_dir: Path, manifest: dict[str, Any], charts: list[EmailChart]
) -> str:
    """Return the inline-styled HTML body of the digest.

    Each chart gets its title as heading and alternative text, then its
    subtitle and period note, so it reads without the page around it.
    """
    currency = manifest["params"]["report_currency"]
    cards, sentences = _month_over_month(
        run_dir, manifest["headline"], currency, manifest["as_of"]
    )

    parts = [
        f'<h1 style="{FONT}font-size:20px;color:#1f4e79;">'
        f"{html.escape(_subject(manifest))}</h1>",
    ]
    notice = publish.slice_notice(manifest)
    if notice:
        parts.append(f'<p style="{FONT}{NOTICE}">{html.escape(notice)}</p>')
    parts.append(_cards_html(cards))
    for sentence in _rejected_sentences(run_dir, manifest):
        parts.append(f'<p style="{FONT}font-size:13px;">{html.escape(sentence)}</p>')
    if sentences:
        items = "".join(
            f'<li style="{FONT}margin:2px 0;">{html.escape(s)}</li>' for s in sentences
        )
        parts.append(f'<h2 style="{FONT}font-size:16px;">Largest movements</h2>')
        parts.append(f"<ul>{items}</ul>")
    parts.append(_forecast_html(manifest, currency))

    if charts:
        parts.append(
            f'<h2 style="{FONT}font-size:16px;">Charts from the executive summary</h2>'
        )
    parts += [_chart_html(chart) for chart in charts]
    # The command that reproduces the run stays in the attached page's
    # footer, because the executives who read the mail cannot run it.
    parts.append(
        f'<p style="{FONT}font-size:12px;color:#666666;">The full executive summary '
        "is attached; open it in a browser.</p>"
    )
    body = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="{FONT}margin:0;padding:16px;">{"".join(parts)}</body></html>'
    )
    return glossary.define_first_uses(body)


def _chart_html(chart: EmailChart) -> str:
    title = chart.title or "Chart from the executive summary"
    parts = [
        f'<h3 style="{FONT}font-size:14px;margin:16px 0 4px;">{html.escape(title)}</h3>'
    ]
    for text in (chart.subtitle, chart.period_note):
        if text:
            parts.append(
                f'<p style="{FONT}font-size:13px;margin:0 0 4px;">'
                f"{html.escape(text)}</p>"
            )
    alt = f"{title}: {chart.subtitle}" if chart.subtitle else title
    parts.append(
        f'<p><img src="cid:{chart.cid}" alt="{html.escape(alt)}" '
        'style="max-width:100%;height:auto;border:0;"></p>'
    )
    return "".join(parts)


def _month_over_month(
    run_dir: Path, headline: dict[str, Any], currency: str, as_of: str
) -> tuple[list[dict[str, str]], list[str]]:
    """Return the headline cards and movement sentences of a run."""
    changes = _read_table(run_dir, "headline_changes")
    if changes is None:
        return tables.headline_cards(headline, currency, as_of), []
    movements = _read_table(run_dir, "account_movements")
    if movements is None:
        movements = pd.DataFrame(columns=["column", "current", "name"])
    cards = movement.headline_cards_with_change(headline, changes, currency, as_of)
    reversed_bookings = _read_table(run_dir, "reversed_bookings")
    sentences = movement.describe_movements(
        changes, movements, currency, reversed_bookings, as_of=as_of
    )
    return cards, sentences


def _rejected_sentences(run_dir: Path, manifest: dict[str, Any]) -> list[str]:
    """Return the sentences on rejected input rows, or none when none were.

    The second sentence, on what the rejected opportunities are worth, is
    the one beside the executive summary's headline. A run built before
    the ``dq_rejected_value`` table existed gets only the first.
    """
    count = int(manifest.get("rejected_rows", 0))
    if count == 0:
        return []
    rows = "input row was" if count == 1 else "input rows were"
    sentences = [
        # Readers of the digest may have no access to the run folder and its
        # rejected_rows.csv, so the sentence points to the report's page.
        f"{count:,} {rows} rejected. The report's Data quality page lists each "
        "with its reason."
    ]
    summary = _read_table(run_dir, "dq_rejected_value")
    if summary is not None:
        currency = manifest["params"]["report_currency"]
        value = rejectedvalue.describe_rejected_value(
            summary,
            currency,
            publish.slice_label(manifest),
            _read_table(run_dir, "dq_rejected_rows"),
        )
        if value is not None:
            sentences.append(value)
    return sentences


def _read_table(run_dir: Path, name: str) -> pd.DataFrame | None:
    path = run_dir / "tables" / f"{name}.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def _cards_html(cards: list[dict[str, str]]) -> str:
    rows = "".join(
        f'<tr><td style="{FONT}{CELL}">{html.escape(card["label"])}</td>'
        f'<td style="{FONT}{CELL}font-weight:bold;text-align:right;">'
        f"{html.escape(card['value'])}</td>"
        f'<td style="{FONT}{CELL}color:#555555;">{html.escape(card.get("change", ""))}'
        "</td></tr>"
        for card in cards
    )
    return (
        f'<table style="border-collapse:collapse;" role="presentation">{rows}</table>'
    )


def _forecast_figures(headline: dict[str, Any], currency: str) -> list[tuple[str, str]]:
    """Return label/value pairs of the headline forecast, or an empty list.

    The figures and labels match the forecast cards of the executive summary.
    """
    forecast = headline.get("forecast")
    if not isinstance(forecast, dict) or forecast.get("forecast") is None:
        return []
    period = f"{forecast['window_start']} to {forecast['window_end']}"
    return [
        (
            f"Bookings forecast, {period}",
            tables.format_money(forecast["forecast"], currency),
        ),
        (
            "Range, P10 to P90",
            f"{tables.format_money(forecast.get('p10'), currency)} to "
            f"{tables.format_money(forecast.get('p90'), currency)}",
        ),
        ("Method", forecast.get("label", "")),
    ]


def _forecast_caveats(manifest: dict[str, Any]) -> list[str]:
    """Return the sentences that qualify the headline forecast.

    In a sliced run the first one states that the forecast covers the
    whole company. The last one is the backtest's verdict on the best
    method's P10 to P90 range, the sentence the forecast page shows beside
    it.
    """
    forecast = manifest["headline"].get("forecast") or {}
    sentences = []
    label = publish.slice_label(manifest)
    if label:
        sentences.append(
            f"The forecast covers the whole company, not only the accounts of {label}."
        )
    if forecast.get("reliability"):
        sentences.append(forecast["reliability"])
    return sentences


def _forecast_html(manifest: dict[str, Any], currency: str) -> str:
    """Return the headline forecast with its P10 to P90 range, or an empty string."""
    figures = _forecast_figures(manifest["headline"], currency)
    if not figures:
        return ""
    rows = "".join(
        f'<tr><td style="{FONT}{CELL}">{html.escape(label)}</td>'
        f'<td style="{FONT}{CELL}text-align:right;">{html.escape(value)}</td></tr>'
        for label, value in figures
    )
    caveats = "".join(
        f'<p style="{FONT}font-size:13px;">{html.escape(sentence)}</p>'
        for sentence in _forecast_caveats(manifest)
    )
    return (
        f'<h2 style="{FONT}font-size:16px;">Forecast</h2>'
        f'<table style="border-collapse:collapse;" role="presentation">{rows}</table>'
        f"{caveats}"
    )


def _plain_text(run_dir: Path, manifest: dict[str, Any]) -> str:
    """Return the digest for mail readers without HTML, with the HTML part's figures."""
    currency = manifest["params"]["report_currency"]
    cards, sentences = _month_over_month(
        run_dir, manifest["headline"], currency, manifest["as_of"]
    )
    lines = [_subject(manifest), ""]
    notice = publish.slice_notice(manifest)
    if notice:
        lines += [notice, ""]
    for card in cards:
        change = f" ({card['change']})" if card.get("change") else ""
        lines.append(f"{card['label']}: {card['value']}{change}")
    rejected = _rejected_sentences(run_dir, manifest)
    if rejected:
        lines += ["", *rejected]
    if sentences:
        lines += ["", "Largest movements"]
        lines += [f"- {sentence}" for sentence in sentences]
    forecast = _forecast_figures(manifest["headline"], currency)
    if forecast:
        lines += ["", "Forecast"]
        lines += [f"{label}: {value}" for label, value in forecast]
        lines += _forecast_caveats(manifest)
    lines += ["", "The full executive summary is attached."]
    return "\n".join(lines) + "\n"


def write_eml(message: EmailMessage, target: Path) -> Path:
    """Write ``message`` as an .eml file."""
    target.write_bytes(bytes(message))
    return target


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Send ``message`` through the SMTP server of ``settings``.

    Raises
    ------
    DeliveryError
        When the server cannot be reached or rejects the message.
    """
    client_class = smtplib.SMTP_SSL if settings.tls == "ssl" else smtplib.SMTP
    try:
        with client_class(settings.host, settings.port, timeout=30) as client:
            if settings.tls == "starttls":
                client.starttls()
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(
            f"sending mail through {settings.host}:{settings.port} failed: {error}"
        ) from error
    logger.info("sent %s to %s", message["Subject"], message["To"])
