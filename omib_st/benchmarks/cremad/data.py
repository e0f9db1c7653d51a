"""CREMA-D in the layout of the OGM-GE family of codebases.

::

    DATA/train.csv, DATA/test.csv    no header; one ``clip,LABEL`` row per clip,
                                     LABEL in NEU HAP SAD FEA DIS ANG
    AUDIO/<clip>.wav                 the corpus' AudioWAV/ folder (default DATA/AudioWAV)
    VISUAL/Image-01-FPS/<clip>/*.jpg frames extracted at 1 frame per second (default DATA/visual)

As in the reference loaders, clips listed but missing on disk (no WAV file, or no frame folder or
an empty one) are skipped and counted.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from omib_st.benchmarks.cremad.audio import read_wav, spectrogram
from omib_st.benchmarks.cremad.config import CremadConfig
from omib_st.errors import OmibError

LABELS = ("NEU", "HAP", "SAD", "FEA", "DIS", "ANG")
"""Class order of OGM-GE's ``class_dict`` (label index = position)."""
_ROW_FORMAT = f"one `clip,LABEL` row per line, no header, LABEL one of {' '.join(LABELS)}"


@dataclass(frozen=True)
class Clip:
    """One clip on disk: its name, label index, WAV file and frame files (sorted)."""

    name: str
    label: int
    audio: Path
    frames: tuple[Path, ...]


@dataclass(frozen=True)
class CremadLayout:
    """Paths of the OGM-GE layout."""

    train_csv: Path
    test_csv: Path
    audio_dir: Path
    frame_dir: Path
    """``<visual_dir>/Image-{fps:02d}-FPS``: one sub-folder of JPEG frames per clip."""

    @classmethod
    def from_root(
        cls,
        root: str | Path,
        *,
        audio_dir: str | Path | None = None,
        visual_dir: str | Path | None = None,
        fps: int = 1,
    ) -> CremadLayout:
        """``root`` holds the CSVs; audio and frames default to ``root/AudioWAV``, ``root/visual``."""
        root = Path(root)
        audio = Path(audio_dir) if audio_dir is not None else root / "AudioWAV"
        visual = Path(visual_dir) if visual_dir is not None else root / "visual"
        return cls(root / "train.csv", root / "test.csv", audio, visual / f"Image-{fps:02d}-FPS")

    def check(self) -> None:
        """Refuse a layout whose CSVs or folders do not exist."""
        for path in (self.train_csv, self.test_csv):
            if not path.is_file():
                raise OmibError(f"CREMA-D split file {path} does not exist", _ROW_FORMAT)
        if not self.audio_dir.is_dir():
            raise OmibError(
                f"CREMA-D audio folder {self.audio_dir} does not exist",
                "point --audio-dir at the corpus' AudioWAV/ folder of <clip>.wav files",
            )
        if not self.frame_dir.is_dir():
            raise OmibError(
                f"CREMA-D frame folder {self.frame_dir} does not exist",
                "point --visual-dir at the folder holding Image-{fps:02d}-FPS/<clip>/*.jpg "
                "and check --fps",
            )


def read_split_csv(path: str | Path) -> list[tuple[str, int]]:
    """``(clip, label index)`` rows of an OGM-GE ``train.csv`` / ``test.csv``."""
    path = Path(path)
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise OmibError(
                    f"{path} line {line} has {len(row)} column(s) ({','.join(row)!r})", _ROW_FORMAT
                )
            clip, label = row[0].strip(), row[1].strip().upper()
            if label not in LABELS:
                hint = " (a header row?)" if line == 1 else ""
                raise OmibError(
                    f"{path} line {line} has unknown label {row[1]!r}{hint}", _ROW_FORMAT
                )
            rows.append((clip, LABELS.index(label)))
    if not rows:
        raise OmibError(f"{path} lists no clips", _ROW_FORMAT)
    return rows


