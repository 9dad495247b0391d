#!/usr/bin/env python3
"""Writes examples/data/debian_packages_tiny.txt, the corpus of finetune_text's CTest smoke run:
from `apt-cache dumpavail` (reads stdin), each package once, only the fields Package, Source,
Section and Description; 30 packages of each task section and 400 of the others, picked at even
steps through the names in sorted order.

    apt-cache dumpavail | /usr/bin/python3 examples/data/make_debian_packages_tiny.py
"""
import os
import sys

SECTIONS = {"games", "science", "sound", "graphics", "mail", "editors"}
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "debian_packages_tiny.txt")

packages, current = {}, {}
for line in sys.stdin.read().split("\n") + [""]:
    if not line:
        if "Package" in current and "Description" in current and current["Package"] not in packages:
            packages[current["Package"]] = current
        current = {}
        continue
    if line[0] == " ":
        continue
    key, _, value = line.partition(": ")
    if key in ("Package", "Source", "Section", "Description"):
        current[key] = value
per_section = {s: [] for s in SECTIONS}
other = []
for name in sorted(packages):
    section = packages[name].get("Section", "").split("/")[-1]
    (per_section[section] if section in SECTIONS else other).append(name)
picked = []
for s in sorted(SECTIONS):
    names = per_section[s]
    picked += names[:: max(1, len(names) // 30)][:30]
picked += other[:: max(1, len(other) // 400)][:400]
with open(OUT, "w") as f:
    for name in sorted(picked):
        for key in ("Package", "Source", "Section", "Description"):
            if key in packages[name]:
                f.write(f"{key}: {packages[name][key]}\n")
        f.write("\n")
