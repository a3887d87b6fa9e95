"""Hand-written DuckDB SQL doing acctlib's heuristic attribution, as a reference.

:data:`CREDITS_SQL` computes, in one query, what
:func:`acctlib.attribution.credits.compute_attribution` computes for the
eight rule-based models. It selects the opportunities of both credit kinds
(won deals for revenue, every deal created by the as-of date for
pipeline) and their windows. It joins the touches of the account inside
each window and keeps each touch for the opportunity that closes first.
It orders each journey by time, channel and touch id, weights every model
and allocates whole cents by the largest-remainder rule. Like acctlib, it
partitions the journeys on one integer per kind and deal. The result has
one row per kind, opportunity, channel and function with ``touches`` and
one column of cents per model, the sums acctlib keeps in the engine.
:data:`UNPIVOT_SQL` turns such a table into one row per model with
``credit_cents``, the rows of acctlib's credit table.

The benchmark runs it as ``CREATE TEMP TABLE ... AS`` the query, so its
sums stay in DuckDB as acctlib's do.

The query leaves out what acctlib adds around the credits: "No recorded
touch" rows, opportunity attributes, campaign credits, journey summaries
and the count of excluded touches. It assumes the default settings: no
channel priority list and the ``next`` assignment.
"""

from __future__ import annotations

import datetime as dt

