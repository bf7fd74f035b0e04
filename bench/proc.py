"""CPU time and memory of the processes a benchmark runs on, read from /proc (Linux), so that a figure can say
what limited it: which service's CPU, PostgreSQL's, the broker's.

`CpuSampler` reads every process's utime + stime once a second; a process's share of a window is its last
reading minus its first (0 for a process born inside the window), so short-lived ones lose at most a second.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after "(comm)", which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def memory_mib(pid: int) -> dict[str, float]:
    """Resident set now (VmRSS) and at its peak (VmHWM), MiB."""
    out: dict[str, float] = {}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out["rss_mib" if key == "VmRSS" else "peak_rss_mib"] = round(int(value.split()[0]) / 1024, 1)
    return out


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of every core since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def classify(pid: int, named: Mapping[int, str]) -> str:
    if pid in named:
        return named[pid]
    cmd = command(pid)
    if "postgres" in cmd.split(" ", 1)[0] or cmd.startswith("postgres:"):
        return "postgres"
    if "kafka.Kafka" in cmd:
        return "kafka"
    return "other"


@dataclass
class CpuSampler:
    """Per-process CPU seconds over a window, grouped: the named pids (the services), `postgres`, `kafka`,
    `other` (this benchmark itself, the load generator, the rest of the machine)."""

    named: dict[int, str]
    every: float = 1.0
    _first: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _group: dict[int, str] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _began: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _read(self, *, first: bool) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            seconds = cpu_seconds(pid)
            if seconds is None:
                continue
            if pid not in self._group:
                self._group[pid] = classify(pid, self.named)
                self._first[pid] = seconds if first else 0.0
            self._last[pid] = seconds

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await asyncio.to_thread(self._read, first=False)

    def start(self) -> None:
        self._first.clear()
        self._last.clear()
        self._group.clear()
        self._read(first=True)
        busy, total = machine_busy_seconds()
        self._began = (time.monotonic(), busy, total)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> dict[str, object]:
        """CPU seconds per group over the window, and how busy the machine's cores were (1.0 = all of them)."""
        if self._task is not None:
            self._task.cancel()
        self._read(first=False)
        wall = time.monotonic() - self._began[0]
        busy, total = machine_busy_seconds()
        per_group: dict[str, float] = defaultdict(float)
        for pid, group in self._group.items():
            per_group[group] += self._last[pid] - self._first[pid]
        return {
            "wall_s": round(wall, 1),
            "cpu_s": {g: round(s, 1) for g, s in sorted(per_group.items(), key=lambda kv: -kv[1])},
            "machine_busy": round((busy - self._began[1]) / max(total - self._began[2], 1e-9), 2),
        }
