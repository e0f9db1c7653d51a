import torch

from omib_st.module import DynamicWeights


def test_modality_adding_task_information_gets_r_below_one():
    # Modality 2 still adds more task information beyond ξ than the reference modality.
    divergences = torch.stack([torch.full((16,), 0.1), torch.full((16,), 0.5)])
    r = DynamicWeights.instantaneous(divergences)
    assert r[0] == 1.0 and r[1] < 1.0


def test_modality_adding_less_gets_r_above_one():
    divergences = torch.stack([torch.full((16,), 0.5), torch.full((16,), 0.1)])
    assert DynamicWeights.instantaneous(divergences)[1] > 1.0


def test_r_stays_in_open_interval_and_follows_ema():
    weights = DynamicWeights(3, momentum=0.9)
    extreme = torch.stack([torch.full((4,), 1.0), torch.full((4,), 1e6), torch.zeros(4)])
    for _ in range(200):
        r = weights.update(extreme)
    assert torch.all(r > 0) and torch.all(r < 2)
    assert r[0] == 1.0 and r[1] < 0.05 and r[2] > 1.95
    fresh = DynamicWeights(2, momentum=0.9)
    once = fresh.update(torch.stack([torch.ones(4), 4 * torch.ones(4)]))
    target = 1 - torch.tanh(torch.log(torch.tensor(4.0)))
    assert torch.isclose(once[1], 0.9 + 0.1 * target)


def test_disabled_weights_stay_at_one():
    weights = DynamicWeights(2, enabled=False)
    weights.update(torch.stack([torch.ones(4), 10 * torch.ones(4)]))
    assert torch.equal(weights.r, torch.ones(2))


def test_r_uses_the_batch_of_every_process(monkeypatch):
    import torch.distributed as dist

    other = torch.stack([torch.full((4,), 0.1), torch.full((4,), 0.9)])  # another process's batch
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(
        dist, "all_reduce", lambda t: t.add_(torch.cat([other.sum(1), torch.tensor([4.0])]))
    )
    mine = torch.stack([torch.full((4,), 0.1), torch.full((4,), 0.1)])
    weights = DynamicWeights(2, momentum=0.0)
    weights.update(mine)
    expected = DynamicWeights.instantaneous(torch.cat([mine, other], dim=1))
    torch.testing.assert_close(weights.r, expected.clamp(0.01, 1.99))
