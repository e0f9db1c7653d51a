"""``omib-st detect``: score a sample's spots and write them into a new h5ad."""

from __future__ import annotations

import argparse

from omib_st.cli._common import add_common, add_reference_choice


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "detect", help="score every spot of a sample (h5ad or Space Ranger folder)"
    )
    parser.add_argument("sample")
    parser.add_argument("--reference", nargs="+", metavar="REF", help="reference sections: normal, or annotated with --label-key")
    parser.add_argument("--model", metavar="DIR", help="a model saved by 'omib-st fit'")
    parser.add_argument("-o", "--out", help="output h5ad (default: SAMPLE.omib.h5ad)")
    add_reference_choice(parser)
    add_common(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys
    import warnings

    from omib_st.cli._common import (
        Files,
        build_config,
        check_label_arguments,
        check_seed,
        checkpoint_output,
        is_main_process,
        load_model,
        output,
        output_for,
        refuse_config_with_model,
        summary,
        write_outputs,
    )
    from omib_st.errors import OmibError

    check_label_arguments(args)
    if sum(x is not None for x in (args.reference, args.model, args.normal_key)) > 1:
        raise OmibError(
            "give only one of --reference, --model and --normal-key", "pick one reference choice"
        )
    if args.label_key is not None and args.model:
        raise OmibError("--label-key trains a model; --model gives a trained one",
                        "leave out --label-key (a supervised model scores as it is) or --model")  # fmt: skip
    check_seed(args.seed)
    if args.model:
        refuse_config_with_model(args)
    config = build_config(args, train=not args.model)
    out = output_for(args.sample, args.out)
    checkpoints = None if args.model else checkpoint_output(config)
    files = Files(
        args,
        inputs=[args.sample, *(args.reference or []), args.model, args.config],
        outputs=[output(out, "-o"), output(args.plot, "--plot"), checkpoints],
    )
    adata = files.read(args.sample, plot=args.plot, library_id=args.library_id)
    import omib_st as om

    model = None
    if args.model:
        model = load_model(args.model)
        if args.device is not None:
            model.config = om.config.replace(model.config, **{"train.device": args.device})
    elif not (args.reference or args.normal_key or args.label_key):
        from omib_st.model.tissue_data import check_section, has_image

        use_image = has_image(adata) if not args.no_image else False
        check_section(adata, config, use_image=use_image, layer=args.layer,
                      library_id=args.library_id)  # fmt: skip
        print("omib-st detect: no reference given: self-referenced mode (trains on the sample itself; "
              "the weakest mode)", file=sys.stderr)  # fmt: skip
    reference = [files.read(r, "reference") for r in args.reference] if args.reference else None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="omib-st: no reference given")
        om.tl.detect(
            adata, reference=reference, model=model, normal_key=args.normal_key,
            normal_values=args.normal_values, label_key=args.label_key, positive=args.positive,
            ignore=args.ignore, config=config, use_image=False if args.no_image else None,
            layer=args.layer, library_id=args.library_id,
        )  # fmt: skip
    if not is_main_process():
        return 0
    write_outputs(adata, out, args.plot, files)
    print(
        f"omib-st detect: {summary(adata)}\n  wrote {out}"
        + (f"\n  wrote {args.plot}" if args.plot else "")
    )
    return 0
