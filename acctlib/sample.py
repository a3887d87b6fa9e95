"""Seeded sample CRM in the canonical layout.

The sample simulates a B2B software company that sells annual and
multi-year subscriptions, priced in USD and, for some UK and euro-area
customers, in GBP or EUR. Over ``months`` months up to the end date:

- Accounts are companies in ten industries and four regions, with lognormal
  head counts. Most were imported before the window starts, the rest added
  as the business grew. About 15% are target accounts, mostly big ones.
- Marketing nurtures every account. Prospects get new-business
  opportunities, sourced by marketing, SDRs, partners or AEs, until one is
  won. After a loss the account pauses, then gets a new attempt.
- Deal values are lognormal and grow with company size. Sales cycles run
  30 to 270 days and grow with value. Close dates bunch at quarter ends,
  above all in the fourth quarter.
- Sales activity rises before a win and fades before a loss.
- A won deal starts a contract on the first of the next month. Customers buy
  expansions, co-termed to the contract, and a renewal opportunity opens 75
  to 120 days before each term ends. Lost renewals are churn: customer
  success activity and product usage fade and support tickets pile up in
  the months before.
- Revenue is recognised monthly at the annual contract value divided by 12
  while a contract runs.

The steps live in ``acctlib.sample_*`` modules, one concept each. Nothing is
dated after the end date except the expected close date of open deals.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from acctlib.errors import ParameterError
from acctlib.params import load_declarations
from acctlib.sample_accounts import AccountDraw, generate_accounts
from acctlib.sample_csv import write_canonical_csv
from acctlib.sample_deals import USD_PER_UNIT, generate_deals
from acctlib.sample_revenue import generate_revenue, generate_signals
from acctlib.sample_stages import StageMap, build_opportunities, generate_stage_history
from acctlib.sample_time import month_of, month_start, to_day, to_timestamps
from acctlib.sample_touches import generate_touchpoints
from acctlib.schema import TABLES, pandas_dtype

logger = logging.getLogger(__name__)

SAMPLE_END = dt.date(2026, 6, 30)
DEFAULT_SEED = 20260630
FILE_FORMATS = ("csv", "parquet")


def generate_sample(
    *,
    seed: int = DEFAULT_SEED,
    accounts: int = 2000,
    end_date: dt.date = SAMPLE_END,
    months: int = 36,
    touch_scale: float = 1.0,
) -> dict[str, pd.DataFrame]:
    """Generate the sample CRM tables.

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``. The same seed gives the same
        tables.
    accounts
        Number of accounts. Opportunities (about 3 per account), touchpoints
        (about 150 per account) and revenue rows grow in proportion.
    end_date
        Last day of the sample and the as-of date of its report.
    months
        Length of the history in calendar months, ending with the month of
        ``end_date``.
    touch_scale
        Factor on the expected number of touches of every account, deal
        and customer period: 0.5 draws about half as many touchpoints with
        the same mix of kinds and timing. Accounts, opportunities, stage
        history and revenue stay the same. The signals are drawn after the
        touches, so their random draws differ.

    Returns
    -------
    dict[str, pandas.DataFrame]
        ``accounts``, ``opportunities``, ``stage_history``, ``touchpoints``,
        ``revenue`` and ``signals``, each with the canonical columns and
        dtypes of :data:`acctlib.schema.TABLES`, sorted by primary key or by
        id and time.

    Raises
    ------
    acctlib.errors.ParameterError
        When ``seed`` is negative, ``accounts`` or ``months`` is below 1,
        ``touch_scale`` is not above 0, or ``end_date`` is not a
        ``datetime.date``.

    Notes
    -----
    The draws come from one PCG64 stream. NOTE: NumPy keeps
    ``Generator`` streams stable within a version but does not promise it
    across versions, so another NumPy may give other tables for a seed.
    """
    _check_arguments(
        seed=seed,
        accounts=accounts,
        end_date=end_date,
        months=months,
        touch_scale=touch_scale,
    )
    rng = np.random.default_rng(seed)
    end_day = to_day(end_date)
    start_day = _window_start(end_day, months)
    stages = StageMap.from_mapping(load_declarations()["stage_map"].default)

    account_draw = generate_accounts(rng, accounts, start_day, end_day)
    deals, terms = _generate_opportunities(
        rng, account_draw, start_day, end_day, stages
    )
    history = generate_stage_history(rng, deals, account_draw, end_day, stages)
    opportunities = build_opportunities(rng, deals, history, account_draw, stages)
    touchpoints = generate_touchpoints(
        rng, account_draw, deals, terms, start_day, end_day, touch_scale
    )
    revenue = generate_revenue(deals, terms, account_draw, end_day)
    signals = generate_signals(rng, terms, revenue, account_draw, end_day)

    tables = {
        "accounts": account_draw.frame,
        "opportunities": opportunities,
        "stage_history": _stage_history_table(history, opportunities),
        "touchpoints": touchpoints,
        "revenue": revenue,
        "signals": signals,
    }
    return {name: _to_canonical(name, frame) for name, frame in tables.items()}


def write_sample(
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    accounts: int = 2000,
    end_date: dt.date = SAMPLE_END,
    months: int = 36,
    file_format: str = "csv",
    touch_scale: float = 1.0,
) -> dict[str, int]:
    """Generate the sample CRM and write one file per table into ``out_dir``.

    Tables are written as ``<table>.csv`` in the canonical CSV conventions
    (see :mod:`acctlib.sample_csv`) or as ``<table>.parquet``, next to a
    ``README.md`` that describes the files, the seed and the end date. Files
    of the same name are replaced, and other files in ``out_dir`` are kept.
    The other parameters are those of :func:`generate_sample`.

    Returns
    -------
    dict[str, int]
        Rows written per table.
    """
    if file_format not in FILE_FORMATS:
        raise ParameterError(
            f"invalid file_format {file_format!r}; use one of {', '.join(FILE_FORMATS)}"
        )
    tables = generate_sample(
        seed=seed,
        accounts=accounts,
        end_date=end_date,
        months=months,
        touch_scale=touch_scale,
    )

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        path = out_dir / f"{name}.{file_format}"
        if file_format == "csv":
            write_canonical_csv(name, frame, path)
        else:
            frame.to_parquet(path, index=False)
    rows = {name: len(frame) for name, frame in tables.items()}
    _write_readme(
        out_dir,
        rows,
        seed=seed,
        end_date=end_date,
        months=months,
        file_format=file_format,
        touch_scale=touch_scale,
    )

    logger.info("wrote sample CRM to %s: %s", out_dir, rows)
    return rows


def _generate_opportunities(
    rng: np.random.Generator,
    accounts: AccountDraw,
    start_day: int,
    end_day: int,
    stages: StageMap,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw deals and contract terms, and put deals in opportunity-id order.

    Opportunity ids follow creation time, then account, so ``O000001`` is
    the first deal created. See :class:`acctlib.sample_deals.DealDraw` for
    the columns of both frames.
    """
    draw = generate_deals(rng, accounts, start_day, end_day, len(stages.open_stages))
    order = np.lexsort(
        (draw.deals["account"].to_numpy(), draw.deals["created"].to_numpy())
    )
    return draw.deals.iloc[order].reset_index(drop=True), draw.terms


