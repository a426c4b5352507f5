"""Converters: namx models to ONNX and TFLite, and PyTorch to and from namx models."""
