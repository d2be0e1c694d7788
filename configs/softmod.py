"""SoftMod baseline: soft-modularization actor and critic on the one-hot task id, trained with CQL and per-task
loss balancing as in the paper. `--config.rl.learner=td3bc` trains the same networks with TD3+BC (equal task
weights).

Based on the quick preset, with the networks shrunk to fit it: 3 modular layers of 4 modules of 128 units
(the paper's 256: the default.py sizes, e.g. `--config=configs/paper.py --config.method=softmod`) and 2 sampled
actions of each kind in CQL's log-sum-exp (default 10). At the paper's sizes a SoftMod+CQL update costs about
90 GFLOP at batch 256, about 1 update/s on 2 CPU cores; these sizes run at about 10.
"""
from configs import quick


def get_config():
    c = quick.get_config()
    c.method = "softmod"
    c.rl.softmod.hidden = c.rl.softmod.representation = 128
    c.cql.num_action_samples = 2
    return c
