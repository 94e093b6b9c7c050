"""Start external tools the way every runner should: logged, bounded, and stopped on interrupt."""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["run_logged", "stop_child", "stop_running_children"]

log = logging.getLogger(__name__)

TERMINATE_TIMEOUT_S = 15.0

# Children started by run_logged in any thread. SIGINT reaches only the main thread, so it stops
# the children of suites running in other threads through this set.
RUNNING: set[subprocess.Popen[bytes]] = set()
RUNNING_LOCK = threading.Lock()


def run_logged(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output: Path,
    timeout_s: float,
) -> int:
    """Run `command` with its output in `output`, return its exit code.

    The command line is logged before it starts. On KeyboardInterrupt (SIGINT, or SIGTERM as
    translated by the CLI) the child is terminated by its PID and waited for before re-raising, so
    no tool outlives the harness.
    """
    log.info("running: %s", shlex.join(command))
    with output.open("ab") as stream:
        child = subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), stdout=stream, stderr=stream
        )
        with RUNNING_LOCK:
            RUNNING.add(child)
        try:
            exit_code = child.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.error("%s timed out after %g s; stopping pid %d", command[0], timeout_s, child.pid)
            stop_child(child)
            return -1
        except BaseException:
            stop_child(child)
            raise
        finally:
            with RUNNING_LOCK:
                RUNNING.discard(child)
    if exit_code != 0:
        log.info("%s exited with code %d (output: %s)", shlex.join(command[:3]), exit_code, output)
    return exit_code


def stop_child(
    child: subprocess.Popen[bytes], what: str = "", timeout_s: float = TERMINATE_TIMEOUT_S
) -> None:
    """Stop a child by its PID: SIGTERM, then SIGKILL if it has not exited after `timeout_s`.

    `what` names the child in the log (such as "Appium"); without it nothing is logged.
    """
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        log.warning("%s pid %d ignored SIGTERM; killing it", what or "child", child.pid)
        child.kill()
        child.wait()
    if what:
        log.info("%s pid %d stopped", what, child.pid)


def stop_running_children() -> None:
    """Stop every child that run_logged started and that is still running, in any thread."""
    with RUNNING_LOCK:
        children = list(RUNNING)
    for child in children:
        stop_child(child, "suite tool")
