"""Memory of the running benchmark process, from ``/proc/self`` (Linux)."""

from __future__ import annotations

import gc
from pathlib import Path


def memory_gib(field: str) -> float:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM) in GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def reset_peak() -> float:
    """Reset the peak RSS to the current RSS; returns the current RSS in GiB."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return memory_gib("VmRSS")
