"""One process of a multi-host run on this machine: jax.distributed over localhost, each process with its own
forced CPU devices, then the tiny test config's run.

  python -m tests.multihost_run PORT NUM_PROCESSES PROCESS_ID DEVICES_PER_PROCESS DATA_DIR WORKDIR OVERRIDES_JSON"""
import os
import sys

if __name__ == "__main__":
    port, num_processes, process_id, local_devices = (int(x) for x in sys.argv[1:5])
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={local_devices}"
    os.environ["XLA_FLAGS"] = flags.strip()
    from srtd_jax.core import devices
    devices.initialize_distributed(f"localhost:{port}", num_processes, process_id)
    from tests import tiny_run
    tiny_run.main(*sys.argv[5:8])
