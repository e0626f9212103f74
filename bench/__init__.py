"""Benchmarks for the quality bars; each prints its figures and records them in results.json."""
