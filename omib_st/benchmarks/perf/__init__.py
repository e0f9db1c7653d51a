"""Speed and memory of the detector on synthetic sections of growing size.

For each size N: a synthetic Visium HD-like section (8 µm bins on the hex lattice, an H&E image,
planted lesions; spots stored in random order, as Space Ranger's barcodes are) and a lesion-free
reference section of the same tissue are written to h5ad; then, each in a fresh process so its
peak memory is its own,

- ``fit``: read the reference, train on ``fit_spots`` of its spots (``train.max_spots``: users
  train on a subsample of a large reference), save the model;
- ``score``: read the section, load the model, score every spot (``omib_st.tl.detect``).

Each phase records wall and CPU seconds, the process's peak RSS (``getrusage`` high-water mark,
imports and the data read included) and its RSS after reading the data, peak GPU memory when CUDA
is used, and the 1-minute load average before and after (the machine may be shared).

- :mod:`~omib_st.benchmarks.perf.data`: the synthetic sections;
- :mod:`~omib_st.benchmarks.perf.phases`: one phase, measured, in a fresh process
  (``python -m omib_st.benchmarks.perf PHASE JSON``);
- :mod:`~omib_st.benchmarks.perf.run`: every size, and what the numbers were measured on;
- :mod:`~omib_st.benchmarks.perf.report`: ``perf.csv`` and ``perf.md``.
"""

from omib_st.benchmarks.perf.data import SPOT_SPACING_UM, lattice, section
from omib_st.benchmarks.perf.phases import PHASES, measure, run_phase, spot_epochs_per_second
from omib_st.benchmarks.perf.report import COLUMNS, write_tables
from omib_st.benchmarks.perf.run import DEFAULT_SIZES, PRESET, machine, run_perf

__all__ = [
    "COLUMNS",
    "DEFAULT_SIZES",
    "PHASES",
    "PRESET",
    "SPOT_SPACING_UM",
    "lattice",
    "machine",
    "measure",
    "run_perf",
    "run_phase",
    "section",
    "spot_epochs_per_second",
    "write_tables",
]
