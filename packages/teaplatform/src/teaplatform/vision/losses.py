"""Training losses of the centre-point detector."""

import torch
from torch import Tensor
from torch.nn import functional as F


def focal_loss(logits: Tensor, target: Tensor) -> Tensor:
    """CenterNet's penalty-reduced focal loss, summed over cells and divided by the centres.

    Cells near a centre (target close to 1) are penalised less for firing, by (1 - target)^4.
    """
    pos = target.eq(1).to(logits.dtype)
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    p = log_p.exp()
    pos_loss = -(log_p * (1 - p) ** 2 * pos).sum()
    neg_loss = -(log_not_p * p**2 * (1 - target) ** 4 * (1 - pos)).sum()
    return (pos_loss + neg_loss) / pos.sum().clamp(min=1.0)


def regression_loss(pred: Tensor, target: Tensor, mask: Tensor, size_weight: float) -> Tensor:
    """L1 on the centre offset and the log box size, at the centre cells only."""
    weights = torch.tensor([1.0, 1.0, size_weight, size_weight], dtype=pred.dtype)
    err = (pred - target).abs() * weights.view(1, 4, 1, 1) * mask.unsqueeze(1)
    return err.sum() / mask.sum().clamp(min=1.0)
