"""CMU-MOSI from the two pickles the community shares.

MMSA (``aligned_50.pkl`` / ``unaligned_50.pkl``): ``{"train" | "valid" | "test": {...}}`` with
float32 arrays ``text`` ``[N, L_t, 768]`` (BERT outputs) and/or ``text_bert`` ``[N, 3, L_t]``
(token ids, input mask, segment ids), ``audio`` ``[N, L_a, 5]``, ``vision`` ``[N, L_v, 20]``,
``regression_labels`` ``[N]``, ``id`` (N strings) and optionally ``audio_lengths`` /
``vision_lengths`` (N integers; unaligned data).

MAG-BERT (``mosi.pkl``): ``{"train" | "dev" | "test": [((words, visual, acoustic), label,
segment), ...]}`` with one visual ``[L, D_v]`` and acoustic ``[L, D_a]`` row per word.

Text comes out as features or as token ids (0 = padding, 1 = unknown) of a vocabulary built on
the train split: BERT weights cannot be downloaded here, so ids are embedded by a table learned
from scratch.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from omib_st.errors import OmibError

MMSA_FORMAT = (
    "MMSA: {'train'|'valid'|'test': {'text' [N,L,768] or 'text_bert' [N,3,L], 'audio' [N,L,5], "
    "'vision' [N,L,20], 'regression_labels' [N], 'id', optional 'audio_lengths'/'vision_lengths'}}"
)
MAGBERT_FORMAT = (
    "MAG-BERT: {'train'|'dev'|'test': [((words, visual [L,D], acoustic [L,D]), label, segment)]}"
)
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class PaddedSequences:
    """Padded sequences indexable like a tensor: item i is ``{"values", "lengths"}``.

    Shapes:
        - **values**: ``[N, L, D]`` float32, or ``[N, L]`` int64 token ids
        - **lengths**: ``[N]`` int64 (valid steps; the rest is padding)
    """

    values: Tensor
    lengths: Tensor

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {"values": self.values[i], "lengths": self.lengths[i]}


@dataclass(frozen=True)
class MosiData:
    """Inputs per split and modality, sentiment targets in [-3, 3], and what was read."""

    inputs: dict[str, dict[str, PaddedSequences]]
    target: dict[str, Tensor]
    ids: dict[str, list[str]]
    layout: str
    """``mmsa`` or ``magbert``."""
    text: str
    """``features`` or ``tokens``."""
    vocab_size: int | None
    """Rows of the token table (padding and unknown included) when text is ``tokens``."""


def load_mosi(
    path: str | Path, *, text: str = "auto", max_len: int | None = None, standardize: bool = True
) -> MosiData:
    """Read an MMSA or a MAG-BERT MOSI pickle (the layout is detected from its keys)."""
    path = Path(path)
    if not path.is_file():
        raise OmibError(f"MOSI pickle {path} does not exist", f"expected {MMSA_FORMAT}")
    try:
        with open(path, "rb") as handle:
            raw = pickle.load(handle)
    except Exception as err:  # any unpickling failure means a wrong file
        raise OmibError(
            f"{path} cannot be unpickled ({type(err).__name__}: {err})",
            f"expected {MMSA_FORMAT} or {MAGBERT_FORMAT}",
        ) from None
    keys = set(raw) if isinstance(raw, dict) else set()
    if {"train", "valid", "test"} <= keys:
        splits, layout = {s: _read_mmsa(path, s, raw[s], text) for s in SPLITS}, "mmsa"
    elif {"train", "dev", "test"} <= keys:
        names = {"train": "train", "valid": "dev", "test": "test"}
        splits = {s: _read_magbert(path, names[s], raw[names[s]]) for s in SPLITS}
        layout = "magbert"
    else:
        found = sorted(map(str, keys)) if keys else type(raw).__name__
        raise OmibError(
            f"{path} has neither the MMSA nor the MAG-BERT layout (found {found})",
            f"expected {MMSA_FORMAT} or {MAGBERT_FORMAT}",
        )
    _check_widths(path, splits)
    vocab_size = _tokenise(splits) if _is_tokens(splits["train"]["text"]) else None
    inputs = {}
    for split, arrays in splits.items():
        inputs[split] = {m: _pad(arrays[m], max_len) for m in ("text", "audio", "vision")}
    if standardize:
        _standardize(inputs)
    return MosiData(
        inputs=inputs,
        target={s: torch.from_numpy(splits[s]["label"]) for s in SPLITS},
        ids={s: splits[s]["id"] for s in SPLITS},
        layout=layout,
        text="tokens" if vocab_size is not None else "features",
        vocab_size=vocab_size,
    )


def _error(path: Path, where: str, problem: str, layout: str = MMSA_FORMAT) -> OmibError:
    return OmibError(f"{path}: {where} {problem}", f"expected {layout}")


def _read_mmsa(path: Path, split: str, data: Any, text: str) -> dict[str, Any]:
    """One MMSA split as lists of per-sample arrays (valid steps only)."""
    if not isinstance(data, dict):
        raise _error(path, f"split {split!r}", f"is a {type(data).__name__}, not a dict")
    use_tokens = text == "tokens" or (text == "auto" and "text" not in data)
    text_key = "text_bert" if use_tokens else "text"
    missing = [k for k in (text_key, "audio", "vision", "regression_labels") if k not in data]
    if missing:
        raise _error(path, f"split {split!r}", f"lacks key(s) {', '.join(missing)}")
    labels = np.asarray(data["regression_labels"], dtype=np.float32)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or not len(labels) or not np.isfinite(labels).all():
        raise _error(
            path,
            f"{split}['regression_labels']",
            f"has shape {labels.shape} or non-finite values, not [N] finite floats with N >= 1",
        )
    n = len(labels)
    arrays = {}
    for key in (text_key, "audio", "vision"):
        array = np.asarray(data[key], dtype=np.float32)
        if array.ndim != 3 or len(array) != n:
            raise _error(
                path,
                f"{split}[{key!r}]",
                f"has shape {array.shape}, not "
                f"[N, L, D] with N = {n} (the number of regression_labels)",
            )
        arrays[key] = array
    text_seqs = _mmsa_text(path, split, data, arrays, n)
    out: dict[str, Any] = {"text": text_seqs, "label": labels}
    for modality in ("audio", "vision"):
        lengths = data.get(f"{modality}_lengths")
        if lengths is not None:
            lengths = np.asarray(lengths).reshape(-1).astype(np.int64)
            if len(lengths) != n:
                raise _error(
                    path,
                    f"{split}['{modality}_lengths']",
                    f"has {len(lengths)} entries, not N = {n}",
                )
        out[modality] = _cut(
            np.nan_to_num(arrays[modality], nan=0.0, posinf=0.0, neginf=0.0), lengths
        )
    ids = data.get("id")
    out["id"] = [str(i) for i in ids] if ids is not None else [f"{split}_{i}" for i in range(n)]
    if len(out["id"]) != n:
        raise _error(path, f"{split}['id']", f"has {len(out['id'])} entries, not N = {n}")
    return out


def _mmsa_text(
    path: Path, split: str, data: dict, arrays: dict[str, np.ndarray], n: int
) -> list[np.ndarray]:
    """The text of an MMSA split (``arrays`` holds ``text_bert`` when tokens are used, else
    ``text``): token ids up to the input mask's length, or BERT features cut to the mask's
    length when ``text_bert`` is there too."""
    if "text_bert" in arrays:
        tokens = arrays["text_bert"]
        if tokens.shape[1] != 3:
            raise _error(
                path,
                f"{split}['text_bert']",
                f"has shape {tokens.shape}, not [N, 3, L] (token ids, input mask, segment ids)",
            )
        text_lengths = tokens[:, 1].sum(1).astype(np.int64)
        return [tokens[i, 0, : text_lengths[i]].astype(np.int64) for i in range(n)]
    has_tokens = "text_bert" in data
    mask = np.asarray(data["text_bert"], dtype=np.float32)[:, 1] if has_tokens else None
    lengths = mask.sum(1).astype(np.int64) if mask is not None and mask.shape[0] == n else None
    return _cut(arrays["text"], lengths)


def _cut(array: np.ndarray, lengths: np.ndarray | None) -> list[np.ndarray]:
    if lengths is None:
        return list(array)
    lengths = np.clip(lengths, 0, array.shape[1])
    return [array[i, : lengths[i]] for i in range(len(array))]


def _read_magbert(path: Path, split: str, examples: Any) -> dict[str, Any]:
    """One MAG-BERT split as lists of per-sample arrays (words stay strings)."""
    if not isinstance(examples, list | tuple) or not examples:
        raise _error(path, f"split {split!r}", "is not a non-empty list", MAGBERT_FORMAT)
    out: dict[str, Any] = {"text": [], "audio": [], "vision": [], "label": [], "id": []}
    for i, example in enumerate(examples):
        try:
            (words, visual, acoustic), label, segment = example
            visual = np.asarray(visual, dtype=np.float32)
            acoustic = np.asarray(acoustic, dtype=np.float32)
            label = float(np.asarray(label, dtype=np.float32).reshape(-1)[0])
        except (TypeError, ValueError, IndexError) as err:
            raise _error(path, f"{split}[{i}]", f"cannot be read ({err})", MAGBERT_FORMAT) from None
        words = [str(w) for w in words]
        if visual.ndim != 2 or acoustic.ndim != 2 or not len(words) == len(visual) == len(acoustic):
            raise _error(
                path,
                f"{split}[{i}]",
                f"has {len(words)} words, visual {visual.shape} and "
                f"acoustic {acoustic.shape}, not one [D] row per word",
                MAGBERT_FORMAT,
            )
        out["text"].append(words)
        out["vision"].append(np.nan_to_num(visual, nan=0.0, posinf=0.0, neginf=0.0))
        out["audio"].append(np.nan_to_num(acoustic, nan=0.0, posinf=0.0, neginf=0.0))
        out["label"].append(label)
        out["id"].append(str(segment))
    out["label"] = np.asarray(out["label"], dtype=np.float32)
    return out


def _is_tokens(sequences: list) -> bool:
    first = sequences[0]
    return isinstance(first, list) or np.asarray(first).dtype.kind in "iu"


def _check_widths(path: Path, splits: dict[str, dict[str, Any]]) -> None:
    """Every split must give each float modality the train split's feature width."""
    for modality in ("text", "audio", "vision"):
        if _is_tokens(splits["train"][modality]):
            continue
        width = splits["train"][modality][0].shape[-1]
        for split, arrays in splits.items():
            for seq in arrays[modality]:
                if seq.shape[-1] != width:
                    raise OmibError(
                        f"{path}: {split} {modality} features have width {seq.shape[-1]} but "
                        f"train has {width}",
                        "expected the same features (and width) in every split",
                    )


