"""Parameter declarations, loading and overrides.

``params/default.yaml`` declares every parameter once. A run resolves the
declared defaults, a parameter file and ``--set`` overrides into one
:class:`Params` mapping, and rejects unknown or ill-typed names before any
notebook runs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from acctlib.errors import ParameterError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = PROJECT_ROOT / "params" / "default.yaml"
PROBABILITY_UNIT = "probability (0-1)"
"""Unit of parameters between 0 and 1, which reports show as percentages."""
TYPES = (
    "date",
    "integer",
    "number",
    "text",
    "boolean",
    "path",
    "list",
    "mapping",
    "choice",
)


@dataclass(frozen=True)
class Declaration:
    """One declared parameter: type, default, unit, description and bounds."""

    name: str
    type: str
    default: Any
    unit: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    technical: bool = False
    """True for a setting of how the build runs, which no figure depends on."""

    @property
    def summary(self) -> str:
        """First sentence of the description, as ``acctlib build --help`` shows it."""
        return _SENTENCE_END.split(self.description, maxsplit=1)[0]

    def format_value(self, value: Any) -> str:
        """Return a scalar value as reports and help show it, such as ``90 days``.

        A boolean is lower case, a probability a percentage, and a number
        is followed by its unit unless the unit only repeats the type. A
        whole number reads without decimals and with thousands separators,
        such as ``20 deals`` for 20.0 and ``2,000 simulated outcomes``, and
        1 takes the singular unit, such as ``1 day``.
        """
        if isinstance(value, bool):
            return str(value).lower()
        if self.unit == PROBABILITY_UNIT and isinstance(value, int | float):
            # "60%" reads better than "0.6 probability (0-1)".
            return f"{100 * value:g}%"
        if self.type in ("integer", "number") and self.unit not in (
            "integer",
            "number",
        ):
            unit = _singular_unit(self.unit) if value == 1 else self.unit
            return f"{_format_number(value)} {unit}"
        return str(value)


def _format_number(value: int | float) -> str:
    """Return ``value`` with thousands separators, a whole float as an integer."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def _singular_unit(unit: str) -> str:
    """Return the singular of a plural unit, such as ``touch`` for ``touches``.

    The noun is the last word before ``per``, so ``channels per state``
    gives ``channel per state``. A unit not ending in ``s`` is returned as
    it is.
    """
    head, separator, tail = unit.partition(" per ")
    words = head.split(" ")
    noun = words[-1]
    if noun.endswith(("ches", "shes", "sses", "xes")):
        words[-1] = noun[:-2]
    elif noun.endswith("s") and not noun.endswith("ss"):
        words[-1] = noun[:-1]
    return " ".join(words) + separator + tail


# A sentence ends at a full stop followed by a space, so an abbreviation
# such as "e.g." in a description would cut its summary short.
_SENTENCE_END = re.compile(r"(?<=\.)\s+")


