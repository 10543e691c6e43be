#!/usr/bin/env bash
# End-to-end cost of a cross-department query (docs/query.md) against the
# same query computed in plaintext. For each size N, the tax and education
# bureaus hold N generated records each (same seed: about 60% of each file
# are citizens known to both) and run `veil query run` as real processes on
# 127.0.0.1 over mutual TLS, with the statistics bureau as the analyst:
#
#   sum      tax's income summed over the citizens known to both (the
#            intersection-sum-with-cardinality of Private Join and Compute:
#            one value column, count and sum, no groups)
#   grouped  count, sum, mean and variance of income per education level
#
# Every released table is compared with scripts/query_plain.py (sqlite3 on
# the same CSVs, timed from reading the CSVs to the table) and the run
# aborts on any difference. Time is wall clock from starting the three
# processes to the last one's exit (key, identities and data are made
# before and not counted); bytes are each party's application-layer bytes
# as `veil query run` reports them.
#
#   bash benchmarks/bench_query.sh [--quick | --full] [--rows "N ..."] [--cases "sum grouped"]
#                                  [--threads N] [--csv FILE] [--json FILE] [--keep DIR]
#
#   --quick  N = 1000 10000 (about 20 s)
#   default  N = 1000 10000 100000 1000000
#   --full   the default sizes, then 10,000,000 tax records against 500,000
#            education records (sum case), reporting time and peak memory
#   --big T:E  instead of the --full pair, T tax records against E education
#            records (e.g. --rows "" --big 2000000:100000 runs only that)
#
# Needs a built veil (bash scripts/build.sh build) and python3; VEIL=path
# overrides build/tools/veil.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
veil=${VEIL:-$here/build/tools/veil}
sizes="1000 10000 100000 1000000"
cases="sum grouped"
full=0 big="10000000:500000" threads="" csv="" json="" keep=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) sizes="1000 10000" ;;
    --full) full=1 ;;
    --rows) sizes=${2?--rows needs a list}; shift ;;
    --big) big=${2:?--big needs TAX:EDU}; full=1; shift ;;
    --cases) cases=${2:?--cases needs a list}; shift ;;
    --threads) threads=${2:?--threads needs N}; shift ;;
    --csv) csv=$(realpath -m "${2:?--csv needs a file}"); shift ;;
    --json) json=$(realpath -m "${2:?--json needs a file}"); shift ;;
    --keep) keep=${2:?--keep needs a directory}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench_query.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
for n in $sizes; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench_query.sh: --rows: '$n' is not a row count" >&2; exit 2; }
done
[[ $big =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || { echo "bench_query.sh: --big: '$big' is not TAX:EDU row counts" >&2; exit 2; }
for c in $cases; do
    [[ $c = sum || $c = grouped ]] || { echo "bench_query.sh: --cases: '$c' is not sum or grouped" >&2; exit 2; }
done
[ -x "$veil" ] || { echo "bench_query.sh: no veil binary at $veil (bash scripts/build.sh build)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench_query.sh: python3 is needed for the plaintext reference" >&2; exit 2; }
die() { echo "bench_query.sh: $*" >&2; exit 1; }
for f in "$csv" "$json"; do
    [ -z "$f" ] || [ -d "$(dirname "$f")" ] || { echo "bench_query.sh: no directory for $f" >&2; exit 2; }
done
targs=()
[ -n "$threads" ] && targs=(--threads "$threads")

if [ -n "$keep" ]; then
    mkdir -p "$keep"
    work=$(cd "$keep" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench-query-XXXXXX")
fi
pids=()
cleanup() {
    for p in "${pids[@]}"; do pkill -9 -P "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -z "$keep" ] && rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export VEIL_NO_AUDIT=1 # the benchmark's data is generated; nothing to record
now() { date +%s.%N; }

echo "== set-up (not timed): key, identities" >&2
"$veil" keygen --public bureau.pub --private bureau.key --force >keygen.txt
key=$(sed -n 's/^fingerprint: //p' keygen.txt)
for p in tax education bureau; do
    rm -rf "id/$p"
    mkdir -p id
    "$veil" party init --id "$p" --dir "id/$p" >"id-$p.out"
    grep -o 'sha256:[0-9a-f]\{64\}' "id-$p.out" | head -n 1 >"id/$p.fp"
done
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 12000))
        port_free "$p" && { echo "$p"; return; }
    done
    die "no free port on 127.0.0.1"
}

# write_query FILE CASE ID
write_query() {
    local group='' stats='["count", "sum"]'
    if [ "$2" = grouped ]; then
        group=', "group_by": "level"'
        stats='["count", "sum", "mean", "variance"]'
    fi
    cat >"$1" <<EOF
{"query": "$3", "key": "$key", "join_key": "resident_id",
 "departments": [
  {"id": "education", "fingerprint": "$(cat id/education.fp)",
   "address": "127.0.0.1:$(pick_port)"$group},
  {"id": "tax", "fingerprint": "$(cat id/tax.fp)",
   "values": [{"column": "income", "scale": 2}]}],
 "analyst": {"id": "bureau", "fingerprint": "$(cat id/bureau.fp)"},
 "statistics": $stats, "min_count": 1,
 "timeouts": {"connect": 10, "io": 600, "query": 7200}}
EOF
}

# party_field LOG FIELD: from "done in S s; B bytes sent, R received"
party_field() {
    local line
    line=$(grep ': done in ' "$1" | tail -n 1) || return 1
    case $2 in
    seconds) sed 's/.*done in \([0-9.]*\) s.*/\1/' <<<"$line" ;;
    sent) sed 's/.* s; \([0-9]*\) bytes sent.*/\1/' <<<"$line" ;;
    received) sed 's/.*bytes sent, \([0-9]*\) received.*/\1/' <<<"$line" ;;
    esac
}

