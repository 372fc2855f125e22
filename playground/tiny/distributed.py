"""Data-parallel training across processes (torchrun): which process this is, and the few collectives we need.

`torchrun --nproc_per_node N -m playground train ...` starts N copies of the command with RANK, WORLD_SIZE,
LOCAL_RANK and a rendezvous address in their environment; `init()` joins them into one process group (NCCL on
GPUs, gloo on CPUs). Without torchrun nothing here does anything: one process is rank 0 of a world of 1.

How the work is split: every rank draws the same *global* batch from the same seeded generator and keeps only
its own rows (`Batch.rows`), so N processes see exactly the batches one process would, and a run's curve does
not depend on N (up to float summation order). DistributedDataParallel averages the gradients. Only rank 0
logs, evaluates, samples and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0  # this process, 0 .. size-1
    size: int = 1  # processes in the run
    local_rank: int = 0  # this process on its machine: the GPU it uses

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs, evaluates and saves."""
        return self.rank == 0


def launched() -> bool:
    """True in a process started by torchrun (or any launcher that sets WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: str = "auto") -> World:
    """Join the process group torchrun described (once); a plain process is a world of one."""
    if not launched():
        return World()
    if not dist.is_initialized():
        gpu = device != "cpu" and torch.cuda.is_available()
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if gpu:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if gpu else "gloo")
    return current()


def current() -> World:
    """The world this process is part of (a world of one outside torchrun)."""
    if not dist.is_initialized():
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def mean(value: torch.Tensor, world: World) -> torch.Tensor:
    """The value averaged over all ranks (every rank must call this at the same point)."""
    if world.size == 1:
        return value
    value = value.clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / world.size


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
