"""CASIA-WebFace and LFW folder readers, and the dataset.root convention, on fixture trees."""
import os
import shutil

import pytest

from amlfs.data import DataError
from amlfs.data.face import (
    CASIA_WEBFACE_COUNTS,
    find_face_roots,
    load_face_dataset,
    read_casia_webface,
    read_lfw,
)
from amlfs.fixtures.face import casia_id, write_face_fixture

IDS, PER_ID, NAMES = 6, 3, 6


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("face"))
    counts = write_face_fixture(root, IDS, PER_ID, lfw_names=NAMES, folds=3, pairs_per_fold=2,
                                height_px=24, width_px=20)
    return root, counts


def copy_casia(tree, tmp_path):
    root, counts = tree
    target = tmp_path / "CASIA-WebFace"
    shutil.copytree(counts.casia_dir, target)
    return target


def test_counts_match_what_the_generator_wrote(tree):
    root, counts = tree
    casia = read_casia_webface(root)
    assert len(casia) == counts.casia_images == IDS * PER_ID
    assert casia.num_classes == counts.casia_ids == IDS
    lfw = read_lfw(root)
    assert len(lfw) == counts.lfw_images and lfw.num_classes == counts.lfw_names == NAMES


def test_labels_follow_sorted_folder_names(tree):
    root, counts = tree
    casia = read_casia_webface(counts.casia_dir)
    folders = sorted(os.listdir(counts.casia_dir))
    assert list(casia.identities) == folders == [casia_id(i) for i in range(IDS)]
    for path, label in zip(casia.paths, casia.labels):
        assert os.path.basename(os.path.dirname(path)) == folders[label]
    assert sorted(set(casia.labels)) == list(range(IDS))


def test_parent_and_dataset_folder_give_the_same_images(tree):
    root, counts = tree
    assert read_casia_webface(root).paths == read_casia_webface(counts.casia_dir).paths


def test_aligned_folder_is_preferred_and_png_is_accepted(tree, tmp_path):
    copy_casia(tree, tmp_path)
    aligned = tmp_path / "CASIA-WebFace-112x96" / "0000001"
    aligned.mkdir(parents=True)
    shutil.copy(os.path.join(tree[1].casia_dir, casia_id(0), "001.jpg"), aligned / "001.png")
    images = read_casia_webface(str(tmp_path))
    assert images.identities == ("0000001",) and images.paths == (str(aligned / "001.png"),)


def test_check_counts_names_folder_and_counts(tree):
    root, counts = tree
    with pytest.raises(DataError) as error:
        read_casia_webface(root, check_counts=True)
    message = str(error.value)
    assert counts.casia_dir in message
    assert f"holds {IDS} identity folders, expected {CASIA_WEBFACE_COUNTS.identities}" in message


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="is not a directory"):
        read_casia_webface(str(tmp_path / "nowhere"))


def test_no_identity_folder_names_the_folder(tmp_path):
    (tmp_path / "README.txt").write_text("not a face")
    with pytest.raises(DataError) as error:
        read_casia_webface(str(tmp_path))
    assert f"{tmp_path} holds no identity folder" in str(error.value)
    assert "<root>/<identity>/<image>" in str(error.value)


def test_images_at_the_top_level_are_an_error(tree, tmp_path):
    casia = copy_casia(tree, tmp_path)
    shutil.copy(casia / casia_id(0) / "001.jpg", casia / "stray.jpg")
    with pytest.raises(DataError) as error:
        read_casia_webface(str(casia))
    assert f"{casia} holds image files at the top level (e.g. stray.jpg)" in str(error.value)


def test_empty_identity_folder_names_it(tree, tmp_path):
    casia = copy_casia(tree, tmp_path)
    (casia / "9999999").mkdir()
    (casia / "9999999" / "notes.txt").write_text("no image here")
    with pytest.raises(DataError) as error:
        read_casia_webface(str(tmp_path))
    assert f"the identity folder {casia / '9999999'} holds no image" in str(error.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_root_is_a_clear_error(tree, tmp_path):
    casia = copy_casia(tree, tmp_path)
    os.chmod(casia, 0)
    try:
        with pytest.raises(DataError, match="cannot list"):
            read_casia_webface(str(casia))
    finally:
        os.chmod(casia, 0o755)


def test_convention_finds_casia_lfw_and_pairs(tree):
    root, counts = tree
    roots = find_face_roots(root)
    assert (roots.casia, roots.lfw, roots.pairs_txt) == (counts.casia_dir, counts.lfw_dir, counts.pairs_txt)


def test_convention_errors_name_what_is_missing(tree, tmp_path):
    root, counts = tree
    with pytest.raises(DataError, match="holds no CASIA-WebFace folder"):
        find_face_roots(str(tmp_path))
    copy_casia(tree, tmp_path)
    with pytest.raises(DataError, match="holds no LFW folder"):
        find_face_roots(str(tmp_path))
    shutil.copytree(counts.lfw_dir, tmp_path / "lfw")
    with pytest.raises(DataError) as error:
        find_face_roots(str(tmp_path))
    assert str(tmp_path / "pairs.txt") in str(error.value) and str(tmp_path / "lfw" / "pairs.txt") in str(error.value)
    shutil.copy(counts.pairs_txt, tmp_path / "lfw" / "pairs.txt")
    assert find_face_roots(str(tmp_path)).pairs_txt == str(tmp_path / "lfw" / "pairs.txt")


def test_explicit_lfw_root_lets_root_be_the_casia_folder(tree):
    root, counts = tree
    roots = find_face_roots(counts.casia_dir, lfw_root=root)
    assert (roots.casia, roots.lfw, roots.pairs_txt) == (counts.casia_dir, counts.lfw_dir, counts.pairs_txt)


def test_dataset_section_is_read_with_its_splits(tree):
    root, counts = tree
    data = load_face_dataset({"kind": "casia-webface", "root": root, "splits": {"valFraction": 0.67, "splitSeed": 1}})
    assert data.num_classes == IDS - 4 and len(data.val_images) == 4 * PER_ID and data.val_pairs.num_folds == 2
    assert len(data.test_pairs) == counts.pairs and data.sizes()["test"] == counts.pairs
    with pytest.raises(DataError, match="expected 'casia-webface'"):
        load_face_dataset({"kind": "market1501", "root": root})
    with pytest.raises(DataError, match="`dataset.root`"):
        load_face_dataset({"kind": "casia-webface", "root": ""})
