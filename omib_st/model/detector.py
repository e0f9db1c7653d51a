"""The tissue anomaly detector: one-class OMIB over expression (GNN) and H&E patches (CNN)."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from anndata import AnnData
from scipy import sparse

from omib_st import __version__
from omib_st.config import DetectorConfig, from_dict, to_dict
from omib_st.errors import OmibError
from omib_st.model.feature_cache import FeatureCache
from omib_st.model.tissue_data import (
    THUMBNAIL,
    Section,
    TissueDataset,
    has_image,
    prepare_section,
    require_image,
)
from omib_st.module import OMIB, Likelihood
from omib_st.nn import MLP, GraphEncoder, ImageEncoder
from omib_st.pp import GeneAlignment, Projection, select_genes, thinning_depth
from omib_st.scoring import (
    combine,
    mixture_threshold,
    quantile_threshold,
    robust_stats,
    smooth_scores,
)
from omib_st.train import FitResult, fit, make_loader, resolve_accelerator, resolve_precision

WEIGHTS, META, CONFIG = "weights.pt", "model.json", "config.yaml"
FORMAT_VERSION = 3
"""3: the likelihood task and the expression projection (2: checksummed model.json and
config.yaml, score statistics with a depth slope)."""
MIN_TRAIN_SPOTS = 4
"""Fewest training spots: the β estimate (MINE) needs two to train on and two held out."""


@dataclass
class DetectionResult:
    """Per-spot output of :meth:`OmibDetector.score`."""

    scores: np.ndarray
    """Anomaly score, higher = more anomalous (robust z-score units against normal reference spots)."""
    labels: np.ndarray
    """Boolean labels from the label-free threshold."""
    xi: np.ndarray
    """Fused representation ξ (μ path), ``n_spots × fused_dim``."""
    parts: dict[str, np.ndarray]
    """Per modality, the negative log-likelihood of the spot's target under the fused head
    (before standardisation)."""
    threshold: float
    alignment: GeneAlignment
    info: dict[str, Any] = field(default_factory=dict)


class OmibDetector:
    """Fit on normal reference tissue, score spots of new sections.

    Modalities: ``expression`` (a GNN over the spot's neighbourhood) and ``image`` (a timm CNN
    over its H&E patch). OMIB needs two modalities, so a single-modality model fuses two views of
    it: expression-only uses ``expression`` and ``spot`` (an MLP on the spot's own profile),
    image-only uses ``image`` and ``thumbnail`` (an MLP on the patch's 8×8 thumbnail).

    The task (:class:`~omib_st.module.Likelihood`) is to predict the spot's own data: the counts
    of its neighbourhood under a negative binomial with the observed library size, and the
    image target under a Gaussian. The score of a spot is that negative log-likelihood under the
    fused head, per modality, as robust z-scores against held-out normal reference spots,
    combined (``scoring.combine``) and smoothed over the spatial graph.

    Parameters
    ----------
    config
        :class:`~omib_st.config.DetectorConfig`; the defaults are the benchmarked settings.
    """

    def __init__(self, config: DetectorConfig | None = None):
        self.config = config or DetectorConfig()
        self.genes: list[str] = []
        self.use_image = False
        self.use_expression = True
        self.module: OMIB | None = None
        self.reference_stats: dict[str, tuple[float, float, float]] = {}
        self.thin_to: float | None = None
        """UMIs that deeper spots are thinned to (``preprocess.thin_quantile``), fixed at fit."""
        self.threshold = float("nan")
        self.projection: Projection | None = None
        self.calibration: dict[str, np.ndarray] = {}
        """Held-out normal reference spots and their neighbours: combined scores, graph (CSR
        arrays) and the held-out positions, from which the threshold is taken."""
        self.training: dict[str, Any] = {}
        self._cache: FeatureCache | None = None

    # ------------------------------------------------------------------ model
    @property
    def modalities(self) -> list[str]:
        if not self.use_expression:
            return ["image", "thumbnail"]
        return ["expression", "image"] if self.use_image else ["expression", "spot"]

    def _build(self, *, initial_weights: bool = True) -> OMIB:
        """The untrained module; ``initial_weights=False`` skips the backbone's starting weights
        (``image.pretrained`` / ``image.weights``), which a loaded model replaces anyway."""
        c, e = self.config, self.config.expression
        n_inputs, thumbnail = self.projection.n_components, 3 * THUMBNAIL * THUMBNAIL
        builders = {
            "expression": lambda: GraphEncoder(
                n_inputs, e.out_dim, hidden_dim=e.hidden_dim, n_layers=e.n_layers, layer=e.layer,
                dropout=e.dropout,
            ),
            "spot": lambda: MLP(n_inputs, e.out_dim, (e.hidden_dim,), dropout=e.dropout),
            "image": lambda: ImageEncoder(
                c.image.backbone, c.image.out_dim,
                freeze=c.image.freeze, pretrained=c.image.pretrained and initial_weights,
                weights=c.image.weights if initial_weights else None,
            ),
            "thumbnail": lambda: MLP(thumbnail, c.image.out_dim, (e.hidden_dim,), dropout=e.dropout),
        }  # fmt: skip
        parts = {}
        if self.use_expression:
            parts["expression"] = ("nb", len(self.genes))
        if self.use_image:
            parts["image"] = ("gaussian", thumbnail)
        with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's RNG is untouched
            torch.manual_seed(c.train.seed)
            encoders = {view: builders[view]() for view in self.modalities}
            return OMIB(encoders, Likelihood(parts), c.omib)

    def _dataset(
        self, sections: Sequence[Section], spots: np.ndarray | None = None
    ) -> TissueDataset:
        expression = self.config.expression
        return TissueDataset(
            sections, spots, views=self.modalities, n_hops=expression.n_layers, cache=self._cache
        )

    def _loader(self, dataset: TissueDataset, shuffle: bool, order: np.ndarray | None = None):
        train = self.config.train
        return make_loader(
            dataset, train.batch_size, shuffle=shuffle, seed=train.seed,
            num_workers=train.num_workers, collate_fn=dataset.collate, order=order,
            pin_memory=self._device().type == "cuda",
        )  # fmt: skip

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        references: AnnData | Sequence[AnnData],
        *,
        normal_key: str | None = None,
        normal_values: Sequence[Any] | None = None,
        use_image: bool | None = None,
        use_expression: bool = True,
        layer: str | None = None,
        library_id: str | None = None,
        resume: bool = False,
    ) -> OmibDetector:
        """Train on the (normal spots of the) reference sections.

        Parameters
        ----------
        references
            One or more sections of normal tissue, raw counts in ``X`` (or ``layers[layer]``).
        normal_key, normal_values
            Train only on spots whose ``obs[normal_key]`` is in ``normal_values``; the graph is
            still built on the whole section, so their neighbourhoods are complete.
        use_image
            Use the H&E modality; default: when every reference has an image.
        use_expression
            Use the expression modality; False makes an image-only model (the single-modality
            comparison of the benchmarks).
        resume
            Continue an interrupted fit from ``config.train.checkpoint_dir``.
        """
        refs = [references] if isinstance(references, AnnData) else list(references)
        if not refs:
            raise OmibError("no reference section was given", "pass at least one AnnData")
        self.use_image = all(has_image(r) for r in refs) if use_image is None else use_image
        self.use_expression = use_expression
        if not (self.use_image or self.use_expression):
            raise OmibError(
                "an image-only model needs H&E images in every reference",
                "add the images or keep the expression modality",
            )
        c = self.config
        if not c.omib.omf:
            raise OmibError(
                "the detector scores the fused head, which omib.omf: false removes",
                "keep omib.omf: true (the setting is for the classification benchmarks)",
            )
        if not c.train.val_fraction:
            warnings.warn(
                "omib-st: train.val_fraction is 0, so the score statistics and the threshold "
                "come from the training spots themselves (optimistic: more spots are flagged)",
                UserWarning, stacklevel=2,
            )  # fmt: skip
        masks = [_normal_mask(r, normal_key, normal_values) for r in refs]
        if c.train.max_spots is not None:
            masks = _subsample(masks, c.train.max_spots, c.train.seed)
        normal_refs = [r[m] for r, m in zip(refs, masks)]
        self.genes = select_genes(normal_refs, n_top_genes=c.preprocess.n_top_genes,
                                  min_spots=c.preprocess.min_spots, layer=layer)  # fmt: skip
        q = c.preprocess.thin_quantile
        self.thin_to = None if q is None else thinning_depth(normal_refs, q, layer)
        sections = [prepare_section(r, self.genes, c, use_image=self.use_image, layer=layer,
                                    library_id=library_id, thin_to=self.thin_to) for r in refs]  # fmt: skip
        spots = np.flatnonzero(np.concatenate(masks))
        rng = np.random.default_rng(c.train.seed)
        shuffled = rng.permutation(spots)
        n_val = max(1, int(round(c.train.val_fraction * len(spots)))) if c.train.val_fraction else 0
        if len(spots) - n_val < MIN_TRAIN_SPOTS:
            raise OmibError(
                f"only {len(spots)} normal reference spots ({len(spots) - n_val} left for "
                f"training after validation; at least {MIN_TRAIN_SPOTS} needed)",
                "give more reference spots",
            )
        train_spots, val_spots = np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])
        self._project(sections, train_spots)
        self.module = self._build()
        if self.use_expression:
            target = sparse.vstack([s.target for s in sections], format="csr")[train_spots]
            self.module.task.set_dispersion("expression", torch.from_numpy(target.toarray()))
        self._cache = None
        if self.use_image and c.image.freeze and c.image.cache_features:
            self._cache = FeatureCache.build(
                self._dataset(sections), self.module.encoders["image"], spots,
                batch_size=c.train.batch_size, device=self._device(),
            )  # fmt: skip
        train_loader = self._loader(self._dataset(sections, train_spots), shuffle=True)
        val_loader = (
            self._loader(self._dataset(sections, val_spots), shuffle=False) if n_val else None
        )
        run_id = _run_id(c, self.genes, self.modalities, refs, train_spots, val_spots)
        result: FitResult = fit(
            self.module, train_loader, val_loader, config=c.train, mi=c.mi, resume=resume,
            run_id=run_id,
        )  # fmt: skip
        self._calibrate(sections, val_spots if n_val else train_spots)
        cache_bytes = self._cache.nbytes if self._cache is not None else 0
        self._cache = None  # the cache is for the fit's spots only
        bound = result.bound.to_dict() if result.bound else {}
        self.training = {
            "n_reference_sections": len(refs), "n_train_spots": int(len(train_spots)),
            "n_val_spots": int(n_val), "epochs": int(result.epochs), "stopped_early": result.stopped_early,
            "bound": bound, "r": {m: float(v) for m, v in zip(self.modalities, self.module.weights.r)},
            "feature_cache_bytes": int(cache_bytes),
        }  # fmt: skip
        return self

    def _project(self, sections: Sequence[Section], train_spots: np.ndarray) -> None:
        """Fit the expression projection on the training spots and give every section its
        encoder input (:attr:`Section.features`)."""
        expression = sparse.vstack([s.expression for s in sections], format="csr")
        self.projection = Projection.fit(
            expression[train_spots], self.config.expression.n_components, seed=self.config.train.seed
        )
        for section in sections:
            section.features = self.projection(section.expression)

    def _calibrate(self, sections: Sequence[Section], held_out: np.ndarray) -> None:
        """Score statistics and threshold from the held-out normal reference spots, on the same
        statistic the target gets: robust z-scores of each part, combined, then smoothed over
        the spot's own section graph (its neighbours scored too)."""
        c = self.config
        full = self._dataset(sections)
        needed = np.union1d(held_out, full.graph[held_out].indices)
        dataset = self._dataset(sections, needed)
        parts, _ = self._evidence(dataset)
        where = np.searchsorted(needed, held_out)
        depth = self._depth(dataset)
        self.reference_stats = robust_stats(
            {k: v[where] for k, v in parts.items()}, None if depth is None else depth[where],
            seed=c.train.seed,
        )  # fmt: skip
        graph = full.graph[needed][:, needed]
        self.calibration = {
            "scores": combine(parts, self.reference_stats, c.scoring.combine, depth),
            "indptr": graph.indptr, "indices": graph.indices, "held_out": where,
        }  # fmt: skip
        self.threshold = self.reference_threshold()

    def reference_threshold(self) -> float:
        """The ``scoring.quantile`` of the held-out reference spots' scores, smoothed with the
        current ``scoring.smoothing`` over their own sections (so a changed smoothing stays
        calibrated)."""
        cal = self.calibration
        n = len(cal["scores"])
        graph = sparse.csr_matrix((np.ones(len(cal["indices"])), cal["indices"], cal["indptr"]),
                                  shape=(n, n))  # fmt: skip
        smoothed = smooth_scores(cal["scores"], graph, self.config.scoring.smoothing)
        return quantile_threshold(smoothed[cal["held_out"]], self.config.scoring.quantile)

    # ------------------------------------------------------------------ score
    def _device(self) -> torch.device:
        device = torch.device(resolve_accelerator(self.config.train.device))
        if device.type == "cuda":  # this process's GPU under DDP
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return device

    @torch.no_grad()
    def _evidence(self, dataset: TissueDataset) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per-modality negative log-likelihood under the fused head and ξ, for every spot of
        ``dataset`` (in item order)."""
        device = self._device()
        module = self.module.to(device).eval()
        parts: dict[str, list[np.ndarray]] = {}
        xi: list[np.ndarray] = []
        order = dataset.spatial_order()  # compact batches; undone below
        precision = resolve_precision(self.config.train.precision, device.type)
        half = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
        for batch in self._loader(dataset, shuffle=False, order=order):
            batch = _to_device(batch, device)
            with torch.autocast(device.type, dtype=half, enabled=half is not None):
                output = module(batch["inputs"])
            for name, value in module.task.evidence(output.prediction, batch["target"]).items():
                parts.setdefault(name, []).append(value.float().cpu().numpy())
            xi.append(output.xi.float().cpu().numpy())
        evidence = {k: _unpermute(np.concatenate(v), order) for k, v in parts.items()}
        return evidence, _unpermute(np.concatenate(xi), order)

    def _depth(self, dataset: TissueDataset) -> np.ndarray | None:
        """The covariate of depth-aware scoring for the spots of ``dataset`` (None when off)."""
        return dataset.depth[dataset.spots] if self.config.scoring.depth_adjust else None

    def _check_fitted(self) -> None:
        if self.module is None:
            raise OmibError("the detector is not fitted", "call fit() or load a saved model first")

    def score(
        self, adata: AnnData, *, layer: str | None = None, library_id: str | None = None
    ) -> DetectionResult:
        """Anomaly scores, labels and ξ for every spot of ``adata`` (which is not modified)."""
        self._check_fitted()
        c = self.config
        if self.use_image:
            require_image(adata)
        section = prepare_section(
            adata, self.genes, c, use_image=self.use_image, layer=layer, library_id=library_id,
            thin_to=self.thin_to,
        )  # fmt: skip
        section.features = self.projection(section.expression)
        dataset = self._dataset([section])
        parts, xi = self._evidence(dataset)
        combined = combine(parts, self.reference_stats, c.scoring.combine, self._depth(dataset))
        scores = smooth_scores(combined, section.graph, c.scoring.smoothing)
        threshold = self.reference_threshold()
        if c.scoring.threshold == "mixture":
            threshold = mixture_threshold(
                scores, c.scoring.prior_anomaly_fraction, seed=c.train.seed
            )
        info = {"image_used": self.use_image, "genes_missing": section.alignment.n_missing}
        if self.thin_to is not None:
            info["thin_to"] = self.thin_to
        if self.use_image:
            info["image_resolution"] = section.patches.resolution
        return DetectionResult(scores.astype(np.float32), scores > threshold, xi.astype(np.float32),
                               parts, float(threshold), section.alignment, info)  # fmt: skip

    # ------------------------------------------------------------------ persistence
    def metadata(self) -> dict[str, Any]:
        """Everything besides the weights that a saved model needs (JSON-serialisable)."""
        return {
            "omib_st_version": __version__, "format_version": FORMAT_VERSION, "genes": self.genes,
            "use_image": self.use_image, "use_expression": self.use_expression,
            "modalities": self.modalities,
            "reference_stats": {k: list(v) for k, v in self.reference_stats.items()},
            "threshold": self.threshold, "training": self.training, "thin_to": self.thin_to,
        }  # fmt: skip

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the model folder atomically: ``weights.pt`` (state dict and the reference spots' ξ),
        ``model.json`` (genes, modalities, score statistics, checksums), ``config.yaml``."""
        import yaml

        from omib_st.io import atomic_path

        self._check_fitted()
        path = Path(path)
        if path.exists() and not force:
            raise OmibError(f"{path} already exists", "choose another --out or pass --force")
        with atomic_path(path) as tmp:
            tmp.mkdir(parents=True)
            state = {k: v.detach().cpu() for k, v in self.module.state_dict().items()}
            torch.save(
                {
                    "module": state,
                    "projection": {
                        k: torch.from_numpy(v) for k, v in self.projection.state().items()
                    },
                    "calibration": {
                        k: torch.from_numpy(np.asarray(v)) for k, v in self.calibration.items()
                    },
                },
                tmp / WEIGHTS,
            )
            (tmp / CONFIG).write_text(yaml.safe_dump(to_dict(self.config), sort_keys=False))
            meta = self.metadata()
            meta["weights_sha256"] = _file_sha256(tmp / WEIGHTS)
            meta["config_sha256"] = _file_sha256(tmp / CONFIG)
            meta["sha256"] = _meta_sha256(meta)
            (tmp / META).write_text(json.dumps(meta, indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> OmibDetector:
        """Load a model folder written by :meth:`save`.

        Treats the folder as untrusted: every file is checked against its checksum, files that
        link out of the folder are refused, ``config.yaml`` is read with ``yaml.safe_load`` and
        ``weights.pt`` with ``torch.load(weights_only=True)``, and no path named inside the
        files (``image.weights``, ``train.checkpoint_dir``) is opened.
        """
        import yaml

        path = Path(path)
        for name in (WEIGHTS, META, CONFIG):
            file = path / name
            if not file.is_file():
                raise OmibError(
                    f"{path} is not an omib-st model folder (no {name})",
                    "give the --out folder of 'omib-st fit'",
                )
            if not file.resolve().is_relative_to(path.resolve()):
                raise OmibError(
                    f"{file} links to {file.resolve()}, outside the model folder",
                    "copy the real file into the folder; links out of a model folder are not followed",
                )
        try:
            meta = json.loads((path / META).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise OmibError(f"{path / META} is not valid JSON", "re-run 'omib-st fit'") from None
        if not isinstance(meta, dict):
            raise OmibError(f"{path / META} is not a model description", "re-run 'omib-st fit'")
        if meta.get("format_version") != FORMAT_VERSION:
            raise OmibError(
                f"{path} was saved in model format {meta.get('format_version')} by omib-st "
                f"{meta.get('omib_st_version')}; this is format {FORMAT_VERSION} (omib-st {__version__})",
                "refit the model with this version",
            )
        for name, key in ((META, "sha256"), (WEIGHTS, "weights_sha256"), (CONFIG, "config_sha256")):
            digest = _meta_sha256(meta) if name == META else _file_sha256(path / name)
            if digest != meta.get(key):
                raise OmibError(
                    f"{path / name} does not match its checksum in {META} (edited or corrupt)",
                    "refit the model; the files of a model folder must not be edited",
                )
        try:
            config = from_dict(DetectorConfig, yaml.safe_load((path / CONFIG).read_text()))
        except yaml.YAMLError as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise OmibError(
                f"{path / CONFIG} is not plain YAML ({first})", "refit the model"
            ) from None
        detector = cls(config)
        try:
            detector.genes, detector.use_image = (
                [str(g) for g in meta["genes"]],
                bool(meta["use_image"]),
            )
            detector.use_expression = bool(meta.get("use_expression", True))
            detector.reference_stats = {
                k: tuple(float(v) for v in stats) for k, stats in meta["reference_stats"].items()
            }
            detector.threshold, detector.training = float(meta["threshold"]), dict(meta["training"])
            thin_to = meta.get("thin_to")
            detector.thin_to = None if thin_to is None else float(thin_to)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise OmibError(
                f"{path / META} is incomplete ({type(err).__name__}: {err})", "refit the model"
            ) from None
        try:
            saved = torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
        except Exception as err:  # refused pickle content, or not a torch file at all
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise OmibError(
                f"{path / WEIGHTS} cannot be loaded as plain tensors ({type(err).__name__}: "
                f"{first[:200]})",
                "refit the model; only tensors are ever read from a model folder",
            ) from None
        try:
            detector.projection = Projection(
                **{k: saved["projection"][k].numpy() for k in ("mean", "scale", "components")}
            )
            detector.calibration = {
                k: saved["calibration"][k].numpy() for k in ("scores", "indptr", "indices", "held_out")
            }
            detector.module = detector._build(initial_weights=False)
            detector.module.load_state_dict(saved["module"])
        except (KeyError, TypeError, AttributeError, RuntimeError) as err:
            first = (str(err).splitlines() or [type(err).__name__])[0]
            raise OmibError(
                f"{path / WEIGHTS} does not fit {META} and {CONFIG} ({type(err).__name__}: "
                f"{first[:200]})",
                "refit the model",
            ) from None
        from omib_st.model.checks import check_finite_model

        check_finite_model(detector, path)  # NaN weights or statistics would score NaN
        return detector


_HARDWARE = ("device", "devices", "num_nodes", "strategy", "precision", "num_workers",
             "progress_bar", "checkpoint_dir")  # fmt: skip


def _run_id(config, genes, modalities, refs, train_spots, val_spots) -> str:
    """What a checkpoint must match to be resumed: settings (but not hardware), genes, the
    reference spots by name, and the train/validation split."""
    settings = to_dict(config)
    settings["train"] = {k: v for k, v in settings["train"].items() if k not in _HARDWARE}
    digest = hashlib.sha256(json.dumps([settings, genes, modalities], sort_keys=True).encode())
    for ref in refs:
        digest.update("\0".join(map(str, ref.obs_names)).encode())
    digest.update(np.asarray(train_spots, dtype=np.int64).tobytes())
    digest.update(np.asarray(val_spots, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _meta_sha256(meta: dict[str, Any]) -> str:
    """Checksum of model.json's content (every key but ``sha256`` itself, canonical JSON)."""
    rest = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _normal_mask(adata: AnnData, key: str | None, values: Sequence[Any] | None) -> np.ndarray:
    if key is None:
        return np.ones(adata.n_obs, dtype=bool)
    if key not in adata.obs:
        raise OmibError(f'obs["{key}"] not found (columns: {", ".join(map(str, adata.obs.columns[:8]))})',
                        "give an existing column as --normal-key")  # fmt: skip
    if not values:
        raise OmibError(f"no normal values given for obs['{key}']", "pass --normal-values")
    mask = adata.obs[key].astype(str).isin([str(v) for v in values]).to_numpy()
    if not mask.any():
        found = ", ".join(map(str, adata.obs[key].astype(str).unique()[:8]))
        raise OmibError(
            f"no spot has obs['{key}'] in {list(values)} (values: {found})", "check --normal-values"
        )
    return mask


def _subsample(masks: list[np.ndarray], max_spots: int, seed: int) -> list[np.ndarray]:
    """The masks restricted to at most ``max_spots`` of their spots, drawn at random (seeded)."""
    chosen = np.flatnonzero(np.concatenate(masks))
    if len(chosen) <= max_spots:
        return masks
    keep = np.zeros(sum(len(m) for m in masks), dtype=bool)
    keep[np.random.default_rng([seed, max_spots]).choice(chosen, max_spots, replace=False)] = True
    return np.split(keep, np.cumsum([len(m) for m in masks])[:-1])


def _unpermute(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Rows computed in the order ``order`` put back in item order."""
    out = np.empty_like(values)
    out[order] = values
    return out


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch.to(device, non_blocking=True) if hasattr(batch, "to") else batch
