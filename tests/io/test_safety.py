"""omib_st.io.safety: bounded parsing, the output rule, failed writes."""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import pytest

from omib_st.errors import OmibError, WriteError, short, short_name
from omib_st.io import atomic_path
from omib_st.io.safety import (
    Output,
    check_outputs,
    is_model_folder,
    load_json,
    load_yaml,
    write_failure,
)


def test_short_is_bounded_for_huge_and_shared_values():
    bomb = ["lol"] * 10
    for _ in range(40):  # 10^40 leaves if printed in full
        bomb = [bomb] * 10
    start = time.perf_counter()
    assert len(short(bomb)) <= 100
    assert len(short(10**5000)) <= 100  # str() of it would raise
    assert len(short("x" * 10**7)) <= 100
    assert len(short_name("y" * 10**7)) <= 100
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(
    "text, match",
    [
        ("a: " + "[" * 100 + "]" * 100, "nested more than 32"),
        ("a: &a [*a]", "contains it"),
        (
            "a:\n  - &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
            + "".join(
                f"  - &x{i} [{', '.join(['*x' if i == 0 else f'*x{i - 1}'] * 10)}]\n"
                for i in range(8)
            ),
            "aliases are expanded",
        ),
        # merge keys flatten their mappings: nested merges grow exponentially
        (
            "b0: &b0 {k0: 1, k1: 2}\n"
            + "".join(
                f"b{i}: &b{i} {{<<: [*b{i - 1}, *b{i - 1}], m{i}: 1}}\n" for i in range(1, 40)
            ),
            "aliases are expanded",
        ),
        ("!!python/object/apply:os.system ['true']", "is not valid YAML"),
        ("a: " + "9" * 5000, "is not valid YAML"),
    ],
    ids=["deep", "recursive", "alias bomb", "merge bomb", "tag", "long int"],
)
def test_load_yaml_refuses_hostile_documents(text, match):
    start = time.perf_counter()
    with pytest.raises(OmibError, match=match):
        load_yaml(text, "config file x.yaml", "fix it")
    assert time.perf_counter() - start < 5


def test_load_yaml_reads_plain_documents():
    assert load_yaml("a: &x 1\nb: *x\nc: [1, 2]\n", "x", "fix") == {"a": 1, "b": 1, "c": [1, 2]}
    assert load_yaml("", "x", "fix") is None


def test_load_json_bounds(tmp_path):
    path = tmp_path / "f.json"
    path.write_text("[" * 40 + "]" * 40)
    with pytest.raises(OmibError, match="nested more than 32"):
        load_json(path, "file", "fix", max_bytes=1000)
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(OmibError, match="bytes"):
        load_json(path, "file", "fix", max_bytes=1000)
    with pytest.raises(OmibError, match="nested"):
        load_json(path, "file", "fix", max_bytes=1 << 20)
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(OmibError, match="not UTF-8"):
        load_json(path, "file", "fix", max_bytes=1000)


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


@pytest.mark.parametrize(
    "err, match",
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "the disk is full"),
        (OSError(errno.EACCES, "Permission denied"), r"failed \(Permission denied\)"),
        (
            RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed"),
            "failed",
        ),
    ],
)
def test_write_failures_are_one_line(err, match):
    failure = write_failure(err, Path("out.h5ad"))
    assert isinstance(failure, WriteError)
    assert "\n" not in str(failure)
    assert "out.h5ad" in str(failure)
    assert re.search(match, str(failure))


@pytest.mark.parametrize("err", [ValueError("bad"), OmibError("x"), KeyboardInterrupt()])
def test_other_errors_are_not_write_failures(err):
    assert write_failure(err, Path("out.h5ad")) is None


def test_atomic_path_cleans_up_and_names_the_output(tmp_path):
    with pytest.raises(WriteError, match=r"while writing .*/out\.h5ad;") as caught:
        with atomic_path(tmp_path / "out.h5ad") as tmp, atomic_path(tmp) as inner:
            inner.write_bytes(b"\0" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
    assert ".tmp-" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
