"""Score maps over the real H&E of every section of an ``omib-st benchmark histology`` run.

    python workflows/histology/score_maps.py RUN METHOD SEED OUT

Reads ``RUN/scores.csv.gz`` (the per-spot scores and labels of the run), puts ``METHOD``'s
scores of ``SEED`` into each section as ``obs["omib_score"]`` / ``obs["omib_anomaly"]`` and
draws them with :func:`omib_st.pl.anomaly` over the section's H&E, with the truth the run was
judged on (``label_group``: the cancer clusters, or A1's pathologist labels) as a third panel.
Writes ``OUT/histology_<section>_<METHOD>.png`` (60 dpi, small enough for the docs).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script, not a library: it may choose the backend

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import omib_st as om  # noqa: E402
from omib_st.benchmarks.histology.data import GROUP_KEY, load_sections  # noqa: E402

run, method, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
scores = pd.read_csv(f"{run}/scores.csv.gz").query("method == @method and seed == @seed")
sections = load_sections("../shared/data/her2st")
for name, rows in scores.groupby("target"):
    adata = sections[name]
    rows = rows.set_index("spot").reindex(adata.obs_names)
    adata.obs["omib_score"] = rows["score"].to_numpy()
    adata.obs["omib_anomaly"] = rows["anomaly"].astype(bool).to_numpy()
    figure = om.pl.anomaly(adata, truth=GROUP_KEY, show=False)
    path = out / f"histology_{name}_{method}.png"
    figure.savefig(path, dpi=60, bbox_inches="tight")
    plt.close(figure)
    print(f"wrote {path}")
