"""A map-style dataset over in-memory per-modality tensors, yielding OMIB batches."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler


class ModalityDataset(Dataset):
    """Sample i is ``{"inputs": {m: x_m[i]}, "target": y[i]?, "reconstruction": {m: r_m[i]}?}``."""

    def __init__(
        self,
        inputs: dict[str, Tensor],
        target: Tensor | None = None,
        reconstruction: dict[str, Tensor] | None = None,
    ):
        sizes = {m: len(x) for m, x in inputs.items()}
        if target is not None:
            sizes["target"] = len(target)
        sizes.update({f"reconstruction:{m}": len(r) for m, r in (reconstruction or {}).items()})
        if len(set(sizes.values())) != 1:
            raise ValueError(f"all tensors need the same number of samples, got {sizes}")
        self.inputs, self.target, self.reconstruction = inputs, target, reconstruction
        self.n = next(iter(sizes.values()))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {"inputs": {m: x[i] for m, x in self.inputs.items()}}
        if self.target is not None:
            item["target"] = self.target[i]
        if self.reconstruction is not None:
            item["reconstruction"] = {m: r[i] for m, r in self.reconstruction.items()}
        return item


class EpochShuffleSampler(DistributedSampler):
    """A shuffle that depends only on (seed, epoch), so a resumed run sees the same order.

    Lightning calls :meth:`set_epoch` before every training epoch. Under DDP (a process group
    is initialised when iteration starts) process r takes items ``r, r + W, r + 2W, …`` of the
    same shuffle, padded by repeating its first items to a multiple of the world size W: the
    processes' batches of ``B / W`` together are exactly the single-process batches of ``B``.
    Being a ``DistributedSampler``, Lightning leaves it in place instead of wrapping it in a
    second shuffle. With ``batch_size``, a last batch of a single sample (per process) is
    dropped (BatchNorm cannot train on it).
    """

    def __init__(self, n: int, seed: int = 0, batch_size: int | None = None):
        # DistributedSampler.__init__ is not called: the process group is read when iterating.
        self.n, self.seed, self.epoch, self.batch_size = n, seed, 0, batch_size

    @property
    def num_replicas(self) -> int:
        return _world()[0]

    @property
    def rank(self) -> int:
        return _world()[1]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        world = self.num_replicas
        local = -(-self.n // world)
        return local - int(self._drop_single(local))

    def _drop_single(self, local: int) -> bool:
        return bool(self.batch_size) and local > 1 and local % self.batch_size == 1

    def __iter__(self):
        world, rank = _world()
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator)
        if world > 1:
            total = -(-self.n // world) * world
            order = order.repeat(-(-total // self.n))[:total][rank::world]
        if self._drop_single(len(order)):
            order = order[:-1]
        return iter(order.tolist())


def _world() -> tuple[int, int]:
    """(world size, rank) of the initialised process group, else (1, 0)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    collate_fn=None,
    order=None,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader whose shuffle is a function of (seed, epoch); a last training batch of a single
    sample is dropped (BatchNorm cannot train on it). Without shuffling, ``order`` (a sequence of
    item indices) sets the order items are visited in; ``pin_memory`` speeds host → GPU copies."""
    if shuffle and order is not None:
        raise ValueError("give either shuffle=True or an order, not both")
    sampler = EpochShuffleSampler(len(dataset), seed, batch_size) if shuffle else order
    # The loader's own generator keeps iterator creation from drawing on the global RNG.
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        generator=generator,
        collate_fn=collate_fn,
        pin_memory=pin_memory,
    )
