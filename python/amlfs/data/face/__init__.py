"""Face recognition data for the CosFace baseline: CASIA-WebFace and LFW readers, validation
pairs from held-out training identities, 112 x 96 transforms and an image dataset."""
from .casia import read_casia_webface
from .data import KIND, FaceData, load_face_data, load_face_dataset
from .dataset import NO_LABEL, FaceImageDataset
from .discover import FaceRoots, find_face_roots
from .folders import read_identity_folders
from .images import FaceImages
from .layout import (
    CASIA_FOLDERS,
    CASIA_WEBFACE_COUNTS,
    FACE_HEIGHT_PX,
    FACE_WIDTH_PX,
    LFW_COUNTS,
    LFW_FOLDERS,
    PAIRS_FILE,
    ExpectedFaceCounts,
)
from .lfw import lfw_image_name, read_lfw, read_lfw_pairs
from .pairs import FacePairs, PairIndex
from .transforms import (
    face_eval_transform,
    face_train_augment,
    load_face,
    normalize_face,
    with_flipped,
)
from .validation import DEFAULT_PAIRS_PER_FOLD, FaceValidationSplit, face_validation_split

__all__ = [
    "CASIA_FOLDERS",
    "CASIA_WEBFACE_COUNTS",
    "DEFAULT_PAIRS_PER_FOLD",
    "ExpectedFaceCounts",
    "FACE_HEIGHT_PX",
    "FACE_WIDTH_PX",
    "FaceData",
    "FaceImageDataset",
    "FaceImages",
    "FacePairs",
    "FaceRoots",
    "FaceValidationSplit",
    "KIND",
    "LFW_COUNTS",
    "LFW_FOLDERS",
    "NO_LABEL",
    "PAIRS_FILE",
    "PairIndex",
    "face_eval_transform",
    "face_train_augment",
    "face_validation_split",
    "find_face_roots",
    "lfw_image_name",
    "load_face",
    "load_face_data",
    "load_face_dataset",
    "normalize_face",
    "read_casia_webface",
    "read_identity_folders",
    "read_lfw",
    "read_lfw_pairs",
    "with_flipped",
]
