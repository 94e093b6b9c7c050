"""The `harness` command: run a suite, or re-evaluate a stored run's gates."""

from __future__ import annotations

import argparse
import datetime
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from harness import __version__
from harness.config.environment import load_environment
from harness.config.gates import load_gates
from harness.config.waivers import load_waivers
from harness.errors import HarnessError, Problem, UsageError
from harness.logs import configure_logging
from harness.orchestrator import RunRequest, evaluate_run, execute_run
from harness.promotion import PromotionRefused, promote, verify_record
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
    add_promotion_commands(commands)
    return parser


def add_promotion_commands(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    promote = commands.add_parser("promote", help="record a run's promotion to a stage")
    promote.add_argument("--run", required=True, help="run id under reports/runs, or 'latest'")
    promote.add_argument("--to", required=True, dest="stage", help="stage to promote the build to")
    promote.add_argument(
        "--waivers", type=Path, help="waivers file (default: ROOT/waivers.toml when present)"
    )
    verify = commands.add_parser("verify", help="recheck a promotion record's evidence hashes")
    verify.add_argument("record", type=Path, help="a promotion-<stage>.json file in a run folder")


def add_run_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    run = commands.add_parser("run", help="run a suite against an environment and gate it")
    run.add_argument("suite", choices=sorted(RUNNERS), help="suite to run")
    run.add_argument(
        "--env", default="local", help="environment name from environments/ (default: local)"
    )
    run.add_argument(
        "--stage", help="promotion stage whose gates apply (default: the environment's)"
    )
    add_target_options(run)


def add_target_options(run: ArgumentParser) -> None:
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
    add_load_options(run)


def add_load_options(run: ArgumentParser) -> None:
    load = run.add_argument_group("load suite")
    load.add_argument(
        "--profile",
        default="",
        help="load profile in suites/load/ (default: the one the stage's gates name, or smoke)",
    )
    load.add_argument(
        "--workers", type=int, default=0, help="local Locust workers (default: one per core)"
    )
    load.add_argument(
        "--remote-workers",
        type=int,
        default=0,
        help="Locust workers expected from other machines, beside the local ones (default: 0)",
    )
    load.add_argument(
        "--master-host",
        default="127.0.0.1",
        help="address the Locust master listens on for workers (default: 127.0.0.1)",
    )
    load.add_argument(
        "--master-port",
        type=int,
        default=0,
        help="port the Locust master listens on for workers (default: 0, a free port)",
    )
    load.add_argument(
        "--allow-sensitive-load",
        action="store_true",
        help="run load against a sensitive environment, capped at a low request rate",
    )


def add_gate_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    gate = commands.add_parser(
        "gate", help="run every suite a stage requires and gate them, or re-evaluate a stored run"
    )
    source = gate.add_mutually_exclusive_group()
    source.add_argument("--env", help="environment to run the stage's suites against")
    source.add_argument("--run", help="stored run id under reports/runs, or 'latest'")
    gate.add_argument(
        "--stage", help="stage whose gates apply (default: the environment's or run's)"
    )
    add_target_options(gate)


def run_request(args: argparse.Namespace, reports: Path, suites: tuple[str, ...]) -> RunRequest:
    channels = tuple(name.strip() for name in args.channel.split(",") if name.strip())
    return RunRequest(
        root=args.root,
        reports=reports,
        suites=suites,
        environment=args.env,
        stage=args.stage,
        target=TargetOptions(args.base_url, args.port, args.faults, args.build),
        options=SuiteOptions(
            channels,
            args.select,
            args.timeout,
            args.allow_writes,
            profile=args.profile,
            workers=args.workers,
            remote_workers=args.remote_workers,
            master_host=args.master_host,
            master_port=args.master_port,
            allow_sensitive_load=args.allow_sensitive_load,
        ),
        whole_stage=args.command == "gate",
    )


def run_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    return execute_run(run_request(args, reports, (args.suite,)))


def stage_run_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    """Run every suite the stage's gates need, in one run folder, and gate the whole stage."""
    environment = load_environment(args.env, args.root)
    gates_path = args.root / "gates.toml"
    stage_name = args.stage or environment.stage
    stage = load_gates(gates_path).stage(stage_name, gates_path)
    args.stage = stage_name
    return execute_run(run_request(args, reports, stage.suites))


def load_run(reports: Path, run_id: str) -> RunFolder:
    if run_id == "latest":
        latest = reports / "latest"
        run_id = latest.resolve().name if latest.exists() else "latest"
    return RunFolder.load(reports, run_id)


def gate_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    if args.run is None:
        if args.env is None:
            args.env = "local"
        return stage_run_command(args, reports)
    run = load_run(reports, args.run)
    gates_path = args.root / "gates.toml"
    gates = load_gates(gates_path)
    stage = args.stage or run.manifest.stage
    gates.stage(stage, gates_path)
    return evaluate_run(run, gates, stage).verdict.exit_code


def promote_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    run = load_run(reports, args.run)
    gates_path = args.root / "gates.toml"
    gates = load_gates(gates_path)
    waivers = load_waivers(args.waivers or args.root / "waivers.toml").waivers
    try:
        result = promote(run, gates, gates_path, args.stage, waivers, datetime.date.today())
    except PromotionRefused as refused:
        print(refused.report.table())
        print(
            f"\npromotion of build {run.manifest.build_id} to {args.stage} refused: "
            f"verdict FAIL: {refused.report.reason}"
        )
        return ExitCode.FAILED
    print(result.report.table())
    print(f"\nverdict {result.report.verdict}: {result.report.reason}")
    print(f"promoted build {run.manifest.build_id} to {args.stage}; record {result.record_path}")
    return ExitCode.PASSED


def verify_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    problems = verify_record(args.record)
    for problem in problems:
        print(f"{args.record}: {problem}")
    if problems:
        return ExitCode.FAILED
    print(f"{args.record}: every evidence hash and the ledger entry match")
    return ExitCode.PASSED


COMMANDS: dict[str, Callable[[argparse.Namespace, Path], ExitCode]] = {
    "run": run_command,
    "gate": gate_command,
    "promote": promote_command,
    "verify": verify_command,
}


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so a terminated run cleans up like a Ctrl-C."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        configure_logging(args.verbose)
        signal.signal(signal.SIGTERM, raise_interrupt)
        reports = args.reports or args.root / "reports"
        return int(COMMANDS[args.command](args, reports))
    except HarnessError as error:
        print(f"harness: error: {error.message()}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
