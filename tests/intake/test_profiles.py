"""Validation of source profiles: column maps, keys and type_map."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from acctlib.errors import InputError, ParameterError
from acctlib.intake import PROFILES_DIR, load_profile
from acctlib.intake.parsers import OPTION_KEYS, PARSERS

from .helpers import load

ACCOUNTS = "Account ID,Account Name,Created\nA1,Acme,01/15/2024\nA2,Beta,02/01/2024\n"
DEALS_HEADER = "Deal ID,Account ID,Stage,Amount,Created,Close Date,Deal Type\n"
DEALS = DEALS_HEADER + (
    "D1,A1,Closed Won,1000,03/01/2024,03/20/2024,New Business\n"
    "D2,A1,Closed Won,500,04/01/2024,04/20/2024,Upsell\n"
    "D3,A2,Closed Lost,700,05/01/2024,05/20/2024,Renewal\n"
)
STAGES = {
    "Closed Won": {
        "category": "won",
        "probability": 1.0,
        "forecast_category": "closed",
        "order": 1,
    },
    "Closed Lost": {
        "category": "lost",
        "probability": 0.0,
        "forecast_category": "omitted",
        "order": 2,
    },
}


def crm_profile() -> dict[str, Any]:
    """A mapped profile of accounts.csv and deals.csv with label headers."""
    return {
        "name": "crm",
        "adapter": "mapped",
        "options": {"date_format": "%m/%d/%Y"},
        "tables": {
            "accounts": {
                "files": ["accounts.csv"],
                "columns": {
                    "account_id": ["Account ID"],
                    "name": ["Account Name"],
                    "created_at": ["Created"],
                },
            },
            "opportunities": {
                "files": ["deals.csv"],
                "columns": {
                    "opportunity_id": ["Deal ID"],
                    "account_id": ["Account ID"],
                    "stage": ["Stage"],
                    "amount": ["Amount"],
                    "created_at": ["Created"],
                    "close_date": ["Close Date"],
                    "type": ["Deal Type"],
                },
            },
        },
        "type_map": {
            "New Business": "new_business",
            "Upsell": "expansion",
            "Renewal": "renewal",
        },
        "stage_map": STAGES,
    }


def load_crm(tmp_path: Path, profile: dict[str, Any], deals: str = DEALS):
    files = {"accounts.csv": ACCOUNTS, "deals.csv": deals}
    return load(tmp_path, files, profile, "report_currency=USD")


def test_crm_profile_reads_all_deals(tmp_path: Path) -> None:
    """The profile of these tests accepts every row as written."""
    intake = load_crm(tmp_path, crm_profile())

    assert intake.quarantine.count() == 0
    assert len(intake.tables["opportunities"]) == 3


# Column-map entries whose headers are all missing from the file.


def test_unmatched_close_date_stops(tmp_path: Path) -> None:
    """A mapped close date whose header is missing names every detail."""
    profile = crm_profile()
    profile["tables"]["opportunities"]["columns"]["close_date"] = ["Closing Date"]

    with pytest.raises(InputError) as caught:
        load_crm(tmp_path, profile)

    message = str(caught.value)
    assert str(tmp_path / "data" / "deals.csv") in message
    assert str(tmp_path / "profile.yaml") in message
    assert "the crm profile" in message
    assert "(for close_date)" in message
    assert "'Closing Date'" in message
    assert "columns found: 'Deal ID', 'Account ID'" in message
    assert "The closest header is 'Close Date'." in message
    assert caught.value.column == "Closing Date"


def test_unmatched_account_id_stops(tmp_path: Path) -> None:
    """A renamed account ID header stops instead of sending deals to No account."""
    deals = DEALS.replace("Deal ID,Account ID,", "Deal ID,Company,")

    with pytest.raises(InputError) as caught:
        load_crm(tmp_path, crm_profile(), deals)

    message = str(caught.value)
    assert "deals.csv" in message
    assert "(for account_id)" in message
    assert "'Company'" in message


def test_optional_column_left_empty(tmp_path: Path) -> None:
    """A column listed under optional_columns may be missing from the file."""
    profile = crm_profile()
    opportunities = profile["tables"]["opportunities"]
    opportunities["columns"]["owner"] = ["Deal Owner"]
    opportunities["optional_columns"] = ["owner"]

    intake = load_crm(tmp_path, profile)

    assert intake.quarantine.count() == 0
    assert intake.tables["opportunities"]["owner"].isna().all()


def test_constant_fills_unmatched_column(tmp_path: Path) -> None:
    """A profile constant still fills a mapped column the file lacks."""
    profile = crm_profile()
    opportunities = profile["tables"]["opportunities"]
    opportunities["columns"]["owner"] = ["Deal Owner"]
    opportunities["constants"] = {"owner": "Sales"}

    intake = load_crm(tmp_path, profile)

    assert intake.tables["opportunities"]["owner"].tolist() == ["Sales"] * 3


# Unknown keys.


def _unknown_column(profile: dict[str, Any]) -> None:
    columns = profile["tables"]["opportunities"]["columns"]
    columns["close_dat"] = columns.pop("close_date")


def _unknown_top_level(profile: dict[str, Any]) -> None:
    profile["tabels_extra"] = 1


def _unknown_table_key(profile: dict[str, Any]) -> None:
    profile["tables"]["accounts"]["modifed_column"] = ["Modified"]


def _unknown_constant(profile: dict[str, Any]) -> None:
    profile["tables"]["opportunities"]["constants"] = {"curency": "USD"}


def _unmapped_optional(profile: dict[str, Any]) -> None:
    profile["tables"]["opportunities"]["optional_columns"] = ["owner"]


def _unknown_option(profile: dict[str, Any]) -> None:
    profile["options"]["localle"] = "de-DE"


def _unknown_table_option(profile: dict[str, Any]) -> None:
    profile["tables"]["accounts"]["options"] = {"date_formt": "%m/%d/%Y"}


def _unknown_column_option(profile: dict[str, Any]) -> None:
    column_options = {"close_date": {"date_formt": "%d.%m.%Y"}}
    profile["tables"]["opportunities"]["column_options"] = column_options


def _unknown_read_key(profile: dict[str, Any]) -> None:
    profile["read"] = {"delimitr": ","}


def _unknown_read_encoding(profile: dict[str, Any]) -> None:
    profile["read"] = {"encodng": "latin-1"}


@pytest.mark.parametrize(
    ("change", "key", "closest"),
    [
        (_unknown_column, "close_dat", "close_date"),
        (_unknown_top_level, "tabels_extra", "tables"),
        (_unknown_table_key, "modifed_column", "modified_column"),
        (_unknown_constant, "curency", "currency"),
        (_unmapped_optional, "owner", None),
        (_unknown_option, "localle", "locale"),
        (_unknown_table_option, "date_formt", "date_format"),
        (_unknown_column_option, "date_formt", "date_format"),
        (_unknown_read_key, "delimitr", "delimiter"),
        (_unknown_read_encoding, "encodng", "encoding"),
    ],
)
def test_unknown_profile_key_stops(
    tmp_path: Path, change: Any, key: str, closest: str | None
) -> None:
    """An unknown key names itself, the profile file and the closest key."""
    profile = crm_profile()
    change(profile)

    with pytest.raises(ParameterError) as caught:
        load_crm(tmp_path, profile)

    message = str(caught.value)
    assert "unknown " in message
    assert repr(key) in message
    assert str(tmp_path / "profile.yaml") in message
    if closest is not None:
        assert f"Did you mean {closest!r}?" in message


def test_unknown_option_names_section(tmp_path: Path) -> None:
    """A misspelt column option names the column and table it sits under."""
    profile = crm_profile()
    _unknown_column_option(profile)

    with pytest.raises(ParameterError) as caught:
        load_crm(tmp_path, profile)

    message = str(caught.value)
    assert "in column_options.close_date of table 'opportunities'" in message
    assert "Valid names: blank_is_false, date_format, id_format" in message


def test_option_section_not_mapping_stops(tmp_path: Path) -> None:
    """An options section written as a list is rejected, not ignored."""
    profile = crm_profile()
    profile["read"] = ["delimiter", ";"]

    with pytest.raises(ParameterError, match="read of the source profile") as caught:
        load_crm(tmp_path, profile)

    assert "must be a mapping" in str(caught.value)


def test_known_options_accepted(tmp_path: Path) -> None:
    """Every parser option and read key that intake uses passes the check."""
    profile = crm_profile()
    profile["read"] = {"encoding": "utf-8", "delimiter": ","}
    opportunities = profile["tables"]["opportunities"]
    opportunities["options"] = {"locale": "en-US", "notation": "export"}
    opportunities["column_options"] = {
        "amount": {"scale": 1.0, "zero_is_missing": False},
        "opportunity_id": {"id_format": None},
    }

    intake = load_crm(tmp_path, profile)

    assert intake.quarantine.count() == 0


def test_option_keys_match_parsers() -> None:
    """OPTION_KEYS lists every keyword option that a parser reads."""
    read = set()
    for parser in PARSERS.values():
        for parameter in inspect.signature(parser).parameters.values():
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY or (
                parameter.default is not inspect.Parameter.empty
            ):
                read.add(parameter.name)

    assert read == set(OPTION_KEYS)


def test_unknown_mapped_table_stops(tmp_path: Path) -> None:
    """A mapped profile's table must be a canonical table."""
    profile = crm_profile()
    profile["tables"]["oportunities"] = profile["tables"].pop("opportunities")

    with pytest.raises(ParameterError, match="Did you mean 'opportunities'?"):
        load_crm(tmp_path, profile)


