"""Tests for acctlib.params: declarations, defaults, files and overrides."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from acctlib.errors import ParameterError
from acctlib.params import (
    DEFAULTS_FILE,
    TYPES,
    Params,
    dumps,
    last_day_of_previous_month,
    load_declarations,
    parse_override,
    resolve_params,
)

TODAY = dt.date(2026, 3, 15)
REPO = Path(__file__).resolve().parent.parent


def write_params(folder: Path, text: str, name: str = "params.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_resolve():
    params = resolve_params(today=TODAY)

    assert isinstance(params, Params)
    assert set(params) == set(load_declarations())
    assert params["variant"] == ""
    assert params["data_dir"] == Path("data/sample")
    assert params["profile"] == "canonical"
    assert params["report_currency"] == "USD"
    assert params["influence_window_days"] == 90
    assert params["top_accounts"] == 10
    assert params["sections"][0] == "00-executive-summary"
    assert params["sections"] == sorted(params["sections"])
    for name in params["sections"]:
        assert (REPO / "notebooks" / f"{name}.ipynb").is_file(), name
    assert params["stage_map"]["Closed Won"]["category"] == "won"
    assert params.run_name == "2026-02-28"
    assert set(params.sources.values()) == {"default"}


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 3, 15), dt.date(2026, 2, 28)),
        (dt.date(2024, 3, 1), dt.date(2024, 2, 29)),
        (dt.date(2026, 1, 10), dt.date(2025, 12, 31)),
        (dt.date(2026, 3, 31), dt.date(2026, 2, 28)),
        (dt.date(2026, 5, 1), dt.date(2026, 4, 30)),
    ],
)
def test_as_of_defaults_to_previous_month_end(today, expected):
    assert resolve_params(today=today).as_of == expected
    assert last_day_of_previous_month(today) == expected


def test_future_as_of_stops():
    with pytest.raises(ParameterError) as caught:
        resolve_params(None, ["as_of=2026-07-01"], today=dt.date(2026, 6, 30))

    message = str(caught.value)
    assert "as_of is 2026-07-01 (from --set), after today, 2026-06-30" in message
    assert "Set as_of to today or an earlier date" in message


def test_as_of_today_passes():
    params = resolve_params(None, ["as_of=2026-06-30"], today=dt.date(2026, 6, 30))

    assert params.as_of == dt.date(2026, 6, 30)


def test_file_and_overrides_merge(tmp_path):
    path = write_params(
        tmp_path,
        "as_of: 2026-06-30\ntop_accounts: 20\nreport_currency: EUR\n",
    )

    # The file's as-of date must not be after the day the run resolves it.
    today = dt.date(2026, 7, 1)
    params = resolve_params(path, ["top_accounts=30", "seed=7"], today=today)

    assert params.as_of == dt.date(2026, 6, 30)
    assert params["report_currency"] == "EUR"
    assert params["top_accounts"] == 30
    assert params["seed"] == 7
    assert params.sources["as_of"] == str(path)
    assert params.sources["top_accounts"] == "--set"
    assert params.sources["lookback_days"] == "default"


def test_later_override_wins():
    params = resolve_params(overrides=["top_accounts=5", "top_accounts=6"])

    assert params["top_accounts"] == 6


def test_empty_params_file_keeps_defaults(tmp_path):
    path = write_params(tmp_path, "# nothing set\n")

    params = resolve_params(path, today=TODAY)

    assert params.as_of == dt.date(2026, 2, 28)
    assert params["top_accounts"] == 10


def test_unknown_parameter_in_file_raises(tmp_path):
    path = write_params(tmp_path, "top_acounts: 5\n")

    expected = (
        rf"unknown parameter 'top_acounts' in {re.escape(str(path))}; "
        r"did you mean 'top_accounts'\? acctlib build --help lists every parameter$"
    )
    with pytest.raises(ParameterError, match=expected):
        resolve_params(path)


def test_unknown_parameter_in_override_raises():
    expected = r"unknown parameter 'colour' in --set colour=red; known parameters:"
    with pytest.raises(ParameterError, match=expected):
        resolve_params(overrides=["colour=red"])


def test_profile_option_override_names_profile():
    """A parser option such as locale points at the profile's options."""
    with pytest.raises(ParameterError) as caught:
        resolve_params(overrides=["locale=de-DE"])

    message = str(caught.value)
    assert message.startswith("unknown parameter 'locale' in --set locale=de-DE:")
    assert "Set locale: de-DE under options: in the profile" in message
    assert "copy params/profiles/<profile>.yaml" in message
    assert "--set profile=path/to/the/copy.yaml" in message


