"""The book's layers (chapters 5-7): each has ``forward`` and ``backward(dout)``.

Layers hold *references* to their parameter arrays (the optimizer updates them in place) and store the
gradients in attributes (``dW``, ``db``, ``dgamma``, ``dbeta``). Every buffer takes the dtype of the input,
so a float32 network stays float32 and a float64 gradient check computes in float64.

Notation: N batch, C channels, H x W input, FN filters, FH x FW filter/pool window, OH x OW output.
"""

from __future__ import annotations

import numpy as np

from common.functions import labels_from_target, log_softmax, sigmoid
from common.util import conv_output_size, im2col, im2col_nhwc, offset_slice, pad_hw

__all__ = [
    "MulLayer",
    "AddLayer",
    "Relu",
    "Sigmoid",
    "Affine",
    "SoftmaxWithLoss",
    "Dropout",
    "BatchNormalization",
    "Convolution",
    "Pooling",
]


def _int_view(a: np.ndarray) -> np.ndarray:
    """``a`` viewed as signed integers of the same width (its IEEE bit patterns)."""
    return a.view(np.dtype(f"i{a.dtype.itemsize}"))


def _keep_where(keep: np.ndarray, values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.where(keep, values, 0)`` for a bool ``keep`` and float ``values`` of the same shape, without branches.

    A masked select branches on every element and mispredicts about half the time on a random mask. Instead the
    mask becomes integers -1 (all bits set) or 0, written straight into the output, and is ANDed with the bit
    patterns of ``values``: the same numbers (exactly +0.0 where keep is False, the value itself, NaN included,
    where True), about 10x faster. The result has ``values``' memory order unless ``out`` (any float array of
    that shape and dtype, e.g. a strided slice) is given.
    """
    out = np.empty_like(values) if out is None else out
    bits = _int_view(out)
    np.negative(keep.view(np.int8), dtype=bits.dtype, out=bits)  # True -> -1, False -> 0
    np.bitwise_and(_int_view(values), bits, out=bits)
    return out


def _zero_where(zero: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.where(zero, 0, values)``, branch-free like :func:`_keep_where`."""
    out = np.empty_like(values)
    bits = _int_view(out)
    np.subtract(zero.view(np.uint8), 1, dtype=bits.dtype, out=bits)  # True -> 0, False -> -1
    np.bitwise_and(_int_view(values), bits, out=bits)
    return out


def _column_sums(d2: np.ndarray) -> np.ndarray:
    """Sum over the rows of (M, K) ``d2``, shape (K,): a BLAS matrix-vector product with a ones vector, about
    10x faster than ``d2.sum(axis=0)`` for the tall, narrow matrices of convolution backward."""
    return np.ones(d2.shape[0], dtype=d2.dtype) @ d2


class MulLayer:
    """z = x * y (chapter 5's multiplication node)."""

    def __init__(self) -> None:
        self.x = None
        self.y = None

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class AddLayer:
    """z = x + y (chapter 5's addition node)."""

    def __init__(self) -> None:
        pass

    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout * 1, dout * 1


