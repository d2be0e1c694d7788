"""Multi-task drone navigation (paper section 5.2) on the built-in simulator: `--config=configs/drone.py:<method>`
for any method of configs/default.py (default srtd), e.g. `configs/drone.py:srtd_id`, `configs/drone.py:pcgrad`.

The config of the drone sweep's (configs/benchmark_drone.py, cpu budget) cell for the method on the
MR 2, RP 2, ME 2 configuration: MT10's cpu budget (encoders 3 x 128 / 2 x 128 for 3 epochs, actor and critic
2 x 256 at batch 256 for 20,000 steps, 10 evaluation episodes per task, the per-method sizes of PCGrad and
SoftMod) with drone data of the learning_run recipe: per task MR 150 / RP 100 / ME 50 episodes of 100 steps (50 s
of flight) from online SAC runs, made the first time in about 20 minutes. Scores are normalised returns: the return
divided by the task's trained agent's best return. `--config.data.recipe=ladder` gives the ladder's data (seconds)
and the noise-free expert controller as the reference.
"""
from configs import benchmark_drone


def get_config(method: str = "srtd"):
    bench = benchmark_drone.get_config("cpu")
    c = bench.base
    if method in bench.per_method:
        c.update(bench.per_method[method])  # recursive: only the fields the method's overrides name
    c.method, c.num_seeds, c.seed = method, bench.num_seeds, bench.seed
    return c
