"""FLOP counts: XLA's cost analysis of a compiled function, and hand counts of the matrix products of an update
(the cross-check of experiments/bench_throughput.py)."""
from __future__ import annotations

import jax


def mlp_macs(sizes) -> int:
    """Multiply-accumulates of one forward pass of a dense net with layer sizes (in, h1, .., out), per row."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def td3bc_flops_by_hand(obs: int, act: int, hidden, batch: int, policy_delay: int) -> float:
    """FLOPs (2 per multiply-accumulate, matrix products only) of one TD3+BC update averaged over the policy
    delay: the critic step every update, the actor step every `policy_delay`-th.

    Critic step: target actor forward on s', twin target critic forward, twin critic forward and backward
    (weight gradients everywhere, input gradients for every layer but the first).
    Actor step: actor forward and backward (no input gradient of the first layer), Q1 forward on (s, pi(s)) and
    its backward to the action input (no weight gradients)."""
    actor = (obs, *hidden, act)
    critic = (obs + act, *hidden, 1)
    fa, fc = mlp_macs(actor), mlp_macs(critic)
    critic_step = fa + 2 * fc + 2 * (fc + fc + (fc - critic[0] * critic[1]))
    actor_step = fa + fa + (fa - actor[0] * actor[1]) + fc + fc
    return 2.0 * batch * (critic_step + actor_step / policy_delay)


def compiled_flops(fn, *args) -> float:
    """FLOPs of `jax.jit(fn)(*args)` by XLA's cost analysis of the compiled program."""
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost["flops"])
