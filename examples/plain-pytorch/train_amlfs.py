"""Train a small CNN on scikit-learn's bundled 8x8 digits: an ordinary PyTorch script.

    python train.py --epochs 3

train_amlfs.py is this script with the few lines that let amlfs drive it
(docs/plug-in.md prints the diff).
"""
import argparse

import torch
from amlfs.worker.plugin import SearchedCrossEntropyLoss, connect, epochs
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        )
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


def make_loaders(batch_size, seed):
    """1,797 digits, 8x8 px, values 0..16: 1,297 train, 200 val, 300 test images."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    splits = {"train": order[:1297], "val": order[1297:1497], "test": order[1497:]}
    return {
        name: DataLoader(TensorDataset(images[index], labels[index]), batch_size=batch_size, shuffle=name == "train")
        for name, index in splits.items()
    }


def train_one_epoch(model, loader, optimizer, criterion, device):
    model.train()
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()


@torch.no_grad()
def evaluate(model, loader, device):
    model.eval()
    correct = 0
    for images, labels in loader:
        correct += (model(images.to(device)).argmax(dim=1) == labels.to(device)).sum().item()
    return correct / len(loader.dataset)


def main():
    parser = argparse.ArgumentParser(description="Train a small CNN on scikit-learn's digits.")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args, _ = parser.parse_known_args()  # amlfs adds --connect, --worker-id, ...

    torch.manual_seed(args.seed)
    loaders = make_loaders(args.batch_size, args.seed)
    model = Net().to(args.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    criterion = SearchedCrossEntropyLoss(model.fc)
    session = connect("plain-pytorch")
    session.attach(model, optimizer, scheduler)

    for epoch in epochs(session, criterion, lambda split: evaluate(model, loaders[split], args.device)):
        train_one_epoch(model, loaders["train"], optimizer, criterion, args.device)
        scheduler.step()
        print(f"epoch {epoch + 1}/{args.epochs}: val accuracy {evaluate(model, loaders['val'], args.device):.4f}")


if __name__ == "__main__":
    main()