def test_type_map_unknown_type_stops(tmp_path: Path) -> None:
    """type_map must map each label onto a canonical deal type."""
    profile = crm_profile()
    profile["type_map"]["Upsell"] = "expanson"

    with pytest.raises(ParameterError) as caught:
        load_crm(tmp_path, profile)

    message = str(caught.value)
    assert "'Upsell' onto 'expanson'" in message
    assert "Did you mean 'expansion'?" in message
    assert str(tmp_path / "profile.yaml") in message


def test_type_map_of_other_adapter_stops(tmp_path: Path) -> None:
    """A key that the profile's adapter does not read is rejected."""
    profile = {"name": "mine", "adapter": "maven", "type_map": {"A": "renewal"}}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")

    with pytest.raises(ParameterError, match="unknown key 'type_map'"):
        load_profile(str(path))


def _write_bundled(tmp_path: Path, name: str, change: Any) -> Path:
    """Write the bundled profile ``name`` with ``change`` applied to tmp_path."""
    profile = yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text("utf-8"))
    change(profile)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")
    return path


def _rename(section: str, old: str, new: str) -> Any:
    """Return a change that renames key ``old`` of ``section`` to ``new``."""

    def change(profile: dict[str, Any]) -> None:
        mapping = profile
        for part in section.split("."):
            mapping = mapping[part]
        mapping[new] = mapping.pop(old)

    return change


