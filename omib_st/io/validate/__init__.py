"""Up-front checks of the AnnData contract, one clear line per problem.

:func:`find_problems` and :func:`validate` (``contract``) run the checks of the expression
matrix (``counts``), of ``obsm["spatial"]`` (``coordinates``), of the types in
``uns["spatial"]`` (``layout``) and of the images and scale factors (``images``).
"""

from omib_st.io.validate.contract import find_problems, validate
from omib_st.io.validate.coordinates import MAX_MEAN_DEGREE, coordinate_problems, get_coords
from omib_st.io.validate.counts import MAX_SPOT_COUNTS
from omib_st.io.validate.images import plot_problem
from omib_st.io.validate.layout import is_file, is_number, layout_problems

__all__ = [
    "MAX_MEAN_DEGREE",
    "MAX_SPOT_COUNTS",
    "coordinate_problems",
    "find_problems",
    "get_coords",
    "is_file",
    "is_number",
    "layout_problems",
    "plot_problem",
    "validate",
]
