"""Typed, frozen configuration: the single source of truth for every setting.

YAML appears only at the edges (``--config`` files, workflows): :func:`load_config` turns a
mapping into these dataclasses and refuses unknown keys, mistyped and out-of-range values
(each field's rule, :mod:`omib_st.config.rules`) and inconsistent settings (each section's
checks between fields); :func:`to_dict` turns them back into plain types for
``uns["omib"]["params"]`` and model folders.

- :mod:`~omib_st.config.core`: the OMIB core's sections (``omib``, ``mi``, ``train``);
- :mod:`~omib_st.config.tissue`: the detector's sections and :class:`DetectorConfig`;
- :mod:`~omib_st.config.loading`: mappings and YAML files in and out.
"""

from omib_st.config.core import MIConfig, OMIBConfig, TrainConfig
from omib_st.config.loading import CONFIG_MAX_BYTES, from_dict, load_config, replace, to_dict
from omib_st.config.rules import Rule, Section
from omib_st.config.tissue import (
    IMAGE_BLOCKS,
    DetectorConfig,
    ExpressionEncoderConfig,
    GraphConfig,
    ImageBlock,
    ImageEncoderConfig,
    PatchConfig,
    PreprocessConfig,
    ScoringConfig,
    SupervisedConfig,
)

__all__ = [
    "CONFIG_MAX_BYTES",
    "IMAGE_BLOCKS",
    "DetectorConfig",
    "ExpressionEncoderConfig",
    "GraphConfig",
    "ImageBlock",
    "ImageEncoderConfig",
    "MIConfig",
    "OMIBConfig",
    "PatchConfig",
    "PreprocessConfig",
    "Rule",
    "ScoringConfig",
    "Section",
    "SupervisedConfig",
    "TrainConfig",
    "from_dict",
    "load_config",
    "replace",
    "to_dict",
]
