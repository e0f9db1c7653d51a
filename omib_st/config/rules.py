"""Per-field range rules and the base class of every configuration section.

A field declares its rule where it is defined (``lr: float = positive(1e-3)``); the
:class:`Section` it belongs to checks every rule when it is made (by :func:`load_config`,
:func:`replace`, or directly) and then runs its own checks between fields (:meth:`Section.check`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from omib_st.errors import OmibError, short

RULE = "omib_st.rule"
"""The key of a field's rule in its ``metadata``."""


@dataclass(frozen=True)
class Rule:
    """A range a numeric setting must lie in, and the words of the error when it does not."""

    holds: Callable[[float], bool]
    problem: str
    """What is wrong, after ``config PATH = VALUE``, e.g. ``must be > 0``."""
    fix: str

    def check(self, path: str, value: Any) -> None:
        """Refuse ``value`` outside the range; ``None``, booleans and words are not numbers here
        (their type is checked by :func:`omib_st.config.from_dict`)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if not self.holds(value):
            raise OmibError(f"config {path} = {short(value)} {self.problem}", self.fix)


POSITIVE = Rule(lambda v: v > 0, "must be > 0", "give a positive value")
NON_NEGATIVE = Rule(lambda v: v >= 0, "must be >= 0", "give a non-negative value")
FRACTION = Rule(lambda v: 0 <= v < 1, "must be in [0, 1)", "give a fraction")
OPEN_FRACTION = Rule(
    lambda v: 0 < v < 1, "must be in (0, 1)", "give a fraction strictly between 0 and 1"
)
SEED = Rule(lambda v: 0 <= v < 2**32, "is not a seed (0 to 4294967295)", "give a non-negative seed")


def ruled(rule: Rule, default: Any) -> Any:
    """A dataclass field with ``default`` whose values must follow ``rule``."""
    return dataclasses.field(default=default, metadata={RULE: rule})


def positive(default: Any) -> Any:
    """A field whose values must be > 0."""
    return ruled(POSITIVE, default)


def non_negative(default: Any) -> Any:
    """A field whose values must be >= 0."""
    return ruled(NON_NEGATIVE, default)


def fraction(default: Any) -> Any:
    """A field whose values must lie in [0, 1)."""
    return ruled(FRACTION, default)


def open_fraction(default: Any) -> Any:
    """A field whose values must lie in (0, 1) (quantiles, priors: neither end is meaningful)."""
    return ruled(OPEN_FRACTION, default)


def random_seed(default: Any) -> Any:
    """A field holding a random seed numpy, torch and Lightning all accept."""
    return ruled(SEED, default)


class Section:
    """Base of the configuration dataclasses: checks each field's rule, then :meth:`check`.

    ``section`` is where the dataclass sits in a configuration (``"train"``), so that errors name
    the setting as a user writes it (``train.lr``). ``removed`` names fields that are no longer
    read, each with the reason: :func:`omib_st.config.from_dict` drops them from older
    configurations (saved models keep loading) instead of refusing them as unknown.
    """

    section: ClassVar[str] = ""
    removed: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):  # type: ignore[arg-type]
            rule = item.metadata.get(RULE)
            if rule is not None:
                rule.check(self.path(item.name), getattr(self, item.name))
        self.check()

    def check(self) -> None:
        """Checks between fields; none by default."""

    @classmethod
    def path(cls, name: str) -> str:
        """The dotted name of field ``name`` (``train.lr``)."""
        return f"{cls.section}.{name}" if cls.section else name

    def at_most(self, low: str, high: str, fix: str) -> None:
        """Refuse a configuration whose field ``low`` is above its field ``high``."""
        a, b = getattr(self, low), getattr(self, high)
        if _number(a) and _number(b) and a > b:
            raise OmibError(
                f"config {self.path(low)} = {a:g} is above {self.path(high)} = {b:g}", fix
            )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
