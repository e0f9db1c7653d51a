import torch

from omib_st.nn import gaussian_kl


def test_kl_is_zero_at_the_prior():
    mu, logvar = torch.zeros(5, 8), torch.zeros(5, 8)
    assert torch.allclose(gaussian_kl(mu, logvar), torch.zeros(5))


def test_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(1, 4), torch.randn(1, 4) * 0.5
    std = torch.exp(0.5 * logvar)
    q = torch.distributions.Normal(mu, std)
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(std))
    samples = q.sample((200_000,))
    monte_carlo = (q.log_prob(samples) - p.log_prob(samples)).sum(-1).mean()
    assert torch.allclose(gaussian_kl(mu, logvar), monte_carlo, rtol=0.02)


def test_kl_is_positive_and_grows_with_the_mean():
    logvar = torch.zeros(3, 2)
    mu = torch.tensor([[0.5, 0.0], [1.0, 0.0], [2.0, 0.0]])
    kl = gaussian_kl(mu, logvar)
    assert torch.all(kl > 0) and torch.all(kl[1:] > kl[:-1])
