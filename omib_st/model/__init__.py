"""The user-facing model: :class:`OmibDetector` (fit, score, save, load)."""

from omib_st.model.detector import OmibDetector
from omib_st.model.score import DetectionResult

__all__ = ["DetectionResult", "OmibDetector"]
