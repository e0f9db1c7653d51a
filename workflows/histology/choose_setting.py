"""Choose a setting for each held-out section from the other sections' AUCs only.

    python workflows/histology/choose_setting.py SETTING=FOLDER [SETTING=FOLDER ...]

Each argument names a setting (any label, e.g. ``scale2,smoothing0.25``) and the folder of an
``omib-st benchmark histology`` run made with it (its ``table.csv``); give a setting several
times for several seeds. For each section S of B4 and C2–C6, the setting with the best mean AUC
over the other five sections (every seed given for it) is chosen, and S's AUC at that setting is
reported, per seed and averaged: S's labels never choose its own setting. The other sections'
runs did use S's normal spots as reference, so this is leave-one-section-out selection, not a
fully nested one.
"""

import sys

import pandas as pd

SECTIONS = ["B4", "C2", "C3", "C4", "C5", "C6"]

runs = []
for argument in sys.argv[1:]:
    setting, folder = argument.split("=", 1)
    runs.append(pd.read_csv(f"{folder}/table.csv").assign(setting=setting))
table = pd.concat(runs).query("target in @SECTIONS")
auc = table.groupby(["setting", "target"])["auc"].mean().unstack("target")[SECTIONS]
rows = []
for held_out in SECTIONS:
    others = [s for s in SECTIONS if s != held_out]
    chosen = auc[others].mean(axis=1).idxmax()
    seeds = table.query("setting == @chosen and target == @held_out").set_index("seed")["auc"]
    rows.append({"section": held_out, "chosen": chosen, "AUC": auc.loc[chosen, held_out]})
    rows[-1].update({f"seed {s}": a for s, a in seeds.sort_index().items()})
chosen = pd.DataFrame(rows)
print(auc.assign(mean=auc.mean(axis=1)).round(3).to_markdown())
print()
print(chosen.round(3).to_markdown(index=False))
print(f"\nmean AUC of the chosen settings: {chosen['AUC'].mean():.3f}")
per_seed = chosen.filter(like="seed ").mean()
print("per seed:", ", ".join(f"{k} {v:.3f}" for k, v in per_seed.items()))