class Relu:
    """max(0, x). ``backward`` returns a new array and never modifies ``dout`` (the book's did).

    Both directions keep the memory order of their input, so channels-last activations stay channels-last.
    """

    def __init__(self) -> None:
        self.mask: np.ndarray | None = None  # True where x <= 0, as in the book

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dx = dout where x > 0, exactly 0 elsewhere (np.where semantics, computed branch-free)."""
        dout = np.asarray(dout)
        if dout.shape == self.mask.shape and dout.dtype.kind == "f":
            return _zero_where(self.mask, dout)
        return np.where(self.mask, 0, dout).astype(dout.dtype, copy=False)


class Sigmoid:
    """y = 1 / (1 + exp(-x)); dx = dout * (1 - y) * y."""

    def __init__(self) -> None:
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1 - self.out) * self.out


class Affine:
    """y = x W + b, with N-D input flattened to (N, D) and its shape restored in ``backward``.

    Args:
        W: (D, M) weights.  b: (M,) bias.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b
        self.x: np.ndarray | None = None
        self.original_x_shape: tuple[int, ...] | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (N, ...) with prod(...) == D. Returns (N, M)."""
        self.original_x_shape = x.shape
        x2 = x.reshape(x.shape[0], -1)  # a copy only when x is not C-contiguous (e.g. channels-last pooling output)
        if x2.shape[1] != self.W.shape[0]:
            raise ValueError(
                f"Affine: input of shape {x.shape} has {x2.shape[1]} features per sample, "
                f"but W has shape {self.W.shape} (expects {self.W.shape[0]})"
            )
        self.x = x2
        out = x2 @ self.W
        out += self.b
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (N, M). Sets dW (D, M) and db (M,); returns dx of the forward input's shape."""
        self.dW = self.x.T @ dout
        self.db = _column_sums(dout)
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
        if x.ndim != 2:
            raise ValueError(f"SoftmaxWithLoss expects logits of shape (N, K), got {x.shape}")
        t = np.asarray(t)
        if t.shape[0] != x.shape[0]:
            raise ValueError(f"SoftmaxWithLoss: logits {x.shape} and target {t.shape} have different batch sizes")
        logp = log_softmax(x)
        self.y = np.exp(logp)
        n = x.shape[0]
        if t.shape == x.shape:
            self.t = t
            self.loss = -np.sum(t * logp, dtype=x.dtype) / n
        else:
            self.t = labels_from_target(t, x.shape[1])
            self.loss = -np.sum(logp[np.arange(n), self.t], dtype=x.dtype) / n
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
    """

    def __init__(self, dropout_ratio: float = 0.5, inverted: bool = False,
                 rng: np.random.Generator | None = None) -> None:
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f"dropout_ratio must be in [0, 1), got {dropout_ratio}")
        self.dropout_ratio = dropout_ratio
        self.inverted = inverted
        self.rng = rng
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        keep = 1 - self.dropout_ratio
        if train_flg:
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
    """

    eps = 1e-6

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

    def _to_2d(self, x: np.ndarray) -> np.ndarray:
        d = self.gamma.size
        if x.ndim == 2 and x.shape[1] == d:
            return x
        if x.ndim == 4 and x.shape[1] * x.shape[2] * x.shape[3] == d:
            return x.reshape(x.shape[0], -1)
        if x.ndim == 4 and x.shape[1] == d:
            return x.transpose(0, 2, 3, 1).reshape(-1, d)  # (N*H*W, C)
        raise ValueError(
            f"BatchNormalization with gamma of size {d} cannot normalise input of shape {x.shape}: expected "
            f"(N, {d}), (N, C, H, W) with C*H*W == {d} (per activation) or C == {d} (per channel)"
        )

    def _from_2d(self, y: np.ndarray) -> np.ndarray:
        shape = self.input_shape
        if len(shape) == 4 and shape[1] == self.gamma.size and shape[1] * shape[2] * shape[3] != self.gamma.size:
            n, c, h, w = shape
            return y.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return y.reshape(shape)

    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        self.input_shape = x.shape
        x2 = self._to_2d(x)
        gamma = self.gamma.reshape(-1)
        beta = self.beta.reshape(-1)
        if self.running_mean is None:
            self.running_mean = np.zeros(gamma.size, dtype=x.dtype)
            self.running_var = np.zeros(gamma.size, dtype=x.dtype)
        if train_flg:
            mu = x2.mean(axis=0)
            xc = x2 - mu
            var = np.mean(xc ** 2, axis=0)
            std = np.sqrt(var + self.eps)
            xn = xc / std
            self.batch_size, self.xc, self.xn, self.std = x2.shape[0], xc, xn, std
            m = self.momentum
            self.running_mean *= m
            self.running_mean += (1 - m) * mu
            self.running_var *= m
            self.running_var += (1 - m) * var
        else:
            std = np.sqrt(self.running_var + self.eps)
            xn = (x2 - self.running_mean) / std
            self.batch_size, self.xc, self.xn, self.std = None, None, xn, std
        return self._from_2d(gamma * xn + beta)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        d2 = self._to_2d(dout)
        gamma = self.gamma.reshape(-1)
        self.dbeta = d2.sum(axis=0).reshape(self.beta.shape)
        self.dgamma = np.sum(self.xn * d2, axis=0).reshape(self.gamma.shape)
        dxn = gamma * d2
        if self.batch_size is None:  # after a test-mode forward the statistics are constants
            return self._from_2d(dxn / self.std)
        # dx = (dxn - mean(dxn) - xn * mean(dxn * xn)) / std
        dx = (dxn - dxn.mean(axis=0) - self.xn * np.mean(dxn * self.xn, axis=0)) / self.std
        return self._from_2d(dx)


def _check_conv_input(x: np.ndarray, W: np.ndarray, stride: int, pad: int) -> None:
    if x.ndim != 4:
        raise ValueError(f"Convolution expects input (N, C, H, W), got shape {x.shape}")
    if x.shape[1] != W.shape[1]:
        raise ValueError(
            f"Convolution: input has {x.shape[1]} channels (shape {x.shape}) but filters W have shape "
            f"{W.shape}, expecting C = {W.shape[1]}"
        )
    fh, fw = W.shape[2:]
    if x.shape[2] + 2 * pad < fh or x.shape[3] + 2 * pad < fw:
        raise ValueError(
            f"Convolution: filter {fh}x{fw} larger than the padded input {x.shape[2] + 2 * pad}x"
            f"{x.shape[3] + 2 * pad} (input {x.shape}, pad={pad}, stride={stride})"
        )


