"""dataset.mnist's book API: load_mnist / load_fashion_mnist shapes and dtypes, strict flags, init/download,
main(), the real cache when present, and the public names."""

from __future__ import annotations

import dataclasses
import gzip
import inspect
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from mnist_helpers import (
    FILES,
    KEYS,
    N_TEST,
    N_TRAIN,
    fake_wheel,
    idx_bytes,
    make_arrays,
    tiny_spec,
    wheel_source,
    write_gz,
)

from dataset import loader, mnist, sources

pytestmark = pytest.mark.usefixtures("isolated")  # data under tmp_path, no network (tests/conftest.py)


# ---------------------------------------------------------------------------------------------------------
# The book's API
# ---------------------------------------------------------------------------------------------------------


def test_book_names_and_signatures() -> None:
    assert mnist.key_file == FILES
    assert mnist.save_file == os.path.join(mnist.dataset_dir, "mnist.pkl")
    assert callable(mnist.init_mnist) and callable(mnist.download_mnist)
    for fn in (mnist.load_mnist, mnist.load_fashion_mnist):
        params = inspect.signature(fn).parameters
        assert [(p.name, p.default) for p in params.values()] == [
            ("normalize", True),
            ("flatten", True),
            ("one_hot_label", False),
        ]
    assert issubclass(mnist.MnistUnavailableError, RuntimeError)
    assert list(mnist.MNIST_MIRRORS) == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]


@pytest.mark.parametrize(
    "normalize, flatten, one_hot_label", list(itertools.product([True, False], repeat=3))
)
def test_load_mnist_shapes_and_dtypes(isolated: Path, monkeypatch, normalize, flatten, one_hot_label) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays, cache_name="mnist.pkl"))
    (x_train, t_train), (x_test, t_test) = mnist.load_mnist(
        normalize=normalize, flatten=flatten, one_hot_label=one_hot_label
    )
    assert (isolated / "mnist.pkl").is_file()
    for x, t, n, split in ((x_train, t_train, N_TRAIN, "train"), (x_test, t_test, N_TEST, "test")):
        assert x.shape == ((n, 784) if flatten else (n, 1, 28, 28))
        assert x.dtype == (np.float32 if normalize else np.uint8)
        pixels = arrays[f"{split}_img"]
        if normalize:
            assert 0.0 <= x.min() and x.max() <= 1.0
            np.testing.assert_array_equal(x.reshape(n, 784), pixels.astype(np.float32) / np.float32(255))
        else:
            np.testing.assert_array_equal(x.reshape(n, 784), pixels)
        assert x.flags.writeable
        labels = arrays[f"{split}_label"]
        if one_hot_label:
            assert t.shape == (n, 10) and t.dtype == np.float32
            np.testing.assert_array_equal(t.argmax(axis=1), labels)
            np.testing.assert_array_equal(t.sum(axis=1), np.ones(n, np.float32))
        else:
            assert t.shape == (n,) and t.dtype == np.uint8
            np.testing.assert_array_equal(t, labels)


def test_load_fashion_mnist_uses_system_folder_and_own_cache(
    isolated: Path, tmp_path: Path, monkeypatch
) -> None:
    arrays = make_arrays(seed=7)
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    write_gz(debian, arrays)
    spec = tiny_spec(
        arrays,
        name="Fashion",
        cache_name="fashion-mnist.pkl",
        subdir="fashion-mnist",
        local_dirs=(str(debian),),
    )
    monkeypatch.setattr(mnist, "FASHION_MNIST", spec)
    (x_train, t_train), (x_test, t_test) = mnist.load_fashion_mnist(flatten=False, one_hot_label=True)
    assert x_train.shape == (N_TRAIN, 1, 28, 28) and x_train.dtype == np.float32
    assert t_test.shape == (N_TEST, 10) and t_test.dtype == np.float32
    assert (isolated / "fashion-mnist.pkl").is_file()
    assert not (isolated / "mnist.pkl").exists()
    assert mnist.FASHION_SYSTEM_DIRS == ("/usr/share/datasets/fashion-mnist",)
    assert mnist.FASHION_MNIST.cache_name != mnist.MNIST.cache_name


def test_fashion_error_points_at_its_subfolder(isolated: Path, monkeypatch) -> None:
    monkeypatch.setattr(mnist, "FASHION_MNIST", tiny_spec(make_arrays(), subdir="fashion-mnist"))
    with pytest.raises(mnist.MnistUnavailableError, match="fashion-mnist"):
        mnist.load_fashion_mnist()


def test_init_and_download_mnist(isolated: Path, tmp_path: Path, monkeypatch) -> None:
    arrays = make_arrays()
    spec = tiny_spec(
        arrays, cache_name="mnist.pkl", wheel=wheel_source(fake_wheel(tmp_path / "wheels", arrays))
    )
    monkeypatch.setattr(mnist, "MNIST", spec)
    mnist.init_mnist()
    assert (isolated / "mnist.pkl").is_file()
    mnist.download_mnist()  # data came from the wheel: the IDX files are written from the verified arrays
    for key in KEYS:
        assert gzip.decompress((isolated / FILES[key]).read_bytes()) == idx_bytes(arrays[key])
    (isolated / "mnist.pkl").unlink()
    assert mnist.prepare(spec).source == f"local files in {isolated}"


