#!/usr/bin/env python3
"""Independent, deliberately naive PLY reader for the tests: prints the expected summary as JSON.

It shares no code with src/ply: it reads every record of every element with `struct` (or splits ASCII
text), keeps all vertex values in lists, and computes the statistics in two passes with math.fsum
(exactly rounded sums), so the TypeScript one-pass Welford figures are checked against a different
method. Usage: naive_ply.py FILE  (exit 3 with a message on a file it rejects).
"""
import hashlib
import json
import math
import struct
import sys

TYPES = {
    "char": "b", "int8": "b", "uchar": "B", "uint8": "B",
    "short": "h", "int16": "h", "ushort": "H", "uint16": "H",
    "int": "i", "int32": "i", "uint": "I", "uint32": "I",
    "float": "f", "float32": "f", "double": "d", "float64": "d",
}
MEASURED = ["x", "y", "z", "opacity", "scale_0", "scale_1", "scale_2", "f_dc_0", "f_dc_1", "f_dc_2"]


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(3)


def parse(data):
    end = data.find(b"\nend_header\n")
    if not data.startswith(b"ply\n") or end < 0:
        fail("not a PLY")
    body = end + len(b"\nend_header\n")
    fmt, elements = None, []
    for line in data[:end].decode("latin1").split("\n")[1:]:
        w = line.split()
        if not w or w[0] in ("comment", "obj_info"):
            continue
        if w[0] == "format":
            fmt = w[1]
        elif w[0] == "element":
            elements.append((w[1], int(w[2]), []))
        elif w[0] == "property" and w[1] == "list":
            elements[-1][2].append((w[4], TYPES[w[3]], TYPES[w[2]]))
        elif w[0] == "property":
            elements[-1][2].append((w[2], TYPES[w[1]], None))
        else:
            fail("bad header line " + line)
    return fmt, elements, body


def read_vertices(data):
    fmt, elements, pos = parse(data)
    vertices = []
    names = None
    if fmt == "ascii":
        tokens = data[pos:].split()
        t = 0
        for name, count, props in elements:
            for _ in range(count):
                rec = {}
                for pname, typ, count_typ in props:
                    n = 1
                    if count_typ:
                        n = int(tokens[t]); t += 1
                    vals = [float(tok) if typ in "fd" else int(tok) for tok in tokens[t:t + n]]
                    if len(vals) < n:
                        fail("truncated")
                    t += n
                    if not count_typ:
                        rec[pname] = float(vals[0])
                if name == "vertex":
                    vertices.append(rec)
            if name == "vertex":
                names = [p[0] for p in props]
        if t != len(tokens):
            fail("trailing data")
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        for name, count, props in elements:
            for _ in range(count):
                rec = {}
                for pname, typ, count_typ in props:
                    n = 1
                    if count_typ:
                        (n,) = struct.unpack_from(order + count_typ, data, pos)
                        pos += struct.calcsize(count_typ)
                    vals = struct.unpack_from(order + typ * n, data, pos)
                    pos += struct.calcsize(typ) * n
                    if not count_typ:
                        rec[pname] = float(vals[0])
                if name == "vertex":
                    vertices.append(rec)
            if name == "vertex":
                names = [p[0] for p in props]
        if pos != len(data):
            fail("trailing data")
    return fmt, names, vertices


def summary(path):
    with open(path, "rb") as f:
        data = f.read()
    fmt, names, vertices = read_vertices(data)
    present = [m for m in MEASURED if m in names]
    good = [v for v in vertices if all(math.isfinite(v[m]) for m in present)]
    stats = {}
    n = len(good)
    if n:
        for m in ["opacity", "scale_0", "scale_1", "scale_2", "f_dc_0", "f_dc_1", "f_dc_2"]:
            if m not in present:
                continue
            col = [v[m] for v in good]
            mean = math.fsum(col) / n
            stats[m + "_mean"] = mean
            stats[m + "_std"] = math.sqrt(math.fsum((x - mean) ** 2 for x in col) / n)
            stats[m + "_min"] = min(col)
            stats[m + "_max"] = max(col)
            if m == "opacity":
                sig = [1 / (1 + math.exp(-x)) for x in col]
                stats["opacity_activated_mean"] = math.fsum(sig) / n
                stats["near_transparent_share"] = sum(1 for s in sig if s < 0.05) / n
            elif m.startswith("scale_"):
                stats[m + "_activated_mean"] = math.fsum(math.exp(x) for x in col) / n
        for a in ["x", "y", "z"]:
            if a in present:
                col = [v[a] for v in good]
                stats["bbox_min_" + a] = min(col)
                stats["bbox_max_" + a] = max(col)
                stats["extent_" + a] = max(col) - min(col)
    stats["nan_count"] = len(vertices) - n
    return {
        "num_gaussians": len(vertices),
        "file_size_bytes": len(data),
        "file_size_mb": len(data) / 1048576,
        "ply_file_hash": "sha256:" + hashlib.sha256(data).hexdigest(),
        "gaussian_stats": stats,
        "format": fmt,
        "vertex_properties": names,
    }


if __name__ == "__main__":
    print(json.dumps([summary(p) for p in sys.argv[1:]]))
