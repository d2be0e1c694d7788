"""Methods as data: which parts go together, the learner / network choice, and how the encoder loss gets its
settings from the config block and the method."""
import dataclasses
import inspect

import pytest

from configs import default
from srtd_jax.agents import augmentation, srtd
from srtd_jax.agents.methods import METHODS, Method, resolve
from srtd_jax.runtime import encoder_phase


@pytest.mark.parametrize("fields,message", [
    (dict(conditioning="z", augmentation="imagined"), "unknown augmentation 'imagined'"),
    (dict(conditioning="task"), "unknown conditioning 'task'"),
    (dict(conditioning="onehot", augmentation="imaginary"), "imaginary demonstrations need the encoders"),
    (dict(conditioning="onehot", skill_reg=True), "skill regularisation needs the encoders"),
    (dict(conditioning="onehot", gradient_surgery=True, learner="cql"), "PCGrad is implemented for TD3\\+BC only"),
    (dict(conditioning="onehot", loss_balancing=True), "loss balancing needs per-task temperatures"),
    (dict(conditioning="z", gradient_surgery=True, augmentation="noise"), "cannot draw augmented data"),
    (dict(conditioning="z", loss_overrides=("skill_reg_weight", 0.1)), "loss_overrides must be \\(name, value\\)"),
    (dict(conditioning="onehot", loss_overrides=(("mmd_weight", 1.0),)), "needs the encoders"),
])
def test_a_method_that_does_not_fit_together_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        Method(**fields)


def test_resolve_applies_the_learner_and_network_choice():
    assert resolve("softmod") == METHODS["softmod"] and resolve("softmod").loss_balancing
    on_td3bc = resolve("softmod", learner="td3bc")  # no temperatures: loss balancing goes, the network stays
    assert (on_td3bc.learner, on_td3bc.network, on_td3bc.loss_balancing) == ("td3bc", "softmod", False)
    assert resolve("srtd", network="softmod").network == "softmod" and resolve("srtd").encoders
    assert not resolve("td3bc").encoders and resolve("pcgrad").stratified
    with pytest.raises(ValueError, match="unknown method 'srdt'; valid: srtd, "):
        resolve("srdt")
    with pytest.raises(ValueError, match="PCGrad"):
        resolve("pcgrad", learner="cql")


def test_an_unknown_augmentation_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown augmentation kind 'gauss'"):
        augmentation.augmentation_table("gauss", None, None, None, None, over_seeds=None, networks=None, n=2,
                                        size_ratio=0.5, horizon=2, z_noise=0.1, state_std=0.1, action_std=0.1,
                                        gamma=0.99)


def test_encoder_loss_settings_come_from_the_config_block_and_the_method():
    enc = default.get_config().encoder
    srtd_settings = encoder_phase.loss_settings(enc, METHODS["srtd"])
    assert srtd_settings == dict(latent_dim=enc.latent_dim, mmd_weight=enc.mmd_weight, kernel=enc.kernel,
                                 scales=tuple(enc.kernel_scales), weight_decay=enc.weight_decay,
                                 weight_decay_mean=enc.weight_decay_mean, skill_reg_weight=enc.skill_reg_weight,
                                 quality_weighted=True)
    assert encoder_phase.loss_settings(enc, METHODS["te"])["skill_reg_weight"] == 0.0
    assert encoder_phase.loss_settings(enc, METHODS["srtd_q"])["quality_weighted"] is False
    for method in METHODS.values():
        if method.encoders:
            encoder_phase.loss_settings(enc, method)  # every method's settings are complete and known
    lower = dataclasses.replace(METHODS["srtd"], loss_overrides=(("skill_reg_weight", 1e-2),))
    assert encoder_phase.loss_settings(enc, lower)["skill_reg_weight"] == 1e-2
    typo = dataclasses.replace(METHODS["srtd"], loss_overrides=(("skill_reg_wieght", 1e-2),))
    with pytest.raises(ValueError, match="unknown \\['skill_reg_wieght'\\]"):
        encoder_phase.loss_settings(enc, typo)


def test_a_new_loss_keyword_is_threaded_from_its_config_field(monkeypatch):
    """What the README's recipe promises: a keyword on encoder_loss and a field of that name reach the loss."""
    def with_extra(*args, extra_weight: float = 0.0, **kwargs):
        return srtd.encoder_loss(*args, **kwargs)

    base = inspect.signature(srtd.encoder_loss)
    extra = inspect.Parameter("extra_weight", inspect.Parameter.KEYWORD_ONLY, default=0.0)
    with_extra.__signature__ = base.replace(parameters=[*base.parameters.values(), extra])
    monkeypatch.setattr(srtd, "encoder_loss", with_extra)
    enc = default.get_config().encoder
    assert "extra_weight" not in encoder_phase.loss_settings(enc, METHODS["srtd"])  # no field: the default
    enc.extra_weight = 0.25
    assert encoder_phase.loss_settings(enc, METHODS["srtd"])["extra_weight"] == 0.25
