"""Helpers of the reliability tests: small sections, file snapshots, a CLI runner."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import warnings
from pathlib import Path


def small_section(seed: int = 0, lesions=None):
    """An 80-spot synthetic section (60 genes, small hires + lowres images)."""
    from omib_st.datasets import synthetic_visium

    kwargs = {} if lesions is None else {"lesions": lesions}
    return synthetic_visium(n_rows=8, n_cols=10, n_genes=60, seed=seed, image_scale=0.12, **kwargs)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(*roots: Path) -> dict[str, str]:
    """Every path under ``roots`` with the hash of its content (``"dir"`` for folders)."""
    out = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            out[str(path)] = "dir" if path.is_dir() else sha256(path)
    return out


def _to_stderr(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """``omib-st argv`` in-process; warnings reach stderr as they would in a terminal."""
    from omib_st.cli import main

    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _to_stderr
        code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def assert_one_error_line(err: str, command: str, match: str) -> str:
    """stderr is exactly ``omib-st COMMAND: error: <problem>; <fix>.`` matching ``match``."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"omib-st {command}: error: "), line
    assert "Traceback" not in err and re.search(match, line), line
    assert_problem_and_fix(line)
    return line


def assert_problem_and_fix(message: str) -> None:
    """One line, naming the problem and (after '; ') the fix."""
    assert "\n" not in message and message.endswith("."), message
    assert "; " in message, f"no fix given: {message}"


def model_meta(model: Path) -> dict:
    """The parsed ``model.json`` of a model folder."""
    return json.loads((Path(model) / "model.json").read_text())


def reseal(model: Path, meta: dict | None = None) -> None:
    """Recompute every checksum of a model folder, as someone who knows the format could: the
    deeper guards (safe YAML, tensors-only weights, finite numbers) must still hold."""
    model = Path(model)
    meta = model_meta(model) if meta is None else meta
    meta["weights_sha256"] = sha256(model / "weights.pt")
    meta["config_sha256"] = sha256(model / "config.yaml")
    rest = {k: v for k, v in meta.items() if k != "sha256"}
    meta["sha256"] = hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()
    (model / "model.json").write_text(json.dumps(meta))
