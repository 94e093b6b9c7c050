"""The `harness` command: run a suite, or re-evaluate a stored run's gates."""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
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
from harness.devices.doctor import doctor_findings
from harness.devices.profiles import select_devices
from harness.errors import HarnessError, Problem, UsageError
from harness.logs import configure_logging
from harness.merge import merge_runs
from harness.orchestrator import RunRequest, evaluate_run, execute_run, report_shard_run
from harness.promotion import PromotionRefused, promote, verify_record
from harness.reporting.parity import compatibility_page, parity_from_junit
from harness.reporting.report import (
    DEFAULT_HISTORY_LIMIT,
    ReportFailed,
    ReportRequest,
    build_report,
    default_output,
    open_report_server,
    serve_report,
)
from harness.runners.base import LoadOptions, ProductionOptions, SuiteOptions, UnitOptions
from harness.runners.registry import RUNNERS, in_run_order
from harness.runs import RunFolder
from harness.selection import failed_node_ids
from harness.shards import MAX_SHARDS, parse_shard
from harness.signoff import record_signoff
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
    add_production_commands(commands)
    add_doctor_command(commands)
    add_matrix_command(commands)
    add_report_command(commands)
    add_merge_command(commands)
    return parser


def add_report_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    report = commands.add_parser(
        "report", help="build a run's HTML report with the Allure 3 CLI, with the trend of builds"
    )
    report.add_argument("--run", default="latest", help="run id under reports/runs, or 'latest'")
    report.add_argument(
        "--output",
        type=Path,
        help="report folder (default: allure-report, or allure-report-single-file, in the run)",
    )
    report.add_argument(
        "--single-file",
        action="store_true",
        help="write one self-contained index.html that opens from disk",
    )
    report.add_argument(
        "--history-limit",
        type=history_limit,
        default=DEFAULT_HISTORY_LIMIT,
        help="builds kept in the trend history of the run's environment and stage "
        f"(default: {DEFAULT_HISTORY_LIMIT})",
    )
    report.add_argument(
        "--serve", action="store_true", help="serve the report on 127.0.0.1 until Ctrl-C"
    )
    report.add_argument(
        "--port", type=port_number, default=0, help="port for --serve (default: 0, a free one)"
    )


