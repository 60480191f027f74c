"""CASIA-WebFace reader (Yi et al., 2014): ``<root>/<7-digit id>/<image>``, see :mod:`.layout`."""
from __future__ import annotations

from .folders import read_identity_folders, resolve_dataset_folder
from .images import FaceImages
from .layout import CASIA_FOLDERS, CASIA_WEBFACE_COUNTS


def read_casia_webface(root: str, check_counts: bool = False) -> FaceImages:
    """The CASIA-WebFace training images, identities labelled ``0..N-1`` in sorted folder order.

    ``root`` is the dataset folder or its parent (then ``CASIA-WebFace-112x96``,
    ``CASIA-WebFace-112X96`` or ``CASIA-WebFace`` inside it, in that order of preference).
    ``check_counts`` compares with the original release (10,575 identities, 494,414
    images); off by default because aligned and cleaned releases differ in image counts.
    """
    folder = resolve_dataset_folder(root, CASIA_FOLDERS, "casia-webface")
    return read_identity_folders(folder, "casia-webface", CASIA_WEBFACE_COUNTS if check_counts else None)