def _set(section: str, key: str, value: Any) -> Any:
    """Return a change that sets ``key`` of ``section`` to ``value``."""

    def change(profile: dict[str, Any]) -> None:
        mapping = profile
        for part in section.split(".") if section else ():
            mapping = mapping[part]
        mapping[key] = value

    return change


# Misspelt keys that adapters read outside a mapped profile's table entries.
# Each case names the bundled profile, the change, the misspelt key and the
# closest valid key, or None when no close key is expected.
ADAPTER_KEY_CASES = [
    ("salesforce", _set("", "adapter", "salesfroce"), "salesfroce", "salesforce"),
    ("salesforce", _rename("tables", "tasks", "taks"), "taks", "tasks"),
    (
        "salesforce",
        _rename("tables.contacts.columns", "account_id", "acount_id"),
        "acount_id",
        "account_id",
    ),
    ("salesforce", _set("tables.tasks", "table", "touchpoint"), "touchpoint", None),
    (
        "hubspot",
        _rename("tables", "engagements", "engagments"),
        "engagments",
        "engagements",
    ),
    ("olist", _rename("tables", "leads", "lead"), "lead", "leads"),
    ("journeys", _rename("columns", "value", "valeu"), "valeu", "value"),
    ("journeys", _rename("files", "journeys", "journey"), "journey", "journeys"),
    ("journeys", _set("", "format", "touch"), "touch", "touches"),
    ("paths", _rename("columns", "nulls", "null"), "null", "nulls"),
    ("maven", _rename("files", "pipeline", "pipline"), "pipline", "pipeline"),
    (
        "maven",
        _rename("label_corrections", "industry", "industy"),
        "industy",
        "industry",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "key", "closest"),
    ADAPTER_KEY_CASES,
    ids=[f"{case[0]}-{case[2]}" for case in ADAPTER_KEY_CASES],
)
def test_adapter_unknown_key_stops(
    tmp_path: Path, name: str, change: Any, key: str, closest: str | None
) -> None:
    """Every adapter's profile rejects a misspelt key, naming the closest."""
    path = _write_bundled(tmp_path, name, change)

    with pytest.raises(ParameterError) as caught:
        load_profile(str(path))

    message = str(caught.value)
    assert repr(key) in message
    assert str(path) in message
    if closest is not None:
        assert f"Did you mean {closest!r}?" in message


def _drop(section: str, key: str) -> Any:
    """Return a change that removes ``key`` from ``section``."""

    def change(profile: dict[str, Any]) -> None:
        del profile[section][key]

    return change


# Tables that an adapter of fixed exports cannot run without: each case names
# the bundled profile, the change and the words the message must contain.
REQUIRED_TABLE_CASES = [
    ("olist", _drop("tables", "deals"), "table 'deals' is missing"),
    ("salesforce", _drop("tables", "accounts"), "table 'accounts' is missing"),
    ("hubspot", _set("tables.companies", "optional", True), "marked optional"),
]


