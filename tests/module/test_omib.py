import pytest
import torch

from omib_st.config import OMIBConfig
from omib_st.module import OMIB, Classification, OneClass, Regression
from omib_st.nn import MLP


def make_model(modalities=("a", "b"), task=None, **config):
    torch.manual_seed(0)
    encoders = {m: MLP(6, 10, (12,)) for m in modalities}
    config = OMIBConfig(latent_dim=8, fused_dim=8, n_heads=2, **config)
    recon = {"a": 6} if "a" in modalities else None
    model = OMIB(encoders, task or Classification(3), config, reconstruction_dims=recon)
    model.set_beta(0.1)
    return model


def batch(modalities=("a", "b"), n=16):
    torch.manual_seed(1)
    inputs = {m: torch.randn(n, 6) for m in modalities}
    return inputs, torch.randint(0, 3, (n,)), {"a": torch.randn(n, 6)}


def test_warmup_and_main_heads_see_the_same_input_width():
    model = make_model()
    inputs, target, _ = batch()
    warm, main = model(inputs, "warmup"), model(inputs, "main")
    for m in model.modalities:
        assert model.branch_heads[m].in_dim == 10 + 8
        assert warm.branch[m].shape == main.branch[m].shape == (16, 3)
    assert warm.prediction is None and main.prediction.shape == (16, 3)


def test_gradients_reach_every_trainable_parameter_in_the_main_stage():
    model = make_model(trb_detach=False).train()
    inputs, target, recon = batch()
    model.loss(model(inputs, "main"), target, recon).total.backward()
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum())
    ]
    # the per-modality reconstruction decoders belong to the warm-up stage only
    assert [n for n in missing if not n.startswith("branch_decoders")] == []


def test_stop_gradient_keeps_trb_loss_away_from_the_fusion():
    inputs, target, _ = batch()
    for detach, expect_grad in [(True, False), (False, True)]:
        model = make_model(trb_detach=detach)
        out = model(inputs, "main")
        trb = sum(model.task.loss(out.branch[m], target) for m in model.modalities)
        trb.backward()
        grads = [p.grad for p in model.fusion.parameters()]
        has_grad = any(g is not None and g.abs().sum() > 0 for g in grads)
        assert has_grad == expect_grad


def test_warmup_trains_only_encoders_and_branch_heads():
    model = make_model().train()
    inputs, target, recon = batch()
    model.loss(model(inputs, "warmup"), target, recon).total.backward()
    for name, p in model.named_parameters():
        touched = p.grad is not None
        assert touched == name.startswith(("encoders", "branch_heads", "branch_decoders")), name


def test_loss_parts_are_named_and_sum_to_total():
    model = make_model().train()
    inputs, target, recon = batch()
    loss = model.loss(model(inputs, "main"), target, recon)
    assert set(loss.parts) == {"task", "trb", "kl", "reconstruction"}
    assert torch.isclose(loss.total, sum(loss.parts.values()))
    assert {"r_a", "r_b", "beta", "kl_a", "kl_b", "D_a", "D_b"} <= set(loss.extra)


@pytest.mark.parametrize("fusion", ["cross_attention", "concat"])
def test_three_modalities_and_regression(fusion):
    modalities = ("text", "audio", "visual")
    model = make_model(modalities, Regression(), fusion=fusion)
    inputs, _, _ = batch(modalities)
    loss = model.loss(model(inputs), torch.randn(16))
    assert torch.isfinite(loss.total) and model.predict(inputs).shape == (16,)


def test_without_fusion_block_prediction_is_the_mean_of_branches():
    model = make_model(omf=False)
    inputs, target, _ = batch()
    out = model(inputs, "main")
    assert out.xi is None
    assert torch.allclose(out.prediction, (out.branch["a"] + out.branch["b"]) / 2)
    assert "kl" not in model.loss(out, target).parts


def test_one_class_needs_no_target_and_scores_distances():
    model = make_model(task=OneClass(4, heads=["a", "b"]))
    inputs, _, recon = batch()
    out = model(inputs, "main")
    for head, values in [("fused", out.prediction), *out.branch.items()]:
        model.task.set_centre(head, values)
    loss = model.loss(out, None, recon)
    assert torch.isfinite(loss.total)
    scores = model.predict(inputs)
    assert scores.shape == (16,) and torch.all(scores >= 0)


def test_eval_mode_uses_the_mean_code():
    model = make_model().eval()
    inputs, _, _ = batch()
    assert torch.equal(model(inputs).xi, model(inputs).xi)


def test_missing_modality_or_beta_are_errors():
    model = make_model()
    inputs, target, _ = batch()
    with pytest.raises(KeyError):
        model({"a": inputs["a"]})
    model.beta.fill_(float("nan"))
    with pytest.raises(RuntimeError, match="β is not set"):
        model.loss(model(inputs), target)


@pytest.mark.parametrize(
    "task, biased", [(Classification(3), True), (OneClass(4, ["a", "b"]), False)]
)
def test_heads_take_their_bias_from_the_task(task, biased):
    """Deep SVDD heads have no bias (a bias lets every output sit on the centre); other tasks'
    heads do, and ``omib.head_bias`` turns it on for any task."""
    encoders = {m: MLP(4, 8, (8,)) for m in ("a", "b")}

    def has_bias(model):
        return any(name.endswith("bias") for name, _ in model.fused_head.named_parameters())

    assert has_bias(OMIB(encoders, task, OMIBConfig(latent_dim=4, fused_dim=8))) is biased
    forced = OMIB(encoders, task, OMIBConfig(latent_dim=4, fused_dim=8, head_bias=True))
    assert has_bias(forced)
