"""Benchmarks (docs/benchmarks.md). They measure and print; they never fail a test run."""
