"""Choose ``patch.scale`` for each held-out section from the other sections' AUCs only.

    python workflows/histology/choose_patch_scale.py 1=results/histology_scale1 2=... 3=...

Each argument is ``SCALE=FOLDER`` of an ``omib-st benchmark histology`` run (its ``table.csv``)
with that ``--set patch.scale``. For each section S of B4 and C2–C6, the scale with the best mean
AUC over the other five sections (every seed in the folders) is chosen, and S's AUC at that scale
is reported: S's labels never choose its own setting. The other sections' runs did use S's
normal spots as reference, so this is leave-one-section-out selection, not a fully nested one.
"""

import sys

import pandas as pd

SECTIONS = ["B4", "C2", "C3", "C4", "C5", "C6"]

runs = []
for argument in sys.argv[1:]:
    scale, folder = argument.split("=", 1)
    table = pd.read_csv(f"{folder}/table.csv")
    runs.append(table.assign(scale=float(scale)))
auc = pd.concat(runs).query("target in @SECTIONS").groupby(["scale", "target"])["auc"].mean()
auc = auc.unstack("target")[SECTIONS]
rows = []
for held_out in SECTIONS:
    others = [s for s in SECTIONS if s != held_out]
    chosen = auc[others].mean(axis=1).idxmax()
    rows.append({"section": held_out, "chosen scale": chosen, "AUC": auc.loc[chosen, held_out]})
chosen = pd.DataFrame(rows)
print(auc.assign(mean=auc.mean(axis=1)).round(3).to_markdown())
print()
print(chosen.round(3).to_markdown(index=False))
print(f"\nmean AUC of the chosen settings: {chosen['AUC'].mean():.3f}")
