"""Stage history sorted once for the stage figures of many as-of dates.

:func:`acctlib.progression.compute_stage_durations` and the stage entry
times of :func:`acctlib.progression.compute_opportunity_progression` each
filter and sort the whole stage history for one date. :class:`StageVisits`
sorts it once by opportunity and ``entered_at``. The entries known on a
date are then a prefix of each opportunity's run, so a visit known on that
date is one whose next entry came before the cutoff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from acctlib import schema
from acctlib.asof import as_of_cutoff
from acctlib.progression import summarize_stage_durations


class StageVisits:
    """Every stage visit of a stage history, sorted to be cut at any date.

    ``stage_history`` is the canonical table (``opportunity_id``, ``stage``,
    ``entered_at`` in UTC).
    """

    def __init__(self, stage_history: pd.DataFrame) -> None:
        history = stage_history[["opportunity_id", "stage", "entered_at"]].copy()
        history["entered_at"] = pd.to_datetime(history["entered_at"], utc=True)
        # An entry without a time is known on no date.
        history = history[history["entered_at"].notna()]

        # The order of a stable sort by (opportunity_id, entered_at), with
        # missing IDs last, as in acctlib.progression._known_history.
        ids, uniques = pd.factorize(history["opportunity_id"], sort=True)
        ids = np.where(ids < 0, len(uniques), ids)
        entered = history["entered_at"].dt.tz_convert(None).to_numpy()
        order = np.lexsort((entered.view("int64"), ids))
        history = history.iloc[order].reset_index(drop=True)

        # The next entry of the same opportunity ends a visit. Missing IDs
        # form no group, so their entries end no visit.
        history["left_at"] = history.groupby("opportunity_id")["entered_at"].shift(-1)
        visits = history[history["left_at"].notna()].copy()
        visits["days"] = (
            visits["left_at"] - visits["entered_at"]
        ).dt.total_seconds() / 86400
        self.visits = visits[
            ["opportunity_id", "stage", "entered_at", "left_at", "days"]
        ]
        self._left_at = self.visits["left_at"].dt.tz_convert(None).to_numpy()

        # The latest time each opportunity entered each stage: entries with
        # a missing ID or stage belong to no (opportunity, stage) group.
        self._ids, id_values = pd.factorize(history["opportunity_id"])
        self._stages, stage_values = pd.factorize(history["stage"])
        # An Index builds its hash table on first lookup and keeps it, which
        # saves about 0.1 s a date for 300,000 opportunity IDs.
        self._id_values = pd.Index(id_values)
        self._stage_values = pd.Index(stage_values)
        self._entered = history["entered_at"].dt.tz_convert(None).to_numpy()
        self._has_key = (self._ids >= 0) & (self._stages >= 0)

    def summarize_durations(
        self, as_of: dt.date, stage_map: Mapping[str, Mapping[str, Any]]
    ) -> pd.DataFrame:
        """Return :func:`acctlib.progression.summarize_stage_durations` on ``as_of``.

        The visits are those that
        :func:`acctlib.progression.compute_stage_durations` returns on
        ``as_of``, in another row order, which the quantiles ignore.
        """
        cutoff = _naive(as_of_cutoff(as_of))
        # The summary reads only these two columns.
        known = self.visits[["stage", "days"]][self._left_at < cutoff]
        return summarize_stage_durations(known, stage_map)

    def find_stage_entries(self, snapshot: pd.DataFrame, as_of: dt.date) -> pd.Series:
        """Return when each opportunity entered its stage on ``as_of``.

        ``snapshot`` has ``opportunity_id`` and ``stage_asof``. The result
        is aligned with it and is NaT where no entry of that opportunity and
        stage is known on ``as_of``.
        """
        known = self._has_key & (self._entered < _naive(as_of_cutoff(as_of)))
        size = len(self._stage_values) + 1
        keys = self._ids[known].astype("int64") * size + self._stages[known]
        # Entries are sorted by time within each opportunity, so the last
        # of each key is its latest. A NaT after them serves the misses.
        is_last = ~pd.Index(keys).duplicated(keep="last")
        latest = pd.Index(keys[is_last])
        entered = np.append(self._entered[known][is_last], np.datetime64("NaT"))

        ids = self._id_values.get_indexer(snapshot["opportunity_id"])
        stages = self._stage_values.get_indexer(snapshot["stage_asof"])
        lookup_keys = np.where(
            (ids >= 0) & (stages >= 0), ids.astype("int64") * size + stages, -1
        )
        found = entered[latest.get_indexer(lookup_keys)]
        result = pd.Series(found, index=snapshot.index).dt.tz_localize("UTC")
        return result.astype(schema.TIMESTAMP)


def _naive(timestamp: pd.Timestamp) -> np.datetime64:
    return timestamp.tz_convert(None).to_datetime64()
