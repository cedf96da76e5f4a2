"""Writing one benchmark's section of ``docs/benchmarks.md`` without touching the others.

The fixed prose of a section (what was measured, how) is a Markdown template in
``benchmarks/templates/``; the benchmark fills in its numbers with ``str.format``.
"""

from __future__ import annotations

import os
import platform
import time
from importlib import resources
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def template(name: str) -> str:
    """The text of ``benchmarks/templates/<name>.md``, without its final newline."""
    return (resources.files("benchmarks") / "templates" / f"{name}.md").read_text(encoding="utf-8").rstrip("\n")


# The one-minute load average when the benchmark started (this module is imported first).
_LOAD_AT_START = os.getloadavg()[0]


def machine_line() -> str:
    """Date, cores, Python and the load average at the start and the end of the run.

    Examples
    --------
    >>> "load average" in machine_line() and "at the end" in machine_line()
    True
    """
    load = os.getloadavg()[0]
    return (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {_LOAD_AT_START:.1f} at the start and {load:.1f} at the end "
            "(the machine is shared: compare ratios, not seconds).")


def write_section(heading: str, body: str, doc: Path = DOC) -> None:
    """Replace the ``## heading`` section of ``doc`` (or append it), keeping the others."""
    title = f"## {heading}"
    if body.lstrip().startswith(title):  # the body may carry its own heading line
        body = body.lstrip()[len(title):]
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.rstrip() == title), None)
    new = [title, "", *body.strip("\n").splitlines()]
    if start is None:
        lines = [*lines, *([""] if lines and lines[-1].strip() else []), *new]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines = [*lines[:start], *new, *([""] if end < len(lines) else []), *lines[end:]]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
