"""bfloat16 matrix products (encoder.matmul_dtype, rl.matmul_dtype): float32 parameters and outputs, values within
bfloat16's precision of float32's, and a refused unknown dtype."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.core.networks import init_actor_critic, make_actor_critic, make_encoder_networks
from srtd_jax.runtime.config_check import ConfigError, check_config
from tests.tiny import tiny_config

SOFTMOD = dict(num_layers=2, num_modules=2, hidden=16, representation=16)


@pytest.mark.parametrize("network", ["mlp", "softmod"])
def test_bfloat16_products_keep_float32_parameters_and_outputs(network):
    x = jax.random.normal(jax.random.PRNGKey(1), (64, 10))
    out = {}
    for dtype in ("float32", "bfloat16"):
        nets = make_actor_critic(4, (64, 64), (64, 64), network=network, cond_dim=3, softmod=SOFTMOD, dtype=dtype)
        # jitted: op by op, each primitive would compile a program of its own
        actor_params, critic_params = jax.jit(lambda k: init_actor_critic(k, nets, 10, 4))(jax.random.PRNGKey(0))
        assert {leaf.dtype for leaf in jax.tree.leaves((actor_params, critic_params))} == {np.dtype("float32")}

        @jax.jit
        def forward(actor_params, critic_params):
            action = nets.actor.apply(actor_params, x)
            return (action, *nets.critic.apply(critic_params, x, action))
        out[dtype] = forward(actor_params, critic_params)
        assert all(y.dtype == jnp.float32 for y in out[dtype])
    for a, b in zip(out["float32"], out["bfloat16"]):
        # bfloat16 keeps 8 bits of mantissa (~0.4% per rounding); over 3-5 layers and SoftMod's routing a few %
        assert float(jnp.abs(a - b).max()) <= 0.05 * float(jnp.abs(a).max())
        assert not np.array_equal(a, b)  # the products did run in bfloat16


def test_bfloat16_encoders_and_the_refused_dtype():
    nets = make_encoder_networks(5, 2, 3, (16,), (16,), dtype="bfloat16")
    params = nets.task_decoder.init(jax.random.PRNGKey(0), jnp.zeros((1, 10)))
    assert nets.task_decoder.apply(params, jnp.ones((2, 10))).dtype == jnp.float32
    cfg = tiny_config("unused")
    cfg.rl.matmul_dtype = "float16"
    with pytest.raises(ConfigError, match="config field rl.matmul_dtype='float16' is not one of float32, bfloat16"):
        check_config(cfg)
