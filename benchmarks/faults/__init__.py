"""Fault scenarios against real servers: graceful shutdown, dependency outages, hostile input.

``tests/faults/`` runs a bounded slice of each in CI; ``python -m benchmarks.faults.run`` runs the fuller versions and
writes benchmarks/results/faults.{json,md}.
"""
