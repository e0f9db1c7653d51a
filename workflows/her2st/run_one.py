"""One her2st job for the Snakemake workflow: (unit, target, seed) → records + spot scores."""

import contextlib
import sys
import warnings

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
sys.path.insert(0, snakemake.params.repo)

import anndata as ad  # noqa: E402
import torch  # noqa: E402

from omib_st.benchmarks.her2st.baselines import SMOOTH  # noqa: E402
from omib_st.benchmarks.her2st.run import run_fold, write_run  # noqa: E402
from omib_st.benchmarks.her2st.splits import lopo_folds  # noqa: E402

torch.set_num_threads(snakemake.threads)
warnings.filterwarnings("ignore")
w = snakemake.wildcards
fold = lopo_folds(snakemake.params.sections, [w.target])[0]
paths = {p.split("/")[-1].removesuffix(".h5ad"): p for p in snakemake.input}
sections = {name: ad.read_h5ad(paths[name]) for name in (fold.target, *fold.references)}
unit_methods = (w.unit, w.unit + SMOOTH, *(("logistic_raw",) if w.unit == "logistic" else ()))
methods = [m for m in snakemake.params.methods if m in unit_methods]
with (
    open(snakemake.log[0], "w") as log,
    contextlib.redirect_stdout(log),
    contextlib.redirect_stderr(log),
):
    records, scores = run_fold(
        sections, fold, methods, int(w.seed), quick=snakemake.params.quick,
        overrides=snakemake.params.overrides, log=print, protocol=snakemake.params.protocol,
    )  # fmt: skip
write_run(snakemake.output[0], records, scores)
