import pytest
import torch

from omib_st.config import MIConfig, OMIBConfig, TrainConfig
from omib_st.errors import OmibError
from omib_st.module import OMIB, Classification, OneClass
from omib_st.nn import MLP
from omib_st.train import ModalityDataset, fit, make_loader, resolve_accelerator

FAST = TrainConfig(warmup_epochs=2, max_epochs=3, batch_size=64, patience=0, progress_bar=False)
FAST_MI = MIConfig(steps=20, batch_size=64)


def paired_data(n=512, seed=0):
    """Four classes = (sign of a factor of a, sign of a factor of b): each view alone gets 50 %."""
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g)
    return {"a": a, "b": b}, (2 * (a[:, 0] > 0) + (b[:, 0] > 0)).long()


def classifier(seed=0, **config):
    torch.manual_seed(seed)
    encoders = {m: MLP(4, 16, (32,)) for m in ("a", "b")}
    return OMIB(encoders, Classification(4), OMIBConfig(latent_dim=8, fused_dim=16, **config))


def run(config=FAST, **model_config):
    inputs, target = paired_data()
    model = classifier(**model_config)
    loader = make_loader(
        ModalityDataset(inputs, target), config.batch_size, shuffle=True, seed=config.seed
    )
    return model, fit(model, loader, config=config, mi=FAST_MI)


def test_same_seed_gives_identical_losses_on_cpu():
    _, first = run()
    _, second = run()
    assert len(first.history) == FAST.warmup_epochs + FAST.max_epochs
    assert first.history == second.history


def test_schedule_logs_every_part_r_and_beta():
    model, result = run()
    warm, last = result.history[FAST.warmup_epochs - 1], result.history[-1]
    assert "train/branch" in warm and "train/kl" not in warm
    assert {"train/task", "train/trb", "train/kl", "train/r_a", "train/r_b", "train/beta"} <= set(
        last
    )
    bound = result.bound
    assert bound.beta == pytest.approx(bound.m_upper_safe) and bound.beta > 0
    assert bound.m_upper_safe == pytest.approx(1 / (3 * bound.joint_entropy))
    assert float(model.beta) == pytest.approx(bound.beta)
    assert 0 < last["train/r_b"] < 2


def test_beta_scale_and_fixed_beta_are_applied():
    _, scaled = run(beta_scale=10.0)
    assert scaled.bound.beta == pytest.approx(10 * scaled.bound.m_upper_safe)
    _, fixed = run(beta=0.5)
    assert fixed.bound.beta == 0.5


@pytest.mark.parametrize("min_epochs", [0, 6])
def test_early_stopping_waits_for_min_main_stage_epochs(min_epochs):
    inputs, target = paired_data()
    unrelated = torch.randint(0, 4, target.shape, generator=torch.Generator().manual_seed(1))
    config = TrainConfig(
        warmup_epochs=2,
        max_epochs=12,
        batch_size=64,
        lr=3e-2,
        patience=1,
        min_epochs=min_epochs,
        progress_bar=False,
    )
    train = make_loader(ModalityDataset(inputs, target), 64, shuffle=True, seed=0)
    val = make_loader(ModalityDataset(inputs, unrelated), 64, shuffle=False, seed=0)
    result = fit(classifier(), train, val, config=config, mi=FAST_MI)  # val loss rises at once
    assert result.stopped_early
    assert result.epochs == config.warmup_epochs + max(min_epochs, 2)


def test_fusion_learns_a_task_no_single_modality_solves():
    config = TrainConfig(
        warmup_epochs=3, max_epochs=20, batch_size=64, lr=3e-3, patience=0, progress_bar=False
    )
    inputs, target = paired_data(n=1024)
    model = classifier()
    loader = make_loader(ModalityDataset(inputs, target), 64, shuffle=True)
    fit(model, loader, config=config, mi=MIConfig(steps=200))
    inputs, target = paired_data(seed=1)
    accuracy = (model.predict(inputs) == target).float().mean()
    assert accuracy > 0.85


def test_checkpoint_resume_reaches_the_same_weights(tmp_path):
    inputs, target = paired_data()
    loader = lambda: make_loader(ModalityDataset(inputs, target), 64, shuffle=True)  # noqa: E731
    full = classifier()
    fit(full, loader(), config=FAST, mi=FAST_MI)
    partial_config = TrainConfig(
        **{**FAST.__dict__, "max_epochs": 1, "checkpoint_dir": str(tmp_path)}
    )
    resumed = classifier()
    fit(resumed, loader(), config=partial_config, mi=FAST_MI)  # stops after warm-up + 1 epoch
    resumed_config = TrainConfig(**{**FAST.__dict__, "checkpoint_dir": str(tmp_path)})
    result = fit(resumed, loader(), config=resumed_config, mi=FAST_MI, resume=True)
    assert result.bound is not None
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name


