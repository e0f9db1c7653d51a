"""The user-facing model: :class:`OmibDetector` (fit, score, save, load)."""

from omib_st.model.detector import DetectionResult, OmibDetector

__all__ = ["DetectionResult", "OmibDetector"]
