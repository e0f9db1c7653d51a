"""A command's inputs and outputs (omib_st.cli._files)."""

from pathlib import Path

import numpy as np
import pytest
from anndata import AnnData

import omib_st as om
from omib_st.cli import build_parser
from omib_st.cli._files import (
    Files,
    checkpoint_output,
    load_model,
    output,
    output_for,
    read_sample,
)
from omib_st.config import DetectorConfig, replace
from omib_st.errors import OmibError


def test_output_names_and_kinds():
    assert output_for("data/s1.h5ad", None) == Path("data/s1.omib.h5ad")
    assert output_for("outs", None) == Path("outs.omib.h5ad")
    assert output_for("s1.h5ad", "x.h5ad") == Path("x.h5ad")
    assert output(None, "-o") is None
    made = output("x.h5ad", "-o")
    assert (made.path, made.flag, made.kind) == (Path("x.h5ad"), "-o", "file")
    assert checkpoint_output(DetectorConfig()) is None
    folder = checkpoint_output(replace(DetectorConfig(), **{"train.checkpoint_dir": "ck"}))
    assert (folder.path, folder.kind, folder.create_parent) == (Path("ck"), "folder", True)


def test_an_output_may_not_overwrite_an_input_unless_it_is_another_file(tmp_path):
    sample = tmp_path / "s.h5ad"
    sample.write_bytes(b"x")
    args = build_parser().parse_args(["detect", str(sample), "--force"])
    with pytest.raises(OmibError, match="input"):
        Files(args, inputs=[sample], outputs=[output(sample, "-o")])
    files = Files(args, inputs=[sample, None], outputs=[output(tmp_path / "o.h5ad", "-o"), None])
    assert files.inputs == [sample] and len(files.outputs) == 1


def test_reading_adds_the_images_a_sample_names_to_the_inputs(tmp_path, synthetic_adata):
    path = tmp_path / "s.h5ad"
    image = tmp_path / "he.tif"
    library = next(iter(synthetic_adata.uns["spatial"]))
    synthetic_adata.uns["spatial"][library].setdefault("metadata", {})["source_image_path"] = str(
        image
    )
    om.io.write_h5ad(synthetic_adata, path)
    args = build_parser().parse_args(["detect", str(path)])
    files = Files(args, inputs=[path], outputs=[output(tmp_path / "o.h5ad", "-o")])
    adata = files.read(path)
    assert adata.n_obs == synthetic_adata.n_obs and image in files.inputs
    with pytest.raises(OmibError, match="input"):  # the image may not be an output either
        files.check([output(image, "--plot")])


def test_an_empty_sample_is_refused_in_one_line(tmp_path):
    path = tmp_path / "empty.h5ad"
    empty = AnnData(np.zeros((0, 3), dtype=np.float32))
    empty.obsm["spatial"] = np.zeros((0, 2))
    om.io.write_h5ad(empty, path)
    with pytest.raises(OmibError, match=r"the AnnData is empty \(0 spots × 3 genes\).*no spots"):
        read_sample(str(path), "reference")


def test_a_model_folder_with_hostile_text_is_refused_before_loading(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.yaml").write_text("a: &a [*a, *a]\n" + "b: !!python/object:os.system x\n")
    with pytest.raises(OmibError, match="config.yaml"):
        load_model(str(folder))
