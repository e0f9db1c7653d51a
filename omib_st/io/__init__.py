"""Reading and writing samples: Space Ranger folders (Visium, Visium HD), legacy ST (her2st),
h5ad, validation.

Every reader returns the scanpy/squidpy Visium layout: raw counts in ``X``, full-resolution pixel
coordinates in ``obsm["spatial"]`` and images with scale factors in ``uns["spatial"]``.
"""

from omib_st.io.atomic import atomic_path
from omib_st.io.h5ad import read_h5ad, write_h5ad
from omib_st.io.image import image_size, read_image, to_rgb_uint8
from omib_st.io.library import get_library_id
from omib_st.io.read import read_sample
from omib_st.io.st import read_her2st, read_st, spot_diameter_from_lattice
from omib_st.io.validate import find_problems, get_coords, validate
from omib_st.io.visium import read_visium
from omib_st.io.visium_hd import read_visium_hd

__all__ = [
    "atomic_path",
    "find_problems",
    "get_coords",
    "get_library_id",
    "image_size",
    "read_h5ad",
    "read_her2st",
    "read_image",
    "read_sample",
    "read_st",
    "read_visium",
    "read_visium_hd",
    "spot_diameter_from_lattice",
    "to_rgb_uint8",
    "validate",
    "write_h5ad",
]
