"""``omib_st.tl.detect``: anomaly scores for every spot, written into the AnnData."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from anndata import AnnData

from omib_st import __version__
from omib_st.config import DetectorConfig, to_dict
from omib_st.errors import OmibError


def detect(
    adata: AnnData,
    *,
    reference: AnnData | Sequence[AnnData] | None = None,
    model: Any = None,
    normal_key: str | None = None,
    normal_values: Sequence[Any] | None = None,
    label_key: str | None = None,
    positive: Sequence[Any] | None = None,
    ignore: Sequence[Any] | None = None,
    config: DetectorConfig | None = None,
    use_image: bool | None = None,
    layer: str | None = None,
    library_id: str | None = None,
    key_added: str = "omib",
    copy: bool = False,
) -> AnnData | None:
    """Score every spot of ``adata`` for anomalous tissue (expression + H&E through OMIB).

    The model comes from, in this order: ``model`` (an :class:`~omib_st.model.OmibDetector` or
    the folder of a saved one); ``reference`` (normal sections: one-class training on them);
    ``normal_key``/``normal_values`` (known-normal spots of ``adata`` itself); otherwise the
    self-referenced mode trains on ``adata`` itself, drops the ``scoring.self_trim`` highest
    scoring spots and trains again — the weakest mode, and it warns. Supervised mode
    (:mod:`omib_st.model.supervised`): with ``label_key`` and ``positive`` it trains OMIB's
    classification task on the labelled spots of the ``reference`` sections, or else of
    ``adata``: ``obs[label_key]`` in ``positive`` = anomalous, in ``ignore`` (or missing) = left
    out of training, any other label = normal (not with ``normal_key`` or ``model``).

    ``adata`` has the Visium layout: raw counts, ``obsm["spatial"]`` and, for the image
    modality, ``uns["spatial"][library_id]`` with images and scale factors. ``config``
    (:class:`~omib_st.config.DetectorConfig`) is for training (ignored with ``model``);
    ``use_image`` defaults to whether the reference (or sample) has an image.

    Writes into ``adata``, or into a copy it returns with ``copy=True`` (prefix ``key_added``):

    - ``obs[f"{key_added}_score"]``: float, higher = more anomalous (supervised: the probability
      of the positive class); ``obs[f"{key_added}_anomaly"]``: bool, from the label-free
      threshold (supervised: the ``scoring.supervised_threshold`` rule's cut of the
      probability); ``obsm[f"X_{key_added}"]``: the fused ξ (of the first module of a
      supervised ensemble);
    - ``uns[key_added]``, plain types: ``mode`` (``"one_class"`` or ``"supervised"``),
      ``source`` (``"model"``, ``"reference"``, ``"normal_key"``, ``"label_key"`` or
      ``"self-referenced"``), resolved params, version, modalities, β, M_u, Ĥ/Î estimates, r per
      modality, threshold, the reference statistics of the score, the training spots, epochs,
      seconds and device, ``genes_missing``, ``image_used`` and, with the image, how it was read
      (``image_resolution``, ``image_stain``; one-class: ``image_backbone``, ``image_target``) and,
      with ``preprocess.thin_quantile``, ``thin_to`` (the UMIs deeper spots were thinned to);
      supervised: ``members`` (the modules of the ensemble; β, r and epochs are the first's).
    """
    _check_choice(model, reference, normal_key, label_key, positive, ignore)
    target = adata.copy() if copy else adata
    where = {"use_image": use_image, "layer": layer, "library_id": library_id}
    labels = {"label_key": label_key, "positive": positive, "ignore": ignore}
    detector, source = _detector(
        target, model, reference, normal_key, normal_values, labels, config, where
    )
    result = detector.score(target, layer=layer, library_id=library_id)
    _write(target, detector, result, source, key_added)
    return target if copy else None


def _check_choice(model, reference, normal_key, label_key, positive, ignore) -> None:
    """One reference choice; labels only to train, and only with a label column."""
    given = [x is not None for x in (model, reference, normal_key)]
    if sum(given) > 1:
        raise OmibError(
            "give only one of model, reference and normal_key", "pick one reference choice"
        )
    if label_key is not None and (normal_key is not None or model is not None):
        raise OmibError(
            f"label_key (--label-key) cannot be combined with "
            f"{'normal_key (--normal-key)' if normal_key is not None else 'a saved model (--model)'}",
            "use --label-key with --reference (or the sample's own labels) for supervised training",
        )
    if label_key is None and (positive or ignore):
        raise OmibError(
            "positive/ignore values were given without a label column",
            "add --label-key COL (label_key=...)",
        )


def _detector(target, model, reference, normal_key, normal_values, labels, config, where):
    """The detector of the reference choice, and the choice's name (``uns[key]["source"]``)."""
    from omib_st.model import OmibDetector

    supervised = labels if labels["label_key"] is not None else {}
    if model is not None:
        return model if isinstance(model, OmibDetector) else OmibDetector.load(Path(model)), "model"
    if reference is not None:
        references = [reference] if isinstance(reference, AnnData) else list(reference)
        _check_sample(target, references, config, **where)
        return OmibDetector(config).fit(references, **where, **supervised), "reference"
    if normal_key is not None:
        detector = OmibDetector(config).fit(
            target, normal_key=normal_key, normal_values=normal_values, **where
        )
        return detector, "normal_key"
    if supervised:
        return OmibDetector(config).fit(target, **where, **supervised), "label_key"
    warnings.warn(
        "omib-st: no reference given; running the self-referenced mode (trains on the sample "
        "itself with robust trimming), the weakest mode. Give normal reference sections, a "
        "saved model or known-normal spots when you can.",
        UserWarning,
        stacklevel=3,
    )
    return _self_referenced(target, config or DetectorConfig(), **where), "self-referenced"


def _write(target: AnnData, detector: Any, result: Any, source: str, key_added: str) -> None:
    """The scores, labels, ξ and the record of the run, into ``target``."""
    target.obs[f"{key_added}_score"] = result.scores
    target.obs[f"{key_added}_anomaly"] = result.labels
    target.obsm[f"X_{key_added}"] = result.xi
    training = detector.training
    target.uns[key_added] = _plain(
        {
            "mode": detector.mode,
            "source": source,
            "version": __version__,
            "params": to_dict(detector.config),
            "modalities": detector.modalities,
            **result.info,
            "beta": training.get("bound", {}).get("beta"),
            "bound": training.get("bound", {}),
            "r": training.get("r", {}),
            "threshold": result.threshold,
            "reference_stats": {k: list(v) for k, v in detector.reference_stats.items()},
            "n_genes": len(detector.genes),
            "n_train_spots": training.get("n_train_spots"),
            "epochs": training.get("epochs"),
            "train_seconds": training.get("train_seconds"),
            "device": training.get("device"),
        }
    )


def _check_sample(adata, references, config, *, use_image, layer, library_id) -> None:
    """Refuse a sample that cannot be scored before training on the references."""
    from omib_st.model.tissue_data import check_section, has_image

    if not references:
        return  # fit() says so
    if use_image is None:
        use_image = all(has_image(r) for r in references)
    genes = references[0].var_names
    for other in references[1:]:
        genes = genes.intersection(other.var_names, sort=False)
    check_section(
        adata,
        config or DetectorConfig(),
        use_image=use_image,
        genes=list(genes),
        layer=layer,
        library_id=library_id,
    )


def _self_referenced(adata, config, *, use_image, layer, library_id):
    from omib_st.config import replace
    from omib_st.model import OmibDetector

    def for_pass(name: str) -> DetectorConfig:
        """Each training pass checkpoints into its own subfolder of train.checkpoint_dir."""
        if config.train.checkpoint_dir is None:
            return config
        folder = str(Path(config.train.checkpoint_dir) / name)
        return replace(config, **{"train.checkpoint_dir": folder})

    first = OmibDetector(for_pass("pass-1")).fit(
        adata, use_image=use_image, layer=layer, library_id=library_id
    )
    scores = first.score(adata, layer=layer, library_id=library_id).scores
    keep = scores <= np.quantile(scores, 1 - config.scoring.self_trim)
    trimmed = adata[keep].copy()
    second = OmibDetector(for_pass("pass-2")).fit(
        trimmed, use_image=use_image, layer=layer, library_id=library_id
    )
    second.config = config
    return second


def _plain(value: Any) -> Any:
    """Nested dicts/lists of str, bool, int and float only (h5ad cannot store None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value