class Convolution:
    """2-D cross-correlation as one matrix product of a column matrix with the flattened filters: the book's
    im2col algorithm, computed channels-last.

        out[n, f, i, j] = b[f] + sum_{c, p, q} xpad[n, c, i*stride + p, j*stride + q] * W[f, c, p, q]

    Args:
        W: (FN, C, FH, FW) filters.  b: (FN,) bias.  stride, pad: ints.

    Inside the layer images are viewed as (N, H, W, C) and the column matrix has rows (n, i, j) and columns
    (p, q, c) (:func:`common.util.im2col_nhwc`): building it copies runs of FW*C contiguous numbers, and the
    (N*OH*OW, FN) product already is the output in (N, OH, OW, FN) order, returned as an (N, FN, OH, OW)
    transposed view. ReLU and pooling keep that memory order, so the next convolution reads channels-last
    input without a transposition. Memory: the column matrix, N*OH*OW*FH*FW*C numbers (45 MB for
    DeepConvNet's second layer at batch 100), is kept for backward and its buffer reused by the next forward.

    ``col`` and ``col_W`` give the book's matrices (columns in (c, fh, fw) order; ``col @ col_W + b`` is the
    output in (N*OH*OW, FN) layout); ``col`` is rebuilt from ``x`` on each access.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        if W.ndim != 4:
            raise ValueError(f"Convolution filters must be (FN, C, FH, FW), got shape {W.shape}")
        self.W, self.b, self.stride, self.pad = W, b, int(stride), int(pad)
        self.x: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None
        self._col: np.ndarray | None = None  # (N*OH*OW, FH*FW*C): the channels-last column matrix
        self._scratch: dict[str, np.ndarray] = {}  # internal buffers kept between calls (never returned)

    def _buffer(self, name: str, shape: tuple[int, ...], dtype, order: str = "C") -> np.ndarray:
        """A zero-initialised scratch array kept between calls, reallocated when shape, dtype or order change.

        Reusing big buffers saves the page faults of fresh allocations (tens of MB per step); a padded input
        buffer keeps its zero border because only the interior is ever written.
        """
        buf = self._scratch.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype or not buf.flags[f"{order}_CONTIGUOUS"]:
            buf = self._scratch[name] = np.zeros(shape, dtype=dtype, order=order)
        return buf

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
        """x: (N, C, H, W) in any memory order -> (N, FN, OH, OW), a view of a channels-last array."""
        _check_conv_input(x, self.W, self.stride, self.pad)
        fn, c, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh = conv_output_size(h, fh, self.stride, self.pad)
        ow = conv_output_size(w, fw, self.stride, self.pad)
        x_nhwc = x.transpose(0, 2, 3, 1)  # (N, H, W, C) view
        if self.pad:
            hp, wp = h + 2 * self.pad, w + 2 * self.pad
            xp = self._buffer("xpad", (n, hp, wp, c), x.dtype)
            xp[:, self.pad:self.pad + h, self.pad:self.pad + w, :] = x_nhwc  # the border stays 0
        else:
            xp = np.ascontiguousarray(x_nhwc)  # x_nhwc itself when x is channels-last already
        # (N*OH*OW, FH*FW*C); with one channel stored column-major, so it is copied in runs of OW, not FW
        col = self._buffer("col", (n * oh * ow, fh * fw * c), x.dtype, order="F" if c == 1 else "C")
        im2col_nhwc(xp, fh, fw, self.stride, out=col)
        out = col @ self.W.transpose(2, 3, 1, 0).reshape(fh * fw * c, fn)  # (N*OH*OW, FN)
        out += self.b
        self.x, self._col = x, col
        return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, FN, OH, OW) -> dx (N, C, H, W) (a view of a channels-last array); sets dW (FN, C, FH, FW)
        and db (FN,).

        With d = dout as (N*OH*OW, FN): dW = col^T d (reusing the forward's column matrix) and db = the column
        sums of d. dx is col2im(d W_col^T), folded one kernel offset at a time. When a column-matrix row
        (FH*FW*C numbers) is wider than a row of d (FN), it is computed without that (N*OH*OW, FH*FW*C) matrix:
        for each kernel offset (p, q), dxpad[:, i*stride + p, j*stride + q, :] += d @ W[:, :, p, q].
        Memory: dx and one (N*OH*OW, C) partial product (kept between calls).
        """
        fn, c, fh, fw = self.W.shape
        n, _, h, w = self.x.shape
        oh, ow = dout.shape[2], dout.shape[3]
        s, p = self.stride, self.pad
        d2 = dout.transpose(0, 2, 3, 1).reshape(n * oh * ow, fn)  # free when dout is channels-last
        self.db = _column_sums(d2)
        dW = (self._col.T @ d2).reshape(fh, fw, c, fn)
        self.dW = np.ascontiguousarray(dW.transpose(3, 2, 0, 1))  # (FN, C, FH, FW)
        dxp = np.zeros((n, h + 2 * p, w + 2 * p, c), dtype=dout.dtype)
        if fh * fw * c <= fn:  # narrow rows: one product, dcol^T (FH*FW*C, N*OH*OW), folded plane by plane
            dcol_t = self.W.transpose(2, 3, 1, 0).reshape(fh * fw * c, fn) @ d2.T
            planes = dcol_t.reshape(fh, fw, c, n, oh, ow).transpose(0, 1, 3, 4, 5, 2)  # (FH, FW, N, OH, OW, C)
            for i in range(fh):
                for j in range(fw):
                    dxp[:, offset_slice(i, oh, s), offset_slice(j, ow, s), :] += planes[i, j]
        else:  # wide rows: FH*FW products of (N*OH*OW, C), no (N*OH*OW, FH*FW*C) matrix
            w_off = np.ascontiguousarray(self.W.transpose(2, 3, 0, 1))  # (FH, FW, FN, C)
            part = self._buffer("part", (n * oh * ow, c), dout.dtype)
            for i in range(fh):
                for j in range(fw):
                    np.matmul(d2, w_off[i, j], out=part)
                    dxp[:, offset_slice(i, oh, s), offset_slice(j, ow, s), :] += part.reshape(n, oh, ow, c)
        return dxp[:, p:p + h, p:p + w, :].transpose(0, 3, 1, 2)


