"""Benchmarks: ``python -m bench NAME [--quick]``. Each prints one JSON object per figure."""
