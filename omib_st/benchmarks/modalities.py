"""Checking a benchmark's ``modalities`` setting (light: no torch import)."""

from __future__ import annotations

from collections.abc import Iterable

from omib_st.errors import OmibError


def check_modalities(
    benchmark: str, modalities: Iterable[str], known: Iterable[str], fix: str
) -> tuple[str, ...]:
    """The modalities as a tuple; an error unless they are distinct, known and not empty."""
    modalities = tuple(modalities)
    if not modalities or len(set(modalities)) != len(modalities) or set(modalities) - set(known):
        raise OmibError(f"{benchmark} modalities {','.join(modalities)} are not valid", fix)
    return modalities
