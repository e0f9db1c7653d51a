"""Small multilayer perceptrons: heads, decoders and vector encoders."""

from __future__ import annotations

from torch import Tensor, nn


class MLP(nn.Module):
    """Linear → GELU (→ Dropout) blocks, then a last Linear.

    Shapes:
        - **input**: ``[B, in_dim]``
        - **output**: ``[B, out_dim]``
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_dims: tuple[int, ...] = (64,),
        *,
        dropout: float = 0.0,
        bias: bool = True,
        norm: bool = False,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for hidden in hidden_dims:
            layers.append(nn.Linear(width, hidden, bias=bias))
            if norm:
                layers.append(nn.LayerNorm(hidden, elementwise_affine=bias))
            layers.append(nn.GELU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, out_dim, bias=bias))
        self.net = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
