"""Per-paper training objectives.

Each module exposes ``compute_loss(model, anatomical, functional) -> (loss, logs)`` where the inputs are
(N, 1, h, w) float32 tensors in [0, 1] (a batch of registered patches: anatomical gray, functional luminance), ``loss``
is a scalar tensor to back-propagate and ``logs`` a dict of float loss terms for the progress bar; and
``TRAINING_DEFAULTS``: the paper's optimiser settings (lr, batch size, patch size, epochs) as a dict.
"""

LOSSES = {
    "mmif-amin": "medfuse_gui.training.losses.amin",
    "dilran": "medfuse_gui.training.losses.dilran",
    "mmif-net": "medfuse_gui.training.losses.mmifnet",
    "mask-pa": "medfuse_gui.training.losses.maskpa",
}
