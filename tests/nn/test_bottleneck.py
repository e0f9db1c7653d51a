import torch

from omib_st.nn import VariationalBottleneck


def test_training_samples_around_the_mean_and_eval_returns_the_mean():
    torch.manual_seed(0)
    bottleneck = VariationalBottleneck(6, 3)
    z = torch.randn(4000, 6)
    zeta, mu, logvar = bottleneck.train()(z)
    noise = ((zeta - mu) / torch.exp(0.5 * logvar)).detach()
    assert abs(float(noise.mean())) < 0.05 and abs(float(noise.std()) - 1) < 0.05
    zeta, mu, _ = bottleneck.eval()(z)
    assert torch.equal(zeta, mu)


def test_log_variance_is_clamped():
    bottleneck = VariationalBottleneck(2, 2, logvar_min=-3.0, logvar_max=2.0)
    with torch.no_grad():
        bottleneck.logvar.weight.fill_(100.0)
    _, _, logvar = bottleneck(torch.tensor([[1.0, 1.0], [-1.0, -1.0]]))
    assert float(logvar.max()) == 2.0 and float(logvar.min()) == -3.0
