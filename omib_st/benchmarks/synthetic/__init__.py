"""The paper's synthetic check (SIM-I / SIM-II / SIM-III): OMIB against the optimum.

One run trains one method on one setting and seed and returns a flat record (test accuracy, β,
M_u, Ĥ, Î, final r). Methods:

- ``omib``: the core with its default config (β = ``beta_scale`` × M_u^safe);
- ``optimal``: the ground-truth optimal representation, an MLP head on the true [a_0, a_1, a_2];
- ``concat_mlp``: one MLP on [v_1 ‖ v_2], no bottleneck;
- ablations ``no_warmup`` (warmup_epochs = 0), ``no_cross_attention`` (fusion = "concat"),
  ``no_omf`` (no fusion block) and ``fixed_r`` (r = 1).

Every model keeps the weights of the epoch with the lowest validation cross-entropy (the fused
head's, main stage only, for OMIB); the test split is only predicted.

- :mod:`~omib_st.benchmarks.synthetic.config`: methods, settings, :class:`SyntheticConfig`;
- :mod:`~omib_st.benchmarks.synthetic.train`: OMIB and the baselines;
- :mod:`~omib_st.benchmarks.synthetic.run`: one run, the plan of a table, the table;
- :mod:`~omib_st.benchmarks.synthetic.report`: run records, summary, plot;
- the data: :mod:`omib_st.benchmarks.synthetic_data`.
"""

from omib_st.benchmarks.synthetic.config import (
    ABLATIONS,
    BASELINES,
    BETA_SCALES,
    LABELS,
    METHODS,
    QUICK,
    SETTINGS,
    SyntheticConfig,
    make_config,
)
from omib_st.benchmarks.synthetic.report import (
    plot_beta_sweep,
    read_records,
    summary_markdown,
    write_outputs,
    write_record,
)
from omib_st.benchmarks.synthetic.run import plan, run_synthetic, run_table

__all__ = [
    "ABLATIONS",
    "BASELINES",
    "BETA_SCALES",
    "LABELS",
    "METHODS",
    "QUICK",
    "SETTINGS",
    "SyntheticConfig",
    "make_config",
    "plan",
    "plot_beta_sweep",
    "read_records",
    "run_synthetic",
    "run_table",
    "summary_markdown",
    "write_outputs",
    "write_record",
]
