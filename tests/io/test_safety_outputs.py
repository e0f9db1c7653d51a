"""omib_st.io.safety.outputs: the output rule of every command."""

from __future__ import annotations

import os

import pytest

from omib_st.errors import OmibError
from omib_st.io.safety import Output, check_outputs, is_model_folder


def test_outputs_never_touch_inputs_through_links(tmp_path):
    sample = tmp_path / "sample.h5ad"
    sample.write_text("data")
    os.link(sample, tmp_path / "hard.h5ad")
    (tmp_path / "soft.h5ad").symlink_to(sample)
    (tmp_path / "dir-link").symlink_to(tmp_path, target_is_directory=True)
    for name in ("hard.h5ad", "soft.h5ad", "dir-link/sample.h5ad"):
        with pytest.raises(OmibError, match="is the input"):
            check_outputs([Output(tmp_path / name, "-o")], [sample], force=True)
    with pytest.raises(OmibError, match="holds the input"):
        check_outputs([Output(tmp_path / "dir-link", "--out", "model")], [sample], force=True)


def test_output_folders_are_checked(tmp_path):
    with pytest.raises(OmibError, match="does not exist"):
        check_outputs([Output(tmp_path / "a" / "b.h5ad", "-o")], [], force=False)
    check_outputs([Output(tmp_path / "a" / "b.h5ad", "--out", create_parent=True)], [], force=False)
    (tmp_path / "f").write_text("")
    with pytest.raises(OmibError, match="is a file, not a folder"):
        check_outputs([Output(tmp_path / "f", "train.checkpoint_dir", "folder")], [], force=False)
    (tmp_path / "d").mkdir()
    with pytest.raises(OmibError, match="is a folder; give a file name"):
        check_outputs([Output(tmp_path / "d", "-o")], [], force=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_output_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(OmibError, match="is not writable"):
        check_outputs([Output(folder / "o.h5ad", "-o")], [], force=False)


def test_model_folder_recognised_by_its_manifest(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "weights.pt").write_bytes(b"x")
    assert not is_model_folder(folder)  # no manifest
    (folder / "model.json").write_text('{"format_version": 2}')
    assert is_model_folder(folder)
    (folder / "model.json").write_text("[" * 100_000)
    assert not is_model_folder(folder)
    (folder / "model.json").write_text('{"format_version": 2}')
    (folder / "data.csv").write_text("mine")
    assert not is_model_folder(folder)  # --force would delete it


def test_force_replaces_only_files_and_model_folders(tmp_path):
    (tmp_path / "old.h5ad").write_text("")
    with pytest.raises(OmibError, match="already exists; choose another output or pass --force"):
        check_outputs([Output(tmp_path / "old.h5ad", "-o")], [], force=False)
    check_outputs([Output(tmp_path / "old.h5ad", "-o")], [], force=True)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("x")
    with pytest.raises(OmibError, match="is a folder that is not an omib-st model"):
        check_outputs([Output(tmp_path / "notes", "--out", "model")], [], force=True)


def test_two_outputs_may_not_overlap(tmp_path):
    outputs = [Output(tmp_path / "m", "--out", "model"), Output(tmp_path / "m" / "x.png", "--plot")]
    (tmp_path / "m").mkdir()
    with pytest.raises(OmibError, match="--out .*/m and --plot .*/m/x.png overlap"):
        check_outputs(outputs, [], force=True)


def test_the_package_keeps_its_import_paths():
    from omib_st.io import safety

    for name in ("read_text", "load_json", "load_yaml", "check_outputs", "write_failure"):
        assert callable(getattr(safety, name)), name
    assert safety.MODEL_FILES == {"model.json", "weights.pt", "config.yaml"}
    assert (safety.MAX_DEPTH, safety.MAX_NODES) == (32, 100_000)
