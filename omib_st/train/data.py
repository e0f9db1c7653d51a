"""A map-style dataset over in-memory per-modality tensors, yielding OMIB batches."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler


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


class EpochShuffleSampler(Sampler[int]):
    """A shuffle that depends only on (seed, epoch), so a resumed run sees the same order.

    Lightning calls :meth:`set_epoch` before every training epoch.
    """

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    collate_fn=None,
) -> DataLoader:
    """A DataLoader whose shuffle is a function of (seed, epoch); a last training batch of a single
    sample is dropped (BatchNorm cannot train on it)."""
    sampler = EpochShuffleSampler(len(dataset), seed) if shuffle else None
    drop_last = shuffle and len(dataset) % batch_size == 1
    # The loader's own generator keeps iterator creation from drawing on the global RNG.
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
        drop_last=drop_last, generator=generator, collate_fn=collate_fn,
    )  # fmt: skip
