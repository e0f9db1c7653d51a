"""A map-style dataset over in-memory per-modality tensors, yielding OMIB batches."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset


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


def make_loader(
    dataset: Dataset, batch_size: int, *, shuffle: bool = False, seed: int = 0, num_workers: int = 0
) -> DataLoader:
    """A DataLoader with a seeded shuffle; training loaders drop a last batch of size 1 (BatchNorm)."""
    generator = torch.Generator().manual_seed(seed)
    drop_last = shuffle and len(dataset) % batch_size == 1
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
        num_workers=num_workers, drop_last=drop_last,
    )  # fmt: skip
