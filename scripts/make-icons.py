#!/usr/bin/env python3
"""Draws Weft's app icon set into icons/ (the files are committed; rerun after changing the mark).

The mark: a cream "W" woven through by one amber weft thread on a navy tile. The thread
passes over the first and third strokes of the W and under the second and fourth, the way
a weft thread alternates over and under the warp.

Pure Python (zlib + struct) on purpose: no ImageMagick or Pillow needed to regenerate it,
and every size is rendered from signed distances, so edges are anti-aliased at 16 px as
well as at 512 px instead of being a blurred downscale.

Usage: python3 scripts/make-icons.py [OUT_DIR]   (default: icons/ next to this script's parent)
"""

import math
import os
import struct
import sys
import zlib

NAVY_TOP = (0x33, 0x45, 0x78)
NAVY_BOTTOM = (0x1A, 0x23, 0x40)
CREAM = (0xF4, 0xEC, 0xDB)
AMBER = (0xEA, 0xA2, 0x3A)

# The W, in unit coordinates (0..1, y down): five points, four strokes.
W_POINTS = [(0.19, 0.27), (0.345, 0.74), (0.50, 0.38), (0.655, 0.74), (0.81, 0.27)]
STROKE = 0.047  # half width of a W stroke
BAND_Y = 0.545
BAND_HALF = 0.04  # half height of the weft thread
BAND_X = (0.11, 0.89)
GAP = 0.022  # the background-coloured gap that shows which thread is on top
TILE_MARGIN = 0.035
TILE_RADIUS = 0.22


def seg_dist(px, py, ax, ay, bx, by):
    """Distance from point p to segment ab."""
    vx, vy = bx - ax, by - ay
    wx, wy = px - ax, py - ay
    t = max(0.0, min(1.0, (wx * vx + wy * vy) / (vx * vx + vy * vy)))
    dx, dy = wx - t * vx, wy - t * vy
    return math.hypot(dx, dy)


def rounded_box(px, py, cx, cy, hw, hh, r):
    """Signed distance to a rounded rectangle centred at (cx, cy)."""
    qx = abs(px - cx) - (hw - r)
    qy = abs(py - cy) - (hh - r)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - r


def coverage(d, px_size):
    """Fraction of a pixel covered by a shape whose signed distance at its centre is d."""
    return max(0.0, min(1.0, 0.5 - d / px_size))


def mix(a, b, t):
    return tuple(x + (y - x) * t for x, y in zip(a, b))


def stroke_d(i, px, py):
    (ax, ay), (bx, by) = W_POINTS[i], W_POINTS[i + 1]
    return seg_dist(px, py, ax, ay, bx, by) - STROKE


def band_d(px, py):
    x0, x1 = BAND_X
    return seg_dist(px, py, x0, BAND_Y, x1, BAND_Y) - BAND_HALF


def near_band(py):
    """Gaps are cut only around the crossings, so the W's own joints stay seamless."""
    return abs(py - BAND_Y) < BAND_HALF + 2.5 * GAP


def pixel(px, py, s):
    """RGBA of the unit-square point (px, py) for an icon s pixels wide."""
    ps = 1.0 / s
    half = 0.5 - TILE_MARGIN
    tile = coverage(rounded_box(px, py, 0.5, 0.5, half, half, TILE_RADIUS), ps)
    if tile <= 0.0:
        return (0, 0, 0, 0)
    bg = mix(NAVY_TOP, NAVY_BOTTOM, max(0.0, min(1.0, (py - TILE_MARGIN) / (1 - 2 * TILE_MARGIN))))
    col = bg
    # Painter's order: the strokes the thread goes over, the thread, the strokes it goes under.
    for i in (0, 2):
        col = mix(col, CREAM, coverage(stroke_d(i, px, py), ps))
    if near_band(py):
        col = mix(col, bg, coverage(band_d(px, py) - GAP, ps))
    # The thread is hidden within GAP of the strokes that lie on it; cutting only the thread
    # (not whatever is under those strokes) keeps the W's own joints whole.
    hidden = max(coverage(stroke_d(i, px, py) - GAP, ps) for i in (1, 3))
    col = mix(col, AMBER, coverage(band_d(px, py), ps) * (1.0 - hidden))
    for i in (1, 3):
        col = mix(col, CREAM, coverage(stroke_d(i, px, py), ps))
    return (*col, 255 * tile)


def render(s):
    rows = []
    for y in range(s):
        row = bytearray([0])  # PNG filter type 0 for every row
        for x in range(s):
            r, g, b, a = pixel((x + 0.5) / s, (y + 0.5) / s, s)
            row += bytes((round(r), round(g), round(b), round(a)))
        rows.append(bytes(row))
    return b"".join(rows)


def png(s):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", s, s, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(render(s), 9))
        + chunk(b"IEND", b"")
    )


def ico(images):
    """An .ico whose entries are PNGs (supported since Windows Vista)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for s, data in images:
        dim = 0 if s >= 256 else s
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return header + entries + blobs


def icns(entries):
    body = b"".join(tag + struct.pack(">I", len(data) + 8) + data for tag, data in entries)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "icons")
    os.makedirs(out, exist_ok=True)
    sizes = {s: png(s) for s in (16, 32, 48, 64, 128, 256, 512)}
    files = {
        "32x32.png": sizes[32],
        "128x128.png": sizes[128],
        "128x128@2x.png": sizes[256],
        "icon.png": sizes[512],
        "icon.ico": ico([(s, sizes[s]) for s in (16, 32, 48, 256)]),
        "icon.icns": icns(
            [
                (b"ic11", sizes[32]),  # 16@2x
                (b"ic12", sizes[64]),  # 32@2x
                (b"ic07", sizes[128]),
                (b"ic13", sizes[256]),  # 128@2x
                (b"ic08", sizes[256]),
                (b"ic14", sizes[512]),  # 256@2x
                (b"ic09", sizes[512]),
            ]
        ),
    }
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
