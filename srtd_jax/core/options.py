"""The names of the choices the step machinery offers, importable without JAX (config checks read them)."""

SEED_AXIS_STRATEGIES = ("vmap", "map")  # how a chunk runs the seeds of a device: one batched program, or lax.map
NONFINITE_MODES = ("stop", "skip")      # what a chunk does with a non-finite update
KEY_STREAMS = ("shared", "independent")  # how a run's random keys are derived (core/seeds.py)
QUALITY_WEIGHTS = ("minmax_return", "discounted_clipped")  # the quality weight R~ (data/windows.py)
FIRST_REWARDS = ("zero", "raw")         # the relative reward at t = 0 (data/windows.py)
NOISE_TARGETS = ("all", "skill_decoder")  # what the noisy z of imagination enters (agents/augmentation.py)
MATMUL_DTYPES = ("float32", "bfloat16")  # encoder.matmul_dtype, rl.matmul_dtype
