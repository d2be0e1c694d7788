"""Offline datasets: container, validated I/O, mixtures, generators, window sampling."""
