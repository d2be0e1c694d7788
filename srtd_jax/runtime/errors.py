"""Which exceptions report a problem with the user's input or workdir rather than a bug: the commands print these
as one line naming the problem, and keep the traceback for everything else."""


def user_errors() -> tuple:
    """The exception types of bad input or a busy workdir (README, "Bad input"); imported here, when asked, so
    that importing this module loads no JAX."""
    from srtd_jax.core.devices import DeviceError
    from srtd_jax.data.dataset import DatasetError
    from srtd_jax.runtime.checkpointing import ResumeError
    from srtd_jax.runtime.config_check import ConfigError
    from srtd_jax.runtime.loop import NonFiniteError
    from srtd_jax.runtime.workdir import WorkdirInUseError
    return ConfigError, DatasetError, DeviceError, NonFiniteError, ResumeError, WorkdirInUseError
