"""ONNX export with torch's (dynamo) exporter, checked against torch on the same input."""

import logging
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import Tensor, nn

OPSET = 18
PARITY_ATOL = 1e-4


def export_onnx(module: nn.Module, example: Tensor, path: Path, output_names: list[str]) -> None:
    """Write `module` (in eval mode) to `path` as one self-contained ONNX file, batch dynamic."""
    module.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    # the exporter logs a line per missing torchvision op (we use none) and torch's own pytree
    # code trips a FutureWarning about LeafSpec inside the exporter: neither concerns our graph
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            program = torch.onnx.export(
                module,
                (example,),
                input_names=["image"],
                output_names=output_names,
                opset_version=OPSET,
                dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=256)},),
                dynamo=True,
                verbose=False,
            )
    finally:
        registration.setLevel(level)
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    program.save(path, external_data=False)


def session(path: Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime CPU session with a fixed number of intra-op threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def parity(module: nn.Module, path: Path, batch: Tensor) -> float:
    """The largest absolute difference between torch's and onnxruntime's outputs on `batch`."""
    module.eval()
    with torch.no_grad():
        expected = module(batch)
    expected_list = [expected] if isinstance(expected, Tensor) else list(expected)
    got = session(path).run(None, {"image": batch.numpy()})
    return max(
        float(np.max(np.abs(e.numpy() - g))) for e, g in zip(expected_list, got, strict=True)
    )
