"""PCGrad baseline: TD3+BC with one-hot task id, actor and critic of 6 hidden layers of 160 units (appendix
B.2), gradient surgery between per-task gradients of the critic and the actor losses.

Based on the quick preset; per-task losses come from task-stratified batches of batch_size // 10 rows each.
"""
from configs import quick


def get_config():
    c = quick.get_config()
    c.method = "pcgrad"
    c.rl.actor_hidden = c.rl.critic_hidden = (160,) * 6
    return c
