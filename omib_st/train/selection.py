"""Model selection of supervised training (the synthetic, CREMA-D and CMU-MOSI benchmarks, the
detector's supervised mode): keep the weights of the epoch with the lowest validation loss, and
stop early when it stops falling.

:class:`BestWeights` serves the hand-written training loops of the baselines;
:class:`BestState` is the same rule as a Lightning callback for :func:`omib_st.train.fit`, whose
own early stopping (main-stage epochs only, on ``val/main_loss``) keeps the last weights rather
than the best ones. The kept weights are a CPU copy.
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import Callback


class BestWeights:
    """The weights of the epoch with the lowest validation loss so far (``state``, ``epoch``,
    ``best``), and the early-stopping rule: stop once ``patience`` epochs have passed since that
    epoch (``patience`` 0: never stop)."""

    def __init__(self, patience: int = 0) -> None:
        self.patience = patience
        self.best: float = math.inf
        self.epoch: int | None = None
        self.state: dict[str, Any] | None = None

    def update(self, model: Any, loss: float, epoch: int) -> bool:
        """Record epoch ``epoch``'s validation ``loss``; keep ``model``'s weights when it is the
        lowest yet. Returns whether training should stop."""
        if loss < self.best:
            self.best, self.epoch = loss, epoch
            self.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            return False
        return self.patience > 0 and self.epoch is not None and epoch - self.epoch >= self.patience

    def restore(self, model: Any) -> None:
        """Load the kept weights into ``model`` (nothing when no epoch was recorded)."""
        if self.state is not None:
            model.load_state_dict(self.state)


class BestState(Callback, BestWeights):
    """:class:`BestWeights` over the main-stage epochs of :func:`omib_st.train.fit`, on
    ``val/task`` (the fused head's task loss); never stops training itself."""

    def __init__(self) -> None:
        BestWeights.__init__(self)

    def state_dict(self) -> dict[str, Any]:
        """Saved in a checkpoint, so a resumed fit still knows its best epoch so far."""
        return {"best": self.best, "epoch": self.epoch, "state": self.state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.epoch = state_dict["best"], state_dict["epoch"]
        self.state = state_dict["state"]

    def on_validation_end(self, trainer: Any, module: Any) -> None:
        value = trainer.callback_metrics.get("val/task")
        if trainer.sanity_checking or module.stage != "main" or value is None:
            return
        self.update(module.model, float(value), trainer.current_epoch)
