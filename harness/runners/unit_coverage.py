"""coverage.py for the unit suite: configure every process, check its data, combine once, report.

All coverage files of a run live in its folder under coverage/: the configuration the harness
writes, one parallel data file per measured process while the tests run, the combined data file,
Cobertura XML and the HTML report. Nothing is read from or written to the project root, so data of
an earlier run can never be combined into this one.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.process import run_logged

__all__ = ["CoverageFiles", "CoverageProblem", "ProcessRecord"]

DATA_NAME = "unit.coverage"
# Environment variables of coverage.py that would point a child at another configuration or data
# file, for example the harness's own measurement when its tests run under coverage.
COVERAGE_VARIABLES = frozenset(
    {"COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START", "COVERAGE_FILE", "COVERAGE_RCFILE"}
)
COMMAND_TIMEOUT_S = 600.0


class CoverageProblem(Exception):
    """Coverage data is missing, incomplete or cannot be reported; no figure may be given."""


@dataclass(frozen=True)
class ProcessRecord:
    """A pytest process (the controller or an xdist worker) that the unit plugin saw start."""

    process: str
    pid: int

    @classmethod
    def read_all(cls, state_dir: Path) -> list[ProcessRecord]:
        records = []
        for path in sorted(state_dir.glob("process-*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            records.append(cls(str(data["process"]), int(data["pid"])))
        return records


@dataclass(frozen=True)
class CoverageFiles:
    """The coverage files of one run, all under `folder`."""

    folder: Path
    log: Path

    @property
    def rcfile(self) -> Path:
        return self.folder / "coveragerc"

    @property
    def data_file(self) -> Path:
        return self.folder / DATA_NAME

    @property
    def xml(self) -> Path:
        return self.folder / "coverage.xml"

    @property
    def html(self) -> Path:
        return self.folder / "html"

    def write_rcfile(self, source: Path | None) -> None:
        """Measure `source` with branches in every process that the test run starts.

        `patch = subprocess` makes coverage.py start in each Python child, which includes the
        pytest-xdist workers; `sigterm` saves a child's data when it is terminated. Without a
        source the file only names the data file, for combining and reporting data of others.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = ["[run]", f"data_file = {self.data_file}", "parallel = true"]
        if source is not None:
            lines += [f"source = {source}", "branch = true", "patch = subprocess", "sigterm = true"]
        self.rcfile.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def parallel_files(self) -> list[Path]:
        return sorted(self.folder.glob(f"{DATA_NAME}.*"))

    def check_processes(self, processes: list[ProcessRecord]) -> None:
        """Raise CoverageProblem naming every pytest process whose data file was never saved.

        coverage.py names a parallel data file after the process id ("unit.coverage.HOST.pid123.
        X...x"), so a worker killed before it saved leaves no file with its pid.
        """
        if not processes:
            raise CoverageProblem("no pytest process reported its start, so none can be checked")
        pids = {int(match.group(1)) for match in map(pid_match, self.parallel_files()) if match}
        missing = [record for record in processes if record.pid not in pids]
        if missing:
            names = ", ".join(f"{record.process} (pid {record.pid})" for record in missing)
            raise CoverageProblem(
                f"coverage data of {names} is missing: the process ended before it saved, "
                "so no coverage figure is reported"
            )

    def combine(self, env: Mapping[str, str], cwd: Path) -> None:
        """Combine this run's parallel data files into the data file; the runner calls it once."""
        if not self.parallel_files():
            raise CoverageProblem(f"nothing to combine: no coverage data files in {self.folder}")
        self.coverage(["combine", "--quiet", f"--data-file={self.data_file}"], env, cwd)

    def report(self, env: Mapping[str, str], cwd: Path) -> None:
        """Write Cobertura XML and the HTML report from the combined data file."""
        if not self.data_file.is_file():
            raise CoverageProblem(f"coverage data file {self.data_file} is missing")
        data = f"--data-file={self.data_file}"
        self.coverage(["xml", "--quiet", data, "-o", str(self.xml)], env, cwd)
        self.coverage(["html", "--quiet", data, "-d", str(self.html)], env, cwd)

    def coverage(self, arguments: list[str], env: Mapping[str, str], cwd: Path) -> None:
        command = [sys.executable, "-m", "coverage", *arguments, f"--rcfile={self.rcfile}"]
        exit_code = run_logged(
            command, cwd=cwd, env=env, output=self.log, timeout_s=COMMAND_TIMEOUT_S
        )
        if exit_code != 0:
            raise CoverageProblem(f"coverage {arguments[0]} failed (exit code {exit_code})")


def pid_match(path: Path) -> re.Match[str] | None:
    return re.search(r"\.pid(\d+)\.X\w+x", path.name)


def without_coverage_variables(env: Mapping[str, str]) -> dict[str, str]:
    """Return `env` without coverage.py's variables, so a child follows only its own settings."""
    return {name: value for name, value in env.items() if name not in COVERAGE_VARIABLES}


def child_environment(source_root: Path) -> dict[str, str]:
    """Environment for the suite: imports resolve to `source_root` before installed copies."""
    env = without_coverage_variables(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source_root), env.get("PYTHONPATH")]))
    return env
