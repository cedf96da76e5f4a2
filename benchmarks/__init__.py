"""Benchmarks of riskml: each module is a command, run from the repository root.

``python -m benchmarks.panel``, ``python -m benchmarks.scale`` ... measure riskml and
write their tables into ``docs/`` (each page names the command behind its numbers).
Shared pieces: ``_data`` (the benchmark records), ``_doc`` (writing a section of a
page), ``_measure`` (peak memory); DuckDB baseline queries are in ``sql/``.
"""
