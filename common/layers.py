"""The book's layers (chapters 5-7): each has ``forward`` and ``backward(dout)``.

Layers hold *references* to their parameter arrays (the optimizer updates them in place) and store the
gradients in attributes (``dW``, ``db``, ``dgamma``, ``dbeta``). Every buffer takes the dtype of the input,
so a float32 network stays float32 and a float64 gradient check computes in float64.

Each ``forward``/``backward`` is the book's few steps; where a step has a faster form it calls a kernel of
:mod:`common.kernels` by name (each kernel is tested against its plain-loop specification in
:mod:`common.reference`). Layers whose ``forward`` takes ``train_flg`` say so with ``uses_train_flg = True``.

Notation: N batch, C channels, H x W input, FN filters, FH x FW filter/pool window, OH x OW output.
"""

from __future__ import annotations

import math

import numpy as np

from common import kernels
from common.functions import check_target, log_softmax, sigmoid

# chapter 5's graph nodes and chapter 8's generative-model layers live in their own modules; importable from here
from common.gan_layers import Deconvolution, LeakyRelu, SigmoidWithLoss, Tanh
from common.graph_layers import AddLayer, MulLayer
from common.util import conv_output_size, im2col

# "np" too: the book's common/layers.py has no __all__, so `from common.layers import *` also brought NumPy.
__all__ = ["np", "MulLayer", "AddLayer", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "Dropout",
           "BatchNormalization", "Convolution", "Pooling", "Deconvolution", "LeakyRelu", "Tanh", "SigmoidWithLoss"]


class Relu:
    """max(0, x). ``backward`` returns a new array and never modifies ``dout`` (the book's did). Both directions
    keep the memory order of their input, so channels-last activations stay channels-last."""

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None  # True where x <= 0, as in the book

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dx = dout where x > 0, exactly 0 where x <= 0 (the book's ``dout[mask] = 0``, on a new array)."""
        return kernels.zero_where(self.mask, dout)


class Sigmoid:
    """y = 1 / (1 + exp(-x)); dx = dout * (1 - y) * y."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1 - self.out) * self.out


def _check_input_grad(layer: str, input_grad) -> bool:  # Affine's and Convolution's switch
    if not isinstance(input_grad, (bool, np.bool_)):
        raise TypeError(f"{layer} input_grad must be True or False, got {input_grad!r}")
    return bool(input_grad)


class Affine:
    """y = x W + b, with N-D input flattened to (N, D) and its shape restored in ``backward``.

    Args:
        W: (D, M) weights.  b: (M,) bias.
        input_grad: False when no one needs dx (a network's first layer: its input is data, as with PyTorch's
            ``requires_grad=False``): ``backward`` then sets dW, db only and returns None, half its products.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, *, input_grad: bool = True) -> None:
        self.W, self.b = W, b
        self.input_grad = _check_input_grad("Affine", input_grad)
        self.x: np.ndarray | None = None
        self.original_x_shape: tuple[int, ...] | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, ...) with prod(...) == D. Returns (N, M)."""
        x = np.asarray(x)
        features = math.prod(x.shape[1:]) if x.ndim >= 1 else 0
        if x.ndim < 1 or features != self.W.shape[0]:
            raise ValueError(
                f"Affine: input of shape {x.shape} has {features} features per sample, "
                f"but W has shape {self.W.shape} (expects {self.W.shape[0]})"
            )
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], features)  # (N, D); a copy only when x is not C-contiguous
        out = self.x @ self.W
        out += self.b
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dout: (N, M). Sets dW (D, M), db (M,); returns dx of the input's shape (None if not input_grad)."""
        self.dW = self.x.T @ dout
        self.db = kernels.column_sums(dout)
        if not self.input_grad:
            return None
        return (dout @ self.W.T).reshape(self.original_x_shape)


class SoftmaxWithLoss:
    """Softmax followed by the cross-entropy loss, computed through log-softmax.

    ``forward(x, t)``: x logits (N, K); t labels (N,) or one-hot (N, K). Returns the mean loss.
    ``backward(dout=1)``: returns dout * (y - t) / N, where y = softmax(x). (The book ignored dout.)
    """

    def __init__(self) -> None:
        self.loss = None
        self.y: np.ndarray | None = None
        self.t: np.ndarray | None = None

    def forward(self, x: np.ndarray, t: np.ndarray):
        """x (N, K), N >= 1; t labels (N,), a column (N, 1) or one-hot (N, K), checked by ``check_target``."""
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"SoftmaxWithLoss expects logits of shape (N, K) with N >= 1, got {x.shape}")
        t = np.asarray(t)
        if t.ndim == 0 or t.shape[0] != x.shape[0]:
            raise ValueError(f"SoftmaxWithLoss: logits {x.shape} and target {t.shape} have different batch sizes")
        t = check_target(t, x.shape[0], x.shape[1])
        logp = log_softmax(x)
        self.y = np.exp(logp)
        n = x.shape[0]
        self.t = t
        if t.ndim == 2:
            self.loss = -np.sum(t * logp, dtype=x.dtype) / n
        else:
            self.loss = -np.sum(logp[np.arange(n), t], dtype=x.dtype) / n
        return self.loss

    def backward(self, dout=1) -> np.ndarray:
        n = self.y.shape[0]
        dx = self.y.copy()
        if self.t.shape == dx.shape:
            dx -= self.t
        else:
            dx[np.arange(n), self.t] -= 1
        dx *= dout / n
        return dx


