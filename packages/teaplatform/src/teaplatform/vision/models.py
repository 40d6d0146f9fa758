"""The two small networks, in plain torch: a centre-point detector and an image classifier.

Both take float RGB in [0, 1], NCHW, and normalise inside, so the exported ONNX graph needs
no preprocessing constants beside it.
"""

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from teaplatform.vision.config import ClassifierConfig, DetectorConfig

HEAT_PRIOR = 0.05  # initial heatmap probability: keeps the focal loss calm at the start


class ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvBN(channels, channels)
        self.conv2 = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.conv2(self.conv1(x)))


def _stage(cin: int, cout: int, depth: int = 1) -> nn.Sequential:
    """Halve the resolution, then `depth` residual blocks."""
    return nn.Sequential(ConvBN(cin, cout, stride=2), *[Residual(cout) for _ in range(depth)])


class _Normalize(nn.Module):
    mean: Tensor
    std: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.45, 0.47, 0.40]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class Detector(nn.Module):
    """A patchify stem to stride 4, stages down to stride 16 or 32, a top-down path back to 4.

    The stem (4x4 space-to-depth, then a 3x3 conv) skips the stride-2 layers whose backward
    pass dominates CPU training time, at little cost for objects 5-100 px across; the deeper
    stages are cheap (a quarter of the cells per halving) and give the context that tells a
    shoot from a leaf.
    """

    def __init__(self, config: DetectorConfig, num_classes: int) -> None:
        super().__init__()
        widths, hw = config.widths, config.head_width
        self.norm = _Normalize()
        self.stem = nn.Sequential(nn.PixelUnshuffle(4), ConvBN(48, widths[0]))
        self.stages = nn.ModuleList(
            _stage(cin, cout, depth)
            for cin, cout, depth in zip(widths[:-1], widths[1:], config.stage_depths, strict=True)
        )
        self.lateral = nn.ModuleList(nn.Conv2d(w, hw, 1) for w in widths)
        self.smooth = nn.ModuleList(ConvBN(hw, hw) for _ in widths[1:])
        self.heat = nn.Sequential(ConvBN(hw, hw), nn.Conv2d(hw, num_classes, 1))
        self.reg = nn.Sequential(ConvBN(hw, hw), nn.Conv2d(hw, 4, 1))
        last = self.heat[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.constant_(last.bias, -math.log((1 - HEAT_PRIOR) / HEAT_PRIOR))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Heatmap logits (N, C, H/4, W/4) and regression (N, 4, H/4, W/4)."""
        features = [self.stem(self.norm(x))]
        for stage in self.stages:
            features.append(stage(features[-1]))
        top = self.lateral[-1](features[-1])
        # top-down: upsample, add the finer lateral, smooth; ends at stride 4
        for level in range(len(features) - 2, -1, -1):
            merged = self.lateral[level](features[level]) + F.interpolate(top, scale_factor=2.0)
            top = self.smooth[level](merged)
        return self.heat(top), self.reg(top)


class DetectorForExport(nn.Module):
    """What ships: the sigmoid heatmap and the regression.

    Picking the heatmap's local maxima is left to decoding (numpy): done in the graph, a
    near-tie between neighbouring cells (1e-8 apart) could fall one way in torch and the
    other in onnxruntime, and the two engines' outputs could not be checked against each
    other to a tolerance.
    """

    def __init__(self, detector: Detector) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        logits, reg = self.detector(x)
        return torch.sigmoid(logits), reg


class Classifier(nn.Module):
    """A small ResNet: four stride-2 stages, global average pooling, a linear layer."""

    def __init__(self, config: ClassifierConfig, num_classes: int) -> None:
        super().__init__()
        w0, w1, w2, w3 = config.widths
        self.features = nn.Sequential(
            _Normalize(),
            ConvBN(3, w0, stride=2),
            Residual(w0),
            _stage(w0, w1),
            _stage(w1, w2),
            _stage(w2, w3),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(config.dropout),
        )
        self.fc = nn.Linear(w3, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits (N, C)."""
        out: Tensor = self.fc(self.features(x))
        return out


class ClassifierForExport(nn.Module):
    """What ships: class probabilities, with `flips` the mean over the image and its mirror
    images (horizontal, vertical, both). A leaf photo has no up or left, and training saw
    every flip, so the average is a steadier reading at 4x the (small) inference cost."""

    def __init__(self, classifier: Classifier, flips: bool = False) -> None:
        super().__init__()
        self.classifier = classifier
        self.flips = flips

    def forward(self, x: Tensor) -> Tensor:
        if not self.flips:
            return torch.softmax(self.classifier(x), dim=1)
        views = torch.cat([x, x.flip(3), x.flip(2), x.flip(2, 3)])
        probs = torch.softmax(self.classifier(views), dim=1)
        return probs.reshape(4, -1, probs.shape[1]).mean(0)
