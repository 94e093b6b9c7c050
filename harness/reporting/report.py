"""Build a run's HTML report with the Allure 3 CLI, keep its trend history, and serve it locally.

The history is one JSON Lines file per environment and stage beside the run folders
(`reports/allure-history/<environment>-<stage>.jsonl`), so a trend only compares runs of one kind.
Allure reads it before each build to draw the trend charts and appends the build's data point.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness.errors import Problem, UsageError
from harness.process import run_logged
from harness.runs import RunFolder, RunManifest

__all__ = [
    "DEFAULT_HISTORY_LIMIT",
    "HISTORY_DIR",
    "ReportFailed",
    "ReportRequest",
    "build_report",
    "default_output",
    "open_report_server",
    "prepare_history",
    "report_name",
    "serve_report",
]

log = logging.getLogger(__name__)

HISTORY_DIR = "allure-history"
# Each history entry stores every test's result, about 0.7 KB a test (measured on a uat run's 9
# results), so 20 builds of 300 tests take about 4 MB. --history-limit changes the count.
DEFAULT_HISTORY_LIMIT = 20
ALLURE_TIMEOUT_S = 600.0
ALLURE_CLI = Path("node_modules/.bin/allure")
LOOPBACK = "127.0.0.1"
# Files Allure 3 writes into every report folder. An existing folder that has one of them is an
# earlier report and may be replaced, while any other non-empty folder is left alone.
REPORT_MARKERS = ("index.html", "summary.json")


class ReportFailed(Exception):
    """The Allure CLI exited with an error; the message names its log file."""


@dataclass(frozen=True)
class ReportRequest:
    """A request for one run's report in `output`, with the trend history under `reports`."""

    root: Path
    reports: Path
    run: RunFolder
    output: Path
    single_file: bool = False
    history_limit: int = DEFAULT_HISTORY_LIMIT

    @property
    def history(self) -> Path:
        """Return the trend history of the run's environment and stage."""
        manifest = self.run.manifest
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{manifest.environment}-{manifest.stage}")
        return self.reports / HISTORY_DIR / f"{key}.jsonl"


def default_output(run: RunFolder, single_file: bool) -> Path:
    """Return the report folder inside the run folder; the single-file report has its own."""
    return run.path / ("allure-report-single-file" if single_file else "allure-report")


def report_name(manifest: RunManifest) -> str:
    """Name the report after its run, which also keys the run's point in the trend history.

    Allure 3 gives every build a random id, so the name is what tells that two history entries
    come from the same run.
    """
    return f"run {manifest.run_id}: build {manifest.build_id} on {manifest.environment}"


def build_report(request: ReportRequest) -> Path:
    """Generate the report of one run and return its index.html.

    Raise UsageError when the run has no Allure results, the CLI is missing or the output folder
    contains something else, and ReportFailed when the CLI fails.
    """
    results = request.run.path / "allure-results"
    if not results.is_dir():
        reason = (
            f"run {request.run.run_id} has no Allure results ({results}); "
            "run a suite first, for example: harness run uat"
        )
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    allure = find_allure(request.root)
    name = report_name(request.run.manifest)

    clear_output(request.output)
    request.history.parent.mkdir(parents=True, exist_ok=True)
    prepare_history(request.history, name)

    log_path = request.run.path / "logs" / "allure-report.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="harness-allure-") as temporary:
        config = Path(temporary) / "allurerc.json"
        config.write_text(json.dumps(allure_config(request, name), indent=2), encoding="utf-8")
        command = [str(allure), "generate", "--config", str(config), str(results)]
        exit_code = run_logged(
            command, cwd=request.root, env=os.environ, output=log_path, timeout_s=ALLURE_TIMEOUT_S
        )
    index = request.output / "index.html"
    if exit_code != 0 or not index.is_file():
        raise ReportFailed(f"allure generate failed with exit code {exit_code}; see {log_path}")
    return index


