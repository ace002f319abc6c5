"""Benchmarks (not tests): they print figures side by side with the peers they name."""
