"""Benchmarks (PERFORMANCE.md). They measure and print; they never fail a test run."""
