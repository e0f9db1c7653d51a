"""CMU-MOSI benchmark on tiny MMSA and MAG-BERT pickles with the real key names and dtypes."""

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from omib_st.benchmarks.mosi import MosiConfig, load_mosi, regression_metrics, run_mosi
from omib_st.cli import main
from omib_st.config import MIConfig, OMIBConfig, TrainConfig, replace
from omib_st.errors import OmibError

LENGTHS = {"text": 6, "audio": 8, "vision": 7}
DIRECTION = np.random.default_rng(42).standard_normal(768)  # how the text factor shows
TINY = MosiConfig(
    hidden_dim=16, out_dim=16, n_heads=2, dropout=0.0,
    omib=OMIBConfig(latent_dim=8, fused_dim=16),
    train=TrainConfig(batch_size=32, warmup_epochs=1, max_epochs=1, patience=0,
                      progress_bar=False, device="cpu"),
    mi=MIConfig(steps=10, batch_size=64),
)  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Two shared cores: one intra-op thread avoids oversubscription (several times faster)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def mmsa_split(n: int, rng, *, unaligned: bool = True) -> dict:
    """Sentiment = text factor + audio factor (each U[-1.5, 1.5]); vision carries nothing."""
    t, a = rng.uniform(-1.5, 1.5, n), rng.uniform(-1.5, 1.5, n)
    text = t[:, None, None] * DIRECTION + 0.5 * rng.standard_normal((n, LENGTHS["text"], 768))
    audio = rng.standard_normal((n, LENGTHS["audio"], 5))
    audio[:, :, 0] = a[:, None] + 0.2 * audio[:, :, 0]
    audio[0, 0, 1] = -np.inf  # MMSA's MOSI audio holds -inf values: read as 0
    vision = rng.standard_normal((n, LENGTHS["vision"], 20))
    text_lengths = rng.integers(2, LENGTHS["text"] + 1, n)
    text_bert = np.zeros((n, 3, LENGTHS["text"]))
    for i, k in enumerate(text_lengths):
        text_bert[i, 0, :k] = [101, *rng.integers(1000, 1030, k - 2), 102]
        text_bert[i, 1, :k] = 1
    split = {
        "raw_text": [f"utterance {i}" for i in range(n)],
        "id": [f"video{i // 4}$_${i % 4}" for i in range(n)],
        "text": text.astype(np.float32),
        "text_bert": text_bert.astype(np.float32),
        "audio": audio.astype(np.float32),
        "vision": vision.astype(np.float32),
        "regression_labels": (t + a).astype(np.float32),
        "classification_labels": np.sign(t + a).astype(np.float32),
    }
    if unaligned:
        for m in ("audio", "vision"):
            lengths = rng.integers(1, LENGTHS[m] + 1, n)
            for i, k in enumerate(lengths):
                split[m][i, k:] = 0
            split[f"{m}_lengths"] = [int(k) for k in lengths]
    return split


def write_mmsa(path: Path, sizes=(48, 16, 16), seed: int = 0, **kwargs) -> Path:
    rng = np.random.default_rng(seed)
    data = {s: mmsa_split(n, rng, **kwargs) for s, n in zip(("train", "valid", "test"), sizes)}
    path.write_bytes(pickle.dumps(data))
    return path


