"""Bad inputs, through the command line and the Python API: one clear error, nothing written.

Every case runs through each entry point it applies to. The command line must exit 2 with exactly
one line on stderr (problem; fix), the Python API must raise OmibError with that line, and in both
no file may be created or changed: the input, the reference and the model are byte-identical
afterwards and no output (not even a temporary file) is left behind.
"""

from __future__ import annotations

import inspect
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from _reliability import (
    assert_one_error_line,
    assert_problem_and_fix,
    model_meta,
    reseal,
    run_cli,
    snapshot,
)
from anndata import AnnData

import omib_st as om
from omib_st.errors import OmibError
from omib_st.model.persistence import FORMAT_VERSION

LIB = "synthetic"
ENTRIES = ("cli-detect", "cli-fit", "cli-score", "api-detect", "api-fit", "api-score")


@dataclass
class Case:
    id: str
    mutate: Callable[[AnnData, Path], AnnData]
    match: str | dict[str, str]
    """Regex of the error; a dict maps the command (detect, fit, score) to its own regex."""
    entries: tuple[str, ...] = ENTRIES
    args: tuple[str, ...] = ()
    kwargs: dict = field(default_factory=dict)

    def pattern(self, entry: str) -> str:
        if isinstance(self.match, str):
            return self.match
        return self.match[entry.split("-")[1]]


def _entry(adata: AnnData) -> dict:
    return adata.uns["spatial"][LIB]


def _set(path: str, value):
    """Mutation setting ``uns["spatial"][LIB][a][b]`` (``path`` = "a.b") to ``value``."""

    def mutate(a, _):
        outer, inner = path.split(".")
        _entry(a)[outer][inner] = value
        return a

    return mutate


def _drop(path: str):
    def mutate(a, _):
        outer, inner = path.split(".")
        del _entry(a)[outer][inner]
        return a

    return mutate


def _coords(change):
    def mutate(a, _):
        coords = np.asarray(a.obsm["spatial"], dtype=np.float64).copy()
        change(coords)
        a.obsm["spatial"] = coords
        return a

    return mutate


def _counts(change):
    def mutate(a, _):
        x = a.X.toarray()
        a.X = change(x)
        return a

    return mutate


def _no_obsm(a, _):
    del a.obsm["spatial"]
    return a


def _no_uns(a, _):
    del a.uns["spatial"]
    return a


def _no_images(a, _):
    _entry(a)["images"] = {}
    return a


def _unreadable_image(a, folder):
    slide = folder / "slide.tif"
    slide.write_bytes(b"II*\x00 this is not really a TIFF")
    _entry(a)["images"] = {}
    _entry(a)["metadata"]["source_image_path"] = str(slide)
    return a


def _scalefs(value):
    def mutate(a, _):
        for res in ("hires", "lowres"):
            _entry(a)["scalefactors"][f"tissue_{res}_scalef"] = value
        return a

    return mutate


def _rename(axis: str, names):
    def mutate(a, _):
        setattr(a, f"{axis}_names", names(getattr(a, f"{axis}_names")))
        return a

    return mutate


def _first_duplicated(names):
    names = list(names)
    names[1] = names[0]
    return names


def _nan(x):
    x[2, 3] = np.nan
    return x


def _set_value(x, value):
    x[0, 0] = value
    return x


NO_IMAGE = {
    "detect": "but the sample has no image",
    "score": "but the sample has no image",
    "fit": r'uns\["spatial"\]',
}
IMAGE_CHECKED = ("cli-detect", "cli-score", "api-detect", "api-fit", "api-score")

