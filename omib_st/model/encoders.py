"""The detector's encoders by view name, and the OMIB module built from them.

A new encoder is an :mod:`omib_st.nn` module plus one entry in :data:`ENCODERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from omib_st.config import DetectorConfig
from omib_st.model.image_target import frozen_backbone
from omib_st.model.supervised import SUPERVISED
from omib_st.module import OMIB, Classification, Likelihood
from omib_st.nn import MLP, GraphEncoder, ImageEncoder


@dataclass(frozen=True)
class EncoderInputs:
    """What a builder needs to know: the settings, the expression input width, the device
    (asked for only by builders that need it) and whether to load starting weights."""

    config: DetectorConfig
    n_inputs: int
    device: Callable[[], torch.device]
    initial_weights: bool = True


def _expression(e: EncoderInputs) -> torch.nn.Module:
    x = e.config.expression
    return GraphEncoder(
        e.n_inputs,
        x.out_dim,
        hidden_dim=x.hidden_dim,
        n_layers=x.n_layers,
        layer=x.layer,
        dropout=x.dropout,
    )


def _spot(e: EncoderInputs) -> torch.nn.Module:
    x = e.config.expression
    return MLP(e.n_inputs, x.out_dim, (x.hidden_dim,), dropout=x.dropout)


def _image(e: EncoderInputs) -> torch.nn.Module:
    image = e.config.image
    return ImageEncoder(
        image.backbone,
        image.out_dim,
        freeze=frozen_backbone(image.freeze, e.device()),
        pretrained=image.pretrained and e.initial_weights,
        weights=image.weights if e.initial_weights else None,
        model_kwargs=image.model_kwargs,
        mean=image.mean,
        std=image.std,
    )


def _thumbnail(e: EncoderInputs) -> torch.nn.Module:
    x, side = e.config.expression, e.config.image.thumbnail
    return MLP(3 * side * side, e.config.image.out_dim, (x.hidden_dim,), dropout=x.dropout)


ENCODERS: dict[str, Callable[[EncoderInputs], torch.nn.Module]] = {
    "expression": _expression,
    "spot": _spot,
    "image": _image,
    "thumbnail": _thumbnail,
}
"""View name → builder: ``expression`` a GNN over the spot's neighbourhood, ``spot`` an MLP on
its own profile, ``image`` a timm CNN over its H&E patch, ``thumbnail`` an MLP on the patch's
colour thumbnail."""


def build_module(detector: Any, *, initial_weights: bool = True, seed: int | None = None) -> OMIB:
    """The untrained module of ``detector`` (its views, genes, image target and mode), with
    weights seeded by ``seed`` (default ``train.seed``); ``initial_weights=False`` skips the
    backbone's starting weights (``image.pretrained`` / ``image.weights``), which a loaded model
    replaces anyway."""
    c = detector.config
    inputs = EncoderInputs(c, detector.projection.n_components, detector._device, initial_weights)
    parts = {}
    if detector.use_expression:
        parts["expression"] = ("nb", len(detector.genes))
    if detector.use_image:
        parts["image"] = ("gaussian", detector.image_target.width)
    # supervised: the weights are placeholders, set by fit() or loaded with the state dict
    supervised = detector.mode == SUPERVISED
    task = Classification(2, torch.ones(2)) if supervised else Likelihood(parts)
    with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's RNG is untouched
        torch.manual_seed(c.train.seed if seed is None else seed)
        encoders = {view: ENCODERS[view](inputs) for view in detector.modalities}
        return OMIB(encoders, task, c.omib)
