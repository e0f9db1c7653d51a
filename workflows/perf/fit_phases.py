"""Where the time of a her2st-size fit goes: imports, reading, and each step of
``OmibDetector.fit`` (``omib_st.model.fitting``), timed in one process.

Usage: ``OMP_NUM_THREADS=1 python workflows/perf/fit_phases.py FOLDER`` with ``FOLDER`` holding
``her2st_<S>.h5ad`` (as ``omib-st benchmark perf --her2st`` writes them); prints one JSON line.
"""

import json
import sys
import time

start = time.perf_counter()
from omib_st.io import read_h5ad  # noqa: E402

after_io = time.perf_counter()
import omib_st.model.detector as detector_module  # noqa: E402
from omib_st.benchmarks.her2st.data import NORMAL  # noqa: E402
from omib_st.model import OmibDetector  # noqa: E402

after_model = time.perf_counter()
STEPS = ("prepare_data", "build_model", "train_model", "calibrate")
seconds = {"import_io": after_io - start, "import_model": after_model - after_io}


def timed(name, step):
    def run(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            seconds[name] = time.perf_counter() - begin

    return run


for name in STEPS:  # the façade calls the steps by these names
    setattr(detector_module, name, timed(name, getattr(detector_module, name)))
folder = sys.argv[1]
begin = time.perf_counter()
sections = [read_h5ad(f"{folder}/her2st_{s}1.h5ad") for s in "ABCDEF"]
seconds["read"] = time.perf_counter() - begin
fitted = OmibDetector().fit(
    sections, normal_key="pathology", normal_values=list(NORMAL), use_image=False
)
seconds["train_loop"] = fitted.training["train_seconds"]
print(json.dumps({k: round(v, 2) for k, v in seconds.items()}))
