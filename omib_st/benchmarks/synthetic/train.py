"""Training on the synthetic data: the OMIB core and the two baselines, each keeping the weights
of its best validation epoch (:mod:`omib_st.train.selection`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from omib_st.benchmarks.synthetic.config import SyntheticConfig

ESTIMATES = (
    "beta",
    "m_upper_safe",
    "m_upper_r1",
    "m_lower",
    "H_v1",
    "H_v2",
    "I_v1_v2",
    "H_joint",
    "r_v2",
    "kl_v1",
    "kl_v2",
)
"""The OMIB estimates of a record (NaN for the baselines)."""


def mlp_encoder(in_dim: int, cfg: SyntheticConfig):
    """The encoder of one modality (or of the concatenated inputs): an MLP."""
    from omib_st.nn import MLP

    return MLP(in_dim, cfg.encoder_dim, (cfg.encoder_hidden,), dropout=cfg.encoder_dropout)


def train_omib(data: dict, cfg: SyntheticConfig) -> tuple[Callable, dict[str, Any]]:
    """The OMIB core through :func:`omib_st.train.fit`, with best-validation weight selection."""
    from omib_st.module import OMIB, Classification
    from omib_st.train import BestState, ModalityDataset, fit, make_loader

    encoders = {m: mlp_encoder(cfg.input_dim, cfg) for m in ("v1", "v2")}
    model = OMIB(encoders, Classification(2), cfg.omib, head_hidden=cfg.head_hidden)
    train = ModalityDataset(data["train"].inputs, data["train"].target)
    val = ModalityDataset(data["val"].inputs, data["val"].target)
    loaders = (
        make_loader(train, cfg.train.batch_size, shuffle=True, seed=cfg.train.seed),
        make_loader(val, 4096),
    )
    best = BestState()
    result = fit(model, *loaders, config=cfg.train, mi=cfg.mi, callbacks=[best])
    best.restore(model)
    summary = _estimates(model, result.bound, cfg)
    last = result.history[-1] if result.history else {}
    summary.update(
        {
            "epochs": result.epochs,
            "best_epoch": best.epoch if best.epoch is not None else -1,
            "kl_v1": last.get("train/kl_v1", math.nan),
            "kl_v2": last.get("train/kl_v2", math.nan),
        }
    )
    return lambda split: model.predict(data[split].inputs), summary


def _estimates(model: Any, bound: Any, cfg: SyntheticConfig) -> dict[str, float]:
    """β, the bounds and the entropy estimates of a trained OMIB, and its final r_2."""
    nan = math.nan
    return {
        "beta": float(model.beta) if bound is not None else nan,
        "m_upper_safe": bound.m_upper_safe if bound else nan,
        "m_upper_r1": bound.m_upper if bound else nan,
        "m_lower": bound.m_lower if bound else nan,
        "H_v1": bound.entropies["v1"] if bound else nan,
        "H_v2": bound.entropies["v2"] if bound else nan,
        "I_v1_v2": bound.mutual_information if bound else nan,
        "H_joint": bound.joint_entropy if bound else nan,
        "r_v2": float(model.weights.r[1]) if cfg.omib.omf else nan,
    }


def train_baseline(
    method: str, data: dict, cfg: SyntheticConfig
) -> tuple[Callable, dict[str, Any]]:
    """``optimal`` (MLP head on [a_0, a_1, a_2]) or ``concat_mlp`` (encoder + head on [v_1 ‖ v_2]).

    Same optimiser, epoch budget (warm-up + main), patience and selection rule as OMIB.
    """
    import torch
    import torch.nn.functional as F

    from omib_st.train import BestWeights

    def features(split: str) -> torch.Tensor:
        if method == "optimal":
            return data[split].optimal
        return torch.cat([data[split].inputs["v1"], data[split].inputs["v2"]], 1)

    x = {s: features(s) for s in ("train", "val")}
    y = {s: data[s].target for s in ("train", "val")}
    net, tc = _baseline_net(method, x["train"].shape[1], cfg), cfg.train
    optimiser = torch.optim.AdamW(net.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    generator = torch.Generator().manual_seed(tc.seed)
    best, epoch = BestWeights(tc.patience), -1
    for epoch in range(tc.warmup_epochs + tc.max_epochs):
        net.train()
        for idx in torch.randperm(len(y["train"]), generator=generator).split(tc.batch_size):
            loss = F.cross_entropy(net(x["train"][idx]), y["train"][idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            val_loss = float(F.cross_entropy(net(x["val"]), y["val"]))
        if best.update(net, val_loss, epoch):
            break
    best.restore(net)
    net.eval()
    summary = {key: math.nan for key in ESTIMATES}
    summary.update(
        {"epochs": epoch + 1, "best_epoch": best.epoch if best.epoch is not None else -1}
    )

    @torch.no_grad()
    def predict(split: str) -> torch.Tensor:
        return net(features(split)).argmax(-1)

    return predict, summary


def _baseline_net(method: str, in_dim: int, cfg: SyntheticConfig):
    """The network of a baseline: an MLP head (``optimal``), or encoder + GELU + head."""
    import torch

    from omib_st.nn import MLP

    head = MLP(cfg.encoder_dim, 2, (cfg.head_hidden,))
    if method == "optimal":
        return MLP(in_dim, 2, (cfg.head_hidden,))
    return torch.nn.Sequential(mlp_encoder(in_dim, cfg), torch.nn.GELU(), head)
