#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_safetensors into fuzz/corpus/safetensors/ (stdlib only).

    python3 fuzz/make_corpus.py

Valid files of every dtype graft reads (with metadata, 0-d and empty tensors, unaligned data),
and one file per validation error the reader must report. Each file is under 4 KB.
"""
import json
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "safetensors"
SIZES = {"F32": 4, "F64": 8, "BF16": 2, "F16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}


def image(header, data=b"", pad=True):
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def layout(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] laid out contiguously in that order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, data


def valid():
    f32 = struct.pack("<6f", 1.5, -0.0, 1e-45, float("inf"), float("nan"), 3e38)
    yield "all_dtypes", image(*layout([
        ("f64", "F64", [2], struct.pack("<2d", 1 / 3, -2.5e-300)),
        ("i64", "I64", [2, 1], struct.pack("<2q", -(2**63), 2**40)),
        ("f32", "F32", [2, 3], f32),
        ("i32", "I32", [1], struct.pack("<i", -7)),
        ("bf16", "BF16", [3], struct.pack("<3H", 0x3F80, 0x0001, 0x7FC1)),
        ("f16", "F16", [3], struct.pack("<3H", 0x3C00, 0xFBFF, 0x0001)),
        ("u8", "U8", [3], bytes([0, 128, 255])),
        ("b", "BOOL", [3], bytes([0, 1, 2])),
    ], {"format": "pt", "note": "seed"}))
    yield "scalar_and_empty", image(*layout([
        ("s", "F32", [], struct.pack("<f", 2.25)),
        ("e", "F32", [0, 3], b""),
        ("z", "I64", [2, 0], b""),
    ]))
    yield "empty_header", image({})
    yield "metadata_only", image({"__metadata__": {"k": "v", "": "é"}})
    yield "unaligned", image(*layout([
        ("h", "BF16", [1], struct.pack("<H", 0x3F80)),
        ("f", "F32", [2], struct.pack("<2f", 1.0, 2.0)),
        ("d", "F64", [1], struct.pack("<d", 4.0)),
    ]))
    header, data = layout([("w", "F32", [1], struct.pack("<f", 1.0))])
    yield "odd_header_length", image(json.dumps(header).encode() + b"   ", data, pad=False)
    yield "unknown_fields", image(
        {"__metadata__": None,
         "a": {"x": [1, {"y": [True]}], "dtype": "I32", "shape": [1], "data_offsets": [0, 4], "z": False}},
        struct.pack("<i", 42))
    yield "escaped_names", image(*layout([("a\u0001\u00e9\\\"", "U8", [1], b"\x07")]))
    yield "pytorch_order", image(*layout([
        ("bias", "F32", [2], struct.pack("<2f", 0.5, -1)),
        ("weight", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
        ("emb", "BF16", [2], struct.pack("<2H", 0x3F80, 0xC000)),
    ], {"format": "pt"}))


def entry(dtype="F32", shape=(1,), offsets=(0, 4)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def invalid():
    four = b"\0" * 4
    yield "short", b"\x02\0\0"
    yield "header_past_end", struct.pack("<Q", 100) + b"{}"
    yield "header_huge", struct.pack("<Q", 100_000_001) + b"{}"
    yield "not_object", image(b"[1,2]")
    yield "truncated_json", image(b'{"w":', pad=False)
    yield "nul_in_header", image(b"{}\0x", pad=False)
    yield "bad_utf8", image(b'{"w\xff":1}', pad=False)
    yield "entry_not_object", image({"w": [1]})
    yield "missing_field", image({"w": {"dtype": "F32", "shape": [1]}}, four)
    yield "wrong_types", image({"w": {"dtype": 4, "shape": "1", "data_offsets": {}}}, four)
    yield "boolean_dtype", image({"w": {"dtype": True, "shape": [1], "data_offsets": [0, 4]}}, four)
    yield "duplicate_name", image(b'{"w":' + json.dumps(entry()).encode() + b',"w":' +
                                  json.dumps(entry()).encode() + b"}", four * 2)
    yield "unknown_dtype", image({"w": entry(dtype="I8")}, four)
    yield "negative_dim", image({"w": entry(shape=(2, -1))}, four)
    yield "float_dim", image({"w": entry(shape=(1.5,))}, four)
    yield "numel_overflow", image({"w": entry(shape=(2**32, 2**32))}, four)
    yield "offsets_three", image({"w": entry(offsets=(0, 4, 4))}, four)
    yield "offsets_reversed", image({"w": entry(shape=(0,), offsets=(4, 0))}, four)
    yield "offsets_outside", image({"w": entry(shape=(2,), offsets=(0, 8))}, four)
    yield "wrong_length", image({"w": entry(shape=(2,), offsets=(0, 4))}, four)
    yield "overlap", image({"a": entry(shape=(2,), offsets=(0, 8)), "b": entry(shape=(2,), offsets=(4, 12))}, four * 3)
    yield "gap", image({"a": entry(), "b": entry(offsets=(8, 12))}, four * 3)
    yield "trailing_data", image({"w": entry()}, four * 2)
    yield "metadata_not_strings", image({"__metadata__": {"k": 1}})


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for kind, seeds in (("valid", valid()), ("invalid", invalid())):
        for name, data in seeds:
            assert len(data) < 4096, name
            (OUT / f"{kind}_{name}.safetensors").write_bytes(data)


if __name__ == "__main__":
    main()