CREDITS_SQL = """
WITH deals AS (
    SELECT opportunity_id, account_id, amount, created_at,
           CASE WHEN is_won THEN 'won' WHEN is_lost THEN 'lost' ELSE 'open' END
               AS outcome,
           CAST(floor(round(amount * 100, 6) + 0.5) AS BIGINT) AS amount_cents,
           created_at - INTERVAL {lookback} DAY AS window_start,
           LEAST(
               CASE WHEN is_won OR is_lost
                    THEN CAST(close_date + 1 AS TIMESTAMP) AT TIME ZONE 'UTC'
                    ELSE TIMESTAMPTZ '{cutoff}' END,
               TIMESTAMPTZ '{cutoff}'
           ) AS window_end
    FROM opportunities
    WHERE created_at < TIMESTAMPTZ '{cutoff}' AND amount IS NOT NULL
),
credited_deals AS (
    SELECT row_number() OVER () AS journey, *
    FROM (
        SELECT 'revenue' AS kind, * FROM deals WHERE outcome = 'won' AND amount > 0
        UNION ALL
        SELECT 'pipeline' AS kind, * FROM deals
        WHERE amount > 0 OR (outcome <> 'won' AND amount = 0)
    )
),
assigned AS (
    SELECT d.journey, d.kind, d.opportunity_id, d.amount_cents, d.created_at,
           d.window_end, t.touch_id, t.channel, t.function, t.occurred_at
    FROM touchpoints t
    JOIN credited_deals d
      ON t.account_id = d.account_id
     AND t.occurred_at >= d.window_start
     AND t.occurred_at < d.window_end
    WHERE t.occurred_at < TIMESTAMPTZ '{cutoff}'
    QUALIFY row_number() OVER (
        PARTITION BY d.kind, t.touch_id ORDER BY d.window_end, d.opportunity_id
    ) = 1
),
positioned AS (
    SELECT journey, kind, opportunity_id, amount_cents, channel, function,
           row_number() OVER (
               PARTITION BY journey
               ORDER BY occurred_at,
                        CASE function
                            WHEN 'marketing' THEN 0 WHEN 'partner' THEN 1
                            WHEN 'sdr' THEN 2 WHEN 'ae' THEN 3
                            WHEN 'se' THEN 4 WHEN 'cs' THEN 5 ELSE 6
                        END,
                        channel, touch_id
           ) - 1 AS position,
           count(*) OVER journey AS n,
           greatest(count_if(occurred_at < created_at) OVER journey - 1, 0)
               AS creation,
           pow(2.0, -(epoch(window_end) - epoch(occurred_at)) / 86400.0
                    / {half_life}) AS w_time_decay
    FROM assigned
    WINDOW journey AS (PARTITION BY journey)
),
roles AS (
    SELECT *,
           position = 0 AS is_first,
           position = n - 1 AS is_last,
           position = creation AS is_creation,
           n >= 2 AND position = n - 2 AS is_before_last,
           -- Distinct touches that play a key role, per position model.
           CASE WHEN n = 1 THEN 1 ELSE 2 END AS u_keys,
           1 + (creation <> 0)::INT + (n - 1 <> 0 AND n - 1 <> creation)::INT
               AS w_keys,
           1 + (creation <> 0)::INT
             + (n >= 2 AND n - 2 <> 0 AND n - 2 <> creation)::INT
             + (n - 1 <> 0 AND n - 1 <> creation AND n - 1 <> n - 2)::INT
               AS f_keys
    FROM positioned
),
weighted AS (
    SELECT journey, kind, opportunity_id, amount_cents, channel, function, position, n,
           is_first, is_last, is_creation, w_time_decay,
           CASE WHEN is_first OR is_last
                THEN 40.0 * is_first::INT + 40.0 * is_last::INT
                ELSE 20.0 / (n - u_keys) END AS w_u_shaped,
           CASE WHEN is_first OR is_creation OR is_last
                THEN 30.0 * (is_first::INT + is_creation::INT + is_last::INT)
                ELSE 10.0 / (n - w_keys) END AS w_w_shaped,
           CASE WHEN is_first OR is_creation OR is_before_last OR is_last
                THEN 22.5 * (is_first::INT + is_creation::INT
                             + is_before_last::INT + is_last::INT)
                ELSE 10.0 / (n - f_keys) END AS w_full_path
    FROM roles
),
exact AS (
    SELECT *,
           amount_cents * (w_time_decay / sum(w_time_decay) OVER journey) AS e_td,
           amount_cents * (w_u_shaped / sum(w_u_shaped) OVER journey) AS e_u,
           amount_cents * (w_w_shaped / sum(w_w_shaped) OVER journey) AS e_w,
           amount_cents * (w_full_path / sum(w_full_path) OVER journey) AS e_f
    FROM weighted
    WINDOW journey AS (PARTITION BY journey)
),
floored AS (
    SELECT *,
           amount_cents - sum(floor(e_td)) OVER journey AS left_td,
           amount_cents - sum(floor(e_u)) OVER journey AS left_u,
           amount_cents - sum(floor(e_w)) OVER journey AS left_w,
           amount_cents - sum(floor(e_f)) OVER journey AS left_f
    FROM exact
    WINDOW journey AS (PARTITION BY journey)
),
allocated AS (
    SELECT journey, kind, opportunity_id, channel, function,
           CASE WHEN is_first THEN amount_cents ELSE 0 END AS first_touch,
           CASE WHEN is_creation THEN amount_cents ELSE 0 END AS creation_touch,
           CASE WHEN is_last THEN amount_cents ELSE 0 END AS last_touch,
           amount_cents // n + (position < amount_cents % n)::INT AS linear,
           floor(e_td)::BIGINT + (row_number() OVER (
               PARTITION BY journey
               ORDER BY e_td - floor(e_td) DESC, position) <= left_td)::INT
               AS time_decay,
           floor(e_u)::BIGINT + (row_number() OVER (
               PARTITION BY journey
               ORDER BY e_u - floor(e_u) DESC, position) <= left_u)::INT
               AS u_shaped,
           floor(e_w)::BIGINT + (row_number() OVER (
               PARTITION BY journey
               ORDER BY e_w - floor(e_w) DESC, position) <= left_w)::INT
               AS w_shaped,
           floor(e_f)::BIGINT + (row_number() OVER (
               PARTITION BY journey
               ORDER BY e_f - floor(e_f) DESC, position) <= left_f)::INT
               AS full_path
    FROM floored
),
summed AS (
    SELECT kind, opportunity_id, channel, function, count(*) AS touches,
           sum(first_touch) AS first_touch, sum(creation_touch) AS creation_touch,
           sum(last_touch) AS last_touch, sum(linear) AS linear,
           sum(time_decay) AS time_decay, sum(u_shaped) AS u_shaped,
           sum(w_shaped) AS w_shaped, sum(full_path) AS full_path
    FROM allocated
    GROUP BY ALL
)
SELECT * FROM summed
"""
UNPIVOT_SQL = """
UNPIVOT {table}
ON first_touch, creation_touch, last_touch, linear, time_decay, u_shaped,
   w_shaped, full_path
INTO NAME model VALUE credit_cents
"""


def format_credits_sql(
    as_of: dt.date, lookback_days: int, half_life_days: float
) -> str:
    """Return :data:`CREDITS_SQL` for one as-of date, lookback and half-life.

    The connection running it must use the UTC time zone, because the
    lookback is subtracted from a TIMESTAMPTZ in the session time zone.
    """
    cutoff = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    return CREDITS_SQL.format(
        lookback=int(lookback_days),
        cutoff=cutoff.isoformat() + "+00:00",
        half_life=float(half_life_days),
    )
