"""One entry point for every sample the command line accepts."""

from __future__ import annotations

import os
from pathlib import Path

from anndata import AnnData

from omib_st.io.h5ad import read_h5ad
from omib_st.io.visium import read_visium
from omib_st.io.visium_hd import is_visium_hd, read_visium_hd


def read_sample(path: str | os.PathLike, bin_size: int | None = None) -> AnnData:
    """Read a sample by what ``path`` is.

    A Visium HD folder (an ``outs`` folder holding ``binned_outputs/``, or a ``square_XXXum``
    folder) goes to :func:`read_visium_hd` with ``bin_size``, any other folder to
    :func:`read_visium`, a file to :func:`read_h5ad`. Returns their AnnData unchanged.
    """
    if is_visium_hd(path):
        return read_visium_hd(path, bin_size)
    return read_visium(path) if Path(path).is_dir() else read_h5ad(path)
