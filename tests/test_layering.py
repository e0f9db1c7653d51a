"""Imports flow one way: the core never loads AnnData, plotting or benchmark stacks."""

import subprocess
import sys
import time

import pytest

HEAVY_FOR_CORE = ("anndata", "scanpy", "squidpy", "omib_st.io", "omib_st.tl", "omib_st.pl")


def loaded_modules(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "package", ["omib_st.nn", "omib_st.module", "omib_st.train", "omib_st.scoring"]
)
def test_core_does_not_import_adapters_or_anndata(package):
    loaded = loaded_modules(f"import {package}")
    assert not loaded & set(HEAVY_FOR_CORE), loaded & set(HEAVY_FOR_CORE)


def test_import_omib_st_is_light():
    loaded = loaded_modules("import omib_st")
    assert not loaded & {"torch", "anndata", "scanpy", "lightning", "timm"}


def test_cli_help_is_fast_and_light():
    loaded = loaded_modules("from omib_st.cli import build_parser; build_parser()")
    assert not loaded & {"torch", "anndata", "scanpy"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "omib_st", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "detect" in result.stdout and "demo" in result.stdout
    assert time.perf_counter() - start < 10
