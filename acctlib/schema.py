"""Canonical table contracts.

Every source is mapped onto these tables before any figure is computed.
Timestamps are UTC (``datetime64[us, UTC]``), calendar dates are naive
``datetime64[us]`` at midnight, amounts are floats in the report currency,
and identifiers are text so that no ID ever turns into a float.

``TABLES`` lists, per table, the columns with their dtype, whether they may
be empty and what they mean; the pandera schemas are built from it, and the
README's column table is written from the same declarations.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import pandera.pandas as pa

TIMESTAMP = pd.DatetimeTZDtype("us", "UTC")
DATE = "datetime64[us]"

STAGE_CATEGORIES = ("open", "won", "lost")
OPPORTUNITY_TYPES = ("new_business", "expansion", "renewal")
FUNCTIONS = ("marketing", "sdr", "ae", "se", "cs", "partner")
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")
ACCOUNT_STATUSES = ("customer", "open_opportunity", "churned", "lost", "prospect")
SIGNAL_TYPES = ("hiring", "funding", "technology", "product_usage", "support_ticket")

NO_ACCOUNT = "No account"


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column: its dtype kind, nullability and meaning.

    ``kind`` is one of ``id``, ``text``, ``timestamp``, ``date``, ``amount``,
    ``integer``, ``number`` or ``boolean``; intake picks the parser from it.
    """

    name: str
    kind: str
    required: bool = True
    nullable: bool = False
    unique: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns, primary key and whether a build needs it."""

    name: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...] = ()
    optional: bool = False
    description: str = ""
    references: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


def _col(name: str, kind: str, description: str, **options: object) -> ColumnSpec:
    return ColumnSpec(name=name, kind=kind, description=description, **options)


ACCOUNTS = TableSpec(
    name="accounts",
    description="One row per account (company).",
    primary_key=("account_id",),
    columns=(
        _col("account_id", "id", "Unique account identifier.", unique=True),
        _col("name", "text", "Account name as shown in reports."),
        _col("industry", "text", "Industry label.", nullable=True),
        _col("country", "text", "Country name or ISO code.", nullable=True),
        _col("region", "text", "Sales region.", nullable=True),
        _col("employees", "integer", "Employee count.", nullable=True, minimum=0),
        _col(
            "annual_revenue",
            "amount",
            "Annual revenue of the company, report currency.",
            nullable=True,
            minimum=0,
        ),
        _col("owner", "text", "Account owner (a person or team).", nullable=True),
        _col("created_at", "timestamp", "When the account was created (UTC)."),
        _col(
            "parent_account_id",
            "id",
            "Parent account, for hierarchies.",
            required=False,
            nullable=True,
        ),
        _col(
            "is_target",
            "boolean",
            "Whether the account is on the target account list.",
            required=False,
            nullable=True,
        ),
        _col(
            "website",
            "text",
            "Company website; duplicate accounts merge by its domain.",
            required=False,
            nullable=True,
        ),
    ),
)

OPPORTUNITIES = TableSpec(
    name="opportunities",
    description="One row per opportunity (deal), with its current stage.",
    primary_key=("opportunity_id",),
    references={"account_id": ("accounts", "account_id")},
    columns=(
        _col("opportunity_id", "id", "Unique opportunity identifier.", unique=True),
        _col(
            "account_id",
            "id",
            "Account of the deal; empty means no account.",
            nullable=True,
        ),
        _col("name", "text", "Opportunity name.", required=False, nullable=True),
        _col("type", "text", "Deal type.", allowed=OPPORTUNITY_TYPES),
        _col("stage", "text", "Current stage as named in the CRM."),
        _col(
            "stage_category",
            "text",
            "open, won or lost; derived from the stage map when absent.",
            required=False,
            allowed=STAGE_CATEGORIES,
        ),
        _col("amount", "amount", "Amount in the report currency.", nullable=True),
        _col(
            "amount_open",
            "amount",
            "Amount while the deal was open, in the deal currency as "
            "amount_original is. Intake converts it into the report currency "
            "at the row's rate (amount over amount_original) or through the "
            "rates table. As-of snapshots value deals still open on the as-of "
            "date at it, or at amount when it is empty.",
            required=False,
            nullable=True,
        ),
        _col(
            "amount_original",
            "amount",
            "Amount in the deal currency.",
            required=False,
            nullable=True,
        ),
        _col(
            "currency",
            "text",
            "ISO 4217 code of amount_original and amount_open.",
            required=False,
            nullable=True,
        ),
        _col("created_at", "timestamp", "When the opportunity was created (UTC)."),
        _col(
            "created_at_estimated",
            "boolean",
            "True when created_at is a stand-in, such as the export date for "
            "deals the source does not date; they never count as new.",
            required=False,
            nullable=True,
        ),
        _col(
            "close_date",
            "date",
            "Close date for closed deals, expected close date for open ones.",
            nullable=True,
        ),
        _col(
            "contract_months",
            "integer",
            "Contract length in months; 12 when absent.",
            required=False,
            nullable=True,
            minimum=1,
        ),
        _col("owner", "text", "Opportunity owner.", required=False, nullable=True),
        _col(
            "probability",
            "number",
            "Win probability from the CRM, 0 to 1.",
            required=False,
            nullable=True,
            minimum=0,
        ),
        _col(
            "forecast_category",
            "text",
            "Forecast category from the CRM.",
            required=False,
            nullable=True,
            allowed=FORECAST_CATEGORIES,
        ),
    ),
)

STAGE_HISTORY = TableSpec(
    name="stage_history",
    description="One row per stage an opportunity entered.",
    optional=True,
    references={"opportunity_id": ("opportunities", "opportunity_id")},
    columns=(
        _col("opportunity_id", "id", "Opportunity that changed stage."),
        _col("stage", "text", "Stage entered."),
        _col("entered_at", "timestamp", "When the stage was entered (UTC)."),
    ),
)

TOUCHPOINTS = TableSpec(
    name="touchpoints",
    description="Marketing touches and sales activities, one row each.",
    optional=True,
    primary_key=("touch_id",),
    references={"account_id": ("accounts", "account_id")},
    columns=(
        _col("touch_id", "id", "Unique touch identifier.", unique=True),
        _col("account_id", "id", "Account of the contact touched."),
        _col("contact_id", "id", "Contact touched.", nullable=True),
        _col("occurred_at", "timestamp", "When the touch happened (UTC)."),
        _col("channel", "text", "Channel, such as webinar or paid_search."),
        _col("function", "text", "Team that made the touch.", allowed=FUNCTIONS),
        _col("campaign", "text", "Campaign name.", required=False, nullable=True),
        _col("touch_type", "text", "Kind of touch, such as email_open or call."),
    ),
)

REVENUE = TableSpec(
    name="revenue",
    description="Recognised revenue per customer and month.",
    optional=True,
    primary_key=("account_id", "month"),
    references={"account_id": ("accounts", "account_id")},
    columns=(
        _col("account_id", "id", "Customer account."),
        _col(
            "month",
            "date",
            "Month, as its first day; another day counts for its month.",
        ),
        _col("amount", "amount", "Revenue recognised in the month."),
    ),
)

SIGNALS = TableSpec(
    name="signals",
    description="Firmographic and usage changes that health scoring weighs.",
    optional=True,
    references={"account_id": ("accounts", "account_id")},
    columns=(
        _col("account_id", "id", "Account the signal is about."),
        _col("occurred_at", "timestamp", "When the signal was observed (UTC)."),
        _col("signal_type", "text", "Kind of signal.", allowed=SIGNAL_TYPES),
        _col("value", "number", "Size of the signal, such as a usage count."),
    ),
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (ACCOUNTS, OPPORTUNITIES, STAGE_HISTORY, TOUCHPOINTS, REVENUE, SIGNALS)
}

_PANDAS_DTYPES = {
    "id": str,
    "text": str,
    "timestamp": TIMESTAMP,
    "date": DATE,
    "amount": float,
    "number": float,
    "integer": "Int64",
    "boolean": "boolean",
}


def pandas_dtype(kind: str) -> object:
    """Return the pandas dtype used for a column kind."""
    return _PANDAS_DTYPES[kind]


@functools.cache
def load_pandera() -> ModuleType:
    """Import and return ``pandera.pandas``, which only validation needs.

    Importing pandera took about 0.4 s on the 2-core benchmark machine, which
    every notebook kernel would pay without reading a schema, so it is
    imported on first use.

    When pyspark is installed, pandera 0.x tries to import pyspark.pandas
    while it loads, and again when the first pandas schema registers its
    built-in checks. pyspark 4.3 then warns that it does not fully support
    pandas 3, and the import fails, which pandera ignores. acctlib runs
    Spark only through Ibis's SQL backend, which does not use
    pyspark.pandas, so the warning is silenced for these imports.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="PySpark does not yet fully support pandas",
            category=FutureWarning,
        )
        import pandera.pandas
        from pandera.backends.pandas import builtin_checks  # noqa: F401

    return pandera.pandas


