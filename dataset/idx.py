"""The IDX file format of MNIST (gzip-compressed), read with a hard limit on what is decompressed.

An IDX file is a big-endian header (magic 2051 + count, rows, cols for images; magic 2049 + count for labels)
followed by one unsigned byte per pixel or label. Its size is therefore known before reading; a ``.gz`` file
that decompresses to more than that is rejected as soon as the surplus byte appears (a gzip bomb of a few MB
never expands to gigabytes in memory).
"""

from __future__ import annotations

import gzip
import struct
import zlib
from typing import BinaryIO

import numpy as np

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


def idx_size(*, images: bool, count: int, rows: int = 28, cols: int = 28) -> int:
    """Exact size in bytes of an uncompressed IDX file with ``count`` records."""
    return (16 + count * rows * cols) if images else (8 + count)


def max_gz_size(raw_size: int) -> int:
    """A generous bound on the compressed size of ``raw_size`` bytes (gzip's stored blocks add ~0.01 %)."""
    return raw_size + raw_size // 100 + 65536


def parse_idx(data: bytes, *, images: bool, count: int, rows: int = 28, cols: int = 28) -> np.ndarray:
    """Decode one uncompressed IDX file into uint8 (count, rows*cols) images or (count,) labels.

    Raises ValueError when the magic number, the header's count or dimensions, or the length is wrong.
    """
    header = 16 if images else 8
    if len(data) < header:
        raise ValueError(f"file too short ({len(data)} bytes) for an IDX header")
    if images:
        magic, n, r, c = struct.unpack(">iiii", data[:16])
        expected_magic = IDX_IMAGES_MAGIC
    else:
        magic, n = struct.unpack(">ii", data[:8])
        r = c = 1
        expected_magic = IDX_LABELS_MAGIC
    if magic != expected_magic:
        raise ValueError(f"wrong magic number {magic} (expected {expected_magic})")
    if n != count:
        raise ValueError(f"header says {n} records, expected {count}")
    if images and (r, c) != (rows, cols):
        raise ValueError(f"header says {r}x{c} images, expected {rows}x{cols}")
    if len(data) != header + n * r * c:
        raise ValueError(f"length {len(data)} bytes disagrees with the header ({header + n * r * c} expected)")
    flat = np.frombuffer(data, dtype=np.uint8, offset=header).copy()
    return flat.reshape(n, r * c) if images else flat


def encode_idx(a: np.ndarray, *, rows: int = 28, cols: int = 28) -> bytes:
    """Encode uint8 (n, rows*cols) images or (n,) labels as an uncompressed IDX file (see parse_idx)."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    if a.ndim == 2:
        header = struct.pack(">iiii", IDX_IMAGES_MAGIC, a.shape[0], rows, cols)
    else:
        header = struct.pack(">ii", IDX_LABELS_MAGIC, a.shape[0])
    return header + a.tobytes()


class BadGzip(ValueError):
    """The bytes are not a complete, intact gzip stream."""


def gunzip_limited(stream: BinaryIO, limit: int) -> bytes:
    """Decompress the gzip ``stream``, never producing more than ``limit`` + 1 bytes.

    Raises :class:`BadGzip` for a damaged or truncated stream, ValueError when the content is longer than
    ``limit`` bytes (decompression stops there).
    """
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as g:
            data = g.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise BadGzip(" ".join(str(exc).split()) or type(exc).__name__) from None
    if len(data) > limit:
        raise ValueError(
            f"decompresses to more than the {limit} bytes this IDX file has; rejected without reading further"
        )
    return data


def read_idx_gz(stream: BinaryIO, *, images: bool, count: int, rows: int = 28, cols: int = 28) -> np.ndarray:
    """gunzip (bounded by the expected size) and parse one IDX file; see :func:`parse_idx`."""
    data = gunzip_limited(stream, idx_size(images=images, count=count, rows=rows, cols=cols))
    return parse_idx(data, images=images, count=count, rows=rows, cols=cols)


def write_idx_gz(f: BinaryIO, a: np.ndarray, *, rows: int = 28, cols: int = 28) -> None:
    """Write ``a`` as a gzip-compressed IDX file with a fixed header time (byte-identical for equal arrays)."""
    f.write(gzip.compress(encode_idx(a, rows=rows, cols=cols), compresslevel=6, mtime=0))
