"""Leave-one-patient-out folds over the labelled her2st sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omib_st.benchmarks.her2st.data import patient
from omib_st.errors import OmibError


@dataclass(frozen=True)
class Fold:
    """One target section and the sections whose normal spots form its reference."""

    target: str
    references: tuple[str, ...]


def lopo_folds(sections: Sequence[str], targets: Sequence[str] | None = None) -> list[Fold]:
    """One fold per target section; its reference is every labelled section of other patients.

    Sections of the target's own patient are never in its reference (the patient, not only the
    section, is held out). Models then train on the reference's ``normal`` spots only, and the
    whole target section is scored.
    """
    sections = list(dict.fromkeys(sections))
    targets = sections if targets is None else list(targets)
    unknown = [t for t in targets if t not in sections]
    if unknown:
        raise OmibError(
            f"target section(s) {', '.join(unknown)} are not labelled sections of the data",
            f"choose from {', '.join(sections)}",
        )
    folds = []
    for target in targets:
        references = tuple(s for s in sections if patient(s) != patient(target))
        if not references:
            raise OmibError(
                f"no labelled section of another patient than {patient(target)} for target {target}",
                "add labelled sections of at least two patients",
            )
        folds.append(Fold(target, references))
    return folds
