"""common.optimizer: one and two steps against hand-written formulas, convergence on the book's f(x, y),
in-place updates, numbers rebound, frozen parameters, key and hyperparameter checks, make_optimizer."""

from __future__ import annotations

import numpy as np
import pytest

from common.layers import Affine
from common.optimizer import OPTIMIZERS, SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, make_optimizer

P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.3, -0.1, 2.0])
G2 = np.array([-0.2, 0.4, 1.0])
LR = 0.1
EPS = 1e-7


def two_steps(opt):
    """Apply G1 then G2 to a copy of P0; return the parameter after each step."""
    p = P0.copy()
    opt.update({"p": p}, {"p": G1})
    p1 = p.copy()
    opt.update({"p": p}, {"p": G2})
    return p1, p.copy()


def test_sgd_step():
    p1, p2 = two_steps(SGD(lr=LR))
    np.testing.assert_allclose(p1, P0 - LR * G1, rtol=1e-15)
    np.testing.assert_allclose(p2, P0 - LR * G1 - LR * G2, rtol=1e-15)


def test_momentum_two_steps():
    m = 0.9
    p1, p2 = two_steps(Momentum(lr=LR, momentum=m))
    v1 = -LR * G1
    v2 = m * v1 - LR * G2
    np.testing.assert_allclose(p1, P0 + v1, rtol=1e-14)
    np.testing.assert_allclose(p2, P0 + v1 + v2, rtol=1e-14)


def test_nesterov_two_steps():
    """The corrected form: p += m^2 v - (1 + m) lr g, then v = m v - lr g."""
    m = 0.9
    p1, p2 = two_steps(Nesterov(lr=LR, momentum=m))
    # step 1 (v = 0): p1 = p0 - (1 + m) lr g1, v1 = -lr g1
    np.testing.assert_allclose(p1, P0 - 1.9 * LR * G1, rtol=1e-14)
    v1 = -LR * G1
    np.testing.assert_allclose(p2, p1 + 0.81 * v1 - 1.9 * LR * G2, rtol=1e-14)


def test_adagrad_two_steps():
    p1, p2 = two_steps(AdaGrad(lr=LR))
    # first step: h = g1^2, so the step is lr * sign(g1) up to eps
    np.testing.assert_allclose(p1, P0 - LR * G1 / (np.abs(G1) + EPS), rtol=1e-14)
    np.testing.assert_allclose(p2, p1 - LR * G2 / (np.sqrt(G1 ** 2 + G2 ** 2) + EPS), rtol=1e-14)


def test_rmsprop_two_steps():
    d = 0.99
    p1, p2 = two_steps(RMSprop(lr=LR, decay_rate=d))
    h1 = (1 - d) * G1 ** 2
    h2 = d * h1 + (1 - d) * G2 ** 2
    np.testing.assert_allclose(p1, P0 - LR * G1 / (np.sqrt(h1) + EPS), rtol=1e-14)
    np.testing.assert_allclose(p2, p1 - LR * G2 / (np.sqrt(h2) + EPS), rtol=1e-14)


def test_adam_two_steps():
    """Bias correction folded into the step, as the docstring writes it:
    p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)."""
    lr, b1, b2 = 0.01, 0.9, 0.999
    p1, p2 = two_steps(Adam(lr=lr, beta1=b1, beta2=b2))
    m1, v1 = 0.1 * G1, 0.001 * G1 ** 2
    m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2 ** 2
    step1 = lr * np.sqrt(1 - b2) / (1 - b1) * m1 / (np.sqrt(v1) + EPS)
    step2 = lr * np.sqrt(1 - b2 ** 2) / (1 - b1 ** 2) * m2 / (np.sqrt(v2) + EPS)
    np.testing.assert_allclose(p1, P0 - step1, rtol=1e-12)
    np.testing.assert_allclose(p2, P0 - step1 - step2, rtol=1e-12)
    # the bias correction makes the first step about lr * sign(g)
    np.testing.assert_allclose(P0 - p1, lr * np.sign(G1), rtol=1e-4)


def test_adam_with_kept_scratch_is_the_books_three_lines_bit_for_bit():
    """Parameters of several sizes and dtypes share Adam's scratch buffers; five updates give exactly what
    the book's expressions give with fresh temporaries (float32 stays float32)."""
    rng = np.random.default_rng(3)
    shapes = {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (40, 20), "b2": (20,), "W3": (3,)}
    params = {k: rng.standard_normal(s).astype(np.float32 if k != "W3" else np.float64) for k, s in shapes.items()}
    book = {k: p.copy() for k, p in params.items()}
    m = {k: np.zeros_like(p) for k, p in book.items()}
    v = {k: np.zeros_like(p) for k, p in book.items()}
    opt = Adam(lr=0.01, beta1=0.8, beta2=0.99)
    for t in range(1, 6):
        grads = {k: rng.standard_normal(p.shape).astype(p.dtype) for k, p in params.items()}
        opt.update(params, grads)
        lr_t = 0.01 * np.sqrt(1.0 - 0.99 ** t) / (1.0 - 0.8 ** t)
        for k, g in grads.items():
            m[k] += (1 - 0.8) * (g - m[k])
            v[k] += (1 - 0.99) * (g * g - v[k])
            book[k] -= float(lr_t) * m[k] / (np.sqrt(v[k]) + 1e-7)
    for k, p in params.items():
        assert p.dtype == book[k].dtype
        np.testing.assert_array_equal(p, book[k], err_msg=k)


