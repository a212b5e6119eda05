"""CPU seconds spent per part of the system, from /proc (Linux only).

On two cores every part competes for the same CPU: the web server, the
Celery worker, PostgreSQL, Redis and the load generator itself. CPU seconds
per part over a phase say where the machine's time went, which a profile of
one process cannot (its waits are the other processes' work).
"""

import os

from memory import process_tree

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / TICKS


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _all_pids():
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def snapshot(services, *, database):
    """CPU seconds so far per part: each service's process tree, the
    PostgreSQL backends serving ``database``, PostgreSQL's shared processes
    (WAL writer, checkpointer...), Redis, and this benchmark's own client."""
    parts = {
        service.name: sum(_cpu_seconds(pid) for pid in process_tree(service.pid))
        for service in services
    }
    postgres_backends = postgres_shared = redis_server = 0.0
    for pid in _all_pids():
        command = _cmdline(pid)
        if command.startswith("postgres: "):
            if f" {database} " in command:
                postgres_backends += _cpu_seconds(pid)
            elif any(
                role in command
                for role in (" walwriter", " checkpointer", " background writer")
            ):
                postgres_shared += _cpu_seconds(pid)
        elif command.startswith("redis-server") or "/redis-server" in command:
            redis_server += _cpu_seconds(pid)
    parts["postgres (bench backends)"] = postgres_backends
    parts["postgres (WAL, checkpoint, bgwriter: shared)"] = postgres_shared
    parts["redis-server (shared)"] = redis_server
    # This process and the children it has reaped (wrk runs).
    times = os.times()
    parts["bench client (incl. wrk)"] = (
        times.user + times.system + times.children_user + times.children_system
    )
    return parts


def machine_busy_seconds():
    """All CPUs' busy time so far (everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICKS


class Meter:
    """CPU seconds per part, and the machine's total, over one phase."""

    def __init__(self, services, *, database):
        self.services = services
        self.database = database
        self.before = snapshot(services, database=database)
        self.busy_before = machine_busy_seconds()

    def read(self, elapsed):
        after = snapshot(self.services, database=self.database)
        parts = {part: round(after[part] - self.before[part], 2) for part in after}
        busy = machine_busy_seconds() - self.busy_before
        return {
            "elapsed_s": round(elapsed, 2),
            "capacity_cpu_s": round(elapsed * os.cpu_count(), 2),
            "machine_busy_cpu_s": round(busy, 2),
            "parts_cpu_s": parts,
            # Other users of the machine, and processes not tracked here.
            "elsewhere_cpu_s": round(busy - sum(parts.values()), 2),
        }
