"""``lossStats`` of a ``result`` (amlfs/worker/task.py ``loss_stats_fields``): the six fields of
``LossStats.summary()``, checked before anything is sent, every error naming the field."""
import math

import pytest

from amlfs.worker.task import loss_stats_fields

GOOD = {"examples": 1294.0, "flooredShare": 0.25, "deadShare": 0.5, "meanC": 0.61, "tDeadShare": 0.0, "meanTSlope": -0.2}


def test_the_summary_passes_with_an_integer_count():
    fields = loss_stats_fields(GOOD)
    assert fields == {**GOOD, "examples": 1294} and isinstance(fields["examples"], int)
    assert list(fields) == list(GOOD)


@pytest.mark.parametrize(
    "stats, message",
    [
        ({k: v for k, v in GOOD.items() if k != "meanC"}, r"missing \['meanC'\], unknown \[\]"),
        ({**GOOD, "share": 0.1}, r"missing \[\], unknown \['share'\]"),
        ({**GOOD, "deadShare": 1.5}, r"`loss_stats\['deadShare'\]` in \[0, 1\], got 1.5"),
        ({**GOOD, "flooredShare": -0.1}, r"`loss_stats\['flooredShare'\]` in \[0, 1\]"),
        ({**GOOD, "meanC": math.nan}, r"`loss_stats\['meanC'\]` to be finite, got nan"),
        ({**GOOD, "meanTSlope": math.inf}, r"`loss_stats\['meanTSlope'\]` to be finite"),
        ({**GOOD, "examples": 2.5}, r"`loss_stats\['examples'\]` to be an integer >= 0, got 2.5"),
        ({**GOOD, "examples": -1}, r"`loss_stats\['examples'\]` to be an integer >= 0, got -1"),
        ([1, 2], r"`loss_stats` to be a mapping"),
    ],
)
def test_a_malformed_one_names_the_field(stats, message):
    with pytest.raises(ValueError, match=message):
        loss_stats_fields(stats)