DATA_CASES = [
    Case("empty", lambda a, _: a[:0].copy(), r"the AnnData is empty \(0 spots × 60 genes\)"),
    Case("no obsm spatial", _no_obsm, r'obsm\["spatial"\] is missing'),
    Case(
        "spatial wrong shape",
        lambda a, _: _set_obsm(a, np.zeros((a.n_obs, 3))),
        r'obsm\["spatial"\] has shape \(80, 3\); expected \(80, 2\)',
    ),
    Case(
        "NaN coordinates",
        _coords(lambda c: c.__setitem__((5, 0), np.nan)),
        "NaN or infinite coordinates for 1 spot",
    ),
    Case(
        "infinite coordinates",
        _coords(lambda c: c.__setitem__((7, 1), np.inf)),
        "NaN or infinite coordinates for 1 spot",
    ),
    Case(
        "no uns spatial",
        _no_uns,
        {**NO_IMAGE, "fit": r'uns\["spatial"\] is missing or empty'},
        entries=IMAGE_CHECKED,
        kwargs={"use_image": True},
    ),  # fmt: skip
    Case(
        "library id mismatch",
        lambda a, _: a,
        r"library 'nope' is not in uns\[\"spatial\"\] \(found synthetic\)",
        args=("--library-id", "nope"),
        kwargs={"library_id": "nope"},
    ),
    Case(
        "image missing",
        _no_images,
        {**NO_IMAGE, "fit": r'\["images"\] is missing or empty'},
        entries=IMAGE_CHECKED,
        kwargs={"use_image": True},
    ),  # fmt: skip
    Case("image unreadable", _unreadable_image, r"slide\.tif is not a readable image"),
    Case(
        "image not RGB",
        _set("images.hires", np.zeros((40, 50, 2), dtype=np.uint8)),
        r'\["images"\]\["hires"\] has shape \(40, 50, 2\)',
    ),
    Case("spots outside the image", _scalefs(0.5), r"80 spots fall outside .*images.*hires"),
    Case(
        "scale factor missing",
        _drop("scalefactors.tissue_hires_scalef"),
        r'\["scalefactors"\]\["tissue_hires_scalef"\] is missing',
    ),
    Case("scale factor absurd", _scalefs(40.0), r'\["tissue_hires_scalef"\] = 40 is absurd'),
    Case("scale factor NaN", _scalefs(float("nan")), r'\["tissue_hires_scalef"\] = nan is absurd'),
    Case(
        "spot diameter absurd",
        _set("scalefactors.spot_diameter_fullres", 0.0),
        r'\["spot_diameter_fullres"\] = 0 is absurd',
    ),
    Case(
        "spot diameter missing",
        _drop("scalefactors.spot_diameter_fullres"),
        r'\["spot_diameter_fullres"\] is missing',
    ),
    Case(
        "negative counts", _counts(lambda x: _set_value(x, -3)), r"X has negative values \(min -3\)"
    ),
    Case("NaN counts", _counts(_nan), r"X has 1 non-finite value"),
    Case("infinite counts", _counts(lambda x: _set_value(x, np.inf)), r"X has 1 non-finite value"),
    Case("all-zero counts", _counts(np.zeros_like), "X is all zero"),
    Case("non-integer counts", _counts(lambda x: x * 1.37), r"X looks normalised \(non-integer"),
    Case("log-normalised", _counts(np.log1p), r"X looks log-normalised \(non-integer values"),
    Case(
        "counts layer missing",
        lambda a, _: a,
        r'layers\["counts"\] not found \(layers: none\)',
        args=("--layer", "counts"),
        kwargs={"layer": "counts"},
    ),
    Case(
        "duplicated spot names",
        _rename("obs", _first_duplicated),
        r"obs_names has 1 duplicated spot name",
    ),
    Case(
        "duplicated gene names",
        _rename("var", _first_duplicated),
        r"var_names has 1 duplicated gene name",
    ),
    Case(
        "fewer spots than graph neighbours",
        lambda a, _: a[:4].copy(),
        r"4 spot\(s\) are too few for a 6-nearest-neighbour graph",
    ),
    Case(
        "no genes shared",
        _rename("var", lambda names: [f"OTHER{i}" for i in range(len(names))]),
        "no genes shared between the sample",
        entries=("cli-detect", "cli-score", "api-detect", "api-score"),
    ),
]


def _set_obsm(a, value):
    a.obsm["spatial"] = value
    return a


def _data_params():
    for case in DATA_CASES:
        for entry in case.entries:
            yield pytest.param(case, entry, id=f"{entry}: {case.id}")


def _call(function, adata, kwargs):
    accepted = inspect.signature(function).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return function(adata, **kwargs)


