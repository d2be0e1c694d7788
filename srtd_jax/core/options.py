"""The names of the choices the step machinery offers, importable without JAX (config checks read them)."""

SEED_AXIS_STRATEGIES = ("vmap", "map")  # how a chunk runs the seeds of a device: one batched program, or lax.map
NONFINITE_MODES = ("stop", "skip")      # what a chunk does with a non-finite update
