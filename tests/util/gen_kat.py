#!/usr/bin/env python3
"""Regenerates tests/util/kat_paillier.h: textbook Paillier (g = n + 1)
vectors for a fixed key, computed with Python integers independently of
veil's C code. Usage: gen_kat.py P_HEX Q_HEX > kat_paillier.h"""
import hashlib
import math
import random
import sys

p, q = int(sys.argv[1], 16), int(sys.argv[2], 16)
n, n2 = p * q, (p * q) ** 2
lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
mu = pow((pow(n + 1, lam, n2) - 1) // n, -1, n)
rnd = random.Random(20261123)
print("/* Known-answer vectors computed independently (Python big integers,")
print(" * textbook Paillier with g = n + 1, lambda = lcm(p-1, q-1)) for the fixed")
print(" * test key; c = (1 + m n) r^n mod n^2. */")
print('static const char *const kat_p = "%x";' % p)
print('static const char *const kat_q = "%x";' % q)
print("static const struct { const char *m, *r, *c; } kat_vectors[] = {")
for m in [0, 1, 42, n - 1, n // 3 - 1, n - (n // 3 - 1), 123456789012345678901234567890]:
    r = rnd.randrange(2, n)
    c = (1 + m * n) * pow(r, n, n2) % n2
    assert (pow(c, lam, n2) - 1) // n * mu % n == m
    print('    {"%x",\n     "%x",\n     "%x"},' % (m, r, c))
print("};")
fp = hashlib.sha256(b"veil-paillier-public-key-v1\0" + n.to_bytes((n.bit_length() + 7) // 8, "big"))
print('/* SHA-256("veil-paillier-public-key-v1\\0" || n) */')
print('static const char *const kat_fingerprint = "%s";' % fp.hexdigest())