def write_magbert(path: Path, sizes=(24, 8, 8), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    words = ["the", "movie", "was", "good", "bad", "really", "not", "i", "liked", "it"]
    data = {}
    for split, n in zip(("train", "dev", "test"), sizes):
        examples = []
        for i in range(n):
            k = int(rng.integers(2, 7))
            seq = [str(w) for w in rng.choice(words, k)]
            if split == "test" and i == 0:
                seq[0] = "unseen"
            visual = rng.standard_normal((k, 47)).astype(np.float32)
            acoustic = rng.standard_normal((k, 74)).astype(np.float32)
            label = np.array([[rng.uniform(-3, 3)]], dtype=np.float32)
            examples.append(((seq, visual, acoustic), label, f"seg{split}{i}"))
        data[split] = examples
    path.write_bytes(pickle.dumps(data))
    return path


@pytest.fixture(scope="module")
def mmsa(tmp_path_factory) -> Path:
    return write_mmsa(tmp_path_factory.mktemp("mosi") / "unaligned_50.pkl")


def test_mmsa_features_lengths_and_tokens(mmsa):
    data = load_mosi(mmsa)
    assert data.layout == "mmsa" and data.text == "features" and data.vocab_size is None
    audio = data.inputs["train"]["audio"]
    assert audio.values.shape == (48, 8, 5) and audio.values.dtype.is_floating_point
    assert audio.lengths.max() <= 8 and audio.lengths.min() >= 1
    assert data.inputs["test"]["text"].values.shape == (16, 6, 768)
    assert data.target["valid"].shape == (16,) and data.ids["train"][1] == "video0$_$1"
    assert all(p.values.isfinite().all() for s in data.inputs.values() for p in s.values())
    item = data.inputs["train"]["vision"][3]
    assert item["values"][item["lengths"] :].abs().sum() == 0  # padding stays zero
    tokens = load_mosi(mmsa, text="tokens")
    ids = tokens.inputs["train"]["text"]
    assert tokens.text == "tokens" and ids.values.dtype.is_floating_point is False
    assert ids.values.max() < tokens.vocab_size <= 2 + 32  # [CLS], [SEP] and 30 word ids


def test_magbert_words_get_a_train_vocabulary(tmp_path):
    data = load_mosi(write_magbert(tmp_path / "mosi.pkl"))
    assert data.layout == "magbert" and data.text == "tokens"
    assert data.vocab_size == 2 + 10
    assert data.inputs["test"]["text"][0]["values"][0] == 1  # unknown word
    assert data.inputs["train"]["audio"].values.shape[-1] == 74
    assert data.inputs["train"]["vision"].values.shape[-1] == 47


def test_metrics_follow_the_mmsa_conventions():
    pred = np.array([2.6, -0.4, 0.2, -1.0, 0.0])
    truth = np.array([3.0, -1.0, 0.0, 1.0, -0.2])
    metrics = regression_metrics(pred, truth)
    assert metrics["acc7"] == pytest.approx(3 / 5)
    assert metrics["acc2_nonzero"] == pytest.approx(3 / 4)  # label 0 dropped, > 0 vs <= 0
    assert metrics["f1_nonzero"] == pytest.approx((2 / 3 * 2 + 0.8 * 2) / 4)
    assert metrics["acc2_haszero"] == pytest.approx(3 / 5)  # >= 0 vs < 0
    assert metrics["mae"] == pytest.approx(0.68)
    assert metrics["corr"] == pytest.approx(np.corrcoef(pred, truth)[0, 1])
    assert np.isnan(regression_metrics(np.zeros(5), truth)["corr"])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["valid"].pop("audio"), "split 'valid' lacks key\\(s\\) audio"),
        (lambda d: d["train"].update(vision=d["train"]["vision"][:, :, 0]), "vision.*has shape"),
        (lambda d: d["test"].update(audio=d["test"]["audio"][:, :, :4]), "width 4 but train has 5"),
        (
            lambda d: d["train"].update(regression_labels=np.zeros(3)),
            "text.*not \\[N, L, D\\] with N = 3",
        ),
        (lambda d: d["train"].update(audio_lengths=[1, 2]), "audio_lengths.*2 entries"),
        (lambda d: d.pop("valid"), "neither the MMSA nor the MAG-BERT layout"),
    ],
)
def test_wrong_mmsa_layouts_are_clear_errors(tmp_path, mmsa, edit, message):
    data = pickle.loads(mmsa.read_bytes())
    edit(data)
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(OmibError, match=message) as err:
        load_mosi(path)
    assert str(path) in str(err.value) and "expected" in str(err.value)


