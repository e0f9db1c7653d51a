"""Scoring a target with a fitted detector (omib_st.model.score)."""

import numpy as np
import pytest
import torch

from omib_st.errors import OmibError
from omib_st.model import OmibDetector


def test_score_is_the_fused_heads_negative_log_likelihood(fitted, synthetic_adata):
    """One objective, one score: the parts are the likelihood task's loss per spot under the
    fused head, and the score is their robust z-scores against the reference, each smoothed
    over the spatial graph with its own weight, then combined."""
    from omib_st.model.tissue_data import normalise_stain, prepare_section
    from omib_st.scoring import smooth_scores

    result = fitted.score(synthetic_adata)
    section = prepare_section(synthetic_adata, fitted.genes, fitted.config, use_image=True)
    normalise_stain([section], fitted.stain)  # onto the reference's stain
    section.features = fitted.projection(section.expression)
    batch = fitted._dataset([section], np.arange(20)).collate(np.arange(20))
    module = fitted.module.eval()
    with torch.no_grad():
        output = module(batch["inputs"])
        nll = module.task.evidence(output.prediction, batch["target"])
    for part in ("expression", "image"):
        np.testing.assert_allclose(result.parts[part][:20], nll[part].numpy(), rtol=1e-4)
    c = fitted.config.scoring
    assert c.combine == "mean" and c.smoothing != c.image_smoothing  # the defaults

    def smoothed(part, weight):
        median, _, spread = fitted.reference_stats[part]
        return smooth_scores((result.parts[part] - median) / spread, section.graph, weight)

    expected = (smoothed("expression", c.smoothing) + smoothed("image", c.image_smoothing)) / 2
    np.testing.assert_allclose(result.scores, expected, rtol=1e-5, atol=1e-5)


def test_the_result_reports_how_the_section_was_scored(fitted, synthetic_adata):
    info = fitted.score(synthetic_adata).info
    assert info["image_used"] is True and info["genes_missing"] == 0
    assert info["image_target"] == "thumbnail" and "image_resolution" in info
    assert info["image_stain"] == "reinhard"
    assert "thin_to" not in info  # no depth thinning in this model


def test_scoring_needs_a_fitted_detector(synthetic_adata):
    with pytest.raises(OmibError, match="not fitted"):
        OmibDetector().score(synthetic_adata)
