"""The triplet training loop: P×K batches, colour-safe augmentation, one `Recipe` of settings.

A hand-written loop (rather than `model.fit`) because every batch is drawn by the identity
sampler and augmented in numpy, and the exported embedder must stay free of any training wrapper.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from train.augment import Augment
from train.errors import TrainError
from train.losses import get_loss
from train.model import DEFAULT_HEIGHT, DEFAULT_WIDTH, build_embedder
from train.sampler import PKSampler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a training run; stored in run.json so a run can be repeated."""

    height: int = DEFAULT_HEIGHT
    width: int = DEFAULT_WIDTH
    epochs: int = 25
    batches_per_epoch: int = 30
    p: int = 7
    k: int = 12
    loss: str = "semi-hard"
    margin: float = 1.0
    lr: float = 1e-3
    weight_decay: float = 0.0
    ema: float = 0.0  # weight moving-average momentum; 0 = off (0.99 measured no better)
    hflip: bool = True
    # Swimmers swim lengths: a top-view camera sees them head-up and head-down. With hflip,
    # vflip gives the 180° turn (99.0 % time split at 128x80 vs 98.6 % without, one seed).
    vflip: bool = True
    rotate_deg: float = 10.0
    # The daemon's crops come from a detector, framed a little differently from the training
    # crops: scale and position jitter close that gap (daemon-crop accuracy on a simulated pool
    # 83 % -> 89 % at 64x40; time split 99.35 % at 128x80, one seed).
    zoom: float = 0.15
    shift: float = 0.08
    brightness: float = 0.15
    contrast: float = 0.15
    erase_prob: float = 0.0
    seed: int = 0

    def augment(self) -> Augment:
        return Augment(
            hflip=self.hflip,
            vflip=self.vflip,
            rotate_deg=self.rotate_deg,
            zoom=self.zoom,
            shift=self.shift,
            brightness=self.brightness,
            contrast=self.contrast,
            erase_prob=self.erase_prob,
        )

    def to_dict(self) -> dict:
        return asdict(self)


def configure_threads(threads: int) -> None:
    """Bound TensorFlow's CPU threads (the host is shared); only effective before the first op."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log.debug("TensorFlow already initialised; thread settings unchanged")


def train_embedder(
    images: np.ndarray, labels: list[str], recipe: Recipe, progress: bool = True
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train the embedder on uint8 crops (n, H, W, 3); returns it and per-epoch history."""
    if images.shape[1:3] != (recipe.height, recipe.width):
        raise TrainError(
            f"images are {images.shape[1:3]}, recipe wants {recipe.height}x{recipe.width}"
        )
    keras.utils.set_random_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    identities = sorted(set(labels))
    codes = np.asarray([identities.index(label) for label in labels], dtype=np.int32)
    sampler = PKSampler(labels, recipe.p, recipe.k, seed=recipe.seed)
    augment = recipe.augment()
    model = build_embedder(recipe.height, recipe.width)
    step, optimizer = _make_step(model, recipe)

    history: dict[str, list[float]] = {"loss": [], "seconds": []}
    start = time.perf_counter()
    bar = tqdm(range(recipe.epochs), desc="training", unit="epoch", disable=not progress)
    for _ in bar:
        losses = []
        for batch in sampler.batches(recipe.batches_per_epoch):
            x = augment(images[batch], rng)
            losses.append(float(step(tf.constant(x), tf.constant(codes[batch]))))
        history["loss"].append(float(np.mean(losses)))
        history["seconds"].append(time.perf_counter() - start)
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    if recipe.ema > 0:
        optimizer.finalize_variable_values(model.trainable_variables)  # the averaged weights
    log.info("trained %d epochs in %.0f s", recipe.epochs, history["seconds"][-1])
    return model, history


def _make_step(model: keras.Model, recipe: Recipe):
    """A compiled train step: forward, triplet loss, gradient update with a cosine LR decay."""
    loss_fn = get_loss(recipe.loss)
    total = max(1, recipe.epochs * recipe.batches_per_epoch)
    schedule = keras.optimizers.schedules.CosineDecay(recipe.lr, total, alpha=0.05)
    optimizer = keras.optimizers.AdamW(
        schedule,
        weight_decay=recipe.weight_decay,
        use_ema=recipe.ema > 0,
        ema_momentum=recipe.ema or 0.99,
    )
    margin = float(recipe.margin)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            embeddings = model(x, training=True)
            loss = loss_fn(y, embeddings, margin)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return step, optimizer


def embed(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Embeddings (n, d) float32 of uint8 crops, in inference mode."""
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    out = [
        model(images[i : i + batch_size].astype(np.float32), training=False).numpy()
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out).astype(np.float32)
