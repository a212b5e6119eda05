"""Resident memory of a process tree, read from /proc (Linux only).

RSS counts pages shared between a parent and its forked children once per
process, so a tree's RSS sum overstates what it really holds; PSS (from
``smaps_rollup``) splits shared pages fairly and is reported beside it.
"""

import os
from dataclasses import asdict, dataclass

KIB = 1024


@dataclass
class TreeMemory:
    pids: list
    # (pid, command name, RSS KiB) per process, the root first.
    processes: list
    rss_kib: int
    hwm_kib: int
    pss_kib: int

    @property
    def rss_mib(self):
        return self.rss_kib / KIB

    def as_dict(self):
        return asdict(self) | {
            "rss_mib": round(self.rss_kib / KIB, 1),
            "hwm_mib": round(self.hwm_kib / KIB, 1),
            "pss_mib": round(self.pss_kib / KIB, 1),
        }


def _parent_pids():
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name may hold spaces and parentheses: split after it.
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
    return parents


def process_tree(root_pid, parents=None):
    """``root_pid`` and all its descendants that are alive now."""
    parents = _parent_pids() if parents is None else parents
    if root_pid not in parents:
        return []
    tree = [root_pid]
    for pid in tree:
        tree.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def _status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _command(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return ""


def _pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(root_pids):
    """RSS per tree, cheaply (one scan of /proc): for sampling under load."""
    parents = _parent_pids()
    return {
        root: sum(_status_kib(pid, "VmRSS") for pid in process_tree(root, parents))
        for root in root_pids
    }


def tree_memory(root_pid):
    pids = process_tree(root_pid)
    return TreeMemory(
        pids=pids,
        processes=[(pid, _command(pid), _status_kib(pid, "VmRSS")) for pid in pids],
        rss_kib=sum(_status_kib(pid, "VmRSS") for pid in pids),
        hwm_kib=sum(_status_kib(pid, "VmHWM") for pid in pids),
        pss_kib=sum(_pss_kib(pid) for pid in pids),
    )