def test_cuda_request_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(OmibError, match="no CUDA GPU"):
        resolve_accelerator("cuda")
    assert resolve_accelerator("auto") == "cpu"


def test_one_class_does_not_collapse_and_ranks_outliers_higher():
    g = torch.Generator().manual_seed(0)

    def normal(n):  # two views of a low-dimensional normal manifold
        latent = torch.randn(n, 2, generator=g)
        mix_a, mix_b = (
            torch.tensor([[1.0, 0.5, -0.3, 0.2], [0.2, -1.0, 0.4, 0.8]]),
            torch.tensor([[0.5, 0.5, 1.0, -0.6], [-0.7, 0.3, 0.2, 1.0]]),
        )
        return {
            "a": latent @ mix_a + 0.05 * torch.randn(n, 4, generator=g),
            "b": latent @ mix_b + 0.05 * torch.randn(n, 4, generator=g),
        }

    train, held_out = normal(1024), normal(256)
    outliers = normal(64)
    outliers["b"] = outliers["b"] + 1.5 * torch.randn(
        64, 4, generator=g
    )  # off the manifold in one view
    torch.manual_seed(0)
    encoders = {m: MLP(4, 16, (32,)) for m in ("a", "b")}
    model = OMIB(
        encoders,
        OneClass(8, heads=["a", "b"]),
        OMIBConfig(latent_dim=8, fused_dim=16),
        reconstruction_dims={"a": 4, "b": 4},
    )
    loader = make_loader(ModalityDataset(train, reconstruction=train), 128, shuffle=True)
    config = TrainConfig(warmup_epochs=3, max_epochs=15, lr=3e-3, patience=0, progress_bar=False)
    fit(model, loader, config=config, mi=FAST_MI)
    model.eval()
    normal = model.task.anomaly_parts(model(held_out), held_out)
    outlier = model.task.anomaly_parts(model(outliers), outliers)
    for part in (
        "svdd",
        "reconstruction_a",
        "reconstruction_b",
    ):  # no part collapses to a constant on normal data
        assert normal[part].std() > 1e-2 * normal[part].mean() > 0
    # standardised on the normal scores, the combined evidence ranks the outliers higher
    combined = {
        name: sum((p[k] - normal[k].median()) / normal[k].std() for k in p)
        for name, p in [("normal", normal), ("outlier", outlier)]
    }
    auc = (combined["outlier"][:, None] > combined["normal"][None, :]).float().mean()
    assert auc > 0.9, auc


def test_ddp_strategies_find_unused_parameters():
    from omib_st.train import resolve_strategy

    assert resolve_strategy("ddp") == "ddp_find_unused_parameters_true"
    assert resolve_strategy("ddp_spawn") == "ddp_spawn_find_unused_parameters_true"
    assert resolve_strategy("auto", devices=2) == "ddp_find_unused_parameters_true"
    assert resolve_strategy("auto", num_nodes=2) == "ddp_find_unused_parameters_true"
    assert resolve_strategy("auto") == "auto" and resolve_strategy("fsdp") == "fsdp"


def test_sampler_shards_are_the_single_process_batches(monkeypatch):
    import omib_st.train.data as data
    from omib_st.train import EpochShuffleSampler

    single = EpochShuffleSampler(103, seed=3)
    single.set_epoch(2)
    order = list(single)
    shards = []
    for rank in range(2):
        monkeypatch.setattr(data, "_world", lambda rank=rank: (2, rank))
        sampler = EpochShuffleSampler(103, seed=3)
        sampler.set_epoch(2)
        shards.append(list(sampler))
        assert len(sampler) == len(shards[-1]) == 52  # padded to a multiple of 2
    interleaved = [i for pair in zip(*shards) for i in pair]
    assert interleaved[:103] == order and interleaved[103:] == order[:1]
    # global batch k of 2 × 8 = single-process batch k of 16
    for k in range(6):
        assert sorted(shards[0][8 * k : 8 * k + 8] + shards[1][8 * k : 8 * k + 8]) == sorted(
            order[16 * k : 16 * k + 16]
        )


def test_sampler_drops_a_last_batch_of_one():
    from omib_st.train import EpochShuffleSampler

    assert (
        len(list(EpochShuffleSampler(65, batch_size=64)))
        == len(EpochShuffleSampler(65, batch_size=64))
        == 64
    )
    assert len(EpochShuffleSampler(66, batch_size=64)) == 66


def test_compile_knob_compiles_the_encoders(monkeypatch):
    compiled = []
    original = torch.nn.Module.compile

    def spy(self, *args, **kwargs):
        compiled.append(type(self).__name__)
        return original(self, backend="eager", dynamic=True)  # no inductor build in the test

    monkeypatch.setattr(torch.nn.Module, "compile", spy)
    config = TrainConfig(**{**FAST.__dict__, "compile": True, "max_epochs": 1})
    model, result = run(config)
    assert compiled == ["MLP", "MLP"] and len(result.history) == config.warmup_epochs + 1
