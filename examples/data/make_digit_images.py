#!/usr/bin/env python3
"""Renders the UCI digits (examples/data/digits.csv.gz) as an ImageFolder tree of PNG files for
the finetune_image example:

    /usr/bin/python3 examples/data/make_digit_images.py     # needs python3-pil and python3-numpy

writes examples/data/digit_images/source/<0..4>/NNNN.png and .../target/<5..9>/NNNN.png: the first
PER_CLASS images of each digit in file order (NNNN is the row number in the CSV), each 8×8 image of
counts 0..16 scaled to 0..255 and enlarged to 32×32 with PIL's bilinear filter, 8-bit gray.
"""
import gzip
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "digit_images")
PER_CLASS = 60
SIZE = 32


def main():
    with gzip.open(os.path.join(HERE, "digits.csv.gz"), "rt") as f:
        rows = [list(map(float, line.split(","))) for line in f if line.strip()]
    counts = {d: 0 for d in range(10)}
    for index, row in enumerate(rows):
        label = int(row[64])
        if counts[label] >= PER_CLASS:
            continue
        counts[label] += 1
        pixels = np.rint(np.array(row[:64]).reshape(8, 8) * 255.0 / 16.0).astype(np.uint8)
        image = Image.fromarray(pixels, "L").resize((SIZE, SIZE), Image.BILINEAR)
        folder = os.path.join(OUT, "source" if label < 5 else "target", str(label))
        os.makedirs(folder, exist_ok=True)
        image.save(os.path.join(folder, f"{index:04d}.png"), optimize=True)
    assert all(c == PER_CLASS for c in counts.values()), counts


if __name__ == "__main__":
    main()
