"""What both training loops share: seeding, the learning-rate schedule, the step loop, and
writing the finished model (checkpoint, ONNX with its parity check, card)."""

import math
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from teaplatform.vision.artifacts import (
    CHECKPOINT_FILE,
    MODEL_FILE,
    ModelCard,
    save_card,
    sha256_file,
)
from teaplatform.vision.config import Config
from teaplatform.vision.export import PARITY_ATOL, export_onnx, parity

# progress(done_steps, total_steps, message): the CLI draws a bar with it
Progress = Callable[[int, int, str], None]


def no_progress(_done: int, _total: int, _message: str) -> None:
    return None


@dataclass
class History:
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # all threads: wall time on an idle machine is about this / threads
    samples: int = 0


def seed_everything(seed: int, threads: int) -> np.random.Generator:
    """Seed torch and return the numpy generator that drives data order and augmentation."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    return np.random.default_rng(seed)


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to 1, then cosine decay to 0.01 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(total - warmup, 1)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def batches(order: NDArray[np.int64], size: int) -> Iterator[NDArray[np.int64]]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


def fit(
    model: nn.Module,
    config: Config,
    *,
    num_samples: int,
    loss_of_batch: Callable[[NDArray[np.int64]], Tensor],
    rng: np.random.Generator,
    progress: Progress,
) -> History:
    """AdamW with warm-up and cosine decay over `config.epochs` passes of shuffled samples."""
    # no weight decay on norms and biases (they set scale and offset, not capacity)
    decay = [p for p in model.parameters() if p.ndim > 1]
    other = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": other, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    steps_per_epoch = math.ceil(num_samples / config.batch_size)
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_epochs * steps_per_epoch
    history = History()
    start, cpu_start = time.perf_counter(), time.process_time()
    step = 0
    model.train()
    for epoch in range(config.epochs):
        epoch_loss = 0.0
        for index in batches(rng.permutation(num_samples), config.batch_size):
            for group in optimizer.param_groups:
                group["lr"] = config.lr * lr_factor(step, total, warmup)
            with torch.autocast("cpu", torch.bfloat16, enabled=config.precision == "bf16"):
                loss = loss_of_batch(index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            optimizer.step()
            step += 1
            value = float(loss.detach())
            epoch_loss += value
            history.samples += len(index)
            progress(step, total, f"epoch {epoch + 1}/{config.epochs} loss {value:.3f}")
        history.losses.append(epoch_loss / steps_per_epoch)
    history.seconds = time.perf_counter() - start
    history.cpu_seconds = time.process_time() - cpu_start
    model.eval()
    return history


@dataclass(frozen=True)
class Finished:
    """What a training run wrote: the model directory and its card."""

    directory: Path
    card: ModelCard


def save_model(
    *,
    out_dir: Path,
    model: nn.Module,
    export_module: nn.Module,
    output_names: list[str],
    example: Tensor,
    config: Config,
    classes: list[str],
    split: dict[str, Any],
    metrics: dict[str, Any],
    history: History,
    stride: int | None = None,
) -> Finished:
    """Checkpoint, ONNX export (checked against torch on `example`), and the model card."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": model.state_dict(),
            "config": config.model_dump(mode="json"),
            "classes": classes,
            "seed": config.seed,
        },
        out_dir / CHECKPOINT_FILE,
    )
    onnx_path = out_dir / MODEL_FILE
    export_onnx(export_module, example[:1], onnx_path, output_names)
    max_diff = parity(export_module, onnx_path, example)
    if max_diff > PARITY_ATOL:
        raise RuntimeError(f"ONNX output differs from torch by {max_diff:.2e} > {PARITY_ATOL}")
    card = ModelCard(
        kind=config.kind,
        classes=classes,
        seed=config.seed,
        config=config.model_dump(mode="json"),
        input_size=config.image_size,
        stride=stride,
        outputs=output_names,
        split=split,
        metrics=metrics,
        training={
            "seconds": round(history.seconds, 1),
            "cpu_seconds": round(history.cpu_seconds, 1),
            "samples": history.samples,
            "samples_per_second": round(history.samples / max(history.seconds, 1e-9), 2),
            "epoch_losses": [round(v, 4) for v in history.losses],
            "threads": config.threads,
            "torch": torch.__version__,
            "machine": platform.machine(),
            "onnx_parity_max_abs": max_diff,
        },
        onnx_sha256=sha256_file(onnx_path),
    )
    save_card(card, out_dir)
    return Finished(out_dir, card)


M = TypeVar("M", bound=nn.Module)


def memory_format(module: M, fmt: torch.memory_format) -> M:
    """`module` with its weights in `fmt` (channels-last convolutions run faster on CPU)."""
    module.to(memory_format=fmt)  # type: ignore[call-overload]
    return module


def to_tensor(images: list[NDArray[np.uint8]]) -> Tensor:
    """uint8 HWC images to a float NCHW batch in [0, 1] (channels-last memory: faster on CPU)."""
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
    return batch.contiguous(memory_format=torch.channels_last)
