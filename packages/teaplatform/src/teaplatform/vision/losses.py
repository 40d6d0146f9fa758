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


def giou_loss(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """TTFNet's box loss for the `edges` coding: 1 - GIoU, weighted per cell.

    `pred` (N, 4, H, W) holds log distances (cells) from each cell's centre to the box's
    left, top, right and bottom edges; `target` the true boxes' x1, y1, x2, y2 (cells) and
    `weight` (N, H, W) how much each cell counts (0: not supervised).
    """
    n, _, h, w = pred.shape
    cells = weight > 0
    if not bool(cells.any()):
        return pred.sum() * 0.0
    grid_y, grid_x = torch.meshgrid(
        torch.arange(h, dtype=pred.dtype) + 0.5,
        torch.arange(w, dtype=pred.dtype) + 0.5,
        indexing="ij",
    )
    px = grid_x.expand(n, h, w)[cells]
    py = grid_y.expand(n, h, w)[cells]
    dist = pred.permute(0, 2, 3, 1)[cells].clamp(-6.0, 6.0).exp()
    box = torch.stack([px - dist[:, 0], py - dist[:, 1], px + dist[:, 2], py + dist[:, 3]], 1)
    true = target.permute(0, 2, 3, 1)[cells]
    wt = weight[cells]
    inter_w = (torch.minimum(box[:, 2], true[:, 2]) - torch.maximum(box[:, 0], true[:, 0])).clamp(0)
    inter_h = (torch.minimum(box[:, 3], true[:, 3]) - torch.maximum(box[:, 1], true[:, 1])).clamp(0)
    inter = inter_w * inter_h
    area_p = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    area_t = (true[:, 2] - true[:, 0]) * (true[:, 3] - true[:, 1])
    union = area_p + area_t - inter
    hull_w = torch.maximum(box[:, 2], true[:, 2]) - torch.minimum(box[:, 0], true[:, 0])
    hull_h = torch.maximum(box[:, 3], true[:, 3]) - torch.minimum(box[:, 1], true[:, 1])
    hull = hull_w * hull_h
    giou = inter / union.clamp(min=1e-6) - (hull - union) / hull.clamp(min=1e-6)
    return ((1 - giou) * wt).sum() / wt.sum().clamp(min=1e-6)