def _tokenise(splits: dict[str, dict[str, Any]]) -> int:
    """Replace text tokens (words or ids) by indices of a train vocabulary; return its size."""

    def key(token: Any) -> Any:
        return token.lower() if isinstance(token, str) else int(token)

    vocabulary: dict[Any, int] = {}
    for sequence in splits["train"]["text"]:
        for token in sequence:
            vocabulary.setdefault(key(token), len(vocabulary) + 2)
    for arrays in splits.values():
        arrays["text"] = [
            np.asarray([vocabulary.get(key(t), 1) for t in seq], dtype=np.int64)
            for seq in arrays["text"]
        ]
    return len(vocabulary) + 2


def _pad(sequences: list[np.ndarray], max_len: int | None) -> PaddedSequences:
    lengths = np.asarray([len(s) for s in sequences], dtype=np.int64)
    if max_len is not None:
        lengths = np.minimum(lengths, max_len)
    length = max(int(lengths.max()), 1)
    first = sequences[0]
    shape = (len(sequences), length, *first.shape[1:])
    values = np.zeros(shape, dtype=first.dtype)
    for i, (seq, n) in enumerate(zip(sequences, lengths)):
        values[i, :n] = seq[:n]
    return PaddedSequences(torch.from_numpy(values), torch.from_numpy(lengths))


def _standardize(inputs: dict[str, dict[str, PaddedSequences]]) -> None:
    """z-score float features in place with train statistics over valid steps."""
    for modality, train in inputs["train"].items():
        if not train.values.is_floating_point():
            continue
        valid = torch.arange(train.values.shape[1])[None] < train.lengths[:, None]
        rows = train.values[valid]
        mean, std = rows.mean(0), rows.std(0).clamp_min(1e-6)
        for split in inputs.values():
            seqs = split[modality]
            mask = torch.arange(seqs.values.shape[1])[None] < seqs.lengths[:, None]
            seqs.values.sub_(mean).div_(std).mul_(mask[..., None])
