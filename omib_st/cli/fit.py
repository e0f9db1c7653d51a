"""``omib-st fit``: train a detector on normal reference sections and save it."""

from __future__ import annotations

import argparse

from omib_st.cli._arguments import add_common, add_reference_choice


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="train on normal reference sections (or annotated ones: --label-key) and save "
        "the model",
    )
    parser.add_argument("references", nargs="+", metavar="REF")
    parser.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    add_reference_choice(parser)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted fit from train.checkpoint_dir (its last.ckpt)",
    )
    add_common(parser, plot=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from omib_st.cli._arguments import build_config, check_label_arguments, check_seed
    from omib_st.cli._files import Files, checkpoint_output, output
    from omib_st.cli._outputs import is_main_process

    check_label_arguments(args)
    check_seed(args.seed)
    config = build_config(args)
    files = Files(
        args,
        inputs=[*args.references, args.config],
        outputs=[output(args.out, "--out", "model"), checkpoint_output(config)],
    )
    references = [files.read(r, "reference") for r in args.references]
    from omib_st.model import OmibDetector

    detector = OmibDetector(config).fit(
        references,
        normal_key=args.normal_key,
        normal_values=args.normal_values,
        use_image=False if args.no_image else None,
        layer=args.layer,
        library_id=args.library_id,
        resume=args.resume,
        label_key=args.label_key,
        positive=args.positive,
        ignore=args.ignore,
    )
    if not is_main_process():
        return 0
    files.check(files.outputs[:1])
    detector.save(args.out, force=args.force)
    t = detector.training
    classes = (
        f" ({t['n_train_positive']} positive, {t['n_train_negative']} negative; supervised, "
        f"{t['members']} module(s))"
        if detector.mode == "supervised"
        else ""
    )
    print(
        f"omib-st fit: trained on {t['n_train_spots']} spots{classes} of {t['n_reference_sections']} section(s), "
        f"{len(detector.genes)} genes, modalities {'+'.join(detector.modalities)}, "
        f"β = {t['bound'].get('beta', float('nan')):.3g}\n  wrote {args.out}"
    )
    return 0
