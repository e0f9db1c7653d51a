"""What a command writes and prints (omib_st.cli._outputs)."""

import contextlib
import warnings

import numpy as np
import pytest
import scanpy as sc

from omib_st.cli import build_parser
from omib_st.cli._files import Files, output
from omib_st.cli._outputs import (
    check_scores,
    is_main_process,
    quiet_import,
    summary,
    write_outputs,
)
from omib_st.errors import OmibError


def scored(adata, scores=None):
    n = adata.n_obs
    adata.obs["omib_score"] = np.linspace(0, 1, n) if scores is None else scores
    adata.obs["omib_anomaly"] = adata.obs["omib_score"] > 0.75
    adata.uns["omib"] = {"mode": "one_class", "threshold": 0.75, "image_used": False}
    return adata


def files_for(tmp_path, *paths):
    args = build_parser().parse_args(["detect", "s.h5ad"])
    return Files(args, inputs=[], outputs=[output(p, "-o") for p in paths])


def test_summary_counts_the_spots_above_the_threshold(synthetic_adata):
    adata = scored(synthetic_adata)
    n_above = int(adata.obs["omib_anomaly"].sum())
    text = summary(adata)
    assert text.startswith(
        f"{adata.n_obs} spots scored (expression only (no image), mode: one_class)"
    )
    assert f"; {n_above} (" in text and "above the threshold 0.75" in text


def test_non_finite_scores_are_refused(synthetic_adata):
    scores = np.zeros(synthetic_adata.n_obs)
    scores[:2] = [np.nan, np.inf]
    with pytest.raises(OmibError, match="2 of .* scores came out NaN or infinite"):
        check_scores(scored(synthetic_adata, scores))


def test_outputs_are_written_atomically_and_staged_together(tmp_path, synthetic_adata):
    adata = scored(synthetic_adata)
    first, second = tmp_path / "a.h5ad", tmp_path / "b.h5ad"
    files = files_for(tmp_path, first, second)
    write_outputs(adata, first, None, files)
    assert sc.read_h5ad(first).obs["omib_score"].tolist() == adata.obs["omib_score"].tolist()
    with contextlib.ExitStack() as stack:
        write_outputs(adata, second, None, files, stack=stack)
        assert not second.exists()  # staged until the stack closes
    assert second.is_file() and not list(tmp_path.glob(".*tmp*"))


def test_nothing_is_written_when_the_scores_are_not_finite(tmp_path, synthetic_adata):
    adata = scored(synthetic_adata, np.full(synthetic_adata.n_obs, np.nan))
    out = tmp_path / "a.h5ad"
    with pytest.raises(OmibError, match="nothing was written"):
        write_outputs(adata, out, None, files_for(tmp_path, out))
    assert not out.exists()


def test_a_single_process_is_the_main_one_and_quiet_imports_keep_the_filters():
    assert is_main_process()
    filters = list(warnings.filters)
    quiet_import("json")
    assert warnings.filters == filters
