"""Batch jobs: many documents in one run."""