@pytest.mark.parametrize(
    ("override", "message"),
    [
        pytest.param(
            "top_accounts=abc",
            r"invalid value 'abc' for parameter 'top_accounts' in --set "
            r"top_accounts=abc: not a whole number\. Expected integer \(accounts\)\.",
            id="integer-text",
        ),
        pytest.param(
            "top_accounts=2.5",
            r"invalid value 2\.5 for parameter 'top_accounts'.*not a whole number",
            id="integer-fraction",
        ),
        pytest.param(
            "top_accounts=true",
            r"invalid value True for parameter 'top_accounts'.*not a whole number",
            id="integer-boolean",
        ),
        pytest.param(
            "as_of='2026-13-01'",
            r"invalid value '2026-13-01' for parameter 'as_of'.*YYYY-MM-DD\. "
            r"Expected calendar date \(YYYY-MM-DD\)\.$",
            id="date-quoted-month-13",
        ),
        pytest.param(
            "as_of=2026-13-01",
            r"parameter 'as_of'",
            id="date-month-13",
        ),
        pytest.param(
            "as_of=2026-02-30",
            r"parameter 'as_of'",
            id="date-february-30",
        ),
        pytest.param(
            "sections={a: 1}",
            r"invalid value \{'a': 1\} for parameter 'sections'.*not a list\. "
            r"Expected list",
            id="list-given-mapping",
        ),
        pytest.param(
            "stage_map=[1, 2]",
            r"invalid value \[1, 2\] for parameter 'stage_map'.*not a mapping",
            id="mapping-given-list",
        ),
        pytest.param(
            "report_currency={a: 1}",
            r"invalid value \{'a': 1\} for parameter 'report_currency'.*not text",
            id="text-given-mapping",
        ),
        pytest.param(
            "sections=[a",
            r"parameter 'sections'",
            id="list-unclosed-bracket",
        ),
        pytest.param(
            "stage_map={a",
            r"parameter 'stage_map'",
            id="mapping-unclosed-brace",
        ),
    ],
)
def test_ill_typed_override_raises(override, message):
    with pytest.raises(ParameterError, match=message):
        resolve_params(overrides=[override])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "top_accounts: abc\n",
            r"invalid value 'abc' for parameter 'top_accounts' in .*params\.yaml",
            id="integer-text",
        ),
        pytest.param(
            "sections: {a: 1}\n",
            r"invalid value \{'a': 1\} for parameter 'sections'.*not a list",
            id="list-given-mapping",
        ),
        pytest.param(
            "as_of: '2026-13-01'\n",
            r"invalid value '2026-13-01' for parameter 'as_of'",
            id="date-quoted-month-13",
        ),
        pytest.param(
            "as_of: 2026-13-01\n",
            r"parameter 'as_of'|params\.yaml",
            id="date-month-13",
        ),
    ],
)
def test_ill_typed_file_value_raises(tmp_path, text, message):
    path = write_params(tmp_path, text)

    with pytest.raises(ParameterError, match=message):
        resolve_params(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "top_accounts=0",
            r"parameter 'top_accounts' in --set top_accounts=0 is 0, below its "
            r"minimum 1 \(accounts\)",
        ),
        (
            "top_accounts=101",
            r"parameter 'top_accounts' in --set top_accounts=101 is 101, above "
            r"its maximum 100 \(accounts\)",
        ),
        ("lookback_days=-1", r"'lookback_days' .* below its minimum 0"),
        ("influence_window_days=731", r"'influence_window_days' .* above its maximum"),
        ("notebook_timeout_seconds=9", r"'notebook_timeout_seconds' .* below its"),
        ("parallel_notebooks=17", r"'parallel_notebooks' .* above its maximum 16"),
        ("seed=-1", r"'seed' .* below its minimum 0"),
    ],
)
def test_out_of_bounds_override_raises(override, message):
    with pytest.raises(ParameterError, match=message):
        resolve_params(overrides=[override])


@pytest.mark.parametrize(
    ("override", "name", "expected"),
    [
        ("top_accounts=1", "top_accounts", 1),
        ("top_accounts=100", "top_accounts", 100),
        ("lookback_days=0", "lookback_days", 0),
        ("influence_window_days=730", "influence_window_days", 730),
    ],
)
def test_bound_values_are_accepted(override, name, expected):
    assert resolve_params(overrides=[override])[name] == expected


def test_variant_file_sets_variant_and_run_name(tmp_path):
    path = write_params(tmp_path, "as_of: 2026-06-30\n", name="variants/emea-only.yaml")

    params = resolve_params(path)

    assert params["variant"] == "emea-only"
    assert params.run_name == "2026-06-30--emea-only"
    assert params.sources["variant"] == str(path)


