import pytest
import torch

from omib_st.nn.sequence_encoder import SequenceEncoder


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_padding_does_not_change_the_output(kind):
    torch.manual_seed(0)
    encoder = SequenceEncoder(5, out_dim=7, kind=kind, hidden_dim=16, n_heads=2).eval()
    values = torch.randn(3, 6, 5)
    lengths = torch.tensor([6, 4, 1])
    out = encoder({"values": values, "lengths": lengths})
    assert out.shape == (3, 7)
    noisy = values.clone()
    noisy[1, 4:] = 100.0
    noisy[2, 1:] = -100.0
    assert torch.allclose(out, encoder({"values": noisy, "lengths": lengths}), atol=1e-5)
    # a sequence alone, cut to its length, gives the same vector
    alone = encoder(values[1:2, :4])
    assert torch.allclose(out[1:2], alone, atol=1e-5)


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_token_ids_zero_length_and_gradients(kind):
    encoder = SequenceEncoder(0, out_dim=4, kind=kind, hidden_dim=8, n_heads=2, vocab_size=20)
    ids = torch.randint(1, 20, (2, 5))
    out = encoder({"values": ids, "lengths": torch.tensor([0, 5])})
    assert out.shape == (2, 4) and torch.isfinite(out).all()
    out.sum().backward()
    assert encoder.embed.weight.grad is not None


def test_bad_kind_and_too_long_sequences_are_refused():
    with pytest.raises(ValueError, match="kind"):
        SequenceEncoder(3, kind="gru")
    with pytest.raises(ValueError, match="max_len"):
        SequenceEncoder(3, hidden_dim=8, n_heads=2, max_len=4)(torch.randn(1, 5, 3))
