"""``omib-st score``: score samples with a saved model."""

from __future__ import annotations

import argparse

from omib_st.cli._arguments import add_common


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score", help="score samples with a model saved by 'omib-st fit'"
    )
    parser.add_argument("samples", nargs="+", metavar="SAMPLE")
    parser.add_argument("--model", required=True, metavar="DIR")
    parser.add_argument(
        "-o", "--out", help="output h5ad (one sample only; default: SAMPLE.omib.h5ad)"
    )
    add_common(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import contextlib

    from omib_st.cli._arguments import check_device, check_seed, refuse_config_with_model
    from omib_st.cli._files import Files, load_model, output, output_for
    from omib_st.cli._outputs import summary, write_outputs
    from omib_st.errors import OmibError

    if args.out and len(args.samples) > 1:
        raise OmibError(
            "-o names one file but several samples were given",
            "leave -o out to write SAMPLE.omib.h5ad each",
        )
    if args.plot and len(args.samples) > 1:
        raise OmibError(
            "--plot names one file but several samples were given", "score one sample per --plot"
        )
    check_seed(args.seed)
    refuse_config_with_model(args)
    outputs = [output_for(s, args.out) for s in args.samples]
    files = Files(
        args,
        inputs=[*args.samples, args.model],
        outputs=[*(output(o, "-o") for o in outputs), output(args.plot, "--plot")],
    )
    check_device(args.device)
    import omib_st as om

    model = load_model(args.model)
    overrides = {
        k: v for k, v in (("train.device", args.device), ("train.seed", args.seed)) if v is not None
    }
    if overrides:
        model.config = om.config.replace(model.config, **overrides)
    lines = []
    with contextlib.ExitStack() as staged:  # every output appears at the end, or none does
        for sample, out in zip(args.samples, outputs):
            adata = files.read(sample, plot=args.plot, library_id=args.library_id)
            om.tl.detect(adata, model=model, layer=args.layer, library_id=args.library_id)
            write_outputs(adata, out, args.plot, files, stack=staged)
            lines.append(f"omib-st score: {sample}: {summary(adata)}\n  wrote {out}")
            del adata
    print("\n".join(lines))
    return 0
