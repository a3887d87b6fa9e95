"""Altair theme, offline chart display and the chart builders of the report.

Charts in a notebook are shown with :func:`show`, which emits a ``<div>``
and a short script calling ``vegaEmbed``. The vega, vega-lite and
vega-embed libraries are inlined once per notebook by
:func:`enable_offline`, so the exported HTML draws every chart from disk
with no network. Builders aggregate before plotting: a chart never carries
more rows than altair's default limit of 5,000.

Dates reach the charts as text (``YYYY-MM``) on ordinal axes, because
vega applies the browser's time zone to temporal fields and a reader west
of UTC would see every date one day early. A builder that needs a temporal
axis uses ``utc`` time units (``utcyearmonth``) for the same reason.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import textwrap
from pathlib import Path

import altair as alt
import pandas as pd
from IPython.display import HTML

from acctlib.labels import WON_PLUS_OPEN_ACV, readable_column

CACHE_DIR = Path(__file__).resolve().parent.parent / ".acctlib-work" / "cache"
# The first seven colours are the report's own. The rest, several from
# Tableau 20, give up to 20 categories (such as the sample's 15 channels)
# each a colour of its own instead of repeating the seven.
PALETTE = [
    "#1f4e79",
    "#2e86c1",
    "#48c9b0",
    "#f4d03f",
    "#e67e22",
    "#c0392b",
    "#7f8c8d",
    "#8e44ad",
    "#54a24b",
    "#ff9da6",
    "#9d755d",
    "#b6992d",
    "#85c1e9",
    "#d81b60",
    "#17202a",
    "#88d27a",
    "#f5cba7",
    "#b279a2",
    "#4a235a",
    "#00838f",
]
# Width in pixels of a chart's plot area over a continuous axis, which
# fits the page column beside the axis title and legend.
CHART_WIDTH = 560
# Characters per line of a chart subtitle, about CHART_WIDTH at vega's
# default subtitle font.
SUBTITLE_WIDTH = 90
STATUS_ORDER = ["customer", "open_opportunity", "churned", "lost", "prospect"]
STATUS_LABELS = {
    "customer": "Customer",
    "open_opportunity": "Open opportunity",
    "churned": "Churned",
    "lost": "Lost",
    "prospect": "Prospect",
}


@alt.theme.register("acctlib", enable=True)
def acctlib_theme() -> alt.theme.ThemeConfig:
    """Return the report theme: system fonts, quiet grid, the report palette."""
    font = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
    return {
        "config": {
            "font": font,
            "view": {
                "stroke": None,
                "continuousWidth": CHART_WIDTH,
                "continuousHeight": 280,
            },
            "range": {"category": PALETTE},
            "axis": {"labelFontSize": 12, "titleFontSize": 12, "gridColor": "#eeeeee"},
            "title": {"fontSize": 15, "anchor": "start", "fontWeight": 600},
            "legend": {"labelFontSize": 12, "titleFontSize": 12},
        }
    }


@functools.cache
def vega_bundle() -> str:
    """Return the vega, vega-lite and vega-embed JavaScript as one bundle.

    vl-convert takes about two seconds to assemble the bundle, so it is
    cached on disk per vl-convert and vega-lite version.
    """
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    vl_version = vl_version_for_vl_convert()
    cache = CACHE_DIR / f"vega-bundle-{vl_convert.__version__}-{vl_version}.js"
    if cache.is_file():
        return cache.read_text(encoding="utf-8")
    bundle = vl_convert.javascript_bundle(vl_version=vl_version)
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(bundle, encoding="utf-8")
    partial.replace(cache)
    return bundle


def offline_scripts_html() -> str:
    """Return a ``<script>`` element that defines ``vegaEmbed`` without network."""
    bundle = vega_bundle().replace("</script", "<\\/script")
    return f'<script type="text/javascript">\n{bundle}\n</script>'


def enable_offline() -> None:
    """Display the inlined chart libraries once, at the top of a notebook."""
    from IPython.display import HTML, display

    display(HTML(offline_scripts_html()))


def _spec_json(chart: alt.TopLevelMixin) -> str:
    spec = json.dumps(chart.to_dict(), sort_keys=True, separators=(",", ":"))
    # Escape sequences that could end the script element or open a comment,
    # so names typed into the CRM can never break out of the chart data.
    return spec.replace("</", "<\\/").replace("<!--", "<\\!--")


def static_svg(chart: alt.TopLevelMixin) -> str:
    """Return ``chart`` drawn as an SVG document by vl-convert, without network.

    Text in the SVG (labels, titles) is XML-escaped by vega's SVG renderer,
    so names from the CRM stay text when the SVG is placed in HTML.
    """
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    svg = vl_convert.vegalite_to_svg(
        chart.to_dict(),
        vl_version=vl_version_for_vl_convert(),
        allowed_base_urls=[],
    )
    return svg.removeprefix('<?xml version="1.0" encoding="utf-8"?>').strip()


def chart_html(chart: alt.TopLevelMixin) -> str:
    """Return the HTML that draws ``chart`` with the inlined vegaEmbed.

    A static SVG of the same chart sits in a ``<noscript>`` element, so the
    chart also shows where scripts are off, and the email digest reuses it.
    """
    spec = _spec_json(chart)
    chart_id = "chart-" + hashlib.sha256(spec.encode("utf-8")).hexdigest()[:12]
    options = json.dumps({"actions": False, "renderer": "svg"})
    return (
        f'<div class="acctlib-chart" id="{chart_id}">'
        f'<noscript class="acctlib-static">{static_svg(chart)}</noscript></div>\n'
        '<script type="text/javascript">\n'
        f'vegaEmbed("#{chart_id}", {spec}, {options})'
        ".catch(function (error) { console.error(error); });\n"
        "</script>"
    )


def show(chart: alt.TopLevelMixin | HTML) -> None:
    """Display ``chart`` in a notebook so that it renders offline after export.

    An IPython ``HTML`` object, such as a note that explains why a section
    has no chart, is displayed as it is.
    """
    from IPython.display import display

    if isinstance(chart, HTML):
        display(chart)
        return
    if _has_no_rows(chart):
        display(no_data_note(_chart_title(chart), NO_ROWS_REASON))
        return
    display(HTML(chart_html(chart)))


NO_ROWS_REASON = "There are no rows to plot as of the report date."
"""Reason :func:`show` gives in place of a chart whose data has no rows."""


def _chart_frames(chart: alt.TopLevelMixin) -> list[pd.DataFrame]:
    """Return the DataFrames that ``chart`` and its layers or panels plot."""
    frames = []
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        frames.append(data)
    for attribute in ("layer", "hconcat", "vconcat", "concat"):
        parts = getattr(chart, attribute, alt.Undefined)
        if isinstance(parts, list):
            for part in parts:
                frames.extend(_chart_frames(part))
    return frames


def _has_no_rows(chart: alt.TopLevelMixin) -> bool:
    """Return whether every DataFrame ``chart`` plots is empty."""
    frames = _chart_frames(chart)
    return bool(frames) and all(frame.empty for frame in frames)


def _chart_title(chart: alt.TopLevelMixin) -> str:
    """Return the title text of ``chart`` or of its first titled layer."""
    title = getattr(chart, "title", alt.Undefined)
    if isinstance(title, alt.TitleParams):
        title = title.text
    if isinstance(title, list):
        title = " ".join(str(line) for line in title)
    if isinstance(title, str) and title:
        return title
    for attribute in ("layer", "hconcat", "vconcat", "concat"):
        parts = getattr(chart, attribute, alt.Undefined)
        if isinstance(parts, list):
            for part in parts:
                text = _chart_title(part)
                if text != "Chart":
                    return text
    return "Chart"


def no_data_note(title: str, reason: str) -> HTML:
    """Return a note in place of the chart ``title`` when it has no data.

    A chart of no rows would draw empty axes and, in its static SVG, NaN
    for the colour scale, so the page states why the chart is missing.
    """
    from html import escape

    return HTML(
        f'<p class="note"><strong>{escape(title)}</strong>: No data. '
        f"{escape(reason)}</p>"
    )


def count_axis(number_format: str = ",d") -> alt.Axis:
    """Return an axis for counts, with ticks on whole numbers only.

    Without a minimum step, a scale up to a few accounts puts ticks at
    0.2, 0.4 and so on, which no count can take.
    """
    return alt.Axis(tickMinStep=1, format=number_format)


def plot_accounts_by_status(counts: pd.DataFrame) -> alt.Chart:
    """Bar chart of accounts per status.

    ``counts`` has columns ``status`` (one of STATUS_ORDER) and ``accounts``.
    """
    data = counts.assign(label=counts["status"].map(STATUS_LABELS))
    order = [STATUS_LABELS[status] for status in STATUS_ORDER]
    return (
        alt.Chart(data, title="Accounts by status")
        .mark_bar()
        .encode(
            x=alt.X("accounts:Q", title="Accounts", axis=count_axis()),
            y=alt.Y("label:N", sort=order, title=None),
            color=alt.Color("label:N", sort=order, legend=None),
            tooltip=[
                alt.Tooltip("label:N", title="Status"),
                alt.Tooltip("accounts:Q", title="Accounts", format=","),
            ],
        )
        .properties(height=180)
    )


def plot_bookings_by_month(bookings: pd.DataFrame, currency: str) -> alt.Chart:
    """Column chart of won bookings per month by deal type.

    ``bookings`` has columns ``month`` (first day of month), ``type`` and
    ``bookings`` (amount in the report currency).
    """
    data = readable_column(bookings, "type").assign(
        month=bookings["month"].dt.strftime("%Y-%m")
    )
    return (
        alt.Chart(data, title=f"Bookings by month ({currency})")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(
                "sum(bookings):Q",
                title=f"Bookings ({currency})",
                axis=alt.Axis(format="~s"),
            ),
            color=alt.Color("type:N", title="Deal type"),
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("type:N", title="Type"),
                alt.Tooltip("bookings:Q", title="Bookings", format=",.0f"),
            ],
        )
    )


def plot_pipeline_by_stage(pipeline: pd.DataFrame, currency: str) -> alt.Chart:
    """Bar chart of open pipeline per stage in process order.

    ``pipeline`` has columns ``stage``, ``order``, ``opportunities`` and
    ``amount``.
    """
    order = pipeline.sort_values("order")["stage"].tolist()
    return (
        alt.Chart(pipeline, title=f"Open pipeline by stage ({currency})")
        .mark_bar()
        .encode(
            y=alt.Y("stage:N", sort=order, title=None),
            x=alt.X(
                "amount:Q",
                title=f"Open amount ({currency})",
                axis=alt.Axis(format="~s"),
            ),
            tooltip=[
                alt.Tooltip("stage:N", title="Stage"),
                alt.Tooltip("opportunities:Q", title="Opportunities", format=","),
                alt.Tooltip("amount:Q", title="Amount", format=",.0f"),
            ],
        )
        .properties(height=200)
    )


def plot_value_by_segment(segments: pd.DataFrame, currency: str) -> alt.Chart | HTML:
    """Stacked bars of account value per segment and status.

    ``segments`` has columns ``segment``, ``status`` and ``value``, as
    :func:`acctlib.summary.summarize_value_by_segment` returns them. A
    missing ``value`` is unknown, not 0: its row gets no bar, and the
    subtitle names each segment whose value is missing for every status.
    Without any known value the chart is replaced by a note.
    """
    title = f"Account value by segment ({currency})"
    known = segments[segments["value"].notna()]
    unknown = sorted(set(segments["segment"]) - set(known["segment"]))
    if segments.empty:
        return no_data_note(title, "The account map has no accounts.")
    if known.empty:
        return no_data_note(
            title, "No account has a known value, because no deal has an amount."
        )
    if unknown:
        note = (
            f"No bar for {', '.join(unknown)}: value unknown, because no deal "
            "of their accounts has an amount."
        )
        # Vega draws each subtitle line as given, without wrapping.
        title = alt.Title(title, subtitle=textwrap.wrap(note, SUBTITLE_WIDTH))
    data = known.assign(label=known["status"].map(STATUS_LABELS))
    order = [STATUS_LABELS[status] for status in STATUS_ORDER]
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", sort="-x", title=None),
            x=alt.X(
                "sum(value):Q",
                title=f"{WON_PLUS_OPEN_ACV} ({currency})",
                axis=alt.Axis(format="~s"),
            ),
            color=alt.Color("label:N", sort=order, title="Status"),
            tooltip=[
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("label:N", title="Status"),
                alt.Tooltip("value:Q", title=WON_PLUS_OPEN_ACV, format=",.0f"),
            ],
        )
    )
