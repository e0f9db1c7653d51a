"""Stain robustness: how far plausible stain changes move the scores of a section's normal spots.

For a target section (leave-one-section-out reference), the normal spots are scored by a kNN
baseline on their own patches and again after each of :data:`PERTURBATIONS` is applied to the
target's patches only (the reference is left as it is: a section stained differently from the
training sections). The shift is the change of the median score in units of the unperturbed
scores' interquartile range; the cancer-vs-normal median gap in the same units gives the scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import pandas as pd
from anndata import AnnData

from omib_st.benchmarks.histology import baselines as bl
from omib_st.benchmarks.histology.data import A1, is_anomalous, is_normal
from omib_st.benchmarks.histology.features import FeatureStore, spot_patches
from omib_st.benchmarks.histology.methods import REINHARD
from omib_st.benchmarks.histology.run import folds
from omib_st.pp.stain import brightness_jitter, brightness_scale, hed_jitter, hed_scale

PERTURBATIONS: dict[str, Callable[[np.random.Generator], bl.Transform]] = {
    "hed_jitter": lambda rng: partial(hed_jitter, rng=rng, sigma=0.05, bias=0.005),
    "brightness_jitter": lambda rng: partial(brightness_jitter, rng=rng, amount=0.1),
    "section_hed": lambda rng: partial(hed_scale, alpha=np.array([1.1, 0.9, 1.0]), beta=0.0),
    "section_darker": lambda rng: partial(brightness_scale, factor=0.9),
}
"""Name → a transform of uint8 patch batches, built from a seeded generator: per-patch HED
jitter (σ 0.05, bias 0.005) and brightness jitter (± 10 %); the whole section with haematoxylin
+10 % and eosin −10 %; the whole section 10 % darker."""


def stain_robustness(
    sections: dict[str, AnnData],
    targets: Sequence[str] | None = None,
    *,
    kind: str = "descriptors",
    stains: Sequence[str] = ("", REINHARD),
    seed: int = 0,
    store: FeatureStore | None = None,
    log: Callable[[str], None] | None = print,
) -> pd.DataFrame:
    """One row per target × stain handling × perturbation: ``median_shift_iqr`` (median score
    change of the normal spots / their IQR), ``gap_iqr`` (cancer − normal median / IQR), and the
    spot counts. ``stains``: ``""`` (raw patches) and/or ``"_reinhard"`` (each section normalised
    on its own, perturbed, patches)."""
    store = store or FeatureStore(sections)
    names = [s for s in sections if s != A1] if targets is None else list(targets)
    rows = []
    for fold in folds([s for s in sections if s != A1], names):
        target = sections[fold.target]
        normal, anomalous = is_normal(target), is_anomalous(target)
        image = store.image(fold.target)
        for stain in stains:
            features = {s: store.get(kind, stain, s, seed) for s in (fold.target, *fold.references)}
            reference = bl.reference_features(features, sections, fold)
            base, cancer = bl.knn_scores(
                reference, features[fold.target][normal], features[fold.target][anomalous]
            )
            q1, median, q3 = np.percentile(base, [25, 50, 75])
            for name, make in PERTURBATIONS.items():
                transform = _transform(
                    make(np.random.default_rng(seed)), stain, target, image, store
                )
                moved = bl.section_features(
                    target, kind, seed=seed, transform=transform, image=image
                )
                shifted = bl.knn_scores(reference, moved[normal])[0]
                rows.append(
                    {
                        "target": fold.target,
                        "features": kind,
                        "stain": stain.lstrip("_") or "raw",
                        "perturbation": name,
                        "n_normal": int(normal.sum()),
                        "n_anomalous": int(anomalous.sum()),
                        "median_shift_iqr": (np.median(shifted) - median) / (q3 - q1),
                        "gap_iqr": (np.median(cancer) - median) / (q3 - q1),
                    }
                )
                if log is not None:
                    r = rows[-1]
                    log(
                        f"{fold.target} {r['stain']:<9} {name:<18} median shift "
                        f"{r['median_shift_iqr']:+.3f} IQR (cancer gap {r['gap_iqr']:+.3f} IQR)"
                    )
    return pd.DataFrame(rows)


def _transform(
    perturb: bl.Transform, stain: str, target: AnnData, image: np.ndarray, store: FeatureStore
) -> bl.Transform:
    """``perturb``, then (with ``stain``) the Reinhard normalisation of the perturbed section
    onto the store's stain target, its source statistics taken from its perturbed patches."""
    if not stain:
        return perturb
    from omib_st.pp.stain import lab_stats, reinhard

    source = lab_stats(perturb(spot_patches(target, image)))
    return _then(perturb, partial(reinhard, target=store.stain_target(), source=source))


def _then(first: bl.Transform, second: bl.Transform) -> bl.Transform:
    return lambda patches: second(first(patches))


def robustness_markdown(table: pd.DataFrame) -> str:
    """Median over target sections of the median shift and of the cancer gap, in IQR units."""
    grouped = table.groupby(["stain", "perturbation"], sort=False)
    summary = grouped.agg(
        shift=("median_shift_iqr", "median"),
        worst=("median_shift_iqr", lambda x: x.abs().max()),
        gap=("gap_iqr", "median"),
    ).reset_index()
    lines = [
        f"Stain robustness of kNN on {table.features.iloc[0]}, normal spots of "
        f"{', '.join(table.target.unique())}: median score shift in units of the "
        "unperturbed normal scores' IQR (median over sections; worst section); cancer gap: "
        "cancer − normal median score, same units.",
        "",
        "| patches | perturbation | median shift (IQR) | worst section | cancer gap (IQR) |",
        "|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.stain} | {r.perturbation} | {r.shift:+.3f} | {r.worst:.3f} | {r.gap:+.3f} |"
        )
    return "\n".join(lines) + "\n"
