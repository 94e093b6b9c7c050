"""Check Gherkin scenario files before a run, so a syntax error is one line and not a traceback."""

from __future__ import annotations

from pathlib import Path

from harness.errors import Problem, UsageError

__all__ = ["check_feature_files", "feature_files"]


def feature_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.feature"))


def check_feature_files(directory: Path) -> None:
    """Parse every .feature file under `directory`; raise UsageError at the first syntax error."""
    files = feature_files(directory)
    if not files:
        reason = "no .feature files found; add scenarios there"
        raise UsageError(Problem.SCENARIO_SYNTAX, {"path": directory, "line": 0, "reason": reason})
    for path in files:
        check_feature_file(path)


def check_feature_file(path: Path) -> None:
    # gherkin comes with the uat extra; installs for other suites import this module without it.
    from gherkin.errors import CompositeParserException, ParserException
    from gherkin.parser import Parser
    from gherkin.token_scanner import TokenScanner

    try:
        Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))
    except (CompositeParserException, ParserException) as error:
        first = error.errors[0] if isinstance(error, CompositeParserException) else error
        line = first.location["line"] if first.location else 0
        reason = describe_parser_error(str(first))
        raise UsageError(
            Problem.SCENARIO_SYNTAX, {"path": path, "line": line, "reason": reason}
        ) from None


def describe_parser_error(text: str) -> str:
    """Shorten gherkin's "(4:3): expected: #EOF, #TableRow, ..., got 'x'" to its useful part."""
    detail = text.split("): ", 1)[-1]
    if ", got " in detail:
        line = detail.rsplit(", got ", 1)[1]
        return f"unexpected line {line} (expected a keyword such as Given or Scenario)"
    return detail
