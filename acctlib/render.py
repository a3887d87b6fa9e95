"""Executing notebooks with papermill and exporting them to HTML.

Notebooks run on the ``acctlib`` Jupyter kernel registered inside the
project's virtual environment; the build puts that environment's kernel
folder first on ``JUPYTER_PATH`` so no kernel of the same name elsewhere on
the machine is used. HTML export hides code cells, prompts and stderr, and
uses the ``report`` template, which loads nothing over the network.
Kernels talk to the build over local IPC sockets, not TCP ports.
"""

from __future__ import annotations

import atexit
import functools
import html
import logging
import os
import queue
import re
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import papermill
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError
from papermill.iorw import write_ipynb
from papermill.log import logger as papermill_logger
from papermill.utils import remove_args
from traitlets import default

from acctlib import pagesettings
from acctlib.errors import BuildError

logger = logging.getLogger(__name__)

KERNEL_NAME = "acctlib"
ENGINE_NAME = "acctlib"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Python's warnings module prints "file:line: SomeWarning: message".
WARNING_LINE = re.compile(r"^\S.*:\d+: \w*Warning: ", re.MULTILINE)
HEADING = re.compile(r"^(#{1,2})\s+(.+?)\s*#*\s*$", re.MULTILINE)
# Code a warm kernel runs before its notebook: the imports of the report
# notebooks, and one small chart drawn as SVG, because starting vl-convert's
# JavaScript runtime costs a notebook's first chart about 0.4 s. It runs
# inside a function so that the notebook's namespace stays empty.
WARM_UP_SOURCE = """\
def _acctlib_warm_up():
    import importlib

    for name in (
        "acctlib.accountcharts",
        "acctlib.accountviews",
        "acctlib.attribution.report",
        "acctlib.charts",
        "acctlib.dataquality",
        "acctlib.forecast.views",
        "acctlib.movement",
        "acctlib.summary",
        "acctlib.views",
        "acctlib.workspace",
    ):
        importlib.import_module(name)
    import altair
    import pandas
    from acctlib import charts

    frame = pandas.DataFrame({"x": [0]})
    charts.static_svg(altair.Chart(frame).mark_point().encode(x="x:Q"))


_acctlib_warm_up()
del _acctlib_warm_up
"""
# Code a kept kernel runs after its notebook: a new session clears the
# namespace and restarts the execution count at 1, as in a new kernel. The
# imported modules stay, so the next notebook skips the warm-up's cost.
RESET_SOURCE = """\
get_ipython().reset(new_session=True)
__import__("os").chdir({cwd!r})
"""
# nbclient starts its kernels with an in-memory IPython history, so that
# parallel kernels share no history file; warm kernels start the same way.
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]
WARM_UP_TIMEOUT_SECONDS = 120


class LocalKernelManager(AsyncKernelManager):
    """Kernel manager whose kernels listen on IPC sockets in the runtime folder.

    No TCP port is opened: the kernel is reachable only through socket files
    in the user's Jupyter runtime folder, and ipykernel does not print its
    warning about unencrypted TCP.
    """

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # Without a connection file yet, jupyter_client would name the
        # sockets "kernel-ipc-<n>" in the working folder, and kernels started
        # at the same moment would pick the same names. A unique prefix per
        # kernel keeps parallel notebooks apart.
        runtime = jupyter_runtime_dir()
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        return os.path.join(runtime, f"acctlib-{uuid.uuid4().hex[:12]}")

    async def _async_interrupt_kernel(self) -> None:
        # jupyter_client interrupts the kernel at the start of every
        # shutdown. An idle ipykernel then logs "KeyboardInterrupt caught in
        # kernel" to the build's output, so a shutdown skips the interrupt.
        # The shutdown request, SIGTERM and SIGKILL still follow.
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()


