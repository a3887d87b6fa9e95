"""Point-in-time views of the canonical tables.

Every figure is computed as of a calendar date ``as_of`` and uses only what
was known at the end of that day in UTC. The cutoff is midnight UTC of the
following day (:func:`as_of_cutoff`), and a record counts when its
timestamp lies before it:

- an opportunity counts when ``created_at`` is before the cutoff;
- a stage history entry counts when ``entered_at`` is before the cutoff;
- a touchpoint counts when ``occurred_at`` is before the cutoff;
- a revenue month counts when it starts on or before ``as_of``.

Appending records dated after ``as_of`` therefore changes no result, except
the first stage history entries of an open opportunity. They show that it
reached its current stage after ``as_of``, so its stage on ``as_of`` becomes
the first open stage.
:func:`snapshot_opportunities` also rebuilds the stage each opportunity had
on ``as_of``, so a deal won after that date still shows as open, valued at
its ``amount_open`` when the source supplies one.

The export's current ``stage`` is the stage on the day the data was
exported, which is no earlier than its latest creation or stage entry
(:attr:`OpportunityHistory.exported_on`). On that day or later the
current stage decides where the dated stage history shows another one,
because an export may lack the date columns of some stages.
:func:`acctlib.stagesources.check_stage_history` lists such deals. So a
record appended after ``as_of`` can also change a result by moving the
export date past ``as_of``, after which the history decides.

A closed deal closes on its ``close_date``, except where the stage history
records the entry into its current closed stage and the ``close_date``
contradicts it: before the deal's creation, over :data:`LATE_CLOSE_DAYS`
days before the entry, or over a day after it (:func:`_find_redated_closes`).
Such a close is dated by the entry on every ``as_of`` alike, so a won deal's
close date does not depend on whether it was later lost. An entry into a
deal's closing stage appended after ``as_of`` can thus also change a
result, by moving that deal's close.
:attr:`OpportunityHistory.redated_closes` lists these deals.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from acctlib import schema
from acctlib.errors import InputError, ParameterError

logger = logging.getLogger(__name__)

CLOSED_CATEGORIES = ("won", "lost")

LATE_CLOSE_DAYS = 30
"""Days a close_date may precede the history's entry into the closing stage.

An earlier close_date is taken as wrong, and the entry dates the close.
"""

SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "stage_asof",
    "stage_category_asof",
    "stage_order_asof",
    "probability_asof",
    "forecast_category_asof",
    "is_open",
    "is_won",
    "is_lost",
    "closed_on",
    "acv",
    "history_stage_asof",
)
"""Columns that :func:`snapshot_opportunities` adds to the opportunity columns.

