"""Environments: Meta-World MT10."""