class ReportEngine(NBClientEngine):
    """papermill's nbclient engine, writing the output notebook only at the end.

    papermill's own engine rewrites the whole output notebook before and
    after every cell. A report notebook carries the inlined chart libraries
    (about 0.9 MB), so on the bundled sample those writes took 0.7 to 1.8 s
    per notebook (measured on 2 cores). papermill still writes the output
    when the run ends or a cell raises, and this engine writes it when the
    kernel dies or a cell times out, so a failed notebook is kept as far as
    it ran.

    The engine also runs a notebook on a kernel that is already running,
    passed as ``km`` (see :func:`start_warm_kernel`), and records the
    ``recorded_paths`` it is given, a pair of input and output path, in
    place of the real ones in the notebook's papermill metadata.
    """

    @classmethod
    def execute_notebook(
        cls, nb, kernel_name, output_path=None, recorded_paths=None, **kwargs
    ):
        if recorded_paths:
            nb.metadata.papermill["input_path"] = recorded_paths[0]
            nb.metadata.papermill["output_path"] = recorded_paths[1]
        try:
            executed = super().execute_notebook(nb, kernel_name, **kwargs)
        except BaseException:
            if output_path:
                write_ipynb(nb, output_path)
            raise
        # papermill writes the returned notebook to output_path.
        return make_outputs_repeatable(executed)

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        keep_kernel=False,
        **kwargs,
    ):
        client = PapermillNotebookClient(
            nb_man,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=papermill_logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **remove_args(["input_path"], **kwargs),
        )
        # nbclient shuts a kernel down, and closes its own connection to it,
        # only when it owns the kernel manager. A warm kernel passed in as
        # ``km`` is the client's too, unless it is kept for another notebook.
        client.owns_km = not keep_kernel
        try:
            return client.execute()
        finally:
            if keep_kernel and client.kc is not None:
                client.kc.stop_channels()


papermill_engines.register(ENGINE_NAME, ReportEngine)

INJECTED_TAG = "injected-parameters"
OBJECT_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def make_outputs_repeatable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove what differs between two runs of ``nb`` on the same data.

    papermill gives the cell it injects a random ID, so that cell gets its
    tag as ID instead. A plain-text output such as ``<Styler at 0x7f67...>``
    names a memory address, so the address is removed. Timestamps in the
    execution metadata stay. Returns ``nb``, changed in place.
    """
    for cell in nb.cells:
        if INJECTED_TAG in cell.get("metadata", {}).get("tags", []):
            cell["id"] = INJECTED_TAG
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = data.get("text/plain")
            if isinstance(text, str):
                data["text/plain"] = OBJECT_ADDRESS.sub(">", text)
            elif isinstance(text, list):
                data["text/plain"] = [OBJECT_ADDRESS.sub(">", line) for line in text]
    return nb


@dataclass
class _WarmKernel:
    manager: LocalKernelManager
    client: BlockingKernelClient
    cwd: str | None


# Kernels started by start_warm_kernel in this process, not yet used.
_warm_kernels: list[_WarmKernel] = []


def start_warm_kernel(cwd: Path | None = None, *, wait: bool = False) -> None:
    """Start a kernel for a later :func:`execute_notebook` in this process.

    The kernel runs :data:`WARM_UP_SOURCE` as soon as it is up, so a
    notebook run on it skips that fixed cost, about 3 s of a 4 to 6 s
    section notebook on the bundled sample (2 cores). The build starts
    warm kernels while it prepares the tables. The warm-up runs silently,
    so the notebook's execution counts and outputs are those of a new
    kernel. ``cwd`` is the kernel's working folder, and a notebook run
    must pass the same one to use the kernel. With ``wait``, return only
    once the warm-up has finished.
    """
    use_project_kernel()
    manager = LocalKernelManager(kernel_name=KERNEL_NAME)
    folder = str(cwd) if cwd else None
    run_sync(manager.start_kernel)(cwd=folder, extra_arguments=KERNEL_ARGUMENTS)
    client = _shell_client(manager)
    request = client.execute(
        WARM_UP_SOURCE, silent=True, store_history=False, allow_stdin=False
    )
    if not _warm_kernels:
        atexit.register(shutdown_warm_kernels)
    _warm_kernels.append(_WarmKernel(manager, client, folder))
    if wait:
        _wait_for_reply(client, request)


def _shell_client(manager: LocalKernelManager) -> BlockingKernelClient:
    """Return a client of the kernel of ``manager`` on its shell channel only."""
    client = BlockingKernelClient(**manager.get_connection_info(session=True))
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    return client


def _wait_for_reply(client: BlockingKernelClient, request: str) -> dict:
    while True:
        reply = client.get_shell_msg(timeout=WARM_UP_TIMEOUT_SECONDS)
        if reply["parent_header"].get("msg_id") == request:
            return reply


def _reset_kernel(warm: _WarmKernel) -> bool:
    """Clear a kernel's namespace after a notebook; return whether it worked."""
    if not run_sync(warm.manager.is_alive)():
        return False
    # Every client of the kernel shares the manager's session, and so the
    # identity the kernel sends replies to. The notebook's client took it
    # over, so a new client takes it back.
    warm.client.stop_channels()
    warm.client = _shell_client(warm.manager)
    source = RESET_SOURCE.format(cwd=warm.cwd or os.getcwd())
    request = warm.client.execute(
        source, silent=True, store_history=False, allow_stdin=False
    )
    try:
        reply = _wait_for_reply(warm.client, request)
    except queue.Empty:
        return False
    return reply["content"]["status"] == "ok"


