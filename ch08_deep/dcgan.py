"""A DCGAN that learns to draw MNIST digits, in pure NumPy (chapter 8, "beyond the book").

    generator:      z (N, 64) + code (N, 10) - affine - reshape (N, 64, 7, 7) - batchnorm - relu
                    - deconv 4x4/2 (N, 32, 14, 14) - batchnorm - relu - deconv 4x4/2 (N, 1, 28, 28) - tanh
    discriminator:  x (N, 1, 28, 28) - conv 4x4/2 (N, 32, 14, 14) - leaky relu
                    - conv 4x4/2 (N, 64, 7, 7) - batchnorm - leaky relu - affine (N, 1) - sigmoid with loss
                    (and, from the same features, a second affine (N, 10): the logits of the code)

(half the DCGAN paper's channels: ``--g-base``, ``--d-base``). ``--mode`` chooses what the code is:
  acgan (default, Odena et al. 2017's AC-GAN): the code is the digit G is asked to draw; D's second head learns
      to name the digit of real images (their labels) and of generated ones (the code), and G learns to make it
      say the code. It uses MNIST's labels.
  infogan (Chen et al. 2016): a code of ``--codes`` categories with no labels; D's second head learns to recover
      it, and G to make it recoverable. Which digit (if any) each category comes to mean is up to training.
  dcgan: no code, no second head: the plain DCGAN of the paper.
Both networks are trained with Adam (lr 4e-4, beta1 = 0.5), D with one-sided label smoothing (real target 0.9);
the generator minimises -log D(G(z)) (the non-saturating loss), and what is saved is an exponential moving
average of its weights (decay 0.999), which draws better digits than the last iterate. The defaults are the
recipe of the shipped generator. Images live in [-1, 1] inside the GAN. "Does it draw digits" is measured
with the shipped DeepConvNet: the fraction of 1,000 samples (codes drawn uniformly) it classifies with
probability >= 0.9, and the entropy of the predicted-class histogram (ln 10 = 2.30 when all ten digits are
equally frequent); with a code, also which digit each code draws and how consistently (purity).

    python -m ch08_deep.dcgan --sample        # draw with the shipped generator (instant)
    python -m ch08_deep.dcgan                 # train (writes dcgan_generator.npz and figures/ here)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ch08_deep.deep_convnet import SHIPPED_PARAMS as CLASSIFIER_PARAMS
from ch08_deep.deep_convnet import DeepConvNet
from ch08_deep.gan_networks import D_BASE, G_BASE, Z_DIM, Discriminator, Generator, average_into, refresh_statistics
from common.cli import make_parser, seed_everything
from common.functions import softmax
from common.gan_layers import SigmoidWithLoss
from common.layers import SoftmaxWithLoss
from common.optimizer import Adam
from common.plotting import finish_figure, plt
from common.training import resolve_output
from dataset.mnist import load_mnist

__all__ = ["Generator", "Discriminator", "average_into", "refresh_statistics", "score_images", "code_purity", "train",
           "SHIPPED_GENERATOR", "Z_DIM", "main"]

SHIPPED_GENERATOR = Path(__file__).with_name("dcgan_generator.npz")
DEFAULT_OUT = "dcgan_generator.npz"


def score_images(images: np.ndarray, classifier, batch_size: int = 100) -> tuple[float, float]:
    """(confident, entropy) of images (N, 1, 28, 28) in [0, 1] under ``classifier`` (predict -> scores (N, 10)).

    confident: fraction whose softmax probability of the top class is >= 0.9.
    entropy: of the histogram of predicted classes, in nats (ln 10 = 2.303 for a uniform histogram).
    """
    return _scores(_probabilities(images, classifier, batch_size))


def _scores(probs: np.ndarray) -> tuple[float, float]:
    """(confident, entropy) of class probabilities (N, 10): see :func:`score_images`."""
    confident = float(np.mean(probs.max(axis=1) >= 0.9))
    hist = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)
    hist = hist[hist > 0]
    return confident, float(-np.sum(hist * np.log(hist))) + 0.0  # + 0.0: never print -0.000


def _probabilities(images: np.ndarray, classifier, batch_size: int = 100) -> np.ndarray:
    """Softmax of the classifier's scores, (N, 10), ``batch_size`` images per call."""
    return np.concatenate([softmax(classifier.predict(images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])


def code_purity(codes: np.ndarray, digits: np.ndarray, n_codes: int) -> tuple[np.ndarray, float]:
    """Each code's most frequent digit (n_codes,), -1 for a code never drawn, and the purity: the fraction of
    samples whose digit is their code's most frequent one. codes, digits: (N,) ints."""
    counts = np.zeros((n_codes, 10), dtype=np.int64)
    np.add.at(counts, (codes, digits), 1)
    majority = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)
    return majority, float(counts.max(axis=1).sum() / max(len(codes), 1))


def _grid(images: np.ndarray, rows: int) -> np.ndarray:
    """(rows*cols, 1, 28, 28) -> one (rows*28, cols*28) image."""
    cols = len(images) // rows
    return images[:rows * cols, 0].reshape(rows, cols, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)


def _show_grid(ax, images: np.ndarray, rows: int, title: str) -> None:
    ax.imshow(_grid((images + 1) / 2, rows), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")


def _score_generator(gen: Generator, classifier, rng: np.random.Generator, n: int) -> tuple[np.ndarray, float, float]:
    """n samples (N, 1, 28, 28) in [-1, 1] and their (confident, entropy) under ``classifier``."""
    z = gen.noise(rng, n)
    images = gen.generate(z)
    probs = _probabilities((images + 1) / 2, classifier)
    confident, entropy = _scores(probs)
    if gen.codes:  # which digit each code draws, and how consistently
        majority, purity = code_purity(z[:, gen.z_dim:].argmax(axis=1), probs.argmax(axis=1), gen.codes)
        print(f"codes 0-{gen.codes - 1} draw digits {' '.join(map(str, majority))} (purity {purity:.3f})")
    return images, confident, entropy


def train(gen: Generator, disc: Discriminator, x_train: np.ndarray, epochs: int, batch_size: int, lr: float,
          rng: np.random.Generator, fixed_z: np.ndarray, on_epoch=None, average: Generator | None = None,
          decay: float = 0.999, real_target: float = 1.0, info_weight: float = 1.0,
          labels: np.ndarray | None = None) -> dict[str, list[float]]:
    """Adversarial training on x_train (N, 1, 28, 28) in [-1, 1]; returns the per-step losses of D ("d"), G ("g")
    and, with codes, the code's cross-entropy on the fake batch in D's step ("info").

    One step: D sees a real batch (target ``real_target``, 1 unless smoothed) and a generated batch (target 0)
    separately, and is updated with the sum of both gradients; then G is updated to make the updated D say 1 on
    its batch. With codes (``gen.codes`` = ``disc.codes`` = K > 0, InfoGAN), D's second head is also trained to
    recover the code of each generated image (cross-entropy, weighted by ``info_weight``), and so is G: on the
    fake batch both networks minimise their adversarial loss plus ``info_weight`` times that cross-entropy.
    With ``labels`` (N,) of x_train (AC-GAN, Odena et al. 2017: the code is the class), D's second head also
    learns the labels of the real batch, with the same weight.
    ``on_epoch(epoch, samples)`` gets the samples of ``fixed_z`` after each epoch. With ``average`` (a generator
    of gen's sizes starting from gen's weights) it follows gen's weights as an exponential moving average with
    ``decay`` after every update, its statistics are refreshed each epoch, and ``on_epoch`` sees its samples.
    """
    opt_g, opt_d = Adam(lr=lr, beta1=0.5), Adam(lr=lr, beta1=0.5)
    if gen.codes != disc.codes:
        raise ValueError(f"the generator has {gen.codes} code categories, the discriminator {disc.codes}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(x_train),) or labels.dtype.kind not in "iu" or not gen.codes \
                or labels.min() < 0 or labels.max() >= gen.codes:
            raise ValueError(f"labels must be {len(x_train)} integers in [0, {gen.codes}) (the code categories), "
                             f"got {labels.dtype} {labels.shape}")
        real_codes = np.eye(gen.codes, dtype=x_train.dtype)[labels]
    loss, info = SigmoidWithLoss(), SoftmaxWithLoss()
    dtype = x_train.dtype
    ones, zeros = np.ones((batch_size, 1), dtype), np.zeros((batch_size, 1), dtype)
    real_t = np.full((batch_size, 1), real_target, dtype)  # < 1: one-sided label smoothing of D's real targets
    history: dict[str, list[float]] = {"d": [], "g": [], "info": []}
    steps = len(x_train) // batch_size
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        perm = rng.permutation(len(x_train))
        for step in range(steps):
            batch = perm[step * batch_size:(step + 1) * batch_size]
            real = x_train[batch]
            z = gen.noise(rng, batch_size).astype(dtype)
            code = z[:, gen.z_dim:]  # one-hot (N, K); empty without codes
            fake = gen.forward(z, train_flg=True)
            d_loss = loss.forward(disc.forward(real, train_flg=True), real_t)
            dq = None
            if labels is not None:
                info.forward(disc.q, real_codes[batch])
                dq = info.backward(info_weight)
            # fresh gradient arrays, which the next backward does not touch; D's update needs no image gradient
            _, d_real = disc.backward(loss.backward(), dq, input_grad=False)
            d_loss += loss.forward(disc.forward(fake, train_flg=True), zeros)
            if gen.codes:
                history["info"].append(float(info.forward(disc.q, code)))
                dq = info.backward(info_weight)
            _, d_fake = disc.backward(loss.backward(), dq, input_grad=False)
            opt_d.update(disc.params, {key: d_real[key] + d_fake[key] for key in d_real})
            g_loss = loss.forward(disc.forward(fake, train_flg=True), ones)
            if gen.codes:
                info.forward(disc.q, code)
                dq = info.backward(info_weight)
            dfake, _ = disc.backward(loss.backward(), dq)
            _, g_grads = gen.backward(dfake)
            opt_g.update(gen.params, g_grads)
            if average is not None:
                average_into(average, gen, decay)
            history["d"].append(float(d_loss))
            history["g"].append(float(g_loss))
        d_mean, g_mean = np.mean(history["d"][-steps:]), np.mean(history["g"][-steps:])
        q_text = f", code loss {np.mean(history['info'][-steps:]):.3f}" if gen.codes else ""
        print(f"epoch {epoch}/{epochs}: D loss {d_mean:.3f}, G loss {g_mean:.3f}{q_text} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        if average is not None:
            refresh_statistics(average, rng)
        if on_epoch is not None:
            on_epoch(epoch, (gen if average is None else average).generate(fixed_z))
    return history


def _parse(argv: list[str] | None):
    parser = make_parser(__doc__.splitlines()[0], quick=True, workload="large")
    parser.add_argument("--sample", action="store_true", help="draw with a trained generator instead of training")
    parser.add_argument("--params", default=None,
                        help=f"generator weights for --sample (default: the shipped {SHIPPED_GENERATOR.name})")
    parser.add_argument("--out", default=None, help=f"where training writes the generator (default ./{DEFAULT_OUT})")
    parser.add_argument("--epochs", type=int, default=7, help="passes over the training images (default 7)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch, real and fake each (32)")
    parser.add_argument("--lr", type=float, default=4e-4, help="Adam learning rate of both networks (4e-4)")
    parser.add_argument("--g-base", type=int, default=64, help=f"generator channels at 7x7 (64; DCGAN's {G_BASE})")
    parser.add_argument("--d-base", type=int, default=32, help=f"discriminator channels at 14x14 (32; DCGAN's {D_BASE})")
    parser.add_argument("--no-d-batchnorm", action="store_true", help="no batch normalisation in the discriminator")
    parser.add_argument("--real-target", type=float, default=0.9,
                        help="D's target for real images (default 0.9: one-sided label smoothing; 1: none)")
    parser.add_argument("--ema", type=float, default=0.999,
                        help="save an exponential moving average of G's weights with this decay (0.999; 0: off)")
    parser.add_argument("--mode", choices=("acgan", "infogan", "dcgan"), default="acgan",
                        help="acgan (default): G draws the digit it is given, D also learns the real images' labels; "
                             "infogan: a code of --codes categories, no labels; dcgan: no code, no labels")
    parser.add_argument("--codes", type=int, default=None,
                        help="with --mode infogan: categories of the code G is given and D's second head recovers (10)")
    parser.add_argument("--info-weight", type=float, default=1.0,
                        help="weight of the code's cross-entropy in both networks' losses (1)")
    parser.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--score-samples", type=int, default=1000, help="samples scored by DeepConvNet (1000)")
    parser.add_argument("--save-dtype", choices=("float32", "float16"), default="float16",
                        help="dtype of the saved generator (default float16, half the file of float32)")
    args = parser.parse_args([] if argv is None else argv)
    for name in ("epochs", "batch_size", "score_samples", "g_base", "d_base"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0.5 < args.real_target <= 1:  # also refuses NaN
        parser.error(f"--real-target must be in (0.5, 1], got {args.real_target}")
    if not 0 <= args.ema < 1:  # also refuses NaN
        parser.error(f"--ema must be a decay in [0, 1), got {args.ema}")
    if args.codes is not None and args.mode != "infogan":
        parser.error(f"--codes is for --mode infogan (--mode {args.mode} has {10 if args.mode == 'acgan' else 0})")
    if args.mode == "infogan" and args.codes is not None and args.codes < 2:
        parser.error(f"--codes must be at least 2, got {args.codes}")
    args.codes = {"acgan": 10, "dcgan": 0}.get(args.mode, args.codes or 10)
    args.labels = args.mode == "acgan"
    if not np.isfinite(args.info_weight) or args.info_weight < 0:
        parser.error(f"--info-weight must be a finite number >= 0, got {args.info_weight}")
    if not np.isfinite(args.lr) or args.lr <= 0:
        parser.error(f"--lr must be a finite number > 0, got {args.lr}")
    return args


def main(argv: list[str] | None = None) -> tuple[float, float]:
    """Train (or, with --sample, load) a generator, save the figures, print and return (confident, entropy).

    ``argv``: the command-line arguments; None means none (the defaults), never the host's sys.argv.
    """
    args = _parse(argv)
    rng = seed_everything(args.seed)
    n_score = min(args.score_samples, 100) if args.quick else args.score_samples
    classifier = DeepConvNet()
    classifier.load_params(CLASSIFIER_PARAMS)
    if args.sample:
        params = Path(args.params) if args.params else SHIPPED_GENERATOR
        gen = Generator.from_file(params)
        print(f"generator loaded from {params}")
        images, confident, entropy = _score_generator(gen, classifier, rng, n_score)
        title = f"DCGAN samples: {confident:.1%} confident, entropy {entropy:.2f}"
        if gen.codes:  # one row per code: row k asks for code k (the digit k, for an AC-GAN)
            images = gen.generate(gen.noise(rng, gen.codes * 10, np.repeat(np.arange(gen.codes), 10)))
            title += "\nrow k: code k"
        fig, ax = plt.subplots(figsize=(6, 6 * max(gen.codes, 10) / 10))
        _show_grid(ax, images[:10 * max(gen.codes, 10)], max(gen.codes, 10), title)
        finish_figure(fig, args, default_name="dcgan_samples.png")
        print(f"dcgan score: confident {confident:.3f}, entropy {entropy:.3f}")
        return confident, entropy

    out = resolve_output(args.out, DEFAULT_OUT)  # checked before training, never the shipped file
    (x_train, t_train), _ = load_mnist(normalize=True, flatten=False)
    x_train = np.asarray(x_train, dtype=np.float32).reshape(-1, 1, 28, 28) * 2 - 1  # [0, 1] -> [-1, 1]
    epochs, batch_size = args.epochs, args.batch_size
    if args.quick:
        x_train, t_train, epochs, batch_size = x_train[:64], t_train[:64], 1, min(batch_size, 32)
    elif args.train_size is not None:
        x_train, t_train = x_train[:args.train_size], t_train[:args.train_size]
    if len(x_train) < batch_size:
        raise SystemExit(f"dcgan: {len(x_train)} training images, fewer than one batch of {batch_size}")
    gen = Generator(base=args.g_base, rng=rng, codes=args.codes)
    disc = Discriminator(base=args.d_base, batchnorm=not args.no_d_batchnorm, rng=rng, codes=args.codes)
    rows = args.codes or 8  # with codes, one row of the fixed-noise grid per code category
    fixed_z = gen.noise(rng, rows * 8, np.repeat(np.arange(rows), 8) if args.codes else None)
    save_dtype = None if args.save_dtype == "float32" else np.float16

    def save_epoch(epoch: int, samples: np.ndarray) -> None:
        fig, ax = plt.subplots(figsize=(5, 5))
        _show_grid(ax, samples, rows, f"DCGAN, fixed noise, epoch {epoch}")
        finish_figure(fig, None, default_name=f"dcgan_epoch{epoch:02d}.png", show=False)
        kept = gen if average is None else average
        kept.save_params(out, dtype=save_dtype)  # after every epoch, so an interrupted run keeps its generator
        if not args.quick:
            if average is not None:
                _, confident, entropy = _score_generator(gen, classifier, rng, n_score)
                print(f"epoch {epoch}: without averaging: confident {confident:.3f}, entropy {entropy:.3f}")
            _, confident, entropy = _score_generator(kept, classifier, rng, n_score)
            print(f"epoch {epoch}: confident {confident:.3f}, entropy {entropy:.3f}", flush=True)

    start = time.perf_counter()
    average = None
    if args.ema:
        average = Generator(base=args.g_base, rng=rng, codes=args.codes)
        for key, a in average.state_arrays().items():
            a[...] = gen.state_arrays()[key]
    history = train(gen, disc, x_train, epochs, batch_size, args.lr, rng, fixed_z, on_epoch=save_epoch,
                    average=average, decay=args.ema, real_target=args.real_target, info_weight=args.info_weight,
                    labels=np.asarray(t_train, dtype=np.int64) if args.labels else None)
    gen = gen if average is None else average
    minutes = (time.perf_counter() - start) / 60
    path = gen.save_params(out, dtype=save_dtype)
    print(f"generator saved to {path} (training took {minutes:.1f} min)")
    images, confident, entropy = _score_generator(gen, classifier, rng, n_score)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5))
    _show_grid(ax1, gen.generate(fixed_z), rows, f"after {epochs} epochs: {confident:.1%} confident")
    ax2.plot(history["d"], label="discriminator", lw=0.5)
    ax2.plot(history["g"], label="generator", lw=0.5)
    ax2.set_xlabel("step")
    ax2.set_ylabel("loss")
    ax2.legend()
    finish_figure(fig, args, default_name="dcgan.png")
    print(f"dcgan score: confident {confident:.3f}, entropy {entropy:.3f}")
    return confident, entropy


if __name__ == "__main__":
    main(sys.argv[1:])