class Dropout:
    """Randomly zero units during training.

    The book's (default) form is non-inverted: training multiplies by a 0/1 mask, testing scales by
    (1 - dropout_ratio). With ``inverted=True`` training scales kept units by 1 / (1 - ratio) and testing
    returns x unchanged (the modern convention); both give the same expected output.

    Args:
        dropout_ratio: probability of dropping a unit, in [0, 1).
        rng: a ``np.random.Generator``; by default NumPy's global generator (seed it with np.random.seed).

    Attributes:
        mask: (x's shape) bool, True for the units kept by the last training-mode forward; None after a
            test-mode forward.
        reuse_mask: when True, a training-mode forward reuses ``mask`` if it has the input's shape instead of
            drawing a new one (numerical gradient checks need the same mask in every evaluation). Default False.
    """

    uses_train_flg = True  # forward(x, train_flg): the train-mode protocol of the networks

    def __init__(self, dropout_ratio: float = 0.5, inverted: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        if isinstance(dropout_ratio, bool) or not isinstance(dropout_ratio, (int, float, np.floating, np.integer)) \
                or not 0 <= dropout_ratio < 1:
            raise ValueError(f"dropout_ratio must be a number in [0, 1), got {dropout_ratio!r}")
        self.dropout_ratio = dropout_ratio
        self.inverted = inverted
        self.rng = rng
        self.mask: np.ndarray | None = None
        self.reuse_mask = False

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        keep = 1 - self.dropout_ratio
        if train_flg:
            if not (self.reuse_mask and self.mask is not None and self.mask.shape == np.shape(x)):
                u = self.rng.random(x.shape) if self.rng is not None else np.random.random_sample(x.shape)
                self.mask = u > self.dropout_ratio
            scale = 1 / keep if self.inverted else 1
            return x * self.mask * np.asarray(scale, dtype=x.dtype)
        self.mask = None  # test mode: a fixed scale, no mask
        return x if self.inverted else x * np.asarray(keep, dtype=x.dtype)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        keep = 1 - self.dropout_ratio
        if self.mask is None:  # after a test-mode forward
            return dout if self.inverted else dout * np.asarray(keep, dtype=dout.dtype)
        scale = 1 / keep if self.inverted else 1
        return dout * self.mask * np.asarray(scale, dtype=dout.dtype)


class BatchNormalization:
    """Batch normalisation y = gamma * (x - mean) / sqrt(var + eps) + beta.

    Modes, chosen by the size of ``gamma``:
      * per activation (the book): 2-D input (N, D) with D = gamma.size, or 4-D input (N, C, H, W) with
        C*H*W = gamma.size (flattened to (N, C*H*W));
      * per channel (for CNNs): 4-D input with C = gamma.size, statistics over N, H and W.

    Args:
        gamma, beta: scale and shift, same size. Running statistics have gamma's size.
        momentum: running average factor; running = momentum * running + (1 - momentum) * batch.

    The running statistics are updated in place, and never from a batch whose mean or variance is not finite
    (one NaN pixel would otherwise poison them for good); that batch's output is NaN, so the loss shows it.
    """

    eps = 1e-6
    uses_train_flg = True  # forward(x, train_flg): the train-mode protocol of the networks

    def __init__(self, gamma: np.ndarray, beta: np.ndarray, momentum: float = 0.9,
                 running_mean: np.ndarray | None = None, running_var: np.ndarray | None = None) -> None:
        if gamma.shape != beta.shape:
            raise ValueError(f"gamma {gamma.shape} and beta {beta.shape} must have the same shape")
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean = running_mean
        self.running_var = running_var
        self.input_shape: tuple[int, ...] | None = None
        self.batch_size = None
        self.xc = None
        self.std = None
        self.xn = None
        self.dgamma = None
        self.dbeta = None
        self.channels_last = False  # per channel: the layout of the last forward (backward follows it)

    def _to_3d(self, x: np.ndarray, channels_last: bool | None = None) -> np.ndarray:
        """x as (A, D, B), statistics over A and B: per activation (N, D, 1); per channel (N*H*W, C, 1) when x is
        channels-last in memory (a convolution's output) or ``channels_last`` says so, else (N, C, H*W)."""
        d = self.gamma.size
        if (x.ndim == 2 and x.shape[1] == d) or (x.ndim == 4 and x.shape[1] * x.shape[2] * x.shape[3] == d):
            return x.reshape(x.shape[0], d, 1)
        if x.ndim == 4 and x.shape[1] == d:
            nhwc = x.transpose(0, 2, 3, 1)
            self.channels_last = nhwc.flags.c_contiguous if channels_last is None else channels_last
            if self.channels_last:
                return nhwc.reshape(-1, d, 1)
            return np.ascontiguousarray(x).reshape(x.shape[0], d, -1)
        raise ValueError(
            f"BatchNormalization with gamma of size {d} cannot normalise input of shape {x.shape}: expected "
            f"(N, {d}), (N, C, H, W) with C*H*W == {d} (per activation) or C == {d} (per channel)"
        )

    def _from_3d(self, y: np.ndarray) -> np.ndarray:
        shape = self.input_shape
        if len(shape) == 4 and y.shape[0] != shape[0]:  # per channel, channels-last: (N*H*W, C, 1)
            n, c, h, w = shape
            return y.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return y.reshape(shape)

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        """x: (N, D) or (N, C, H, W), N >= 1 when training. Returns y of x's shape (and x's memory order)."""
        x3 = self._to_3d(x)  # (A, D, B)
        self.input_shape = x.shape
        gamma, beta = self.gamma.reshape(-1, 1), self.beta.reshape(-1, 1)
        if self.running_mean is None:
            self.running_mean = np.zeros(gamma.size, dtype=x.dtype)
            self.running_var = np.zeros(gamma.size, dtype=x.dtype)
        if train_flg:
            m = x3.shape[0] * x3.shape[2]
            if m == 0:
                raise ValueError(f"BatchNormalization needs at least one sample to train, got input {x.shape}")
            y, xc, mu, var, std = kernels.batchnorm_forward(x3, gamma, beta, self.eps, self.xc)  # xc: reused
            self.batch_size, self.xc, self.xn, self.std = m, xc, None, std
            self._update_running(mu, var)
            return self._from_3d(y)
        std = np.sqrt(self.running_var + self.eps).astype(x3.dtype, copy=False)
        xn = kernels.per_channel(np.subtract, x3, self.running_mean.astype(x3.dtype, copy=False))
        kernels.per_channel(np.true_divide, xn, std, out=xn)
        self.batch_size, self.xc, self.xn, self.std = None, None, xn, std
        return self._from_3d(kernels.scale_shift(xn, gamma, beta))

    def _update_running(self, mu: np.ndarray, var: np.ndarray) -> None:
        """running = momentum * running + (1 - momentum) * batch, in place; skipped for a non-finite batch."""
        if np.isfinite(mu).all() and np.isfinite(var).all():
            for running, batch in ((self.running_mean, mu), (self.running_var, var)):
                running *= self.momentum
                running += (1 - self.momentum) * batch

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout of the forward output's shape -> dx; sets dgamma and dbeta (gamma's shape)."""
        d3 = self._to_3d(dout, self.channels_last)  # the forward's (A, D, B) layout
        gamma = self.gamma.reshape(-1)
        self.dbeta = kernels.channel_sums(d3).reshape(self.beta.shape)
        if self.batch_size is None:  # after a test-mode forward the statistics are constants
            self.dgamma = kernels.channel_dots(self.xn, d3).reshape(self.gamma.shape)
            return self._from_3d(kernels.per_channel(np.multiply, d3, gamma / self.std))
        dgamma = kernels.channel_dots(self.xc, d3) / self.std  # sum(xn * dout)
        self.dgamma = dgamma.reshape(self.gamma.shape)
        dx = kernels.batchnorm_dx(d3, self.xc, self.std, gamma, self.dbeta.reshape(-1), dgamma)
        return self._from_3d(dx)


class Convolution:
    """2-D cross-correlation by the book's im2col algorithm: one matrix product of the column matrix with the
    flattened filters.

        out[n, f, i, j] = b[f] + sum_{c, p, q} xpad[n, c, i*stride + p, j*stride + q] * W[f, c, p, q]

    Args:
        W: (FN, C, FH, FW) filters.  b: (FN,) bias.  stride, pad: ints (stride >= 1, pad >= 0).
        input_grad: False when no one needs dx (a network's first layer: images are data, as with PyTorch's
            ``requires_grad=False``): ``backward`` then sets dW, db only and returns None, about half the work.

    The work is done channels-last by :func:`common.kernels.conv_forward` / :func:`~common.kernels.conv_backward`:
    the output is an (N, FN, OH, OW) view of an (N, OH, OW, FN) array, which ReLU and pooling keep, so the next
    convolution reads its input without a transposition. ``col`` and ``col_W`` give the book's matrices (columns
    in (c, fh, fw) order; ``col @ col_W + b`` is the output in (N*OH*OW, FN) layout); ``col`` is rebuilt from
    ``x`` on each access.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0, *,
                 input_grad: bool = True) -> None:
        if np.ndim(W) != 4:
            raise ValueError(f"Convolution filters must be (FN, C, FH, FW), got shape {np.shape(W)}")
        if np.shape(b) != (W.shape[0],):
            raise ValueError(f"Convolution bias b must have shape (FN,) with FN = {W.shape[0]} (one per filter of W "
                             f"{W.shape}), got shape {np.shape(b)}")
        if int(stride) != stride or stride < 1 or int(pad) != pad or pad < 0:
            raise ValueError(f"Convolution needs an int stride >= 1 and pad >= 0, got stride={stride!r}, pad={pad!r}")
        self.W, self.b, self.stride, self.pad = W, b, int(stride), int(pad)
        self.input_grad = _check_input_grad("Convolution", input_grad)
        self.x: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self._work = kernels.Workspace()  # buffers kept between calls and the column matrix for backward

    @property
    def col(self) -> np.ndarray | None:
        """The book's column matrix im2col(x) of the last forward input, (N*OH*OW, C*FH*FW) (a new array)."""
        if self.x is None:
            return None
        return im2col(self.x, self.W.shape[2], self.W.shape[3], self.stride, self.pad)

    @property
    def col_W(self) -> np.ndarray:
        """The book's filter matrix W.reshape(FN, -1).T, (C*FH*FW, FN)."""
        return self.W.reshape(self.W.shape[0], -1).T

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C, H, W) in any memory order -> (N, FN, OH, OW)."""
        kernels.check_conv_input(x, self.W, self.stride, self.pad)
        self.x = x
        return kernels.conv_forward(x, self.W, self.b, self.stride, self.pad, self._work)

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """dout (N, FN, OH, OW) -> dx (N, C, H, W) (None when ``input_grad`` is False); sets dW (FN, C, FH, FW)
        and db (FN,)."""
        dx, self.dW, self.db = kernels.conv_backward(dout, self.x.shape, self.W, self.stride, self.pad, self._work,
                                                     need_dx=self.input_grad)
        return dx


class Pooling:
    """Max pooling over (pool_h, pool_w) windows. Padding (pad > 0) pads with -inf, so it never wins.

    forward: x (N, C, H, W) -> (N, C, OH, OW), the maximum of each window, in x's memory order. pad may be at
    most half the window, so that every window holds at least one real value. backward: each window's gradient
    goes to exactly one maximum (the first in row-major window order), accumulated where windows overlap.
    Windows that tile a channels-last input (the book's 2x2 stride 2 after a convolution) go window-major,
    keeping a window-major copy of x instead of x; others the offset loop (:mod:`common.pooling`, same numbers).
    """

    def __init__(self, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0) -> None:
        self.pool_h, self.pool_w, self.stride, self.pad = int(pool_h), int(pool_w), int(stride), int(pad)
        if self.stride < 1 or self.pad < 0 or 2 * self.pad > min(self.pool_h, self.pool_w):
            raise ValueError(
                f"Pooling {self.pool_h}x{self.pool_w} needs stride >= 1 and 0 <= pad <= half the window "
                f"(a window of padding only has no maximum); got stride={stride}, pad={pad}"
            )
        self.x = self.out = self.windows = None  # windows: x copied window-major (kernels.pool_windows), or None
        self._work = kernels.Workspace()  # the window-major buffers, kept between calls

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4:
            raise ValueError(f"Pooling expects input (N, C, H, W), got shape {x.shape}")
        for size, window in ((x.shape[2], self.pool_h), (x.shape[3], self.pool_w)):
            conv_output_size(size, window, self.stride, self.pad)  # raises when the window does not fit
        window = (self.pool_h, self.pool_w, self.stride, self.pad)
        self.windows = kernels.pool_windows(x, *window, self._work)  # None: the offset loop's route, keeps x
        self.x, self.x_shape = (x if self.windows is None else None), x.shape
        self.out = (kernels.max_pool_forward(x, *window) if self.windows is None
                    else kernels.max_pool_windows_forward(self.windows))
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, C, OH, OW) -> dx (N, C, H, W)."""
        if self.windows is not None:
            return kernels.max_pool_windows_backward(self.windows, self.out, dout, self.x_shape, self._work)
        return kernels.max_pool_backward(self.x, self.out, dout, self.pool_h, self.pool_w, self.stride, self.pad)
