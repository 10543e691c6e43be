#!/usr/bin/env python3
"""The plaintext answer to a veil query (docs/query.md), for checking.

    python3 scripts/query_plain.py QUERY.json DEPT=FILE.csv [DEPT=FILE.csv ...]

Reads every department's CSV in the clear, joins them on the query's join
key with sqlite3 (sums of squares, which pass 2^63, in Python integers), and prints the table `veil query run` releases, in the
same format (docs/query.md, "Result file"): one row per label of the
group-by column (every label the combining department holds, in byte
order) and the *total* row, with minimum-count and complementary
suppression as docs/disclosure.md specifies, and exact decimals rounded
half away from zero. Queries with an epsilon are answered without noise
or clipping (the exact table the noisy one approximates).

This is the reference the tests, the demo and the benchmark compare the
private computation against; it sees every record, so it only belongs on
generated data. Prints the seconds it took (load + join + aggregate) on
stderr as "plaintext: N.NNN s".
"""
import csv
import json
import sqlite3
import sys
import time
from decimal import Decimal, InvalidOperation
from fractions import Fraction


def die(msg):
    sys.exit(f"query_plain.py: {msg}")


def mantissa(text, scale, where):
    try:
        d = Decimal(text.strip()).scaleb(scale)
    except InvalidOperation:
        die(f"{where}: not a number: {text!r}")
    if d != d.to_integral_value():
        die(f"{where}: {text!r} has more than {scale} decimals")
    return int(d)


def dec(fr, places):
    """fr rounded half away from zero to `places` decimals, as veil prints it."""
    scaled = fr * 10**places
    v = (abs(scaled.numerator) * 2 + scaled.denominator) // (2 * scaled.denominator)
    if scaled < 0:
        v = -v
    s = str(abs(v)).rjust(places + 1, "0")
    out = (s[:-places] + "." + s[-places:]) if places else s
    return ("-" if v < 0 else "") + out


def suppress(counts, min_count):
    """Primary and complementary suppression (veil/disclosure.h)."""
    sup = [n < min_count for n in counts]

    def safe():
        s = [counts[i] for i in range(len(counts)) if sup[i]]
        return not s or (sum(1 for n in s if n > 0) >= 2 and sum(s) >= min_count)

    while not safe():
        rel = [i for i in range(len(counts)) if not sup[i]]
        if not rel:
            return sup, True
        sup[min(rel, key=lambda i: (counts[i], i))] = True
    return sup, False


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    t0 = time.perf_counter()
    with open(argv[1]) as f:
        q = json.load(f)
    files = {}
    for a in argv[2:]:
        name, sep, path = a.partition("=")
        if not sep:
            die(f"{a!r}: expected DEPT=FILE.csv")
        files[name] = path
    key = q["join_key"]
    depts = q["departments"]
    comb = next((i for i, d in enumerate(depts) if d.get("group_by")), 0)
    group = depts[comb].get("group_by")
    stats = q["statistics"]
    min_count = int(q.get("min_count", 1))

    db = sqlite3.connect(":memory:")
    values = []  # (table, column, scale) in query order
    for i, d in enumerate(depts):
        name = d["id"]
        if name not in files:
            die(f"no CSV for department {name} (give {name}=FILE.csv)")
        cols = [(v["column"], int(v.get("scale", 0))) for v in d.get("values", [])]
        keep = [c for c, _ in cols] + ([group] if i == comb and group else [])
        t = f"t{i}"
        db.execute(f"create table {t} (k text primary key"
                   + "".join(f", c{j}" for j in range(len(keep))) + ")")
        with open(files[name], newline="") as f:
            rd = csv.DictReader(f)
            for c in [key] + keep:
                if c not in (rd.fieldnames or []):
                    die(f"{files[name]}: no column {c!r}")
            rows = []
            for ln, r in enumerate(rd, start=2):
                row = [r[key]]
                for c, s in cols:
                    row.append(mantissa(r[c], s, f"{files[name]}:{ln}: {c}"))
                if i == comb and group:
                    row.append(r[group])
                rows.append(row)
        db.executemany(f"insert into {t} values ({', '.join('?' * (len(keep) + 1))})", rows)
        for j, (c, s) in enumerate(cols):
            values.append((t, f"c{j}", c, s))
    ct = f"t{comb}"
    joins = "".join(f" join t{i} using (k)" for i in range(len(depts)) if i != comb)
    cols = "".join(f", {t}.{c}" for t, c, _, _ in values)
    gcol = f"{ct}.c{len(depts[comb].get('values', []))}" if group else "''"
    acc = {}
    if "variance" not in stats:
        # counts and sums in sqlite3 (it raises an error rather than overflow)
        aggs = "".join(f", sum({t}.{c}), 0" for t, c, _, _ in values)
        for r in db.execute(f"select {gcol}, count(*){aggs} from {ct}{joins} group by 1"):
            acc[r[0]] = [x or 0 for x in r[1:]]
        rows = []
    else:
        # sums of squares pass 2^63: sqlite3 joins, Python integers add
        rows = db.execute(f"select {gcol}{cols} from {ct}{joins}")
    for r in rows:
        a = acc.get(r[0])
        if a is None:
            a = acc[r[0]] = [0] * (1 + 2 * len(values))
        a[0] += 1
        for j, v in enumerate(r[1:]):
            a[1 + 2 * j] += v
            a[2 + 2 * j] += v * v
    zero = [0] * (1 + 2 * len(values))
    if group:
        labels = sorted({r[0] for r in db.execute(f"select {gcol} from {ct}")},
                        key=lambda s: s.encode())
        cells = [[lab] + acc.get(lab, zero) for lab in labels]
        total = ["*total*"] + [sum(c[i] for c in cells) for i in range(1, 2 + 2 * len(values))]
    else:
        cells = []
        total = ["*total*"] + acc.get("", zero)

    if cells:
        sup, total_sup = suppress([c[1] for c in cells], min_count)
    else:
        sup, total_sup = [], total[1] < min_count

    head = [group or "group", "status"] + (["count"] if "count" in stats else [])
    for _, _, c, _ in values:
        for st in ("sum", "mean", "variance"):
            if st in stats:
                head.append(f"{c}_{st}")
    out = [",".join(head)]
    for c, s in list(zip(cells, sup)) + [(total, total_sup)]:
        row = [c[0], "suppressed" if s else "released"]
        n = c[1]
        if "count" in stats:
            row.append("" if s else str(n))
        for j, (_, _, _, sc) in enumerate(values):
            sm, sq = c[2 + 2 * j], c[3 + 2 * j]
            if "sum" in stats:
                row.append("" if s else dec(Fraction(sm, 10**sc), sc))
            if "mean" in stats:
                row.append("" if s or n == 0 else dec(Fraction(sm, 10**sc * n), sc + 4))
            if "variance" in stats:
                row.append("" if s or n == 0
                           else dec(Fraction(n * sq - sm * sm, n * n * 10**(2 * sc)), 2 * sc + 4))
        out.append(",".join(row))
    print("\n".join(out))
    print(f"plaintext: {time.perf_counter() - t0:.3f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