class Pooling:
    """Max pooling over (pool_h, pool_w) windows. Padding (pad > 0) pads with -inf, so it never wins.

    forward: x (N, C, H, W) -> (N, C, OH, OW), a max over the pool_h*pool_w strided slices of x (one
    ``np.maximum`` per window offset), in x's memory order.
    pad may be at most half the window, so that every window holds at least one real value.
    backward: each window's gradient goes to exactly one maximum (the first in row-major window order),
    accumulated where windows overlap.
    """

    def __init__(self, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0) -> None:
        self.pool_h, self.pool_w, self.stride, self.pad = int(pool_h), int(pool_w), int(stride), int(pad)
        if self.stride < 1 or self.pad < 0 or 2 * self.pad > min(self.pool_h, self.pool_w):
            raise ValueError(
                f"Pooling {self.pool_h}x{self.pool_w} needs stride >= 1 and 0 <= pad <= half the window "
                f"(a window of padding only has no maximum); got stride={stride}, pad={pad}"
            )
        self.x: np.ndarray | None = None
        self.out: np.ndarray | None = None

    def _slices(self, oh: int, ow: int):
        """For every window offset (p, q), row-major: the index of that offset's element in every window,
        an (N, C, OH, OW) strided slice of the (padded) input."""
        for p in range(self.pool_h):
            for q in range(self.pool_w):
                yield (slice(None), slice(None), offset_slice(p, oh, self.stride), offset_slice(q, ow, self.stride))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4:
            raise ValueError(f"Pooling expects input (N, C, H, W), got shape {x.shape}")
        xp = pad_hw(x, self.pad, -np.inf)
        oh = conv_output_size(xp.shape[2], self.pool_h, self.stride)
        ow = conv_output_size(xp.shape[3], self.pool_w, self.stride)
        out = None
        for index in self._slices(oh, ow):
            out = np.copy(xp[index]) if out is None else np.maximum(out, xp[index], out=out)  # (N, C, OH, OW)
        self.x, self.out = x, out
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, C, OH, OW) -> dx (N, C, H, W).

        For each window offset: hit = (that slice of x == out) and no earlier offset of the window was hit;
        that slice of dx gets dout where hit. When windows do not overlap (stride >= window) every slice is
        written once, otherwise accumulated. Temporaries are (N, C, OH, OW), never a 6-D window array.
        """
        xp = pad_hw(self.x, self.pad, -np.inf)
        oh, ow = self.out.shape[2], self.out.shape[3]
        d = np.empty_like(self.out)
        np.copyto(d, dout)  # dout in the memory order of out (and x), so the loop below streams
        overlap = self.stride < self.pool_h or self.stride < self.pool_w
        dxp = np.zeros_like(xp)
        taken = None
        for index in self._slices(oh, ow):
            hit = xp[index] == self.out
            if taken is None:
                taken = hit
            else:
                hit &= ~taken
                taken |= hit
            if overlap:
                dxp[index] += _keep_where(hit, d)
            else:
                dxp[index] = _keep_where(hit, d)
        if self.pad == 0:
            return dxp
        return dxp[:, :, self.pad:self.pad + self.x.shape[2], self.pad:self.pad + self.x.shape[3]]
