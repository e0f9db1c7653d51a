"""omib_st.io.atomic: outputs written whole or not at all; a failed write is one line."""

import errno
import re
from pathlib import Path

import pytest

from omib_st.errors import OmibError, WriteError
from omib_st.io import atomic_path
from omib_st.io.atomic import write_failure


def test_file_is_replaced_only_on_success(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv" and not tmp.exists()
        tmp.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


def test_error_leaves_target_and_no_temp(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_folders(tmp_path):
    target = tmp_path / "model"
    for content in ("first", "second"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "weights.pt").write_text(content)
        assert (target / "weights.pt").read_text() == content
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "weights.pt").write_text("broken")
        raise ValueError
    assert (target / "weights.pt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_missing_parent(tmp_path):
    with pytest.raises(OmibError, match="output folder .* does not exist"):
        with atomic_path(tmp_path / "no" / "file.txt"):
            pass


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
