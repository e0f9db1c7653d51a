"""Which genes should a depth-thinned omib-st use? (issue 15, exploratory: patches of the fit's
gene choice, not options of the package)

    # a logistic regression on omib-st's own components, four ways (one fit per fold, seed 0)
    OMP_NUM_THREADS=2 python workflows/her2st/probe_thinned_genes.py DATA

With ``preprocess.thin_quantile`` set, omib-st chooses its genes on the thinned counts of the
reference spots, one batch per section (scanpy's ``seurat`` flavour). The patches here choose them
on the counts before thinning (omib-st before session 18), or on the thinned spots pooled into one
batch (as the thinned logistic baseline does).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import anndata as ad
import numpy as np

from omib_st.model import fitting
from omib_st.pp import thin_counts
from omib_st.pp.counts import counts_matrix

QUANTILE = 0.25
_select_genes = fitting.select_genes


def genes_before_thinning(references, *, thin_to=None, seed=0, **kwargs):
    """A ``select_genes`` that ignores the thinning (omib-st before session 18)."""
    return _select_genes(references, **kwargs)


def genes_on_pooled_thinned_counts(references, *, layer=None, thin_to=None, seed=0, **kwargs):
    """A ``select_genes`` on the thinned reference spots pooled into one batch."""
    thinned = [
        ad.AnnData(
            thin_counts(
                counts_matrix(r, layer), thin_to, seed=seed, spots=r.obs_names, genes=r.var_names
            ),
            obs=r.obs[[]],
            var=r.var[[]],
        )
        for r in references
    ]
    return _select_genes([ad.concat(thinned, index_unique="-")], **kwargs)


def features(data: Path) -> None:
    """Mean AUC of a logistic regression (+ radius smooth) on omib-st's components."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from omib_st.benchmarks.her2st.data import evaluated, is_anomalous, load_sections
    from omib_st.benchmarks.her2st.knn_scanpy import radius_smooth
    from omib_st.benchmarks.her2st.methods import SUPERVISED_FIT, make_config
    from omib_st.io.validate import get_coords
    from omib_st.model import OmibDetector
    from omib_st.model.score import prepare_target

    sections = load_sections(data, image=False)
    names = sorted(sections)
    variants = {
        "unthinned": (None, _select_genes),
        "thinned, genes chosen before thinning": (QUANTILE, genes_before_thinning),
        "thinned, genes on thinned counts (the package)": (QUANTILE, _select_genes),
        "thinned, genes on pooled thinned counts": (QUANTILE, genes_on_pooled_thinned_counts),
    }
    quick = {"supervised.members": 1, "train.warmup_epochs": 1, "train.max_epochs": 1}
    for name, (quantile, select) in variants.items():
        fitting.select_genes = select
        aucs = []
        for held_out in names:
            refs = [sections[n] for n in names if n != held_out]
            config = make_config(
                "omib", seed=0, overrides=quick | {"preprocess.thin_quantile": quantile}
            )
            detector = OmibDetector(config).fit(refs, use_image=False, **SUPERVISED_FIT)

            def components(adata, detector=detector):
                return prepare_target(detector, adata, layer=None, library_id=None)[0].features

            x = np.vstack([components(r)[evaluated(r)] for r in refs])
            y = np.concatenate([is_anomalous(r)[evaluated(r)] for r in refs])
            target, keep = sections[held_out], evaluated(sections[held_out])
            model = LogisticRegression(class_weight="balanced", max_iter=2000).fit(x, y)
            p = radius_smooth(model.predict_proba(components(target))[:, 1], get_coords(target))
            aucs.append(roc_auc_score(is_anomalous(target)[keep], p[keep]))
        print(name, *names, "mean", sep=" | ")
        print(name, *(f"{a:.3f}" for a in aucs), f"{np.mean(aucs):.3f}", sep=" | ", flush=True)
    fitting.select_genes = _select_genes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    features(args.data)


if __name__ == "__main__":
    main()
