#!/usr/bin/env bash
# cmake --install into a temporary prefix, then build a program against the
# installed headers and libraries through pkg-config, shared and static,
# and check its answer: -12.50 + 10000.00 computed under encryption.
set -euo pipefail
veil="$1"
build="$(cd "$(dirname "$veil")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
libdir=$(find "$work/prefix" -name veil_crypto.pc -printf '%h\n' | head -n 1)
test -n "$libdir" || { echo "veil_crypto.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$libdir"
test -f "$work/prefix/include/veil/paillier.h" || { echo "headers not installed"; exit 1; }

# A sanitizer build installs instrumented libraries: build the program alike.
san=""
if grep -q '^VEIL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  san="-fsanitize=address,undefined"
fi

cat > "$work/app.c" <<'C'
#include <stdio.h>
#include <veil/encrypted.h>
int main(void)
{
    veil_err e;
    veil_paillier_priv *sk;
    if (veil_paillier_keygen(&sk, 2048, 1, &e) != VEIL_OK)
        return fprintf(stderr, "%s\n", e.msg), 1;
    const veil_paillier_pub *pk = veil_paillier_priv_pub(sk);
    veil_enc a, b;
    veil_enc_init(&a);
    veil_enc_init(&b);
    mpz_t v, w, bound;
    mpz_init_set_si(v, -1250);
    mpz_init_set_si(w, 1000000);
    mpz_init_set_ui(bound, 1000000);
    if (veil_enc_encrypt(&a, pk, v, 2, bound, &e) || veil_enc_encrypt(&b, pk, w, 2, bound, &e) ||
        veil_enc_add(&a, pk, &a, &b, &e) || veil_enc_decrypt(v, sk, &a, &e))
        return fprintf(stderr, "%s\n", e.msg), 1;
    gmp_printf("%Zd\n", v);
    veil_enc_clear(&a);
    veil_enc_clear(&b);
    mpz_clears(v, w, bound, NULL);
    veil_paillier_priv_free(sk);
    return 0;
}
C
cc -std=c11 $san "$work/app.c" $(pkg-config --cflags --libs veil_crypto) \
   -Wl,-rpath,"$(pkg-config --variable=libdir veil_crypto)" -o "$work/app-shared"
cc -std=c11 $san "$work/app.c" $(pkg-config --cflags veil_crypto) \
   "$(pkg-config --variable=libdir veil_crypto)/libveil_crypto.a" \
   $(pkg-config --libs --static veil_crypto | sed 's/-lveil_crypto//') -o "$work/app-static"
for app in app-shared app-static; do
  got=$("$work/$app")
  if [ "$got" != "998750" ]; then
    echo "$app printed '$got', expected 998750"
    exit 1
  fi
done
# The de-identification library's .pc pulls in veil_crypto.
pkg-config --libs veil_deid | grep -q -- -lveil_crypto
echo "1 passed, 0 failed"
