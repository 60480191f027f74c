"""MGN's recipe presets: seathiefwang/MGN-pytorch@384e820 (``upstream``, the default: option.py's
defaults and the best run of demo.sh) and the MGN paper (``paper``), read from the option table
and from a built recipe."""
import pytest
import torch

from amlfs.baselines import BaselineError, build_recipe
from amlfs.baselines.mgn import OPTIONS, PRESETS, config_from_options
from amlfs.baselines.options import parse_options
from amlfs.baselines.reid_recipe import lr_factor

from .test_mgn import experiment

# seathiefwang/MGN-pytorch@384e820; demo.sh:50 is its best run:
# python3 main.py ... --batchid 16 --batchtest 32 --test_every 50 --epochs 400 --decay_type step_320_380
#   --loss 1*CrossEntropy+2*Triplet --margin 1.2 --save adam_1 --nGPU 2 --lr 2e-4 --optimizer ADAM
#   --random_erasing --reset --re_rank --amsgrad
UPSTREAM = {
    "p": 16,  # option.py:16 --batchid 16; demo.sh:50 --batchid 16
    "k": 4,  # option.py:17 --batchimage 4
    "epochBatches": "identities",  # data/sampler.py:27-28 len = identities x batch_image
    "heightPx": 384, "widthPx": 128,  # option.py:27-28; data/__init__.py:11 Resize((384, 128))
    "cropHeightPx": None, "cropWidthPx": None, "paddingPx": 0,  # data/__init__.py:10-15: resize, flip only
    "erasingP": 0.5,  # demo.sh:50 --random_erasing; option.py:49 --probability 0.5
    "erasingFill": "normalizedZero",  # data/__init__.py:17 RandomErasing(mean=[0.0, 0.0, 0.0]) after Normalize
    "optimizer": "adam",  # demo.sh:50 --optimizer ADAM
    "lr": 2e-4,  # demo.sh:50 --lr 2e-4; option.py:32
    "weightDecay": 5e-4,  # option.py:42 --weight_decay 5e-4
    "amsgrad": True,  # demo.sh:50 --amsgrad; utils/utility.py:113
    "recipeEpochs": 400,  # demo.sh:50 --epochs 400
    "warmupEpochs": 0,  # utils/utility.py:135-152: no warmup
    "milestoneEpochs": [320, 380],  # demo.sh:50 --decay_type step_320_380
    "gamma": 0.1,  # option.py:41 --gamma 0.1
    "reducedDim": 256,  # option.py:26 --feats 256
    "pool": "avg",  # option.py:25 --pool avg
    "headBias": True,  # model/mgn.py:69-77 nn.Linear(feats, num_classes)
    "tripletMargin": 1.2,  # demo.sh:50 --margin 1.2
    "tripletWeight": 2.0,  # demo.sh:50 --loss 1*CrossEntropy+2*Triplet; loss/__init__.py:58-69 group means
    "flipTest": True,  # trainer.py:104-117 image + mirror, normalized
    "testDistance": "euclidean",  # trainer.py:76 cdist
}
# The MGN paper (ACM MM 2018), Sec. 3 and 4.1.
PAPER = {
    **UPSTREAM,
    "epochBatches": "images",  # ours: the paper does not define the epoch
    "erasingP": 0.0,  # Sec. 4.1: random horizontal flipping only
    "optimizer": "sgd", "momentum": 0.9,  # Sec. 4.1: SGD, momentum 0.9
    "lr": 1e-2,  # Sec. 4.1
    "weightDecay": 5e-4,  # Sec. 4.1
    "amsgrad": False,
    "recipeEpochs": 80, "milestoneEpochs": [40, 60],  # Sec. 4.1: 1e-3 after 40 epochs, 1e-4 after 60
    "pool": "max",  # Sec. 3.1: global max-pooling
    "headBias": False,  # Sec. 3.2: softmax without a bias
    "tripletWeight": 1.0,  # ours: the group means weighed 1 (the paper adds up the losses)
    "tripletMargin": 1.2,  # Sec. 4.1
}


@pytest.mark.parametrize("recipe, expected", [("upstream", UPSTREAM), ("paper", PAPER)])
def test_preset_values(recipe, expected):
    given = {} if recipe == "upstream" else {"recipe": recipe}
    options = parse_options("mgn", given, OPTIONS, PRESETS)
    assert options["recipe"] == recipe
    assert {name: options[name] for name in expected} == expected


def test_every_option_has_a_source():
    assert all(option.source for option in OPTIONS.values())
    assert set(PRESETS.sources["paper"]) == set(PRESETS.overrides["paper"])


def test_the_upstream_schedule_over_400_epochs():
    config = config_from_options(parse_options("mgn", {}, OPTIONS, PRESETS), epochs=400)
    assert (config.p, config.k, config.resize_px, config.crop_px, config.epoch_batches) == (
        16, 4, (384, 128), (384, 128), "identities")
    assert (config.erasing_p, config.erasing_fill, config.optimizer, config.betas) == (
        0.5, "normalizedZero", "adam", (0.9, 0.999))
    assert [config.lr * lr_factor(e, config) for e in (0, 319, 320, 379, 380, 399)] == pytest.approx(
        [2e-4, 2e-4, 2e-5, 2e-5, 2e-6, 2e-6])


def test_built_recipes_follow_their_preset(market_root):
    upstream = build_recipe(experiment(market_root), torch.device("cpu"))
    assert isinstance(upstream.optimizer, torch.optim.Adam)
    assert upstream.optimizer.defaults["amsgrad"] is True and upstream.optimizer.defaults["lr"] == 2e-4
    assert upstream.scheduler.optimizer is upstream.optimizer
    assert all(head.bias is not None for head in upstream.model.heads)
    assert upstream.config.epoch_batches == "identities" and upstream.config.erasing_p == 0.5
    upstream.initialize(1)  # the restart keeps the AMSGrad optimizer and its learning rate
    assert upstream.optimizer.param_groups[0]["lr"] == 2e-4

    paper = build_recipe(experiment(market_root, recipe="paper"), torch.device("cpu"))
    assert isinstance(paper.optimizer, torch.optim.SGD) and paper.optimizer.defaults["lr"] == 1e-2
    assert all(head.bias is None for head in paper.model.heads)

    # upstream's amsgrad is Adam's: with SGD chosen it is left out, and naming it is an error
    sgd = build_recipe(experiment(market_root, optimizer="sgd"), torch.device("cpu"))
    assert isinstance(sgd.optimizer, torch.optim.SGD)
    with pytest.raises(BaselineError, match="`baseline.options.amsgrad`: AMSGrad is a variant of Adam"):
        build_recipe(experiment(market_root, optimizer="sgd", amsgrad=True), torch.device("cpu"))
