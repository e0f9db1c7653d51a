"""The shared arguments and the configuration they build (omib_st.cli._arguments)."""

import pytest

from omib_st.cli import build_parser, main
from omib_st.cli._arguments import (
    build_config,
    check_device,
    check_label_arguments,
    check_seed,
    check_strategy,
    refuse_config_with_model,
)
from omib_st.errors import OmibError


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_hardware_flags_reach_the_training_config(tmp_path):
    args = parse(
        "fit",
        "ref.h5ad",
        "--out",
        str(tmp_path / "m"),
        "--devices",
        "2",
        "--num-nodes",
        "3",
        "--strategy",
        "ddp",
    )
    train = build_config(args).train
    assert (train.devices, train.num_nodes, train.strategy) == (2, 3, "ddp")
    assert build_config(parse("fit", "r", "--out", "m")).train.devices == 1


def test_device_and_seed_flags_override_the_config_file(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("train:\n  seed: 5\n  device: cpu\n")
    built = build_config(parse("fit", "r", "--out", "m", "--config", str(config), "--seed", "7"))
    assert (built.train.seed, built.train.device) == (7, "cpu")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--label-key", "a", "--normal-key", "b", "--positive", "t"], "both given"),
        (["--positive", "t"], "without --label-key"),
        (["--label-key", "a"], "needs --positive"),
    ],
)
def test_inconsistent_label_arguments_are_refused(argv, message):
    with pytest.raises(OmibError, match=message):
        check_label_arguments(parse("fit", "r", "--out", "m", *argv))


def test_seed_strategy_device_and_config_with_model_checks():
    check_seed(None)
    check_seed(2**32 - 1)
    with pytest.raises(OmibError, match="--seed -1 is not a seed"):
        check_seed(-1)
    check_strategy("auto")
    check_strategy("ddp")
    with pytest.raises(OmibError, match="'dpp' is not a Lightning strategy.*ddp"):
        check_strategy("dpp")
    check_device("cpu")
    with pytest.raises(OmibError, match="--config is not used with a saved model"):
        refuse_config_with_model(parse("score", "s", "--model", "m", "--config", "c.yaml"))


def test_a_config_the_detector_cannot_use_is_refused_before_any_file_is_read(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("omib:\n  omf: false\n")
    # the sample does not exist: the configuration is refused first, in one line
    assert main(["detect", str(tmp_path / "none.h5ad"), "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("omib-st detect: error: the detector scores the fused head")
    assert "omib.omf: true" in err and len(err.splitlines()) == 1
    config.write_text("train:\n  min_epochs: 9\n  max_epochs: 3\n")
    assert main(["fit", str(tmp_path / "none.h5ad"), "--out", "m", "--config", str(config)]) == 2
    assert "train.min_epochs = 9 is above train.max_epochs = 3" in capsys.readouterr().err


def test_val_fraction_zero_is_accepted_by_the_command_line(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("train:\n  val_fraction: 0\n")  # the fit warns (tests/tl, tests/model)
    assert (
        build_config(parse("fit", "r", "--out", "m", "--config", str(config))).train.val_fraction
        == 0
    )
