"""Benchmarks: run ``python -m bench --help``. They print figures; no test asserts on timings."""