def shutdown_warm_kernels() -> None:
    """Stop the warm kernels of this process that no notebook used.

    They are killed rather than asked to shut down, because a kernel still
    running its warm-up would log an error when its reply finds the client
    gone.
    """
    while _warm_kernels:
        _stop_kernel(_warm_kernels.pop(), now=True)


def _take_warm_kernel(cwd: Path | None) -> _WarmKernel | None:
    """Return a running warm kernel started in ``cwd``, or None."""
    folder = str(cwd) if cwd else None
    for warm in list(_warm_kernels):
        if warm.cwd != folder:
            continue
        _warm_kernels.remove(warm)
        if run_sync(warm.manager.is_alive)():
            return warm
        _stop_kernel(warm, now=True)
    return None


def _stop_kernel(warm: _WarmKernel, *, now: bool = False) -> None:
    warm.client.stop_channels()
    if run_sync(warm.manager.is_alive)():
        run_sync(warm.manager.shutdown_kernel)(now=now)


def use_project_kernel() -> None:
    """Put this environment's Jupyter data folder first on ``JUPYTER_PATH``.

    The kernel spec installed with ``ipykernel install --sys-prefix`` then
    wins over a same-named kernel in the user's or the system's folders.
    """
    project_share = str(Path(sys.prefix) / "share" / "jupyter")
    current = os.environ.get("JUPYTER_PATH", "")
    if current.split(os.pathsep)[0] != project_share:
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            filter(None, [project_share, current])
        )


def execute_notebook(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    timeout: int,
    cwd: Path | None = None,
    recorded_paths: tuple[str, str] | None = None,
    keep_kernel: bool = False,
) -> nbformat.NotebookNode:
    """Run ``source`` with ``parameters`` and save the executed copy to ``output``.

    The notebook runs on a warm kernel that :func:`start_warm_kernel`
    started in this process with the same ``cwd``, when there is one, and
    otherwise on a new kernel. ``recorded_paths``, an input and an output
    path, replaces ``source`` and ``output`` in the notebook's papermill
    metadata, so that the saved notebook need not name the folders they
    are in. With ``keep_kernel``, the kernel is not shut down after a
    notebook that ran without error: its namespace is cleared (see
    :data:`RESET_SOURCE`) and it waits as a warm kernel for the next
    notebook of this process in ``cwd``.

    Raises
    ------
    BuildError
        Naming the notebook and the failing cell, when a cell raises, the
        kernel dies or a cell runs past ``timeout`` seconds. The executed
        notebook, as far as it ran, is saved at ``output`` in every case.
    """
    use_project_kernel()
    warm = _take_warm_kernel(cwd)
    if warm is None and keep_kernel:
        # A notebook started while the warm-up ran hung in testing, likely
        # because its client takes the warm-up client's reply identity.
        start_warm_kernel(cwd, wait=True)
        warm = _take_warm_kernel(cwd)
    succeeded = False
    try:
        executed = papermill.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            engine_name=ENGINE_NAME,
            progress_bar=False,
            execution_timeout=timeout,
            cwd=str(cwd) if cwd else None,
            kernel_manager_class=LocalKernelManager,
            km=warm.manager if warm else None,
            recorded_paths=recorded_paths,
            keep_kernel=keep_kernel,
        )
        succeeded = True
        return executed
    except PapermillExecutionError as error:
        cell = _source_cell_index(source, error.source, error.cell_index)
        first_line = (error.source or "").strip().splitlines()[:1]
        where = f" ({first_line[0][:80]})" if first_line else ""
        raise BuildError(
            source.name, cell, f"{error.ename}: {error.evalue}{where}"
        ) from error
    except CellTimeoutError as error:
        raise BuildError(
            source.name,
            _failed_cell(source, output),
            f"cell ran longer than {timeout} s",
        ) from error
    except DeadKernelError as error:
        raise BuildError(
            source.name, _failed_cell(source, output), "kernel died while the cell ran"
        ) from error
    finally:
        # The notebook client has shut the kernel down unless it is kept or
        # papermill failed before starting it, such as on an invalid notebook.
        if warm and keep_kernel and succeeded and _reset_kernel(warm):
            _warm_kernels.append(warm)
        elif warm:
            _stop_kernel(warm)


def run_notebook(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    timeout: int,
    cwd: Path | None = None,
    recorded_paths: tuple[str, str] | None = None,
) -> float:
    """Run a notebook as :func:`execute_notebook` does; return the seconds it took.

    For the build's worker processes: every error becomes a
    :class:`BuildError` that names the notebook.
    """
    started = time.perf_counter()
    try:
        execute_notebook(
            source,
            output,
            parameters,
            timeout=timeout,
            cwd=cwd,
            recorded_paths=recorded_paths,
            keep_kernel=True,
        )
    except BuildError:
        raise
    except Exception as error:
        # papermill and nbclient raise many kinds of errors before a cell
        # runs, such as an invalid notebook or a kernel that never started.
        detail = f"{type(error).__name__}: {error}".splitlines()[0]
        raise BuildError(source.name, None, detail) from None
    return time.perf_counter() - started


