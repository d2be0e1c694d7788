"""Seeds spread over devices and hosts: a one-axis Mesh ('seed'), placement of host trees onto it, the
shard_map wrapper for seed-stacked chunk functions, host gathers, and jax.distributed start-up.

Every seed's computation is independent, so a seed-sharded chunk needs no communication between devices;
each device runs the seed-axis strategy (vmap or lax.map) on its own seeds."""
from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

SEED_AXIS = "seed"


class DeviceError(ValueError):
    """A device or host layout that cannot run the configured seeds; the message says why."""


def seed_mesh(num_seeds: int, max_devices: int = 0) -> Mesh:
    """A Mesh over the largest number of devices (at most `max_devices`, 0: all) that divides num_seeds.

    On several hosts every device must hold the same number of seeds, so num_seeds must be a multiple of the
    global device count (a mesh that left a host out would leave that host's process with nothing to run)."""
    devices = jax.devices()
    if max_devices < 0:
        raise DeviceError(f"config field devices must be >= 0, got {max_devices}")
    if jax.process_count() > 1:
        if max_devices and max_devices != len(devices):
            raise DeviceError(f"config field devices={max_devices}: a multi-host run uses all {len(devices)} devices")
        if num_seeds % len(devices):
            raise DeviceError(f"num_seeds={num_seeds} is not a multiple of the {len(devices)} devices of this "
                              f"{jax.process_count()}-host run")
        return Mesh(np.array(devices), (SEED_AXIS,))
    usable = devices[:max_devices] if max_devices else devices
    count = max(k for k in range(1, len(usable) + 1) if num_seeds % k == 0)
    return Mesh(np.array(usable[:count]), (SEED_AXIS,))


def seed_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(SEED_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def put(tree, sharding: NamedSharding):
    """Places a tree of host or device arrays with `sharding`. Every process must hold the same full values
    (true here: data, initial states and keys are computed deterministically on every host)."""
    def one(x):
        if isinstance(x, jax.Array) and x.sharding == sharding:
            return x
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
    return jax.tree.map(one, tree)


def shard_seeds(fn, mesh: Mesh, seeded: tuple):
    """Wraps a seed-stacked `fn(*args)` so each device runs its own seeds: the args flagged in `seeded` are split
    over the mesh's seed axis, the others replicated; every output carries the seed axis. One device: fn."""
    if mesh.size == 1:
        return fn
    in_specs = tuple(P(SEED_AXIS) if s else P() for s in seeded)
    # check_vma off: the functions have no collectives, and their scan carries start from unsharded constants
    return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=P(SEED_AXIS), check_vma=False)


def to_host(tree):
    """Device tree -> numpy tree, gathering seed shards held by other hosts."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.tree.map(np.asarray, tree)


def agreed(flag: bool) -> bool:
    """`flag` as process 0 has it, on every process: a decision that every host of a run must take alike (a
    checkpoint due by the clock, a stop)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        return bool(multihost_utils.broadcast_one_to_all(np.bool_(flag)))
    return flag


def describe(mesh: Mesh) -> str:
    """What a run's seeds ran on, e.g. 'cpu (cpu) x1' or 'gpu (NVIDIA H200) x1': kept in the summary because
    the same config gives the same numbers only on the same kind of machine."""
    d = mesh.devices.flat[0]
    return f"{d.platform} ({d.device_kind}) x{mesh.size}"


def is_primary() -> bool:
    """Whether this process writes the run's files (orbax coordinates its own writes across hosts)."""
    return jax.process_index() == 0


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None) -> bool:
    """Starts jax.distributed when a multi-host run is asked for, by arguments or by the environment variables
    SRTD_COORDINATOR_ADDRESS, SRTD_NUM_PROCESSES, SRTD_PROCESS_ID. With none of them set, and no cluster that
    JAX detects by itself (SRTD_DISTRIBUTED=auto: SLURM, TPU pods, ...), it does nothing.
    Must run before any other JAX call. Returns whether jax.distributed was initialised."""
    env = os.environ
    coordinator_address = coordinator_address or env.get("SRTD_COORDINATOR_ADDRESS")
    if num_processes is None and env.get("SRTD_NUM_PROCESSES"):
        num_processes = int(env["SRTD_NUM_PROCESSES"])
    if process_id is None and env.get("SRTD_PROCESS_ID"):
        process_id = int(env["SRTD_PROCESS_ID"])
    if coordinator_address is None and num_processes is None and process_id is None:
        if env.get("SRTD_DISTRIBUTED") == "auto":
            jax.distributed.initialize()
            return True
        return False
    missing = [name for name, v in (("coordinator_address", coordinator_address), ("num_processes", num_processes),
                                    ("process_id", process_id)) if v is None]
    if missing:
        raise DeviceError(f"a multi-host run needs coordinator_address, num_processes and process_id; missing "
                          f"{', '.join(missing)} (flags --{' --'.join(missing)} or SRTD_* environment variables)")
    if not 0 <= process_id < num_processes:
        raise DeviceError(f"process_id={process_id} is not in [0, num_processes={num_processes})")
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id)
    return True
