import numpy as np
import pytest
from anndata import AnnData
from PIL import Image

from omib_st.errors import OmibError
from omib_st.pp import PatchExtractor

MARKERS = np.array([[1234.0, 2345.0], [3000.5, 800.25], [611.3, 3377.7], [2500.0, 2500.0]])
SCALEF = 0.17
DIAMETER = 200.0


def _disks(shape, centres, radius):
    image = np.full((*shape, 3), 255, dtype=np.uint8)
    for cx, cy in centres:
        x0, y0 = int(cx - radius) - 1, int(cy - radius) - 1
        yy, xx = np.mgrid[y0 : y0 + int(2 * radius) + 3, x0 : x0 + int(2 * radius) + 3]
        disk = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
        image[yy[disk], xx[disk]] = (40, 10, 90)
    return image


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    """Markers at known full-resolution positions, drawn in a full-res and a hires image."""
    fullres = _disks((4000, 4000), MARKERS, 8)
    hires = _disks((680, 680), MARKERS * SCALEF, 2.5)
    path = tmp_path_factory.mktemp("slide") / "fullres.png"
    Image.fromarray(fullres).save(path)
    adata = AnnData(np.ones((len(MARKERS), 1), dtype=np.float32))
    adata.obsm["spatial"] = MARKERS.copy()
    adata.uns["spatial"] = {
        "lib": {
            "images": {"hires": hires},
            "scalefactors": {"tissue_hires_scalef": SCALEF, "spot_diameter_fullres": DIAMETER},
            "metadata": {"source_image_path": str(path)},
        }
    }
    return adata, fullres


def _centroid(patch: np.ndarray) -> np.ndarray:
    """(x, y) centroid of the dark pixels of a 3 × H × W patch."""
    darkness = 255.0 - patch.astype(float).mean(axis=0)
    darkness[darkness < 30] = 0
    yy, xx = np.mgrid[0 : patch.shape[1], 0 : patch.shape[2]]
    return np.array([(xx * darkness).sum(), (yy * darkness).sum()]) / darkness.sum()


@pytest.mark.parametrize("resolution", ["hires", "fullres", "array"])
@pytest.mark.parametrize("size", [64, 33])
def test_markers_land_in_the_patch_centre(marked, resolution, size):
    adata, fullres = marked
    if resolution == "array":
        extractor = PatchExtractor.from_adata(adata, size=size, image=fullres)
        assert extractor.resolution == "fullres"
    else:
        extractor = PatchExtractor.from_adata(adata, size=size, resolution=resolution)
    expected_scalef = SCALEF if resolution == "hires" else 1.0
    assert extractor.scalef == pytest.approx(expected_scalef)
    assert extractor.spot_px == pytest.approx(DIAMETER * expected_scalef)
    patches = extractor[np.arange(len(MARKERS))]
    assert patches.dtype == np.uint8 and patches.shape == (len(MARKERS), 3, size, size)
    centre = (size - 1) / 2
    for patch in patches:
        np.testing.assert_allclose(_centroid(patch), [centre, centre], atol=1.0)


def test_crop_side_follows_scale(marked):
    adata, _ = marked
    one = PatchExtractor.from_adata(adata, size=64, resolution="hires")[0]
    two = PatchExtractor.from_adata(adata, size=64, scale=2.0, resolution="hires")[0]
    # the marker covers 4 × fewer pixels when the crop side doubles
    area = [(255 - p.mean(axis=0) > 100).sum() for p in (one, two)]
    assert area[0] / area[1] == pytest.approx(4, rel=0.25)


def test_auto_resolution(marked):
    adata, _ = marked
    # hires spots are 34 px: enough for 32 px patches, not for 64 px ones
    assert PatchExtractor.from_adata(adata, size=32).resolution == "hires"
    assert PatchExtractor.from_adata(adata, size=64).resolution == "fullres"
    adata = adata.copy()
    del adata.uns["spatial"]["lib"]["metadata"]["source_image_path"]
    assert PatchExtractor.from_adata(adata, size=64).resolution == "hires"  # the sharpest
    with pytest.raises(OmibError, match=r"no fullres image .*available: hires"):
        PatchExtractor.from_adata(adata, resolution="fullres")


