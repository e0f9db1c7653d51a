"""The two-stage OMIB schedule as a LightningModule.

Epochs ``[0, warmup_epochs)`` are stage 1 (encoders and TRB heads only; the other parameters get
no gradient, so the optimiser leaves them alone). At the first main-stage epoch the β bound is
estimated from the warm-up representations and the one-class centres are fixed; β, the centres
and the EMA of r_m are buffers, so checkpoints resume mid-schedule.

Under DDP every process ends up with the same β, centres and r: the representations behind the
centres are gathered from all processes (in the order a single process would have seen them),
process 0 estimates β and broadcasts it, and r averages the divergences of all processes' batches
(:class:`~omib_st.module.DynamicWeights`).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from omib_st.config import MIConfig, TrainConfig
from omib_st.errors import OmibError
from omib_st.module import FUSED, MINE, OMIB, BetaBound, estimate_beta_bound

_DIVERGED_FIX = (
    "lower train.lr, or set train.precision to 32 on a GPU, and check the input for extreme values"
)


class OMIBLightning(L.LightningModule):
    """Trains an :class:`~omib_st.module.OMIB` on batches ``{"inputs", "target"?, "reconstruction"?}``."""

    def __init__(
        self,
        model: OMIB,
        train: TrainConfig = TrainConfig(),
        mi: MIConfig = MIConfig(),
        run_id: str | None = None,
    ):
        super().__init__()
        self.model, self.train_config, self.mi_config = model, train, mi
        self.bound: BetaBound | None = None
        self.run_id = run_id
        self.history: list[dict[str, float]] = []
        """One dict of epoch-level metrics per training epoch."""
        self._sums: dict[str, dict[str, tuple[float, int]]] = {}
        self._epoch: dict[str, float] = {}
        """The latest epoch-level value of every metric (what the history records)."""

    @property
    def stage(self) -> str:
        return "warmup" if self.current_epoch < self.train_config.warmup_epochs else "main"

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.model.parameters(),
            lr=self.train_config.lr,
            weight_decay=self.train_config.weight_decay,
            foreach=True,
        )

    def _step(self, batch: dict[str, Any], prefix: str) -> torch.Tensor:
        output = self.model(batch["inputs"], stage=self.stage)
        loss = self.model.loss(output, batch.get("target"), batch.get("reconstruction"))
        size = next(iter(output.z.values())).shape[0]
        scalars = loss.scalars(f"{prefix}/") | {
            f"{prefix}/{self.stage}_loss": float(loss.total.detach())
        }
        sums = self._sums.setdefault(prefix, {})
        for key, value in scalars.items():
            total, count = sums.get(key, (0.0, 0))
            sums[key] = (total + value * size, count + size)
        return loss.total

    def _log_epoch(self, prefix: str) -> None:
        """The epoch's batch-size-weighted means of what ``_step`` accumulated, averaged over
        processes in one reduction, go to the history. Only what callbacks monitor is also
        logged through Lightning, whose per-key logging costs more than a small model's training
        step: the main stage's ``<prefix>/main_loss`` and ``<prefix>/task``, for the validation
        data when there is any, else for the training data."""
        sums = self._sums.pop(prefix, {})
        if not sums:
            return
        keys = list(sums)
        means = torch.tensor([sums[k][0] / sums[k][1] for k in keys], device=self.device)
        means = self.trainer.strategy.reduce(means, reduce_op="mean")
        epoch = dict(zip(keys, means.tolist()))
        self._epoch.update(epoch)
        monitored = "val" if self.trainer.val_dataloaders is not None else "train"
        if self.stage == "main" and prefix == monitored:
            keys = {f"{prefix}/main_loss", f"{prefix}/task"}
            self.log_dict({k: v for k, v in epoch.items() if k in keys}, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")
        self.history.append({"epoch": self.current_epoch, **self._epoch})

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self._step(batch, "train")
        if not torch.isfinite(loss.detach()):
            raise OmibError(
                f"training diverged at epoch {self.current_epoch} (loss {float(loss.detach()):g})",
                _DIVERGED_FIX,
            )
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._step(batch, "val")

    def on_train_epoch_start(self) -> None:
        epoch, warmup = self.current_epoch, self.train_config.warmup_epochs
        # Random draws (noise, dropout, reparameterisation) depend only on (seed, epoch), so a run
        # resumed from a checkpoint continues exactly as the uninterrupted one would have.
        L.seed_everything(
            self.train_config.seed * 100_003 + epoch + self.global_rank, verbose=False
        )
        if epoch == 0 and warmup > 0:
            self._set_missing_centres("warmup")
        if epoch == warmup:
            if self.model.config.omf:
                self._estimate_beta()
            self._set_missing_centres("main")

    @torch.no_grad()
    def collect(
        self, stage: str, max_samples: int | None = None, *, heads: bool = True
    ) -> dict[str, torch.Tensor]:
        """z_m and (with ``heads``) head outputs over the training data, in eval mode (up to
        ``max_samples``).

        Under DDP every process gets the union of all processes' shards, in the order of the
        undistributed sampler (sample i of process r is item ``i × world_size + r``), without
        the sampler's padding: the same tensors a single process would collect.
        """
        was_training = self.model.training
        self.model.eval()
        parts: dict[str, list[torch.Tensor]] = {}
        seen = 0
        for batch in self.trainer.train_dataloader:
            batch = self.transfer_batch_to_device(batch, self.device, 0)
            out = self.model(batch["inputs"], stage=stage)
            values = {f"z:{m}": v for m, v in out.z.items()}
            if heads:
                values |= {f"head:{m}": v for m, v in out.branch.items()}
                if out.prediction is not None:
                    values[f"head:{FUSED}"] = out.prediction
            for key, value in values.items():
                parts.setdefault(key, []).append(value.float())
            seen += next(iter(out.z.values())).shape[0]
            if max_samples is not None and seen * self.trainer.world_size >= max_samples:
                break
        self.model.train(was_training)
        gathered = {k: torch.cat(v) for k, v in parts.items()}
        if not all(torch.isfinite(v).all() for v in gathered.values()):
            raise OmibError(
                f"training diverged at epoch {self.current_epoch} (NaN or infinite "
                "representations after the last optimiser step)",
                _DIVERGED_FIX,
            )
        if self.trainer.world_size > 1:  # every process sees the union of the shards
            total = len(self.trainer.train_dataloader.dataset)
            gathered = {
                k: self.all_gather(v).transpose(0, 1).flatten(0, 1)[:total]
                for k, v in gathered.items()
            }
        return gathered

    def _set_missing_centres(self, stage: str) -> None:
        task = self.model.task
        if not task.needs_centres:
            return
        heads = [h for h in task.heads if not task.is_centre_set(h)]
        heads = [h for h in heads if h != FUSED or stage == "main"]
        if heads:
            outputs = self.collect(stage)
            for head in heads:
                task.set_centre(head, outputs[f"head:{head}"])

    def _estimate_beta(self) -> None:
        mi = self.mi_config
        collected = self.collect(
            "warmup" if self.train_config.warmup_epochs else "main", max_samples=8192, heads=False
        )
        z = {m: collected[f"z:{m}"] for m in self.model.modalities}
        estimator = MINE(
            hidden_dim=mi.hidden_dim,
            steps=mi.steps,
            batch_size=mi.batch_size,
            lr=mi.lr,
            ema_momentum=mi.ema_momentum,
            eval_fraction=mi.eval_fraction,
            seed=self.train_config.seed,
        )
        config = self.model.config
        bound = None
        if self.global_rank == 0:  # one estimate, broadcast: every process uses the same β
            bound = estimate_beta_bound(z, estimator, beta=config.beta, scale=config.beta_scale)
        if self.trainer.world_size > 1:
            bound = self.trainer.strategy.broadcast(bound, src=0)
        self.bound = bound
        if not 0 < self.bound.beta < float("inf"):
            raise OmibError(
                f"the β bound is undefined (joint entropy estimate {self.bound.joint_entropy:.3g} nats: "
                "the warm-up representations carry no information)",
                "train longer in warm-up or set omib.beta to a number",
            )
        self.model.set_beta(self.bound.beta)
        self._epoch.update(
            {"bound/beta": self.bound.beta, "bound/joint_entropy": self.bound.joint_entropy}
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["omib_bound"] = None if self.bound is None else self.bound.to_dict()
        checkpoint["omib_run_id"] = self.run_id

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved_run = checkpoint.get("omib_run_id")
        if self.run_id is not None and saved_run != self.run_id:
            raise OmibError(
                "the checkpoint in train.checkpoint_dir belongs to another run (different data or "
                "settings)",
                "resume with the same references and configuration, or empty train.checkpoint_dir",
            )
        saved = checkpoint.get("omib_bound")
        self.bound = None if saved is None else BetaBound(**saved)
