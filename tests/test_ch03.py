"""Chapter 2-3 scripts: perceptron gates, activation plots, MNIST display and inference, the weight trainer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ch03_network import (
    and_gate,
    mnist_show,
    nand_gate,
    neuralnet_mnist,
    neuralnet_mnist_batch,
    or_gate,
    relu,
    sig_step_compare,
    sigmoid,
    step_function,
    train_sample_weight,
    xor_gate,
)
from common.functions import sigmoid as sigmoid_fn
from common.functions import softmax

REPO = Path(__file__).resolve().parents[1]
INPUTS = [(0, 0), (1, 0), (0, 1), (1, 1)]


def figure_args(path: Path) -> list[str]:
    return ["--quick", "--no-show", "--save", str(path)]


def assert_png(path: Path) -> None:
    assert path.is_file()
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.size[0] > 10 and img.size[1] > 10


@pytest.mark.parametrize(
    ("module", "gate", "outputs"),
    [
        (and_gate, and_gate.AND, [0, 0, 0, 1]),
        (nand_gate, nand_gate.NAND, [1, 1, 1, 0]),
        (or_gate, or_gate.OR, [0, 1, 1, 1]),
        (xor_gate, xor_gate.XOR, [0, 1, 1, 0]),
    ],
)
def test_gate_truth_tables(module, gate, outputs, capsys):
    assert [gate(*xs) for xs in INPUTS] == outputs
    module.main(["--quick"])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{xs} -> {y}" for xs, y in zip(INPUTS, outputs, strict=True)]


def test_xor_is_and_of_nand_and_or():
    for x1, x2 in INPUTS:
        assert xor_gate.XOR(x1, x2) == and_gate.AND(nand_gate.NAND(x1, x2), or_gate.OR(x1, x2)) == (x1 ^ x2)


@pytest.mark.parametrize("module", [step_function, sigmoid, relu, sig_step_compare])
def test_activation_plots_write_png(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "plot.png"
    module.main(figure_args(out))
    assert_png(out)
    assert not (tmp_path / "figures").exists()


def test_activation_plot_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sigmoid.main(["--no-show"])
    assert_png(tmp_path / "figures" / "sigmoid.png")


def test_mnist_show_saves_first_training_image(fake_mnist, tmp_path, capsys):
    loader = fake_mnist(mnist_show)
    (x_train, t_train), _ = loader(normalize=False, flatten=True)
    out = tmp_path / "digit.png"
    path = mnist_show.main(figure_args(out))
    assert path == out
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [str(t_train[0]), "(784,)", "(28, 28)"]
    with Image.open(out) as img:
        np.testing.assert_array_equal(np.asarray(img), x_train[0].reshape(28, 28))


def test_img_show_rejects_bad_images(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        mnist_show.img_show(np.zeros(784, dtype=np.uint8), save=tmp_path / "a.png", show=False)
    with pytest.raises(TypeError, match="uint8"):
        mnist_show.img_show(np.zeros((28, 28), dtype=np.float32), save=tmp_path / "a.png", show=False)


def test_shipped_sample_weights():
    assert neuralnet_mnist.WEIGHT_FILE.is_file()
    network = neuralnet_mnist.init_network()
    assert sorted(network) == sorted(neuralnet_mnist.PARAM_SHAPES)
    for key, shape in neuralnet_mnist.PARAM_SHAPES.items():
        assert network[key].shape == shape
        assert network[key].dtype == np.float32


def test_predict_matches_the_formula_and_batches():
    network = neuralnet_mnist.init_network()
    rng = np.random.default_rng(0)
    x = rng.random((5, 784), dtype=np.float32)
    y = neuralnet_mnist.predict(network, x)
    assert y.shape == (5, 10) and y.dtype == np.float32
    z1 = sigmoid_fn(x @ network["W1"] + network["b1"])
    z2 = sigmoid_fn(z1 @ network["W2"] + network["b2"])
    np.testing.assert_allclose(y, softmax(z2 @ network["W3"] + network["b3"]), rtol=1e-5)
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(neuralnet_mnist.predict(network, x[2]), y[2], rtol=1e-5)
    with pytest.raises(ValueError, match="784"):
        neuralnet_mnist.predict(network, x[:, :100])


def test_init_network_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_sample_weight"):
        neuralnet_mnist.init_network(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, W1=np.zeros((3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="W1"):
        neuralnet_mnist.init_network(bad)


def test_inference_one_by_one_equals_batches(fake_mnist, capsys):
    fake_mnist(neuralnet_mnist)
    single = neuralnet_mnist.main(["--quick"])
    batch = neuralnet_mnist_batch.main(["--quick", "--batch-size", "7"])
    _, (x_test, t_test) = fake_mnist(neuralnet_mnist)()
    network = neuralnet_mnist.init_network()
    expected = np.mean(neuralnet_mnist.predict(network, x_test).argmax(axis=1) == t_test)
    assert single == batch == pytest.approx(expected)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"Accuracy:{single}", f"Accuracy:{batch}"]


def test_train_sample_weight_quick_is_reproducible(fake_mnist, tmp_path):
    fake_mnist(train_sample_weight, neuralnet_mnist)
    out1, out2 = tmp_path / "w1.npz", tmp_path / "w2.npz"
    acc = train_sample_weight.main(["--quick", "--epochs", "10", "--out", str(out1)])
    train_sample_weight.main(["--quick", "--epochs", "10", "--out", str(out2)])
    first, second = neuralnet_mnist.init_network(out1), neuralnet_mnist.init_network(out2)
    for key in neuralnet_mnist.PARAM_SHAPES:
        assert first[key].dtype == np.float32
        np.testing.assert_array_equal(first[key], second[key])
    assert acc > 0.9  # the synthetic classes are easy: chance is 0.1
    assert acc == neuralnet_mnist_batch.main(["--weights", str(out1), "--quick"])


def test_scripts_run_as_files_from_any_directory(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "ch03_network" / "xor_gate.py")], cwd=tmp_path,
                            capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.splitlines()[-1] == "(1, 1) -> 0"
