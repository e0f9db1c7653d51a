import pytest

from omib_st.errors import OmibError
from omib_st.io import atomic_path


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
