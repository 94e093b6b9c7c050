"""The `harness` command: run a suite, or re-evaluate a stored run's gates."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from harness import __version__
from harness.config.gates import load_gates
from harness.errors import HarnessError, Problem, UsageError
from harness.logs import configure_logging
from harness.orchestrator import RunRequest, evaluate_run, execute_run
from harness.runners.base import SuiteOptions
from harness.runners.registry import RUNNERS
from harness.runs import RunFolder
from harness.target import TargetOptions
from harness.verdict import ExitCode

__all__ = ["main"]

log = logging.getLogger(__name__)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors become one-line UsageErrors with exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": message})


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="harness", description=__doc__)
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path.cwd(),
        help="project folder with environments/ and gates.toml (default: current)",
    )
    parser.add_argument(
        "--reports", type=Path, default=None, help="folder for run output (default: ROOT/reports)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    add_run_command(commands)
    add_gate_command(commands)
    return parser


def add_run_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    run = commands.add_parser("run", help="run a suite against an environment and gate it")
    run.add_argument("suite", choices=sorted(RUNNERS), help="suite to run")
    run.add_argument(
        "--env", default="local", help="environment name from environments/ (default: local)"
    )
    run.add_argument(
        "--stage", help="promotion stage whose gates apply (default: the environment's)"
    )
    run.add_argument("--channel", default="api", help="comma-separated channels (default: api)")
    run.add_argument(
        "--select", default="", help="run only scenarios matching this pytest -k expression"
    )
    run.add_argument(
        "--allow-writes",
        action="store_true",
        help="on a sensitive environment, also run scenarios that create data",
    )
    run.add_argument("--base-url", help="override the environment's base URL")
    run.add_argument("--port", type=int, help="port for the embedded service (0 picks a free one)")
    run.add_argument("--faults", type=Path, help="fault-injection file for the embedded service")
    run.add_argument(
        "--build",
        help="build id the embedded service reports, or the one a remote target must report",
    )
    run.add_argument(
        "--timeout", type=float, default=1800.0, help="suite time limit in seconds (default: 1800)"
    )
    run.add_argument(
        "--workers",
        type=worker_count,
        help="unit suite: pytest-xdist workers, 'auto' or a count; 0 runs in one process "
        "(default: the environment's [unit] workers, else auto)",
    )
    run.add_argument(
        "--reruns",
        type=rerun_count,
        help="unit suite: reruns of a failed test; a test that passes on one is flaky (default: 0)",
    )


def worker_count(value: str) -> str | int:
    if value == "auto":
        return value
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is neither 'auto' nor a whole number")
    return int(value)


def rerun_count(value: str) -> int:
    if not value.isdigit() or int(value) > 10:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number from 0 to 10")
    return int(value)


def add_gate_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    gate = commands.add_parser("gate", help="re-evaluate the gates of a stored run")
    gate.add_argument("--run", required=True, help="run id under reports/runs, or 'latest'")
    gate.add_argument("--stage", help="stage whose gates apply (default: the run's stage)")


def run_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    channels = tuple(name.strip() for name in args.channel.split(",") if name.strip())
    request = RunRequest(
        root=args.root,
        reports=reports,
        suite=args.suite,
        environment=args.env,
        stage=args.stage,
        target=TargetOptions(args.base_url, args.port, args.faults, args.build),
        options=SuiteOptions(
            channels, args.select, args.timeout, args.allow_writes, args.workers, args.reruns
        ),
    )
    return execute_run(request)


def gate_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    run_id = args.run
    if run_id == "latest":
        latest = reports / "latest"
        run_id = latest.resolve().name if latest.exists() else "latest"
    run = RunFolder.load(reports, run_id)
    gates_path = args.root / "gates.toml"
    gates = load_gates(gates_path)
    stage = args.stage or run.manifest.stage
    gates.stage(stage, gates_path)
    return evaluate_run(run, gates, stage).verdict.exit_code


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so a terminated run cleans up like a Ctrl-C."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        configure_logging(args.verbose)
        signal.signal(signal.SIGTERM, raise_interrupt)
        reports = args.reports or args.root / "reports"
        if args.command == "run":
            return int(run_command(args, reports))
        return int(gate_command(args, reports))
    except HarnessError as error:
        print(f"harness: error: {error.message()}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
