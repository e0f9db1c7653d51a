"""What a command writes: the scored h5ad and its plot, atomically (:func:`write_outputs`), and
the one-line summary it prints; only the main process writes (:func:`is_main_process`)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from omib_st.cli._files import Files
from omib_st.errors import OmibError


def is_main_process() -> bool:
    """False in the extra processes of a multi-process (DDP) fit: they train, process 0 writes."""
    import sys

    if "lightning" not in sys.modules:
        return True
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def check_scores(adata, key: str = "omib") -> None:
    """Refuse to write scores that are not finite."""
    import numpy as np

    scores = np.asarray(adata.obs[f"{key}_score"], dtype=np.float64)
    bad = ~np.isfinite(scores)
    if bad.any():
        raise OmibError(
            f"{int(bad.sum())} of {len(scores)} scores came out NaN or infinite; nothing was written",
            "check the sample for extreme values, or refit the model (its weights may be broken)",
        )


def write_outputs(
    adata,
    h5ad: Path,
    plot: str | None,
    files: Files,
    truth: str | None = None,
    stack: contextlib.ExitStack | None = None,
) -> None:
    """Write the h5ad (and the plot) atomically: both appear, or neither.

    With ``stack`` the files stay staged as temporary files until the stack closes, so several
    samples' outputs appear together, or none when one of them fails.
    """
    import warnings

    from omib_st.io import atomic_path, write_h5ad

    check_scores(adata)
    files.check([o for o in files.outputs if o.path in (Path(h5ad), plot and Path(plot))])
    with contextlib.ExitStack() as own:
        staging = own if stack is None else stack
        write_h5ad(adata, staging.enter_context(atomic_path(h5ad)))
        if plot:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from omib_st.pl import anomaly

            quiet_import("squidpy")
            with warnings.catch_warnings():  # the plotting stack's deprecation notices
                for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
                    warnings.simplefilter("ignore", category)
                figure = anomaly(adata, truth=truth)
            try:
                tmp = staging.enter_context(atomic_path(Path(plot)))
                figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
            finally:
                plt.close(figure)


def quiet_import(name: str) -> None:
    """Import ``name`` without the warnings its dependencies emit on import (squidpy: docrep's
    SyntaxWarnings), which the user cannot act on; the global filters are left as they were."""
    import importlib
    import sys
    import warnings

    if name not in sys.modules:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module(name)


def summary(adata, key: str = "omib") -> str:
    info = adata.uns[key]
    n_anomalous = int(adata.obs[f"{key}_anomaly"].sum())
    image = "expression + H&E" if info.get("image_used") else "expression only (no image)"
    if info.get("image_used") and info.get("image_backbone"):  # e.g. the CPU fast path
        image += f"; image backbone {info['image_backbone']}, target {info.get('image_target')}"
        image += f", stain normalisation {info.get('image_stain', 'none')}"
    return (
        f"{adata.n_obs} spots scored ({image}, mode: {info['mode']}); {n_anomalous} "
        f"({n_anomalous / adata.n_obs:.1%}) above the threshold {info['threshold']:.3g}"
    )
