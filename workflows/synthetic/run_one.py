"""One synthetic run for the Snakemake workflow: wildcards → run_synthetic → JSON record."""

import contextlib
import warnings

import torch

from omib_st.benchmarks.synthetic import run_synthetic, write_record

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
torch.set_num_threads(snakemake.threads)
warnings.filterwarnings("ignore")
w = snakemake.wildcards
with (
    open(snakemake.log[0], "w") as log,
    contextlib.redirect_stdout(log),
    contextlib.redirect_stderr(log),
):
    record = run_synthetic(
        w.setting, method=w.method, seed=int(w.seed), beta_scale=float(w.beta),
        quick=snakemake.params.quick, **snakemake.params.overrides,
    )  # fmt: skip
write_record(snakemake.output[0], record)
