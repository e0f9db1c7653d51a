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


def _imports_between_modules() -> dict[str, set[str]]:
    """Every ``omib_st`` module's imports of other ``omib_st`` modules, lazy ones included."""
    import ast
    from pathlib import Path

    import omib_st

    root = Path(omib_st.__file__).parent

    def name(path: Path) -> str:
        parts = path.relative_to(root.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name(p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            graph[module] |= {t for t in targets if t in modules and t != module}
    return graph


def test_no_import_cycle_between_modules():
    graph = _imports_between_modules()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
