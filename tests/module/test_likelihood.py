import numpy as np
import pytest
import torch

from omib_st.module import Likelihood
from omib_st.module.likelihood import gaussian_nll, nb_dispersion, nb_nll, nb_nll_logits


def test_nb_nll_is_the_negative_binomial_log_pmf():
    from scipy.stats import nbinom

    counts = torch.tensor([0.0, 1.0, 5.0, 40.0])
    mean, theta = torch.tensor([0.5, 2.0, 5.0, 20.0]), torch.tensor([0.3, 1.0, 4.0, 50.0])
    p = (theta / (theta + mean)).numpy()
    expected = -nbinom.logpmf(counts.numpy(), theta.numpy(), p)
    np.testing.assert_allclose(nb_nll(counts, mean, theta).numpy(), expected, rtol=1e-4)


@pytest.mark.parametrize("constants", [True, False])
def test_nb_nll_from_logits_is_the_mean_nb_nll_with_its_exact_gradient(constants):
    torch.manual_seed(0)
    counts = torch.poisson(torch.full((5, 7), 3.0, dtype=torch.float64))
    counts[0] = 0  # an empty spot
    theta = torch.rand(7, dtype=torch.float64) + 0.1
    logits = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)

    def reference(v):
        mean = counts.sum(-1, keepdim=True) * torch.softmax(v, -1)
        return nb_nll(counts, mean, theta, constants=constants).mean(-1)

    value = nb_nll_logits(counts, logits, theta, constants=constants)
    torch.testing.assert_close(value, reference(logits))
    (closed_form,) = torch.autograd.grad(value.sum(), logits)
    (autograd,) = torch.autograd.grad(reference(logits).sum(), logits)
    torch.testing.assert_close(closed_form, autograd)


def test_gaussian_nll_has_its_exact_gradient_for_the_mean_and_the_scale():
    torch.manual_seed(0)
    target = torch.randn(4, 6, dtype=torch.float64)
    mean = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    log_sigma = (0.3 * torch.randn(6, dtype=torch.float64)).requires_grad_()
    value = gaussian_nll(target, mean, log_sigma)
    reference = (0.5 * ((target - mean) / log_sigma.exp()).pow(2) + log_sigma).mean(-1)
    torch.testing.assert_close(value, reference)
    weights = torch.rand(4, dtype=torch.float64)  # a non-uniform upstream gradient
    closed_form = torch.autograd.grad((weights * value).sum(), (mean, log_sigma))
    autograd = torch.autograd.grad((weights * reference).sum(), (mean, log_sigma))
    torch.testing.assert_close(closed_form, autograd)


def test_dispersion_is_recovered_from_negative_binomial_counts():
    rng = np.random.default_rng(0)
    theta = np.repeat([0.5, 2.0, 20.0], 100)  # three groups of 100 genes
    proportions = rng.dirichlet(np.ones(300)) * 0.5 + 0.5 / 300
    mean = rng.integers(2000, 6000, size=3000)[:, None] * proportions
    counts = rng.negative_binomial(theta, theta / (theta + mean))
    estimate = nb_dispersion(torch.from_numpy(counts).float()).numpy()
    for group, true in enumerate((0.5, 2.0, 20.0)):
        assert np.median(estimate[group * 100 : (group + 1) * 100]) == pytest.approx(true, rel=0.15)


@pytest.fixture
def task():
    task = Likelihood({"expression": ("nb", 6), "image": ("gaussian", 3)})
    task.set_dispersion("expression", torch.poisson(torch.full((50, 6), 4.0)))
    return task


def test_training_loss_has_the_gradient_of_the_full_negative_log_likelihood(task):
    torch.manual_seed(0)
    target = {"expression": torch.poisson(torch.full((8, 6), 3.0)), "image": torch.randn(8, 3)}
    logits = torch.randn(8, 9, requires_grad=True)
    task.loss(logits, target).backward()
    loss_grad = logits.grad.clone()
    logits.grad = None
    full = torch.stack(list(task.evidence(logits, target).values())).sum(0).mean()
    full.backward()
    torch.testing.assert_close(loss_grad, logits.grad)
    assert not torch.isclose(task.loss(logits, target), full)  # the constants differ


def test_evidence_ranks_a_profile_unlike_the_prediction_higher(task):
    prediction = torch.zeros(2, 9)  # uniform proportions, image mean 0
    target = {
        "expression": torch.tensor([[5.0, 5, 5, 5, 5, 5], [30.0, 0, 0, 0, 0, 0]]),
        "image": torch.tensor([[0.0, 0, 0], [3.0, 3, 3]]),
    }
    evidence = task.evidence(prediction, target)
    assert evidence["expression"][1] > evidence["expression"][0]
    assert evidence["image"][1] > evidence["image"][0]


def test_divergence_is_zero_for_equal_heads_and_grows_apart(task):
    fused = torch.randn(4, 9)
    np.testing.assert_allclose(task.divergence(fused, fused, "a").detach().numpy(), 0, atol=1e-6)
    near = task.divergence(fused + 0.1 * torch.randn(4, 9), fused, "a")
    far = task.divergence(fused + 2.0 * torch.randn(4, 9), fused, "a")
    assert (near >= 0).all() and (far > near).all()