MINIMISE = [
    (SGD, 0.95),
    (Momentum, 0.1),
    (Nesterov, 0.1),
    (AdaGrad, 1.5),
    (RMSprop, 0.1),
    (Adam, 0.3),
]


@pytest.mark.parametrize("cls, lr", MINIMISE, ids=[c.__name__ for c, _ in MINIMISE])
def test_minimises_book_function(cls, lr):
    """f(x, y) = x^2 / 20 + y^2 from (-7, 2), the book's optimizer comparison, driven to near (0, 0)."""
    xy = np.array([-7.0, 2.0])
    opt = cls(lr=lr)
    for _ in range(300):
        opt.update({"xy": xy}, {"xy": np.array([xy[0] / 10, 2 * xy[1]])})
    assert np.hypot(*xy) < 1e-2


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_update_is_in_place_and_layers_see_it(name):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3)).astype(np.float32)
    b = np.zeros(3, dtype=np.float32)
    layer = Affine(W, b)
    params = {"W": W, "b": b}
    x = rng.standard_normal((5, 4)).astype(np.float32)
    y0 = layer.forward(x)
    layer.backward(np.ones_like(y0))
    opt = make_optimizer(name, lr=0.1)
    opt.update(params, {"W": layer.dW, "b": layer.db})
    assert params["W"] is W and layer.W is W and params["b"] is b
    assert W.dtype == np.float32 and b.dtype == np.float32
    assert not np.allclose(layer.forward(x), y0)  # the layer computes with the updated arrays
    np.testing.assert_allclose(layer.forward(x), x @ W + b, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_keys_of_grads_must_be_params_and_nothing_changes_on_error(name):
    opt = make_optimizer(name)
    params = {"W1": np.zeros(2), "b1": np.zeros(2)}
    with pytest.raises(ValueError, match="W2"):
        opt.update(params, {"W1": np.ones(2), "b1": np.ones(2), "W2": np.ones(2)})
    with pytest.raises(ValueError, match=r"\(3,\)"):
        opt.update(params, {"W1": np.ones(2), "b1": np.ones(3)})
    with pytest.raises(TypeError, match="b1"):
        opt.update(params, {"W1": np.ones(2), "b1": np.array(["a", "b"])})
    # every check runs before any parameter changes: W1 (valid, listed first) was not touched either
    np.testing.assert_array_equal(params["W1"], 0)
    np.testing.assert_array_equal(params["b1"], 0)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_params_missing_from_grads_are_frozen(name):
    """Transfer learning passes only the trainable parameters' gradients; the rest must stay as they are."""
    rng = np.random.default_rng(0)
    W, frozen = rng.standard_normal((3, 2)), rng.standard_normal(4)
    before = frozen.copy()
    params = {"W": W, "frozen": frozen}
    opt = make_optimizer(name, lr=0.1)
    for _ in range(3):
        opt.update(params, {"W": rng.standard_normal((3, 2))})
    assert params["frozen"] is frozen
    np.testing.assert_array_equal(frozen, before)
    assert not np.allclose(W, 0) and params["W"] is W
    for state in ("v", "h", "m"):
        assert "frozen" not in (getattr(opt, state, None) or {})  # no state for a parameter never updated


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_numbers_are_rebound_like_arrays_are_updated(name):
    """Python floats, NumPy scalars and 0-d arrays follow the same formulas as 1-element arrays."""
    kinds = {"py": -7.0, "np64": np.float64(-7.0), "np32": np.float32(-7.0), "zero_d": np.array(-7.0), "int": -7}
    arrays = {key: np.array([-7.0], dtype=np.float32 if key == "np32" else np.float64) for key in kinds}
    zero_d = kinds["zero_d"]
    opt_num, opt_arr = make_optimizer(name, lr=0.1), make_optimizer(name, lr=0.1)
    for _ in range(5):
        opt_num.update(kinds, {key: value / 10.0 for key, value in kinds.items()})
        opt_arr.update(arrays, {key: value / 10.0 for key, value in arrays.items()})
    for key, value in kinds.items():
        np.testing.assert_allclose(value, arrays[key][0], rtol=1e-6 if key == "np32" else 1e-15)
        assert value != -7.0
    assert type(kinds["py"]) is float and type(kinds["int"]) is float
    assert type(kinds["np64"]) is np.float64 and type(kinds["np32"]) is np.float32
    assert isinstance(kinds["zero_d"], np.ndarray) and kinds["zero_d"].ndim == 0
    assert zero_d == -7.0  # rebound: the caller's 0-d array is not modified


@pytest.mark.parametrize("bad, error, match", [
    (np.array([1, 2]), TypeError, "int64"),
    (np.array([True, False]), TypeError, "bool"),
    (np.array([1 + 1j, 2j]), TypeError, "complex"),
    ("abc", TypeError, "str"),
    (None, TypeError, "NoneType"),
    (True, TypeError, "bool"),
])
def test_parameters_that_cannot_be_updated(bad, error, match):
    with pytest.raises(error, match=match):
        SGD().update({"p": bad}, {"p": np.zeros(np.shape(bad)) if np.ndim(bad) else 0.0})


def test_read_only_parameter_and_non_dict_arguments():
    p = np.zeros(3)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        SGD().update({"p": p}, {"p": np.ones(3)})
    with pytest.raises(TypeError, match="dict"):
        SGD().update([np.zeros(3)], [np.ones(3)])


BAD_RATES = [(0, ValueError), (0.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
             (float("inf"), ValueError), ("0.1", TypeError), (None, TypeError), (True, TypeError),
             (np.array([0.1, 0.2]), TypeError), (1j, TypeError)]


@pytest.mark.parametrize("cls", [SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam])
@pytest.mark.parametrize("lr, error", BAD_RATES, ids=[repr(v) for v, _ in BAD_RATES])
def test_bad_learning_rates_rejected_in_constructor_and_setter(cls, lr, error):
    with pytest.raises(error, match="lr"):
        cls(lr=lr)
    opt = cls(lr=0.5)
    with pytest.raises(error, match="lr"):
        opt.lr = lr
    assert opt.lr == 0.5  # a rejected assignment changes nothing


def test_string_learning_rate_message_names_it():
    with pytest.raises(TypeError, match=r"lr must be a real number, got '0\.01' \(str\)"):
        make_optimizer("adam", lr="0.01")


@pytest.mark.parametrize("lr", [0.95, 0.1, 1.5, 0.3, 1e-6, 10 ** np.float64(-2.5), np.float32(0.01), np.array(0.02), 2])
def test_book_learning_rates_accepted_and_decay_assignment(lr):
    """The rates of the book's scripts (optimizer_compare_naive, hyperparameter_optimization's 10**uniform)."""
    opt = Adam(lr=lr)
    assert type(opt.lr) is float and opt.lr == pytest.approx(float(lr))
    opt.lr *= 0.5
    assert opt.lr == pytest.approx(float(lr) / 2)


@pytest.mark.parametrize("cls, name", [(Momentum, "momentum"), (Nesterov, "momentum"), (RMSprop, "decay_rate"),
                                       (Adam, "beta1"), (Adam, "beta2")])
def test_decay_factors_must_lie_in_unit_interval(cls, name):
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match=name):
            cls(**{name: bad})
    with pytest.raises(TypeError, match=name):
        cls(**{name: "0.9"})
    assert getattr(cls(**{name: 0.0}), name) == 0.0


@pytest.mark.parametrize("spelling, cls", [
    ("sgd", SGD), ("SGD", SGD), ("Momentum", Momentum), ("NESTEROV", Nesterov),
    ("AdaGrad", AdaGrad), ("adagrad", AdaGrad), ("RMSprop", RMSprop), ("rmsprop", RMSprop), ("Adam", Adam),
])
def test_make_optimizer_case_insensitive(spelling, cls):
    assert type(make_optimizer(spelling)) is cls


def test_make_optimizer_passes_parameters_and_rejects_unknown_names():
    opt = make_optimizer("Adam", lr=0.002, beta1=0.8)
    assert (opt.lr, opt.beta1, opt.beta2) == (0.002, 0.8, 0.999)
    with pytest.raises(ValueError, match="adamw"):
        make_optimizer("adamw")
    with pytest.raises(TypeError, match="None"):
        make_optimizer(None)


def test_book_defaults():
    assert SGD().lr == 0.01
    assert (Momentum().lr, Momentum().momentum) == (0.01, 0.9)
    assert (Nesterov().lr, Nesterov().momentum) == (0.01, 0.9)
    assert AdaGrad().lr == 0.01
    assert (RMSprop().lr, RMSprop().decay_rate) == (0.01, 0.99)
    assert (Adam().lr, Adam().beta1, Adam().beta2) == (0.001, 0.9, 0.999)
