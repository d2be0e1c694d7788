"""The default run config. Every field is defined and commented once, in srtd_jax/runtime/defaults.py, where the
config checks read it; presets in this folder override only what differs."""
from srtd_jax.runtime.defaults import get_config

__all__ = ["get_config"]
