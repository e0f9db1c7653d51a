"""``omib_st.pl.anomaly``: anomaly scores drawn over the H&E image."""

from __future__ import annotations

from pathlib import Path

from anndata import AnnData

from omib_st.errors import OmibError


def anomaly(
    adata: AnnData,
    *,
    key: str = "omib",
    library_id: str | None = None,
    truth: str | None = None,
    save: str | Path | None = None,
    show: bool | None = None,
    **kwargs,
):
    """Scores (and labels, and optionally a ground-truth column) over the tissue image.

    Uses ``squidpy.pl.spatial_scatter``; panels: ``obs[f"{key}_score"]``,
    ``obs[f"{key}_anomaly"]`` and ``obs[truth]`` when given. ``save`` writes a PNG.
    Extra keyword arguments go to ``spatial_scatter``. The scores are drawn over the H&E image
    when :func:`~omib_st.model.tissue_data.has_image` finds one, else at the spot coordinates.
    Returns the matplotlib figure. The plotting backend is left as it is, and ``adata`` is
    neither modified nor copied.
    """
    import matplotlib.pyplot as plt
    import squidpy as sq

    from omib_st.io import get_library_id
    from omib_st.model.tissue_data import has_image

    score = f"{key}_score"
    if score not in adata.obs:
        raise OmibError(
            f'obs["{score}"] not found', f"run omib_st.tl.detect(adata, key_added='{key}') first"
        )
    colors = [score, f"{key}_anomaly"] + ([truth] if truth else [])
    image = has_image(adata)
    plot = AnnData(  # what the panels need; the images are shared with adata, not copied
        obs=adata.obs[[c for c in colors if c in adata.obs]].copy(),
        obsm={"spatial": adata.obsm["spatial"]},
        uns={"spatial": adata.uns["spatial"]} if image else {},
    )
    plot.obs[f"{key}_anomaly"] = plot.obs[f"{key}_anomaly"].astype(str).astype("category")
    if truth:
        plot.obs[truth] = plot.obs[truth].astype(str).astype("category")
    options: dict = {"shape": None}
    if image:
        lib = get_library_id(adata, library_id)
        images = adata.uns["spatial"][lib].get("images") or {}
        resolution = "hires" if "hires" in images else next(iter(images), "hires")
        options = {"library_id": lib, "img_res_key": resolution}
    sq.pl.spatial_scatter(plot, color=colors, cmap="magma", ncols=len(colors), **options, **kwargs)
    figure = plt.gcf()
    if save is not None:
        figure.savefig(save, dpi=120, bbox_inches="tight")
    if show:
        plt.show()
    elif save is not None:
        plt.close(figure)
    return figure
