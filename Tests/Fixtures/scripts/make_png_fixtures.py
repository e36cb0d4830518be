"""Writes the PNG fixtures of Tests/Fixtures/images and the gray values a reader must get.

The encoder here is written from the PNG specification with struct and zlib only: every
colour type, several bit depths, row y filtered with filter type y % 5 (so all five filters
occur), the data split over two IDAT chunks, and an ancillary tEXt chunk to skip. expected.json
holds each picture's gray pixels computed from the pixel values before encoding: luma
0.299 R + 0.587 G + 0.114 B in Pillow's fixed point, then blended onto black by alpha.

Run from the package root:  /root/REF/bin/python Tests/Fixtures/scripts/make_png_fixtures.py
"""
import gzip
import json
import struct
import zlib
from pathlib import Path

import numpy as np

OUT = Path("Tests/Fixtures/images")
WIDTH, HEIGHT = 11, 7  # odd width: sub-byte rows end in padding bits
rng = np.random.default_rng(9)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp):
    """rows: list of bytes (raw scanlines); returns the filtered stream, row y with filter y % 5."""
    out = bytearray()
    previous = bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind = y % 5
        out.append(kind)
        for i, value in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            prediction = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            out.append((value - prediction) & 0xFF)
        previous = row
    return bytes(out)


def pack(samples, depth):
    """One scanline of samples (ints) at `depth` bits, MSB first, padded to a byte."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    bits = "".join(format(s, f"0{depth}b") for s in samples)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def write_png(name, samples, colour_type, depth, extra_chunks=(), interlace=0):
    """samples: (H, W, channels) ints."""
    height, width, channels = samples.shape
    rows = [pack(samples[y].reshape(-1).tolist(), depth) for y in range(height)]
    bpp = max(1, channels * depth // 8)
    compressed = zlib.compress(filter_rows(rows, bpp), 9)
    half = len(compressed) // 2
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"Comment\x00nmt fixture")
            + b"".join(chunk(k, d) for k, d in extra_chunks)
            + chunk(b"IDAT", compressed[:half]) + chunk(b"IDAT", compressed[half:]) + chunk(b"IEND", b""))
    (OUT / name).write_bytes(data)


def to8(values, depth):
    values = np.asarray(values, dtype=np.int64)
    if depth == 16:
        return values >> 8
    return values * 255 // ((1 << depth) - 1)


def luma(r, g, b):
    return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16


def blend(gray, alpha):
    return (gray * alpha + 127) // 255


expected = {}


def record(name, gray):
    expected[name] = {"width": int(gray.shape[1]), "height": int(gray.shape[0]), "gray": gray.reshape(-1).tolist()}


def random(depth, channels):
    return rng.integers(0, 1 << depth, size=(HEIGHT, WIDTH, channels))


OUT.mkdir(parents=True, exist_ok=True)
opaque = lambda shape: np.full(shape, 255)

for depth in (1, 2, 4, 8, 16):
    s = random(depth, 1)
    write_png(f"gray{depth}.png", s, 0, depth)
    record(f"gray{depth}.png", to8(s[..., 0], depth))

# Few distinct values make the ties of the Paeth predictor common, which its tie order decides.
s = rng.integers(0, 4, size=(30, 40, 1)) * 85
write_png("gray8-few-values.png", s, 0, 8)
record("gray8-few-values.png", s[..., 0])

s = random(8, 2)
write_png("gray-alpha8.png", s, 4, 8)
record("gray-alpha8.png", blend(s[..., 0], s[..., 1]))

s = random(16, 2)
write_png("gray-alpha16.png", s, 4, 16)
record("gray-alpha16.png", blend(to8(s[..., 0], 16), to8(s[..., 1], 16)))

for depth in (8, 16):
    s = random(depth, 3)
    write_png(f"rgb{depth}.png", s, 2, depth)
    e = to8(s, depth)
    record(f"rgb{depth}.png", luma(e[..., 0], e[..., 1], e[..., 2]))

s = random(8, 4)
write_png("rgba8.png", s, 6, 8)
record("rgba8.png", blend(luma(s[..., 0], s[..., 1], s[..., 2]), s[..., 3]))

s = random(16, 4)
write_png("rgba16.png", s, 6, 16)
e = to8(s, 16)
record("rgba16.png", blend(luma(e[..., 0], e[..., 1], e[..., 2]), e[..., 3]))

# RGB with one colour marked transparent by tRNS: that colour becomes black.
s = random(8, 3)
key = s[3, 4].copy()
s[0, 0] = key
e = luma(s[..., 0], s[..., 1], s[..., 2])
e[(s == key).all(axis=-1)] = 0
write_png("rgb8-key.png", s, 2, 8, [(b"tRNS", struct.pack(">HHH", *key.tolist()))])
record("rgb8-key.png", e)

for depth, entries in ((8, 40), (4, 16), (1, 2)):
    palette = rng.integers(0, 256, size=(entries, 3))
    alphas = rng.integers(0, 256, size=entries // 2)  # tRNS may list fewer entries: the rest are opaque
    index = rng.integers(0, entries, size=(HEIGHT, WIDTH, 1))
    name = f"palette{depth}.png"
    write_png(name, index, 3, depth, [(b"PLTE", bytes(palette.reshape(-1).tolist())), (b"tRNS", bytes(alphas.tolist()))])
    full_alpha = np.concatenate([alphas, np.full(entries - len(alphas), 255)])
    rgb = palette[index[..., 0]]
    record(name, blend(luma(rgb[..., 0], rgb[..., 1], rgb[..., 2]), full_alpha[index[..., 0]]))

write_png("interlaced.png", random(8, 1), 0, 8, interlace=1)

# The first picture of Fashion-MNIST's test split (an ankle boot), as a 28×28 gray PNG and as an
# 84×84 RGB PNG of dark on light (each pixel a 3×3 block of 255 − value, in three equal channels),
# which `nmt image classify --invert` must read back as the same 28×28 picture.
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    first = np.frombuffer(f.read(), np.uint8, offset=16)[:784].reshape(28, 28).astype(np.int64)
# The tests compare these two with the IDX data itself, so expected.json does not list them.
write_png("ankle-boot.png", first[..., None], 0, 8)
big = np.repeat(np.repeat(255 - first, 3, axis=0), 3, axis=1)
write_png("ankle-boot-inverted-rgb84.png", np.stack([big] * 3, axis=-1), 2, 8)

(OUT / "expected.json").write_text(json.dumps(expected, separators=(",", ":")) + "\n")
