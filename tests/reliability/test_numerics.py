"""Numerical safety: degenerate inputs give finite losses and scores; divergence is a clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import yaml
from _reliability import assert_one_error_line, run_cli, small_section
from torch import nn

import omib_st as om
from omib_st.config import MIConfig, OMIBConfig, TrainConfig, replace, to_dict
from omib_st.errors import OmibError
from omib_st.module import MINE, OMIB, Classification, DynamicWeights, OneClass, estimate_beta_bound
from omib_st.nn import MLP
from omib_st.train import ModalityDataset, fit, make_loader

FAST_MI = MIConfig(steps=20, batch_size=64)


def _paired(n=256):
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g)
    return {"a": a, "b": b}, (2 * (a[:, 0] > 0) + (b[:, 0] > 0)).long()


def _classifier():
    torch.manual_seed(0)
    encoders = {m: MLP(4, 16, (32,)) for m in ("a", "b")}
    return OMIB(encoders, Classification(4), OMIBConfig(latent_dim=8, fused_dim=16))


def test_divergence_stops_with_the_epoch_and_a_fix():
    """A learning rate far too high makes the loss NaN: training stops with one clear line."""
    inputs, target = _paired()
    config = TrainConfig(warmup_epochs=1, max_epochs=4, batch_size=64, patience=0, lr=1e4,
                         progress_bar=False)  # fmt: skip
    loader = make_loader(ModalityDataset(inputs, target), 64, shuffle=True)
    with pytest.raises(
        OmibError, match=r"training diverged at epoch 1 \(loss nan\); lower train\.lr"
    ):
        fit(_classifier(), loader, config=config, mi=FAST_MI)


def test_divergence_through_the_command_line(tiny_config, tmp_path, capsys):
    reference = tmp_path / "ref.h5ad"
    om.io.write_h5ad(small_section(seed=1, lesions=()), reference)
    config = tmp_path / "cfg.yaml"
    config.write_text(yaml.safe_dump(to_dict(replace(tiny_config, **{"train.lr": 1e6}))))
    code, err = run_cli(["fit", reference, "--out", tmp_path / "m", "--config", config], capsys)
    assert code == 2
    assert_one_error_line(err, "fit", r"training diverged at epoch \d+ \(")
    assert not (tmp_path / "m").exists()


def test_degenerate_section_gives_finite_scores(tiny_config):
    """A constant gene, a spot with no counts and a black H&E image: no NaN anywhere."""
    reference = small_section(seed=1, lesions=())
    sample = small_section(seed=0)
    for adata in (reference, sample):
        counts = adata.X.toarray()
        counts[:, 0] = 5  # constant gene
        counts[3] = 0  # an empty spot
        adata.X = counts
        images = adata.uns["spatial"]["synthetic"]["images"]
        for res in images:
            images[res] = np.zeros_like(images[res])  # black image
    detector = om.model.OmibDetector(tiny_config).fit(reference)  # would raise on a NaN loss
    result = detector.score(sample)
    assert np.isfinite(result.scores).all() and np.isfinite(result.xi).all()
    assert all(np.isfinite(v) for v in detector.training["r"].values())
    assert 0 < detector.training["bound"]["beta"] < math.inf
    assert all(np.isfinite(v).all() and v[-1] > 0 for v in detector.reference_stats.values())


@pytest.mark.parametrize(
    "divergences",
    [
        torch.zeros(2, 8),  # no task information anywhere: log(0 / 0)
        torch.tensor([[0.0] * 8, [1.0] * 8]),  # reference modality at zero: division by zero
        torch.tensor([[1.0] * 8, [0.0] * 8]),  # log of zero
        torch.tensor([[1.0] * 8, [float("inf")] * 8]),
        torch.tensor([[float("nan")] * 8, [1.0] * 8]),
    ],
    ids=["all zero", "reference zero", "other zero", "infinite", "NaN"],
)
def test_dynamic_weights_stay_finite_and_in_range(divergences):
    weights = DynamicWeights(2, momentum=0.5)
    for _ in range(3):
        r = weights.update(divergences)
        assert torch.isfinite(r).all() and r[0] == 1.0
        assert weights.r_min <= float(r[1]) <= weights.r_max


@pytest.mark.parametrize(
    "a, b",
    [
        (torch.zeros(64, 3), torch.zeros(64, 3)),  # constant: zero variance
        (torch.ones(64, 3) * 1e30, torch.randn(64, 2)),  # huge and constant
        (torch.randn(64, 3) * 1e20, torch.randn(64, 3) * 1e-20),  # extreme scales
        (torch.randn(4, 3), torch.randn(4, 3)),  # the fewest samples allowed
    ],
    ids=["constant", "huge", "extreme scales", "four samples"],
)
def test_mine_is_finite_and_non_negative_on_degenerate_samples(a, b):
    estimate = MINE(steps=30, batch_size=32, seed=0)(a, b)
    assert math.isfinite(estimate) and estimate >= 0


def test_mine_refuses_non_finite_samples_rather_than_reporting_zero():
    a = torch.randn(64, 3)
    with pytest.raises(ValueError, match="finite"):
        MINE(steps=5)(a, a.clone().index_fill_(0, torch.tensor([3]), float("nan")))


def test_beta_bound_of_uninformative_representations_is_infinite_not_a_crash():
    z = {"a": torch.zeros(64, 4), "b": torch.zeros(64, 4)}
    bound = estimate_beta_bound(z, MINE(steps=20, batch_size=32))
    assert bound.joint_entropy < 1e-4 and bound.m_upper_safe == math.inf


class _Constant(nn.Module):
    """An encoder whose output carries no information about its input."""

    out_dim = 8

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.zeros(x.shape[0], self.out_dim) + 0 * self.weight


def test_uninformative_warmup_is_a_clear_error_not_nan():
    """Ĥ = 0 would make β = 1/0: the run stops with the reason and a fix."""
    inputs, _ = _paired()
    model = OMIB({"a": _Constant(), "b": _Constant()}, OneClass(8, heads=["a", "b"]),
                 OMIBConfig(latent_dim=4, fused_dim=8))  # fmt: skip
    config = TrainConfig(warmup_epochs=1, max_epochs=2, batch_size=64, patience=0,
                         progress_bar=False)  # fmt: skip
    loader = make_loader(ModalityDataset(inputs), 64, shuffle=True)
    with pytest.raises(OmibError, match=r"the β bound is undefined .*; train longer"):
        fit(model, loader, config=config, mi=FAST_MI)


def test_thresholds_and_standardisation_of_constant_scores_are_finite():
    from omib_st.scoring import combine, mixture_threshold, quantile_threshold, robust_stats

    constant = {"reconstruction": np.full(50, 2.0)}
    stats = robust_stats(constant)
    assert stats["reconstruction"][-1] > 0  # the spread
    z = combine(constant, stats)
    assert np.isfinite(z).all()
    assert np.isfinite(quantile_threshold(z))
    threshold = mixture_threshold(np.zeros(50))
    assert not math.isnan(threshold)