@pytest.fixture(scope="module")
def api(shared, knn_config):
    """The Python API entry points, each a function of the sample (model and reference loaded once)."""
    reference = om.io.read_h5ad(shared / "ref.h5ad")
    model = om.model.OmibDetector.load(shared / "model")

    def detect(adata, *, use_image=None, layer=None, library_id=None):
        om.tl.detect(adata, reference=reference, config=knn_config, use_image=use_image,
                     layer=layer, library_id=library_id)  # fmt: skip

    return {
        "api-detect": detect,
        "api-fit": lambda adata, **kw: om.model.OmibDetector(knn_config).fit(adata, **kw),
        "api-score": model.score,
    }


@pytest.mark.parametrize("case, entry", list(_data_params()))
def test_bad_sample(case, entry, section, shared, api, tmp_path, capsys):
    """A bad sample (or reference, for fit) is refused up front, whatever the entry point."""
    adata = case.mutate(section, tmp_path)
    sample = tmp_path / "sample.h5ad"
    if entry.startswith("cli"):
        om.io.write_h5ad(adata, sample)
    model = shared / "model"
    before = snapshot(tmp_path, shared)
    if entry.startswith("cli"):
        command = entry.split("-")[1]
        argv = {
            "detect": ["detect", sample, "--reference", shared / "ref.h5ad", "-o", tmp_path / "out.h5ad"],
            "fit": ["fit", sample, "--out", tmp_path / "new-model"],
            "score": ["score", "--model", model, sample, "-o", tmp_path / "out.h5ad"],
        }[command]  # fmt: skip
        if command != "score":
            argv += ["--config", shared / "cfg.yaml"]
        code, err = run_cli([*argv, *case.args], capsys)
        assert code == 2, err
        assert_one_error_line(err, command, case.pattern(entry))
    else:
        with pytest.raises(OmibError, match=case.pattern(entry)) as err:
            _call(api[entry], adata, case.kwargs)
        assert_problem_and_fix(str(err.value))
        assert "omib" not in adata.uns and "omib_score" not in adata.obs
    assert snapshot(tmp_path, shared) == before


# ---------------------------------------------------------------------------------- files


def _text(path: Path) -> None:
    path.write_text("barcode,GENE1\nAAAC-1,3\n")