def port_number(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number from 0 to 65535")
    return int(value)


def history_limit(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def add_merge_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    merge = commands.add_parser(
        "merge", help="combine the shard runs of a suite into one new run and gate it"
    )
    merge.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="shard run ids under reports/runs, or paths to shard run folders",
    )
    merge.add_argument(
        "--stage", help="stage whose gates apply (default: the one the shard runs recorded)"
    )


def add_matrix_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    matrix = commands.add_parser(
        "matrix", help="write a uat run's scenario by channel results as a Markdown page"
    )
    matrix.add_argument("--run", default="latest", help="run id under reports/runs, or 'latest'")
    matrix.add_argument(
        "--output",
        type=Path,
        default=Path("docs/compatibility-matrix.md"),
        help="Markdown file to write (default: docs/compatibility-matrix.md)",
    )


def duration_s(text: str) -> float:
    """Parse a duration such as 30s, 10m, 1h or a plain number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(number) * units[unit]
    except ValueError:
        message = f"invalid duration {text!r}; write e.g. 30s, 10m or 1h"
        raise argparse.ArgumentTypeError(message) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"duration {text!r} must be positive")
    return value


def add_production_commands(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    deploy = commands.add_parser(
        "verify-deploy", help="wait until every instance reports the expected build, and gate it"
    )
    deploy.add_argument("--env", default="local", help="environment name (default: local)")
    deploy.add_argument(
        "--stage", default="release", help="stage whose gates apply (default: release)"
    )
    deploy.add_argument("--expect-build", required=True, help="build id every instance must report")
    deploy.add_argument(
        "--timeout",
        dest="duration",
        type=duration_s,
        default=300.0,
        help="how long to wait for the rollout, e.g. 90s or 5m (default: 5m)",
    )
    deploy.add_argument(
        "--interval", type=duration_s, default=2.0, help="time between polls (default: 2s)"
    )
    add_target_options(deploy)
    probe = commands.add_parser(
        "probe", help="run read-only checks repeatedly and gate availability"
    )
    probe.add_argument("--env", default="local", help="environment name (default: local)")
    probe.add_argument(
        "--stage", default="release", help="stage whose gates apply (default: release)"
    )
    probe.add_argument(
        "--interval", type=duration_s, default=30.0, help="time between rounds (default: 30s)"
    )
    probe.add_argument(
        "--duration", type=duration_s, default=600.0, help="how long to probe (default: 10m)"
    )
    add_target_options(probe)


def add_doctor_command(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor", help="check that the tools a suite needs are installed, and say how to fix it"
    )
    doctor.add_argument("suite", choices=["device"], help="suite whose tools to check")
    doctor.add_argument(
        "--devices",
        default="",
        help="comma-separated device profiles or sets to check for (default: set local)",
    )


def add_promotion_commands(commands: argparse._SubParsersAction[ArgumentParser]) -> None:
    promote = commands.add_parser("promote", help="record a run's promotion to a stage")
    promote.add_argument("--run", required=True, help="run id under reports/runs, or 'latest'")
    promote.add_argument("--to", required=True, dest="stage", help="stage to promote the build to")
    promote.add_argument(
        "--waivers", type=Path, help="waivers file (default: ROOT/waivers.toml when present)"
    )
    signoff = commands.add_parser(
        "signoff", help="record a manual check's result for a run's build"
    )
    signoff.add_argument("--run", required=True, help="run id under reports/runs, or 'latest'")
    signoff.add_argument(
        "--item", help="manual item id from the sign-off sheet (omit to list them)"
    )
    signoff.add_argument("--result", choices=["pass", "fail"], help="what the check showed")
    signoff.add_argument("--by", default="", help="who performed the check (default: login name)")
    signoff.add_argument("--comment", default="", help="what was seen, for the report")
    signoff.add_argument("--build", help="build the check was performed on; must match the run's")
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
    run.add_argument(
        "--shard",
        type=parse_shard,
        help=f"run only shard INDEX/COUNT of the suite's tests, COUNT at most {MAX_SHARDS} "
        "(uat and unit suites); combine the shard runs with harness merge",
    )


def add_target_options(run: ArgumentParser) -> None:
    """Add the options of every command that runs suites: selection, target and suite flags."""
    add_selection_options(run)
    add_service_options(run)
    add_unit_options(run)
    run.add_argument(
        "--devices",
        default="",
        help="comma-separated device profiles or sets from devices/ (default: set local)",
    )
    add_load_options(run)


def add_selection_options(run: ArgumentParser) -> None:
    run.add_argument("--channel", default="api", help="comma-separated channels (default: api)")
    run.add_argument(
        "--select", default="", help="run only scenarios matching this pytest -k expression"
    )
    run.add_argument(
        "--tags",
        default="",
        help='run only scenarios whose Gherkin tags match, e.g. "@smoke and not @slow"',
    )
    run.add_argument(
        "--rerun-failed",
        action="store_true",
        help="run only the scenarios that failed in the latest run",
    )
    run.add_argument(
        "--allow-writes",
        action="store_true",
        help="on a sensitive environment, also run scenarios that create data",
    )
    run.add_argument(
        "--suite-timeout",
        dest="timeout",
        type=float,
        default=1800.0,
        help="suite time limit in seconds (default: 1800)",
    )


def add_service_options(run: ArgumentParser) -> None:
    target = run.add_argument_group("target")
    target.add_argument("--base-url", help="override the environment's base URL")
    target.add_argument(
        "--candidate",
        action="store_true",
        help="test the blue-green candidate named by target.candidate_url_env",
    )
    target.add_argument(
        "--port", type=int, help="port for the embedded service (0 picks a free one)"
    )
    target.add_argument("--faults", type=Path, help="fault-injection file for the embedded service")
    target.add_argument(
        "--build",
        help="build id the embedded service reports, or the one a remote target must report",
    )


def add_unit_options(run: ArgumentParser) -> None:
    unit = run.add_argument_group("unit suite")
    unit.add_argument(
        "--workers",
        type=worker_count,
        help="pytest-xdist workers, 'auto' or a count; 0 runs in one process "
        "(default: the environment's [unit] workers, else auto)",
    )
    unit.add_argument(
        "--reruns",
        type=rerun_count,
        help="reruns of a failed test; a test that passes on one is flaky (default: 0)",
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


def add_load_options(run: ArgumentParser) -> None:
    load = run.add_argument_group("load suite")
    load.add_argument(
        "--profile",
        default="",
        help="load profile in suites/load/ (default: the one the stage's gates name, or smoke)",
    )
    load.add_argument(
        "--locust-workers",
        type=int,
        default=0,
        help="local Locust worker processes (default: one per core)",
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
    devices = tuple(name.strip() for name in args.devices.split(",") if name.strip())
    node_ids: tuple[str, ...] = ()
    if args.rerun_failed:
        node_ids = tuple(failed_node_ids(load_run(reports, "latest").path))
    options = SuiteOptions(
        channels,
        args.select,
        args.timeout,
        args.allow_writes,
        tags=args.tags,
        node_ids=node_ids,
        devices=devices,
        environment=args.env or "local",
        shard=getattr(args, "shard", None),
        unit=UnitOptions(args.workers, args.reruns),
        load=LoadOptions(
            args.profile,
            args.locust_workers,
            args.remote_workers,
            args.master_host,
            args.master_port,
            args.allow_sensitive_load,
        ),
        production=ProductionOptions(
            getattr(args, "expect_build", ""),
            getattr(args, "interval", 2.0),
            getattr(args, "duration", 300.0),
        ),
    )
    return RunRequest(
        root=args.root,
        reports=reports,
        suites=suites,
        environment=args.env,
        stage=args.stage,
        target=TargetOptions(args.base_url, args.port, args.faults, args.build, args.candidate),
        options=options,
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
    return execute_run(run_request(args, reports, in_run_order(stage.suites)))


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
    if run.manifest.shard_count:
        return report_shard_run(run)
    gates_path = args.root / "gates.toml"
    gates = load_gates(gates_path)
    stage = args.stage or run.manifest.stage
    gates.stage(stage, gates_path)
    return evaluate_run(run, gates, stage).verdict.exit_code


def merge_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    return merge_runs(args.root, reports, args.runs, args.stage)


def promote_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    run = load_run(reports, args.run)
    if run.manifest.shard_count:
        shard = run.manifest.shard_label
        raise UsageError(Problem.SHARD_RUN_PROMOTED, {"run_id": run.run_id, "shard": shard})
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
    if not args.record.is_file():
        reason = f"promotion record {args.record} not found; give the path of a promotion-*.json"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    problems = verify_record(args.record)
    for problem in problems:
        print(f"{args.record}: {problem}")
    if problems:
        return ExitCode.FAILED
    print(f"{args.record}: every evidence hash and the ledger entry match")
    return ExitCode.PASSED


def signoff_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    run = load_run(reports, args.run)
    if args.item is None:
        sheet = json.loads((run.path / "signoff" / "sheet.json").read_text(encoding="utf-8"))
        for item in sheet["items"]:
            print(item["item_id"])
        return ExitCode.PASSED
    if args.result is None:
        raise UsageError(
            Problem.BAD_ARGUMENT, {"reason": "--result pass or --result fail is required"}
        )
    signoff = record_signoff(run, args.item, args.result, args.by, args.comment, args.build)
    print(
        f"signed {signoff.result} by {signoff.signed_by} for build {signoff.build_id}: {args.item}"
    )
    return ExitCode.PASSED


def production_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    suite = "deploy" if args.command == "verify-deploy" else "probe"
    return execute_run(run_request(args, reports, (suite,)))


def doctor_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    """Print one line per missing tool with its install command; exit 2 when any is missing."""
    names = tuple(name.strip() for name in args.devices.split(",") if name.strip())
    drivers = {profile.driver for profile in select_devices(args.root, names, "local")}
    findings = doctor_findings(args.root, {driver for driver in drivers if driver.runs_here})
    for finding in findings:
        print(f"harness: error: {finding.line()}", file=sys.stderr)
    if findings:
        return ExitCode.USAGE
    print(f"every tool the {args.suite} suite needs for {', '.join(sorted(drivers))} is installed")
    return ExitCode.PASSED


def matrix_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    """Write the compatibility matrix of a stored uat run, which must have a uat report."""
    run = load_run(reports, args.run)
    junit = run.path / "junit" / "uat.xml"
    if not junit.is_file():
        reason = f"run {run.run_id} has no uat report ({junit}); run the uat suite first"
        raise UsageError(Problem.BAD_ARGUMENT, {"reason": reason})
    page = compatibility_page(run, parity_from_junit(junit))
    output = args.output if args.output.is_absolute() else args.root / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    print(f"wrote {output} from run {run.run_id}")
    return ExitCode.PASSED


def report_command(args: argparse.Namespace, reports: Path) -> ExitCode:
    """Build the report of a stored run, and serve it on loopback when --serve is given."""
    run = load_run(reports, args.run)
    output = args.output or default_output(run, args.single_file)
    if not output.is_absolute():
        output = args.root / output
    request = ReportRequest(args.root, reports, run, output, args.single_file, args.history_limit)
    server = open_report_server(output, args.port) if args.serve else None
    try:
        index = build_report(request)
    except ReportFailed as failure:
        if server is not None:
            server.server_close()
        print(f"harness: error: {failure}", file=sys.stderr)
        return ExitCode.FAILED
    print(f"report: {index}")
    if server is not None:
        serve_report(server, output)
    return ExitCode.PASSED


COMMANDS: dict[str, Callable[[argparse.Namespace, Path], ExitCode]] = {
    "report": report_command,
    "matrix": matrix_command,
    "merge": merge_command,
    "verify-deploy": production_command,
    "probe": production_command,
    "run": run_command,
    "gate": gate_command,
    "promote": promote_command,
    "verify": verify_command,
    "signoff": signoff_command,
    "doctor": doctor_command,
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
    except BrokenPipeError:
        # The reader of the output (such as `head`) went away before the command finished, so
        # its verdict is unknown: exit 1, never 0. Pointing stdout at /dev/null stops Python
        # from failing again when it flushes at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("harness: output closed early; the command did not finish", file=sys.stderr)
        return int(ExitCode.FAILED)


if __name__ == "__main__":
    sys.exit(main())
