"""``medfuse train``: train a network with its paper's loss on the Harvard train split."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a fusion network on the train split (checkpointed, resumable)")
    parser.add_argument("--model", required=True, help="network name (see `medfuse methods`)")
    parser.add_argument("--task", default="all", help="CT-MRI, PET-MRI, SPECT-MRI or all (default: all)")
    parser.add_argument("--out", default=None, help="run folder for checkpoints and logs (default: runs/MODEL)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the paper's")
    parser.add_argument("--steps-per-epoch", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the paper's")
    parser.add_argument("--patch-size", type=int, default=None, help="default: the paper's")
    parser.add_argument("--lr", type=float, default=None, help="default: the paper's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when present, else CPU)")
    parser.add_argument("--data", default=None, help="Harvard folder with split.csv (default: ../shared/data/harvard)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    parser.add_argument("--init-weights", default=None, metavar="SOURCE",
                        help="fine-tune: start from 'shipped' (the verified weights/ file) or a .safetensors path")
    parser.add_argument("--freeze-bn", action="store_true",
                        help="BatchNorm layers keep their running statistics (eval mode) while training, so the "
                             "network trained is the one that runs at inference")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    parser.add_argument("--install", action="store_true",
                        help="after training, copy the weights into weights/ and record them in the manifest")
    parser.add_argument("--force", action="store_true", help="with --install: replace different existing weights")
    parser.add_argument("--quiet", action="store_true")
    parser.set_defaults(run=run)


def run(args) -> int:
    from tqdm import tqdm

    from ..fusion import get_model_info
    from ..training.loop import TrainConfig, install_weights, train

    from ._checks import check_device

    check_device(args.device)
    info = get_model_info(args.model)
    config = TrainConfig.from_paper(info.name, tasks=args.task, epochs=args.epochs,
                                    steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
                                    patch_size=args.patch_size, lr=args.lr, seed=args.seed, threads=args.threads,
                                    device=args.device, data_root=args.data, init_weights=args.init_weights,
                                    freeze_batchnorm=args.freeze_bn or None)
    out = Path(args.out or Path("runs") / info.name)
    total = config.epochs * config.steps_per_epoch
    with tqdm(total=total, unit="step", disable=args.quiet, file=sys.stderr, desc=info.title) as bar:
        def progress(step, total_steps, logs):
            bar.n = step
            bar.set_postfix({k: f"{v:.4g}" for k, v in list(logs.items())[:4]}, refresh=False)
            bar.update(0)

        result = train(config, out, resume=args.resume, progress=progress, max_steps=args.max_steps)
    print(f"{info.title}: {result.epochs_done} epochs, {result.steps_done} steps, {result.wall_time_s:.0f} s, "
          f"final loss {result.final_loss:.4g}; weights {result.weights_file}", file=sys.stderr)
    if args.install:
        target = install_weights(out, info.name, force=args.force)
        print(f"installed {target} and its manifest entry", file=sys.stderr)
    return 0
