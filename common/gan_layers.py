"""Layers for chapter 8's generative models: transposed convolution, leaky ReLU, tanh and a sigmoid loss.

Same conventions as :mod:`common.layers`: ``forward``/``backward(dout)``, parameters held by reference,
gradients in ``dW``/``db``, every buffer in the dtype of the input (float32 by default, float64 in gives
float64 out).

Notation: N batch, C_in / C_out input / output channels, H x W input, FH x FW kernel, OH x OW output.
"""

from __future__ import annotations

import math

import numpy as np

from common import kernels
from common.functions import sigmoid

__all__ = ["Deconvolution", "LeakyRelu", "Tanh", "SigmoidWithLoss", "deconv_output_size", "deconv_reference"]


def deconv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """(input_size - 1) * stride - 2 * pad + filter_size: the output length of a transposed convolution.

    Raises ValueError when stride < 1, pad < 0, filter_size < 1 or the result would be below 1.
    """
    input_size, filter_size, stride, pad = int(input_size), int(filter_size), int(stride), int(pad)
    if stride < 1 or pad < 0 or filter_size < 1 or input_size < 1:
        raise ValueError(f"need input >= 1, stride >= 1, pad >= 0, filter >= 1; got input={input_size}, "
                         f"stride={stride}, pad={pad}, filter={filter_size}")
    size = (input_size - 1) * stride - 2 * pad + filter_size
    if size < 1:
        raise ValueError(f"transposed convolution of an input of size {input_size} with filter {filter_size}, "
                         f"stride {stride}, pad {pad} has output size {size} < 1")
    return size


class Deconvolution:
    """Transposed convolution (PyTorch's ``ConvTranspose2d`` convention, no output padding).

        out[n, o, i*stride + p - pad, j*stride + q - pad] += x[n, c, i, j] * W[c, o, p, q]   (+ b[o])

    It is the adjoint of :class:`common.layers.Convolution` with the same ``W`` (read as FN = C_in filters of
    C = C_out channels), stride and pad, and runs on the convolution kernels of :mod:`common.kernels`: forward
    is convolution's backward-data (``conv_backward`` without dW); backward (``deconv_backward``) builds the
    column matrix of dout once per chunk for dx (convolution's forward of dout) and dW (convolution's dW with
    dout as the input and x as the upstream gradient).
    The output is an (N, C_out, OH, OW) view of a channels-last array, like a Convolution's.

    Args:
        W: (C_in, C_out, FH, FW) kernels.  b: (C_out,) bias.  stride, pad: ints (stride >= 1, pad >= 0).

    Memory: chunk-sized column matrices (about 1 MiB), the padded dout, kept between calls.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        if not isinstance(W, np.ndarray) or W.ndim != 4:
            raise ValueError(f"Deconvolution kernels W must be an array (C_in, C_out, FH, FW), got shape "
                             f"{np.shape(W)}")
        if not isinstance(b, np.ndarray) or b.shape != (W.shape[1],):
            raise ValueError(f"Deconvolution bias b must have shape ({W.shape[1]},) for W of shape {W.shape}, "
                             f"got {np.shape(b)}")
        if int(stride) != stride or int(pad) != pad or stride < 1 or pad < 0:
            raise ValueError(f"Deconvolution needs an int stride >= 1 and pad >= 0, got stride={stride!r}, "
                             f"pad={pad!r}")
        self.W, self.b, self.stride, self.pad = W, b, int(stride), int(pad)
        self.x: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self._work = kernels.Workspace()

    def output_shape(self, x_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """(N, C_out, OH, OW) for an input of shape (N, C_in, H, W); ValueError naming the shapes otherwise."""
        c_in, c_out, fh, fw = self.W.shape
        if len(x_shape) != 4 or x_shape[1] != c_in:
            raise ValueError(f"Deconvolution with W of shape {self.W.shape} expects input (N, {c_in}, H, W), "
                             f"got {tuple(x_shape)}")
        oh = deconv_output_size(x_shape[2], fh, self.stride, self.pad)
        ow = deconv_output_size(x_shape[3], fw, self.stride, self.pad)
        return x_shape[0], c_out, oh, ow

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, C_in, H, W) -> (N, C_out, OH, OW), OH = (H - 1)*stride - 2*pad + FH (likewise OW)."""
        x = np.asarray(x)
        out_shape = self.output_shape(x.shape)
        out, _, _ = kernels.conv_backward(x, out_shape, self.W, self.stride, self.pad, self._work, need_dw=False)
        out += self.b.reshape(1, -1, 1, 1)
        self.x = x
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, C_out, OH, OW) -> dx (N, C_in, H, W); sets dW (C_in, C_out, FH, FW) and db (C_out,)."""
        expected = self.output_shape(self.x.shape)
        if dout.shape != expected:
            raise ValueError(f"Deconvolution.backward: dout has shape {dout.shape}, expected {expected}")
        dx, self.dW = kernels.deconv_backward(dout, self.x, self.W, self.stride, self.pad, self._work)
        self.db = kernels.channel_sums(dout.transpose(0, 2, 3, 1).reshape(-1, dout.shape[1]))
        return dx


def deconv_reference(x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The plain-loop specification of :class:`Deconvolution`'s forward (slow; for tests).

    x (N, C_in, H, W), W (C_in, C_out, FH, FW), b (C_out,) -> (N, C_out, OH, OW): every input pixel scatters
    its kernel-weighted copy into a padded output, whose border of ``pad`` is then cut off.
    """
    n, c_in, h, w = x.shape
    _, c_out, fh, fw = W.shape
    oh, ow = deconv_output_size(h, fh, stride, pad), deconv_output_size(w, fw, stride, pad)
    full = np.zeros((n, c_out, oh + 2 * pad, ow + 2 * pad), dtype=np.result_type(x, W))
    for k in range(n):
        for c in range(c_in):
            for i in range(h):
                for j in range(w):
                    for o in range(c_out):
                        for p in range(fh):
                            for q in range(fw):
                                full[k, o, i * stride + p, j * stride + q] += x[k, c, i, j] * W[c, o, p, q]
    out = full[:, :, pad:pad + oh, pad:pad + ow]
    return out + b.reshape(1, c_out, 1, 1)


