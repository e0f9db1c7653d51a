"""Per-field rules and the Section base (omib_st.config.rules)."""

from dataclasses import dataclass

import pytest

from omib_st.config.rules import (
    FRACTION,
    OPEN_FRACTION,
    POSITIVE,
    Section,
    fraction,
    non_negative,
    open_fraction,
    positive,
    random_seed,
)
from omib_st.errors import OmibError


@dataclass(frozen=True)
class Toy(Section):
    section = "toy"

    size: int = positive(2)
    low: float = non_negative(0.0)
    high: float = non_negative(1.0)
    share: float = fraction(0.5)
    quantile: float | None = open_fraction(None)
    seed: int = random_seed(0)
    name: str = "x"

    def check(self) -> None:
        self.at_most("low", "high", "give low ≤ high")


@dataclass(frozen=True)
class Bare(Section):
    size: int = positive(1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": 0}, r"config toy\.size = 0 must be > 0; give a positive value\.$"),
        ({"low": -0.5}, r"toy\.low = -0\.5 must be >= 0"),
        ({"share": 1.0}, r"toy\.share = 1\.0 must be in \[0, 1\); give a fraction"),
        ({"quantile": 0.0}, r"toy\.quantile = 0\.0 must be in \(0, 1\)"),
        ({"seed": 2**32}, r"toy\.seed = 4294967296 is not a seed \(0 to 4294967295\)"),
        ({"low": 2.0, "high": 1.0}, r"config toy\.low = 2 is above toy\.high = 1; give low ≤ high"),
    ],
)
def test_each_field_is_checked_against_its_own_rule_in_one_line(changes, message):
    with pytest.raises(OmibError, match=message):
        Toy(**changes)


def test_values_inside_the_rules_and_non_numbers_pass():
    toy = Toy(size=1, low=0.0, high=0.0, share=0.0, quantile=0.5, seed=2**32 - 1)
    assert toy.quantile == 0.5 and Toy(quantile=None).quantile is None
    for rule in (POSITIVE, FRACTION, OPEN_FRACTION):  # None, booleans and words are not numbers
        for value in (None, True, "auto"):
            rule.check("any", value)


def test_a_section_without_a_name_names_the_bare_field():
    with pytest.raises(OmibError, match=r"^config size = 0 must be > 0"):
        Bare(size=0)
    assert Toy.path("size") == "toy.size" and Bare.path("size") == "size"
    assert Section.removed == {} and Bare.removed == {}
