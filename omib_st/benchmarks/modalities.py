"""Settings shared by the CREMA-D and MOSI configurations (light: no torch import): the
``modalities`` check and the ``train`` field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field
from typing import Any

from omib_st.config import TrainConfig
from omib_st.errors import OmibError


def check_modalities(
    benchmark: str, modalities: Iterable[str], known: Iterable[str], fix: str
) -> tuple[str, ...]:
    """The modalities as a tuple; an error unless they are distinct, known and not empty."""
    modalities = tuple(modalities)
    if not modalities or len(set(modalities)) != len(modalities) or set(modalities) - set(known):
        raise OmibError(f"{benchmark} modalities {','.join(modalities)} are not valid", fix)
    return modalities


def set_modalities(config: Any, benchmark: str, known: Iterable[str], fix: str) -> None:
    """Check a (frozen) config's ``modalities`` with :func:`check_modalities` and store them back
    as a tuple."""
    modalities = check_modalities(benchmark, config.modalities, known, fix)
    object.__setattr__(config, "modalities", modalities)


def train_field(**defaults: Any) -> Any:
    """A dataclass field whose default is ``TrainConfig(**defaults)``."""
    return field(default_factory=lambda: TrainConfig(**defaults))
