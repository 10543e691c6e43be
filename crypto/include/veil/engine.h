/* Choice of the arithmetic engine for batch Paillier operations.
 *
 * On x86-64 CPUs with AVX512-IFMA, the batch calls of veil/batch.h run
 * eight values at a time through a multi-buffer Montgomery engine (eight
 * 52-bit-radix multiplications per instruction sequence); elsewhere, and
 * when the scalar engine is selected, they use the one-value-at-a-time code.
 * Both give the same results (decryption and scalar multiplication bit for
 * bit; encryption draws fresh randomness either way).
 *
 * The setting is process-wide because the CPU it describes is: a program
 * picks it once at start-up (the veil command reads VEIL_ENGINE=scalar|auto;
 * the library itself reads no environment). Changing it while batch calls
 * run on other threads is safe: each call reads it once. */
#ifndef VEIL_ENGINE_H
#define VEIL_ENGINE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VEIL_ENGINE_AUTO = 0,  /* the IFMA engine when the CPU has it (default) */
    VEIL_ENGINE_SCALAR = 1 /* always the scalar code */
} veil_engine;

void veil_engine_select(veil_engine e);
veil_engine veil_engine_selected(void);
/* "ifma" when batch calls use the multi-buffer engine now, "scalar" if not. */
const char *veil_engine_name(void);
/* 1 when the build and this CPU support the IFMA engine, whatever the
 * selection. */
int veil_engine_ifma_supported(void);
/* "auto" / "ifma" -> AUTO, "scalar" -> SCALAR, NULL or "" -> AUTO; 0 on
 * success, -1 for anything else (out is left alone). */
int veil_engine_parse(const char *s, veil_engine *out);

#ifdef __cplusplus
}
#endif
#endif
