"""Reading a folder of identity folders (CASIA-WebFace, LFW): ``root/<identity>/<image>``."""
from __future__ import annotations

import os
from typing import List, Optional, Sequence

from ..errors import DataError
from .images import FaceImages
from .layout import IMAGE_EXTENSIONS, ExpectedFaceCounts


def resolve_dataset_folder(root: str, names: Sequence[str], what: str) -> str:
    """``root/<name>`` for the first of ``names`` present, else ``root`` itself (already the dataset folder)."""
    if not root or not os.path.isdir(root):
        raise DataError(f"{what}: {root!r} is not a directory (expected the dataset folder, one of "
                        f"{', '.join(names)}, or its parent)")
    for name in names:
        nested = os.path.join(root, name)
        if os.path.isdir(nested):
            return nested
    return root


def is_image(file_name: str) -> bool:
    return file_name.lower().endswith(IMAGE_EXTENSIONS)


def read_identity_folders(root: str, what: str, expected: Optional[ExpectedFaceCounts] = None) -> FaceImages:
    """Every ``root/<identity>/<image>``, labelled ``0..N-1`` in sorted folder-name order.

    ``what`` names the dataset in errors. Hidden entries (``.DS_Store``) and non-image files
    inside identity folders are skipped; an image at the top level, an identity folder
    without images, or no identity folder at all is an error naming the folder. ``expected``
    checks the release's identity and image counts.
    """
    layout = f"{what}: expected the layout <root>/<identity>/<image>{{{','.join(IMAGE_EXTENSIONS)}}}"
    try:
        entries = sorted(entry for entry in os.listdir(root) if not entry.startswith("."))
    except OSError as error:
        raise DataError(f"{layout}; cannot list {root!r} ({error.strerror or error})") from error
    top_images = [entry for entry in entries if is_image(entry) and os.path.isfile(os.path.join(root, entry))]
    if top_images:
        raise DataError(f"{layout}; {root} holds image files at the top level (e.g. {top_images[0]}), "
                        "not in identity folders")
    folders = [entry for entry in entries if os.path.isdir(os.path.join(root, entry))]
    if not folders:
        raise DataError(f"{layout}; {root} holds no identity folder")
    paths: List[str] = []
    labels: List[int] = []
    for label, name in enumerate(folders):
        folder = os.path.join(root, name)
        try:
            files = sorted(f for f in os.listdir(folder) if not f.startswith(".") and is_image(f))
        except OSError as error:
            raise DataError(f"{what}: cannot list the identity folder {folder} ({error.strerror or error})") from error
        if not files:
            raise DataError(f"{layout}; the identity folder {folder} holds no image")
        paths.extend(os.path.join(folder, f) for f in files)
        labels.extend([label] * len(files))
    images = FaceImages(tuple(paths), tuple(labels), tuple(folders))
    if expected is not None:
        for noun, want, got in (("identity folders", expected.identities, images.num_classes),
                                ("images", expected.images, len(images))):
            if want != got:
                raise DataError(f"{what}: {root} holds {got} {noun}, expected {want} (the official release); "
                                "pass check_counts=False for another alignment release, a subset or a fixture")
    return images
