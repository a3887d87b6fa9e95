"""Benchmarks of the report build: ``make bench`` runs :mod:`benchmarks.run`."""