def test_missing_fullres_file_warns(marked, tmp_path):
    adata = marked[0].copy()
    adata.uns["spatial"]["lib"]["metadata"]["source_image_path"] = str(tmp_path / "gone.tif")
    with pytest.warns(UserWarning, match="gone.tif not found") as caught:
        assert PatchExtractor.from_adata(adata, size=64).resolution == "hires"
    assert caught[0].filename == __file__  # reported where from_adata was called
    with pytest.raises(OmibError, match="gone.tif .* does not exist"):
        PatchExtractor.from_adata(adata, resolution="fullres")


def test_outside_is_white_and_indexing():
    image = np.zeros((100, 120, 3), dtype=np.uint8)
    extractor = PatchExtractor(image, np.array([[0.0, 0.0], [60.0, 50.0]]), spot_px=40, size=16)
    assert len(extractor) == 2
    corner = extractor[0]
    assert corner.shape == (3, 16, 16)
    assert (corner[:, :6, :6] == 255).all() and (corner[:, 10:, 10:] == 0).all()
    assert (extractor[1] == 0).all()
    assert extractor[[1, 0]].shape == (2, 3, 16, 16)
    assert extractor[0:1].shape == (1, 3, 16, 16)


def test_errors(marked, synthetic_adata):
    adata, _ = marked
    with pytest.raises(OmibError, match="spots fall outside the hires image"):
        bad = adata.copy()
        bad.obsm["spatial"] = bad.obsm["spatial"] * 10
        PatchExtractor.from_adata(bad, resolution="hires")
    del synthetic_adata.uns["spatial"]
    with pytest.raises(OmibError, match=r'uns\["spatial"\] is missing'):
        PatchExtractor.from_adata(synthetic_adata)


def test_synthetic_patches(synthetic_adata):
    extractor = PatchExtractor.from_adata(synthetic_adata, size=24)
    assert extractor.resolution == "hires"
    assert extractor[np.arange(len(extractor))].shape == (synthetic_adata.n_obs, 3, 24, 24)


def _slide(image):
    """A section of 60 spots on a 12-pixel lattice over ``image`` (full resolution)."""
    yy, xx = np.mgrid[20:110:12, 20:130:12]
    adata = AnnData(np.ones((xx.size, 1), dtype=np.float32))
    adata.obsm["spatial"] = np.column_stack([xx.ravel(), yy.ravel()]).astype(float)
    adata.uns["spatial"] = {
        "lib": {
            "images": {"hires": image},
            "scalefactors": {"tissue_hires_scalef": 1.0, "spot_diameter_fullres": 10.0},
        }
    }
    return adata


@pytest.fixture(scope="module")
def stained():
    """An H&E-like image: pink stroma with purple nuclei of random size and place."""
    rng = np.random.default_rng(0)
    image = np.empty((130, 150, 3), dtype=np.uint8)
    image[:] = (230, 160, 200)
    yy, xx = np.mgrid[:130, :150]
    nuclei = rng.uniform([0, 0, 1], [150, 130, 3], (300, 3))
    for cx, cy, r in nuclei:
        image[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = (90, 50, 140)
    return image


def test_normalised_patches_undo_a_section_wide_darkening(stained):
    darker = np.rint(stained * 0.85).astype(np.uint8)
    plain = PatchExtractor.from_adata(_slide(stained), size=16, library_id="lib")
    dark = PatchExtractor.from_adata(_slide(darker), size=16, library_id="lib")
    target = plain.lab_stats()
    before = np.abs(dark[:].astype(int) - plain[:]).mean()
    after = np.abs(dark.normalised(target)[:].astype(int) - plain.normalised(target)[:]).mean()
    assert before > 20 and after < 2
    assert dark.stain is None and "Reinhard" in repr(dark.normalised(target))


def test_a_sections_stain_does_not_depend_on_the_order_of_its_spots(stained):
    adata = _slide(stained)
    order = np.random.default_rng(1).permutation(adata.n_obs)
    stats = [
        PatchExtractor.from_adata(a, size=16, library_id="lib").lab_stats(n=20)
        for a in (adata, adata[order])
    ]
    np.testing.assert_allclose(stats[0].mean, stats[1].mean)
    np.testing.assert_allclose(stats[0].std, stats[1].std)
