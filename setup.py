"""srtd_jax: Skill-Regularized Task Decomposition for multi-task offline RL, in JAX/Flax."""
from setuptools import find_packages, setup

setup(
    name="srtd_jax",
    version="0.1.0",
    description="Skill-Regularized Task Decomposition (SRTD, SRTD+ID) for multi-task offline RL in JAX/Flax",
    python_requires=">=3.10",
    packages=find_packages(include=["srtd_jax", "srtd_jax.*", "experiments", "configs"]),
    install_requires=[
        "jax>=0.4.30",
        "flax>=0.8",
        "optax>=0.2",
        "chex>=0.1.86",
        "numpy>=1.24",
        "scipy>=1.10",
        "metaworld>=3.0",
        "gymnasium>=1.0",
        "ml-collections>=0.1.1",
        "orbax-checkpoint>=0.5",
        "absl-py>=1.4",
        "tensorboardX>=2.6",
        "tensorboard>=2.14",
        "matplotlib>=3.7",
        "rliable>=1.0",
        "pandas<3",  # rliable's arch dependency (7.x) fails to import under pandas 3
    ],
    extras_require={"minari": ["minari[hdf5]>=0.5"], "wandb": ["wandb>=0.16"],
                    "test": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6", "minari[hdf5]>=0.5", "wandb>=0.16"]},
)
