"""Threefry on CPU without the rolled loop.

JAX lowers the Threefry-2x32 hash on CPU as a 5-iteration while loop (to keep compile times short); inside a
training step that loop runs for every random draw, and each iteration is a handful of tiny XLA thunks plus
loop-carry copies. The unrolled lowering, which JAX itself uses on other platforms, computes the same bits
with straight-line code: about 5% more TD3+BC updates/s on a 2-core CPU (results/throughput.md).

There is no public switch for this, so `use_unrolled_threefry` re-registers JAX's own unrolled rule for the
CPU platform through JAX internals; if those move, it leaves JAX as it is and returns False.
Set SRTD_JAX_ROLLED_THREEFRY=1 to keep JAX's default.
"""
from __future__ import annotations

import functools
import os


@functools.cache
def use_unrolled_threefry() -> bool:
    """Registers the unrolled Threefry lowering for CPU (once). Returns whether it is in effect."""
    if os.environ.get("SRTD_JAX_ROLLED_THREEFRY", "0") == "1":
        return False
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as threefry
        mlir.register_lowering(threefry.threefry2x32_p, threefry._threefry2x32_lowering_rule, platform="cpu")
    except (ImportError, AttributeError):
        return False
    return True