def _column_checks(spec: ColumnSpec) -> list[pa.Check]:
    pa = load_pandera()
    checks = []
    if spec.allowed is not None:
        checks.append(pa.Check.isin(list(spec.allowed)))
    if spec.minimum is not None:
        checks.append(pa.Check.ge(spec.minimum))
    if spec.kind in ("id", "text") and not spec.nullable:
        checks.append(pa.Check(lambda s: s.str.strip() != "", error="empty text"))
    return checks


def pandera_schema(table: str, *, check_unique: bool = True) -> pa.DataFrameSchema:
    """Build the pandera schema of a canonical table.

    Columns that a source may omit are declared ``required=False``; intake
    adds them as empty columns, so after intake every column is present.
    With ``check_unique`` False, key columns are not checked for repeated
    values.
    """
    pa = load_pandera()
    spec = TABLES[table]
    columns = {
        column.name: pa.Column(
            pandas_dtype(column.kind),
            checks=_column_checks(column),
            nullable=column.nullable,
            unique=column.unique and check_unique,
            required=column.required,
        )
        for column in spec.columns
    }
    return pa.DataFrameSchema(columns, name=table, strict=False, ordered=False)


def validate(
    table: str, df: pd.DataFrame, *, check_unique: bool = True
) -> pd.DataFrame:
    """Validate ``df`` against a canonical table and return it unchanged.

    Raises ``pandera.errors.SchemaErrors`` listing every failing row.
    ``check_unique`` is that of :func:`pandera_schema`.
    """
    schema = pandera_schema(table, check_unique=check_unique)
    return schema.validate(df, lazy=True)


