"""Blocks of the attribution page that read won-revenue credit."""

from __future__ import annotations

from acctlib.attribution import report

CREDIT_BLOCKS = [
    report.answer_note,
    lambda ws: report.plot_shares(ws, "channel"),
    lambda ws: report.comparison_table(ws, "channel"),
    report.rank_correlation_table,
    lambda ws: report.credit_table(ws, "channel"),
    report.top_campaigns_table,
    report.plot_intervals,
    report.plot_windows,
    report.learned_weights_table,
    report.coverage_table,
]
"""Each returns a note instead of a chart or table when no won deal has a touch."""
