"""Command line: ``acctlib build | check | verify | compare | email | sample``.

The command line configures logging (progress goes to stderr) and turns
acctlib's errors into one readable message and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import yaml

from acctlib.errors import AcctlibError, BuildError
from acctlib.params import DEFAULTS_FILE, PROJECT_ROOT, Declaration, load_declarations

logger = logging.getLogger("acctlib")

HELP_MAX_WIDTH = 80
"""Widest terminal the parameter list of ``--help`` fills."""


def _add_params_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--params",
        metavar="FILE",
        help="YAML file of parameter values, named as in the list below",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="override one parameter, for example --set as_of=2026-06-30 (repeatable)",
    )


def format_parameter_help(width: int) -> str:
    """Return every declared parameter with its default and summary.

    Each parameter takes a line with its name and default, then the first
    sentence of its description, indented, all wrapped to ``width``
    columns.
    """
    defaults_file = DEFAULTS_FILE.relative_to(PROJECT_ROOT)
    intro = (
        "Set a parameter with --set NAME=VALUE or in the YAML file given to "
        f"--params. Units, bounds and full descriptions are in {defaults_file}."
    )
    lines = [
        "parameters:",
        *textwrap.wrap(intro, width, initial_indent="  ", subsequent_indent="  "),
        "",
    ]
    for declaration in load_declarations().values():
        heading = f"  {declaration.name}: "
        default = _format_default(declaration, width - len(heading))
        lines.append(heading + default)
        # Paths such as reports/<as-of>--<variant>/ stay on one line.
        lines += textwrap.wrap(
            declaration.summary,
            width,
            initial_indent="      ",
            subsequent_indent="      ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    return "\n".join(lines)


def _format_default(declaration: Declaration, room: int) -> str:
    """Return the default as help shows it, with the unit after numbers.

    A list shows its items separated by commas, a mapping shows as YAML,
    and either is replaced by its size and the file that lists it when
    longer than ``room`` characters.
    """
    value = declaration.default
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, (list, dict)):
        if isinstance(value, list):
            text = _format_list(declaration, value)
        else:
            text = yaml.safe_dump(
                value, default_flow_style=True, sort_keys=False, width=1_000_000
            ).strip()
        if len(text) <= room:
            return text
        kind = "entries" if isinstance(value, dict) else "items"
        return (
            f"{len(value)} {kind}, listed in {DEFAULTS_FILE.relative_to(PROJECT_ROOT)}"
        )
    return declaration.format_value(value)


def _format_list(declaration: Declaration, items: list) -> str:
    """Return list items separated by commas, such as ``30, 60, 90 days``.

    Numbers, including numbers written as text, are followed by the unit.
    """
    texts = [str(item) for item in items]
    if declaration.unit and all(_is_number(text) for text in texts):
        return f"{', '.join(texts)} {declaration.unit}"
    return ", ".join(texts)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _help_width() -> int:
    """Return the terminal width, at most ``HELP_MAX_WIDTH``, less argparse's margin."""
    return min(shutil.get_terminal_size().columns, HELP_MAX_WIDTH) - 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acctlib",
        description="Build reproducible account-to-revenue reports from CRM exports.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    commands = parser.add_subparsers(dest="command", required=True)

    width = _help_width()
    parameter_help = format_parameter_help(width)
    build = commands.add_parser(
        "build",
        help="build a dated HTML report",
        # The raw formatter keeps the parameter list's layout, so the
        # description is wrapped here.
        description=textwrap.fill(
            "Build the dated HTML report of a data source, with the parameters "
            "listed below.",
            width,
        ),
        epilog=parameter_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_params_options(build)

    check = commands.add_parser(
        "check",
        help="validate a data source without building",
        description=textwrap.fill(
            "Read and validate the data source named by the parameters below, "
            "list rejected rows and blanked cells, and build no report.",
            width,
        ),
        epilog=parameter_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_params_options(check)
    check.add_argument(
        "--show",
        type=int,
        default=20,
        metavar="N",
        help="list the first N rejected rows and blanked cells (default 20)",
    )
    check.add_argument(
        "--rejected",
        type=Path,
        metavar="FILE",
        help="write every rejected row and blanked cell to FILE as CSV",
    )

    verify = commands.add_parser(
        "verify",
        help="rebuild a run from its manifest and compare the results",
        description=textwrap.fill(
            "Check that the input files of a run still have the SHA-256 its "
            "manifest records, rebuild the run with its recorded parameters "
            "in the folder the build ran in, and compare headline figures, "
            "prepared tables, CSV exports and the text of every page. Exit "
            "status 0 means the rebuild is identical, 1 that it differs or "
            "failed, and 2 that the run cannot be verified, such as when an "
            "input file changed.",
            width,
        ),
    )
    verify.add_argument(
        "run_dir", type=Path, help="run folder, e.g. reports/2026-06-30"
    )
    verify.add_argument(
        "--out",
        type=Path,
        help=(
            "folder for the rebuilt run (default: a new temporary folder, "
            "removed when the rebuild is identical)"
        ),
    )

    compare = commands.add_parser(
        "compare",
        help="list what differs between two runs",
        description=textwrap.fill(
            "List the parameters, inputs, headline figures, prepared tables "
            "and account moves that differ between two runs, such as two "
            "month-ends or two variants, and write the same comparison as "
            "an HTML page.",
            width,
        ),
    )
    compare.add_argument("run_a", type=Path, help="first run folder")
    compare.add_argument("run_b", type=Path, help="second run folder")
    compare.add_argument(
        "--html",
        type=Path,
        help="HTML page to write (default: compare-<first>-vs-<second>.html "
        "in the second run's parent folder)",
    )

    email = commands.add_parser(
        "email",
        help="email the digest of a run",
        description=textwrap.fill(
            "Build the email digest of a run (headline figures and their "
            "change, the largest movements, the bookings forecast and the "
            "executive summary attached) and write it to an .eml file or "
            "send it through an SMTP server.",
            width,
        ),
    )
    email.add_argument("run_dir", type=Path, help="run folder, e.g. reports/2026-06-30")
    email.add_argument("--to", required=True, help="recipient address")
    target = email.add_mutually_exclusive_group(required=True)
    target.add_argument("--eml", type=Path, help="write the message to this .eml file")
    target.add_argument(
        "--smtp",
        metavar="HOST:PORT",
        help="send through this SMTP server; TLS and credentials come from "
        "ACCTLIB_SMTP_* variables or ~/.config/acctlib/smtp.yaml",
    )

    sample = commands.add_parser(
        "sample",
        help="write the deterministic sample CRM",
        description="Write a synthetic CRM export (accounts, opportunities, "
        "stage history, touchpoints, signals and revenue) to a folder. The "
        "same seed and number of accounts always give the same files.",
    )
    sample.add_argument("--out", required=True, type=Path, help="output folder")
    sample.add_argument(
        "--seed", type=int, default=20260630, help="random seed (default %(default)s)"
    )
    sample.add_argument(
        "--accounts",
        type=int,
        default=2000,
        help="number of accounts (default %(default)s)",
    )
    sample.add_argument(
        "--format",
        choices=["csv", "parquet"],
        default="csv",
        help="file format (default %(default)s)",
    )
    return parser


def _command_line(argv: list[str]) -> str:
    return " ".join(shlex.quote(part) for part in ["acctlib", *argv])


def run_build(args: argparse.Namespace, argv: list[str]) -> int:
    from acctlib.build import build_report
    from acctlib.params import resolve_params

    params = resolve_params(args.params, args.overrides)
    logger.info("building report as of %s (run %s)", params.as_of, params.run_name)
    result = build_report(params, command=_command_line(argv))
    print(result.run_dir / "index.html")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from acctlib.build import section_paths
    from acctlib.dataquality import (
        format_check_report,
        has_errors,
        list_check_notes,
    )
    from acctlib.intake import load_source
    from acctlib.intake.quarantine import write_csv_safely
    from acctlib.params import resolve_params
    from acctlib.prepare import check_step_settings
    from acctlib.slicing import check_owner_slice

    params = resolve_params(args.params, args.overrides)
    section_paths(params["sections"])
    check_step_settings(params)
    intake = load_source(params)
    check_owner_slice(params, intake.tables)
    print(format_check_report(intake, show=max(args.show, 0), as_of=params.as_of))
    if args.rejected:
        write_csv_safely(intake.quarantine.to_frame(), args.rejected)
        print(f"\nEvery rejected row and blanked cell: {args.rejected}")
    notes = list_check_notes(intake, str(params["report_currency"]))
    if notes:
        print("\nNotes:")
        for note in notes:
            print(f"  {note}")
    # Exit 1 when the stage map misses a stage or the counts do not add up.
    return 1 if has_errors(intake) else 0


def run_verify(args: argparse.Namespace) -> int:
    from acctlib.verify import verify_run

    # A rebuild in a temporary folder is removed when it matches, because
    # nothing in it is left to inspect. A differing one is kept.
    temporary = args.out is None
    out = Path(tempfile.mkdtemp(prefix="acctlib-verify-")) if temporary else args.out
    try:
        verification = verify_run(args.run_dir, out)
    except BaseException:
        if temporary:
            shutil.rmtree(out, ignore_errors=True)
        raise
    if verification.identical:
        if temporary:
            shutil.rmtree(out, ignore_errors=True)
            print(f"{args.run_dir}: identical to its rebuild")
        else:
            rebuilt = verification.rebuilt_dir
            print(f"{args.run_dir}: identical to its rebuild in {rebuilt}")
        return 0
    print(f"{args.run_dir}: differs from its rebuild in {verification.rebuilt_dir}")
    for line in verification.differences():
        print(f"  {line}")
    return 1


def run_compare(args: argparse.Namespace) -> int:
    from acctlib import compare

    comparison = compare.compare_runs(
        compare.load_run(args.run_a), compare.load_run(args.run_b)
    )
    print(compare.format_text(comparison), end="")
    target = args.html or args.run_b.resolve().parent / (
        f"compare-{args.run_a.name}-vs-{args.run_b.name}.html"
    )
    compare.write_html(comparison, target)
    print(f"HTML page: {target}")
    return 0


def run_email(args: argparse.Namespace) -> int:
    from acctlib import delivery

    if args.eml:
        message = delivery.build_message(args.run_dir, args.to, "acctlib@localhost")
        delivery.write_eml(message, args.eml)
        print(args.eml)
        return 0
    settings = delivery.load_smtp_settings(args.smtp)
    message = delivery.build_message(args.run_dir, args.to, settings.sender)
    delivery.send(message, settings)
    print(f"sent to {args.to} through {settings.host}:{settings.port}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from acctlib import sample

    counts = sample.write_sample(
        args.out, seed=args.seed, accounts=args.accounts, file_format=args.format
    )
    for table, rows in counts.items():
        print(f"{table}: {rows:,} {'row' if rows == 1 else 'rows'}")
    print(f"sample written to {args.out} (ends {sample.SAMPLE_END})")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.ERROR if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        if args.command == "build":
            return run_build(args, argv)
        if args.command == "check":
            return run_check(args)
        if args.command == "verify":
            return run_verify(args)
        if args.command == "compare":
            return run_compare(args)
        if args.command == "email":
            return run_email(args)
        if args.command == "sample":
            return run_sample(args)
    except BuildError as error:
        print(f"acctlib: build failed: {error}", file=sys.stderr)
        return 1
    except AcctlibError as error:
        print(f"acctlib: {error}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
