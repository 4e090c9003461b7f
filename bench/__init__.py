"""The benchmark behind `make bench` / `make bench-quick` (see docs/benchmarks.md).

Nothing here is imported by the tracker itself: the only hook is the
`/__bench__/` baseline view, mounted by config/urls.py when BENCH=1.
"""
