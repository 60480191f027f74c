"""The networks (no torchvision): ResNet-50 with torchvision-compatible weights, the 20-layer SphereFace /
CosFace face network, and the networks of the baselines (each in its own file: ``spherereid_net``,
``sft_net``, ``mgn_net``, ``face_net``)."""
from .resnet50 import Bottleneck, PretrainedWeightsError, ResNet50
from .sphereface_net import SphereFaceNet

__all__ = ["Bottleneck", "PretrainedWeightsError", "ResNet50", "SphereFaceNet"]
