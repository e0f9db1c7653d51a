import math

import pytest
import torch

from omib_st.module.beta_bound import estimate_beta_bound


class TableEstimator:
    """Returns fixed estimates: I(a; a) per modality, a given value for two different inputs."""

    def __init__(self, entropies, mutual_information):
        self.entropies, self.mutual_information = entropies, mutual_information

    def many(self, pairs):
        return [
            self.entropies[int(a[0, 0])] if a is b else self.mutual_information for a, b in pairs
        ]


def _z(k=2):
    return {f"m{i}": torch.full((8, 3), float(i)) for i in range(k)}


def test_two_modalities_follow_the_paper():
    bound = estimate_beta_bound(_z(), TableEstimator({0: 2.0, 1: 3.0}, 1.0), r=0.5)
    assert bound.joint_entropy == pytest.approx(4.0)
    assert bound.m_upper_safe == pytest.approx(1 / 12) == bound.beta
    assert bound.m_upper == pytest.approx(1 / (1.5 * 4.0))
    assert bound.m_lower == pytest.approx(1 / 15)


@pytest.mark.parametrize("mi", [3.5, 6.0])
def test_a_mutual_information_above_an_entropy_is_capped(mi):
    """MINE noise can put Î above Ĥ_1 + Ĥ_2 (a negative joint entropy, β undefined): I ≤ min H."""
    bound = estimate_beta_bound(_z(), TableEstimator({0: 2.0, 1: 3.0}, mi))
    assert bound.mutual_information == mi  # reported as estimated
    assert bound.joint_entropy == pytest.approx(3.0)  # = max(Ĥ_1, Ĥ_2)
    assert 0 < bound.beta < math.inf


def test_no_information_gives_an_infinite_bound():
    bound = estimate_beta_bound(_z(), TableEstimator({0: 0.0, 1: 0.0}, 0.0))
    assert bound.beta == math.inf
