"""What the end-to-end losses ask for, without a network (train split only; docs/models.md, issue 5).

MMIF-AMIN and the mask-optimisation network are trained end to end: their loss scores the fused image F against the
two sources. Here F itself is the only parameter: starting from the average of the sources, L-BFGS minimises each
paper's loss over the pixels of F on whole 256x256 train pairs (then clipped to [0, 1], as the networks' output
layers bound it; Adam was not used: its per-pixel normalised steps leave grain that the MI metric punishes). The result is the image the loss
prefers, free of any network's limits; a network trained with that loss can at best approach it. It is then scored
with the metrics of the quality bar (MI, Q^AB/F, VIF) against plain averaging, with SSIM to each source to show which
way the loss pulls. A second table gives each loss's value at simple candidate images (a copy of either source, the
average, the maximum, the optimum found from the average): for a non-convex loss it shows where its deepest minimum
lies.

Run: python docs/analysis/loss_optimum.py   (about 10 minutes on one core)
"""

from __future__ import annotations

import numpy as np
import torch

from medfuse_gui import metrics
from medfuse_gui.evaluation import _spread, load_inputs
from medfuse_gui.training.data import TASKS, read_split
from medfuse_gui.training.losses import amin, maskpa
from medfuse_gui.training.losses.common import ssim

PAIRS_PER_TASK = 3
ITERATIONS = 300


class FreeImage(torch.nn.Module):
    """A 'network' whose output is its own parameter: the fused image, started at the average of the sources."""

    def __init__(self, start: torch.Tensor):
        super().__init__()
        self.image = torch.nn.Parameter(start.clone())

    def forward(self, anatomical, functional):
        return self.image


class FreeImageWithDecoupling(FreeImage):
    """mask-pa's loss also scores its decoupling branches; returning the sources exactly sets that term to 0."""

    def forward(self, anatomical, functional):
        return self.image, anatomical, functional


def optimum(loss_module, model_class, a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    model = model_class((a + b) / 2)
    optimiser = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=ITERATIONS, history_size=20,
                                  tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss, _ = loss_module.compute_loss(model, a, b)
        loss.backward()
        return loss

    optimiser.step(closure)
    return model.image.detach().clamp(0, 1)[0, 0].numpy()


def scores(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> dict[str, float]:
    values = metrics.compute(a * 255, b * 255, f * 255, metrics=["MI", "Qabf", "VIF"])
    t = lambda x: torch.from_numpy(x).float()[None, None]  # noqa: E731
    values["SSIM(F,A)"] = float(ssim(t(f), t(a)).mean())
    values["SSIM(F,B)"] = float(ssim(t(f), t(b)).mean())
    return values


def loss_value(loss_module, model_class, a: torch.Tensor, b: torch.Tensor, f: np.ndarray) -> float:
    image = torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32))[None, None]
    with torch.no_grad():
        return float(loss_module.compute_loss(model_class(image), a, b)[0])


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    records = read_split(split="train")
    losses = {"mask-pa": (maskpa, FreeImageWithDecoupling), "MMIF-AMIN": (amin, FreeImage)}
    score_rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    loss_rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    for task in TASKS:
        for record in _spread([r for r in records if r.task == task], PAIRS_PER_TASK):
            x = load_inputs(record)
            a, b = x.anatomical.astype(np.float32), x.functional_luma.astype(np.float32)
            ta, tb = torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]
            score_rows.setdefault(("average (no optimisation)", task), []).append(scores(a, b, (a + b) / 2))
            for name, (module, model_class) in losses.items():
                best = optimum(module, model_class, ta, tb)
                score_rows.setdefault((f"{name} loss optimum", task), []).append(scores(a, b, best))
                candidates = {"F = anatomical": a, "F = functional": b, "F = average": (a + b) / 2,
                              "F = maximum": np.maximum(a, b), "optimum from the average": best}
                loss_rows.setdefault((name, task), []).append(
                    {k: loss_value(module, model_class, ta, tb, f) for k, f in candidates.items()})

    def table(rows: dict, first: str) -> None:
        keys = list(next(iter(rows.values()))[0])
        print(f"| {first} | task | " + " | ".join(keys) + " |")
        print("|---|---|" + "---|" * len(keys))
        for (name, task), values in rows.items():
            print(f"| {name} | {task} | " + " | ".join(f"{np.mean([v[k] for v in values]):.3f}" for k in keys) + " |")

    print(f"Quality-bar metrics of the loss optimum (train split, mean of {PAIRS_PER_TASK} pairs per task)\n")
    table(score_rows, "fused image")
    print(f"\nLoss value at candidate images (lower is what the loss prefers)\n")
    table(loss_rows, "loss")


if __name__ == "__main__":
    main()
