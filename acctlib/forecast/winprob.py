"""Win-probability model: a logistic regression on deal features.

The model is fitted only on deals closed on or before the as-of date. Each
closed deal gives one training row per open stage it entered. The row
describes the deal as it stood when it entered that stage, and its outcome
is whether the deal was won.
Features:

- stage (one indicator per stage after the first);
- account tier (indicators for tiers 1 to 3 against tier 4);
- deal age relative to the typical sales cycle, capped at 3;
- engagement trend: ``log1p`` of the account's touches in the 30 days
  before, minus ``log1p`` of half its touches in the 60 days before those;
- amount band (quartiles of the training amounts) and deal type.

Open deals are scored as they stand on the as-of date. Fit warnings are
returned with the model, never printed.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import statsmodels.api as sm

from acctlib import asof, schema

logger = logging.getLogger(__name__)

MIN_TRAINING_ROWS = 30
"""Fewer training rows than this, or a single outcome, skips the model."""

MAX_AGE_RATIO = 3.0
DAY_KEY_SCALE = 1_000_000
"""Multiplier of an account's position in a :class:`TouchIndex` key, above any day."""
_EPOCH = pd.Timestamp("1970-01-01")


class TouchIndex:
    """Touch counts per account and day, indexed for fast window counts.

    Parameters
    ----------
    touch_counts
        Columns ``account_id``, ``day`` (whole days since 1970-01-01 in
        UTC) and ``touches``, or None when the source has no touchpoints.
    """

    def __init__(self, touch_counts: pd.DataFrame | None) -> None:
        self.enabled = touch_counts is not None and not touch_counts.empty
        self._arrow_accounts = None
        if not self.enabled:
            return
        account_ids = touch_counts["account_id"].astype(str).to_numpy(dtype=object)
        self.accounts = pd.Index(sorted(set(account_ids)))
        days = touch_counts["day"].to_numpy(dtype=np.int64)
        codes = self.accounts.get_indexer(account_ids)
        order = np.lexsort((days, codes))
        self.keys = (codes[order] * DAY_KEY_SCALE + days[order]).astype(np.int64)
        touches = touch_counts["touches"].to_numpy(dtype=float)[order]
        self.cumulative = np.concatenate([[0.0], np.cumsum(touches)])

    @classmethod
    def from_keys(
        cls, accounts: pd.Index, keys: np.ndarray, touches: np.ndarray
    ) -> TouchIndex:
        """Return the index of counts already keyed and sorted.

        ``accounts`` are the sorted account IDs, ``keys`` is ascending
        ``position in accounts * DAY_KEY_SCALE + day`` and ``touches`` the
        count of each key, as the engine query of the forecast step returns
        them without a row per account and day in pandas.
        """
        index = cls(None)
        index.enabled = len(keys) > 0
        if index.enabled:
            index.accounts = pd.Index(accounts)
            index.keys = np.asarray(keys, dtype=np.int64)
            counts = np.asarray(touches, dtype=float)
            index.cumulative = np.concatenate([[0.0], np.cumsum(counts)])
        return index

    def count(
        self, account_ids: pd.Series, start: pd.Series, end: pd.Series
    ) -> np.ndarray:
        """Return touches per row on the UTC days from ``start`` to before ``end``."""
        if not self.enabled:
            return np.zeros(len(account_ids))
        codes, known = self._account_keys(account_ids)
        first = codes + _day_numbers(start)
        last = codes + _day_numbers(end)
        # The order that sorts the starts also sorts the ends of windows of
        # one length. Any order gives the same counts, only slower.
        order = np.argsort(first, kind="stable")
        counts = self._cumulative_before(last, order)
        counts -= self._cumulative_before(first, order)
        return np.where(known, counts, 0.0)

    def count_windows(
        self, account_ids: pd.Series, reference: pd.Series, days_before: list[int]
    ) -> np.ndarray:
        """Return touches per row in adjacent windows before ``reference``.

        ``days_before`` ascends, such as ``[0, 30, 90]``. Column ``j`` has
        what :meth:`count` returns for the UTC days from ``days_before[j +
        1]`` days before ``reference`` to before ``days_before[j]`` days
        before it. The windows share the lookups of their common bounds.
        """
        if not self.enabled:
            return np.zeros((len(account_ids), len(days_before) - 1))
        codes, known = self._account_keys(account_ids)
        keys = codes + _day_numbers(reference)
        # Shifting every key by the same days keeps this order sorted.
        order = np.argsort(keys, kind="stable")
        before = [self._cumulative_before(keys - days, order) for days in days_before]
        counts = np.column_stack(
            [
                later - earlier
                for later, earlier in zip(before[:-1], before[1:], strict=True)
            ]
        )
        return np.where(known[:, None], counts, 0.0)

    def _account_keys(self, account_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's key of day 0, and whether its account is indexed."""
        codes = self._positions(account_ids.astype(str))
        known = codes >= 0
        return np.where(known, codes, 0).astype(np.int64) * DAY_KEY_SCALE, known

    def _positions(self, account_ids: pd.Series) -> np.ndarray:
        """Return each account's position in ``accounts``, or -1 if absent."""
        # Arrow looks the strings up without a Python object per row, which
        # took most of the time of an index lookup. Accounts that are not
        # text, which Arrow cannot compare with text, use the index.
        if self._arrow_accounts is None:
            self._arrow_accounts = pa.array(self.accounts.to_numpy(dtype=object))
        try:
            values = pa.array(account_ids.array, from_pandas=True)
            positions = pc.index_in(values, value_set=self._arrow_accounts)
        except pa.ArrowException:
            return self.accounts.get_indexer(account_ids.to_numpy(dtype=object))
        return positions.fill_null(-1).to_numpy(zero_copy_only=False)

    def _cumulative_before(self, keys: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Return the touches counted under keys below each of ``keys``.

        ``order`` should sort ``keys``: numpy's searchsorted starts each
        search from the previous result when the queries ascend, 0.19 s
        against 1.1 s for 1 million queries into 13 million keys (numpy 2,
        the 2-core benchmark box).
        """
        positions = np.empty(len(keys), dtype=np.intp)
        positions[order] = np.searchsorted(self.keys, keys[order], side="left")
        return self.cumulative[positions]


@dataclass
class WinModel:
    """A fitted win-probability model and what it needs to score deals."""

    result: object
    columns: list[str]
    stages: list[str]
    amount_edges: np.ndarray
    cycle_days: float
    training_rows: int
    warnings: list[str] = field(default_factory=list)

    def predict(
        self, open_deals: pd.DataFrame, as_of: dt.date, touches: TouchIndex
    ) -> np.ndarray:
        """Return the win probability of each open deal on ``as_of``."""
        reference = pd.Series(asof.as_of_cutoff(as_of), index=open_deals.index)
        rows = open_deals.assign(
            stage=open_deals["stage_asof"], reference_time=reference
        )
        features = _build_features(
            rows, self.stages, self.amount_edges, self.cycle_days, touches
        )
        design = sm.add_constant(features, has_constant="add")
        design = design.reindex(columns=self.columns, fill_value=0.0)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            predicted = np.asarray(self.result.predict(design), dtype=float)
        return np.clip(np.nan_to_num(predicted, nan=0.0), 0.0, 1.0)


def describe_training_shortfall(reach: pd.DataFrame) -> str:
    """Return why ``reach`` is too little to fit the model on, or "" if enough.

    ``reach`` is :func:`acctlib.forecast.pipeline.compute_stage_reach`. The
    reason reads after a colon, as in "skipped: it needed ...".
    """
    if len(reach) < MIN_TRAINING_ROWS:
        return (
            f"it needed {MIN_TRAINING_ROWS} stage entries of closed deals to "
            f"learn from, and had {len(reach)}"
        )
    won = reach["is_won"].astype(bool)
    if won.all():
        return "every closed deal it could learn from was won, and it needed lost ones"
    if not won.any():
        return "every closed deal it could learn from was lost, and it needed won ones"
    return ""


def fit_win_model(
    reach: pd.DataFrame, stages: list[str], cycle_days: float, touches: TouchIndex
) -> tuple[WinModel | None, list[str]]:
    """Fit the model on the closed deals' stage entries.

    ``reach`` is :func:`acctlib.forecast.pipeline.compute_stage_reach`;
    ``stages`` lists the open stages in process order. Returns the model,
    or None when there are too few rows or only one outcome, and the fit
    warnings as ``"Category: message"`` strings.
    """
    if describe_training_shortfall(reach):
        return None, []
    outcome = reach["is_won"].astype(float).to_numpy()
    rows = reach.assign(reference_time=reach["entered_at"])
    amount_edges = np.unique(np.quantile(reach["amount"], [0.25, 0.5, 0.75]))
    features = _build_features(rows, stages, amount_edges, cycle_days, touches)
    features = features.loc[:, features.std(ddof=0) > 0]
    design = sm.add_constant(features, has_constant="add")

    matrix = design.to_numpy()
    result, caught = _fit_newton(outcome, matrix)
    if result is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = _BinomialGLM(outcome, matrix, sm.families.Binomial())
                result = model.fit()
            except (np.linalg.LinAlgError, ValueError) as error:
                logger.info("win-probability fit failed: %s", error)
                return None, [f"{type(error).__name__}: {error}"]
    messages = sorted({_describe_warning(item) for item in caught})
    model = WinModel(
        result,
        list(design.columns),
        stages,
        amount_edges,
        cycle_days,
        len(reach),
        messages,
    )
    return model, messages


def _fit_newton(
    outcome: np.ndarray, design: np.ndarray
) -> tuple[object | None, list[warnings.WarningMessage]]:
    """Fit the logistic regression by Newton's method, or return None.

    Each Newton step solves with the design's cross-product, which costs
    much less than the least-squares solve of an IRLS step. The rank check,
    another decomposition of the whole design, is skipped, as for
    :class:`_BinomialGLM`. A fit that fails or does not converge, such as
    one with perfectly separated outcomes or collinear columns, returns
    None without its warnings, and the caller fits by IRLS instead.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = sm.Logit(outcome, design, check_rank=False)
            result = model.fit(method="newton", disp=False)
        except (np.linalg.LinAlgError, ValueError) as error:
            logger.info("win-probability Newton fit failed: %s", error)
            return None, []
    if not result.mle_retvals["converged"] or not np.isfinite(result.params).all():
        return None, []
    return result, list(caught)


class _BinomialGLM(sm.GLM):
    """A GLM that takes the design's rank as its column count.

    statsmodels 0.15 computes ``matrix_rank`` of the design on creation, an SVD
    that costs as much as an IRLS step, only for ``df_model`` and
    ``df_resid``. Neither enters the binomial fit, whose scale is fixed at
    1, nor the predictions, so the fitted coefficients stay the same.
    NOTE: the degrees of freedom, and with them the AIC and BIC of the
    result, are wrong for a design with collinear columns.
    """

    def initialize(self) -> None:
        self.df_model = self.exog.shape[1] - 1
        self.wnobs = self.exog.shape[0]
        self.df_resid = self.wnobs - self.df_model - 1


def summarize_calibration(scored: pd.DataFrame) -> pd.DataFrame:
    """Return predicted against actual win rate by decile of prediction.

    ``scored`` has ``predicted`` (0 to 1) and ``won`` (bool) per deal.
    Returns ``decile`` (1 is the lowest predictions), ``deals``,
    ``predicted`` (mean) and ``actual`` (share won). Deciles that tie on
    their bounds are merged, so fewer than ten rows may come back.
    """
    if scored.empty:
        return pd.DataFrame(
            {
                "decile": pd.Series(dtype=int),
                "deals": pd.Series(dtype=int),
                "predicted": pd.Series(dtype=float),
                "actual": pd.Series(dtype=float),
            }
        )
    ranks = scored["predicted"].rank(method="first")
    decile = pd.qcut(ranks, 10, labels=False, duplicates="drop") + 1
    table = (
        scored.assign(decile=decile, won=scored["won"].astype(float))
        .groupby("decile")
        .agg(
            deals=("won", "size"),
            predicted=("predicted", "mean"),
            actual=("won", "mean"),
        )
        .reset_index()
    )
    table["decile"] = table["decile"].astype(int)
    return table


def _build_features(
    rows: pd.DataFrame,
    stages: list[str],
    amount_edges: np.ndarray,
    cycle_days: float,
    touches: TouchIndex,
) -> pd.DataFrame:
    reference = pd.to_datetime(rows["reference_time"], utc=True)
    created = pd.to_datetime(rows["created_at"], utc=True)
    age = (reference - created).dt.total_seconds() / 86_400
    features = pd.DataFrame(index=rows.index)
    features["age_ratio"] = (age / max(cycle_days, 1.0)).clip(0.0, MAX_AGE_RATIO)

    counts = touches.count_windows(rows["account_id"], reference, [0, 30, 90])
    recent, earlier = counts[:, 0], counts[:, 1]
    features["engagement_trend"] = np.log1p(recent) - np.log1p(earlier / 2)

    # One 0/1 column per category after the first, named as get_dummies
    # with drop_first names them. Missing or unknown values are all zeros.
    bands = np.digitize(rows["amount"].to_numpy(dtype=float), amount_edges)
    indicators = {
        "stage": (_category_codes(rows["stage"], stages), stages),
        "tier": (
            _category_codes(rows["tier"].astype(int), [4, 1, 2, 3]),
            [4, 1, 2, 3],
        ),
        "type": (
            _category_codes(rows["type"], schema.OPPORTUNITY_TYPES),
            schema.OPPORTUNITY_TYPES,
        ),
        "amount_band": (bands, range(len(amount_edges) + 1)),
    }
    columns = {}
    for name, (codes, categories) in indicators.items():
        for code, category in enumerate(categories):
            if code > 0:
                columns[f"{name}_{category}"] = (codes == code).astype(float)
    dummies = pd.DataFrame(columns, index=rows.index)
    return pd.concat([features, dummies], axis=1)


def _category_codes(values: pd.Series, categories) -> np.ndarray:
    """Return each value's position in ``categories``, or -1 when absent.

    The codes equal those of ``pd.Categorical``, which converted Arrow text
    to Python objects first. Arrow looks the values up, and values it
    cannot compare with ``categories`` use ``pd.Categorical``.
    """
    try:
        found = pc.index_in(
            pa.array(values.array, from_pandas=True),
            value_set=pa.array(list(categories)),
        )
    except pa.ArrowException:
        return np.asarray(pd.Categorical(values, categories=categories).codes)
    return found.fill_null(-1).to_numpy(zero_copy_only=False)


def _day_numbers(values: pd.Series) -> np.ndarray:
    days = pd.to_datetime(values, utc=True).dt.tz_convert(None)
    return (days - _EPOCH).dt.days.to_numpy(dtype=np.int64)


def _describe_warning(item: warnings.WarningMessage) -> str:
    first_line = str(item.message).strip().splitlines()[0] if item.message else ""
    return f"{item.category.__name__}: {first_line}"
