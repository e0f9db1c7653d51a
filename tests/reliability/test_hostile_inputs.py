"""Second round: outputs that would land on inputs, work done before refusing, malformed slots of
every source, hostile config and model files, non-finite results and failed writes.

Each case builds the hostile input and checks, through the command line: exit 2, exactly one
line on stderr (problem; fix), no traceback, and that every file under the test folder and the
shared inputs is byte-identical afterwards with nothing new (temporary files included).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from _reliability import assert_one_error_line, model_meta, reseal, run_cli, snapshot

import omib_st as om
from omib_st.errors import OmibError

LIB = "synthetic"
MAX_LINE = 600  # every error line stays short, whatever the input holds


def _refused(argv, command, match, capsys, roots) -> str:
    """Run ``argv``; exit 2, one bounded line matching ``match``, nothing under ``roots`` changed."""
    before = snapshot(*roots)
    code, err = run_cli(argv, capsys)
    assert code == 2, err
    line = assert_one_error_line(err, command, match)
    assert len(line) < MAX_LINE, line
    assert snapshot(*roots) == before
    return line


@pytest.fixture
def inputs(shared, tmp_path):
    """Writable copies of the inputs: ``data/`` (sample, reference, config) and ``model/``."""
    data = tmp_path / "data"
    data.mkdir()
    for name, source in (
        ("sample.h5ad", "ref.h5ad"),
        ("ref.h5ad", "ref.h5ad"),
        ("cfg.yaml", "cfg.yaml"),
    ):
        shutil.copy(shared / source, data / name)
    shutil.copytree(shared / "model", tmp_path / "model")
    return {
        "data": data, "sample": data / "sample.h5ad", "ref": data / "ref.h5ad",
        "cfg": data / "cfg.yaml", "model": tmp_path / "model", "tmp": tmp_path,
    }  # fmt: skip


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if a sample is read, a model loaded or a detector trained or scored."""

    def too_late(*args, **kwargs):
        raise AssertionError("work was done before the refusal")

    monkeypatch.setattr(om.io, "read_sample", too_late)
    monkeypatch.setattr(om.model.OmibDetector, "fit", too_late)
    monkeypatch.setattr(om.model.OmibDetector, "load", too_late)
    monkeypatch.setattr(om.model.OmibDetector, "score", too_late)


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a detector is trained or scored (reading is allowed)."""

    def too_late(*args, **kwargs):
        raise AssertionError("training or scoring started before the refusal")

    monkeypatch.setattr(om.model.OmibDetector, "fit", too_late)
    monkeypatch.setattr(om.model.OmibDetector, "score", too_late)


# ---------------------------------------------------------------------------------- data loss


def _link_to_sample(f):
    link = f["tmp"] / "link.h5ad"
    link.symlink_to(f["sample"])
    return link


def _foreign_folder(f):
    folder = f["tmp"] / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    return folder


def _model_with_user_file(f):
    (f["model"] / "notes.txt").write_text("my notes")
    return f["model"]


def _plain_file(f):
    path = f["tmp"] / "file.txt"
    path.write_text("keep me")
    return path


def _second_sample(f):
    second = f["data"] / "sample.omib.h5ad"
    shutil.copy(f["sample"], second)
    return second


def _checkpoints_in(folder_key):
    def make(f):
        cfg = yaml.safe_load(f["cfg"].read_text())
        cfg["train"]["checkpoint_dir"] = str(f[folder_key])
        f["cfg"].write_text(yaml.safe_dump(cfg))
        return f["cfg"]

    return make


DETECT = ["detect", "{sample}", "--reference", "{ref}", "--config", "{cfg}"]
FIT = ["fit", "{ref}", "--config", "{cfg}"]
SCORE = ["score", "--model", "{model}", "{sample}"]
DATA_LOSS = {
    "detect -o names the reference": (DETECT + ["-o", "{ref}"], r"-o .*ref\.h5ad is the input"),
    "detect -o names the folder holding the inputs": (DETECT + ["-o", "{data}"], "holds the input"),
    "detect -o names the config file": (DETECT + ["-o", "{cfg}"], r"cfg\.yaml is the input"),
    "detect --plot names the sample": (DETECT + ["--plot", "{sample}"], r"--plot .*is the input"),
    "detect --plot names the reference": (DETECT + ["--plot", "{ref}"], r"--plot .*is the input"),
    "detect -o inside the model folder": (
        ["detect", "{sample}", "--model", "{model}", "-o", "{model}/x.h5ad"],
        "lies inside the input folder",
    ),
    "detect -o names the model folder": (
        ["detect", "{sample}", "--model", "{model}", "-o", "{model}"], "is the input"
    ),
    "fit --out names the folder holding the reference": (FIT + ["--out", "{data}"], "holds the input"),
    "fit --out names the reference": (FIT + ["--out", "{ref}"], r"--out .*ref\.h5ad is the input"),
    "fit --out above the inputs": (FIT + ["--out", "{tmp}"], "holds the input"),
    "fit --out is a folder that is not a model": (
        FIT + ["--out", _foreign_folder], "is a folder that is not an omib-st model"
    ),
    "fit --out is a model folder holding a user file": (
        FIT + ["--out", _model_with_user_file], "is a folder that is not an omib-st model"
    ),
    "fit --out is a file": (FIT + ["--out", _plain_file], "is a file, not a model folder"),
    "fit checkpoint_dir holds the reference": (
        ["fit", "{ref}", "--config", _checkpoints_in("data"), "--out", "{tmp}/new"],
        r"train\.checkpoint_dir .* holds the input",
    ),
    "detect checkpoint_dir holds the sample": (
        ["detect", "{sample}", "--config", _checkpoints_in("data"), "-o", "{tmp}/o.h5ad"],
        r"train\.checkpoint_dir .* holds the input",
    ),
    "score -o names the folder holding the sample": (SCORE + ["-o", "{data}"], "holds the input"),
    "score -o names a file of the model": (
        SCORE + ["-o", "{model}/weights.pt"], "lies inside the input folder"
    ),
    "score --plot names the sample": (SCORE + ["--plot", "{sample}"], r"--plot .*is the input"),
    "score --plot names the model manifest": (
        SCORE + ["--plot", "{model}/model.json"], "lies inside the input folder"
    ),
    "score -o is a link to the sample": (SCORE + ["-o", _link_to_sample], "is the input"),
    "score: the output of one sample is another input": (
        SCORE + [_second_sample], r"-o .*sample\.omib\.h5ad is the input"
    ),
    "score -o and --plot are the same file": (
        SCORE + ["-o", "{tmp}/out.png", "--plot", "{tmp}/out.png"], "overlap"
    ),
}  # fmt: skip


def _expand(argv, f):
    return [a(f) if callable(a) else a.format(**f) for a in argv]


@pytest.mark.parametrize("case", list(DATA_LOSS))
def test_force_never_replaces_an_input(case, inputs, shared, no_work, capsys):
    """With --force, an output that is, holds or lies inside an input (a file, the folder of a
    file, a model folder, a link) is refused before anything is read; so is a folder that is
    not an earlier omib-st model."""
    argv, match = DATA_LOSS[case]
    argv = _expand(argv, inputs) + ["--force"]
    _refused(argv, argv[0], match, capsys, [inputs["tmp"], shared])


def test_force_never_replaces_a_space_ranger_input(
    make_spaceranger, shared, tmp_path, no_work, capsys
):
    outs, _ = make_spaceranger()
    image = outs / "spatial" / "tissue_hires_image.png"
    argv = ["detect", outs, "--reference", shared / "ref.h5ad", "--plot", image, "--force"]
    _refused(argv, "detect", "lies inside the input folder", capsys, [tmp_path, shared])


def test_force_still_replaces_earlier_outputs(inputs, shared):
    """What --force is for: an earlier model folder, an earlier h5ad or PNG."""
    from omib_st.io.safety import Output, check_outputs, is_model_folder

    old_h5ad, old_png = inputs["tmp"] / "old.h5ad", inputs["tmp"] / "old.png"
    old_h5ad.write_text("earlier output")
    old_png.write_text("earlier plot")
    empty = inputs["tmp"] / "empty"
    empty.mkdir()
    assert is_model_folder(inputs["model"])
    outputs = [Output(inputs["model"], "--out", "model"), Output(old_h5ad, "-o"),
               Output(old_png, "--plot"), Output(empty, "--out", "model")]  # fmt: skip
    check_outputs(outputs, [inputs["sample"], inputs["ref"]], force=True)
    with pytest.raises(OmibError, match="already exists"):
        check_outputs(outputs[:1], [inputs["ref"]], force=False)


# ---------------------------------------------------------------------------------- up front


def _file_named(f):
    path = f["tmp"] / "ckpt"
    path.write_text("a file, not a folder")
    cfg = yaml.safe_load(f["cfg"].read_text())
    cfg["train"]["checkpoint_dir"] = str(path)
    f["cfg"].write_text(yaml.safe_dump(cfg))
    return f["cfg"]


def _config_strategy(f):
    cfg = yaml.safe_load(f["cfg"].read_text())
    cfg["train"]["strategy"] = "warp_drive"
    f["cfg"].write_text(yaml.safe_dump(cfg))
    return f["cfg"]


UP_FRONT = {
    "detect -o in a missing folder": (
        DETECT + ["-o", "{tmp}/missing/o.h5ad"], r"the folder .*missing of -o .* does not exist"
    ),
    "detect --plot in a missing folder": (
        DETECT + ["--plot", "{tmp}/missing/p.png"], r"of --plot .* does not exist"
    ),
    "detect -o under a file": (
        DETECT + ["-o", "{cfg}/o.h5ad"], r"cfg\.yaml in -o .* is a file, not a folder"
    ),
    "fit --out in a missing folder": (
        FIT + ["--out", "{tmp}/missing/model"], r"the folder .*missing of --out .* does not exist"
    ),
    "score -o in a missing folder": (
        SCORE + ["-o", "{tmp}/missing/o.h5ad"], r"of -o .* does not exist"
    ),
    "detect --strategy unknown": (
        DETECT + ["-o", "{tmp}/o.h5ad", "--strategy", "warp_drive"], "is not a Lightning strategy"
    ),
    "fit --strategy unknown": (
        FIT + ["--out", "{tmp}/m", "--strategy", "warp_drive"], "is not a Lightning strategy"
    ),
    "fit config strategy unknown": (
        ["fit", "{ref}", "--config", _config_strategy, "--out", "{tmp}/m"],
        "is not a Lightning strategy",
    ),
    "fit checkpoint_dir is a file": (
        ["fit", "{ref}", "--config", _file_named, "--out", "{tmp}/m"],
        r"train\.checkpoint_dir .*ckpt is a file, not a folder",
    ),
    "detect checkpoint_dir is a file": (
        ["detect", "{sample}", "--reference", "{ref}", "--config", _file_named, "-o", "{tmp}/o.h5ad"],
        r"train\.checkpoint_dir .*ckpt is a file, not a folder",
    ),
    "detect negative --seed": (DETECT + ["-o", "{tmp}/o.h5ad", "--seed", "-1"], "is not a seed"),
    "fit negative --seed": (FIT + ["--out", "{tmp}/m", "--seed", "-5"], "is not a seed"),
    "fit --seed too large": (FIT + ["--out", "{tmp}/m", "--seed", str(2**40)], "is not a seed"),
    "score negative --seed": (SCORE + ["-o", "{tmp}/o.h5ad", "--seed", "-1"], "is not a seed"),
    "demo negative --seed": (["demo", "--out", "{tmp}/demo", "--seed", "-1"], "is not a seed"),
    "fit config negative seed": (
        ["fit", "{ref}", "--config", "{tmp}/neg.yaml", "--out", "{tmp}/m"],
        r"config train\.seed = -3 is not a seed",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(UP_FRONT))
def test_checks_that_need_no_data_come_first(case, inputs, shared, no_work, capsys):
    """Output folders, strategy names, checkpoint folders and seeds are refused before any
    sample is read or any model loaded or trained."""
    (inputs["tmp"] / "neg.yaml").write_text("train:\n  seed: -3\n")
    argv, match = UP_FRONT[case]
    argv = _expand(argv, inputs)
    _refused(argv, argv[0], match, capsys, [inputs["tmp"], shared])


def _rewrite(sample: Path, change) -> None:
    adata = om.io.read_h5ad(sample)
    change(adata)
    om.io.write_h5ad(adata, sample.with_name("new.h5ad"))
    sample.with_name("new.h5ad").replace(sample)


def _without_images(sample: Path) -> None:
    _rewrite(sample, lambda a: a.uns["spatial"][LIB].update(images={}, metadata={}))


def _without_uns(sample: Path) -> None:
    _rewrite(sample, lambda a: a.uns.pop("spatial"))


@pytest.mark.parametrize("strip", [_without_images, _without_uns], ids=["no images", "no uns"])
@pytest.mark.parametrize("command", ["detect", "score"])
def test_plot_without_an_image_is_refused_before_scoring(
    command, strip, inputs, shared, no_training, capsys
):
    strip(inputs["sample"])
    base = {"detect": DETECT + ["--no-image"], "score": SCORE}[command]
    argv = _expand(base + ["-o", "{tmp}/o.h5ad", "--plot", "{tmp}/p.png"], inputs)
    _refused(
        argv, command, r"--plot|uns\[\"spatial\"\] is missing", capsys, [inputs["tmp"], shared]
    )


# ---------------------------------------------------------------------------------- AnnData slots


def _entry(a):
    return a.uns["spatial"][LIB]


def _set_uns(value):
    def mutate(a):
        a.uns["spatial"] = value

    return mutate


def _set_entry(key, value):
    def mutate(a):
        _entry(a)[key] = value

    return mutate


def _set_in(slot, key, value):
    def mutate(a):
        _entry(a)[slot][key] = value

    return mutate


def _set_library(value):
    def mutate(a):
        a.uns["spatial"][LIB] = value

    return mutate


def _coords(change):
    def mutate(a):
        coords = np.asarray(a.obsm["spatial"], dtype=np.float64).copy()
        a.obsm["spatial"] = change(coords)

    return mutate


def _same_pixel(c):
    c[:] = c[0]
    return c


def _pairs_stacked(c):
    c[1::2] = c[0::2]
    return c


def _dense_blob(c):
    """35 of the 80 spots packed into a speck: each of them neighbours all the others."""
    c[:35] = c[0] + np.random.default_rng(0).uniform(0, 1e-3, (35, 2))
    return c


def _absurd_spot(a):
    x = a.X.toarray()
    x[3] *= 1e9 / max(x[3].sum(), 1)
    a.X = np.round(x)


def _no_genes(a):
    return a[:, :0].copy()


SLOT_CASES = {
    "uns spatial is text": (_set_uns("not a mapping"), r'uns\["spatial"\] is a str, not a mapping'),
    "uns spatial is an array": (_set_uns(np.arange(3)), r'uns\["spatial"\] is an array of dtype int64'),
    "library is text": (_set_library("x"), r'uns\["spatial"\]\["synthetic"\] is a str, not a mapping'),
    "images is text": (_set_entry("images", "hires"), r'\["images"\] is a str, not a mapping'),
    "scalefactors is an array": (
        _set_entry("scalefactors", np.ones(3)), r'\["scalefactors"\] is an array of dtype float64'
    ),
    "metadata is a number": (_set_entry("metadata", 7), r'\["metadata"\] is a int, not a mapping'),
    "scale factor is numeric text": (
        _set_in("scalefactors", "tissue_hires_scalef", "0.2"), r"\"tissue_hires_scalef\"\] = '0.2' is not a number"
    ),
    "spot diameter is text": (
        _set_in("scalefactors", "spot_diameter_fullres", "wide"), r"\"spot_diameter_fullres\"\] = 'wide' is not a number"
    ),
    "image of strings": (
        _set_in("images", "hires", np.full((40, 50, 3), "a")), r'\["hires"\] is an array of dtype (<U1|object), not an image'
    ),
    "source image path is a number": (
        _set_in("metadata", "source_image_path", 5), r'\["source_image_path"\] is a int, not a path'
    ),
    "all spots at one pixel": (_coords(_same_pixel), r"all 80 spots .* are at the same pixel"),
    "spots stacked in pairs": (_coords(_pairs_stacked), "share their position with another spot"),
    "many spots in one speck": (_coords(_dense_blob), r"spots would have \d+ neighbours on average"),
    "a spot with 10⁹ counts": (_absurd_spot, r"X has 1 spot\(s\) with absurd counts"),
    "no genes": (_no_genes, r"AnnData is empty \(80 spots × 0 genes\): the (sample|reference) .* has no genes"),
}  # fmt: skip
SLOT_ENTRIES = ("detect", "detect-self", "fit", "score", "info")


def _slot_params():
    for case in SLOT_CASES:
        for entry in SLOT_ENTRIES:
            if entry == "info" and case == "no genes":
                continue
            yield pytest.param(case, entry, id=f"{entry}: {case}")


@pytest.mark.parametrize("case, entry", list(_slot_params()))
def test_malformed_slots_are_one_line(case, entry, section, shared, tmp_path, capsys):
    """A slot of the wrong type or a degenerate value is one line (info: listed, exit 0)."""
    mutate, match = SLOT_CASES[case]
    section = mutate(section) or section
    sample = tmp_path / "sample.h5ad"
    om.io.write_h5ad(section, sample)
    ref, cfg, model = shared / "ref.h5ad", shared / "cfg.yaml", shared / "model"
    argv = {
        "detect": ["detect", sample, "--reference", ref, "--config", cfg, "-o", tmp_path / "o.h5ad"],
        "detect-self": ["detect", sample, "--config", cfg, "-o", tmp_path / "o.h5ad"],
        "fit": ["fit", sample, "--config", cfg, "--out", tmp_path / "m"],
        "score": ["score", "--model", model, sample, "-o", tmp_path / "o.h5ad"],
        "info": ["info", sample],
    }[entry]  # fmt: skip
    if entry != "info":
        line = _refused(argv, argv[0], match, capsys, [tmp_path, shared])
        assert "reference sections share" not in line
        return
    _info_reports(argv, match, capsys, [tmp_path, shared])


def _info_reports(argv, match, capsys, roots) -> None:
    """``omib-st info`` lists the problem (exit 0) or, when the sample cannot be read at all,
    is refused in one line (exit 2); never a traceback, nothing written."""
    from omib_st.cli import main

    before = snapshot(*roots)
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    if code == 2:
        assert_one_error_line(err, "info", match)
    else:
        assert code == 0 and err == "", err
        assert any(re.search(match, line) for line in out.splitlines()), out
    assert snapshot(*roots) == before


# ---------------------------------------------------------------------------------- Space Ranger


def _positions(outs: Path) -> Path:
    return outs / "spatial" / "tissue_positions.csv"


def _replace_in_positions(column: int, value: str):
    def change(outs):
        lines = _positions(outs).read_text().splitlines()
        cells = lines[3].split(",")
        cells[column] = value
        lines[3] = ",".join(cells)
        _positions(outs).write_text("\n".join(lines) + "\n")

    return change


def _duplicate_barcode(outs):
    lines = _positions(outs).read_text().splitlines()
    _positions(outs).write_text("\n".join(lines + [lines[2]]) + "\n")


def _scalefactors(content: bytes):
    return lambda outs: (outs / "spatial" / "scalefactors_json.json").write_bytes(content)


SPACERANGER = {
    "scale factors are a list": (_scalefactors(b"[0.2, 40.5]"), "not a mapping of scale factors"),
    "scale factors are a number": (_scalefactors(b"3"), "not a mapping of scale factors"),
    "scale factors binary": (_scalefactors(bytes(range(256))), "is not UTF-8 text"),
    "scale factors nested deeply": (_scalefactors(b"[" * 100_000 + b"]" * 100_000), "nested"),
    "scale factors huge": (_scalefactors(b" " * (2 << 20) + b"{}"), r"bytes \(at most"),
    "scale factor as text": (
        _scalefactors(b'{"tissue_hires_scalef": "0.2", "tissue_lowres_scalef": 0.06, "spot_diameter_fullres": 40.5}'),
        r'\["tissue_hires_scalef"\] is missing',
    ),
    "pixel column not numeric": (
        _replace_in_positions(4, "abc"), r"non-numeric value\(s\) in pxl_row_in_fullres \(e.g. 'abc'"
    ),
    "pixel column infinite": (_replace_in_positions(5, "inf"), "non-numeric value.* in pxl_col_in_fullres"),
    "in_tissue not numeric": (_replace_in_positions(1, "yes"), "non-numeric value.* in in_tissue"),
    "barcode listed twice": (_duplicate_barcode, "more than once"),
    "positions binary": (lambda o: _positions(o).write_bytes(b"\xff\xfe\x00\x81" * 100), "could not read"),
    "positions empty": (lambda o: _positions(o).write_bytes(b""), "could not read"),
}  # fmt: skip


@pytest.mark.parametrize("command", ["detect", "info", "api"])
@pytest.mark.parametrize("case", list(SPACERANGER))
def test_malformed_space_ranger_files(case, command, make_spaceranger, shared, tmp_path, capsys):
    change, match = SPACERANGER[case]
    outs, _ = make_spaceranger()
    change(outs)
    if command == "api":
        before = snapshot(tmp_path)
        with pytest.raises(OmibError, match=match):
            om.tl.detect(om.io.read_visium(outs), reference=om.io.read_h5ad(shared / "ref.h5ad"))
        assert snapshot(tmp_path) == before
        return
    if command == "info":
        _info_reports(["info", outs], match, capsys, [tmp_path, shared])
        return
    argv = ["detect", outs, "--reference", shared / "ref.h5ad", "-o", tmp_path / "o.h5ad"]
    _refused(argv, command, match, capsys, [tmp_path, shared])


# ---------------------------------------------------------------------------------- config files


def _alias_bomb(levels: int = 12) -> str:
    """Anchors nested inside one value: 10^levels leaves once expanded."""
    lines = [
        "train:",
        "  lr:",
        '    - &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for i in range(1, levels):
        lines.append(f"    - &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def _nested_mapping(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v: 1\n"


CONFIGS = {
    "binary": (bytes(range(256)) * 4, "is not UTF-8 text"),
    "PNG image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "not UTF-8 text|NUL bytes"),
    "NUL bytes": (b"train:\n  lr: 0.1\x00\n", "holds NUL bytes"),
    "nested lists": (b"train: " + b"[" * 50_000 + b"]" * 50_000, "nested more than 32 levels"),
    "nested mappings": (_nested_mapping(200).encode(), "nested more than 32 levels"),
    "alias bomb in one value": (_alias_bomb().encode(), "values once its aliases are expanded"),
    "recursive alias": (b"train:\n  lr: &a [*a]\n", "an alias refers to a value that contains it"),
    "huge file": (b"# padding\n" * 200_000, r"bytes \(at most 1,048,576"),
    "integer too long": (b"train:\n  max_epochs: " + b"9" * 5000 + b"\n", "is not valid YAML"),
    "long string value": (b"train:\n  max_epochs: " + b"x" * 200_000 + b"\n", r"must be an integer"),
    "long list value": (b"train:\n  lr: [" + b"1, " * 50_000 + b"1]\n", "must be a number"),
    "non-string keys": (b"1: 2\n~: 3\n", r"unknown config key\(s\) 1, None"),
    "many unknown keys": (b"".join(b"key%05d: 1\n" % i for i in range(20_000)), r"unknown config key\(s\) key00000, key00001, .*…"),
}  # fmt: skip


@pytest.mark.parametrize("command", ["detect", "fit"])
@pytest.mark.parametrize("case", list(CONFIGS))
def test_hostile_config_files(case, command, inputs, shared, no_work, capsys):
    """Binary, deeply nested, alias-bombed or huge configs: one short line, fast, nothing read."""
    content, match = CONFIGS[case]
    inputs["cfg"].write_bytes(content)
    argv = _expand(
        {"detect": DETECT + ["-o", "{tmp}/o.h5ad"], "fit": FIT + ["--out", "{tmp}/m"]}[command],
        inputs,
    )
    start = time.perf_counter()
    _refused(argv, command, match, capsys, [inputs["tmp"], shared])
    assert time.perf_counter() - start < 20


# ---------------------------------------------------------------------------------- model folders


def _edit_meta(change):
    def edit(model):
        meta = model_meta(model)
        change(meta)
        reseal(model, meta)

    return edit


def _write_config(content: bytes):
    def edit(model):
        (model / "config.yaml").write_bytes(content)
        reseal(model)

    return edit


def _edit_weights(change):
    def edit(model):
        import torch

        saved = torch.load(model / "weights.pt", weights_only=True)
        change(saved)
        torch.save(saved, model / "weights.pt")
        reseal(model)

    return edit


def _nan_weights(saved):
    for tensor in saved["module"].values():
        if tensor.is_floating_point():
            tensor.fill_(float("nan"))


def _nan_projection(saved):
    saved["projection"]["components"][0, 0] = float("nan")


def _short_stats(meta):
    name = next(iter(meta["reference_stats"]))
    meta["reference_stats"][name] = meta["reference_stats"][name][:2]


def _zero_spread(meta):
    name = next(iter(meta["reference_stats"]))
    meta["reference_stats"][name][-1] = 0.0


def _duplicate_gene(meta):
    meta["genes"][1] = meta["genes"][0]


MODELS = {
    "model.json not UTF-8": (
        lambda m: (m / "model.json").write_bytes(b'{"genes": ["\xff\xfe"]}'), "model.json is not (UTF-8|valid JSON)"
    ),
    "model.json nested deeply": (
        lambda m: (m / "model.json").write_text("[" * 100_000 + "]" * 100_000), r"model\.json is not valid JSON \(nested"
    ),
    "config.yaml not UTF-8": (_write_config(b"train:\n  lr: \xff\xfe\n"), r"config\.yaml is not UTF-8 text"),
    "config.yaml nested deeply": (_write_config(b"a: " + b"[" * 20_000 + b"]" * 20_000), "nested more than 32"),
    "config.yaml alias bomb": (_write_config(_alias_bomb().encode()), "aliases are expanded|lr = .*… must be a number"),
    "weights all NaN": (_edit_weights(_nan_weights), r"weights\.pt is not a usable model: \d+ non-finite"),
    "projection NaN": (_edit_weights(_nan_projection), r"weights\.pt is not a usable model: projection 'components'"),
    "statistics of the wrong length": (_edit_meta(_short_stats), r"has 2 values; expected 3"),
    "statistics with zero spread": (_edit_meta(_zero_spread), "is not finite and positive"),
    "no statistics": (_edit_meta(lambda m: m.update(reference_stats={})), "no reference statistics"),
    "NaN threshold": (_edit_meta(lambda m: m.update(threshold=float("nan"))), "the threshold is nan"),
    "infinite threshold": (_edit_meta(lambda m: m.update(threshold=float("inf"))), "the threshold is inf"),
    "negative thinning depth": (_edit_meta(lambda m: m.update(thin_to=-5.0)), r"thin_to = -5\.0 is not"),
    "duplicated genes": (_edit_meta(_duplicate_gene), "the gene list has duplicates"),
}  # fmt: skip
API_TOO = {"model.json not UTF-8", "config.yaml alias bomb", "weights all NaN", "projection NaN",
           "statistics of the wrong length", "statistics with zero spread", "no statistics",
           "NaN threshold", "infinite threshold", "negative thinning depth", "duplicated genes"}  # fmt: skip


def _model_params():
    for case in MODELS:
        for entry in ("score", "detect", "api") if case in API_TOO else ("score", "detect"):
            yield pytest.param(case, entry, id=f"{entry}: {case}")


@pytest.mark.parametrize("case, entry", list(_model_params()))
def test_hostile_model_folders(case, entry, shared, tmp_path, capsys):
    """Resealed model folders with broken text or non-finite numbers are refused at load."""
    change, match = MODELS[case]
    model = tmp_path / "model"
    shutil.copytree(shared / "model", model)
    change(model)
    sample = tmp_path / "sample.h5ad"
    shutil.copy(shared / "ref.h5ad", sample)
    if entry == "api":
        before = snapshot(tmp_path)
        with pytest.raises(OmibError, match=match):
            om.model.OmibDetector.load(model)
        assert snapshot(tmp_path) == before
        return
    argv = {"score": ["score", "--model", model, sample, "-o", tmp_path / "o.h5ad"],
            "detect": ["detect", sample, "--model", model, "-o", tmp_path / "o.h5ad"]}[entry]  # fmt: skip
    _refused(argv, entry, match, capsys, [tmp_path, shared])


# ---------------------------------------------------------------------------------- results


@pytest.mark.parametrize("command", ["score", "detect"])
def test_non_finite_scores_are_never_written(command, inputs, shared, monkeypatch, capsys):
    real = om.model.OmibDetector.score

    def nan_score(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        result.scores[5] = np.nan
        return result

    monkeypatch.setattr(om.model.OmibDetector, "score", nan_score)
    base = {"score": SCORE, "detect": ["detect", "{sample}", "--model", "{model}"]}[command]
    argv = _expand(base + ["-o", "{tmp}/o.h5ad", "--plot", "{tmp}/p.png"], inputs)
    _refused(argv, command, r"1 of 80 scores came out NaN or infinite; nothing was written", capsys,
             [inputs["tmp"], shared])  # fmt: skip


def _fill_then_fail(path, size=4096):
    """Write part of ``path``, then fail as a full disk does."""
    Path(path).write_bytes(b"\0" * size)
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


@pytest.mark.parametrize("written", ["h5ad", "plot"])
def test_full_disk_while_writing(written, inputs, shared, monkeypatch, capsys):
    """The disk fills while the h5ad or the PNG is written: one line, no temporary file left."""
    from anndata import AnnData
    from matplotlib.figure import Figure

    writer, method = {"h5ad": (AnnData, "write_h5ad"), "plot": (Figure, "savefig")}[written]
    monkeypatch.setattr(writer, method, lambda self, path, **kw: _fill_then_fail(path))
    argv = _expand(SCORE + ["-o", "{tmp}/o.h5ad", "--plot", "{tmp}/p.png"], inputs)
    name = {"h5ad": r"o\.h5ad", "plot": r"p\.png"}[written]
    match = rf"the disk is full .* while writing .*{name}"
    _refused(argv, "score", match, capsys, [inputs["tmp"], shared])


def test_full_disk_while_saving_the_model(inputs, shared, monkeypatch, capsys):
    import torch

    trained = om.model.OmibDetector.load(shared / "model")
    monkeypatch.setattr(om.model.OmibDetector, "fit", lambda self, *a, **k: trained)

    def torch_save(obj, path, *args, **kwargs):  # what torch raises on ENOSPC
        Path(path).write_bytes(b"PK" + b"\0" * 4096)
        raise RuntimeError("[enforce fail at inline_container.cc:603] . PytorchStreamWriter failed "
                           "writing file data/0: file write failed")  # fmt: skip

    monkeypatch.setattr(torch, "save", torch_save)
    argv = _expand(FIT + ["--out", "{tmp}/m"], inputs)
    _refused(
        argv,
        "fit",
        r"writing .*m failed \(.*PytorchStreamWriter failed",
        capsys,
        [inputs["tmp"], shared],
    )


@contextlib.contextmanager
def _small_disk(folder: Path):
    """A 64 kB tmpfs mounted on ``folder`` (skips the test where mounting is not allowed)."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _file_size_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


