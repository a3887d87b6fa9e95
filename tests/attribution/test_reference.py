"""Attribution checked against reference packages and hand-computed journeys.

The reference figures were computed once in a separate virtual environment
and only the numbers are kept here; neither package is a dependency:

- marketing-attribution-models 2.1.1 (``mam``, Apache-2.0),
  ``MAM(..., format_type="grouped_journey").run_markov()``, removal effects;
- ChannelAttribution 2.2.5 (GPL-3.0), ``heuristic_models`` and
  ``markov_model(order=1, seed=2026)`` on the same path file.
"""

from __future__ import annotations

import datetime as dt
import shutil

import ibis
import pytest
import yaml

from acctlib import asof
from acctlib.attribution import markov, paths
from acctlib.attribution.credits import compute_attribution
from acctlib.attribution.settings import AttributionSettings
from acctlib.intake import load_profile, load_source
from acctlib.intake.journeys import load_paths
from acctlib.params import resolve_params
from tests.conftest import DATASETS

PATH_DATA = DATASETS / "channelattribution-pathdata" / "Data.csv"
DP6 = DATASETS / "dp6-mam-test-journeys"

MAM_REMOVAL_EFFECTS = {
    "alpha": 0.5583994895077469,
    "beta": 0.2640385357412366,
    "delta": 0.00048199575803853367,
    "epsilon": 0.06263858227549057,
    "eta": 0.34902633187114585,
    "gamma": 0.017879974419968803,
    "iota": 0.4058350044719442,
    "kappa": 0.028663386655465528,
    "lambda": 0.13402212280970016,
    "mi": 0.00017994581989377867,
    "theta": 0.2060104627727699,
    "zeta": 0.03981051781738343,
}
# ChannelAttribution's simulated conversions per channel over all 19,785.
CHANNELATTRIBUTION_MARKOV_SHARES = {
    "alpha": 0.263976,
    "beta": 0.127563,
    "delta": 0.000432,
    "epsilon": 0.028707,
    "eta": 0.170516,
    "gamma": 0.01036,
    "iota": 0.199439,
    "kappa": 0.012519,
    "lambda": 0.066911,
    "mi": 0.0,
    "theta": 0.099288,
    "zeta": 0.020289,
}
# ChannelAttribution heuristic_models: (first, last, linear) conversions.
CHANNELATTRIBUTION_HEURISTICS = {
    "alpha": (6308.0, 8447.0, 7574.718594),
    "beta": (2831.0, 989.0, 2083.500145),
    "delta": (1.0, 5.0, 1.725000),
    "epsilon": (99.0, 531.0, 272.170438),
    "eta": (3164.0, 4167.0, 3539.951157),
    "gamma": (165.0, 92.0, 121.041639),
    "iota": (4606.0, 3355.0, 3857.096221),
    "kappa": (74.0, 230.0, 137.964078),
    "lambda": (902.0, 1207.0, 1035.257572),
    "mi": (2.0, 2.0, 2.222222),
    "theta": (1606.0, 653.0, 1022.801394),
    "zeta": (27.0, 107.0, 136.551540),
}
CHANNELATTRIBUTION_FIRST_VALUE = {"alpha": 19121.272356, "delta": 6.119000}


@pytest.fixture(scope="module")
def path_data():
    if not PATH_DATA.is_file():
        pytest.skip(f"{PATH_DATA} is absent")
    return load_paths(PATH_DATA, load_profile("paths"))


@pytest.mark.realdata
def test_paths_grouped_by_path(path_data):
    """Repeated path strings are summed into one row each."""
    assert path_data["path"].is_unique
    assert int(path_data["conversions"].sum()) == 19_785
    assert int(path_data["nulls"].sum()) == 68_602


@pytest.mark.realdata
def test_markov_matches_mam_exactly(path_data):
    """First-order removal effects equal mam's to 1e-9."""
    effects = markov.compute_removal_effects(markov.count_path_transitions(path_data))
    found = dict(zip(effects["channel"], effects["removal_effect"], strict=True))
    assert sorted(found) == sorted(MAM_REMOVAL_EFFECTS)
    for channel, expected in MAM_REMOVAL_EFFECTS.items():
        assert found[channel] == pytest.approx(expected, abs=1e-9), channel


