"""Does omib-st gain from depth thinning when its genes are chosen on thinned counts? (issue 15,
exploratory: a patch of the fit, not an option of the package)

    # a logistic regression on omib-st's own components, four ways (one fit per fold, seed 0)
    OMP_NUM_THREADS=2 python workflows/her2st/probe_thinned_genes.py features DATA
    # the her2st harness, with genes chosen on thinned counts (pass its arguments after --)
    OMP_NUM_THREADS=2 python workflows/her2st/probe_thinned_genes.py harness -- benchmark her2st \
        --protocol supervised --methods omib --set preprocess.thin_quantile=0.25 ...

With ``preprocess.thin_quantile`` set, omib-st thins every spot to that depth but chooses its
genes on the counts before thinning, one batch per reference section (scanpy's ``seurat``
flavour). The patch here chooses them on the thinned counts of the reference spots instead
(batched, or pooled into one batch), as the thinned logistic baseline does.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import anndata as ad
import numpy as np

from omib_st.model import fitting
from omib_st.pp import thin_counts, thinning_depth
from omib_st.pp.counts import counts_matrix

QUANTILE = 0.25
_select_genes = fitting.select_genes


def genes_on_thinned_counts(pooled: bool = False):
    """A ``select_genes`` that thins the references to their 0.25-quantile depth first."""

    def select(references, *, layer=None, **kwargs):
        depth = thinning_depth(references, QUANTILE, layer)
        thinned = [
            ad.AnnData(
                thin_counts(counts_matrix(r, layer), depth, spots=r.obs_names, genes=r.var_names),
                obs=r.obs[[]],
                var=r.var[[]],
            )
            for r in references
        ]
        if pooled:
            thinned = [ad.concat(thinned, index_unique="-")]
        return _select_genes(thinned, **kwargs)

    return select


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
        "thinned": (QUANTILE, _select_genes),
        "thinned, genes on thinned counts": (QUANTILE, genes_on_thinned_counts()),
        "thinned, genes on pooled thinned counts": (QUANTILE, genes_on_thinned_counts(True)),
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
    parser.add_argument("what", choices=("features", "harness"))
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    if args.what == "features":
        features(Path(args.rest[0]))
        return
    from omib_st.cli import main as cli

    fitting.select_genes = genes_on_thinned_counts()
    sys.exit(cli([a for a in args.rest if a != "--"]))


if __name__ == "__main__":
    main()
