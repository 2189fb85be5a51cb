"""The app's server for the browser benchmark: ``streamlit run app.py`` on a free
local port, in its own process group (killed at the end), and its memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hyperfusion.errors import HyperFusionError

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_SCRIPT = REPO_ROOT / "app.py"
HEALTH_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Server:
    """A running server: its URL, process id, and log file."""

    url: str
    pid: int
    log: Path
    started: float  # time.perf_counter() just before the process was started


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(url: str) -> bool:
    """Whether ``/_stcore/health`` answers ``ok``."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.read().decode().strip() == "ok"
    except OSError:
        return False


def server_command(port: int) -> list[str]:
    """``streamlit run app.py`` on 127.0.0.1 (a wildcard address makes a headless
    server look up its external IP on the internet), headless, no usage stats."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left."""
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_healthy(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while not healthy(url):
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise HyperFusionError(f"streamlit exited early (log {log}):\n{tail}")
        if time.monotonic() > deadline:
            raise HyperFusionError(
                f"streamlit not healthy after {HEALTH_TIMEOUT_S:.0f} s (log {log})"
            )
        time.sleep(0.05)


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    """Start the app's server, wait until it is healthy, and kill its process
    group on the way out (also on errors and Ctrl-C); its log is deleted after a
    clean run and named in the error otherwise."""
    if not APP_SCRIPT.exists():
        raise HyperFusionError(f"{APP_SCRIPT} is missing: run from a clone")
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="hyperfusion-bench-", suffix=".log")[1])
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            server_command(port),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(proc, url, log)
        yield Server(url, proc.pid, log, started)
    finally:
        _kill_group(proc)
    log.unlink(missing_ok=True)  # kept only when something went wrong


def process_memory_mib(pid: int) -> dict[str, float]:
    """Resident memory of a process from ``/proc``: now (``VmRSS``) and its peak
    (``VmHWM``), in MiB; empty where ``/proc`` is missing."""
    found = {}
    names = {"VmRSS:": "rss_mib", "VmHWM:": "peak_rss_mib"}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            key = line.split(maxsplit=1)[0] if line.strip() else ""
            if key in names:
                found[names[key]] = int(line.split()[1]) / 1024
    return found


def process_tree(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """``pid`` and every process descended from it (read from ``/proc``; just
    ``[pid]`` where it is missing)."""
    children: dict[int, list[int]] = {}
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (name) state ppid ...": the name may hold spaces and brackets
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def process_tree_memory_mib(pid: int) -> dict[str, float]:
    """:func:`process_memory_mib` summed over ``pid``'s process tree (the server and
    anything it started, e.g. a converter), with ``processes`` counted."""
    total: dict[str, float] = {}
    tree = process_tree(pid)
    for member in tree:
        for key, mib in process_memory_mib(member).items():
            total[key] = total.get(key, 0.0) + mib
    return {**total, "processes": float(len(tree))} if total else {}


def process_tree_cpu_s(pid: int, proc: Path = Path("/proc")) -> float:
    """CPU seconds (user + system) used so far by ``pid``'s process tree (0 where
    ``/proc`` is missing)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for member in process_tree(pid, proc):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (proc / str(member) / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


__all__ = [
    "Server",
    "process_memory_mib",
    "process_tree",
    "process_tree_cpu_s",
    "process_tree_memory_mib",
    "running_server",
    "server_command",
]
