"""Backbones owned by the project (no torchvision): ResNet-50 with torchvision-compatible weights, and
the 20-layer SphereFace / CosFace face network."""
from .resnet50 import Bottleneck, PretrainedWeightsError, ResNet50
from .sphereface_net import SphereFaceNet

__all__ = ["Bottleneck", "PretrainedWeightsError", "ResNet50", "SphereFaceNet"]
