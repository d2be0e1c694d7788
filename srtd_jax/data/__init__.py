"""Offline datasets: the container and its validated I/O, the behaviour-quality ladder the benchmarks generate
with, mixtures, on-device windows and batch samplers."""
