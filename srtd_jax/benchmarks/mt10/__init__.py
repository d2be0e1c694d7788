"""Meta-World MT10."""
