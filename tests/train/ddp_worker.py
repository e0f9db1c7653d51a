"""A one-class OMIB fit on fixed tensors, single-process or DDP on CPU; each process saves its state.

Run as ``python ddp_worker.py OUT DEVICES BATCH_SIZE``: Lightning's DDP launcher starts the other
processes by running this file again, so it must be a script, not a pytest function.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from omib_st.config import MIConfig, OMIBConfig, TrainConfig
from omib_st.module import OMIB, OneClass
from omib_st.nn import MLP
from omib_st.train import ModalityDataset, fit, make_loader

N, WARMUP = 480, 0  # no warm-up: the centres and β come from deterministic eval passes


def data(n: int = N, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    latent = torch.randn(n, 2, generator=g)
    return {
        "a": latent @ torch.randn(2, 4, generator=g) + 0.1 * torch.randn(n, 4, generator=g),
        "b": latent @ torch.randn(2, 4, generator=g) + 0.1 * torch.randn(n, 4, generator=g),
    }


def run(out: Path, devices: int, batch_size: int) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as Lightning sets each of the 2 DDP processes on 2 cores
    try:
        _run(out, devices, batch_size)
    finally:
        torch.set_num_threads(threads)


def _run(out: Path, devices: int, batch_size: int) -> None:
    torch.manual_seed(0)
    model = OMIB(
        {m: MLP(4, 16, (32,)) for m in ("a", "b")},
        OneClass(8, heads=["a", "b"]),
        OMIBConfig(latent_dim=8, fused_dim=16),
        reconstruction_dims={"a": 4, "b": 4},
    )
    inputs = data()
    config = TrainConfig(
        warmup_epochs=WARMUP,
        max_epochs=3,
        batch_size=batch_size,
        lr=3e-3,
        patience=0,
        progress_bar=False,
        device="cpu",
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
    )
    loader = make_loader(ModalityDataset(inputs, reconstruction=inputs), batch_size, shuffle=True)
    result = fit(model, loader, config=config, mi=MIConfig(steps=30, batch_size=64))
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    rank = getattr(rank_zero_only, "rank", 0)
    model.eval()
    held_out = data(256, seed=1)
    with torch.no_grad():
        scores = model.task.anomaly_parts(model(held_out), held_out)
    torch.save(
        {
            "state": model.state_dict(),
            "beta": result.bound.beta,
            "scores": scores,
            "epochs": result.epochs,
        },
        out / f"devices{devices}_rank{rank}.pt",
    )


if __name__ == "__main__":
    run(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