def load_declarations(path: Path = DEFAULTS_FILE) -> dict[str, Declaration]:
    """Read the parameter declarations from ``path``."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    declarations = {}
    for name, entry in raw.items():
        missing = {key for key in ("type", "unit", "description") if not entry.get(key)}
        if "default" not in entry:
            missing.add("default")
        if missing:
            raise ParameterError(
                f"{path}: parameter {name!r} lacks {', '.join(sorted(missing))}; "
                "declare type, default, unit and description for every parameter"
            )
        if entry["type"] not in TYPES:
            raise ParameterError(
                f"{path}: parameter {name!r} has unknown type {entry['type']!r}; "
                f"use one of {', '.join(TYPES)}"
            )
        choices = entry.get("choices")
        declarations[name] = Declaration(
            name=name,
            type=entry["type"],
            default=entry["default"],
            unit=entry["unit"],
            description=" ".join(str(entry["description"]).split()),
            minimum=entry.get("minimum"),
            maximum=entry.get("maximum"),
            choices=tuple(choices) if choices else None,
            technical=bool(entry.get("technical", False)),
        )
    return declarations


def last_day_of_previous_month(today: dt.date) -> dt.date:
    """Return the last calendar day of the month before ``today``."""
    return today.replace(day=1) - dt.timedelta(days=1)


class Params(Mapping[str, Any]):
    """Resolved, validated parameters of one run.

    Values are Python objects (``datetime.date`` for dates, ``Path`` for
    paths). :meth:`to_json` gives the form stored in manifests.
    """

    def __init__(self, values: dict[str, Any], sources: dict[str, str]) -> None:
        self._values = dict(values)
        self.sources = dict(sources)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self.to_json()!r})"

    @property
    def as_of(self) -> dt.date:
        return self._values["as_of"]

    @property
    def run_name(self) -> str:
        """Folder name of the run: the as-of date, then ``--variant`` if any.

        Without a variant, an owner or team slice is named after its
        selection, such as ``2026-06-30--owner-fatima-cohen``, so that it
        does not replace the company-wide run of the same date. A variant
        set on the command line names a slice's run alone. A variant from a
        parameter file names the company run of that file too, so the
        slice's name follows it, as in ``2017-12-31--maven--owner-...``.
        """
        name = self.as_of.isoformat()
        variant = self._values.get("variant") or ""
        selection = slice_variant(
            self._values.get("owner", ""), self._values.get("team", "")
        )
        if selection and (not variant or self.sources.get("variant") != "--set"):
            variant = f"{variant}--{selection}" if variant else selection
        if variant:
            name += f"--{variant}"
        return name

    def to_json(self) -> dict[str, Any]:
        """Return the values as JSON-ready types (dates and paths as text).

        Secret-looking connection settings in the mappings named by
        :data:`SECRET_MAPPINGS` are replaced by :data:`REDACTED`, because this
        form goes into manifests, workspaces and report footers.
        """
        values = {name: _to_json(value) for name, value in self._values.items()}
        for name in SECRET_MAPPINGS:
            if isinstance(values.get(name), dict):
                values[name] = redact_secrets(values[name])
        return values

    def replace(self, **changes: Any) -> Params:
        """Return a copy with some values replaced and validated."""
        declarations = load_declarations()
        values = dict(self._values)
        sources = dict(self.sources)
        for name, value in changes.items():
            values[name] = coerce(declarations, name, value, "replace")
            sources[name] = "replace"
        return Params(values, sources)


def slice_variant(owner: str, team: str) -> str:
    """Return the variant name of an owner or team slice, or ``""`` for none.

    The name is ``owner-<slug>``, ``team-<slug>`` or, when both are set,
    ``owner-<slug>-team-<slug>``, such as ``owner-fatima-cohen``.
    """
    parts = []
    if owner:
        parts.append(f"owner-{slugify(owner)}")
    if team:
        parts.append(f"team-{slugify(team)}")
    return "-".join(parts)


def slugify(text: str) -> str:
    """Return ``text`` as lower-case ASCII letters and digits joined by ``-``.

    Accents are dropped (``Zoë`` gives ``zoe``). A name without any such
    character, such as one in Chinese script, gives the first 8 hex digits
    of its SHA-256, so that it still names one folder.
    """
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    )
    slug = _NON_SLUG_CHARACTERS.sub("-", ascii_text.casefold()).strip("-")
    if slug:
        return slug
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:8]


_NON_SLUG_CHARACTERS = re.compile(r"[^a-z0-9]+")


SECRET_MAPPINGS = ("engine_options",)
"""Mapping parameters that may hold credentials."""

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|credential|private|api[._]?key|"
    r"access[._]?key|^key$|[._]key$|auth",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-z][a-z0-9+.-]*://[^/:@\s]+:)[^/@\s]+@", re.IGNORECASE
)


def redact_secrets(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``options`` with secret-looking values replaced by ``***``.

    A value is secret when its key matches a credential word (password,
    secret, token, credentials, auth, api_key, a key ending in ``_key``);
    a password inside a URL (``scheme://user:password@host``) is replaced
    in place. Nested mappings are redacted the same way.
    """
    redacted = {}
    for key, value in options.items():
        if _SECRET_KEY.search(str(key)):
            redacted[key] = REDACTED
        elif isinstance(value, Mapping):
            redacted[key] = redact_secrets(value)
        elif isinstance(value, str):
            redacted[key] = redact_url_passwords(value)
        else:
            redacted[key] = value
    return redacted


def redact_url_passwords(text: str) -> str:
    """Replace the password of every ``scheme://user:password@host`` in ``text``."""
    return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}@", text)


def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.date, Path)):
        return str(value)
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    return value


