"""Fashion-MNIST from Debian's dataset-fashion-mnist, for the end-to-end tests (NumPy arrays)."""
import gzip
import os

import numpy as np

FASHION = os.environ.get("MODECONN_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def require():
    """Exits 77 (reported as skipped) when the data set is not installed."""
    if not os.path.isdir(FASHION):
        print(f"skipped: {FASHION} not found (Debian's dataset-fashion-mnist)")
        raise SystemExit(77)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(n_train, n_test):
    """The first n_train / n_test samples: x float32 in [0, 1], flattened; y int64."""
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        x = read_idx(f"{FASHION}/{prefix}-images-idx3-ubyte.gz")[:n].reshape(n, -1).astype(np.float32) / 255
        y = read_idx(f"{FASHION}/{prefix}-labels-idx1-ubyte.gz")[:n].astype(np.int64)
        out[split] = (x, y)
    return out


def save_npy_folder(data, folder):
    os.makedirs(folder, exist_ok=True)
    for split, (x, y) in data.items():
        np.save(f"{folder}/x_{split}.npy", x)
        np.save(f"{folder}/y_{split}.npy", y)