@pytest.mark.parametrize("limit", ["full disk", "file-size limit"])
def test_failed_write_in_a_real_process(limit, inputs, shared):
    """A disk that fills (ENOSPC on a 64 kB tmpfs) or a file-size limit (EFBIG) while the h5ad is
    written, in a fresh ``python -m omib_st`` process: one line, exit 2 (HDF5 would otherwise
    print dozens of lines and may crash at exit), no temporary file left."""
    repo = Path(__file__).resolve().parents[2]
    with contextlib.ExitStack() as stack:
        folder = inputs["tmp"] / "out"
        if limit == "full disk":
            stack.enter_context(_small_disk(folder))
        else:
            folder.mkdir()
        before = snapshot(inputs["tmp"], shared)
        result = subprocess.run(
            [sys.executable, "-m", "omib_st", "score", "--model", str(inputs["model"]),
             str(inputs["sample"]), "-o", str(folder / "o.h5ad")],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo)},
            cwd=inputs["tmp"], timeout=300,
            preexec_fn=_file_size_limit if limit == "file-size limit" else None,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert_one_error_line(
            result.stderr, "score", r"disk is full \(or a file-size limit was hit\)"
        )
        assert snapshot(inputs["tmp"], shared) == before


def test_an_os_error_anywhere_is_one_line(inputs, shared, monkeypatch, capsys):
    def unreadable(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(om.io, "read_sample", unreadable)
    argv = _expand(SCORE + ["-o", "{tmp}/o.h5ad"], inputs)
    _refused(
        argv, "score", r"Permission denied \(.*sample\.h5ad\)", capsys, [inputs["tmp"], shared]
    )


def test_importing_the_plotting_stack_prints_no_warnings(tmp_path):
    """squidpy's dependencies (docrep) warn on import; the command line silences them locally
    and leaves the global warning filters as they were."""
    code = (
        "import warnings\n"
        "from omib_st.cli._outputs import quiet_import\n"
        "filters = list(warnings.filters)\n"
        "quiet_import('squidpy')\n"
        "assert warnings.filters == filters\n"
    )
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True,
                            text=True, env=env, cwd=tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
