"""The β bound M_u that guarantees the optimal MIB is achievable (paper, Prop. 5.7)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from omib_st.module.mine import MutualInformationEstimator


@dataclass(frozen=True)
class BetaBound:
    """Information estimates after warm-up and the β they imply (all in nats)."""

    entropies: dict[str, float]
    """Ĥ(v_m), estimated as I(z_m; z_m)."""
    mutual_information: float | None
    """Î(v_1; v_2) for two modalities; None for k > 2."""
    joint_entropy: float
    """Ĥ(v_1, …, v_k): Ĥ_1 + Ĥ_2 − min(Î, Ĥ_1, Ĥ_2) for two modalities (I ≤ min(H_1, H_2), so
    an Î above an entropy is estimator noise and is capped there); I(z; z) of the concatenation
    for k > 2."""
    m_upper: float | None
    """Two-modality paper form 1 / ((1 + r) Ĥ_joint) at the r given; None for k > 2."""
    m_upper_safe: float
    """r-independent bound 1 / ((2k − 1) Ĥ_joint)."""
    m_lower: float | None
    """The paper's lower value 1 / (3 (Ĥ_1 + Ĥ_2)) for two modalities."""
    beta: float
    """The β used: ``m_upper_safe × scale`` for "auto", else the given value × scale."""

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_beta_bound(
    z: dict[str, Tensor],
    estimator: MutualInformationEstimator,
    *,
    beta: float | str = "auto",
    scale: float = 1.0,
    r: float = 1.0,
) -> BetaBound:
    """Estimate Ĥ, Î and M_u from warm-up representations ``z`` (modality → ``[N, d]``)."""
    names = list(z)
    k = len(names)
    pairs = [(z[m], z[m]) for m in names]
    if k == 2:
        pairs.append((z[names[0]], z[names[1]]))
    else:
        stacked = torch.cat([z[m].reshape(z[m].shape[0], -1) for m in names], dim=1)
        pairs.append((stacked, stacked))
    *estimates, last = estimator.many(pairs)
    entropies = dict(zip(names, estimates))
    if k == 2:
        mi = last
        joint = sum(entropies.values()) - min(mi, *entropies.values())
        m_lower = _inverse(3.0 * (entropies[names[0]] + entropies[names[1]]))
    else:
        mi, m_lower, joint = None, None, last
    m_safe = _inverse((2 * k - 1) * joint)
    m_upper = _inverse((1.0 + r) * joint) if k == 2 else None
    chosen = m_safe if beta == "auto" else float(beta)
    return BetaBound(entropies, mi, joint, m_upper, m_safe, m_lower, chosen * scale)


NO_INFORMATION = 1e-4
"""Information estimates (nats) below this are zero: the float32 round-off of the DV bound of a
constant representation is about 1e-7 nats, while informative ones reach about log(n) nats."""


def _inverse(x: float) -> float:
    """1 / x, guarded: an estimate of (about) no information, or NaN, gives an infinite bound."""
    return 1.0 / x if x > NO_INFORMATION else math.inf
