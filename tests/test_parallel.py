"""common.parallel.DataParallel: a batch split across parameter-sharing copies of a network, one thread each."""

from __future__ import annotations

import numpy as np
import pytest

from ch07_cnn.simple_convnet import SimpleConvNet
from ch08_deep.deep_convnet import DeepConvNet
from common.layers import Dropout
from common.multi_layer_net_extend import MultiLayerNetExtend
from common.network import batched_accuracy
from common.optimizer import Adam
from common.parallel import DataParallel


def _batch(n: int, seed: int = 0, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)).astype(dtype), rng.integers(0, 10, n)


def _small_convnet(dtype=np.float64) -> SimpleConvNet:
    np.random.seed(1)
    return SimpleConvNet(conv_param={"filter_num": 4, "filter_size": 5, "pad": 0, "stride": 1}, hidden_size=16,
                         dtype=dtype)


@pytest.mark.parametrize("workers, n", [(2, 10), (3, 7), (4, 4)])
def test_gradient_and_loss_equal_the_whole_batch(workers, n):
    """Uneven parts (7 over 3 workers: 2, 3, 2) are weighted by their size: the mean loss of the whole batch."""
    x, t = _batch(n)
    plain = _small_convnet()
    expected = plain.gradient(x, t)
    expected = {key: g.copy() for key, g in expected.items()}
    loss = float(plain.last_layer.loss)
    split = DataParallel(_small_convnet(), workers)
    grads = split.gradient(x, t)
    assert grads.keys() == expected.keys()
    for key, g in expected.items():
        np.testing.assert_allclose(grads[key], g, rtol=1e-10, atol=1e-13)
        assert grads[key].dtype == g.dtype
    assert split.last_layer.loss == pytest.approx(loss, rel=1e-12)


def test_updates_reach_every_copy_and_training_matches_one_copy():
    x, t = _batch(12, seed=2)
    plain, split = _small_convnet(), DataParallel(_small_convnet(), 2)
    opt_plain, opt_split = Adam(lr=0.01), Adam(lr=0.01)
    for _ in range(3):
        opt_plain.update(plain.params, plain.gradient(x, t))
        opt_split.update(split.params, split.gradient(x, t))
    assert split.params is split.network.params
    assert all(split.copies[1].params[key] is p for key, p in split.params.items())
    assert split.copies[1].layers["Conv1"].W is split.params["W1"]
    for key, p in plain.params.items():
        np.testing.assert_allclose(split.params[key], p, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(split.predict(x[:3]), split.network.predict(x[:3]), rtol=1e-12, atol=1e-14)


def test_dropout_masks_are_reproducible_and_differ_between_copies():
    def build():
        np.random.seed(4)  # the weights
        return DataParallel(DeepConvNet(dtype=np.float32, rng=np.random.default_rng(3)), 2)

    x, t = _batch(8, dtype=np.float32)
    first, second = build(), build()
    g1, g2 = first.gradient(x, t), second.gradient(x, t)
    for key in g1:
        np.testing.assert_array_equal(g1[key], g2[key])
    masks = [c.layers["Dropout1"].mask for c in first.copies]
    assert masks[0].shape == masks[1].shape == (4, 50)
    assert not np.array_equal(masks[0], masks[1])
    assert all(isinstance(c.layers["Dropout1"], Dropout) for c in first.copies)


def test_a_batch_smaller_than_the_workers_runs_on_the_network_itself():
    x, t = _batch(1)
    plain, split = _small_convnet(), DataParallel(_small_convnet(), 2)
    expected = {key: g.copy() for key, g in plain.gradient(x, t).items()}
    for key, g in split.gradient(x, t).items():
        np.testing.assert_array_equal(g, expected[key])


def test_batch_normalisation_and_bad_arguments_are_refused():
    bn = MultiLayerNetExtend(784, [10, 10], 10, use_batchnorm=True)
    with pytest.raises(ValueError, match=r"batch normalisation \(\['BatchNorm1', 'BatchNorm2'\]\)"):
        DataParallel(bn, 2)
    for workers in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="workers must be a positive int"):
            DataParallel(_small_convnet(), workers)
    with pytest.raises(TypeError, match="needs a network with params"):
        DataParallel(object(), 2)
    x, t = _batch(4)
    with pytest.raises(ValueError, match="4 inputs but 3 targets"):
        DataParallel(_small_convnet(), 2).gradient(x, t[:3])