class LeakyRelu:
    """y = x where x > 0, alpha * x elsewhere; dx = dout * (1 or alpha).

    Args:
        alpha: the negative slope, a finite number >= 0 (0.2 as in DCGAN's discriminator).

    Forward keeps the local slope (1 or alpha, in x's dtype and memory order) for backward: two products
    instead of two selects, several times faster than ``np.where`` on large activations.
    """

    def __init__(self, alpha: float = 0.2) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)) \
                or not math.isfinite(alpha) or alpha < 0:
            raise ValueError(f"LeakyRelu: alpha (the negative slope) must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)
        self.slope: np.ndarray | None = None  # dy/dx: 1 where x > 0, alpha elsewhere

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape, float -> the same shape and dtype."""
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"LeakyRelu expects a floating-point input, got dtype {x.dtype}")
        keep = np.greater(x, 0)
        slope = np.logical_not(keep).astype(x.dtype)  # 1 where x <= 0 (NaN too), else 0
        slope *= x.dtype.type(self.alpha)
        slope += keep  # exactly 1 where x > 0, exactly alpha elsewhere
        self.slope = slope
        return x * slope

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the forward output's shape -> dx of that shape."""
        if np.shape(dout) != self.slope.shape:
            raise ValueError(f"LeakyRelu.backward: dout has shape {np.shape(dout)}, forward input had "
                             f"{self.slope.shape}")
        return dout * self.slope


class Tanh:
    """y = tanh(x); dx = dout * (1 - y^2)."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape -> the same shape, values in [-1, 1]."""
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: the forward output's shape -> dx of that shape."""
        if np.shape(dout) != self.out.shape:
            raise ValueError(f"Tanh.backward: dout has shape {np.shape(dout)}, forward output had {self.out.shape}")
        return dout * (1 - self.out * self.out)


class SigmoidWithLoss:
    """Sigmoid followed by the binary cross-entropy, computed from the logits.

    ``forward(x, t)``: logits x and targets t in [0, 1] of the same shape (e.g. (N, 1)); returns the mean over
    all elements of  max(x, 0) - x*t + log(1 + exp(-|x|)),  which is finite for any finite logit (±1000 too).
    ``backward(dout=1)``: dout * (sigmoid(x) - t) / x.size, of x's shape and dtype.
    """

    def __init__(self) -> None:
        self.loss = None
        self.y: np.ndarray | None = None
        self.t: np.ndarray | None = None

    def forward(self, x: np.ndarray, t: np.ndarray):
        x = np.asarray(x)
        t = np.asarray(t)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"SigmoidWithLoss: logits must be floating point, got dtype {x.dtype}")
        if x.size == 0:
            raise ValueError(f"SigmoidWithLoss: empty logits of shape {x.shape}")
        if t.shape != x.shape:
            raise ValueError(f"SigmoidWithLoss: target shape {t.shape} differs from logits shape {x.shape}")
        if not (t.dtype == np.bool_ or np.issubdtype(t.dtype, np.floating) or np.issubdtype(t.dtype, np.integer)):
            raise TypeError(f"SigmoidWithLoss: targets must be real numbers in [0, 1], got dtype {t.dtype}")
        t = t.astype(x.dtype, copy=False)
        bad = ~((t >= 0) & (t <= 1))  # True for NaN too
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"SigmoidWithLoss: targets must lie in [0, 1]; got {t[where]} at index {where} "
                             f"(of {int(bad.sum())} bad values)")
        per_element = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        self.y, self.t = sigmoid(x), t
        self.loss = per_element.mean(dtype=x.dtype)
        return self.loss

    def backward(self, dout=1) -> np.ndarray:
        dx = self.y - self.t
        dx *= np.asarray(dout, dtype=dx.dtype) / dx.size
        return dx