@pytest.mark.realdata
def test_markov_near_channelattribution(path_data):
    """Shares lie within 1 percentage point of the simulated estimate."""
    effects = markov.compute_removal_effects(markov.count_path_transitions(path_data))
    found = dict(zip(effects["channel"], effects["share"], strict=True))
    for channel, expected in CHANNELATTRIBUTION_MARKOV_SHARES.items():
        assert abs(found[channel] - expected) < 0.01, channel


@pytest.mark.realdata
def test_path_heuristics_match_channelattribution(path_data):
    """First, last and linear touch equal ChannelAttribution's heuristics."""
    result = paths.compute_path_heuristics(path_data).set_index("channel")
    for channel, (first, last, linear) in CHANNELATTRIBUTION_HEURISTICS.items():
        row = result.loc[channel]
        assert row["first_touch_conversions"] == first
        assert row["last_touch_conversions"] == last
        assert row["linear_conversions"] == pytest.approx(linear, abs=1e-6)
    for channel, value in CHANNELATTRIBUTION_FIRST_VALUE.items():
        assert result.loc[channel, "first_touch_value"] == pytest.approx(
            value, abs=1e-6
        )


@pytest.fixture(scope="module")
def dp6_full_lookback(tmp_path_factory):
    """DP6 journeys attributed with a 365-day lookback."""
    return _dp6_attribution(tmp_path_factory.mktemp("dp6"), lookback_days=365)


def _dp6_attribution(tmp_path, lookback_days):
    """Read the DP6 touch rows through the journeys profile and attribute them."""
    if not (DP6 / "test_dataset.csv").is_file():
        pytest.skip(f"{DP6} is absent")
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    shutil.copy(DP6 / "test_dataset.csv", data / "test_dataset.csv")
    profile = load_profile("journeys")
    profile.update(
        files={"journeys": "test_dataset.csv"},
        columns={
            "journey_id": "user_pseudo_id",
            "occurred_at": "event_time",
            "channel": "source_medium",
            "converted": "is_conversion_purchase",
        },
        default_value="300",
    )
    profile_path = tmp_path / "dp6.yaml"
    profile_path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    params = resolve_params(
        None, [f"data_dir={data}", f"profile={profile_path}", "as_of=2022-12-31"]
    )
    intake = load_source(params)
    snapshot = asof.snapshot_opportunities(
        intake.tables["opportunities"], None, intake.stage_map, params.as_of
    )
    con = ibis.duckdb.connect()
    touches = con.create_table("touchpoints", intake.tables["touchpoints"])
    settings = AttributionSettings(
        as_of=dt.date(2022, 12, 31), lookback_days=lookback_days
    )
    return compute_attribution(con, touches, snapshot, settings)


def _channel_credit(result, model):
    rows = result.fetch_credits()
    rows = rows[(rows["kind"] == "revenue") & (rows["model"] == model)]
    return (rows.groupby("channel")["credit_cents"].sum() / 100).to_dict()


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # A: seo, direct, google_ads, direct; C: direct, crm, direct;
        # D1: seo, direct, direct; D2: direct, direct, seo, direct; 300 each.
        ("first_touch", {"crm": 0.0, "direct": 600.0, "google_ads": 0.0, "seo": 600.0}),
        ("last_touch", {"crm": 0.0, "direct": 1200.0, "google_ads": 0.0, "seo": 0.0}),
        ("linear", {"crm": 100.0, "direct": 775.0, "google_ads": 75.0, "seo": 250.0}),
    ],
)
def test_dp6_heuristics_by_hand(dp6_full_lookback, model, expected):
    """The DP6 journeys, split at each conversion, credit as computed by hand."""
    assert _channel_credit(dp6_full_lookback, model) == expected


@pytest.mark.realdata
def test_dp6_lookback_drops_early_touch(tmp_path):
    """With 180 days A's July 2021 seo session leaves the journey."""
    result = _dp6_attribution(tmp_path, lookback_days=180)
    assert _channel_credit(result, "first_touch") == {
        "crm": 0.0,
        "direct": 900.0,
        "google_ads": 0.0,
        "seo": 300.0,
    }