@pytest.mark.parametrize(
    ("name", "change", "words"),
    REQUIRED_TABLE_CASES,
    ids=[case[0] for case in REQUIRED_TABLE_CASES],
)
def test_required_table_stops(
    tmp_path: Path, name: str, change: Any, words: str
) -> None:
    """A profile without a table its adapter needs stops, naming the table."""
    path = _write_bundled(tmp_path, name, change)

    with pytest.raises(ParameterError) as caught:
        load_profile(str(path))

    message = str(caught.value)
    assert words in message
    assert str(path) in message
    assert f"the {name} adapter needs the tables" in message


def test_unknown_adapter_stops_intake(tmp_path: Path) -> None:
    """A misspelt adapter stops intake before any module is imported."""
    profile = crm_profile()
    profile["adapter"] = "maped"

    with pytest.raises(ParameterError) as caught:
        load_crm(tmp_path, profile)

    message = str(caught.value)
    assert "unknown adapter 'maped'" in message
    assert "Did you mean 'mapped'?" in message


def test_canonical_profile_rejects_tables(tmp_path: Path) -> None:
    """canonical_files reads no keys of its own, so a tables section stops."""
    path = _write_bundled(
        tmp_path, "canonical", _set("", "tables", {"accounts": {"files": ["a.csv"]}})
    )

    with pytest.raises(ParameterError, match="which reads no 'tables'"):
        load_profile(str(path))


def test_canonical_profile_rejects_options(tmp_path: Path) -> None:
    """Parser options of a canonical profile stop, pointing at the mapped adapter."""
    path = _write_bundled(
        tmp_path, "canonical", _set("", "options", {"date_format": "%d/%m/%Y"})
    )

    with pytest.raises(ParameterError) as caught:
        load_profile(str(path))

    message = str(caught.value)
    assert "which reads no 'options'" in message
    assert "set adapter: mapped" in message


def test_unknown_key_hides_loader_key(tmp_path: Path) -> None:
    path = _write_bundled(tmp_path, "canonical", _set("", "descriptoin", "x"))

    with pytest.raises(ParameterError) as caught:
        load_profile(str(path))

    message = str(caught.value)
    assert "Did you mean 'description'?" in message
    assert "_path" not in message.split("Valid names:")[1]


@pytest.mark.parametrize("path", sorted(PROFILES_DIR.glob("*.yaml")), ids=str)
def test_bundled_profile_keys_valid(path: Path) -> None:
    """Every bundled profile passes the key check."""
    profile = load_profile(str(path))

    assert profile["name"] == path.stem


# Deal-type labels of a mapped profile.


def test_mapped_type_map_translates_labels(tmp_path: Path) -> None:
    """type_map turns the export's deal-type labels into canonical types."""
    intake = load_crm(tmp_path, crm_profile())

    types = intake.tables["opportunities"].sort_values("opportunity_id")["type"]
    assert types.tolist() == ["new_business", "expansion", "renewal"]


def test_mapped_type_map_ignores_case(tmp_path: Path) -> None:
    """Labels match type_map without regard to case and surrounding spaces."""
    deals = DEALS.replace(",Upsell", ", UPSELL ")

    intake = load_crm(tmp_path, crm_profile(), deals)

    assert intake.quarantine.count() == 0
    assert "expansion" in intake.tables["opportunities"]["type"].tolist()


def test_unmapped_type_points_to_type_map(tmp_path: Path) -> None:
    """A label missing from type_map is rejected with the fix in the profile."""
    deals = DEALS.replace(",Renewal", ",Cross-sell")

    intake = load_crm(tmp_path, crm_profile(), deals)

    frame = intake.quarantine.to_frame()
    bad = frame[frame["table"] == "opportunities"]
    assert bad["row"].tolist() == [3]
    assert bad["value"].tolist() == ["Cross-sell"]
    reason = bad["reason"].iloc[0]
    assert '"Deal Type"' in reason
    assert "'Cross-sell'" in reason
    assert "add it to type_map in the source profile" in reason
    assert "profile=salesforce" not in reason


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"acounts": {"region": "x"}}, "unknown table 'acounts' in column_sources"),
        ({"accounts": {"regoin": "x"}}, "Did you mean 'region'?"),
        ({"accounts": {"region": ""}}, "column_sources.accounts.region"),
        ({"accounts": "region"}, "must map a column to where its value comes"),
        (["accounts"], "column_sources of the source profile"),
    ],
)
def test_invalid_column_sources_stop(
    tmp_path: Path, sources: Any, message: str
) -> None:
    profile = {"name": "mine", "adapter": "maven", "column_sources": sources}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(profile), encoding="utf-8")

    with pytest.raises(ParameterError, match=re.escape(message)):
        load_profile(str(path))


def test_column_sources_load() -> None:
    profile = load_profile("maven")

    assert "regional office" in profile["column_sources"]["accounts"]["region"]
