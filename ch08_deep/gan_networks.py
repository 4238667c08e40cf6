"""The DCGAN's two networks (chapter 8, "beyond the book"), used by ``ch08_deep/dcgan.py``.

    generator:      z (N, z_dim) - affine - reshape (N, base, 7, 7) - batchnorm - relu
                    - deconv 4x4/2 (N, base/2, 14, 14) - batchnorm - relu - deconv 4x4/2 (N, 1, 28, 28) - tanh
    discriminator:  x (N, 1, 28, 28) - conv 4x4/2 (N, base, 14, 14) - leaky relu
                    - conv 4x4/2 (N, 2*base, 7, 7) - batchnorm - leaky relu - affine (N, 1) - sigmoid with loss

With ``codes`` = K > 0 the generator's input is z followed by a one-hot code of K categories, and the
discriminator has a second head on its last features, Affine -> K logits (``disc.q``), trained with G to recover
the code from the image: InfoGAN's categorical code (Chen et al. 2016), or AC-GAN's class when ``dcgan.train`` also
gets the real images' labels (Odena et al. 2017). Plus Polyak averaging of a
generator's weights (:func:`average_into`) and :func:`refresh_statistics`.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from common import io
from common.gan_layers import Deconvolution, LeakyRelu, SigmoidWithLoss, Tanh
from common.layers import Affine, BatchNormalization, Convolution, Relu
from common.network import forward_layers

__all__ = ["Generator", "Discriminator", "Reshape", "average_into", "refresh_statistics", "Z_DIM", "G_BASE", "D_BASE"]

Z_DIM = 64
G_BASE = 128  # generator channels at 7x7 (half of it at 14x14)
D_BASE = 64  # discriminator channels at 14x14 (twice it at 7x7)


class Reshape:
    """(N, D) -> (N, *shape) and back."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)
        self.in_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.in_shape = x.shape
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.in_shape)


class _Net:
    """Layers in order, parameters by name, and the backward loop of the book."""

    params: dict[str, np.ndarray]
    layers: OrderedDict[str, object]
    grad_names: dict[str, str]  # parameter name -> "layer.attribute" holding its gradient

    def forward(self, x: np.ndarray, train_flg: bool = False) -> np.ndarray:
        """Through every layer in order; batch normalisation uses batch statistics only when ``train_flg``."""
        return forward_layers(self.layers.values(), x, train_flg)

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dout: gradient of the output -> (gradient of the input, {parameter name: gradient})."""
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        return dout, self._grads()

    def _grads(self) -> dict[str, np.ndarray]:
        """{parameter name: the gradient its layer holds after backward}."""
        grads = {}
        for key, where in self.grad_names.items():
            layer, attr = where.split(".")
            grads[key] = getattr(self.layers[layer], attr)
        return grads

    def _add(self, name: str, layer, **params: np.ndarray) -> None:
        self.layers[name] = layer
        for key, attr in params.items():
            self.params[key] = getattr(layer, attr)
            self.grad_names[key] = f"{name}.d{attr}"


def _normal(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:
    """DCGAN's initialisation: N(0, 0.02^2)."""
    return (0.02 * rng.standard_normal(shape)).astype(dtype)


