"""Frozen-backbone image features computed once per spot and reused every epoch."""

from __future__ import annotations

import numpy as np
import torch

from omib_st.errors import OmibError


class FeatureCache:
    """Backbone features and reconstruction thumbnails of a set of spots, in host memory.

    With a frozen CNN (``image.freeze``) a spot's backbone features never change, so they are
    computed once (one pass of the CNN over the cached spots) and the heads train on them: each
    later epoch skips patch cutting and the CNN. Size: ``n_spots × (num_features + 3 × side²)``
    values of ``dtype`` (float16 by default), ``side`` being the thumbnail's. Only the fit's spots
    are cached (bounded by ``train.max_spots``); scoring computes features batch by batch.

    ``cache[spots]`` returns ``(features [B, F], thumbnails [B, 3 × side²])`` as float32 tensors.
    """

    def __init__(self, spots: np.ndarray, features: torch.Tensor, thumbnails: torch.Tensor):
        self.spots = np.asarray(spots, dtype=np.int64)
        if np.any(np.diff(self.spots) <= 0):
            raise ValueError("cached spots must be sorted and unique")
        self.features, self.thumbnails = features, thumbnails

    def __len__(self) -> int:
        return len(self.spots)

    @property
    def nbytes(self) -> int:
        return self.features.nbytes + self.thumbnails.nbytes

    def __getitem__(self, spots: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        spots = np.asarray(spots, dtype=np.int64)
        rows = np.minimum(np.searchsorted(self.spots, spots), len(self.spots) - 1)
        if not np.array_equal(self.spots[rows], spots):
            raise OmibError("a spot outside the feature cache was asked for", "report this bug")
        rows = torch.from_numpy(rows)
        return self.features[rows].float(), self.thumbnails[rows].float()

    @classmethod
    @torch.no_grad()
    def build(
        cls,
        dataset,
        encoder: torch.nn.Module,
        spots: np.ndarray,
        *,
        batch_size: int = 256,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float16,
    ) -> FeatureCache:
        """Run ``encoder.features`` (an :class:`~omib_st.nn.ImageEncoder` in eval mode) over the
        patches of ``spots`` of ``dataset`` (a :class:`~omib_st.model.tissue_dataset.TissueDataset`)."""
        from omib_st.model.tissue_data import thumbnails

        spots = np.unique(np.asarray(spots, dtype=np.int64))
        was_training = encoder.training
        encoder.eval()
        features, thumbs = [], []
        try:
            for start in range(0, len(spots), batch_size):
                patches = dataset.patches(spots[start : start + batch_size])
                features.append(encoder.features(patches.to(device)).to("cpu", dtype))
                thumbs.append(thumbnails(patches, dataset.thumbnail).to(dtype))
        finally:
            encoder.train(was_training)
        return cls(spots, torch.cat(features), torch.cat(thumbs))