def coerce(
    declarations: Mapping[str, Declaration], name: str, value: Any, origin: str
) -> Any:
    """Convert ``value`` to the declared type of ``name`` or raise ParameterError.

    ``origin`` names where the value came from (a file or ``--set``) and is
    quoted in the error.
    """
    if name not in declarations:
        _reject_profile_option(name, value, origin)
        close = difflib.get_close_matches(name, declarations, n=1)
        if close:
            raise ParameterError(
                f"unknown parameter {name!r} in {origin}; did you mean {close[0]!r}? "
                "acctlib build --help lists every parameter"
            )
        known = ", ".join(sorted(declarations))
        raise ParameterError(
            f"unknown parameter {name!r} in {origin}; known parameters: {known}"
        )
    declaration = declarations[name]
    try:
        converted = _convert(declaration, value)
    except (TypeError, ValueError, yaml.YAMLError) as error:
        unit = declaration.unit
        expected = declaration.type
        if unit and declaration.type in unit:
            # Such as "calendar date (YYYY-MM-DD)" for a date.
            expected = unit
        elif unit:
            expected = f"{declaration.type} ({unit})"
        raise ParameterError(
            f"invalid value {value!r} for parameter {name!r} in {origin}: {error}. "
            f"Expected {expected}."
        ) from error
    _check_bounds(declaration, converted, origin)
    value_check = _VALUE_CHECKS.get(name)
    if value_check is not None:
        value_check(name, converted, origin)
    return converted


def _reject_profile_option(name: str, value: Any, origin: str) -> None:
    """Raise ParameterError naming where a source profile's parser option goes.

    Options such as ``locale`` and ``date_format`` describe how one export
    writes its values, so they live under ``options:`` of the source
    profile rather than among the run parameters.
    """
    # Imported here, because importing acctlib.intake imports this module.
    from acctlib.intake.parsers import OPTION_KEYS

    if name not in OPTION_KEYS:
        return
    raise ParameterError(
        f"unknown parameter {name!r} in {origin}: {name} is an option of the "
        f"source profile, not a run parameter. Set {name}: {value} under "
        "options: in the profile; for a built-in profile, copy "
        "params/profiles/<profile>.yaml, edit the copy and run with --set "
        "profile=path/to/the/copy.yaml (see Source profiles in the README)"
    )


def _convert(declaration: Declaration, value: Any) -> Any:
    kind = declaration.type
    if value is None:
        if kind in ("date",):
            return None
        raise ValueError("a value is required")
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        try:
            return dt.date.fromisoformat(text) if text else None
        except ValueError:
            raise ValueError("not a date in the form YYYY-MM-DD") from None
    if kind == "integer":
        if isinstance(value, bool) or (
            isinstance(value, float) and not value.is_integer()
        ):
            raise ValueError("not a whole number")
        try:
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        except ValueError:
            raise ValueError("not a whole number") from None
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("not a number")
        try:
            return float(value)
        except ValueError:
            raise ValueError("not a number") from None
    if kind == "boolean":
        return _convert_boolean(value)
    if kind in ("text", "choice"):
        if isinstance(value, (dict, list)):
            raise ValueError("not text")
        return str(value)
    if kind == "path":
        return Path(str(value))
    if kind == "list":
        if isinstance(value, str):
            value = yaml.safe_load(value) if value.startswith("[") else value.split(",")
        if not isinstance(value, list):
            raise ValueError("not a list")
        return [str(item).strip() for item in value]
    if kind == "mapping":
        if isinstance(value, str):
            value = yaml.safe_load(value)
        if not isinstance(value, dict):
            raise ValueError("not a mapping")
        return value
    raise ValueError(f"unsupported type {kind}")


def _convert_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError("not true or false")


def _check_bounds(declaration: Declaration, value: Any, origin: str) -> None:
    name = declaration.name
    if declaration.choices is not None and value not in declaration.choices:
        raise ParameterError(
            f"invalid value {value!r} for parameter {name!r} in {origin}; "
            f"choose one of {', '.join(declaration.choices)}"
        )
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if declaration.minimum is not None and value < declaration.minimum:
        raise ParameterError(
            f"parameter {name!r} in {origin} is {value}, below its minimum "
            f"{declaration.minimum} ({declaration.unit})"
        )
    if declaration.maximum is not None and value > declaration.maximum:
        raise ParameterError(
            f"parameter {name!r} in {origin} is {value}, above its maximum "
            f"{declaration.maximum} ({declaration.unit})"
        )


