"""omib_st.io.validate.problem: how a check words what is wrong."""

import numpy as np

from omib_st.io.validate.problem import examples, problem, type_name


def test_problem_is_one_line_with_its_fix():
    assert problem("X is bad.", "fix it.") == "X is bad; fix it."
    assert problem("spread\nover  lines") == "spread over lines."


def test_examples_are_few_quoted_and_short():
    assert examples(["a", "b", "c", "d"]) == "'a', 'b', 'c'"
    assert examples(np.array(["x" * 100]), n=1) == repr("x" * 39 + "…")


def test_type_name():
    assert type_name([1]) == "a list"
    assert type_name(np.zeros(2, dtype=np.int8)) == "an array of dtype int8"
