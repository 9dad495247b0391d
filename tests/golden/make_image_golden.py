#!/usr/bin/env python3
"""Golden files for tests/image_file_test.cpp and tests/image_transforms_test.cpp: small PNG and JPEG files of every colour type that
read_image handles, written by PIL, and the pixels PIL (or torchvision.io) decodes from them.
Run with Debian's python3-pil, python3-torch and python3-torchvision:

    /usr/bin/python3 tests/golden/make_image_golden.py   # writes tests/golden/images/*.png|jpg and images.safetensors

rgb_interlaced.png is Adam7-interlaced, written by this script (PIL cannot write interlaced PNGs).
Pixels come from a formula so the files are reproducible:  v(y, x, c) = (37·y + 11·x + 101·c + 7·y·x) mod 256.
images.safetensors holds, for each file NAME, "NAME" = the RGB pixels [H, W, 3] as float32 byte
values 0…255, from PIL's Image.open(path).convert("RGB"). For these 8-bit files the script checks
that torchvision.io.read_image(path, ImageReadMode.RGB) agrees exactly. The 16-bit gray PNG is
the exception: torchvision 0.14 refuses it and PIL's convert clips its 16-bit values at 255, so
the reference is the high byte of each sample as PIL reads them (what PIL does for 16-bit RGB
files and libpng's png_set_strip_16 does), copied to three channels.

image_transforms.safetensors holds torchvision.transforms.functional on float32 images (never
uint8, whose antialiased resize rounds): inputs "x.A" [3, 7, 10] and "x.B" [3, 13, 5] with
x[i] = (sin(0.37·i) + 1) / 2 (i the flat index), and for each case NAME the output "NAME":
    resize.A.4x6, resize.A.11x15, resize.A.5x13, resize.A.short6, resize.B.short9, resize.B.2x2
        F.resize(x, size, BILINEAR, antialias=True)  (short: one int, the smaller edge)
    center_crop.A.4, center_crop.A.5x3, center_crop.B.6x5, center_crop.A.12 (larger: zero padding)
        F.center_crop(x, size)
    resized_crop.A.1_2_5_6.to8x8
        F.resized_crop(x, top 1, left 2, height 5, width 6, (8, 8), BILINEAR, antialias=True)
"""
import os

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.io import ImageReadMode

from make_golden import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "images")


def pattern(h, w, c):
    y, x, k = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return ((37 * y + 11 * x + 101 * k + 7 * y * x) % 256).astype(np.uint8)


def write_interlaced_png(path, rgb):
    """An Adam7-interlaced 8-bit RGB PNG (PIL cannot write one): each pass's sub-image, filter 0."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    h, w, _ = rgb.shape
    raw = b""
    for y0, x0, dy, dx in [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2),
                           (1, 0, 2, 1)]:
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write_files():
    """name -> path, for every case."""
    os.makedirs(OUT, exist_ok=True)
    rgb = Image.fromarray(pattern(9, 13, 3), "RGB")
    files = {}

    def save(name, img, **kw):
        path = os.path.join(OUT, name)
        img.save(path, **kw)
        files[name] = path

    save("rgb.png", rgb)
    save("gray.png", Image.fromarray(pattern(9, 13, 1)[:, :, 0], "L"))
    save("gray_1bit.png", Image.fromarray(pattern(9, 13, 1)[:, :, 0], "L").convert("1"))
    save("gray_alpha.png", Image.fromarray(pattern(9, 13, 2), "LA"))
    save("rgba.png", Image.fromarray(pattern(9, 13, 4), "RGBA"))
    palette = rgb.convert("P", palette=Image.ADAPTIVE, colors=12)
    save("palette.png", palette)
    save("palette_4bit_transparent.png", rgb.convert("P", palette=Image.ADAPTIVE, colors=6), bits=4, transparency=2)
    gray16 = (pattern(9, 13, 1)[:, :, 0].astype(np.uint16) * 257 + np.arange(13, dtype=np.uint16)).astype(np.uint16)
    save("gray_16bit.png", Image.fromarray(gray16, "I;16"))
    files["rgb_interlaced.png"] = os.path.join(OUT, "rgb_interlaced.png")
    write_interlaced_png(files["rgb_interlaced.png"], pattern(9, 13, 3))
    save("rgb.jpg", rgb, quality=90)
    save("rgb_444_progressive.jpg", rgb, quality=75, subsampling=0, progressive=True)
    save("gray.jpg", Image.fromarray(pattern(9, 13, 1)[:, :, 0], "L"), quality=85)
    return files


def main():
    files = write_files()
    tensors = {}
    for name, path in sorted(files.items()):
        if name == "gray_16bit.png":
            high = (np.asarray(Image.open(path)).astype(np.int64) >> 8).astype(np.uint8)
            expected = np.repeat(high[:, :, None], 3, axis=2)
        else:
            expected = np.asarray(Image.open(path).convert("RGB"))
            tv = torchvision.io.read_image(path, ImageReadMode.RGB).permute(1, 2, 0).numpy()
            diff = np.abs(expected.astype(int) - tv.astype(int)).max()
            assert diff == 0, f"{name}: PIL and torchvision.io differ by {diff}"
        if name == "rgb_interlaced.png":
            assert Image.open(path).info.get("interlace") == 1 and (expected == pattern(9, 13, 3)).all()
        tensors[name] = expected.astype(np.float32)
    write_safetensors(os.path.join(HERE, "images.safetensors"), tensors,
                      {"torchvision": torchvision.__version__, "torch": torch.__version__})


def transform_cases():
    import torchvision.transforms.functional as F
    from torchvision.transforms import InterpolationMode

    def make(shape):
        n = int(np.prod(shape))
        return torch.from_numpy(((np.sin(0.37 * np.arange(n)) + 1) / 2).astype(np.float32).reshape(shape))

    x = {"A": make((3, 7, 10)), "B": make((3, 13, 5))}
    out = {"x.A": x["A"], "x.B": x["B"]}
    bilinear = InterpolationMode.BILINEAR
    for name, key, size in [("resize.A.4x6", "A", [4, 6]), ("resize.A.11x15", "A", [11, 15]),
                            ("resize.A.5x13", "A", [5, 13]), ("resize.A.short6", "A", 6),
                            ("resize.B.short9", "B", 9), ("resize.B.2x2", "B", [2, 2])]:
        out[name] = F.resize(x[key], size, bilinear, antialias=True)
    for name, key, size in [("center_crop.A.4", "A", 4), ("center_crop.A.5x3", "A", [5, 3]),
                            ("center_crop.B.6x5", "B", [6, 5]), ("center_crop.A.12", "A", 12)]:
        out[name] = F.center_crop(x[key], size)
    out["resized_crop.A.1_2_5_6.to8x8"] = F.resized_crop(x["A"], 1, 2, 5, 6, [8, 8], bilinear, antialias=True)
    write_safetensors(os.path.join(HERE, "image_transforms.safetensors"),
                      {k: v.contiguous().numpy() for k, v in out.items()},
                      {"torchvision": torchvision.__version__, "torch": torch.__version__})


if __name__ == "__main__":
    main()
    transform_cases()