def _truncated(path: Path, section) -> None:
    om.io.write_h5ad(section, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _foreign_hdf5(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("matrix", data=np.arange(6).reshape(2, 3))


FILE_CASES = {
    "missing file": (lambda p, s: None, "does not exist"),
    "not an h5ad": (lambda p, s: _text(p), r"is not an h5ad \(HDF5\) file"),
    "empty file": (lambda p, s: p.write_bytes(b""), r"is not an h5ad \(HDF5\) file"),
    "truncated h5ad": (_truncated, r"could not read .*sample\.h5ad as h5ad"),
    "HDF5 but not AnnData": (lambda p, s: _foreign_hdf5(p), r"sample\.h5ad"),
}


@pytest.mark.parametrize("command", ["detect", "fit", "score", "api"])
@pytest.mark.parametrize("case", list(FILE_CASES))
def test_unreadable_sample_file(case, command, section, shared, tmp_path, capsys):
    make, match = FILE_CASES[case]
    sample = tmp_path / "sample.h5ad"
    make(sample, section)
    before = snapshot(tmp_path, shared)
    if command == "api":
        with pytest.raises(OmibError, match=match) as err:
            om.io.read_h5ad(sample)
        assert_problem_and_fix(str(err.value))
    else:
        argv = {
            "detect": ["detect", sample, "--reference", shared / "ref.h5ad", "-o", tmp_path / "o.h5ad"],
            "fit": ["fit", sample, "--out", tmp_path / "m"],
            "score": ["score", "--model", shared / "model", sample, "-o", tmp_path / "o.h5ad"],
        }[command]  # fmt: skip
        code, err = run_cli(argv, capsys)
        assert code == 2
        assert_one_error_line(err, command, match)
    assert snapshot(tmp_path, shared) == before


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n but then garbage")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:2000])


SPACERANGER_CASES = {
    "image unreadable": (lambda o: _garbage(o / "spatial/tissue_hires_image.png"), "is not a readable image"),
    "image truncated": (lambda o: _truncate(o / "spatial/tissue_hires_image.png"), "could not be decoded"),
    "scale factors missing": (lambda o: (o / "spatial/scalefactors_json.json").unlink(), "scalefactors_json.json not found"),
    "scale factors not JSON": (lambda o: (o / "spatial/scalefactors_json.json").write_text("{tissue"), "is not valid JSON"),
    "scale factor absurd": (lambda o: _scalefactor(o, tissue_hires_scalef=20), r"= 20 is absurd"),
    "spots outside the image": (lambda o: _scalefactor(o, tissue_hires_scalef=0.9, tissue_lowres_scalef=0.9), "spots fall outside"),
    "positions malformed": (lambda o: (o / "spatial/tissue_positions.csv").write_text("barcode,in_tissue\nA-1,1\n"), "positions file has 2 columns"),
    "not a Space Ranger folder": (lambda o: shutil.rmtree(o / "spatial"), "no tissue_positions"),
}  # fmt: skip


def _scalefactor(outs: Path, **values) -> None:
    path = outs / "spatial" / "scalefactors_json.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **values}))


@pytest.mark.parametrize("command", ["detect", "api"])
@pytest.mark.parametrize("case", list(SPACERANGER_CASES))
def test_bad_space_ranger_folder(case, command, make_spaceranger, shared, tmp_path, capsys):
    change, match = SPACERANGER_CASES[case]
    outs, _ = make_spaceranger()
    change(outs)
    before = snapshot(tmp_path, shared)
    if command == "api":
        with pytest.raises(OmibError, match=match) as err:
            om.tl.detect(om.io.read_visium(outs), reference=om.io.read_h5ad(shared / "ref.h5ad"))
        assert_problem_and_fix(str(err.value))
    else:
        argv = ["detect", outs, "--reference", shared / "ref.h5ad", "-o", tmp_path / "o.h5ad"]
        code, err = run_cli(argv, capsys)
        assert code == 2
        assert_one_error_line(err, "detect", match)
    assert snapshot(tmp_path, shared) == before


# ---------------------------------------------------------------------------------- model folders


def _edit_meta(change, sealed=False):
    def edit(model, _):
        meta = model_meta(model)
        change(meta)
        if sealed:
            reseal(model, meta)
        else:
            (model / "model.json").write_text(json.dumps(meta))

    return edit


def _flip_last_byte(model, _):
    data = bytearray((model / "weights.pt").read_bytes())
    data[-30] ^= 0xFF
    (model / "weights.pt").write_bytes(bytes(data))


def _edit_config(model, _):
    path = model / "config.yaml"
    path.write_text(path.read_text().replace("hidden_dim: 32", "hidden_dim: 48"))


class _Payload:
    """Pickles to a call that creates the file ``MARKER``: must never run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _pickle_payload(model, tmp_path):
    import torch

    torch.save({"module": _Payload(tmp_path / "MARKER")}, model / "weights.pt")
    reseal(model)


def _yaml_payload(model, tmp_path):
    marker = tmp_path / "MARKER"
    (model / "config.yaml").write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    reseal(model)


def _link_outside(model, tmp_path):
    outside = tmp_path / "elsewhere.pt"
    shutil.move(model / "weights.pt", outside)
    (model / "weights.pt").symlink_to(outside)


def _drop_genes(meta):
    meta["genes"] = meta["genes"][:-5]


MODEL_CASES = {
    "weights tampered": (_flip_last_byte, r"weights\.pt does not match its checksum"),
    "other version": (
        _edit_meta(lambda m: m.update(format_version=1, omib_st_version="0.0.1")),
        rf"saved in model format 1 by omib-st 0\.0\.1; this is format {FORMAT_VERSION}",
    ),
    "model.json edited": (
        _edit_meta(lambda m: m.update(threshold=m["threshold"] + 1)),
        r"model\.json does not match its checksum",
    ),
    "config.yaml edited": (_edit_config, r"config\.yaml does not match its checksum"),
    "model.json not JSON": (
        lambda m, _: (m / "model.json").write_text("{'genes': [}"),
        r"model\.json is not valid JSON",
    ),
    "pickle payload in weights.pt": (
        _pickle_payload,
        r"weights\.pt cannot be loaded as plain tensors",
    ),
    "YAML payload in config.yaml": (_yaml_payload, r"config\.yaml is not plain YAML"),
    "genes edited and resealed": (
        _edit_meta(_drop_genes, sealed=True),
        r"weights\.pt does not fit model\.json and config\.yaml",
    ),
    "model.json incomplete": (
        _edit_meta(lambda m: m.pop("reference_stats"), sealed=True),
        r"model\.json is incomplete",
    ),
    "weights.pt links outside the folder": (_link_outside, "outside the model folder"),
}


@pytest.mark.parametrize("entry", ["cli-score", "cli-detect", "api-load"])
@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_bad_model_folder(case, entry, shared, tmp_path, capsys):
    """A foreign, edited or hostile model folder is refused and nothing in it is executed."""
    change, match = MODEL_CASES[case]
    model = tmp_path / "model"
    shutil.copytree(shared / "model", model)
    change(model, tmp_path)
    sample = tmp_path / "sample.h5ad"
    shutil.copy(shared / "ref.h5ad", sample)
    before = snapshot(tmp_path, shared)
    if entry == "api-load":
        with pytest.raises(OmibError, match=match) as err:
            om.model.OmibDetector.load(model)
        assert_problem_and_fix(str(err.value))
    else:
        command = entry.split("-")[1]
        argv = {
            "score": ["score", "--model", model, sample, "-o", tmp_path / "o.h5ad"],
            "detect": ["detect", sample, "--model", model, "-o", tmp_path / "o.h5ad"],
        }[command]
        code, err = run_cli(argv, capsys)
        assert code == 2
        assert_one_error_line(err, command, match)
    assert not (tmp_path / "MARKER").exists()
    assert snapshot(tmp_path, shared) == before


def test_too_few_reference_spots_to_train(tiny_config, section):
    """Four spots build a ring graph but leave three to train on: too few for the β estimate."""
    with pytest.raises(OmibError, match=r"only 4 normal reference spots \(3 left for training"):
        om.model.OmibDetector(tiny_config).fit(section[:4].copy())


def test_paths_named_in_a_model_folder_are_not_followed(shared, section, tmp_path):
    """config.yaml may name backbone weights and a checkpoint folder: loading and scoring open neither."""
    model = tmp_path / "model"
    shutil.copytree(shared / "model", model)
    outside = tmp_path / "outside"
    text = (model / "config.yaml").read_text()
    text = text.replace("weights: null", f"weights: {outside / 'backbone.pth'}")
    text = text.replace("checkpoint_dir: null", f"checkpoint_dir: {outside / 'checkpoints'}")
    (model / "config.yaml").write_text(text)
    reseal(model)
    loaded = om.model.OmibDetector.load(model)
    assert loaded.config.image.weights == str(outside / "backbone.pth")  # kept, not opened
    original = om.model.OmibDetector.load(shared / "model")
    np.testing.assert_array_equal(loaded.score(section).scores, original.score(section).scores)
    assert not outside.exists()


# ---------------------------------------------------------------------------------- command line


def _cli_argv(command: str, shared: Path, tmp_path: Path) -> list:
    sample = tmp_path / "sample.h5ad"
    if not sample.exists():
        shutil.copy(shared / "ref.h5ad", sample)
    return {
        "detect": ["detect", sample, "--reference", shared / "ref.h5ad", "-o", tmp_path / "out.h5ad"],
        "fit": ["fit", sample, "--out", tmp_path / "out-model"],
        "score": ["score", "--model", shared / "model", sample, "-o", tmp_path / "out.h5ad"],
    }[command]  # fmt: skip


OPTION_CASES = {
    "output exists": (lambda d: (d / "out.h5ad").write_text("keep me"), [], "out.h5ad already exists"),
    "model folder exists": (lambda d: (d / "out-model").mkdir(), [], "out-model already exists"),
    "plot exists": (lambda d: (d / "p.png").write_text("keep me"), ["--plot", "P"], r"p\.png already exists"),
    "--device cuda without GPU": (None, ["--device", "cuda"], "--device cuda was requested but no CUDA GPU is visible"),
    "config missing": (None, ["--config", "NOPE"], r"config file .*nope\.yaml does not exist"),
    "config unknown key": ("train:\n  epochz: 3\n", [], r"unknown config key\(s\) epochz in train"),
    "config out of range": ("train:\n  lr: -0.1\n", [], r"config train\.lr = -0\.1 must be > 0"),
    "config NaN": ("train:\n  lr: .nan\n", [], r"config train\.lr = nan must be a finite number"),
    "config wrong type": ("train:\n  max_epochs: ten\n", [], r"config train\.max_epochs = 'ten' must be an integer"),
    "config not a mapping": ("- train\n- lr\n", [], r"config section <root> must be a mapping"),
    "config not YAML": ("train: [lr: 1\n", [], r"is not valid YAML"),
    "config with a tag": ("!!python/object/apply:os.system ['touch MARKER']\n", [], r"is not valid YAML"),
}  # fmt: skip
OPTION_ENTRIES = {
    "output exists": ("detect", "score"),
    "model folder exists": ("fit",),
    "plot exists": ("detect", "score"),
    "--device cuda without GPU": ("detect", "fit", "score"),
}


def _option_params():
    for case in OPTION_CASES:
        for command in OPTION_ENTRIES.get(case, ("detect", "fit")):
            yield pytest.param(case, command, id=f"{command}: {case}")


@pytest.mark.parametrize("case, command", list(_option_params()))
def test_bad_option(case, command, shared, tmp_path, capsys, monkeypatch):
    """Bad outputs, devices and configurations are refused before any work, nothing written."""
    prepare, extra, match = OPTION_CASES[case]
    monkeypatch.chdir(tmp_path)  # a YAML tag that ran would 'touch MARKER' here
    argv = _cli_argv(command, shared, tmp_path)
    config = tmp_path / "cfg.yaml"
    if isinstance(prepare, str):
        config.write_text(prepare)
        extra = ["--config", config]
    elif prepare is not None:
        prepare(tmp_path)
    extra = [{"P": tmp_path / "p.png", "NOPE": tmp_path / "nope.yaml"}.get(a, a) for a in extra]
    before = snapshot(tmp_path, shared)
    code, err = run_cli([*argv, *extra], capsys)
    assert code == 2
    assert_one_error_line(err, command, match)
    assert not (tmp_path / "MARKER").exists()
    assert snapshot(tmp_path, shared) == before


@pytest.mark.parametrize("command", ["score", "detect"])
def test_config_is_refused_with_a_saved_model(command, shared, tmp_path, capsys):
    """A saved model carries its configuration: a --config beside it would be silently ignored."""
    sample = tmp_path / "sample.h5ad"
    shutil.copy(shared / "ref.h5ad", sample)
    argv = {
        "score": ["score", "--model", shared / "model", sample],
        "detect": ["detect", sample, "--model", shared / "model"],
    }[command]
    before = snapshot(tmp_path, shared)
    code, err = run_cli([*argv, "--config", shared / "cfg.yaml", "-o", tmp_path / "o.h5ad"], capsys)
    assert code == 2
    assert_one_error_line(err, command, "--config is not used with a saved model")
    assert snapshot(tmp_path, shared) == before


def test_a_bad_second_sample_leaves_no_output_of_the_first(shared, section, tmp_path, capsys):
    """``score`` with several samples writes all outputs or none."""
    good, bad = tmp_path / "good.h5ad", tmp_path / "bad.h5ad"
    shutil.copy(shared / "ref.h5ad", good)
    section.X = section.X.toarray() * 1.37
    om.io.write_h5ad(section, bad)
    before = snapshot(tmp_path, shared)
    code, err = run_cli(["score", "--model", shared / "model", good, bad], capsys)
    assert code == 2
    assert_one_error_line(err, "score", r"X looks normalised")
    assert snapshot(tmp_path, shared) == before  # no good.omib.h5ad either


def test_command_line_errors_in_a_real_process(shared, tmp_path):
    """The same one-line contract holds in a fresh ``python -m omib_st`` process."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    truncated = tmp_path / "sample.h5ad"
    truncated.write_bytes((shared / "ref.h5ad").read_bytes()[:5000])
    env = {**os.environ, "PYTHONPATH": str(repo)}
    result = subprocess.run(
        [sys.executable, "-m", "omib_st", "detect", str(truncated), "-o", "out.h5ad"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert_one_error_line(result.stderr, "detect", r"could not read .*sample\.h5ad as h5ad")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.h5ad"]
