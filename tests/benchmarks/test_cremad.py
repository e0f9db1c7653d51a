"""CREMA-D benchmark on tiny datasets written in the OGM-GE layout (real WAV and JPEG files)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.io import wavfile

from omib_st.benchmarks.cremad import (
    LABELS,
    CremadConfig,
    CremadDataset,
    CremadLayout,
    load_cremad,
    run_cremad,
)
from omib_st.cli import main
from omib_st.config import MIConfig, OMIBConfig, TrainConfig, replace
from omib_st.errors import OmibError

RATE = 8000
TINY = CremadConfig(
    sample_rate=RATE, duration=0.5, n_fft=62, hop_length=125, image_size=32, frames=2,
    backbone="test_resnet", out_dim=16, omib=OMIBConfig(latent_dim=8, fused_dim=16),
    train=TrainConfig(batch_size=16, warmup_epochs=1, max_epochs=1, patience=0,
                      progress_bar=False, device="cpu"),
    mi=MIConfig(steps=10, batch_size=32),
)  # fmt: skip
TINY_FLAGS = ["--backbone", "test_resnet", "--image-size", "32", "--frames", "2",
              "--set", "sample_rate=8000", "--set", "duration=0.5", "--set", "n_fft=62",
              "--set", "hop_length=125", "--set", "out_dim=16", "--set", "omib.latent_dim=8",
              "--set", "mi.steps=10", "--batch-size", "16", "--device", "cpu",
              "--no-progress"]  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Two shared cores: one intra-op thread avoids oversubscription (several times faster)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_clip(root: Path, name: str, audio_factor: int, visual_factor: int, rng) -> None:
    """A 16-bit PCM WAV tone (low or high pitch) and two JPEG frames (dark or bright)."""
    t = np.arange(int(0.4 * RATE)) / RATE  # shorter than `duration`: the loader tiles it
    tone = np.sin(2 * np.pi * (400 if audio_factor == 0 else 2400) * t)
    tone = 0.5 * tone + 0.05 * rng.standard_normal(len(t))
    wavfile.write(root / "AudioWAV" / f"{name}.wav", RATE, (tone * 32767).astype(np.int16))
    folder = root / "visual" / "Image-01-FPS" / name
    folder.mkdir(parents=True)
    for k in range(2):
        level = 60 if visual_factor == 0 else 190
        pixels = np.clip(level + 25 * rng.standard_normal((40, 48, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{k:03d}.jpg", quality=90)


def make_cremad(
    root: Path, n_train: int = 48, n_test: int = 24, seed: int = 0, redundant: bool = False
) -> Path:
    """OGM-GE layout whose label (NEU, HAP or SAD) is pitch + brightness (0/1 each); with
    ``redundant`` the brightness follows the pitch, so either modality tells NEU from SAD."""
    rng = np.random.default_rng(seed)
    (root / "AudioWAV").mkdir(parents=True)
    for split, n in (("train", n_train), ("test", n_test)):
        rows = []
        for i in range(n):
            a = i % 2
            v = a if redundant else (i // 2) % 2
            name = f"{1001 + i}_{split.upper()}_{LABELS[a + v]}_XX"
            write_clip(root, name, a, v, rng)
            rows.append(f"{name},{LABELS[a + v]}")
        (root / f"{split}.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def cremad_root(tmp_path_factory) -> Path:
    return make_cremad(tmp_path_factory.mktemp("cremad"))


def test_layout_is_read_with_the_reference_shapes(cremad_root):
    data = load_cremad(CremadLayout.from_root(cremad_root))
    assert len(data["train"]) == 48 and len(data["test"]) == 24
    assert data["skipped"] == {"train": 0, "test": 0}
    item = CremadDataset(data["train"], TINY, train=True)[0]
    assert item["inputs"]["audio"].shape == (1, 32, 33)  # n_fft // 2 + 1, 1 + 4000 // 125
    assert item["inputs"]["visual"].shape == (2, 3, 32, 32)
    assert item["target"].item() == data["train"][0].label
    logmel = CremadDataset(data["test"], replace(TINY, spectrogram="logmel", n_mels=12))[0]
    assert logmel["inputs"]["audio"].shape == (1, 12, 33)


def test_ogmge_defaults_give_a_257_by_188_spectrogram(cremad_root):
    data = load_cremad(CremadLayout.from_root(cremad_root))
    audio = CremadDataset(data["test"], CremadConfig()).audio(data["test"][0])
    assert audio.shape == (1, 257, 188)


def test_missing_clips_are_skipped_and_counted(tmp_path):
    root = make_cremad(tmp_path / "d", n_train=8, n_test=4)
    rows = (root / "train.csv").read_text().splitlines()
    (root / "AudioWAV" / f"{rows[0].split(',')[0]}.wav").unlink()
    for frame in (root / "visual" / "Image-01-FPS" / rows[1].split(",")[0]).iterdir():
        frame.unlink()
    (root / "train.csv").write_text("\n".join([*rows, "never_extracted,ANG"]) + "\n")
    data = load_cremad(CremadLayout.from_root(root))
    assert len(data["train"]) == 6 and data["skipped"] == {"train": 3, "test": 0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("clip,label\na,NEU\n", "unknown label 'label' \\(a header row\\?\\)"),
        ("a,NEU\nb\n", "line 2 has 1 column"),
        ("a,BORED\n", "unknown label 'BORED'.*NEU HAP SAD FEA DIS ANG"),
        ("\n", "lists no clips"),
    ],
)
def test_bad_csv_is_a_clear_error_naming_the_file(tmp_path, content, message):
    root = make_cremad(tmp_path / "d", n_train=2, n_test=2)
    (root / "train.csv").write_text(content)
    with pytest.raises(OmibError, match=message) as err:
        load_cremad(CremadLayout.from_root(root))
    assert str(root / "train.csv") in str(err.value)


def test_missing_folders_and_unreadable_files_are_clear_errors(tmp_path):
    root = make_cremad(tmp_path / "d", n_train=2, n_test=2)
    with pytest.raises(OmibError, match="Image-05-FPS does not exist.*--fps"):
        load_cremad(CremadLayout.from_root(root, fps=5))
    with pytest.raises(OmibError, match="audio folder .*nowhere does not exist"):
        load_cremad(CremadLayout.from_root(root, audio_dir=tmp_path / "nowhere"))
    (root / "test.csv").write_text("ghost,NEU\n")
    with pytest.raises(OmibError, match="none of the 1 clips listed in .*test.csv"):
        load_cremad(CremadLayout.from_root(root))
    data = load_cremad(CremadLayout.from_root(make_cremad(tmp_path / "e", 2, 2)))
    data["train"][0].audio.write_bytes(b"not a wav")
    with pytest.raises(OmibError, match="cannot be read.*PCM WAV"):
        CremadDataset(data["train"], TINY)[0]
    with pytest.raises(OmibError, match="modalities"):
        CremadConfig(modalities=("audio", "text"))


def test_api_run_learns_an_easy_task_and_reports_metrics(tmp_path):
    """NEU (low pitch, dark frames) against SAD (high pitch, bright frames), balanced: chance is
    0.5; a few epochs of OMIB separate them (1.0 for seeds 0 to 2)."""
    root = make_cremad(tmp_path / "easy", redundant=True)
    config = replace(
        TINY,
        **{
            "omib.beta_scale": 0.1,
            "train.warmup_epochs": 2,
            "train.max_epochs": 4,
            "train.lr": 1e-2,
            "train.batch_size": 8,
        },
    )
    record = run_cremad(root, config)
    assert record["model"] == "omib" and record["modalities"] == ["audio", "visual"]
    assert set(record["test"]) == {"accuracy", "macro_f1"}
    assert record["test"]["accuracy"] >= 0.9 and record["test"]["macro_f1"] >= 0.9
    assert record["n"] == {"train": 43, "val": 5, "test": 24}
    assert record["beta_bound"]["beta"] > 0 and record["epochs"] == 6
    json.dumps(record)


def test_cli_writes_the_json_record(cremad_root, tmp_path, capsys):
    out = tmp_path / "run.json"
    argv = ["benchmark", "cremad", "--data", str(cremad_root), "--epochs", "1",
            "--warmup-epochs", "1", "--seed", "3", "--fusion", "concat", *TINY_FLAGS,
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(out.read_text())
    assert record["seed"] == 3 and record["omib"]["fusion"] == "concat"
    assert "accuracy" in capsys.readouterr().out
    assert not list(tmp_path.glob(".run.tmp-*"))
    assert main(["benchmark", "cremad", "--data", str(tmp_path / "none"), "--no-progress"]) == 2
    assert "train.csv does not exist" in capsys.readouterr().err


def sum_run(root: Path, modalities: tuple[str, ...]) -> float:
    """Accuracy of a short run on the pitch + brightness data (small images, short schedule).

    β is 0.1 × M_u^safe: at the automatic β (≈ 0.12 here) the bottleneck squeezes the two
    factors out and the fused head stays at chance (see the report on the β estimate).
    """
    config = replace(
        TINY, modalities=modalities, augment=False, image_size=16, frames=1, n_fft=30,
        hop_length=250, **{"omib.beta_scale": 0.1, "mi.steps": 100, "train.warmup_epochs": 3,
                           "train.max_epochs": 15, "train.lr": 3e-3, "train.batch_size": 32},
    )  # fmt: skip
    return run_cremad(root, config)["test"]["accuracy"]


@pytest.mark.slow
def test_pitch_plus_brightness_needs_both_modalities(tmp_path):
    """Label = pitch + brightness (NEU / HAP / SAD): fused accuracy ≈ 1, each modality ≈ 0.5."""
    root = make_cremad(tmp_path / "sum", n_train=320, n_test=96)
    assert sum_run(root, ("audio", "visual")) >= 0.9
    for modality in ("audio", "visual"):
        assert sum_run(root, (modality,)) <= 0.65


def test_workflow_dry_run(cremad_root, tmp_path):
    snakefile = Path(__file__).parents[2] / "workflows" / "cremad" / "Snakefile"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-s", str(snakefile), "-d", str(tmp_path),
         "--config", f"data={cremad_root}", "seeds=[0,1]", "epochs=1"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert "aggregate" in result.stdout and "run" in result.stdout


@pytest.mark.parametrize("setting", ["out_dim", "n_fft", "frames"])
def test_model_settings_below_one_are_one_line_errors(setting):
    with pytest.raises(OmibError, match=setting):
        replace(CremadConfig(), **{setting: 0})
