"""Shared vision code: datasets, small torch models, training, evaluation, ONNX, inference."""
