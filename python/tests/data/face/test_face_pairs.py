"""LFW pairs.txt parsing against a hand-written file and its hand-written expected pairs."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from amlfs.data import DataError
from amlfs.data.face import FacePairs, read_lfw_pairs
from amlfs.fixtures.face import write_face_fixture

# 2 folds of 2 matched + 2 mismatched pairs; tabs as in LFW, one line with spaces.
PAIRS_TXT = (
    "2\t2\n"
    "Abel_Pacheco\t1\t2\n"
    "George_W_Bush\t3\t1\n"
    "Abel_Pacheco\t1\tGeorge_W_Bush\t2\n"
    "Zoe_Ng\t1\tAbel_Pacheco\t2\n"
    "Zoe_Ng   1   2\n"
    "Zoe_Ng\t2\t1\n"
    "George_W_Bush\t1\tZoe_Ng\t1\n"
    "George_W_Bush\t3\tAbel_Pacheco\t1\n"
    "\n"
)
PEOPLE = {"Abel_Pacheco": 2, "George_W_Bush": 3, "Zoe_Ng": 2}


def image_tree(root, png=()):
    for name, count in PEOPLE.items():
        os.makedirs(os.path.join(root, "lfw", name))
        for k in range(1, count + 1):
            ext = "png" if (name, k) in png else "jpg"
            Image.fromarray(np.full((8, 8, 3), k, np.uint8)).save(os.path.join(root, "lfw", name, f"{name}_{k:04d}.{ext}"))
    return os.path.join(root, "lfw")


def write(path, text):
    path.write_text(text)
    return str(path)


def test_hand_written_file_gives_the_hand_written_pairs(tmp_path):
    lfw = image_tree(str(tmp_path), png={("Zoe_Ng", 2)})
    pairs = read_lfw_pairs(write(tmp_path / "pairs.txt", PAIRS_TXT), str(tmp_path))

    def p(name, k, ext="jpg"):
        return os.path.join(lfw, name, f"{name}_{k:04d}.{ext}")

    expected = [
        (p("Abel_Pacheco", 1), p("Abel_Pacheco", 2), True, 0),
        (p("George_W_Bush", 3), p("George_W_Bush", 1), True, 0),
        (p("Abel_Pacheco", 1), p("George_W_Bush", 2), False, 0),
        (p("Zoe_Ng", 1), p("Abel_Pacheco", 2), False, 0),
        (p("Zoe_Ng", 1), p("Zoe_Ng", 2, "png"), True, 1),
        (p("Zoe_Ng", 2, "png"), p("Zoe_Ng", 1), True, 1),
        (p("George_W_Bush", 1), p("Zoe_Ng", 1), False, 1),
        (p("George_W_Bush", 3), p("Abel_Pacheco", 1), False, 1),
    ]
    assert list(zip(pairs.path_a, pairs.path_b, pairs.same, pairs.fold)) == expected
    assert pairs.num_folds == 2 and pairs.counts() == {"pairs": 8, "same": 4, "different": 4}


def test_as_index_points_back_at_the_same_paths(tmp_path):
    image_tree(str(tmp_path))
    pairs = read_lfw_pairs(write(tmp_path / "pairs.txt", PAIRS_TXT.replace("Zoe_Ng\t2\t1", "Zoe_Ng\t1\t2")),
                           str(tmp_path / "lfw"))
    index = pairs.as_index()
    assert len(index.paths) == len(set(index.paths)) == 7
    assert [(index.paths[a], index.paths[b]) for a, b in index.index.tolist()] == list(zip(pairs.path_a, pairs.path_b))
    assert torch.equal(index.same, torch.tensor([True, True, False, False] * 2))
    assert index.fold.tolist() == [0] * 4 + [1] * 4


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("10\n", "line 1: expected the header `folds<TAB>pairs_per_fold`"),
    ("2\tx\n", "line 1: expected `pairs_per_fold` to be a positive integer, got 'x'"),
    ("0\t2\n", "line 1: expected `folds` to be a positive integer, got '0'"),
    (PAIRS_TXT.replace("Zoe_Ng\t2\t1\n", ""), "announces 8 pair lines (2 folds x (2 matched + 2 mismatched)), found 7"),
    (PAIRS_TXT.replace("George_W_Bush\t3\t1\n", "George_W_Bush\t3\tZoe_Ng\t1\n"),
     "line 3: expected a matched pair `name idx1 idx2` (fold 1 is lines 2-5"),
    (PAIRS_TXT.replace("George_W_Bush\t1\tZoe_Ng\t1\n", "George_W_Bush\t1\t2\n"),
     "line 8: expected a mismatched pair `name1 idx1 name2 idx2` (fold 2 is lines 6-9"),
    (PAIRS_TXT.replace("Zoe_Ng\t2\t1\n", "Zoe_Ng\t2\t-1\n"), "line 7: expected `idx2` to be a positive integer"),
])
def test_malformed_files_name_the_line(tmp_path, text, message):
    image_tree(str(tmp_path))
    pairs_txt = write(tmp_path / "pairs.txt", text)
    with pytest.raises(DataError) as error:
        read_lfw_pairs(pairs_txt, str(tmp_path))
    assert message in str(error.value)
    assert pairs_txt in str(error.value)


def test_missing_image_names_the_line_and_the_file(tmp_path):
    lfw = image_tree(str(tmp_path))
    pairs_txt = write(tmp_path / "pairs.txt", PAIRS_TXT.replace("George_W_Bush\t3\tAbel", "George_W_Bush\t4\tAbel"))
    with pytest.raises(DataError) as error:
        read_lfw_pairs(pairs_txt, str(tmp_path))
    assert f"{pairs_txt}, line 9: missing image {os.path.join(lfw, 'George_W_Bush', 'George_W_Bush_0004')}.jpg" \
        in str(error.value)


def test_unreadable_pairs_file_is_a_clear_error(tmp_path):
    image_tree(str(tmp_path))
    with pytest.raises(DataError, match="cannot read the pairs file"):
        read_lfw_pairs(str(tmp_path / "nope.txt"), str(tmp_path))


def test_fixture_pairs_file_follows_the_format(tmp_path):
    counts = write_face_fixture(str(tmp_path), ids=2, per_id=3, lfw_names=6, folds=3, pairs_per_fold=4,
                                height_px=16, width_px=16)
    pairs = read_lfw_pairs(counts.pairs_txt, counts.lfw_dir)
    assert len(pairs) == counts.pairs == 24 and pairs.num_folds == 3
    people = lambda path: os.path.basename(os.path.dirname(path))  # noqa: E731
    for f in range(3):
        rows = [i for i in range(len(pairs)) if pairs.fold[i] == f]
        assert [pairs.same[i] for i in rows] == [True] * 4 + [False] * 4
        assert all((people(pairs.path_a[i]) == people(pairs.path_b[i])) == pairs.same[i] for i in rows)
    # Folds are disjoint in people, as LFW's.
    by_fold = [{people(p) for i in range(len(pairs)) if pairs.fold[i] == f for p in (pairs.path_a[i], pairs.path_b[i])}
               for f in range(3)]
    assert not (by_fold[0] & by_fold[1] or by_fold[0] & by_fold[2] or by_fold[1] & by_fold[2])


def test_face_pairs_checks_its_fields():
    with pytest.raises(DataError, match="of one length"):
        FacePairs(("a",), (), (True,), (0,), 1)
    with pytest.raises(DataError, match="expected folds in 0..0, got 1"):
        FacePairs(("a",), ("b",), (True,), (1,), 1)
