# Shared by tests/e2e_query.sh and tests/e2e_query_spool.sh (sourced after
# $veil and $src are set): a scratch directory removed on exit, the three
# departments' data, five identities, the key, and the helpers query,
# run_party, run_all and plain.
work=$(mktemp -d "${TMPDIR:-/tmp}/veil-e2e-${E2E_NAME:-query}-XXXXXX")
pids=()
cleanup() {
    [ -n "${KEEP:-}" ] && { echo "kept $work"; return; }
    # each pid is a `timeout` wrapper: kill the veil process under it too
    for p in "${pids[@]}"; do pkill -9 -P "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() {
    echo "FAIL: $*" >&2
    for f in *.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
    exit 1
}
ok() { echo "ok: $*"; }
LIMIT=300
N=${VEIL_E2E_QUERY_ROWS:-3000}

echo "== data, identities, key"
"$veil" gen --department tax --rows "$N" --seed 7 --out tax.csv
"$veil" gen --department social --rows "$N" --seed 7 --out social.csv
"$veil" gen --department education --rows "$N" --seed 7 --out education.csv
mkdir id
for p in tax social education bureau mallory; do
    "$veil" party init --id "$p" --dir "id/$p" >"id-$p.out"
    grep -o 'sha256:[0-9a-f]\{64\}' "id-$p.out" | head -n 1 >"id/$p.fp"
done
"$veil" keygen --public bureau.pub --private bureau.key >keygen.txt
"$veil" keygen --public other.pub --private other.key >/dev/null
key=$(sed -n 's/^fingerprint: //p' keygen.txt)
[ ${#key} = 64 ] || fail "keygen printed no fingerprint"
ok "3 departments x $N rows, 5 identities, key $key"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 12000))
        port_free "$p" && { echo "$p"; return; }
    done
    fail "no free port"
}

# query FILE ID MIN_COUNT STATS [EPSILON]; IO_TIMEOUT and QUERY_TIMEOUT
# (seconds) override the file's timeouts.
query() {
    local file=$1 id=$2 min=$3 stats=$4 eps=${5:-} port
    port=$(pick_port)
    local bounds='' epsl=''
    if [ -n "$eps" ]; then
        bounds=', "min": "-1000000", "max": "10000000"'
        epsl="\"epsilon\": \"$eps\","
    fi
    local thr=''
    [ -n "${THR:-}" ] && thr="\"threshold\": $THR,"
    cat >"$file" <<EOF
{"query": "$id", "key": "${QKEY:-$key}", "join_key": "resident_id",
 "departments": [
  {"id": "tax", "fingerprint": "$(cat id/tax.fp)",
   "values": [{"column": "income", "scale": 2$bounds}]},
  {"id": "social", "fingerprint": "$(cat id/social.fp)",
   "values": [{"column": "benefit", "scale": 2$bounds}]},
  {"id": "education", "fingerprint": "$(cat id/education.fp)",
   "address": "127.0.0.1:$port", "group_by": "level"}],
 "analyst": {"id": "bureau", "fingerprint": "$(cat id/bureau.fp)"},
 "statistics": $stats, "min_count": $min, $epsl $thr
 "timeouts": {"connect": 5, "io": ${IO_TIMEOUT:-60}, "query": ${QUERY_TIMEOUT:-240}}}
EOF
}

# run_party LOG PARTY ARGS... (in the background; pid appended to pids)
run_party() {
    local log=$1 party=$2
    shift 2
    timeout "$LIMIT" "$veil" query run --party "$party" --identity "id/$party" "$@" \
        >"$log" 2>&1 &
    pids+=($!)
}

# run_all QUERY TAG [EXTRA ARGS FOR DEPARTMENTS...]: every party; rc-TAG-PARTY files
run_all() {
    local q=$1 tag=$2
    shift 2
    local -A pid
    for d in education bureau tax social; do
        if [ $d = bureau ]; then
            sleep "${DEPT_DELAY:-0}"
            run_party "$tag-bureau.log" bureau --query "$q" --key bureau.key --out "$tag.csv" "$@"
            pid[bureau]=$!
            sleep "${DEPT_DELAY:-0}"
            continue
        fi
        local extra=()
        [ -n "${LEDGERS:-}" ] && extra=(--ledger "$d.ledger")
        run_party "$tag-$d.log" "$d" --query "$q" --key bureau.pub --input "$d.csv" "${extra[@]}" "$@"
        pid[$d]=$!
    done
    for p in education tax social bureau; do
        local rc=0
        wait "${pid[$p]}" || rc=$?
        echo "$rc" >"rc-$tag-$p"
    done
}

# The plaintext answer: sqlite3 on the same CSVs (scripts/query_plain.py),
# formatted as veil formats it (exact decimals, half away from zero).
plain() {
    python3 "$src/scripts/query_plain.py" "$1" tax=tax.csv social=social.csv \
        education=education.csv 2>>plain.log
}
