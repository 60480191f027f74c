"""The repository's own epoch number, which its schedule code reads (CoinCheung's ``lr_scheduler``,
MuggleWang's ``main.train``), kept by an adapter's recipe as its ``scheduler`` so that checkpoints
carry it; the learning rate itself lives in the optimizer's ``param_groups``."""
from __future__ import annotations

from typing import Any, Dict, Mapping


class EpochCounter:
    """The epoch a task trains, as the repository counts it; ``state_dict``/``load_state_dict`` as a scheduler's."""

    def __init__(self) -> None:
        self.epoch = 0

    def state_dict(self) -> Dict[str, int]:
        return {"epoch": self.epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.epoch = int(state["epoch"])
