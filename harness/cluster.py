"""A local Ray cluster for the tests and benchmarks: this machine only, started in-process."""

from __future__ import annotations

import os

from harness import ROOT


def start_local_ray(num_cpus: int = 2, store_mb: int = 300) -> str:
    """ray.init a cluster of `num_cpus` CPUs here; returns its address for other processes
    (MNIST_STUDIO_RAY_ADDRESS). Its workers find this project on their PYTHONPATH. Token
    authentication is off: nothing but this machine reaches it, for the test's duration."""
    import ray

    os.environ["RAY_AUTH_MODE"] = "disabled"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    context = ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level="WARNING",
                       object_store_memory=store_mb * 2**20, log_to_driver=False,
                       runtime_env={"env_vars": {"PYTHONPATH": path}})  # fmt: skip
    return context.address_info["address"]