def empty_frame(table: str) -> pd.DataFrame:
    """Return an empty frame with the canonical columns and dtypes of ``table``."""
    spec = TABLES[table]
    return pd.DataFrame(
        {
            column.name: pd.Series(dtype=pandas_dtype(column.kind))
            for column in spec.columns
        }
    )


# Columns added by the as-of snapshot and the account map, documented here so
# every module and notebook reads one contract. For a source without a
# touchpoints table, every touch column is missing (NA, an empty CSV cell),
# not 0 or False, because no touch was measured. The money columns that sum
# opportunities (open_pipeline, open_acv, won_acv, tcv, bookings_12m and
# value) leave out deals without an amount. Each is 0 for an account without
# such deals, and missing when every such deal of the account lacks an amount.
ACCOUNT_MAP_COLUMNS: dict[str, str] = {
    "account_id": "Account identifier; 'No account' collects deals without one.",
    "name": "Account name.",
    "industry": "Industry.",
    "country": "Country.",
    "region": "Region.",
    "employees": "Employee count.",
    "annual_revenue": "Company annual revenue.",
    "is_target": "On the target account list.",
    "owner": "Account owner.",
    "status": "customer, open_opportunity, churned, lost or prospect.",
    "open_opportunities": "Open opportunities on the as-of date.",
    "open_pipeline": "Sum of open opportunity amounts.",
    "open_acv": "Open amounts annualised by contract length.",
    "most_advanced_stage": "Furthest stage among open opportunities.",
    "won_opportunities": "Opportunities won on or before the as-of date.",
    "won_acv": "Annualised value of won contracts active on the as-of date.",
    "tcv": "Total contract value won to date.",
    "lifetime_revenue": "Recognised revenue to date (won TCV without revenue data).",
    "revenue_12m": "Recognised revenue in the 12 complete months to the as-of date.",
    "bookings_12m": "Won amounts closed in the 12 months to the as-of date.",
    "first_opportunity_at": "Creation time of the first opportunity.",
    "first_touch_at": "Time of the first recorded touch.",
    "last_touch_at": "Time of the last recorded touch.",
    "touches_90d": "Touches of any function in the 90 days to the as-of date.",
    "marketing_touches_90d": "Marketing touches in the 90 days to the as-of date.",
    "marketing_channels_90d": "Distinct marketing channels in those 90 days.",
    "marketing_sourced": (
        "The latest touch at or before the first opportunity's creation, "
        "within the lookback, is a marketing touch."
    ),
    "value": "Ranking value: ACV of active won contracts and open opportunities.",
}
ACCOUNT_MAP_MONEY = (
    "annual_revenue",
    "open_pipeline",
    "open_acv",
    "won_acv",
    "tcv",
    "lifetime_revenue",
    "revenue_12m",
    "bookings_12m",
    "value",
)
"""Account-map columns in the report currency."""
