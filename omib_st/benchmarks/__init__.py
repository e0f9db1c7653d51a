"""Benchmarks on the shared OMIB core (optional extra ``bench``; imported lazily).

- :mod:`~omib_st.benchmarks.her2st`: real data, her2st leave-one-patient-out with baselines.
- :mod:`~omib_st.benchmarks.synthetic`: the paper's SIM-I / SIM-II / SIM-III.
- :mod:`~omib_st.benchmarks.cremad`: CREMA-D emotion recognition (audio + visual).
- :mod:`~omib_st.benchmarks.mosi`: CMU-MOSI sentiment regression (text + audio + visual).
"""
