"""The saved model folder: ``weights.pt``, ``model.json`` and ``config.yaml``, checksummed.

:func:`save_model` writes the folder atomically; :func:`load_model` treats it as untrusted and
refuses a folder whose files do not match their checksums, link outside it, or were written in
another :data:`FORMAT_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omib_st import __version__
from omib_st.config import DetectorConfig, from_dict, to_dict
from omib_st.errors import OmibError
from omib_st.model.calibration import CALIBRATION_KEYS
from omib_st.model.image_hooks import restore_image_target
from omib_st.model.supervised import ONE_CLASS, SUPERVISED
from omib_st.pp import Projection
from omib_st.pp.stain import LabStats

WEIGHTS, META, CONFIG = "weights.pt", "model.json", "config.yaml"
FORMAT_VERSION = 3
"""3: the likelihood task and the expression projection (2: checksummed model.json and
config.yaml, score statistics with a depth slope)."""
BEFORE_SETTINGS = {
    "image": {"thumbnail": 8, "stain": "none"},
    "supervised": {"members": 1, "keep_best": False},
    "scoring": {"expression_smoothing": 0.0, "supervised_threshold": "decision"},
}
"""Settings added since format 3 whose default changed: the value a model saved before them
was trained with (its ``config.yaml`` lacks the key)."""


def model_metadata(detector: Any) -> dict[str, Any]:
    """Everything besides the weights that a saved model needs (JSON-serialisable)."""
    return {
        "omib_st_version": __version__,
        "format_version": FORMAT_VERSION,
        "mode": detector.mode,
        "genes": detector.genes,
        "use_image": detector.use_image,
        "use_expression": detector.use_expression,
        "modalities": detector.modalities,
        "reference_stats": {k: list(v) for k, v in detector.reference_stats.items()},
        "threshold": detector.threshold,
        "training": detector.training,
        "thin_to": detector.thin_to,
    }


def save_model(detector: Any, path: str | Path, *, force: bool = False) -> Path:
    """Write the folder ``path`` atomically; an existing one only with ``force``."""
    import yaml

    from omib_st.io import atomic_path

    path = Path(path)
    if path.exists() and not force:
        raise OmibError(f"{path} already exists", "choose another --out or pass --force")
    with atomic_path(path) as tmp:
        tmp.mkdir(parents=True)
        states = [
            {k: v.detach().cpu() for k, v in module.state_dict().items()}
            for module in detector.members
        ]
        projection = {k: torch.from_numpy(v) for k, v in detector.projection.state().items()}
        calibration = {k: torch.from_numpy(np.asarray(v)) for k, v in detector.calibration.items()}
        weights = {
            "module": states[0],
            "members": states[1:],
            "projection": projection,
            "calibration": calibration,
            "image_target": detector.image_target.state(),
            "stain": stain_state(detector.stain),
        }
        torch.save(weights, tmp / WEIGHTS)
        (tmp / CONFIG).write_text(yaml.safe_dump(to_dict(detector.config), sort_keys=False))
        meta = model_metadata(detector)
        meta["weights_sha256"] = file_sha256(tmp / WEIGHTS)
        meta["config_sha256"] = file_sha256(tmp / CONFIG)
        meta["sha256"] = meta_sha256(meta)
        (tmp / META).write_text(json.dumps(meta, indent=1))
    return path


def load_model(cls: type, path: str | Path) -> Any:
    """A ``cls`` (:class:`~omib_st.model.OmibDetector`) restored from the folder ``path``."""
    from omib_st.model.checks import check_finite_model

    path = Path(path)
    _check_files(path)
    meta = _read_meta(path)
    detector = cls(_read_config(path))
    _restore_meta(detector, meta, path)
    _restore_weights(detector, _read_weights(path), path)
    check_finite_model(detector, path)  # NaN weights or statistics would score NaN
    return detector


def stain_state(stain: LabStats | None) -> dict[str, torch.Tensor]:
    """The reference stain as tensors (empty: patches used as they are)."""
    if stain is None:
        return {}
    return {"mean": torch.from_numpy(stain.mean), "std": torch.from_numpy(stain.std)}


def restore_stain(state: dict[str, torch.Tensor]) -> LabStats | None:
    """The reference stain saved by :func:`stain_state` (models before it: None)."""
    return LabStats(state["mean"].numpy(), state["std"].numpy()) if state else None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def meta_sha256(meta: dict[str, Any]) -> str:
    """Checksum of model.json's content (every key but ``sha256`` itself, canonical JSON)."""
    rest = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _check_files(path: Path) -> None:
    """Every file of the folder is there and none links out of it."""
    for name in (WEIGHTS, META, CONFIG):
        file = path / name
        if not file.is_file():
            raise OmibError(
                f"{path} is not an omib-st model folder (no {name})",
                "give the --out folder of 'omib-st fit'",
            )
        if not file.resolve().is_relative_to(path.resolve()):
            raise OmibError(
                f"{file} links to {file.resolve()}, outside the model folder",
                "copy the real file into the folder; links out of a model folder are not followed",
            )


