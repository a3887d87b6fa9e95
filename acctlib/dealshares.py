"""Per-account shares of deals linked to several companies.

A HubSpot deal may list several companies. Intake keeps one row per deal,
whose ``account_id`` is the first listed company. The audit table
``deal_companies`` (``opportunity_id``, ``account_id``, ``share``) gives
each company's share under the ``shared_deal_split`` rule. Under ``first``
the first company has 1 and the others 0; under ``equal`` each of n
companies has 1/n.

:func:`split_shared_deals` spreads per-deal rows over the companies by
those shares before per-account sums, so the account map, tiers and the
per-account attribution credit follow the rule while every total still
counts each deal once.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd

DEAL_COMPANIES = "deal_companies"
"""Name of the intake audit table with each deal's companies and shares."""


def shared_links(deal_companies: pd.DataFrame | None) -> pd.DataFrame:
    """Return the company links of deals shared by more than one company.

    Keeps ``opportunity_id``, ``account_id`` and ``share`` of links with a
    share above zero, for deals that have two or more such companies. The
    result is empty when ``deal_companies`` is None or no deal is shared.
    """
    columns = ["opportunity_id", "account_id", "share"]
    if deal_companies is None or deal_companies.empty:
        return pd.DataFrame(columns=columns)
    links = deal_companies.loc[deal_companies["share"] > 0, columns]
    companies = links.groupby("opportunity_id")["account_id"].nunique()
    return links[links["opportunity_id"].isin(companies[companies > 1].index)]


def split_shared_deals(
    deals: pd.DataFrame,
    deal_companies: pd.DataFrame | None,
    amount_columns: Sequence[str],
) -> pd.DataFrame:
    """Return ``deals`` with each shared deal as one row per crediting company.

    Parameters
    ----------
    deals
        One row per deal with ``opportunity_id``, ``account_id`` and the
        ``amount_columns``; other columns are copied to every row of a deal.
    deal_companies
        ``opportunity_id``, ``account_id`` and ``share`` (0 to 1, summing to
        1 per deal), or None when the source links each deal to at most one
        company.
    amount_columns
        Columns multiplied by the company's share, such as ``amount`` and
        ``acv``.

    Returns
    -------
    pandas.DataFrame
        A new frame. A deal with more than one company of share above zero
        becomes one row per such company, with that company as
        ``account_id`` and its share of each amount, so the amounts of the
        deal's rows sum to the deal's amounts. Other deals are unchanged,
        so under the ``first`` rule the result equals ``deals``. Row counts
        (such as won deals per account) count a split deal once under each
        of its companies.
    """
    links = shared_links(deal_companies)
    if links.empty:
        return deals
    shared = deals["opportunity_id"].isin(links["opportunity_id"])
    if not shared.any():
        return deals

    expanded = (
        deals[shared]
        .drop(columns=["account_id"])
        .merge(links, on="opportunity_id", how="inner")
    )
    for column in amount_columns:
        expanded[column] = expanded[column] * expanded["share"]
    expanded = expanded[list(deals.columns)].astype(deals.dtypes.to_dict())

    result = pd.concat([deals[~shared], expanded], ignore_index=True)
    return result.sort_values(["opportunity_id", "account_id"], kind="stable")


def split_shared_cents(
    rows: pd.DataFrame, deal_companies: pd.DataFrame | None, cents_column: str
) -> pd.DataFrame:
    """Return ``rows`` with the cents of shared deals split over their companies.

    Like :func:`split_shared_deals`, for rows that carry whole cents, such
    as attribution credits (several rows per deal). Each row of a shared
    deal becomes one row per company, and its cents are split by the
    shares with the largest remainder method, so the parts are whole
    cents that add up to the row's cents exactly. Ties in the remainder go
    to the company that sorts first. Other columns are copied.
    """
    links = shared_links(deal_companies)
    if links.empty or rows.empty:
        return rows
    shared = rows["opportunity_id"].isin(links["opportunity_id"])
    if not shared.any():
        return rows

    source = (
        rows[shared]
        .drop(columns=["account_id"])
        .assign(_part_of=range(int(shared.sum())))
    )
    parts = source.merge(links, on="opportunity_id", how="inner")
    parts = parts.sort_values(["_part_of", "account_id"], kind="stable")
    exact = parts[cents_column].astype("float64") * parts["share"]
    floor = np.floor(exact).astype("int64")
    missing = parts[cents_column].astype("int64") - floor.groupby(
        parts["_part_of"]
    ).transform("sum")
    # Rank each part's remainder within its row; the largest remainders
    # receive the cents the floors left over.
    rank = (
        (exact - floor)
        .groupby(parts["_part_of"])
        .rank(method="first", ascending=False)
        .astype("int64")
    )
    parts[cents_column] = floor + (rank <= missing).astype("int64")
    parts = parts[list(rows.columns)].astype(rows.dtypes.to_dict())
    return pd.concat([rows[~shared], parts], ignore_index=True)


def split_shared_cents_expr(
    rows: ibis.Table,
    deal_companies: pd.DataFrame | None,
    cents_columns: str | Sequence[str],
    row_keys: Sequence[str],
) -> ibis.Table:
    """Split the cents of shared deals over their companies, in the engine.

    The rule of :func:`split_shared_cents` for an Ibis table whose rows are
    unique by ``row_keys`` (which include ``opportunity_id``): largest
    remainder per row, ties to the company that sorts first, so the result
    equals that function's to the cent. Each of ``cents_columns`` is split
    on its own, as if it were the only one. ``deal_companies`` is
    deal-sized and is sent to the engine as a memtable. Returns ``rows``
    unchanged when no deal has more than one company with a share above
    zero.
    """
    links = shared_links(deal_companies)
    if links.empty:
        return rows
    if isinstance(cents_columns, str):
        cents_columns = [cents_columns]

    shares = ibis.memtable(
        links.rename(columns={"account_id": "_company", "share": "_share"}).astype(
            {"opportunity_id": "str", "_company": "str", "_share": "float64"}
        )
    )
    columns = rows.columns
    shared = rows.inner_join(shares, "opportunity_id")
    window = ibis.window(group_by=list(row_keys))
    for index, column in enumerate(cents_columns):
        exact = shared[column].cast("float64") * shared._share
        floor = exact.floor().cast("int64")
        shared = shared.mutate(**{f"_exact{index}": exact, f"_floor{index}": floor})
        exact, floor = shared[f"_exact{index}"], shared[f"_floor{index}"]
        rank = ibis.row_number().over(
            group_by=list(row_keys),
            order_by=[ibis.desc(exact - floor), shared._company],
        )
        missing = shared[column] - floor.sum().over(window)
        # row_number starts at 0, so the first ``missing`` ranks get a cent.
        bonus = ibis.ifelse(rank < missing, 1, 0).cast("int64")
        shared = shared.mutate(**{f"_split{index}": floor + bonus})
    split_cents = {
        column: shared[f"_split{index}"] for index, column in enumerate(cents_columns)
    }
    split = shared.mutate(**split_cents, account_id=shared._company).select(*columns)
    unshared = rows.filter(~rows.opportunity_id.isin(shares.opportunity_id))
    return unshared.union(split.cast(rows.schema()), distinct=False)
