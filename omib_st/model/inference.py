"""The one inference loop of the detector: a trained OMIB over every spot of a dataset."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor

from omib_st.train import resolve_precision

Read = Callable[[Any, dict[str, Any]], dict[str, Tensor]]
"""What to keep of each batch: ``(module output, batch) → {name: [B, ...] tensor}``."""


@torch.no_grad()
def predict(
    module: torch.nn.Module,
    dataset: Any,
    loader: Callable[..., Any],
    device: torch.device,
    precision: str,
    read: Read,
) -> dict[str, np.ndarray]:
    """``read`` of every batch of ``dataset`` (in eval mode, under the training precision),
    concatenated and in item order. Batches follow ``dataset.spatial_order()`` (compact tiles of
    the section, so each k-hop subgraph stays small); ``loader(dataset, order=...)`` makes them."""
    module = module.to(device).eval()
    order = dataset.spatial_order()
    precision = resolve_precision(precision, device.type)
    half = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
    kept: dict[str, list[np.ndarray]] = {}
    for batch in loader(dataset, order=order):
        batch = to_device(batch, device)
        with torch.autocast(device.type, dtype=half, enabled=half is not None):
            output = module(batch["inputs"])
        for name, value in read(output, batch).items():
            kept.setdefault(name, []).append(value.float().cpu().numpy())
    return {name: _unpermute(np.concatenate(values), order) for name, values in kept.items()}


XI = "_xi"
"""Key of ξ among the evidence parts while they are collected."""


def evidence(detector: Any, dataset: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-modality negative log-likelihood under the fused head, and ξ, for every spot of
    ``dataset`` (in item order), with the fitted ``detector``'s module."""
    task = detector.module.task

    def read(output, batch):
        return {**task.evidence(output.prediction, batch["target"]), XI: output.xi}

    loader = partial(detector._loader, shuffle=False)
    parts = predict(
        detector.module, dataset, loader, detector._device(), detector.config.train.precision, read
    )
    return parts, parts.pop(XI)


def to_device(batch: Any, device: torch.device) -> Any:
    """A batch (nested dicts of tensors or PyG data) moved to ``device``."""
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch.to(device, non_blocking=True) if hasattr(batch, "to") else batch


def _unpermute(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Rows computed in the order ``order`` put back in item order."""
    out = np.empty_like(values)
    out[order] = values
    return out
