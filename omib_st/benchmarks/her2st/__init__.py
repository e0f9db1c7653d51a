"""her2st leave-one-patient-out benchmark (protocol: ``../shared/data/her2st/README.md``).

- :mod:`~omib_st.benchmarks.her2st.data`: find the labelled sections of a her2st folder, read
  them with their pathologist labels grouped into anomalous / normal / excluded.
- :mod:`~omib_st.benchmarks.her2st.splits`: leave-one-patient-out folds.
- :mod:`~omib_st.benchmarks.her2st.baselines`: kNN, Isolation Forest, LOF and PCA-error
  baselines on the detector's genes and normalisation, with and without spatial smoothing.
- :mod:`~omib_st.benchmarks.her2st.metrics`: ROC AUC, AP, F1 at two thresholds, direction check.
- :mod:`~omib_st.benchmarks.her2st.run`: methods × targets × seeds → tidy table, summary, maps.
"""
