import pytest
import torch

from omib_st.nn import ConcatFusion, CrossAttentionFusion


@pytest.mark.parametrize("modalities", [["a", "b"], ["text", "audio", "visual"]])
def test_cross_attention_fuses_any_number_of_modalities(modalities):
    fusion = CrossAttentionFusion(
        modalities, latent_dim=8, fused_dim=16, n_tokens=3, n_heads=4, n_layers=2
    )
    zeta = {m: torch.randn(5, 8) for m in modalities}
    assert fusion(zeta).shape == (5, 16)


def test_cross_attention_output_depends_on_every_modality():
    torch.manual_seed(0)
    fusion = CrossAttentionFusion(["a", "b"], latent_dim=8, fused_dim=16).eval()
    zeta = {"a": torch.randn(4, 8), "b": torch.randn(4, 8)}
    base = fusion(zeta)
    for m in zeta:
        changed = dict(zeta, **{m: zeta[m] + 1.0})
        assert not torch.allclose(fusion(changed), base)


def test_cross_attention_needs_two_modalities_and_divisible_heads():
    with pytest.raises(ValueError):
        CrossAttentionFusion(["a"], 8, 16)
    with pytest.raises(ValueError):
        CrossAttentionFusion(["a", "b"], 8, 10, n_heads=4)


def test_concat_fusion_shape():
    fusion = ConcatFusion(["a", "b", "c"], latent_dim=4, fused_dim=6)
    assert fusion({m: torch.randn(2, 4) for m in "abc"}).shape == (2, 6)
