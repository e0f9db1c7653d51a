"""``omib-st detect``: score a sample's spots and write them into a new h5ad."""

from __future__ import annotations

import argparse

from omib_st.cli._arguments import add_common, add_reference_choice


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect", help="score every spot of a sample (h5ad or Space Ranger folder)"
    )
    parser.add_argument("sample")
    parser.add_argument(
        "--reference",
        nargs="+",
        metavar="REF",
        help="reference sections: normal, or annotated with --label-key",
    )
    parser.add_argument("--model", metavar="DIR", help="a model saved by 'omib-st fit'")
    parser.add_argument("-o", "--out", help="output h5ad (default: SAMPLE.omib.h5ad)")
    add_reference_choice(parser)
    add_common(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from omib_st.cli._arguments import build_config
    from omib_st.cli._files import Files, checkpoint_output, output, output_for
    from omib_st.cli._outputs import is_main_process, summary, write_outputs

    _check_arguments(args)
    config = build_config(args, train=not args.model)
    out = output_for(args.sample, args.out)
    checkpoints = None if args.model else checkpoint_output(config)
    files = Files(
        args,
        inputs=[args.sample, *(args.reference or []), args.model, args.config],
        outputs=[output(out, "-o"), output(args.plot, "--plot"), checkpoints],
    )
    adata = files.read(args.sample, plot=args.plot, library_id=args.library_id)
    model = _saved_model(args) if args.model else None
    if not (args.model or args.reference or args.normal_key or args.label_key):
        _announce_self_referenced(args, adata, config)
    reference = [files.read(r, "reference") for r in args.reference] if args.reference else None
    import omib_st as om

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="omib-st: no reference given")
        om.tl.detect(
            adata,
            reference=reference,
            model=model,
            normal_key=args.normal_key,
            normal_values=args.normal_values,
            label_key=args.label_key,
            positive=args.positive,
            ignore=args.ignore,
            config=config,
            use_image=False if args.no_image else None,
            layer=args.layer,
            library_id=args.library_id,
        )
    if not is_main_process():
        return 0
    write_outputs(adata, out, args.plot, files)
    print(
        f"omib-st detect: {summary(adata)}\n  wrote {out}"
        + (f"\n  wrote {args.plot}" if args.plot else "")
    )
    return 0


def _check_arguments(args: argparse.Namespace) -> None:
    """One reference choice, labels only for training, a valid seed; no --config with --model."""
    from omib_st.cli._arguments import check_label_arguments, check_seed, refuse_config_with_model
    from omib_st.errors import OmibError

    check_label_arguments(args)
    if sum(x is not None for x in (args.reference, args.model, args.normal_key)) > 1:
        raise OmibError(
            "give only one of --reference, --model and --normal-key", "pick one reference choice"
        )
    if args.label_key is not None and args.model:
        raise OmibError(
            "--label-key trains a model; --model gives a trained one",
            "leave out --label-key (a supervised model scores as it is) or --model",
        )
    check_seed(args.seed)
    if args.model:
        refuse_config_with_model(args)


def _saved_model(args: argparse.Namespace):
    """The model of --model, on the --device given."""
    from omib_st.cli._files import load_model
    from omib_st.config import replace

    model = load_model(args.model)
    if args.device is not None:
        model.config = replace(model.config, **{"train.device": args.device})
    return model


def _announce_self_referenced(args: argparse.Namespace, adata, config) -> None:
    """Check that the sample can train a model on itself, and say that this is the weakest mode."""
    import sys

    from omib_st.model.tissue_data import check_section, has_image

    use_image = has_image(adata) if not args.no_image else False
    check_section(adata, config, use_image=use_image, layer=args.layer, library_id=args.library_id)
    print(
        "omib-st detect: no reference given: self-referenced mode (trains on the sample itself; "
        "the weakest mode)",
        file=sys.stderr,
    )