results=()
# run_case CASE TAXROWS EDUROWS
run_case() {
    local c=$1 nt=$2 ne=$3 tag="$1-$2-$3"
    [ -f "tax-$nt.csv" ] || "$veil" gen --department tax --rows "$nt" --seed 11 --out "tax-$nt.csv"
    [ -f "edu-$ne.csv" ] || "$veil" gen --department education --rows "$ne" --seed 11 --out "edu-$ne.csv"
    write_query "$tag.json" "$c" "bench-$tag"
    rm -f "$tag.csv"
    printf '%-8s %9s x %-9s ... ' "$c" "$nt" "$ne" >&2
    local t0 t1 rc=0
    t0=$(now)
    local -A pid
    /usr/bin/time -f '%M' -o "$tag-education.mem" timeout 7200 "$veil" query run --query "$tag.json" \
        --party education --identity id/education --key bureau.pub --input "edu-$ne.csv" \
        "${targs[@]}" >"$tag-education.log" 2>&1 &
    pid[education]=$!
    pids+=($!)
    /usr/bin/time -f '%M' -o "$tag-tax.mem" timeout 7200 "$veil" query run --query "$tag.json" \
        --party tax --identity id/tax --key bureau.pub --input "tax-$nt.csv" \
        "${targs[@]}" >"$tag-tax.log" 2>&1 &
    pid[tax]=$!
    pids+=($!)
    /usr/bin/time -f '%M' -o "$tag-bureau.mem" timeout 7200 "$veil" query run --query "$tag.json" \
        --party bureau --identity id/bureau --key bureau.key --out "$tag.csv" \
        "${targs[@]}" >"$tag-bureau.log" 2>&1 &
    pid[bureau]=$!
    pids+=($!)
    for p in education tax bureau; do
        wait "${pid[$p]}" || { rc=$?; echo "FAILED" >&2; tail -n 5 "$tag-$p.log" >&2; die "$tag: $p exited $rc"; }
    done
    t1=$(now)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    python3 "$here/scripts/query_plain.py" "$tag.json" tax="tax-$nt.csv" education="edu-$ne.csv" \
        >"$tag.plain" 2>"$tag.plain.log" || die "$tag: the plaintext reference failed: $(cat "$tag.plain.log")"
    cmp -s "$tag.plain" "$tag.csv" || { diff -u "$tag.plain" "$tag.csv" | head -n 20 >&2; die "$tag: the released table differs from the plaintext answer"; }
    local psecs matched
    psecs=$(sed -n 's/^plaintext: \([0-9.]*\) s/\1/p' "$tag.plain.log")
    matched=$(grep '^\*total\*' "$tag.csv" | cut -d, -f3)
    local row="$c,$nt,$ne,$matched,$secs,$psecs"
    for p in education tax bureau; do
        row+=",$(party_field "$tag-$p.log" sent),$(party_field "$tag-$p.log" received),$(cat "$tag-$p.mem")"
    done
    results+=("$row")
    printf '%8.2f s  (plaintext %.3f s, %s matched, exact)\n' "$secs" "$psecs" "$matched" >&2
}

echo "== runs (each table is checked against the plaintext answer)" >&2
for n in $sizes; do
    [[ $big =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || { echo "bench_query.sh: --big: '$big' is not TAX:EDU row counts" >&2; exit 2; }
for c in $cases; do
        run_case "$c" "$n" "$n"
    done
done
if [ "$full" = 1 ]; then run_case sum "${big%%:*}" "${big##*:}"; fi

header="case,tax_rows,education_rows,matched,seconds,plaintext_seconds"
for p in education tax bureau; do header+=",${p}_sent,${p}_received,${p}_peak_kib"; done
cpus=$(nproc)
load=$(cut -d' ' -f1 /proc/loadavg)
{
    echo
    printf 'veil query, end to end: 3 processes on 127.0.0.1 (%s CPUs, load %s), 2048-bit Paillier key\n' "$cpus" "$load"
    printf '%-8s %10s %10s %9s %9s %10s %7s %12s %12s %12s %8s %8s\n' case tax edu matched "time s" \
        "plain s" ratio "edu sent" "edu recv" "tax sent" "edu MiB" "tax MiB"
    for r in "${results[@]}"; do
        IFS=, read -r c nt ne m s ps es er em ts tr tm bs br bm <<<"$r"
        printf '%-8s %10s %10s %9s %9.2f %10.3f %7.1f %12s %12s %12s %8s %8s\n' "$c" "$nt" "$ne" "$m" \
            "$s" "$ps" "$(awk -v a="$s" -v b="$ps" 'BEGIN {print a / b}')" "$es" "$er" "$ts" \
            "$((em / 1024))" "$((tm / 1024))"
    done
}
write_out() { # atomically: temp file in the same directory, then rename
    local tmp="$1.tmp.$$"
    cat >"$tmp" && mv -f "$tmp" "$1"
}
if [ -n "$csv" ]; then
    { echo "$header"; printf '%s\n' "${results[@]}"; } | write_out "$csv"
fi
if [ -n "$json" ]; then
    python3 - "$header" "$cpus" "$load" "${results[@]}" <<'EOF' | write_out "$json"
import json, sys
keys = sys.argv[1].split(",")
rows = []
for r in sys.argv[4:]:
    d = dict(zip(keys, r.split(",")))
    rows.append({k: (v if k == "case" else float(v) if "." in v else int(v)) for k, v in d.items()})
print(json.dumps({"benchmark": "query", "cpus": int(sys.argv[2]), "load_average": float(sys.argv[3]),
                  "runs": rows}, indent=1))
EOF
fi
exit 0
