"""Chapter 6.5: random search for the learning rate and the weight decay.

500 MNIST training images are shuffled and split: 100 for validation, 400 for training; the test set is never
looked at. Each trial draws lr = 10**U(-6, -2) and weight decay = 10**U(-8, -4), trains a 784-(100 x 6)-10 ReLU
network by SGD (batch 100) for 50 epochs and records the validation accuracy per epoch. The best trials are
printed and the 20 best plotted (validation solid, training dashed). The best learning rates come out near 5e-3..1e-2;
the weight decay hardly matters in this range.

Run ``python -m ch06_techniques.hyperparameter_optimization`` (about a minute; ``--trials`` to change 100).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from common.cli import fraction, make_parser, positive_int, seed_everything
from common.multi_layer_net import MultiLayerNet
from common.plotting import finish_figure, plt
from common.trainer import Trainer
from common.util import shuffle_dataset
from dataset.mnist import load_mnist

__all__ = ["split_validation", "run_trial", "main"]


def split_validation(x: np.ndarray, t: np.ndarray, validation_rate: float, rng: np.random.Generator):
    """Shuffle (x, t) and cut off the first ``validation_rate`` fraction as the validation set.

    Returns ((x_train, t_train), (x_val, t_val)).
    """
    x, t = shuffle_dataset(x, t, rng)
    n_val = int(len(x) * validation_rate)
    if not 0 < n_val < len(x):
        raise ValueError(f"validation_rate {validation_rate} leaves {n_val} of {len(x)} samples for validation")
    return (x[n_val:], t[n_val:]), (x[:n_val], t[:n_val])


def run_trial(train: tuple, val: tuple, lr: float, weight_decay: float, epochs: int, seed: int) -> dict:
    """Train one network; returns {'lr', 'weight_decay', 'val_acc': per-epoch list, 'train_acc': per-epoch list}.

    The validation set takes the Trainer's "test" role, so the real test set is never used.
    """
    network = MultiLayerNet(input_size=784, hidden_size_list=[100] * 6, output_size=10,
                            weight_decay_lambda=weight_decay)
    trainer = Trainer(network, *train, *val, epochs=epochs, mini_batch_size=100, optimizer="sgd",
                      optimizer_param={"lr": lr}, verbose=False, seed=seed)
    trainer.train()
    return {"lr": lr, "weight_decay": weight_decay, "val_acc": trainer.test_acc_list,
            "train_acc": trainer.train_acc_list}


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Run the random search, print every trial and the best ones, plot the best 20. Returns the trials, best first."""
    parser = make_parser("Random search of learning rate and weight decay (chapter 6.5)", quick=True)
    parser.add_argument("--trials", type=positive_int, default=100, help="random trials (default 100)")
    parser.add_argument("--epochs", type=positive_int, default=50, help="epochs per trial (default 50)")
    parser.add_argument("--train-size", type=positive_int, default=500, help="images before the split (default 500)")
    parser.add_argument("--validation-rate", type=fraction, default=0.2, help="validation fraction (default 0.2)")
    parser.add_argument("--show-best", type=positive_int, default=20, help="trials to plot (default 20)")
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.epochs = min(args.trials, 4), min(args.epochs, 2)
    rng = seed_everything(args.seed)

    (x_train, t_train), _ = load_mnist(normalize=True)  # the test set is not used
    train, val = split_validation(x_train[:args.train_size], t_train[:args.train_size], args.validation_rate, rng)
    print(f"{len(train[0])} training and {len(val[0])} validation images")

    trials = []
    for i in tqdm(range(args.trials), desc="trials"):
        weight_decay = 10 ** rng.uniform(-8, -4)
        lr = 10 ** rng.uniform(-6, -2)
        trial = run_trial(train, val, lr, weight_decay, args.epochs, seed=args.seed + i)
        trials.append(trial)
        tqdm.write(f"val acc:{trial['val_acc'][-1]:.4f} | lr:{lr:.3e}, weight decay:{weight_decay:.3e}")

    trials.sort(key=lambda tr: tr["val_acc"][-1], reverse=True)
    print("=========== Hyper-Parameter Optimization Result ===========")
    best = trials[:args.show_best]
    for i, trial in enumerate(best):
        print(f"Best-{i + 1}(val acc:{trial['val_acc'][-1]:.4f}) | lr:{trial['lr']:.3e}, "
              f"weight decay:{trial['weight_decay']:.3e}")

    cols = min(5, len(best))
    rows = -(-len(best) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.4 * rows), squeeze=False)
    epochs = np.arange(1, args.epochs + 1)
    for i, (ax, trial) in enumerate(zip(axes.flat, best, strict=False)):
        ax.plot(epochs, trial["val_acc"])
        ax.plot(epochs, trial["train_acc"], "--")
        ax.set_ylim(0.0, 1.0)
        ax.set_title(f"Best-{i + 1}", fontsize=9)
        if i % cols:
            ax.set_yticks([])
        ax.set_xticks([])
    for ax in list(axes.flat)[len(best):]:
        ax.set_visible(False)
    fig.tight_layout()
    finish_figure(fig, args, default_name="hyperparameter_optimization.png")
    return trials


if __name__ == "__main__":
    main(sys.argv[1:])