``contract_months`` is a canonical column, so it is not listed here. The
snapshot fills its gaps.
"""


_OPPORTUNITY_REQUIRED = (
    "opportunity_id",
    "account_id",
    "stage",
    "amount",
    "created_at",
    "close_date",
)
_HISTORY_REQUIRED = ("opportunity_id", "stage", "entered_at")
_STAGE_KEYS = ("category", "probability", "forecast_category", "order")
_REQUIRED_STAGE_KEYS = ("category", "order")


def as_of_cutoff(as_of: dt.date) -> pd.Timestamp:
    """Return the first instant after ``as_of``: midnight UTC of the next day.

    A timestamp is known on ``as_of`` when it lies strictly before this
    instant.

    Raises
    ------
    TypeError
        When ``as_of`` is a ``datetime`` (or ``pd.Timestamp``) rather than a
        plain ``datetime.date``, because a time of day would be ignored.
    """
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise TypeError(
            f"as_of must be a datetime.date, not {type(as_of).__name__} "
            f"({as_of!r}); pass a calendar date such as datetime.date(2026, 6, 30)"
        )
    return pd.Timestamp(as_of + dt.timedelta(days=1)).tz_localize("UTC").as_unit("us")


def snapshot_opportunities(
    opportunities: pd.DataFrame,
    stage_history: pd.DataFrame | None,
    stage_map: Mapping[str, Mapping[str, Any]],
    as_of: dt.date,
    *,
    default_contract_months: int = 12,
) -> pd.DataFrame:
    """Rebuild every opportunity as it stood at the end of ``as_of``.

    Stage on ``as_of``:

    1. On or after the export date (the latest ``created_at`` or
       ``entered_at`` of the data, :attr:`OpportunityHistory.exported_on`),
       the current ``stage`` when it is open, or when it is closed and
       ``close_date`` is on or before ``as_of``. The export shows the deal
       in that stage, so it decides over the stage history.
    2. Otherwise, the last stage history entry with ``entered_at`` before
       the cutoff (midnight UTC after ``as_of``). Entries at the same
       instant are ordered by their stage's ``order`` in ``stage_map``,
       then by their position in ``stage_history``, and the last one wins.
       A stage that is not in ``stage_map`` sorts before every mapped stage
       in that tie-break. A closed deal with history entries but none of
       its current stage has that stage entered at midnight UTC of its
       ``close_date``, because an export may lack the date column of the
       closing stage.
    3. With no such entry, the current ``stage`` when it is open and the
       opportunity has no stage history entries at all, or when it is
       closed (won or lost) and ``close_date`` is on or before ``as_of``.
    4. Otherwise, the open stage with the lowest ``order`` in
       ``stage_map``. This covers a deal closed after ``as_of``, a deal
       closed without a ``close_date``, and an open deal whose history
       entries all lie after the cutoff, because such a deal reached its
       current stage after ``as_of``.

    In these rules a closed deal's ``close_date`` is its close date as
    dated by :func:`_find_redated_closes`, which prefers the history's entry
    into the closing stage over a ``close_date`` that contradicts it.

    Category, probability, forecast category and order of that stage come
    from ``stage_map``. A stage missing from ``stage_map`` that is also the
    opportunity's current stage takes the row's own ``stage_category``,
    ``probability`` and ``forecast_category``, with no order. Any other
    stage on ``as_of`` missing from ``stage_map`` raises :class:`InputError`.
    Unmapped stages in earlier history entries are ignored.

    Parameters
    ----------
    opportunities
        Canonical opportunities table. Requires ``opportunity_id``,
        ``account_id``, ``stage``, ``amount`` (report currency),
        ``created_at`` (UTC timestamp) and ``close_date`` (calendar date).
        Optional canonical columns that are absent are added empty.
    stage_history
        Canonical stage history (``opportunity_id``, ``stage``,
        ``entered_at`` as UTC timestamp), or None when the source has none.
    stage_map
        ``{stage: {category, probability, forecast_category, order}}`` from
        the ``stage_map`` parameter. ``category`` (open, won or lost) and
        ``order`` (position in the sales process) are required. A missing
        ``probability`` or ``forecast_category`` leaves the as-of value empty.
    as_of
        Calendar date of the snapshot.
    default_contract_months
        Contract length in months for rows without ``contract_months``.

    Returns
    -------
    pandas.DataFrame
        A new frame, one row per opportunity created before the cutoff,
        sorted by ``opportunity_id``. It has the canonical opportunity
        columns in schema order, where a deal open on ``as_of`` takes its
        ``amount_open`` as ``amount`` unless that is empty, then:

        - ``stage_asof`` (str), ``stage_category_asof`` (open, won or lost),
          ``stage_order_asof`` (Int64, missing for an unmapped stage),
          ``probability_asof`` (float, 0 to 1) and
          ``forecast_category_asof`` (str) for the stage on ``as_of``;
        - ``is_open``, ``is_won``, ``is_lost`` (bool);
        - ``closed_on`` (calendar date, NaT when open on ``as_of``): the
          close date when the stage on ``as_of`` is the current stage and
          that date is on or before ``as_of``, otherwise the UTC date on
          which the stage on ``as_of`` was entered. The close date is
          ``close_date``, or the UTC date of the latest history entry into
          the current stage where ``close_date`` contradicts that entry
          (:func:`_find_redated_closes`);
        - ``contract_months`` (Int64) with gaps filled by
          ``default_contract_months``;
        - ``acv`` (float, report currency per year): ``amount * 12 /
          contract_months``, NaN when ``amount`` is missing.
        - ``history_stage_asof`` (str): where rule 1 set the stage, the
          stage that the dated history shows on ``as_of`` if it differs,
          otherwise missing.

    Raises
    ------
    InputError
        When a required column is missing, or a stage on ``as_of`` is not in
        ``stage_map`` and cannot take the row's own ``stage_category``.
    ParameterError
        When ``stage_map`` lacks a key, has an invalid category, or has no
        open stage while one is needed.
    """
    _require_columns(opportunities, "opportunities", _OPPORTUNITY_REQUIRED)
    _check_contract_months(default_contract_months)
    as_of_cutoff(as_of)
    history = OpportunityHistory(
        opportunities,
        stage_history,
        stage_map,
        default_contract_months=default_contract_months,
    )
    return history.snapshot(as_of)


class OpportunityHistory:
    """The inputs of :func:`snapshot_opportunities`, prepared for many dates.

    Typing the opportunities and sorting the stage history take most of a
    snapshot's time and do not depend on the date, so they are done once
    here, and :meth:`snapshot` then selects what was known on each date.
    The arguments and errors are those of :func:`snapshot_opportunities`.

    ``exported_on`` is the UTC date of the latest ``created_at`` or stage
    ``entered_at`` of the data, None without dates. The export was made on
    that date or later, so from then on its current stages decide.

    ``redated_closes`` lists the closed deals whose close the stage history
    dates instead of ``close_date`` (:func:`_find_redated_closes`).
    """

    def __init__(
        self,
        opportunities: pd.DataFrame,
        stage_history: pd.DataFrame | None,
        stage_map: Mapping[str, Mapping[str, Any]],
        *,
        default_contract_months: int = 12,
    ) -> None:
        _require_columns(opportunities, "opportunities", _OPPORTUNITY_REQUIRED)
        _check_contract_months(default_contract_months)
        self.stages = _build_stage_table(stage_map)
        self.default_contract_months = default_contract_months
        self.opportunities = _type_opportunities(opportunities)
        self.exported_on = _find_export_date(self.opportunities, stage_history)
        self.redated_closes = _find_redated_closes(
            stage_history, self.opportunities, self.stages
        )
        self.opportunities["dated_close"] = _date_closes(
            self.opportunities, self.redated_closes
        )
        self.close_entries = _find_close_entries(
            stage_history, self.opportunities, self.stages
        )
        if not self.close_entries.empty:
            stage_history = pd.concat(
                [_typed_entries(stage_history), self.close_entries],
                ignore_index=True,
            )
        self.history = _SortedHistory.build(stage_history, self.stages)
        # With unique IDs, each opportunity's position among the history's
        # IDs replaces a text merge on every date. Other IDs keep the merge,
        # which matches missing IDs and rejects duplicates.
        ids = self.opportunities["opportunity_id"]
        self._entry_codes = None
        if self.history is not None and ids.notna().all() and ids.is_unique:
            self._entry_codes = pd.Index(self.history.id_values).get_indexer(ids)
        self._has_entries = np.zeros(len(ids), dtype=bool)
        if self.history is not None:
            self._has_entries = isin_values(ids, self.history.id_values)

    def snapshot(self, as_of: dt.date) -> pd.DataFrame:
        """Return :func:`snapshot_opportunities` on ``as_of``."""
        cutoff = as_of_cutoff(as_of)
        is_known = (self.opportunities["created_at"] < cutoff).to_numpy()
        known = self.opportunities[is_known].reset_index(drop=True)
        if self._entry_codes is not None:
            from_history, entered_at = self.history.match_latest(
                self._entry_codes[is_known], cutoff, known.index
            )
        else:
            if self.history is None:
                latest_entries = pd.DataFrame(columns=list(_HISTORY_REQUIRED))
            else:
                latest_entries = self.history.latest_before(cutoff)
            from_history, entered_at = _match_latest_entries(known, latest_entries)
        has_entries = pd.Series(self._has_entries[is_known], index=known.index)
        export_is_current = self.exported_on is not None and as_of >= self.exported_on
        snapshot = _resolve_stage_asof(
            known,
            from_history,
            entered_at,
            has_entries,
            self.stages,
            as_of,
            export_is_current=export_is_current,
        )

        snapshot = _attach_stage_attributes(snapshot, self.stages, as_of)
        snapshot = _value_open_deals(snapshot)
        snapshot = _add_closed_on(snapshot, as_of)
        snapshot = _add_contract_value(snapshot, self.default_contract_months)

        columns = schema.OPPORTUNITIES.column_names + list(SNAPSHOT_COLUMNS)
        logger.debug("snapshot on %s: %d opportunities", as_of, len(snapshot))
        return snapshot[columns].sort_values("opportunity_id").reset_index(drop=True)


def filter_touchpoints(touchpoints: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Select the touchpoints that occurred before the end of ``as_of``.

    ``occurred_at`` is a UTC timestamp, and touches before midnight UTC after
    ``as_of`` are kept. This helper is meant for small frames, because large
    touchpoint tables are filtered in the engine. Returns a new frame with a
    fresh index.
    """
    _require_columns(touchpoints, "touchpoints", ("occurred_at",))
    occurred_at = _as_utc(touchpoints["occurred_at"])
    return touchpoints[occurred_at < as_of_cutoff(as_of)].reset_index(drop=True)