def find_clips(rows: list[tuple[str, int]], layout: CremadLayout) -> tuple[list[Clip], int]:
    """The listed clips whose WAV file and frames exist, and how many were skipped."""
    clips = []
    for name, label in rows:
        audio = layout.audio_dir / f"{name}.wav"
        frames = tuple(sorted(p for p in (layout.frame_dir / name).glob("*.jpg") if p.is_file()))
        if audio.is_file() and frames:
            clips.append(Clip(name, label, audio, frames))
    return clips, len(rows) - len(clips)


def load_cremad(layout: CremadLayout) -> dict[str, object]:
    """Read both splits: ``{"train": [Clip], "test": [Clip], "skipped": {split: count}}``."""
    layout.check()
    result: dict[str, object] = {"skipped": {}}
    for split, path in (("train", layout.train_csv), ("test", layout.test_csv)):
        rows = read_split_csv(path)
        clips, skipped = find_clips(rows, layout)
        if not clips:
            raise OmibError(
                f"none of the {len(rows)} clips listed in {path} were found on disk",
                f"expected {layout.audio_dir}/<clip>.wav and {layout.frame_dir}/<clip>/*.jpg",
            )
        result[split] = clips
        result["skipped"][split] = skipped
    return result


def split_train_val(
    clips: list[Clip], fraction: float, seed: int = 0
) -> tuple[list[Clip], list[Clip]]:
    """Stratified (when every class has two clips) train / validation split of ``clips``."""
    from sklearn.model_selection import train_test_split

    labels = [c.label for c in clips]
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    try:
        train, val = train_test_split(
            clips, test_size=fraction, random_state=seed, stratify=stratify
        )
    except ValueError:  # too few clips per class for the requested fraction
        train, val = train_test_split(clips, test_size=fraction, random_state=seed)
    return list(train), list(val)


class CremadDataset(Dataset):
    """Clips read from disk on demand, as OMIB batches.

    Shapes:
        - **audio**: ``[1, F, T]`` float32 log spectrogram (F = n_fft // 2 + 1, or n_mels)
        - **visual**: ``[frames, 3, image_size, image_size]`` uint8
        - **target**: ``[]`` int64 label index (see :data:`LABELS`)
    """

    def __init__(self, clips: list[Clip], config: CremadConfig, *, train: bool = False):
        from torchvision.transforms import v2

        self.clips, self.config, self.train = clips, config, train
        size = config.image_size
        if train and config.augment:
            self.transform = v2.Compose(
                [v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
            )
        else:
            self.transform = v2.Resize((size, size), antialias=True)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        clip = self.clips[i]
        inputs = {}
        for modality in self.config.modalities:
            inputs[modality] = self.audio(clip) if modality == "audio" else self.visual(clip)
        return {"inputs": inputs, "target": torch.tensor(clip.label)}

    def audio(self, clip: Clip) -> Tensor:
        c = self.config
        image = spectrogram(
            *read_wav(clip.audio),
            sample_rate=c.sample_rate,
            duration=c.duration,
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            n_mels=c.n_mels if c.spectrogram == "logmel" else None,
        )
        return torch.from_numpy(image)[None]

    def visual(self, clip: Clip) -> Tensor:
        n, k = len(clip.frames), self.config.frames
        if self.train and self.config.augment:
            picks = (
                torch.randperm(n)[:k].sort().values
                if n >= k
                else torch.randint(n, (k,)).sort().values
            )
        else:
            picks = torch.linspace(0, n - 1, k).round().long()
        return torch.stack([self.transform(_read_jpeg(clip.frames[int(j)])) for j in picks])


def _read_jpeg(path: Path) -> Tensor:
    from PIL import Image
    from torchvision.transforms.v2.functional import pil_to_tensor

    try:
        with Image.open(path) as image:
            return pil_to_tensor(image.convert("RGB"))
    except OSError as err:
        raise OmibError(
            f"frame {path} cannot be read ({err})", "expected JPEG frames <clip>/*.jpg"
        ) from None
