"""The benchmarks (MT10, drone navigation): each folder holds its environment, data generation, evaluation and
what it declares about itself; `registry` looks one up by name."""
