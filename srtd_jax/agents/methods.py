"""The methods of the paper's Table 1 and Figure 5 as data: what each conditions the policy on, its encoder
losses, its augmentation, its offline RL learner and network. The training loop reads only these fields, and every
rule about which parts go together is checked here, once."""
from __future__ import annotations

import dataclasses

CONDITIONINGS = ("z", "onehot")          # the task embedding of the trained encoders | the one-hot task id
AUGMENTATIONS = (None, "imaginary", "noise")
LEARNERS = ("td3bc", "cql")
NETWORKS = ("mlp", "softmod")


@dataclasses.dataclass(frozen=True)
class Method:
    """What a method is built from.

    conditioning: 'z' (the encoder phase runs; the policy sees z_t) | 'onehot' (no encoders).
    skill_reg: L_SR is in the encoder loss; quality_weighted: R~ weights L_SR (False gives SRTD-Q).
    augmentation: None | 'imaginary' (eq. 9, from the trained decoders) | 'noise' (Gaussian copies of the data).
    gradient_surgery: PCGrad over per-task gradients (TD3+BC only).
    learner: 'td3bc' | 'cql'; network: 'mlp' | 'softmod'.
    loss_balancing: per-task temperatures balance the task losses (softmax(-alpha)); only CQL has temperatures.
    loss_overrides: (name, value) pairs that replace keyword arguments of the encoder loss (srtd.encoder_loss),
    e.g. (("skill_reg_weight", 1e-2),), for a method that differs from another only in a loss setting.
    A ValueError names the first field that does not fit."""

    conditioning: str
    skill_reg: bool = False
    quality_weighted: bool = False
    augmentation: str | None = None
    gradient_surgery: bool = False
    learner: str = "td3bc"
    network: str = "mlp"
    loss_balancing: bool = False
    loss_overrides: tuple = ()

    def __post_init__(self):
        for field, valid in (("conditioning", CONDITIONINGS), ("augmentation", AUGMENTATIONS),
                             ("learner", LEARNERS), ("network", NETWORKS)):
            if getattr(self, field) not in valid:
                raise ValueError(f"unknown {field} {getattr(self, field)!r}; valid: "
                                 + ", ".join(str(v) for v in valid))
        if self.conditioning != "z" and (self.skill_reg or self.quality_weighted):
            raise ValueError("skill regularisation needs the encoders (conditioning='z')")
        if self.augmentation == "imaginary" and self.conditioning != "z":
            raise ValueError("imaginary demonstrations need the encoders' decoders (conditioning='z')")
        if self.gradient_surgery and self.learner != "td3bc":
            raise ValueError(f"PCGrad is implemented for TD3+BC only, not learner {self.learner!r}")
        if self.loss_balancing and self.learner != "cql":
            raise ValueError(f"loss balancing needs per-task temperatures: learner 'cql', not {self.learner!r}")
        if not all(isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) for o in self.loss_overrides):
            raise ValueError(f"loss_overrides must be (name, value) pairs, got {self.loss_overrides!r}")
        if self.loss_overrides and self.conditioning != "z":
            raise ValueError("loss_overrides set the encoder loss, which needs the encoders (conditioning='z')")
        if self.stratified and self.augmentation:
            raise ValueError("task-stratified batches (PCGrad, loss balancing) cannot draw augmented data")

    @property
    def encoders(self) -> bool:
        """Whether the encoder phase runs (the policy is conditioned on z)."""
        return self.conditioning == "z"

    @property
    def stratified(self) -> bool:
        """Whether batches carry a leading task axis (per-task losses)."""
        return self.gradient_surgery or self.loss_balancing


_SRTD = Method("z", skill_reg=True, quality_weighted=True)
_ONE_HOT = Method("onehot")
METHODS = {
    "srtd": _SRTD,
    "srtd_id": dataclasses.replace(_SRTD, augmentation="imaginary"),  # SRTD + imaginary demonstrations (eq. 9)
    "srtd_n": dataclasses.replace(_SRTD, augmentation="noise"),       # SRTD + Gaussian-noise augmentation
    "srtd_q": dataclasses.replace(_SRTD, quality_weighted=False),     # skill regularisation without the quality weight
    "te": dataclasses.replace(_SRTD, skill_reg=False),                # task embedding only (L_TE + prior)
    "td3bc": _ONE_HOT,                                                # one-hot task id instead of z
    "pcgrad": dataclasses.replace(_ONE_HOT, gradient_surgery=True),   # + PCGrad over per-task gradients
    # soft modularization on the one-hot task, trained with CQL as in the paper
    "softmod": dataclasses.replace(_ONE_HOT, network="softmod", learner="cql", loss_balancing=True),
}


def resolve(name: str, learner: str = "auto", network: str = "auto") -> Method:
    """The method called `name` with a learner / network other than its own ('auto': its own). A method that
    balances task losses keeps doing so only on CQL. A ValueError names an unknown method or a bad combination."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; valid: {', '.join(METHODS)}")
    method = METHODS[name]
    learner = method.learner if learner == "auto" else learner
    network = method.network if network == "auto" else network
    return dataclasses.replace(method, learner=learner, network=network,
                               loss_balancing=method.loss_balancing and learner == "cql")