class Generator(_Net):
    """z (N, z_dim + codes) -> images (N, 1, 28, 28) in [-1, 1]. Channels: ``base`` at 7x7, ``base // 2`` at 14x14.

    Parameters W1 (z_dim + codes, 49*base), b1 (affine), gamma1, beta1, W2, b2 (deconv), gamma2, beta2, W3, b3
    (deconv); the batch-norm running statistics (running_mean1/2, running_var1/2) and, with codes, the code's
    prior ``code_prior`` (codes,) are saved and loaded with them. Its input is (N, z_dim + codes): see :meth:`noise`.
    """

    def __init__(self, z_dim: int = Z_DIM, base: int = G_BASE, dtype=np.float32,
                 rng: np.random.Generator | None = None, codes: int = 0) -> None:
        rng = rng if rng is not None else np.random.default_rng()
        self.z_dim, self.base, self.dtype, self.codes = int(z_dim), int(base), np.dtype(dtype), int(codes)
        if self.codes < 0 or self.codes == 1:
            raise ValueError(f"codes must be 0 (none) or at least 2 categories, got {codes}")
        self.params, self.layers, self.grad_names = {}, OrderedDict(), {}
        self.running: dict[str, np.ndarray] = {}
        if self.codes:
            self.running["code_prior"] = np.full(self.codes, 1 / self.codes, self.dtype)
        c1, c2 = self.base, self.base // 2
        in_dim = self.z_dim + self.codes
        self._add("Affine1", Affine(_normal(rng, (in_dim, c1 * 49), dtype), np.zeros(c1 * 49, dtype)),
                  W1="W", b1="b")
        self.layers["Reshape"] = Reshape((c1, 7, 7))
        self._batchnorm(1, c1)
        self.layers["Relu1"] = Relu()
        self._add("Deconv2", Deconvolution(_normal(rng, (c1, c2, 4, 4), dtype), np.zeros(c2, dtype), 2, 1),
                  W2="W", b2="b")
        self._batchnorm(2, c2)
        self.layers["Relu2"] = Relu()
        self._add("Deconv3", Deconvolution(_normal(rng, (c2, 1, 4, 4), dtype), np.zeros(1, dtype), 2, 1),
                  W3="W", b3="b")
        self.layers["Tanh"] = Tanh()

    def _batchnorm(self, i: int, c: int) -> None:
        mean, var = np.zeros(c, self.dtype), np.ones(c, self.dtype)
        bn = BatchNormalization(np.ones(c, self.dtype), np.zeros(c, self.dtype), momentum=0.9,
                                running_mean=mean, running_var=var)
        self._add(f"BatchNorm{i}", bn, **{f"gamma{i}": "gamma", f"beta{i}": "beta"})
        self.running[f"running_mean{i}"], self.running[f"running_var{i}"] = mean, var

    @property
    def in_dim(self) -> int:
        """Width of the input: z_dim + codes."""
        return self.z_dim + self.codes

    def noise(self, rng: np.random.Generator, n: int, code: np.ndarray | None = None) -> np.ndarray:
        """Input (n, z_dim + codes): z ~ N(0, 1), then (with codes) the one-hot code, uniform unless ``code`` (n,)."""
        z = rng.standard_normal((n, self.z_dim)).astype(self.dtype)
        if not self.codes:
            return z
        code = rng.integers(self.codes, size=n) if code is None else np.asarray(code)
        if code.shape != (n,) or code.dtype.kind not in "iu" or code.min(initial=0) < 0 \
                or code.max(initial=0) >= self.codes:
            raise ValueError(f"code must be {n} integers in [0, {self.codes}), got {code.dtype} {code.shape}")
        return np.concatenate([z, np.eye(self.codes, dtype=self.dtype)[code]], axis=1)

    def generate(self, z: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Images (N, 1, 28, 28) in [-1, 1] from inputs z (N, z_dim + codes), inference mode (running statistics)."""
        z = np.asarray(z, dtype=self.dtype)
        if z.ndim != 2 or z.shape[1] != self.in_dim:
            raise ValueError(f"noise must have shape (N, {self.in_dim}) (z_dim {self.z_dim} + codes {self.codes}), "
                             f"got {z.shape}")
        return np.concatenate([self.forward(z[i:i + batch_size]) for i in range(0, len(z), batch_size)])

    @classmethod
    def from_file(cls, path: str | Path) -> Generator:
        """A generator with the sizes of the one saved in ``path`` (base from gamma1, codes from code_prior,
        z_dim from W1), loaded."""
        loaded = io.load_params(path)
        if "W1" not in loaded or "gamma1" not in loaded or loaded["W1"].ndim != 2:
            raise ValueError(f"{path}: not a generator file (needs W1 (z_dim, 49*base) and gamma1 (base,))")
        codes = loaded["code_prior"].size if "code_prior" in loaded else 0
        if loaded["W1"].shape[0] <= codes or codes == 1:
            raise ValueError(f"{path}: W1 {loaded['W1'].shape} does not fit a code of {codes} categories")
        gen = cls(z_dim=loaded["W1"].shape[0] - codes, base=loaded["gamma1"].size, codes=codes)
        gen.load_params(path)
        return gen

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {**self.params, **self.running}

    def save_params(self, path: str | Path, dtype=None) -> Path:
        """Write parameters and running statistics to ``path`` (.npz), cast to ``dtype`` when given."""
        arrays = self.state_arrays()
        if dtype is not None:
            arrays = {key: a.astype(dtype) for key, a in arrays.items()}
        return io.save_params(arrays, path)

    def load_params(self, path: str | Path) -> None:
        """Copy a saved generator into this one (in place, cast to its dtype); nothing changes on a bad file."""
        loaded = io.load_params(path)
        state = self.state_arrays()
        if loaded.keys() != state.keys():
            raise ValueError(f"{path}: not a generator of this shape; missing {sorted(set(state) - set(loaded))}, "
                             f"unexpected {sorted(set(loaded) - set(state))}")
        for key, a in state.items():
            if loaded[key].shape != a.shape or not np.all(np.isfinite(loaded[key])):
                raise ValueError(f"{path}: {key} has shape {loaded[key].shape} (expected {a.shape}) or "
                                 "non-finite values")
        for key, a in state.items():
            a[...] = loaded[key]


class Discriminator(_Net):
    """Images (N, 1, 28, 28) in [-1, 1] -> logits (N, 1) of "real". Parameters W1, b1, W2, b2 (conv), W3, b3,
    and with ``batchnorm`` (as in the DCGAN paper: every layer but the first) gamma2, beta2 after the second
    convolution; D then always sees real and generated images in separate batches.

    With ``codes`` = K > 0, a second head Wq (98*base, K), bq (K,) on the same features gives ``self.q`` (N, K),
    the logits of the code each image was drawn with (InfoGAN's Q); ``backward(dout, dq)`` takes both gradients.
    """

    def __init__(self, base: int = D_BASE, batchnorm: bool = True, dtype=np.float32,
                 rng: np.random.Generator | None = None, codes: int = 0) -> None:
        rng = rng if rng is not None else np.random.default_rng()
        self.params, self.layers, self.grad_names = {}, OrderedDict(), {}
        self.codes, self.head_q, self.q = int(codes), None, None
        if self.codes < 0 or self.codes == 1:
            raise ValueError(f"codes must be 0 (none) or at least 2 categories, got {codes}")
        c1, c2 = int(base), 2 * int(base)
        self._add("Conv1", Convolution(_normal(rng, (c1, 1, 4, 4), dtype), np.zeros(c1, dtype), 2, 1),
                  W1="W", b1="b")
        self.layers["LeakyRelu1"] = LeakyRelu(0.2)
        self._add("Conv2", Convolution(_normal(rng, (c2, c1, 4, 4), dtype), np.zeros(c2, dtype), 2, 1),
                  W2="W", b2="b")
        if batchnorm:
            bn = BatchNormalization(np.ones(c2, dtype), np.zeros(c2, dtype), running_mean=np.zeros(c2, dtype),
                                    running_var=np.ones(c2, dtype))  # D is used in training mode only
            self._add("BatchNorm2", bn, gamma2="gamma", beta2="beta")
        self.layers["LeakyRelu2"] = LeakyRelu(0.2)
        self._add("Affine3", Affine(_normal(rng, (c2 * 49, 1), dtype), np.zeros(1, dtype)), W3="W", b3="b")
        self.last_layer = SigmoidWithLoss()
        if self.codes:
            self.head_q = Affine(_normal(rng, (c2 * 49, self.codes), dtype), np.zeros(self.codes, dtype))
            self.params["Wq"], self.params["bq"] = self.head_q.W, self.head_q.b

    def forward(self, x: np.ndarray, train_flg: bool = False) -> np.ndarray:
        """Logits (N, 1) of "real"; with codes, also sets ``self.q`` (N, codes) from the same features."""
        layers = list(self.layers.values())
        features = forward_layers(layers[:-1], x, train_flg)
        if self.head_q is not None:
            self.q = self.head_q.forward(features)
        return layers[-1].forward(features)

    def backward(self, dout: np.ndarray, dq: np.ndarray | None = None,
                 input_grad: bool = True) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """dout (N, 1), and with codes dq (N, codes) (None: zero) -> (gradient of the input, {name: gradient}).

        ``input_grad`` False: D's own update needs no gradient of the images; it is then None, and the first
        convolution skips that half of its backward."""
        layers = list(self.layers.values())
        self.layers["Conv1"].input_grad = bool(input_grad)
        dfeatures = layers[-1].backward(dout)
        if self.head_q is not None:
            dq = np.zeros_like(self.q) if dq is None else dq
            dfeatures = dfeatures + self.head_q.backward(dq)
        for layer in reversed(layers[:-1]):
            dfeatures = layer.backward(dfeatures)
        grads = self._grads()
        if self.head_q is not None:
            grads["Wq"], grads["bq"] = self.head_q.dW, self.head_q.db
        return dfeatures, grads


def average_into(avg: Generator, gen: Generator, decay: float) -> None:
    """Polyak averaging: avg's parameters <- decay * avg's + (1 - decay) * gen's, in place."""
    for key, a in avg.params.items():
        a *= decay
        a += (1 - decay) * gen.params[key]


def refresh_statistics(gen: Generator, rng: np.random.Generator, batches: int = 20, batch_size: int = 100) -> None:
    """Replace gen's batch-norm running statistics by the mean of ``batches`` batch statistics of its current
    weights (train-mode passes on fresh noise; momentum k/(k+1) at batch k makes the running value a plain mean)."""
    norms = [layer for layer in gen.layers.values() if isinstance(layer, BatchNormalization)]
    momenta = [bn.momentum for bn in norms]
    try:
        for k in range(batches):
            for bn in norms:
                bn.momentum = k / (k + 1)
            gen.forward(gen.noise(rng, batch_size), train_flg=True)
    finally:
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum
