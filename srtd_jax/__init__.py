"""srtd_jax: Skill-Regularized Task Decomposition (SRTD) for multi-task offline RL."""

__version__ = "0.1.0"