def _read_meta(path: Path) -> dict[str, Any]:
    """``model.json``, once its format version and every file's checksum are checked."""
    try:
        meta = json.loads((path / META).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OmibError(f"{path / META} is not valid JSON", "re-run 'omib-st fit'") from None
    if not isinstance(meta, dict):
        raise OmibError(f"{path / META} is not a model description", "re-run 'omib-st fit'")
    if meta.get("format_version") != FORMAT_VERSION:
        raise OmibError(
            f"{path} was saved in model format {meta.get('format_version')} by omib-st "
            f"{meta.get('omib_st_version')}; this is format {FORMAT_VERSION} (omib-st {__version__})",
            "refit the model with this version",
        )
    for name, key in ((META, "sha256"), (WEIGHTS, "weights_sha256"), (CONFIG, "config_sha256")):
        digest = meta_sha256(meta) if name == META else file_sha256(path / name)
        if digest != meta.get(key):
            raise OmibError(
                f"{path / name} does not match its checksum in {META} (edited or corrupt)",
                "refit the model; the files of a model folder must not be edited",
            )
    return meta


def _read_config(path: Path) -> DetectorConfig:
    import yaml

    try:
        saved = yaml.safe_load((path / CONFIG).read_text())
    except yaml.YAMLError as err:
        first = _first_line(err)
        raise OmibError(f"{path / CONFIG} is not plain YAML ({first})", "refit the model") from None
    for section, settings in BEFORE_SETTINGS.items():
        if isinstance(saved, dict) and isinstance(saved.get(section, {}), dict):
            saved[section] = settings | saved.get(section, {})
    return from_dict(DetectorConfig, saved)


def _restore_meta(detector: Any, meta: dict[str, Any], path: Path) -> None:
    """The detector's genes, modalities, mode, statistics and record from ``model.json``."""
    try:
        detector.genes = [str(g) for g in meta["genes"]]
        detector.use_image = bool(meta["use_image"])
        detector.use_expression = bool(meta.get("use_expression", True))
        detector.mode = str(meta.get("mode", ONE_CLASS))  # models before issue 15: one-class
        if detector.mode not in (ONE_CLASS, SUPERVISED):
            raise ValueError(f"unknown mode {detector.mode!r}")
        detector.reference_stats = {
            k: tuple(float(v) for v in stats) for k, stats in meta["reference_stats"].items()
        }
        detector.threshold, detector.training = float(meta["threshold"]), dict(meta["training"])
        thin_to = meta.get("thin_to")
        detector.thin_to = None if thin_to is None else float(thin_to)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise OmibError(
            f"{path / META} is incomplete ({type(err).__name__}: {err})", "refit the model"
        ) from None


def _read_weights(path: Path) -> dict[str, Any]:
    """``weights.pt`` read as plain tensors only (``torch.load(weights_only=True)``)."""
    try:
        return torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
    except Exception as err:  # refused pickle content, or not a torch file at all
        first = _first_line(err)
        raise OmibError(
            f"{path / WEIGHTS} cannot be loaded as plain tensors ({type(err).__name__}: "
            f"{first[:200]})",
            "refit the model; only tensors are ever read from a model folder",
        ) from None


def _restore_weights(detector: Any, saved: dict[str, Any], path: Path) -> None:
    """The projection, calibration, image target and module from ``weights.pt``."""
    try:
        detector.projection = Projection(
            **{k: saved["projection"][k].numpy() for k in ("mean", "scale", "components")},
            per_section=detector.config.expression.scaling == "section",
        )
        calibrated = CALIBRATION_KEYS if detector.mode == ONE_CLASS else ()
        detector.calibration = {k: saved["calibration"][k].numpy() for k in calibrated}
        detector.image_target = restore_image_target(detector, saved.get("image_target"))
        detector.stain = restore_stain(saved.get("stain") or {})
        states = [saved["module"], *saved.get("members", [])]  # models before issue 15: one
        expected = detector.config.supervised.members if detector.mode == SUPERVISED else 1
        if len(states) != expected:
            raise ValueError(f"{len(states)} modules saved, {expected} expected")
        detector.members = [detector._build(initial_weights=False) for _ in states]
        for module, state in zip(detector.members, states):
            module.load_state_dict(state)
    except (KeyError, TypeError, AttributeError, RuntimeError, ValueError) as err:
        first = _first_line(err)
        raise OmibError(
            f"{path / WEIGHTS} does not fit {META} and {CONFIG} ({type(err).__name__}: "
            f"{first[:200]})",
            "refit the model",
        ) from None


def _first_line(err: BaseException) -> str:
    """The first line of an error's message (its type's name when the message is empty)."""
    return (str(err).splitlines() or [type(err).__name__])[0]
