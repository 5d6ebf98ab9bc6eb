"""Reliability tests: bad input and faults (docs/reliability.md)."""
