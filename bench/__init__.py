"""Benchmark scripts; each prints its figure and the same-run baseline it is compared with."""
