"""omib_st.io.safety.untrusted: config and model-folder text read with bounded size and depth."""

from __future__ import annotations

import time

import pytest

from omib_st.errors import OmibError, short, short_name
from omib_st.io.safety.untrusted import load_json, load_yaml, read_text


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


def test_read_text_refuses_what_is_not_small_text(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("a: 1\n")
    assert read_text(path, "config file", "fix it", max_bytes=10) == "a: 1\n"
    with pytest.raises(
        OmibError, match=r"config file .* is 5 bytes \(at most 4 are read\); fix it\."
    ):
        read_text(path, "config file", "fix it", max_bytes=4)
    path.write_bytes(b"a: \x00")
    with pytest.raises(OmibError, match="holds NUL bytes; it is not a text file"):
        read_text(path, "config file", "fix it", max_bytes=10)
    with pytest.raises(OmibError, match=r"cannot read config file .*nope \(No such file"):
        read_text(tmp_path / "nope", "config file", "fix it", max_bytes=10)