def test_wrong_files_are_clear_errors(tmp_path):
    with pytest.raises(OmibError, match="does not exist"):
        load_mosi(tmp_path / "missing.pkl")
    (tmp_path / "text.pkl").write_text("not a pickle")
    with pytest.raises(OmibError, match="cannot be unpickled.*MMSA"):
        load_mosi(tmp_path / "text.pkl")
    path = write_magbert(tmp_path / "mosi.pkl")
    data = pickle.loads(path.read_bytes())
    (words, visual, acoustic), label, segment = data["dev"][2]
    data["dev"][2] = ((words, visual[:-1], acoustic), label, segment)
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(OmibError, match="dev\\[2\\].*one \\[D\\] row per word.*MAG-BERT"):
        load_mosi(path)
    with pytest.raises(OmibError, match="modalities"):
        MosiConfig(modalities=("text", "image"))


@pytest.mark.parametrize(
    ("pickle_kind", "changes"),
    [("mmsa", {}), ("mmsa", {"text": "tokens", "encoder": "lstm"}), ("magbert", {})],
)
def test_one_epoch_end_to_end(tmp_path, mmsa, pickle_kind, changes):
    path = mmsa if pickle_kind == "mmsa" else write_magbert(tmp_path / "mosi.pkl")
    record = run_mosi(path, replace(TINY, **changes))
    assert record["model"] == "omib" and record["modalities"] == ["text", "audio", "vision"]
    assert set(record["test"]) == {"acc7", "acc2_nonzero", "f1_nonzero", "acc2_haszero",
                                   "f1_haszero", "mae", "corr"}  # fmt: skip
    assert record["beta_bound"]["beta"] > 0 and record["epochs"] == 2
    assert record["layout"] == pickle_kind


def test_cli_writes_the_json_record(tmp_path, mmsa, capsys):
    out = tmp_path / "mosi.json"
    argv = ["benchmark", "mosi", "--data", str(mmsa), "--epochs", "1", "--warmup-epochs", "1",
            "--modalities", "audio,text", "--fixed-r", "--seed", "2", "--device", "cpu",
            "--no-progress", "--set", "hidden_dim=16", "--set", "n_heads=2",
            "--set", "mi.steps=10", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(out.read_text())
    assert record["modalities"] == ["audio", "text"] and record["omib"]["dynamic_r"] is False
    assert record["seed"] == 2 and "acc2_nonzero" in capsys.readouterr().out
    assert main(["benchmark", "mosi", "--data", str(tmp_path / "no.pkl"), "--no-progress"]) == 2
    assert "no.pkl does not exist" in capsys.readouterr().err
    assert main(["benchmark", "mosi", "--data", str(mmsa), "--set", "colour=red"]) == 2
    assert "unknown config key(s) colour" in capsys.readouterr().err


def learn(path: Path, modalities: tuple[str, ...]) -> dict:
    config = replace(
        TINY, modalities=modalities,
        **{"train.warmup_epochs": 3, "train.max_epochs": 15, "train.lr": 3e-3, "mi.steps": 100},
    )  # fmt: skip
    return run_mosi(path, config)["test"]


def test_sentiment_needs_text_and_audio_together(tmp_path):
    """Label = text factor + audio factor: OMIB recovers it, either modality alone cannot."""
    path = write_mmsa(tmp_path / "sum.pkl", sizes=(320, 64, 96), seed=1)
    fused = learn(path, ("text", "audio", "vision"))
    assert fused["mae"] < 0.45 and fused["corr"] > 0.9, fused
    for modality in ("text", "audio"):
        alone = learn(path, (modality,))
        assert alone["mae"] > 0.6 and alone["corr"] < 0.8, (modality, alone)


def test_workflow_dry_run(mmsa, tmp_path):
    snakefile = Path(__file__).parents[2] / "workflows" / "mosi" / "Snakefile"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-s", str(snakefile), "-d", str(tmp_path),
         "--config", f"data={mmsa}", "seeds=[0,1]", "epochs=1"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert "aggregate" in result.stdout and "run" in result.stdout


@pytest.mark.parametrize(
    "setting, value", [("n_heads", 0), ("hidden_dim", -1), ("n_layers", 0), ("dropout", 1.5)]
)
def test_model_settings_out_of_range_are_one_line_errors(setting, value):
    with pytest.raises(OmibError, match=f"config {setting} = "):
        replace(MosiConfig(), **{setting: value})
