"""Best-validation weight selection and early stopping of supervised training."""

import torch

from omib_st.train import BestState, BestWeights


def _model_at(value: float) -> torch.nn.Module:
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_keeps_the_weights_of_the_lowest_loss_and_stops_after_patience():
    best = BestWeights(patience=2)
    stops = [
        best.update(_model_at(epoch), loss, epoch)
        for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.6])
    ]
    assert stops == [False, False, False, True]  # epoch 3 is 2 epochs after the best (1)
    assert best.epoch == 1 and best.best == 0.5
    model = _model_at(9.0)
    best.restore(model)
    assert model.weight.item() == 1.0


def test_patience_zero_never_stops_and_nothing_recorded_restores_nothing():
    best = BestWeights(patience=0)
    assert not any(best.update(_model_at(0.0), 1.0 + epoch, epoch) for epoch in range(5))
    assert best.epoch == 0
    empty, model = BestWeights(patience=3), _model_at(4.0)
    assert not empty.update(model, float("nan"), 0)  # a NaN loss is never the best
    empty.restore(model)
    assert empty.epoch is None and model.weight.item() == 4.0


def test_best_state_survives_a_checkpoint():
    best = BestState()
    best.update(_model_at(2.0), 0.3, 4)
    resumed, model = BestState(), _model_at(7.0)
    resumed.load_state_dict(best.state_dict())
    assert resumed.epoch == 4 and resumed.best == 0.3
    assert not resumed.update(_model_at(5.0), 0.4, 5)  # worse than the checkpoint's best
    resumed.restore(model)
    assert model.weight.item() == 2.0