REVENUE_WINDOW_MONTHS = 12


def revenue_window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """Return the first days of the first and last month of the revenue window.

    A month's revenue counts once the month has ended by ``as_of``, so the
    window is the 12 complete months up to ``as_of``. As of 30 June 2026
    it runs from July 2025 to June 2026, and as of 15 June 2026 from June
    2025 to May 2026. A report dated inside a month thus never counts
    revenue of days after it.
    """
    month_ends_on_as_of = (as_of + dt.timedelta(days=1)).day == 1
    last = pd.Timestamp(as_of.replace(day=1))
    if not month_ends_on_as_of:
        last -= pd.DateOffset(months=1)
    first = last - pd.DateOffset(months=REVENUE_WINDOW_MONTHS - 1)
    return first.date(), last.date()


def filter_revenue(revenue: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Select the revenue months that start on or before ``as_of``.

    ``month`` is the first day of the month, so the month containing
    ``as_of`` is kept whole. Returns a new frame with a fresh index.
    """
    _require_columns(revenue, "revenue", ("month",))
    next_day = as_of_cutoff(as_of).tz_localize(None)
    month = _as_date(revenue["month"])
    return revenue[month < next_day].reset_index(drop=True)


def isin_values(values: pd.Series, allowed: object) -> np.ndarray:
    """Return whether each of ``values`` is among ``allowed``, as a bool array.

    The result equals ``Series.isin``, with missing values matching each
    other. pandas 3.1 converts Arrow-backed strings one by one in ``isin``,
    which took about 0.1 s per call on 30,000 stage history rows. Arrow's
    ``is_in`` compares the strings without a Python object each. Values
    that Arrow cannot compare, such as numbers against text, fall back to
    an index lookup.
    """
    try:
        found = pc.is_in(_to_arrow(values), value_set=_to_arrow(allowed))
    except pa.ArrowException:
        if isinstance(allowed, (pd.Series, pd.Index)):
            allowed = allowed.to_numpy(dtype=object)
        known = pd.Index(pd.unique(np.asarray(list(allowed), dtype=object)))
        return known.get_indexer(values.to_numpy(dtype=object)) >= 0
    return found.to_numpy(zero_copy_only=False)


def map_values(values: pd.Series, mapping: pd.Series) -> pd.Series:
    """Return ``values.map(mapping)``, looked up with Arrow.

    Values missing from ``mapping.index`` map to a missing value of the
    mapping's type. The result may differ from ``Series.map`` in dtype
    only, so callers cast it. pandas 3.1 converts Arrow-backed strings to
    Python objects for ``map``, which took most of a snapshot's time.
    Values that Arrow cannot compare, or a mapping with repeated keys, use
    ``Series.map``.
    """
    if not mapping.index.is_unique:
        return values.map(mapping)
    try:
        found = pc.index_in(_to_arrow(values), value_set=_to_arrow(mapping.index))
    except pa.ArrowException:
        return values.map(mapping)
    positions = found.fill_null(-1).to_numpy(zero_copy_only=False)
    mapped = mapping.array.take(positions, allow_fill=True)
    return pd.Series(mapped, index=values.index, name=values.name)


def _to_arrow(values: object) -> pa.Array:
    """Return ``values`` (a Series, Index or sequence) as an Arrow array."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.array
    elif not isinstance(values, (np.ndarray, pa.Array)):
        values = list(values)
    return pa.array(values, from_pandas=True)


def _require_columns(df: pd.DataFrame, table: str, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise InputError(
            f"{table} table is missing column(s) {', '.join(missing)}; "
            f"map them onto the canonical {table} table in the source profile",
            column=missing[0],
        )


def _as_utc(values: pd.Series) -> pd.Series:
    """Return timestamps as UTC microseconds, reading naive values as UTC."""
    return pd.to_datetime(values, utc=True).astype(schema.TIMESTAMP)


def _as_date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).astype(schema.DATE)


def _build_stage_table(stage_map: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Return the stage map as a frame indexed by stage, one column per key."""
    rows = {}
    for stage, entry in stage_map.items():
        missing = [key for key in _REQUIRED_STAGE_KEYS if entry.get(key) is None]
        if missing:
            raise ParameterError(
                f"stage_map entry {stage!r} lacks {' and '.join(missing)}; give "
                "every stage a category (open, won or lost) and an order"
            )
        if entry["category"] not in schema.STAGE_CATEGORIES:
            raise ParameterError(
                f"stage_map entry {stage!r} has invalid category "
                f"{entry['category']!r}; use one of "
                f"{', '.join(schema.STAGE_CATEGORIES)}"
            )
        rows[stage] = {key: entry.get(key) for key in _STAGE_KEYS}

    stages = pd.DataFrame.from_dict(rows, orient="index", columns=list(_STAGE_KEYS))
    stages["order"] = stages["order"].astype("Int64")
    stages["probability"] = stages["probability"].astype(float)
    return stages


def _first_open_stage(stages: pd.DataFrame) -> str:
    open_stages = stages[stages["category"] == "open"]
    if open_stages.empty:
        raise ParameterError(
            "stage_map has no open stage, but an opportunity closed after as_of, "
            "closed without a close_date, or with stage history only after "
            "as_of needs one as its stage on as_of; add the open stages of the "
            "sales process to stage_map"
        )
    return str(open_stages.sort_values("order", kind="stable").index[0])


def _check_contract_months(default_contract_months: int) -> None:
    if default_contract_months < 1:
        raise ParameterError(
            f"default_contract_months is {default_contract_months}; "
            "use a whole number of months of at least 1"
        )


def _type_opportunities(opportunities: pd.DataFrame) -> pd.DataFrame:
    """Return a typed copy of the opportunities with every canonical column."""
    typed = opportunities.copy()
    for column in schema.OPPORTUNITIES.columns:
        if column.name not in typed.columns:
            dtype = schema.pandas_dtype(column.kind)
            typed[column.name] = pd.Series(index=typed.index, dtype=dtype)

    typed["created_at"] = _as_utc(typed["created_at"])
    typed["close_date"] = _as_date(typed["close_date"])
    typed["amount"] = typed["amount"].astype(float)
    typed["amount_open"] = typed["amount_open"].astype(float)
    return typed


class _SortedHistory:
    """Stage history entries sorted once to find the latest before any cutoff.

    Entries are ordered by opportunity, ``entered_at``, stage order and
    position in the input. Unmapped stages have no order and rank lowest;
    missing IDs form one group, as in a groupby with dropna=False. The
    order comes from a numeric lexsort because sorting the text IDs took
    most of a snapshot's time. Selecting the entries before a cutoff keeps
    that order, so each opportunity's latest entry is the last of its run.
    """

    def __init__(
        self,
        entries: pd.DataFrame,
        ids: np.ndarray,
        id_values: pd.Index,
        order: np.ndarray,
    ):
        self.entries = entries
        self.id_values = id_values
        self.ids = ids[order]
        self.order = order
        self.entered = entries["entered_at"].dt.tz_convert(None).to_numpy()[order]

    @classmethod
    def build(
        cls, stage_history: pd.DataFrame | None, stages: pd.DataFrame
    ) -> _SortedHistory | None:
        if stage_history is None:
            return None
        _require_columns(stage_history, "stage_history", _HISTORY_REQUIRED)
        entries = stage_history[list(_HISTORY_REQUIRED)].copy()
        entries["entered_at"] = _as_utc(entries["entered_at"])
        entries = entries.reset_index(drop=True)

        ids, id_values = pd.factorize(entries["opportunity_id"], use_na_sentinel=True)
        stage_order = entries["stage"].map(stages["order"])
        stage_order = stage_order.astype(float).fillna(-np.inf).to_numpy()
        entered = entries["entered_at"].dt.tz_convert(None).to_numpy().view("int64")
        order = np.lexsort((np.arange(len(entries)), stage_order, entered, ids))
        return cls(entries, ids, pd.Index(id_values), order)

    def latest_before(self, cutoff: pd.Timestamp) -> pd.DataFrame:
        """Return the last stage entered before ``cutoff``, one row per opportunity.

        Columns: ``opportunity_id``, ``stage`` and ``entered_at``. An
        opportunity without an entry before ``cutoff`` has no row.
        """
        return self.entries.iloc[self._latest_rows(cutoff)[1]]

    def match_latest(
        self, codes: np.ndarray, cutoff: pd.Timestamp, index: pd.Index
    ) -> tuple[pd.Series, pd.Series]:
        """Return the stage and ``entered_at`` of the latest entry before ``cutoff``.

        ``codes`` are positions in ``id_values``, -1 for an ID without
        entries. Results are aligned with ``index`` and missing where the
        opportunity has no entry before ``cutoff``.
        """
        ids, rows = self._latest_rows(cutoff)
        # Entries with a missing ID (code -1) match no opportunity here, and
        # code -1 reads the last slot, which stays empty.
        row_by_id = np.full(len(self.id_values) + 1, -1, dtype="int64")
        row_by_id[ids[ids >= 0]] = rows[ids >= 0]
        positions = row_by_id[codes]
        return tuple(
            pd.Series(
                self.entries[column].array.take(positions, allow_fill=True),
                index=index,
                name=column,
            )
            for column in ("stage", "entered_at")
        )

    def _latest_rows(self, cutoff: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        """Return the ID codes and entry rows of each latest entry before ``cutoff``."""
        known = self.entered < cutoff.tz_convert(None).to_datetime64()
        ids = self.ids[known]
        is_last = np.append(ids[1:] != ids[:-1], True) if len(ids) else known[known]
        return ids[is_last], self.order[known][is_last]


def _find_export_date(
    opportunities: pd.DataFrame, stage_history: pd.DataFrame | None
) -> dt.date | None:
    """Return the UTC date of the latest creation or stage entry, None without."""
    latest = [opportunities["created_at"].max()]
    if stage_history is not None and not stage_history.empty:
        latest.append(_as_utc(stage_history["entered_at"]).max())
    known = [timestamp for timestamp in latest if pd.notna(timestamp)]
    if not known:
        return None
    return max(known).tz_convert("UTC").date()


def _find_close_entries(
    stage_history: pd.DataFrame | None,
    opportunities: pd.DataFrame,
    stages: pd.DataFrame,
) -> pd.DataFrame:
    """Return a stage history entry for each close the history does not record.

    A closed deal that has history entries but none of its current stage,
    such as a won deal in a HubSpot export without the closing stage's
    "Date entered" column, entered that stage at midnight UTC of its
    ``close_date``. Deals without a ``close_date`` get no entry.
    """
    empty = pd.DataFrame(
        {
            "opportunity_id": pd.Series(dtype="str"),
            "stage": pd.Series(dtype="str"),
            "entered_at": pd.Series(dtype=schema.TIMESTAMP),
        }
    )
    if stage_history is None or stage_history.empty:
        return empty
    _require_columns(stage_history, "stage_history", _HISTORY_REQUIRED)
    closed = _dated_closed_deals(opportunities, stages)
    has_entries = isin_values(closed["opportunity_id"], stage_history["opportunity_id"])
    closed = closed[has_entries]
    recorded = stage_history[["opportunity_id", "stage"]].drop_duplicates()
    matched = closed[["opportunity_id", "stage"]].merge(
        recorded, on=["opportunity_id", "stage"], how="left", indicator=True
    )
    missing = closed[(matched["_merge"] == "left_only").to_numpy()]
    if missing.empty:
        return empty
    return pd.DataFrame(
        {
            "opportunity_id": missing["opportunity_id"].to_numpy(),
            "stage": missing["stage"].astype(str).to_numpy(),
            "entered_at": _as_utc(missing["close_date"]).to_numpy(),
        }
    ).astype({"entered_at": schema.TIMESTAMP})


def _dated_closed_deals(opportunities: pd.DataFrame, stages: pd.DataFrame):
    """Return the deals closed in the export that have a ``close_date``."""
    category = _current_category(opportunities, stages)
    return opportunities[
        category.isin(CLOSED_CATEGORIES) & opportunities["close_date"].notna()
    ]


REDATED_CLOSE_COLUMNS = (
    "opportunity_id",
    "stage",
    "close_date",
    "entered_on",
    "reason",
)
"""Columns of :attr:`OpportunityHistory.redated_closes`."""

CLOSE_BEFORE_CREATION = "close_date before creation"
CLOSE_BEFORE_ENTRY = f"close_date over {LATE_CLOSE_DAYS} days before the entry"
CLOSE_AFTER_ENTRY = "close_date after the entry"
"""Reasons in :attr:`OpportunityHistory.redated_closes`."""


def _find_redated_closes(
    stage_history: pd.DataFrame | None,
    opportunities: pd.DataFrame,
    stages: pd.DataFrame,
) -> pd.DataFrame:
    """Return the closed deals whose close the stage history dates.

    A deal qualifies when it is closed (won or lost) in the export, its
    history records an entry into that closing stage, and its
    ``close_date`` contradicts the latest such entry:

    - it is before the UTC date of the deal's creation;
    - it is more than :data:`LATE_CLOSE_DAYS` days before the entry;
    - or it is more than one day after the entry, and the history records
      no later entry of another stage. The history then shows the deal
      closed from the entry onwards. The day allowed covers a local
      ``close_date`` against a UTC ``entered_at``.

    Demo and migrated records often carry such a placeholder
    ``close_date``. The result has one row per deal with
    :data:`REDATED_CLOSE_COLUMNS`: ``entered_on`` is the UTC date of the
    entry and ``reason`` names the first rule above that applied.
    """
    empty = pd.DataFrame(
        {
            "opportunity_id": pd.Series(dtype="str"),
            "stage": pd.Series(dtype="str"),
            "close_date": pd.Series(dtype=schema.DATE),
            "entered_on": pd.Series(dtype=schema.DATE),
            "reason": pd.Series(dtype="str"),
        }
    )
    if stage_history is None or stage_history.empty:
        return empty
    _require_columns(stage_history, "stage_history", _HISTORY_REQUIRED)
    closed = _dated_closed_deals(opportunities, stages)
    entries = _typed_entries(stage_history).dropna(subset=["entered_at"])
    matched = entries.merge(
        closed[["opportunity_id", "stage"]], on=["opportunity_id", "stage"]
    )
    if matched.empty:
        return empty
    entered = matched.groupby("opportunity_id", sort=False)["entered_at"].max()
    last_entered = entries.groupby("opportunity_id", sort=False)["entered_at"].max()
    deals = closed.merge(
        entered.rename("entered_at"), left_on="opportunity_id", right_index=True
    ).merge(
        last_entered.rename("last_entered_at"),
        left_on="opportunity_id",
        right_index=True,
    )
    entered_on = (
        deals["entered_at"].dt.tz_convert(None).dt.normalize().astype(schema.DATE)
    )
    created_on = deals["created_at"].dt.tz_convert(None).dt.normalize()
    close_date = deals["close_date"]
    ends_closed = deals["entered_at"] >= deals["last_entered_at"]
    rules = [
        (CLOSE_BEFORE_CREATION, close_date < created_on),
        (
            CLOSE_BEFORE_ENTRY,
            close_date < entered_on - pd.Timedelta(days=LATE_CLOSE_DAYS),
        ),
        (
            CLOSE_AFTER_ENTRY,
            ends_closed & (close_date > entered_on + pd.Timedelta(days=1)),
        ),
    ]
    reason = pd.Series(pd.NA, index=deals.index, dtype="str")
    for name, applies in reversed(rules):
        reason = reason.mask(applies.fillna(False).astype(bool), name)
    redated = reason.notna().to_numpy()
    if not redated.any():
        return empty
    return pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"].to_numpy()[redated],
            "stage": deals["stage"].astype(str).to_numpy()[redated],
            "close_date": close_date.to_numpy()[redated],
            "entered_on": entered_on.to_numpy()[redated],
            "reason": reason.to_numpy()[redated],
        }
    ).astype({"close_date": schema.DATE, "entered_on": schema.DATE, "reason": "str"})


def _date_closes(
    opportunities: pd.DataFrame, redated_closes: pd.DataFrame
) -> pd.Series:
    """Return each deal's close date: ``close_date`` unless the history dates it."""
    dated_close = opportunities["close_date"].copy()
    if redated_closes.empty:
        return dated_close
    entered_on = pd.Series(
        redated_closes["entered_on"].to_numpy(),
        index=redated_closes["opportunity_id"].to_numpy(),
    )
    # Reindexing aligns by ID without Series.map, which fails on an empty
    # datetime mapping in pandas 3.1.
    if not entered_on.index.is_unique:
        entered_on = entered_on.groupby(level=0).max()
    replacement = entered_on.reindex(opportunities["opportunity_id"]).to_numpy()
    is_redated = pd.notna(replacement)
    dated_close[is_redated] = replacement[is_redated]
    return dated_close.astype(schema.DATE)


def _typed_entries(stage_history: pd.DataFrame) -> pd.DataFrame:
    entries = stage_history[list(_HISTORY_REQUIRED)].copy()
    entries["entered_at"] = _as_utc(entries["entered_at"])
    return entries


def _match_latest_entries(
    known: pd.DataFrame, latest_entries: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """Return the stage and ``entered_at`` of each known opportunity's entry."""
    # A left merge keeps the row order of ``known``. Series.map fails on an
    # empty datetime mapping in pandas 3.1, so it is not used here.
    matched = known[["opportunity_id"]].merge(
        latest_entries, on="opportunity_id", how="left", validate="one_to_one"
    )
    matched.index = known.index
    return matched["stage"], matched["entered_at"]


def _resolve_stage_asof(
    known: pd.DataFrame,
    from_history: pd.Series,
    entered_at: pd.Series,
    has_entries: pd.Series,
    stages: pd.DataFrame,
    as_of: dt.date,
    *,
    export_is_current: bool = False,
) -> pd.DataFrame:
    """Add ``stage_asof``, ``stage_entered_at`` and ``history_stage_asof``.

    ``from_history`` and ``entered_at`` are the stage and time of each
    opportunity's latest history entry before the cutoff, missing without
    one. ``has_entries`` is True where the opportunity has any history
    entry, at any date. ``export_is_current`` is True on or after the
    export date, where the current stage decides over the history.
    ``stage_entered_at`` is NaT without history, and where the current
    stage replaced a different stage of the history.
    """
    current_category = _current_category(known, stages)
    closed_by_as_of = current_category.isin(CLOSED_CATEGORIES) & (
        known["dated_close"] <= pd.Timestamp(as_of)
    )
    history_stage = pd.Series(pd.NA, index=known.index, dtype="str")
    current = pd.Series(False, index=known.index)
    if export_is_current:
        current = (current_category == "open") | closed_by_as_of
        differs = current & from_history.notna() & (from_history != known["stage"])
        differs = differs.fillna(False).astype(bool)
        history_stage = from_history.where(differs).astype("str")
        from_history = from_history.where(~current)
        entered_at = entered_at.where(~differs)
    # An unknown category keeps the current stage so the unmapped-stage
    # check reports it instead of hiding it behind the first open stage.
    # An open deal with history entries, none before the cutoff, entered
    # its current stage after as_of, so that stage is not used.
    open_without_history = (current_category == "open") & ~has_entries
    keeps_current = (
        current_category.isna() | open_without_history | closed_by_as_of | current
    )
    needs_open_stage = from_history.isna() & ~keeps_current
    _log_uncertain_stages(known, from_history, current_category, stages, as_of)

    fallback = known["stage"].astype(object)
    if needs_open_stage.any():
        fallback = fallback.where(~needs_open_stage, _first_open_stage(stages))

    resolved = known.copy()
    resolved["stage_asof"] = from_history.astype(object).fillna(fallback).astype(str)
    resolved["stage_entered_at"] = _as_utc(entered_at)
    resolved["history_stage_asof"] = history_stage
    return resolved


def _current_category(known: pd.DataFrame, stages: pd.DataFrame) -> pd.Series:
    """Return the category of each current stage, from the map or the row."""
    mapped = map_values(known["stage"], stages["category"]).astype(object)
    return mapped.fillna(known["stage_category"].astype(object))


def _log_uncertain_stages(
    known: pd.DataFrame,
    from_history: pd.Series,
    current_category: pd.Series,
    stages: pd.DataFrame,
    as_of: dt.date,
) -> None:
    """Warn about opportunities whose stage on ``as_of`` rests on doubtful data."""
    is_closed = current_category.isin(CLOSED_CATEGORIES)
    no_close_date = is_closed & known["close_date"].isna() & from_history.isna()
    if no_close_date.any():
        logger.warning(
            "%d closed opportunities have no close_date and no stage history "
            "by %s; they count as open in the first open stage",
            int(no_close_date.sum()),
            as_of,
        )

    history_is_open = map_values(from_history, stages["category"]) == "open"
    closed_by_date = is_closed & (known["dated_close"] <= pd.Timestamp(as_of))
    contradicted = history_is_open & closed_by_date
    if contradicted.any():
        logger.warning(
            "%d opportunities closed on or before %s by close_date, but their "
            "stage history shows an open stage on that date, and the date is "
            "before the export's latest record, so they count as open in the "
            "stage of the history",
            int(contradicted.sum()),
            as_of,
        )


def _attach_stage_attributes(
    snapshot: pd.DataFrame, stages: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """Add category, order, probability and forecast category of ``stage_asof``."""
    stage_asof = snapshot["stage_asof"]
    is_mapped = isin_values(stage_asof, stages.index)
    from_row = ~is_mapped & (stage_asof == snapshot["stage"])

    category = map_values(stage_asof, stages["category"]).astype(object)
    category = category.where(~from_row, snapshot["stage_category"].astype(object))
    _check_stage_categories(stage_asof, category, as_of)

    probability = map_values(stage_asof, stages["probability"]).astype(float)
    forecast = map_values(stage_asof, stages["forecast_category"]).astype(object)
    probability = probability.where(~from_row, snapshot["probability"].astype(float))
    forecast = forecast.where(~from_row, snapshot["forecast_category"].astype(object))

    result = snapshot.copy()
    result["stage_category_asof"] = category.astype(str)
    result["stage_order_asof"] = map_values(stage_asof, stages["order"]).astype("Int64")
    result["probability_asof"] = probability
    result["forecast_category_asof"] = forecast.astype("str")
    result["is_open"] = category == "open"
    result["is_won"] = category == "won"
    result["is_lost"] = category == "lost"
    return result


def _check_stage_categories(
    stage_asof: pd.Series, category: pd.Series, as_of: dt.date
) -> None:
    unknown = stage_asof[category.isna()]
    if unknown.empty:
        return
    counts = unknown.value_counts().sort_index()
    listed = ", ".join(
        f"{stage!r} ({count} opportunit{'y' if count == 1 else 'ies'})"
        for stage, count in counts.items()
    )
    raise InputError(
        f"stage(s) not found in stage_map on {as_of}: {listed}; add each stage "
        "to the stage_map parameter with its category (open, won or lost), "
        "probability, forecast_category and order",
        column="stage",
        value=list(counts.index),
    )


def _value_open_deals(snapshot: pd.DataFrame) -> pd.DataFrame:
    """Replace ``amount`` with ``amount_open`` on deals open on the as-of date.

    A deal closed later may carry its final amount, such as a won value,
    which was not known while it was open.
    """
    uses_open_amount = snapshot["is_open"] & snapshot["amount_open"].notna()
    result = snapshot.copy()
    result["amount"] = snapshot["amount"].where(
        ~uses_open_amount, snapshot["amount_open"]
    )
    return result


def _add_closed_on(snapshot: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    is_closed = snapshot["is_won"] | snapshot["is_lost"]
    close_date_applies = (snapshot["stage_asof"] == snapshot["stage"]) & (
        snapshot["dated_close"] <= pd.Timestamp(as_of)
    )
    entered_on = (
        snapshot["stage_entered_at"].dt.tz_convert(None).dt.normalize()
    ).astype(schema.DATE)

    closed_on = snapshot["dated_close"].where(close_date_applies, entered_on)
    result = snapshot.copy()
    result["closed_on"] = closed_on.where(is_closed).astype(schema.DATE)
    return result


def _add_contract_value(
    snapshot: pd.DataFrame, default_contract_months: int
) -> pd.DataFrame:
    result = snapshot.copy()
    months = result["contract_months"].astype("Int64").fillna(default_contract_months)
    result["contract_months"] = months
    result["acv"] = result["amount"] * 12.0 / months.astype(float)
    return result


def creation_estimated(opportunities: pd.DataFrame) -> pd.Series:
    """Return whether each deal's ``created_at`` is a stand-in, False when unknown.

    Reads the optional canonical ``created_at_estimated`` column.
    """
    if "created_at_estimated" not in opportunities.columns:
        return pd.Series(False, index=opportunities.index)
    flags = opportunities["created_at_estimated"].astype("boolean")
    return flags.fillna(False).astype(bool)
