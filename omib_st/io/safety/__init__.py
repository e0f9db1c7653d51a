"""Reading untrusted text and guarding outputs: the one place these rules live.

- ``untrusted``: :func:`read_text`, :func:`load_json` and :func:`load_yaml` read config files and
  model-folder files with bounded size, nesting depth and alias expansion;
- ``outputs``: :func:`check_outputs`, the output rule of every command, and
  :func:`is_model_folder`;
- a failed write becomes one line through :func:`~omib_st.io.atomic.write_failure`.
"""

from omib_st.io.atomic import write_failure
from omib_st.io.safety.outputs import MODEL_FILES, Output, check_outputs, is_model_folder
from omib_st.io.safety.untrusted import MAX_DEPTH, MAX_NODES, load_json, load_yaml, read_text

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MODEL_FILES",
    "Output",
    "check_outputs",
    "is_model_folder",
    "load_json",
    "load_yaml",
    "read_text",
    "write_failure",
]