_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _check_currency_code(name: str, value: str, origin: str) -> None:
    """Reject a value that is not in the form of an ISO 4217 code, such as EUR.

    Only the form is checked, because no list of assigned codes is installed,
    so a well-formed but unassigned code such as ``XYZ`` passes. A lower-case
    code is rejected rather than upper-cased, so that the value in reports,
    manifests and run names is the one the user wrote.
    """
    if _CURRENCY_CODE.fullmatch(value):
        return
    suggestion = value.strip().upper()
    if _CURRENCY_CODE.fullmatch(suggestion):
        hint = f"; did you mean {suggestion!r}?"
    else:
        hint = "; write three upper-case letters, such as USD or EUR"
    raise ParameterError(
        f"invalid value {value!r} for parameter {name!r} in {origin}: not an "
        f"ISO 4217 currency code{hint}"
    )


_VALUE_CHECKS = {"report_currency": _check_currency_code}
"""Checks of single parameters beyond their declared type and bounds."""


class _ParamsLoader(yaml.SafeLoader):
    """Safe YAML loader that keeps dates as text.

    PyYAML's own date conversion raises a bare ValueError for impossible
    dates such as 2026-13-01; as text they reach the parameter's type check,
    which names the parameter.
    """


_ParamsLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),
)


def parse_override(text: str) -> tuple[str, Any]:
    """Split a ``name=value`` override; the value is read as YAML."""
    name, separator, raw = text.partition("=")
    if not separator or not name.strip():
        raise ParameterError(
            f"invalid override {text!r}; write it as name=value, for example "
            "--set as_of=2026-06-30"
        )
    try:
        value = yaml.load(raw, Loader=_ParamsLoader) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return name.strip(), value


def resolve_params(
    params_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    *,
    today: dt.date | None = None,
    declarations_file: Path = DEFAULTS_FILE,
) -> Params:
    """Merge declared defaults, a parameter file and overrides into Params.

    Parameters
    ----------
    params_file
        YAML mapping of parameter names to values, or None.
    overrides
        ``name=value`` strings applied after the file, values read as YAML.
    today
        Date used for the default as-of date, and after which an as-of date
        is rejected; the system date when None.

    Raises
    ------
    ParameterError
        For an unknown name, a value of the wrong type or out of bounds.
    """
    declarations = load_declarations(declarations_file)
    values = {name: _convert_default(d) for name, d in declarations.items()}
    sources = {name: "default" for name in declarations}

    if params_file is not None:
        path = Path(params_file)
        for name, value in _read_params_file(path).items():
            values[name] = coerce(declarations, name, value, str(path))
            sources[name] = str(path)
        if not values.get("variant") and path.parent.name == "variants":
            values["variant"] = path.stem
            sources["variant"] = str(path)

    for text in overrides:
        name, value = parse_override(text)
        values[name] = coerce(declarations, name, value, f"--set {text}")
        sources[name] = "--set"

    today = today or dt.date.today()
    if values.get("as_of") is None:
        values["as_of"] = last_day_of_previous_month(today)
    elif values["as_of"] > today:
        raise ParameterError(
            f"as_of is {values['as_of'].isoformat()} (from {sources['as_of']}), "
            f"after today, {today.isoformat()}: a report can only describe "
            "dates that have passed. Set as_of to today or an earlier date, or "
            "leave it out for the end of last month."
        )
    _check_variant_name(values.get("variant", ""))
    return Params(values, sources)


def _convert_default(declaration: Declaration) -> Any:
    if declaration.default is None:
        return None
    return _convert(declaration, declaration.default)


def _read_params_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ParameterError(f"parameter file {path} not found")
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_ParamsLoader)
    except yaml.YAMLError as error:
        raise ParameterError(_describe_yaml_error(path, error)) from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ParameterError(
            f"parameter file {path} must be a mapping of names to values, "
            f"not {type(content).__name__}"
        )
    return content


def _describe_yaml_error(path: Path, error: yaml.YAMLError) -> str:
    """Return a one-line message naming the file, problem, line and column."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    message = f"parameter file {path} is not valid YAML: {problem}"
    if context:
        message += f" ({context})"
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        message += f" at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(error, yaml.constructor.ConstructorError):
        return message + ". Remove the tag, because parameter values are plain YAML"
    return (
        message + ". Write one 'name: value' per line, close every bracket and "
        "quote, and indent with spaces"
    )


def _check_variant_name(variant: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    if variant and (set(variant) - allowed or variant.startswith(".")):
        raise ParameterError(
            f"invalid variant name {variant!r}; use letters, digits, '-', '_' and '.'"
        )


def dumps(params: Params) -> str:
    """Serialise resolved parameters as sorted, indented JSON."""
    return json.dumps(params.to_json(), indent=2, sort_keys=True)