def test_spread_splits_only_networks_it_can(monkeypatch):
    """The training scripts' policy: two or more threads and no batch normalisation (also none inside a residual
    block) -> DataParallel with one BLAS thread per worker; otherwise the network itself, threads untouched."""
    from ch08_deep.residual import SmallResNet
    from common import parallel

    calls = []
    monkeypatch.setattr(parallel, "set_threads", lambda n: calls.append(n) or n)
    net = _small_convnet()
    assert parallel.spread(net, 1) is net and calls == []
    wrapped = parallel.spread(net, 3)
    assert isinstance(wrapped, DataParallel) and wrapped.workers == 3 and calls == [1]
    resnet = SmallResNet()
    assert parallel._norm_layers(resnet)  # its batch normalisation sits inside the blocks
    assert parallel.spread(resnet, 2) is resnet and calls == [1]
    plain = object()
    assert parallel.spread(plain, 2) is plain and calls == [1]  # not a network: left alone, threads untouched
    monkeypatch.setattr(parallel, "set_threads", lambda n: None)  # threads not controllable
    assert parallel.spread(net, 2) is net


def _record_predict_calls(split: DataParallel) -> list[tuple[int, int, bool]]:
    """Wrap every copy's predict to record (copy index, samples, train_flg) of each call."""
    calls = []
    for k, net in enumerate(split.copies):
        def spy(x, train_flg=False, _k=k, _original=net.predict):
            calls.append((_k, len(x), bool(train_flg)))
            return _original(x, train_flg)
        net.predict = spy
    return calls


@pytest.mark.parametrize("workers, n, sizes", [(2, 10, [5, 5]), (3, 7, [2, 3, 2]), (4, 4, [1, 1, 1, 1])])
def test_predict_splits_the_batch_over_the_workers_and_equals_the_network(workers, n, sizes):
    x, t = _batch(n, seed=4)
    plain = _small_convnet()
    expected = plain.predict(x)
    split = DataParallel(_small_convnet(), workers)
    calls = _record_predict_calls(split)
    scores = split.predict(x)
    assert sorted(calls) == [(k, size, False) for k, size in enumerate(sizes)]
    assert scores.shape == expected.shape == (n, 10) and scores.dtype == expected.dtype
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-14)
    calls.clear()
    assert batched_accuracy(split, x, t, batch_size=n) == batched_accuracy(plain, x, t, batch_size=n)
    assert [size for _, size, _ in sorted(calls)] == sizes


def test_predict_in_training_mode_or_on_a_tiny_batch_is_the_networks_own():
    """Training mode (dropout's masks) and fewer samples than workers: one call of the network itself, whole batch."""
    x, _ = _batch(5, seed=5)
    plain, split = _small_convnet(), DataParallel(_small_convnet(), 2)
    calls = _record_predict_calls(split)
    np.testing.assert_array_equal(split.predict(x, train_flg=True), plain.predict(x, train_flg=True))
    np.testing.assert_array_equal(split.predict(x[:1]), plain.predict(x[:1]))
    assert calls == [(0, 5, True), (0, 1, False)]


def test_a_split_float32_deepconvnet_predicts_the_same_classes():
    x, t = _batch(12, seed=6, dtype=np.float32)
    np.random.seed(7)  # the weights come from NumPy's global generator
    plain = DeepConvNet(dtype=np.float32)
    np.random.seed(7)
    split = DataParallel(DeepConvNet(dtype=np.float32), 2)
    expected = plain.predict(x)
    scores = split.predict(x)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(scores.argmax(axis=1), expected.argmax(axis=1))
