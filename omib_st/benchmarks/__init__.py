"""Benchmarks on the shared OMIB core (optional extra ``bench``; imported lazily).

- :mod:`~omib_st.benchmarks.her2st`: real data, her2st leave-one-patient-out with baselines
  (and the nested protocol).
- :mod:`~omib_st.benchmarks.histology`: the her2st sections with real H&E, image baselines.
- :mod:`~omib_st.benchmarks.synthetic`: the paper's SIM-I / SIM-II / SIM-III.
- :mod:`~omib_st.benchmarks.cremad`: CREMA-D emotion recognition (audio + visual).
- :mod:`~omib_st.benchmarks.mosi`: CMU-MOSI sentiment regression (text + audio + visual).
- :mod:`~omib_st.benchmarks.lesions`, :mod:`~omib_st.benchmarks.perf`: fused against
  single-modality models on the demo section; speed and memory.

Shared by all of them: :mod:`~omib_st.benchmarks.reporting` (records, atomic writes, Markdown,
maps) and :mod:`~omib_st.benchmarks.metrics` (metrics used by more than one benchmark); the
best-validation weights come from :mod:`omib_st.train.selection`.
"""
