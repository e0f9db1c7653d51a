import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "workflows" / "perf" / "profile_detect.py"


@pytest.mark.slow  # about 30 s: a fit and a scoring pass under the profiler
def test_profile_script_breaks_fit_and_score_down_and_writes_traces(tmp_path):
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--spots", "300", "--rows", "3", "--trace", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    for phase in ("fit", "score"):
        assert f"== {phase}:" in run.stdout
        assert (tmp_path / f"{phase}.json").stat().st_size > 0
    assert "aten::" in run.stdout
