"""GNN expression encoder over the spatial graph (torch-geometric layers picked by name)."""

from __future__ import annotations

from torch import Tensor, nn

_LAYERS = ("gcn", "sage", "gat")


def _conv(name: str, in_dim: int, out_dim: int) -> nn.Module:
    from torch_geometric import nn as gnn

    if name == "gcn":
        return gnn.GCNConv(in_dim, out_dim)
    if name == "sage":
        return gnn.SAGEConv(in_dim, out_dim)
    if name == "gat":
        heads = 4 if out_dim % 4 == 0 else 1
        return gnn.GATv2Conv(in_dim, out_dim // heads, heads=heads)
    raise ValueError(f"unknown graph layer {name!r}; choose from {_LAYERS}")


class GraphEncoder(nn.Module):
    """Linear input projection, ``n_layers`` message-passing layers with residuals, linear output.

    The input is a torch-geometric ``Data`` subgraph (``x``, ``edge_index``) whose ``seed``
    attribute holds the positions of the spots to embed (the rest are their k-hop neighbours,
    ``k = n_layers``), so memory is bounded by the batch's subgraph, not the section.

    Shapes:
        - **input**: ``Data(x=[N, in_dim], edge_index=[2, E], seed=[B])``
        - **output**: ``[B, out_dim]``
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 64,
        *,
        hidden_dim: int = 128,
        n_layers: int = 2,
        layer: str = "sage",
        dropout: float = 0.1,
    ):
        super().__init__()
        self.input = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout))
        self.convs = nn.ModuleList(_conv(layer, hidden_dim, hidden_dim) for _ in range(n_layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(n_layers))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden_dim, out_dim)
        self.in_dim, self.out_dim, self.n_layers = in_dim, out_dim, n_layers

    def forward(self, data) -> Tensor:
        h = self.input(data.x.float())
        for conv, norm in zip(self.convs, self.norms):
            h = norm(h + self.dropout(conv(h, data.edge_index).relu()))
        return self.output(h[data.seed])
