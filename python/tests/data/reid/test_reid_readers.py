"""Market-1501 and DukeMTMC-reID readers on fixture trees written by amlfs.fixtures.reid."""
import os
import re

import pytest

from amlfs.data import DataError
from amlfs.data.reid import DUKEMTMC_REID, MARKET1501, parse_name, read_dukemtmc_reid, read_market1501, read_reid
from amlfs.fixtures.reid import main as fixture_main
from amlfs.fixtures.reid import write_reid_fixture

IDS, PER_ID, DISTRACTORS, JUNK = 5, 4, 3, 2


@pytest.fixture(scope="module", params=["market", "duke"])
def tree(request, tmp_path_factory):
    root = str(tmp_path_factory.mktemp(request.param))
    counts = write_reid_fixture(root, request.param, IDS, PER_ID, DISTRACTORS, JUNK)
    layout = MARKET1501 if request.param == "market" else DUKEMTMC_REID
    return root, layout, counts


def test_counts_match_what_the_generator_wrote(tree):
    root, layout, counts = tree
    data = read_reid(root, layout, strict=False)
    assert len(data.train) == counts.train_images == IDS * PER_ID
    assert data.train.num_classes == counts.train_ids == IDS
    assert len(data.query) == counts.query_images == 2 * IDS
    assert len(data.gallery) == counts.gallery_images == IDS * PER_ID + DISTRACTORS


def test_pids_and_camids_are_parsed_from_every_name(tree):
    root, layout, _ = tree
    data = read_reid(root, layout, strict=False)
    for images in (data.train.images, data.query, data.gallery):
        for path, pid, camid in zip(images.paths, images.pids, images.camids):
            name = os.path.basename(path)
            assert name.startswith(f"{pid:04d}_c{camid + 1}")
            assert 0 <= camid < layout.num_cameras


def test_junk_is_dropped_and_distractors_stay_in_the_gallery(tree):
    root, layout, _ = tree
    data = read_reid(root, layout, strict=False)
    on_disk = os.listdir(os.path.join(data.root, "bounding_box_test"))
    assert sum(name.startswith("-1_") for name in on_disk) == JUNK
    for images in (data.train.images, data.query, data.gallery):
        assert -1 not in images.pids
    assert data.gallery.pids.count(0) == DISTRACTORS
    assert 0 not in data.query.pids and 0 not in data.train.images.pids


def test_training_ids_are_relabelled_in_order_of_original_pid(tree):
    root, layout, _ = tree
    data = read_reid(root, layout, strict=False)
    originals = sorted(set(data.train.images.pids))
    assert originals == [2 * (i + 1) for i in range(IDS)]
    for pid, label in zip(data.train.images.pids, data.train.labels):
        assert label == originals.index(pid)
    assert sorted(set(data.train.labels)) == list(range(IDS))


def test_query_ids_appear_in_the_gallery_from_another_camera(tree):
    root, layout, _ = tree
    data = read_reid(root, layout, strict=False)
    gallery = set(zip(data.gallery.pids, data.gallery.camids))
    for pid, camid in zip(data.query.pids, data.query.camids):
        assert any(g_pid == pid and g_cam != camid for g_pid, g_cam in gallery)


def test_parent_folder_with_the_official_name_is_accepted(tmp_path):
    write_reid_fixture(str(tmp_path / "DukeMTMC-reID"), "duke", 2, 4)
    data = read_reid(str(tmp_path), "dukemtmc-reid", strict=False)
    assert data.root == str(tmp_path / "DukeMTMC-reID")


def test_strict_is_the_default_and_a_count_mismatch_names_folder_and_counts(tree):
    root, layout, counts = tree
    reader = read_market1501 if layout is MARKET1501 else read_dukemtmc_reid
    with pytest.raises(DataError) as error:
        reader(root)
    message = str(error.value)
    assert os.path.join(root, "bounding_box_train") in message
    assert f"holds {counts.train_images} images, expected {layout.expected.train_images}" in message
    with pytest.raises(DataError, match="expected"):
        read_reid(root, layout.name)


def test_missing_folder_names_it_and_the_layout(tmp_path):
    write_reid_fixture(str(tmp_path), "market", 2, 4)
    os.rename(tmp_path / "query", tmp_path / "queries")
    with pytest.raises(DataError) as error:
        read_reid(str(tmp_path), "market1501", strict=False)
    assert "missing folder " + str(tmp_path / "query") in str(error.value)
    assert "bounding_box_train,query,bounding_box_test" in str(error.value)


def test_root_that_is_not_a_directory_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="is not a directory"):
        read_reid(str(tmp_path / "nowhere"), "market1501")


def test_bad_file_name_names_the_file_and_the_pattern(tmp_path):
    write_reid_fixture(str(tmp_path), "market", 2, 4)
    # A Duke-style name in a Market tree.
    (tmp_path / "bounding_box_train" / "0001_c2_f0046182.jpg").write_bytes(b"")
    with pytest.raises(DataError) as error:
        read_reid(str(tmp_path), "market1501", strict=False)
    assert "0001_c2_f0046182.jpg" in str(error.value)
    assert "0002_c1s1_000451_03.jpg" in str(error.value)


def test_non_jpg_files_are_ignored(tmp_path):
    write_reid_fixture(str(tmp_path), "market", 2, 4)
    (tmp_path / "bounding_box_train" / "Thumbs.db").write_bytes(b"\0")
    assert len(read_reid(str(tmp_path), "market1501", strict=False).train) == 8


@pytest.mark.parametrize("layout, name, expected", [
    (MARKET1501, "0002_c1s1_000451_03.jpg", (2, 0)),
    (MARKET1501, "-1_c6s3_071827_00.jpg", (-1, 5)),
    (MARKET1501, "0000_c3s2_000001_01.jpg", (0, 2)),
    (DUKEMTMC_REID, "0001_c2_f0046182.jpg", (1, 1)),
    (DUKEMTMC_REID, "7140_c8_f0150000.jpg", (7140, 7)),
])
def test_parse_name_examples(layout, name, expected):
    assert parse_name(name, layout, "folder") == expected


@pytest.mark.parametrize("layout, name", [
    (MARKET1501, "0002_c7s1_000451_03.jpg"),
    (MARKET1501, "002_c1s1_000451_03.jpg"),
    (DUKEMTMC_REID, "0001_c9_f0046182.jpg"),
    (DUKEMTMC_REID, "0002_c1s1_000451_03.jpg"),
])
def test_parse_name_rejects(layout, name):
    with pytest.raises(DataError, match=re.escape(name)):
        parse_name(name, layout, "folder")


def test_unknown_layout_name_lists_the_known_ones(tmp_path):
    with pytest.raises(DataError, match="dukemtmc-reid"):
        read_reid(str(tmp_path), "cuhk03")


def test_fixture_cli_writes_jpegs_and_rejects_bad_arguments(tmp_path, capsys):
    from PIL import Image

    assert fixture_main([str(tmp_path / "m"), "--layout", "market", "--ids", "2", "--per-id", "4",
                         "--height", "24", "--width", "12"]) == 0
    first = sorted(os.listdir(tmp_path / "m" / "bounding_box_train"))[0]
    with Image.open(tmp_path / "m" / "bounding_box_train" / first) as image:
        assert image.format == "JPEG" and image.size == (12, 24)
    assert fixture_main([str(tmp_path / "d"), "--layout", "duke", "--ids", "0"]) == 2
    assert "--ids" in capsys.readouterr().err
