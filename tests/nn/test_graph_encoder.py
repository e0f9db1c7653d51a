import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn import GATv2Conv, GCNConv, SAGEConv

from omib_st.nn import GraphEncoder


def _path_graph(n: int, dim: int = 5, seed: int = 0) -> Data:
    """Nodes 0 – 1 – … – n−1 in a line (both directions), random features."""
    left = torch.arange(n - 1)
    edge_index = torch.cat([torch.stack([left, left + 1]), torch.stack([left + 1, left])], 1)
    x = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    return Data(x=x, edge_index=edge_index, seed=torch.tensor([0]))


@pytest.mark.parametrize("name, cls", [("gcn", GCNConv), ("sage", SAGEConv), ("gat", GATv2Conv)])
def test_layers_by_name_are_the_torch_geometric_layers(name, cls):
    encoder = GraphEncoder(5, 4, hidden_dim=8, layer=name)
    assert all(isinstance(conv, cls) for conv in encoder.convs) and len(encoder.convs) == 2
    assert encoder.eval()(_path_graph(6)).shape == (1, 4)


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="unknown graph layer"):
        GraphEncoder(5, 4, layer="transformer")


@pytest.mark.parametrize("layer", ["gcn", "sage", "gat"])
def test_a_spot_sees_exactly_its_n_layers_hop_neighbourhood(layer):
    encoder = GraphEncoder(5, 4, hidden_dim=8, n_layers=2, layer=layer).eval()
    data = _path_graph(6)
    base = encoder(data)
    for node, inside in ((1, True), (2, True), (3, False), (5, False)):
        changed = data.clone()
        changed.x[node] += 3.0
        moved = not torch.allclose(encoder(changed), base, atol=1e-6)
        assert moved == inside, (node, inside)


@pytest.mark.parametrize("layer", ["gcn", "sage", "gat"])
def test_embedding_does_not_depend_on_node_order(layer):
    encoder = GraphEncoder(5, 4, hidden_dim=8, layer=layer).eval()
    data = _path_graph(7)
    data.seed = torch.tensor([2, 5])
    order = torch.randperm(7, generator=torch.Generator().manual_seed(1))  # new → old
    new_of_old = torch.empty_like(order)
    new_of_old[order] = torch.arange(7)
    permuted = Data(
        x=data.x[order], edge_index=new_of_old[data.edge_index], seed=new_of_old[data.seed]
    )
    assert torch.allclose(encoder(permuted), encoder(data), atol=1e-5)
