"""One real-H&E job for the Snakemake workflow: (method, target, seed) → records + spot scores."""

import contextlib
import sys
import warnings

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
sys.path.insert(0, snakemake.params.repo)

import anndata as ad  # noqa: E402
import torch  # noqa: E402

from omib_st.benchmarks.her2st.run import write_run  # noqa: E402
from omib_st.benchmarks.histology.run import FeatureStore, folds, run_fold  # noqa: E402

torch.set_num_threads(snakemake.threads)
warnings.filterwarnings("ignore")
w = snakemake.wildcards
fold = folds(snakemake.params.sections, [w.target])[0]
paths = {p.split("/")[-1].removesuffix(".h5ad"): p for p in snakemake.input.sections}
sections = {name: ad.read_h5ad(paths[name]) for name in (fold.target, *fold.references)}
store = FeatureStore(sections, snakemake.params.features)  # the workflow's feature files
with (
    open(snakemake.log[0], "w") as log,
    contextlib.redirect_stdout(log),
    contextlib.redirect_stderr(log),
):
    records, scores = run_fold(
        sections, fold, [w.method], int(w.seed), store=store, quick=snakemake.params.quick,
        overrides=snakemake.params.overrides, log=print,
    )  # fmt: skip
write_run(snakemake.output[0], records, scores)