def test_variant_in_file_wins_over_stem(tmp_path):
    path = write_params(
        tmp_path,
        "as_of: 2026-06-30\nvariant: q3\n",
        name="variants/emea-only.yaml",
    )

    assert resolve_params(path).run_name == "2026-06-30--q3"


def test_file_outside_variants_sets_no_variant(tmp_path):
    path = write_params(tmp_path, "as_of: 2026-06-30\n", name="plans/emea.yaml")

    params = resolve_params(path)

    assert params["variant"] == ""
    assert params.run_name == "2026-06-30"


def test_slice_of_variant_file_keeps_company_run(tmp_path):
    path = write_params(tmp_path, "as_of: 2026-06-30\nvariant: maven\n")

    company = resolve_params(path, today=dt.date(2026, 7, 1))
    sliced = resolve_params(path, ["owner=Anna Snelling"], today=dt.date(2026, 7, 1))

    assert company.run_name == "2026-06-30--maven"
    assert sliced.run_name == "2026-06-30--maven--owner-anna-snelling"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["owner=Fatima Cohen"], "2026-06-30--owner-fatima-cohen"),
        (["team=east"], "2026-06-30--team-east"),
        (["owner= Zoë  O'Brien "], "2026-06-30--owner-zoe-o-brien"),
        (
            ["owner=Fatima Cohen", "team=east"],
            "2026-06-30--owner-fatima-cohen-team-east",
        ),
        (["owner=Fatima Cohen", "variant=q3"], "2026-06-30--q3"),
    ],
)
def test_slice_gets_own_run_name(overrides, expected):
    params = resolve_params(overrides=["as_of=2026-06-30", *overrides])

    assert params.run_name == expected


def test_slice_name_without_ascii_letters():
    params = resolve_params(overrides=["as_of=2026-06-30", "owner=李明"])

    assert re.fullmatch(r"2026-06-30--owner-[0-9a-f]{8}", params.run_name)


def test_replaced_owner_changes_run_name():
    params = resolve_params(overrides=["as_of=2026-06-30"])

    assert params.replace(owner="Fatima Cohen").run_name == (
        "2026-06-30--owner-fatima-cohen"
    )


@pytest.mark.parametrize("variant", ["../escape", "a b", ".hidden", "q3/emea", "ü"])
def test_invalid_variant_name_raises(variant):
    expected = r"invalid variant name .*; use letters, digits, '-', '_' and '\.'"
    with pytest.raises(ParameterError, match=expected):
        resolve_params(overrides=[f"variant={variant!r}"])


def test_invalid_variant_file_stem_raises(tmp_path):
    path = write_params(tmp_path, "", name="variants/emea only.yaml")

    with pytest.raises(ParameterError, match=r"invalid variant name 'emea only'"):
        resolve_params(path)


def test_every_declaration_is_complete():
    declarations = load_declarations()

    assert "as_of" in declarations
    for name, declaration in declarations.items():
        assert declaration.type in TYPES, name
        assert declaration.unit.strip(), name
        assert declaration.description.strip(), name
        if declaration.minimum is not None and declaration.maximum is not None:
            assert declaration.minimum <= declaration.maximum, name


def test_declared_texts_are_not_null():
    # load_declarations turns a null description into the text "None", so
    # the raw file is checked as well.
    raw = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))

    for name, entry in raw.items():
        assert isinstance(entry["unit"], str), name
        assert isinstance(entry["description"], str), name
        assert entry["description"].strip(), name


def test_incomplete_declaration_raises(tmp_path):
    path = write_params(tmp_path, "top_accounts:\n  type: integer\n  default: 3\n")

    expected = r"parameter 'top_accounts' lacks description, unit; declare type"
    with pytest.raises(ParameterError, match=expected):
        load_declarations(path)


def test_null_description_raises(tmp_path):
    text = "x:\n  type: integer\n  default: 1\n  unit: days\n  description:\n"
    path = write_params(tmp_path, text)

    with pytest.raises(ParameterError, match=r"parameter 'x'"):
        load_declarations(path)


def test_unknown_declared_type_raises(tmp_path):
    text = "x:\n  type: float\n  default: 1\n  unit: u\n  description: d\n"
    path = write_params(tmp_path, text)

    with pytest.raises(ParameterError, match=r"parameter 'x' has unknown type 'float'"):
        load_declarations(path)