def _stage_history_table(
    history: pd.DataFrame, opportunities: pd.DataFrame
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": opportunities["opportunity_id"].to_numpy()[
                history["deal"]
            ],
            "stage": history["stage"].to_numpy(),
            "entered_at": to_timestamps(history["entered"].to_numpy()),
        }
    )


def _to_canonical(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the canonical columns of ``table``, in order and dtype."""
    columns = {}
    for spec in TABLES[table].columns:
        if spec.name not in frame and not spec.required:
            # The sample leaves optional columns it does not model empty.
            frame = frame.assign(**{spec.name: None})
        column = frame[spec.name].reset_index(drop=True)
        dtype = pd.api.types.pandas_dtype(pandas_dtype(spec.kind))
        columns[spec.name] = column if column.dtype == dtype else column.astype(dtype)
    return pd.DataFrame(columns)


def _window_start(end_day: int, months: int) -> int:
    """Return the day number of the first day of the sample's first month."""
    last_month = int(month_of(np.array([end_day]))[0])
    return int(month_start(np.array([last_month - months + 1]))[0])


def _check_arguments(
    *, seed: int, accounts: int, end_date: dt.date, months: int, touch_scale: float
) -> None:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"invalid seed {seed!r}; use an integer of 0 or more")
    if not isinstance(accounts, (int, np.integer)) or accounts < 1:
        raise ParameterError(
            f"invalid accounts {accounts!r}; use an integer of 1 or more"
        )
    if not isinstance(months, (int, np.integer)) or months < 1:
        raise ParameterError(f"invalid months {months!r}; use an integer of 1 or more")
    if (
        isinstance(touch_scale, bool)
        or not isinstance(touch_scale, (int, float, np.integer, np.floating))
        or not 0 < touch_scale < float("inf")
    ):
        raise ParameterError(
            f"invalid touch_scale {touch_scale!r}; use a number above 0, such as 0.5"
        )
    if not isinstance(end_date, dt.date) or isinstance(end_date, dt.datetime):
        raise ParameterError(
            f"invalid end_date {end_date!r}; use a datetime.date such as {SAMPLE_END!r}"
        )


def _write_readme(
    out_dir: Path,
    rows: dict[str, int],
    *,
    seed: int,
    end_date: dt.date,
    months: int,
    file_format: str,
    touch_scale: float,
) -> None:
    descriptions = {
        "accounts": "companies with firmographics, owner and target flag",
        "opportunities": "deals (new business, expansion, renewal) with current stage",
        "stage_history": "one row per stage each opportunity entered",
        "touchpoints": "marketing touches and sales activities per contact",
        "revenue": "recognised revenue per customer and month",
        "signals": "monthly product usage and support tickets of customers",
    }
    lines = [
        "# Sample CRM data",
        "",
        "Synthetic data from `acctlib.sample.write_sample`: every company, person",
        "and figure is invented.",
        "",
        f"- seed: {seed}",
        f"- end date (the report's as-of date): {end_date.isoformat()}",
        f"- history: {months} months",
        *([f"- touch scale: {touch_scale:g}"] if touch_scale != 1 else []),
        "",
        "| File | Rows | Contents |",
        "| --- | ---: | --- |",
    ]
    for name, count in rows.items():
        lines.append(f"| {name}.{file_format} | {count:,} | {descriptions[name]} |")
    rates = ", ".join(
        f"1 {code} = {rate:.2f} USD"
        for code, rate in USD_PER_UNIT.items()
        if code != "USD"
    )
    lines += [
        "",
        "Amounts are in USD. Deals in EUR or GBP keep their own currency in",
        f"`amount_original`, converted at fixed sample rates: {rates}.",
        "Columns and types follow `acctlib.schema.TABLES`.",
    ]
    if file_format == "csv":
        lines += [
            "CSV files are UTF-8 with a header row. Timestamps are ISO 8601 UTC",
            "(`2024-01-05T14:03:00Z`), dates `YYYY-MM-DD`, amounts have two",
            "decimals, booleans are `true`/`false` and empty fields are missing.",
        ]
    (out_dir / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