def test_main_prints_shapes_counts_and_verified(isolated: Path, monkeypatch, capsys) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays))
    assert mnist.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("verified") == 4
    assert "train_img    shape (6, 784)" in out and "dtype uint8" in out
    assert "counts 0:1 1:1 2:1 3:1 4:1 5:1 6:0" in out
    monkeypatch.setattr(
        mnist, "FASHION_MNIST", tiny_spec(arrays, name="Fashion", cache_name="f.pkl", subdir="f")
    )
    assert mnist.main(["--fashion"]) == 1
    assert "Fashion could not be loaded" in capsys.readouterr().err


def test_real_mnist_cache_if_present(monkeypatch) -> None:
    """When the real cache has been prepared (python -m dataset.mnist), it loads as the book says."""
    cache = Path(mnist.__file__).resolve().parent / "mnist.pkl"
    if not cache.is_file():
        pytest.skip("real MNIST not prepared (run python -m dataset.mnist)")

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("only the cache may be read")

    for name in ("read_local", "fetch_from_mirror", "fetch_from_wheel"):
        monkeypatch.setattr(sources, name, forbidden)
    monkeypatch.setenv("DLFS_DATA_DIR", str(cache.parent))
    real = dataclasses.replace(mnist.MNIST, sha256=mnist.MNIST_SHA256)
    (x_train, t_train), (x_test, t_test) = mnist.load_dataset(real)
    assert x_train.shape == (60000, 784) and x_train.dtype == np.float32
    assert x_test.shape == (10000, 784) and t_test.dtype == np.uint8
    assert np.bincount(t_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert t_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


# ---------------------------------------------------------------------------------------------------------
# Strict flags
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["no", "False", "false", "", 1, 0, None, 1.0, np.array(True), [True]])
@pytest.mark.parametrize("name", ["normalize", "flatten", "one_hot_label"])
def test_flags_must_be_bools(monkeypatch, name: str, value: object) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the flags are checked before any data is loaded")

    monkeypatch.setattr(loader, "prepare", forbidden)
    for fn in (mnist.load_mnist, mnist.load_fashion_mnist):
        with pytest.raises(TypeError) as err:
            fn(**{name: value})
        message = str(err.value)
        assert f"{fn.__name__}: {name} must be True or False, got {value!r}" in message
        if isinstance(value, str):
            assert "would read as True" in message


def test_numpy_bools_are_accepted(isolated: Path, monkeypatch) -> None:
    arrays = make_arrays()
    write_gz(isolated, arrays)
    monkeypatch.setattr(mnist, "MNIST", tiny_spec(arrays))
    (x, t), _ = mnist.load_mnist(normalize=np.False_, flatten=np.bool_(False), one_hot_label=np.True_)
    assert x.dtype == np.uint8 and x.shape == (N_TRAIN, 1, 28, 28) and t.shape == (N_TRAIN, 10)


# ---------------------------------------------------------------------------------------------------------
# The module reads like the book's; everything that was public stays importable
# ---------------------------------------------------------------------------------------------------------


def test_public_names_stay_importable_from_dataset_mnist() -> None:
    names = """DatasetSpec FASHION_MNIST MNIST MnistUnavailableError WheelSource dataset_dir download_mnist init_mnist
        key_file load_dataset load_fashion_mnist load_mnist main prepare save_file KEYS train_num test_num img_dim
        img_size ENV_DATA_DIR USER_CACHE_NAME DOWNLOAD_TIMEOUT USER_AGENT MNIST_MIRRORS url_base MNIST_SHA256
        FASHION_MIRRORS FASHION_SHA256 FASHION_SYSTEM_DIRS IDX_IMAGES_MAGIC IDX_LABELS_MAGIC Arrays Split
        MNIST_WHEEL data_dir_from_env user_cache_dir parse_idx encode_idx Prepared""".split()
    namespace: dict[str, object] = {}
    exec("from dataset.mnist import " + ", ".join(names), namespace)  # noqa: S102 - the import is the test
    assert all(name in namespace for name in names)
    assert set(mnist.__all__) <= set(vars(mnist))
    assert (mnist.train_num, mnist.test_num, mnist.img_dim, mnist.img_size) == (60000, 10000, (1, 28, 28), 784)
    assert mnist.url_base == mnist.MNIST_MIRRORS[0]


def test_mnist_module_is_short_and_dataset_modules_are_small() -> None:
    folder = Path(mnist.__file__).resolve().parent
    text = (folder / "mnist.py").read_text()
    assert len(text.splitlines()) < 200
    assert text.index("def load_mnist") < text.index("def main")
    for path in folder.glob("*.py"):
        source = path.read_text()
        assert len(source.splitlines()) <= 400, path.name
        assert "os.replace" not in source and "mkstemp(" not in source.replace("tempfile.mkstemp(dir=folder", ""), (
            f"{path.name}: files are written through common.io.atomic_write only"
        )
