"""The bare docker SDK, handed out from the one package allowed to import it.

Only the benchmarks use it: they measure the portal against the same work done
with raw SDK calls. Portal code goes through :func:`containers.drivers.engine_for`.
"""

import docker

#: The docker module itself, for raw baselines.
docker_sdk = docker

__all__ = ["docker_sdk"]
