"""A phase in a fresh process: ``python -m omib_st.benchmarks.perf PHASE JSON`` prints its
record as one JSON line (:func:`omib_st.benchmarks.perf.phases.measure` reads it)."""

import json
import sys
import warnings

from omib_st.benchmarks.perf.phases import run_phase

if __name__ == "__main__":
    warnings.filterwarnings("ignore", category=FutureWarning)
    print(json.dumps(run_phase(sys.argv[1], json.loads(sys.argv[2]))), flush=True)
