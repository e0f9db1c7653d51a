import pytest
import torch
import torch.nn.functional as F

from omib_st.module import FUSED, Classification, OneClass, Regression


def test_classification_divergence_is_kl_of_branch_from_fused():
    branch, fused = torch.randn(6, 4), torch.randn(6, 4)
    expected = F.kl_div(
        F.log_softmax(fused, -1), F.log_softmax(branch, -1), log_target=True, reduction="none"
    ).sum(-1)
    assert torch.allclose(Classification(4).divergence(branch, fused, "a"), expected, atol=1e-6)
    assert torch.allclose(
        Classification(4).divergence(fused, fused, "a"), torch.zeros(6), atol=1e-6
    )


def test_regression_divergence_is_half_squared_difference():
    task = Regression()
    assert torch.allclose(
        task.divergence(torch.tensor([[1.0]]), torch.tensor([[3.0]]), "a"), torch.tensor([2.0])
    )
    assert torch.isclose(
        Regression(loss="l1").loss(torch.tensor([[1.0]]), torch.tensor([3.0])), torch.tensor(2.0)
    )


def test_one_class_centres_are_fixed_and_pushed_from_zero():
    task = OneClass(3, heads=["a"])
    with pytest.raises(RuntimeError):
        task.centre(FUSED)
    task.set_centre(FUSED, torch.tensor([[1.0, 0.01, -0.02], [3.0, 0.01, -0.02]]))
    assert torch.allclose(task.centre(FUSED), torch.tensor([2.0, 0.1, -0.1]))
    h = torch.tensor([[2.0, 0.1, -0.1], [3.0, 0.1, -0.1]])
    assert torch.allclose(task.predict(h), torch.tensor([0.0, 1.0]))
    state = task.state_dict()
    assert "centre_fused" in state and bool(state["centre_set_fused"])


def test_bad_task_arguments():
    with pytest.raises(ValueError):
        Classification(1)
    with pytest.raises(ValueError):
        Regression(loss="huber")
