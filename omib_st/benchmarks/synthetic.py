"""The paper's synthetic check (SIM-I / SIM-II / SIM-III): OMIB against the optimum.

One run trains one method on one setting and seed and returns a flat record (test accuracy, β,
M_u, Ĥ, Î, final r). Methods:

- ``omib``: the core with its default config (β = ``beta_scale`` × M_u^safe);
- ``optimal``: the ground-truth optimal representation, an MLP head on the true [a_0, a_1, a_2];
- ``concat_mlp``: one MLP on [v_1 ‖ v_2], no bottleneck;
- ablations ``no_warmup`` (warmup_epochs = 0), ``no_cross_attention`` (fusion = "concat"),
  ``no_omf`` (no fusion block) and ``fixed_r`` (r = 1).

Every model keeps the weights of the epoch with the lowest validation cross-entropy (the fused
head's, main stage only, for OMIB); the test split is only predicted.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omib_st.config import MIConfig, OMIBConfig, TrainConfig, replace, to_dict

SETTINGS = ("SIM-I", "SIM-II", "SIM-III")
ABLATIONS: dict[str, dict[str, Any]] = {
    "no_warmup": {"train.warmup_epochs": 0},
    "no_cross_attention": {"omib.fusion": "concat"},
    "no_omf": {"omib.omf": False},
    "fixed_r": {"omib.dynamic_r": False},
}
BASELINES = ("optimal", "concat_mlp")
METHODS = ("omib", *BASELINES, *ABLATIONS)
BETA_SCALES = (0.1, 0.5, 1.0, 2.0, 10.0, 100.0)
LABELS = {
    "omib": "OMIB",
    "optimal": "optimal [a0, a1, a2]",
    "concat_mlp": "MLP on [v1 ‖ v2]",
    "no_warmup": "w/o warm-up",
    "no_cross_attention": "w/o cross-attention (concat)",
    "no_omf": "w/o OMF block",
    "fixed_r": "fixed r = 1",
}


@dataclass(frozen=True)
class SyntheticConfig:
    """Data, model and training defaults of the synthetic benchmark."""

    n_train: int = 10000
    n_val: int = 2000
    n_test: int = 5000
    component_dim: int = 8
    input_dim: int = 64
    noise: float = 0.1
    label_noise: float = 0.325
    nonlinear: bool = True
    encoder_hidden: int = 64
    encoder_dim: int = 32
    encoder_dropout: float = 0.3
    head_hidden: int = 32
    omib: OMIBConfig = field(default_factory=lambda: OMIBConfig(latent_dim=16, fused_dim=16))
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            warmup_epochs=5,
            max_epochs=30,
            patience=8,
            min_epochs=0,  # early stopping as for the baselines (best-validation selection)
            batch_size=512,
            lr=1e-3,
            weight_decay=1e-2,
            progress_bar=False,
            device="cpu",
        )  # fmt: skip
    )
    mi: MIConfig = field(default_factory=MIConfig)


QUICK: dict[str, Any] = {
    "n_train": 1500, "n_val": 500, "n_test": 1000, "train.warmup_epochs": 2,
    "train.max_epochs": 6, "train.patience": 3, "train.batch_size": 128, "mi.steps": 60,
}  # fmt: skip
"""Overrides of ``--quick``: a smoke-sized run (seconds per method)."""


def make_config(quick: bool = False, **overrides: Any) -> SyntheticConfig:
    """Defaults, then the quick preset, then dotted ``overrides`` (e.g. ``{"train.lr": 3e-3}``)."""
    changes = {**(QUICK if quick else {}), **overrides}
    return replace(SyntheticConfig(), **changes) if changes else SyntheticConfig()


def run_synthetic(
    setting: str,
    *,
    method: str = "omib",
    seed: int = 0,
    beta_scale: float = 1.0,
    config: SyntheticConfig | None = None,
    quick: bool = False,
    **overrides: Any,
) -> dict[str, Any]:
    """Train ``method`` on a SIM setting (data and weights drawn from ``seed``); return a record.

    ``overrides`` are dotted config keys (``n_train``, ``train.max_epochs``, ``omib.latent_dim``…)
    applied on top of ``config`` (default: :class:`SyntheticConfig`, or its quick preset).
    """
    import torch

    from omib_st.benchmarks.synthetic_data import make_synthetic

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {list(METHODS)}")
    base = config if config is not None else make_config(quick)
    changes = {**overrides, **ABLATIONS.get(method, {}), "train.seed": seed}
    if method not in BASELINES:
        changes["omib.beta_scale"] = beta_scale
    cfg = replace(base, **changes)
    start = time.perf_counter()
    data = make_synthetic(
        setting, n_train=cfg.n_train, n_val=cfg.n_val, n_test=cfg.n_test,
        component_dim=cfg.component_dim, input_dim=cfg.input_dim, noise=cfg.noise,
        label_noise=cfg.label_noise, nonlinear=cfg.nonlinear, seed=seed,
    )  # fmt: skip
    torch.manual_seed(seed)
    if method in BASELINES:
        predict, summary = _train_baseline(method, data, cfg)
    else:
        predict, summary = _train_omib(data, cfg)
    accuracy = {
        split: float((predict(split) == data[split].target).float().mean())
        for split in ("val", "test")
    }
    record = {
        "setting": setting, "method": method, "seed": seed,
        "beta_scale": beta_scale if method not in BASELINES else math.nan,
        "test_acc": accuracy["test"], "val_acc": accuracy["val"],
        **summary, "seconds": round(time.perf_counter() - start, 2),
    }  # fmt: skip
    record["config"] = to_dict(cfg)
    return record


def _mlp_encoder(in_dim: int, cfg: SyntheticConfig):
    from omib_st.nn import MLP

    return MLP(in_dim, cfg.encoder_dim, (cfg.encoder_hidden,), dropout=cfg.encoder_dropout)


def _train_omib(data: dict, cfg: SyntheticConfig) -> tuple[Callable, dict[str, Any]]:
    """The OMIB core through :func:`omib_st.train.fit`, with best-validation weight selection."""
    from omib_st.module import OMIB, Classification
    from omib_st.train import ModalityDataset, fit, make_loader

    encoders = {m: _mlp_encoder(cfg.input_dim, cfg) for m in ("v1", "v2")}
    model = OMIB(encoders, Classification(2), cfg.omib, head_hidden=cfg.head_hidden)
    train = ModalityDataset(data["train"].inputs, data["train"].target)
    val = ModalityDataset(data["val"].inputs, data["val"].target)
    loaders = (
        make_loader(train, cfg.train.batch_size, shuffle=True, seed=cfg.train.seed),
        make_loader(val, 4096),
    )
    best = _best_state_callback()
    result = fit(model, *loaders, config=cfg.train, mi=cfg.mi, callbacks=[best])
    if best.state is not None:
        model.load_state_dict(best.state)
    bound = result.bound
    nan = math.nan
    summary = {
        "beta": float(model.beta) if bound is not None else nan,
        "m_upper_safe": bound.m_upper_safe if bound else nan,
        "m_upper_r1": bound.m_upper if bound else nan,
        "m_lower": bound.m_lower if bound else nan,
        "H_v1": bound.entropies["v1"] if bound else nan,
        "H_v2": bound.entropies["v2"] if bound else nan,
        "I_v1_v2": bound.mutual_information if bound else nan,
        "H_joint": bound.joint_entropy if bound else nan,
        "r_v2": float(model.weights.r[1]) if cfg.omib.omf else nan,
        "epochs": result.epochs,
        "best_epoch": best.epoch if best.epoch is not None else -1,
    }
    last = result.history[-1] if result.history else {}
    summary["kl_v1"] = last.get("train/kl_v1", nan)
    summary["kl_v2"] = last.get("train/kl_v2", nan)
    return lambda split: model.predict(data[split].inputs), summary


def _best_state_callback():
    """A Lightning callback that keeps the main-stage weights with the lowest ``val/task``."""
    from lightning.pytorch.callbacks import Callback

    class BestState(Callback):
        def __init__(self) -> None:
            self.best, self.epoch, self.state = math.inf, None, None

        def on_validation_end(self, trainer, module) -> None:
            value = trainer.callback_metrics.get("val/task")
            if trainer.sanity_checking or module.stage != "main" or value is None:
                return
            if float(value) < self.best:
                self.best, self.epoch = float(value), trainer.current_epoch
                self.state = copy.deepcopy(module.model.state_dict())

    return BestState()


def _train_baseline(
    method: str, data: dict, cfg: SyntheticConfig
) -> tuple[Callable, dict[str, Any]]:
    """``optimal`` (MLP head on [a_0, a_1, a_2]) or ``concat_mlp`` (encoder + head on [v_1 ‖ v_2]).

    Same optimiser, epoch budget (warm-up + main), patience and selection rule as OMIB.
    """
    import torch
    import torch.nn.functional as F

    from omib_st.nn import MLP

    def features(split: str) -> torch.Tensor:
        if method == "optimal":
            return data[split].optimal
        return torch.cat([data[split].inputs["v1"], data[split].inputs["v2"]], 1)

    x = {s: features(s) for s in ("train", "val")}
    y = {s: data[s].target for s in ("train", "val")}
    head = MLP(cfg.encoder_dim, 2, (cfg.head_hidden,))
    if method == "optimal":
        net = MLP(x["train"].shape[1], 2, (cfg.head_hidden,))
    else:
        net = torch.nn.Sequential(_mlp_encoder(x["train"].shape[1], cfg), torch.nn.GELU(), head)
    tc = cfg.train
    optimiser = torch.optim.AdamW(net.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    generator = torch.Generator().manual_seed(tc.seed)
    best, best_epoch, state, epoch = math.inf, -1, None, -1
    for epoch in range(tc.warmup_epochs + tc.max_epochs):
        net.train()
        for idx in torch.randperm(len(y["train"]), generator=generator).split(tc.batch_size):
            loss = F.cross_entropy(net(x["train"][idx]), y["train"][idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            val_loss = float(F.cross_entropy(net(x["val"]), y["val"]))
        if val_loss < best:
            best, best_epoch, state = val_loss, epoch, copy.deepcopy(net.state_dict())
        elif tc.patience > 0 and epoch - best_epoch >= tc.patience:
            break
    net.load_state_dict(state)
    net.eval()
    nan = math.nan
    summary = {key: nan for key in ("beta", "m_upper_safe", "m_upper_r1", "m_lower", "H_v1",
                                    "H_v2", "I_v1_v2", "H_joint", "r_v2", "kl_v1", "kl_v2")}  # fmt: skip
    summary.update({"epochs": epoch + 1, "best_epoch": best_epoch})

    @torch.no_grad()
    def predict(split: str) -> torch.Tensor:
        return net(features(split)).argmax(-1)

    return predict, summary


def plan(
    settings: Sequence[str] = SETTINGS,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    beta_scales: Sequence[float] | None = None,
    beta_scale: float = 1.0,
) -> list[dict[str, Any]]:
    """The runs of a table: every setting × seed × method (OMIB variants at ``beta_scale``),
    plus OMIB at every other β / M_u in ``beta_scales``."""
    unknown = [m for m in methods if m not in METHODS] + [s for s in settings if s not in SETTINGS]
    if unknown:
        raise ValueError(f"unknown setting(s) or method(s) {unknown}")
    runs = []
    for setting in settings:
        for seed in seeds:
            runs += [{"setting": setting, "method": m, "seed": seed, "beta_scale": beta_scale}
                     for m in methods]  # fmt: skip
            for scale in beta_scales or ():
                if scale != beta_scale or "omib" not in methods:
                    runs.append(
                        {"setting": setting, "method": "omib", "seed": seed, "beta_scale": scale}
                    )
    return runs


def run_table(
    settings: Sequence[str] = SETTINGS,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    beta_scales: Sequence[float] | None = None,
    beta_scale: float = 1.0,
    out: str | Path | None = None,
    quick: bool = False,
    log: Callable[[str], None] | None = print,
    **overrides: Any,
):
    """Run every setting × method × seed (and the β sweep); return one row per run.

    With ``out``, write ``table.csv`` (all runs), ``table.md`` (summary) and
    ``accuracy_vs_beta.png`` there.
    """
    import pandas as pd

    config = make_config(quick, **overrides)
    records = []
    for spec in plan(settings, methods, seeds, beta_scales, beta_scale):
        record = run_synthetic(spec.pop("setting"), config=config, **spec)
        record.pop("config")
        records.append(record)
        if log is not None:
            scale = record["beta_scale"]
            beta = f"β = {scale:g} M_u" if math.isfinite(scale) else ""
            log(f"{record['setting']:<8} {record['method']:<19} seed {record['seed']} {beta:<13} "
                f"test acc {record['test_acc']:.4f} ({record['seconds']:.0f} s)")  # fmt: skip
    table = pd.DataFrame(records)
    if out is not None:
        write_outputs(table, out)
    return table


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    """One run as JSON (NaN → null), written atomically."""
    path = Path(path)
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in record.items()}  # fmt: skip
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(clean, indent=1) + "\n")
    tmp.replace(path)


def read_records(paths: Iterable[str | Path]):
    """Run records (JSON files) back into a table."""
    import pandas as pd

    rows = []
    for path in paths:
        record = json.loads(Path(path).read_text())
        record.pop("config", None)
        rows.append(record)
    return pd.DataFrame(rows).astype({"beta_scale": float}).fillna(value=math.nan)


def summary_markdown(table) -> str:
    """Mean ± std (over seeds) of test accuracy per method and setting, the β sweep, estimates."""
    table = table.astype({"beta_scale": float})
    settings = [s for s in SETTINGS if s in set(table.setting)]
    main = table[table.beta_scale.isna() | (table.beta_scale == 1.0)]
    cell = lambda x: f"{x.mean():.3f} ± {x.std(ddof=0):.3f}"  # noqa: E731
    lines = ["Test accuracy, mean ± std over seeds (β = M_u for the OMIB variants).", "",
             "| method | " + " | ".join(settings) + " | runs |",
             "|---|" + "---|" * (len(settings) + 1)]  # fmt: skip
    for method in [m for m in METHODS if m in set(main.method)]:
        rows = main[main.method == method]
        cells = [cell(rows[rows.setting == s].test_acc) if (rows.setting == s).any() else "–"
                 for s in settings]  # fmt: skip
        lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + f" | {len(rows)} |")
    if {"omib", "optimal"} <= set(main.method):
        gaps = []
        for s in settings:
            o = main[(main.method == "omib") & (main.setting == s)].test_acc.mean()
            p = main[(main.method == "optimal") & (main.setting == s)].test_acc.mean()
            gaps.append(f"{p - o:+.3f}")
        lines.append("| optimum − OMIB | " + " | ".join(gaps) + " | |")
    sweep = table[table.method == "omib"]
    if sweep.beta_scale.nunique() > 1:
        lines += ["", "OMIB test accuracy against β (in units of M_u^safe).", "",
                  "| β / M_u | " + " | ".join(settings) + " |",
                  "|---|" + "---|" * len(settings)]  # fmt: skip
        for scale in sorted(sweep.beta_scale.unique()):
            rows = sweep[sweep.beta_scale == scale]
            cells = [cell(rows[rows.setting == s].test_acc) for s in settings]
            lines.append(f"| {scale:g} | " + " | ".join(cells) + " |")
    omib = main[main.method == "omib"]
    if len(omib):
        lines += ["", "Estimates of the OMIB runs (β = M_u), mean ± std over seeds (nats).", "",
                  "| quantity | " + " | ".join(settings) + " |",
                  "|---|" + "---|" * len(settings)]  # fmt: skip
        names = {"H_v1": "Ĥ(v1)", "H_v2": "Ĥ(v2)", "I_v1_v2": "Î(v1; v2)",
                 "H_joint": "Ĥ(v1, v2)", "m_upper_safe": "M_u^safe = β", "r_v2": "final r_2",
                 "kl_v1": "KL_1 (last epoch)", "kl_v2": "KL_2 (last epoch)"}  # fmt: skip
        for key, name in names.items():
            cells = [f"{omib[omib.setting == s][key].mean():.3g} ± "
                     f"{omib[omib.setting == s][key].std(ddof=0):.2g}" for s in settings]  # fmt: skip
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_beta_sweep(table, path: str | Path) -> None:
    """Test accuracy against β / M_u (log x), one line per setting, the optimum dashed."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    table = table.astype({"beta_scale": float})
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for i, setting in enumerate(s for s in SETTINGS if s in set(table.setting)):
        color = f"C{i}"
        rows = table[(table.method == "omib") & (table.setting == setting)]
        stats = rows.groupby("beta_scale").test_acc.agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3,
                    color=color, label=f"OMIB {setting}")  # fmt: skip
        optimum = table[(table.method == "optimal") & (table.setting == setting)].test_acc
        if len(optimum):
            ax.axhline(optimum.mean(), color=color, linestyle="--", linewidth=1,
                       label=f"optimum {setting}")  # fmt: skip
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("β / M_u (M_u = safe bound from MINE estimates)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Synthetic data: OMIB accuracy against β")
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = Path(path).with_name(Path(path).stem + ".tmp.png")
    fig.savefig(tmp, dpi=120)
    tmp.replace(path)


def write_outputs(table, out: str | Path) -> dict[str, Path]:
    """``table.csv``, ``table.md`` and (with a β sweep) ``accuracy_vs_beta.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "table.csv", "md": out / "table.md", "png": out / "accuracy_vs_beta.png"}
    tmp = {key: path.with_name(path.name + ".tmp") for key, path in paths.items()}
    table.to_csv(tmp["csv"], index=False)
    tmp["md"].write_text(summary_markdown(table))
    for key in ("csv", "md"):
        tmp[key].replace(paths[key])
    plot_beta_sweep(table, paths["png"])
    return paths
