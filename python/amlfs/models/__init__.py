"""Backbones owned by the project (no torchvision): ResNet-50 with torchvision-compatible weights."""
from .resnet50 import Bottleneck, PretrainedWeightsError, ResNet50

__all__ = ["Bottleneck", "PretrainedWeightsError", "ResNet50"]