@pytest.mark.parametrize(
    "text",
    [
        '!!python/object/apply:os.system ["echo hi > {marker}"]\n',
        'top_accounts: !!python/object/apply:os.system ["echo hi > {marker}"]\n',
    ],
)
def test_yaml_tags_are_not_executed(tmp_path, text):
    marker = tmp_path / "executed"
    path = write_params(tmp_path, text.format(marker=marker))

    with pytest.raises(ParameterError, match=r"is not valid YAML: could not determine"):
        resolve_params(path)

    assert not marker.exists()


def test_yaml_tag_in_override_is_not_executed(tmp_path):
    marker = tmp_path / "executed"
    override = f'top_accounts=!!python/object/apply:os.system ["touch {marker}"]'

    with pytest.raises(ParameterError, match=r"parameter 'top_accounts'"):
        resolve_params(overrides=[override])

    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- as_of\n", r"must be a mapping of names to values, not list"),
        ("as_of: [\n", r"is not valid YAML"),
    ],
)
def test_malformed_params_file_raises(tmp_path, text, message):
    path = write_params(tmp_path, text)

    with pytest.raises(ParameterError, match=message):
        resolve_params(path)


def test_missing_params_file_raises(tmp_path):
    path = tmp_path / "absent.yaml"

    expected = rf"parameter file {re.escape(str(path))} not found"
    with pytest.raises(ParameterError, match=expected):
        resolve_params(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("as_of=2026-06-30", ("as_of", "2026-06-30")),
        ("top_accounts = 5", ("top_accounts", 5)),
        ("variant=", ("variant", "")),
        ("sections=[a, b]", ("sections", ["a", "b"])),
        ("report_currency=a=b", ("report_currency", "a=b")),
    ],
)
def test_parse_override(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["as_of", "=5", " =5"])
def test_parse_override_without_name_raises(text):
    with pytest.raises(ParameterError, match=r"write it as name=value"):
        parse_override(text)


def test_replace_validates():
    params = resolve_params(today=TODAY)

    changed = params.replace(top_accounts=25)

    assert changed["top_accounts"] == 25
    assert changed.sources["top_accounts"] == "replace"
    assert params["top_accounts"] == 10
    with pytest.raises(ParameterError, match=r"'top_accounts' in replace is 0"):
        params.replace(top_accounts=0)


def test_dumps_writes_sorted_json():
    text = dumps(resolve_params(today=TODAY))

    assert '"as_of": "2026-02-28"' in text
    assert '"data_dir": "data/sample"' in text
    assert text.index('"as_of"') < text.index('"variant"')


@pytest.mark.parametrize("code", ["USD", "EUR", "JPY"])
def test_report_currency_accepts_iso_code(code):
    params = resolve_params(overrides=[f"report_currency={code}"])

    assert params["report_currency"] == code


@pytest.mark.parametrize(
    ("override", "message"),
    [
        pytest.param(
            "report_currency=usd",
            r"invalid value 'usd' for parameter 'report_currency'.*"
            r"did you mean 'USD'\?",
            id="lower-case",
        ),
        pytest.param(
            "report_currency=EURO",
            r"invalid value 'EURO' for parameter 'report_currency'.*three "
            r"upper-case letters",
            id="four-letters",
        ),
        pytest.param(
            "report_currency=$",
            r"invalid value '\$' for parameter 'report_currency'",
            id="symbol",
        ),
        pytest.param(
            "report_currency=''",
            r"invalid value '' for parameter 'report_currency'",
            id="empty",
        ),
    ],
)
def test_report_currency_rejects_non_iso_code(override, message):
    with pytest.raises(ParameterError, match=message):
        resolve_params(overrides=[override])


def test_report_currency_in_file_is_checked(tmp_path):
    path = write_params(tmp_path, "report_currency: eur\n")

    with pytest.raises(ParameterError, match=r"params\.yaml.*did you mean 'EUR'\?"):
        resolve_params(path)


def test_invalid_yaml_names_line_and_column(tmp_path):
    path = write_params(tmp_path, "as_of: 2026-06-30\nsections: [a, b\nseed: 1\n")

    with pytest.raises(ParameterError) as raised:
        resolve_params(path)

    message = str(raised.value)
    assert message.startswith(f"parameter file {path} is not valid YAML: ")
    assert "expected ',' or ']', but got ':'" in message
    assert "at line 3, column 5" in message
    assert "close every bracket" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("forecast_prior_deals", 20.0, "20 deals"),
        ("health_noise_band", 5.0, "5 health points"),
        ("engagement_noise_band", 0.5, "0.5 share of mean weekly touches"),
        ("forecast_simulations", 2000, "2,000 simulated outcomes"),
        ("influence_window_days", 1, "1 day"),
        ("seed", 20260630, "20260630"),
    ],
)
def test_format_value_reads_whole_numbers(name, value, shown):
    assert load_declarations()[name].format_value(value) == shown
