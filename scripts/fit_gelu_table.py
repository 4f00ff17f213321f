#!/usr/bin/env python3
"""fit_gelu_table.py — the table of runtime/kernels/x86/vmath.h's Gelu (rt_vm512_gelu), printed
as the C initializer vmath_avx512.c holds (rt_vm_gelu_tab).

q(u) = Phi(-u) = erfc(u / sqrt 2) / 2 on u in [0, 4 sqrt 2], cut into 32 intervals centred on
the integers of s = u * S (S = 31.4 / (4 sqrt 2), so s <= 31.4 and rounding s picks the
interval): per interval a polynomial of degree 6 in t = s - round(s) in [-0.5, 0.5]. Each is
fitted for relative error (least squares on Chebyshev nodes, weight 1 / q) one coefficient at
a time from the constant up: fit, round the next coefficient to float, refit the rest with it
fixed, so the rounding of each is compensated by the ones after it (2e-7 -> 5e-8 relative).
Needs mpmath (40-digit arithmetic). Usage: python3 scripts/fit_gelu_table.py
"""
import re
import struct

import mpmath as mp

mp.mp.dps = 40
N_INT, DEG, S_MAX = 32, 6, 31.4
UMAX = 4 * mp.sqrt(2)
N_NODES = 120


def hexf(x):
    """x as a C float literal: C99 hex, no trailing zero digits."""
    m = re.match(r"(-?0x1)\.?([0-9a-f]*?)0*p([-+]\d+)", float.hex(x))
    return "%s%sp%s" % (m.group(1), "." + m.group(2) if m.group(2) else "", m.group(3)) + "f"


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


S = f32(S_MAX / UMAX)


def q(u):
    return mp.erfc(u / mp.sqrt(2)) / 2


def fit(i):
    a = mp.mpf(-0.5) if i > 0 else mp.mpf(0)
    b = min(mp.mpf(0.5), S_MAX - i)
    ts = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (k + 0.5) / N_NODES) for k in range(N_NODES)] + [a, b]
    qs = [q((t + i) / S) for t in ts]
    fixed = []
    for k in range(DEG + 1):
        nb = DEG + 1 - k
        A, y = mp.matrix(len(ts), nb), mp.matrix(len(ts), 1)
        for r, (t, qq) in enumerate(zip(ts, qs)):
            y[r] = (qq - sum(c * t**j for j, c in enumerate(fixed))) / qq
            for j in range(nb):
                A[r, j] = t ** (k + j) / qq
        fixed.append(mp.mpf(f32(mp.lu_solve(A.T * A, A.T * y)[0])))
    err = max(abs(sum(c * t**j for j, c in enumerate(fixed)) / q((t + i) / S) - 1) for t in mp.linspace(a, b, 400))
    return [float(c) for c in fixed], err


coefs, worst = zip(*(fit(i) for i in range(N_INT)))
print("/* S = %s; largest relative error of the rounded table %.2g */" % (hexf(S), max(worst)))
for k in range(DEG + 1):
    vals = [hexf(coefs[i][k]) for i in range(N_INT)]
    lines = [", ".join(vals[i : i + 6]) for i in range(0, N_INT, 6)]
    print("    {" + (",\n     ").join(lines) + "},")
