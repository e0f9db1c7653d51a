"""The training loss as one object with named parts (the scvi-tools habit)."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class LossOutput:
    """``total`` is what is optimised; ``parts`` are its weighted terms, ``extra`` diagnostics."""

    total: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)
    extra: dict[str, Tensor] = field(default_factory=dict)

    def scalars(self, prefix: str = "") -> dict[str, float]:
        """Every term and diagnostic as floats, for logging."""
        items = {"loss": self.total, **self.parts, **self.extra}
        return {f"{prefix}{k}": float(v.detach()) for k, v in items.items()}
