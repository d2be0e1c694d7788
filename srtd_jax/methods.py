"""The methods of the paper's Table 1 and Figure 5 as data: what each conditions the policy on, its encoder
losses, its augmentation, its offline RL learner and network. The training loop reads only these fields."""
from __future__ import annotations

_SRTD = dict(conditioning="z", skill_reg=True, quality_weighted=True, augmentation=None)
_ONE_HOT = dict(conditioning="onehot", augmentation=None)
METHODS = {
    "srtd": _SRTD,
    "srtd_id": dict(_SRTD, augmentation="imaginary"),  # SRTD + imaginary demonstrations (eq. 9)
    "srtd_n": dict(_SRTD, augmentation="noise"),       # SRTD + Gaussian-noise augmentation
    "srtd_q": dict(_SRTD, quality_weighted=False),     # skill regularisation without the quality weight
    "te": dict(_SRTD, skill_reg=False),                # task embedding only (L_TE + prior)
    "td3bc": _ONE_HOT,                                 # one-hot task id instead of z
    "pcgrad": dict(_ONE_HOT, gradient_surgery=True),   # + PCGrad over per-task gradients
    # soft modularization on the one-hot task, trained with CQL as in the paper; per-task temperatures
    # balance the task losses (softmax(-alpha))
    "softmod": dict(_ONE_HOT, network="softmod", learner="cql", loss_balancing=True),
}
LEARNERS = ("td3bc", "cql")
NETWORKS = ("mlp", "softmod")


def resolve(cfg) -> dict:
    """The method's fields with the config's learner / network choices ('auto': the method's own) applied."""
    method = dict(METHODS[cfg.method])
    method["learner"] = method.get("learner", "td3bc") if cfg.rl.learner == "auto" else cfg.rl.learner
    method["network"] = method.get("network", "mlp") if cfg.rl.network == "auto" else cfg.rl.network
    # loss balancing needs per-task temperatures: only CQL has them (TD3+BC's deterministic actor has none)
    method["loss_balancing"] = method.get("loss_balancing", False) and method["learner"] == "cql"
    return method
