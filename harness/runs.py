"""Run folders: reports/runs/<run-id>/ with a manifest that ties all evidence to one build."""

from __future__ import annotations

import enum
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__
from harness.errors import Problem, UsageError

__all__ = ["RunFolder", "RunManifest", "RunStatus", "SuiteRecord", "utc_now"]

MANIFEST_NAME = "run.json"


class RunStatus(enum.StrEnum):
    """Lifecycle of a run; only COMPLETED runs can pass their gates."""

    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass
class SuiteRecord:
    """What one suite did inside a run."""

    outcome: str
    reason: str = ""
    exit_code: int | None = None
    started_at: str = ""
    finished_at: str = ""


@dataclass
class RunManifest:
    """run.json: the identity of a run and the state of each suite in it."""

    run_id: str
    environment: str
    stage: str
    build_id: str = ""
    version: str = ""
    target_url: str = ""
    status: RunStatus = RunStatus.RUNNING
    started_at: str = ""
    finished_at: str = ""
    harness_version: str = __version__
    whole_stage: bool = False
    candidate: bool = False
    # A shard run executed shard `shard_index` of `shard_count` of its suites' tests; both are 0
    # for a whole run. A shard run is partial, so only `harness merge` gates it.
    shard_index: int = 0
    shard_count: int = 0
    # A merged run's source shard runs: run_id, shard ("i/n") and manifest_sha256 of each.
    merged_from: list[dict[str, str]] = field(default_factory=list)
    suites: dict[str, SuiteRecord] = field(default_factory=dict)

    @property
    def shard_label(self) -> str:
        """Return "i/n" for a shard run and "" for a whole run."""
        return f"{self.shard_index}/{self.shard_count}" if self.shard_count else ""

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RunManifest:
        suites_raw = data.pop("suites", {})
        assert isinstance(suites_raw, dict)
        manifest = cls(**data)  # type: ignore[arg-type]
        manifest.status = RunStatus(manifest.status)
        manifest.suites = {name: SuiteRecord(**record) for name, record in suites_raw.items()}
        return manifest


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_run_id() -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def write_json_atomically(path: Path, data: object) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


@dataclass
class RunFolder:
    """One run's folder and its manifest."""

    path: Path
    manifest: RunManifest
    # Suites that run side by side update the manifest from two threads. Every change to it and
    # every save takes this lock, so no save writes a half-updated manifest.
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @classmethod
    def create(
        cls, reports_root: Path, environment: str, stage: str, *, whole_stage: bool = False
    ) -> RunFolder:
        runs_root = reports_root / "runs"
        runs_root.mkdir(parents=True, exist_ok=True)
        run_id = new_run_id()
        path = runs_root / run_id
        path.mkdir()
        manifest = RunManifest(
            run_id, environment, stage, started_at=utc_now(), whole_stage=whole_stage
        )
        folder = cls(path, manifest)
        folder.save()
        folder.point_latest_here()
        return folder

    @classmethod
    def load(cls, reports_root: Path, run_id: str) -> RunFolder:
        runs_root = reports_root / "runs"
        path = runs_root / run_id
        manifest_path = path / MANIFEST_NAME
        if "/" in run_id or run_id in {"", ".", ".."} or not manifest_path.is_file():
            raise UsageError(Problem.RUN_NOT_FOUND, {"run_id": run_id, "root": runs_root})
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
        return cls(path, RunManifest.from_json(data))

    def save(self) -> None:
        with self.lock:
            write_json_atomically(self.path / MANIFEST_NAME, asdict(self.manifest))

    def point_latest_here(self) -> None:
        """Point reports/latest at this run; the link is swapped by rename so it is never absent."""
        latest = self.path.parent.parent / "latest"
        temporary = latest.with_name(".latest.tmp")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(Path("runs") / self.run_id)
        os.replace(temporary, latest)

    def subdir(self, name: str) -> Path:
        path = self.path / name
        path.mkdir(parents=True, exist_ok=True)
        return path
