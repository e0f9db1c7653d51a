"""Nested choice between two training schedules of the her2st nested run: for each seed and
outer section, the schedule whose own nested choice has the higher mean inner AUC; prints each
schedule's nested result and the result of choosing between them.

Usage: ``python workflows/her2st/compare_schedules.py DEFAULT_GRID.csv OTHER_GRID.csv [...]``
where each argument is a ``grid.csv`` written by ``omib-st benchmark her2st --nested`` (several
files of one schedule, e.g. one per seed, are joined with ``+``).
"""

import sys

import pandas as pd

from omib_st.benchmarks.her2st.nested import select

SECTIONS = ["A1", "B1", "C1", "D1", "E1", "F1"]
METRICS = ["auc", "f1_own", "mcc_own", "f1_true_fraction"]


def nested(grids: str) -> pd.DataFrame:
    grid = pd.concat([pd.read_csv(path) for path in grids.split("+")], ignore_index=True)
    return select(grid, SECTIONS).set_index(["seed", "target"])


schedules = {name: nested(name) for name in sys.argv[1:]}
for name, chosen in schedules.items():
    print(name, chosen[METRICS + ["inner_auc"]].mean().round(4).to_dict())
picked = pd.concat(schedules, names=["schedule"]).reset_index()
picked = picked.loc[picked.groupby(["seed", "target"]).inner_auc.idxmax()]
print("chosen between them:", picked[METRICS].mean().round(4).to_dict())
print(picked.schedule.value_counts().to_string())
