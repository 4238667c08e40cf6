"""Chapter 6.2.2-6.2.3: histograms of the activations of five hidden layers.

1000 random inputs (standard normal, 100 features) pass through 5 layers of 100 units with no bias. The weights
are Gaussian with std 1, 0.01, Xavier sqrt(1/100) or He sqrt(2/100):
  * sigmoid, std 1: activations pile up at 0 and 1 (vanishing gradients);
  * sigmoid, std 0.01: everything near 0.5 (the units all say the same thing);
  * sigmoid or tanh, Xavier: spread out in every layer;
  * relu, He: the same spread in every layer (Xavier shrinks layer after layer, 0.01 collapses to 0).

Run ``python -m ch06_techniques.weight_init_activation_histogram --init xavier --activation tanh``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from common.cli import make_parser, positive_int, seed_everything
from common.functions import relu, sigmoid
from common.plotting import finish_figure, plt

__all__ = ["ACTIVATIONS", "INIT_STD", "layer_activations", "main"]

ACTIVATIONS = {"sigmoid": sigmoid, "relu": relu, "tanh": np.tanh}
INIT_STD = {"1": lambda n: 1.0, "0.01": lambda n: 0.01, "xavier": lambda n: np.sqrt(1.0 / n),
            "he": lambda n: np.sqrt(2.0 / n)}


def layer_activations(x: np.ndarray, std: float, activation: str, layers: int = 5,
                      rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Outputs of ``layers`` fully connected layers (no bias) with N(0, std**2) weights.

    Args:
        x: (N, D) float32 inputs; every layer has D units.
    Returns:
        a list of ``layers`` arrays (N, D), float32.
    """
    rng = rng if rng is not None else np.random.default_rng()
    act = ACTIVATIONS[activation]
    outputs = []
    for _ in range(layers):
        w = (std * rng.standard_normal((x.shape[1], x.shape[1]))).astype(np.float32)
        x = act(x @ w)
        outputs.append(x)
    return outputs


def main(argv: Sequence[str] | None = None) -> list[np.ndarray]:
    """Draw one histogram per layer and print each layer's mean and std. Returns the activations."""
    parser = make_parser("Activation histograms for different weight initialisations (chapter 6.2)", quick=True)
    parser.add_argument("--init", choices=list(INIT_STD), default="1",
                        help="weight std: 1 (default, as in the book's first figure), 0.01, xavier, he")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), default="sigmoid",
                        help="hidden activation (default sigmoid)")
    parser.add_argument("--layers", type=positive_int, default=5, help="number of layers (default 5)")
    parser.add_argument("--nodes", type=positive_int, default=100, help="units per layer (default 100)")
    parser.add_argument("--samples", type=positive_int, default=1000, help="random inputs (default 1000)")
    args = parser.parse_args(argv)
    rng = seed_everything(args.seed)
    if args.quick:
        args.samples = min(args.samples, 200)

    x = rng.standard_normal((args.samples, args.nodes)).astype(np.float32)
    std = INIT_STD[args.init](args.nodes)
    outputs = layer_activations(x, std, args.activation, args.layers, rng)

    value_range = (-1, 1) if args.activation == "tanh" else (0, 1)
    fig, axes = plt.subplots(1, args.layers, figsize=(3 * args.layers, 3), squeeze=False, sharey=True)
    for i, (ax, a) in enumerate(zip(axes[0], outputs, strict=True)):
        print(f"layer {i + 1}: mean {a.mean():.4f}, std {a.std():.4f}")
        ax.hist(a.ravel(), bins=30, range=value_range)
        ax.set_title(f"{i + 1}-layer")
        if i:
            ax.tick_params(labelleft=False)
    fig.suptitle(f"{args.activation}, weight std {args.init} ({std:.4g})")
    fig.tight_layout()
    finish_figure(fig, args, default_name=f"weight_init_activation_histogram_{args.activation}_{args.init}.png")
    return outputs


if __name__ == "__main__":
    main(sys.argv[1:])