def _source_cell_index(source: Path, cell_source: str, fallback: int) -> int:
    """Return the index, in the committed notebook, of the cell that failed.

    The executed copy has extra cells (papermill's injected parameters and
    error markers), so the failing cell is found by its source text.
    """
    notebook = nbformat.read(source, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.source == cell_source:
            return index
    return fallback


def _failed_cell(source: Path, executed: Path) -> int | None:
    """Return the committed index of the last cell that started running."""
    if not executed.is_file():
        return None
    notebook = nbformat.read(executed, as_version=4)
    started = [
        (index, cell)
        for index, cell in enumerate(notebook.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return None
    index, cell = started[-1]
    return _source_cell_index(source, cell.source, index)


def find_error_outputs(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """Return (cell index, error) for every error output in an executed notebook."""
    errors = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append((index, f"{output.get('ename')}: {output.get('evalue')}"))
    return errors


def extract_toc(notebook: nbformat.NotebookNode) -> list[dict[str, str]]:
    """Return the level-1 and level-2 markdown headings with their HTML anchors.

    Anchors follow nbconvert's rule for heading ids (spaces become hyphens,
    then URL quoting), so the links land on the exported headings.
    """
    entries = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for match in HEADING.finditer(cell.source):
            if len(match.group(1)) != 2:
                continue
            title = match.group(2).strip()
            anchor = quote(title.replace(" ", "-"), safe="?/:@!$&'()*+,;=")
            entries.append({"title": title, "anchor": anchor})
    return entries


def _strip_for_export(
    notebook: nbformat.NotebookNode, settings: list[tuple[str, str]]
) -> nbformat.NotebookNode:
    """Prepare an executed notebook for readers.

    Drops stderr streams and warnings from outputs, and replaces the cell
    papermill injects (the workspace path, meaningless to a reader) with a
    table of the report's settings.
    """
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cells.append(_settings_cell(settings))
            continue
        cell.outputs = [
            output for output in cell.get("outputs", []) if _is_shown(output)
        ]
        cells.append(cell)
    notebook.cells = cells
    return notebook


def _is_shown(output: nbformat.NotebookNode) -> bool:
    """Return False for stderr streams and printed warnings."""
    if output.get("output_type") != "stream":
        return True
    if output.get("name") == "stderr":
        return False
    return not WARNING_LINE.search(output.get("text", ""))


def _settings_cell(settings: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """Return a code cell whose only output is the table of report settings.

    The table sits in a ``<details>`` element whose summary line shows the
    as-of date and currency, so it takes one line until a reader opens it.
    """
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in settings
    )
    values = dict(settings)
    brief = " · ".join(
        html.escape(values[label])
        for label in (pagesettings.REPORT_DATE, pagesettings.CURRENCY)
        if label in values
    )
    table = (
        '<details class="acctlib-settings"><summary>Report settings'
        f"{': ' + brief if brief else ''}</summary>"
        f'<table class="acctlib-settings">{rows}</table></details>'
    )
    cell = nbformat.v4.new_code_cell("")
    # A fixed id keeps the HTML of two builds identical; nbformat draws a
    # random one.
    cell.id = "report-settings"
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": table})]
    return cell


def export_html(notebook: nbformat.NotebookNode, report: dict[str, Any]) -> str:
    """Return the report HTML of an executed notebook.

    ``report`` fills the navigation bar, table of contents and footer of
    the ``report`` template (sections, current file, as_of, variant,
    slice_label, slice_notice, currency, generated_at, version, git_commit,
    command, inputs, params, toc, settings as (label, value) pairs) and its
    optional ``title`` sets the page's ``<title>``.
    """
    settings = report.get("settings", [])
    notebook = _strip_for_export(nbformat.from_dict(notebook), settings)
    if report.get("title"):
        # The lab template of nbconvert 7 takes the <title> from this metadata
        # field, and falls back to "Notebook" without it.
        notebook.metadata["title"] = report["title"]
    body, _ = _html_exporter().from_notebook_node(
        notebook, resources={"acctlib": report}
    )
    return body


@functools.cache
def _html_exporter() -> HTMLExporter:
    # One exporter serves every page, because a new one compiles the
    # report's templates again (about 60 ms a page on the bundled sample).
    return HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