def find_allure(root: Path) -> Path:
    allure = root / ALLURE_CLI
    if not allure.exists():
        raise UsageError(
            Problem.MISSING_TOOL,
            {"tool": f"the Allure 3 CLI ({allure})", "fix": f"npm ci (in {root})"},
        )
    return allure


def allure_config(request: ReportRequest, name: str) -> dict[str, object]:
    """Return the allurerc.json settings: the awesome report and the bounded history.

    Allure 3.18 reads historyPath and historyLimit only from a config file, not from flags of
    `allure generate`. On append it keeps the newest historyLimit entries, the new one included.
    """
    return {
        "name": name,
        "output": str(request.output.resolve()),
        "historyPath": str(request.history.resolve()),
        "historyLimit": request.history_limit,
        "plugins": {"awesome": {"options": {"singleFile": request.single_file}}},
    }


def prepare_history(history: Path, name: str) -> None:
    """Make the history file safe for Allure to read, and drop the earlier point of this run.

    A history file with a line that is not a JSON object would stop Allure, so it is moved aside
    to `<name>.corrupt` with one warning, and the build starts a fresh history.
    """
    if not history.is_file():
        return
    try:
        lines = history.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        discard_history(history, f"byte {error.start} is not UTF-8")
        return
    entries: list[dict[str, object]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        entry = parse_history_line(line)
        if entry is None:
            discard_history(history, f"line {number} is not a JSON object")
            return
        entries.append(entry)

    remaining = [entry for entry in entries if entry.get("name") != name]
    if len(remaining) < len(entries):
        log.info("replacing the earlier trend point named %r in %s", name, history)
        text = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in remaining)
        temporary = history.with_name(f".{history.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(history)


def parse_history_line(line: str) -> dict[str, object] | None:
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def discard_history(history: Path, reason: str) -> None:
    aside = history.with_name(f"{history.name}.corrupt")
    history.replace(aside)
    log.warning(
        "report history %s is corrupt (%s); moved it to %s and started a fresh history",
        history,
        reason,
        aside,
    )


def clear_output(output: Path) -> None:
    """Remove an earlier report from `output`, because Allure leaves stale files in place."""
    if not output.exists():
        return
    if not output.is_dir():
        reason = f"--output {output} is a file; pass a folder"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    if not any(output.iterdir()):
        return
    if not any((output / marker).is_file() for marker in REPORT_MARKERS):
        reason = f"--output {output} is a non-empty folder but no Allure report; pass a new folder"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    shutil.rmtree(output)


class ReportRequestHandler(SimpleHTTPRequestHandler):
    """Serve the report's files, with request lines in the debug log instead of on stderr."""

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def print_flushed(line: str) -> None:
    """Print a line and flush it, so a program that reads the output through a pipe gets it."""
    print(line, flush=True)


def open_report_server(folder: Path, port: int) -> ThreadingHTTPServer:
    """Listen on 127.0.0.1 for requests of files in `folder`; serve_report handles them.

    The harness serves the report itself because Allure 3.18's `allure open` calls Node's
    `server.listen(port)` without a host, which listens on every interface. Listening before the
    build means a taken port is reported before the build rewrites the trend history.
    """
    handler = functools.partial(ReportRequestHandler, directory=str(folder))
    try:
        return ThreadingHTTPServer((LOOPBACK, port), handler)
    except OSError as error:
        raise listen_error(port, error) from None


def serve_report(
    server: ThreadingHTTPServer, folder: Path, announce: Callable[[str], None] = print_flushed
) -> None:
    """Serve the report until Ctrl-C or SIGTERM, and announce its URL."""
    with server:
        host, bound_port = server.server_address[:2]
        announce(f"serving the report at http://{host!s}:{bound_port}/ (press Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("stopped serving %s", folder)


def listen_error(port: int, error: OSError) -> UsageError:
    advice = "pass another --port, or --port 0 for a free one"
    if error.errno == errno.EADDRINUSE:
        return UsageError(Problem.PORT_IN_USE, {"port": port, "host": LOOPBACK, "advice": advice})
    reason = f"cannot listen on {LOOPBACK}:{port} ({error.strerror}); {advice}"
    return UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
