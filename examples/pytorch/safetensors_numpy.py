"""Read and write safetensors files with nothing but numpy (the safetensors package is not in Debian).

    save_file({"0.weight": array, ...}, "model.safetensors", metadata={"task": "digits"})
    tensors, metadata = load_file("model.safetensors")

The layout: an 8-byte little-endian header length, a JSON header mapping each name to its dtype,
shape and [begin, end) byte offsets in the data area (plus an optional "__metadata__" map of
strings), then the tensors' bytes, little-endian, row-major, back to back. Used by the PyTorch
round-trip example; see docs/pytorch-interop.md.
"""
import json
import os
import struct

import numpy as np

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def save_file(tensors, path, metadata=None):
    """Writes name -> numpy array to `path` atomically (temporary file, then rename)."""
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        # asarray, not ascontiguousarray: the latter turns a 0-d array (BatchNorm's
        # num_batches_tracked) into shape [1], which a strict load into a 0-d buffer refuses.
        array = np.asarray(array, order="C")
        dtype = _NAMES.get(array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype)
        if dtype is None:
            raise ValueError(f"{name}: unsupported dtype {array.dtype}")
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data area starts 8-byte aligned
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_file(path):
    """Returns ({name: numpy array}, metadata dict) from a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors, metadata
