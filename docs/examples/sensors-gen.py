#!/usr/bin/env python3
"""Writes sensors-train.csv.gz, sensors-test.csv.gz and sensors-features.csv:
a made-up machine-health table whose 8 readings come in their own units
(degrees, pascals, g, rpm, percent, volts, amperes, a firmware number that
never changes), labelled 0 ok, 1 wear, 2 fault by a fixed rule plus noise.
Deterministic (seeded); python3 only, no packages."""
import gzip, math, random

COLS = ["temp_c", "pressure_pa", "vibration_g", "rpm", "humidity_pct", "volts", "amps", "firmware"]
MEAN = [55.0, 101325.0, 0.002, 1800.0, 45.0, 230.0, 12.0, 7.0]
STD = [12.0, 2500.0, 0.0008, 400.0, 15.0, 4.0, 3.0, 0.0]
W = [[0.9, -0.4, 1.6, 0.3, 0.1, -0.2, 0.8, 0.0],
     [-0.5, 0.6, -0.3, -1.1, 0.4, 0.9, -0.6, 0.0],
     [-0.4, -0.2, -1.3, 0.8, -0.5, -0.7, -0.2, 0.0]]

def rows(rng, n):
    for _ in range(n):
        z = [rng.gauss(0, 1) for _ in COLS]
        x = [m + s * v for m, s, v in zip(MEAN, STD, z)]
        logits = [sum(w * v for w, v in zip(ws, z)) + rng.gauss(0, 0.15) for ws in W]
        yield x, max(range(3), key=lambda c: logits[c])

def fmt(x):
    return ",".join("%.6g" % v for v in x)

rng = random.Random(18)
data = list(rows(rng, 2400))
for name, part in [("sensors-train.csv.gz", data[:1920]), ("sensors-test.csv.gz", data[1920:])]:
    with gzip.GzipFile(name, "wb", mtime=0) as f:
        f.write((",".join(COLS + ["label"]) + "\n").encode())
        for x, y in part:
            f.write(("%s,%d\n" % (fmt(x), y)).encode())
with open("sensors-features.csv", "w") as f:
    for x, _ in data[1920:1925]:
        f.write(fmt(x) + "\n")
