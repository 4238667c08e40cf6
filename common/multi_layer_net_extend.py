"""MultiLayerNet with optional batch normalization and dropout (chapter 6.3-6.4).

Each hidden block is Affine -> [BatchNorm] -> activation -> [Dropout]; the output is Affine -> SoftmaxWithLoss.
"""

from __future__ import annotations

import numpy as np

from common.layers import BatchNormalization, Dropout
from common.multi_layer_net import MultiLayerNet

# "np" too: the book's modules have no __all__, so `from ... import *` in its scripts also brought NumPy.
__all__ = ["MultiLayerNetExtend", "np"]


class MultiLayerNetExtend(MultiLayerNet):
    """A fully connected network with weight decay, dropout and batch normalization.

    Args (besides those of :class:`~common.multi_layer_net.MultiLayerNet`):
        use_dropout: add a Dropout layer after every hidden activation.
        dropout_ration: the drop probability (the book's spelling); ``dropout_ratio`` is accepted as well.
        use_batchnorm: add a BatchNormalization layer between every hidden Affine and its activation, with
            parameters ``gamma{i}`` (ones) and ``beta{i}`` (zeros) of shape (hidden_size_list[i-1],).

    Dropout and batch normalization run in training mode only when ``train_flg=True`` (``gradient`` and
    ``numerical_gradient`` use it; ``predict``, ``loss`` and ``accuracy`` default to test mode). Dropout is
    the book's non-inverted form and draws from NumPy's global generator (seed it with ``np.random.seed``).
    """

    def __init__(self, input_size: int, hidden_size_list: list[int], output_size: int, activation: str = "relu",
                 weight_init_std: float | str = "relu", weight_decay_lambda: float = 0, use_dropout: bool = False,
                 dropout_ration: float = 0.5, use_batchnorm: bool = False, dtype=np.float32, *,
                 dropout_ratio: float | None = None) -> None:
        if dropout_ratio is not None:
            if dropout_ration != 0.5 and dropout_ration != dropout_ratio:
                raise ValueError(f"dropout_ration={dropout_ration} and dropout_ratio={dropout_ratio} disagree; "
                                 "give only one")
            dropout_ration = dropout_ratio
        if not 0 <= dropout_ration < 1:
            raise ValueError(f"the dropout ratio must be in [0, 1), got {dropout_ration}")
        self.use_dropout = bool(use_dropout)
        self.dropout_ratio = float(dropout_ration)
        self.use_batchnorm = bool(use_batchnorm)
        super().__init__(input_size, hidden_size_list, output_size, activation=activation,
                         weight_init_std=weight_init_std, weight_decay_lambda=weight_decay_lambda, dtype=dtype)

    @property
    def dropout_ration(self) -> float:
        """The book's name of :attr:`dropout_ratio`."""
        return self.dropout_ratio

    def _add_hidden_extras(self, i: int) -> None:
        if self.use_batchnorm:
            size = self.hidden_size_list[i - 1]
            self.params[f"gamma{i}"] = np.ones(size, dtype=self.dtype)
            self.params[f"beta{i}"] = np.zeros(size, dtype=self.dtype)
            self.layers[f"BatchNorm{i}"] = BatchNormalization(self.params[f"gamma{i}"], self.params[f"beta{i}"])

    def _add_after_activation(self, i: int) -> None:
        if self.use_dropout:
            self.layers[f"Dropout{i}"] = Dropout(self.dropout_ratio)
