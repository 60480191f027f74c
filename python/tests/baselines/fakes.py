"""What the baseline tests share: a stand-in for the worker's task, and tiny re-ID and face options."""
import torch

# Tiny re-ID recipes: 64 x 32 images, small P x K batches, no loader processes, no count check.
REID_TINY = {"heightPx": 64, "widthPx": 32, "numWorkers": 0, "evalBatchSize": 32, "strict": False}
# A tiny face recipe: 32 x 32 faces (the network's map is 2 x 2), batches of 16, 5 + 5 validation pairs per fold.
FACE_TINY = {"heightPx": 32, "widthPx": 32, "embeddingDim": 32, "batchSize": 16, "numWorkers": 0, "evalBatchSize": 64,
             "valPairsPerFold": 5}


class FakeTask:
    """What a recipe uses of :class:`amlfs.worker.task.Task`: a seeded generator and progress reports."""

    def __init__(self, seed=1):
        self.seed = seed
        self.steps = []

    def generator(self):
        return torch.Generator().manual_seed(self.seed)

    def progress(self, step, steps, loss=None, *, samples=None):
        self.steps.append((step, steps, loss, samples))
