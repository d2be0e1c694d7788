"""Multi-task drone navigation (paper section 5.2) on the built-in simulator: `--config=configs/drone.py:<method>`
for any method of configs/default.py (default srtd), e.g. `configs/drone.py:srtd_id`, `configs/drone.py:pcgrad`.

The MT10 sweep's cpu budget (configs/benchmark_mt10.py: encoders 3 x 128 / 2 x 128 for 3 epochs, actor and critic
2 x 256 at batch 256 for 20,000 steps, 10 evaluation episodes per task, the per-method sizes of PCGrad and
SoftMod) with drone data: per task MR 150 / RP 100 / ME 50 episodes of 100 steps (50 s of flight). The paper gives
no drone dataset sizes or budgets. Scores are normalised returns (the return divided by the noise-free expert's
best return on the task).
"""
import ml_collections

from configs import benchmark_mt10
from srtd_jax.sweep import merge_overrides


def get_config(method: str = "srtd"):
    bench = benchmark_mt10.get_config("cpu")
    c = ml_collections.ConfigDict(bench.base.to_dict())
    if method in bench.per_method:
        merge_overrides(c, bench.per_method[method])
    c.suite = "drone"
    c.method = method
    d = c.data
    d.configuration = "mr2_rp2_me2"
    d.data_dir = "data/drone"
    d.episode_length = 100
    d.probe_episodes = 16
    d.reward_type, d.reward_scale = "raw", 1.0  # the progress reward is already per step
    return c
