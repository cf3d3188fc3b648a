"""Benchmarks: one script per measure, each printing one comparable ratio (docs/benchmarks.md)."""
