/* Chinese resident identity numbers (GB 11643-1999): 6-digit region code,
 * 8-digit birth date YYYYMMDD, 3-digit sequence (odd = male), and an
 * ISO 7064 MOD 11-2 check character '0'..'9' or 'X'.
 *
 * Format-preserving encryption keeps a number valid: the region code stays
 * in clear (it is the FF1 tweak, together with the caller's tweak), and the
 * pair (birth date, sequence) is encrypted as one number in the domain
 * [0, VEIL_RESIDENT_ID_DOMAIN) = days from 1900-01-01 to 2099-12-31
 * (73,049) x 1,000 sequences = 73,049,000 values (about 2^26.1), with FF1
 * over 8 decimal digits and cycle walking; the check character is then
 * recomputed. Decryption reverses the walk exactly. */
#ifndef VEIL_RESIDENT_ID_H
#define VEIL_RESIDENT_ID_H

#include <stddef.h>

#include "veil/error.h"
#include "veil/ff1.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VEIL_RESIDENT_ID_LEN      18
#define VEIL_RESIDENT_ID_DAYS     73049u
#define VEIL_RESIDENT_ID_DOMAIN   73049000u
#define VEIL_RESIDENT_ID_YEAR_MIN 1900
#define VEIL_RESIDENT_ID_YEAR_MAX 2099

/* Check character for the first 17 digits. */
char veil_resident_id_check_char(const char *first17);

/* Checks s (len bytes): 18 characters, 17 digits, a region not starting
 * with 0, a real calendar date in 1900..2099, and the check character
 * ('x' is accepted for 'X'). On success writes the canonical form
 * (upper-case X) and a NUL to out. The error (VEIL_ERR_INPUT) says why,
 * without file or line. */
veil_status veil_resident_id_validate(char out[VEIL_RESIDENT_ID_LEN + 1], const char *s, size_t len,
                                      veil_err *err) VEIL_WUR;

/* FPE of a valid ID with a radix-10 FF1 object; tweak may be empty. */
veil_status veil_resident_id_encrypt(char out[VEIL_RESIDENT_ID_LEN + 1], veil_ff1 *f,
                                     const char *id, size_t len, const unsigned char *tweak,
                                     size_t tweak_len, veil_err *err) VEIL_WUR;
veil_status veil_resident_id_decrypt(char out[VEIL_RESIDENT_ID_LEN + 1], veil_ff1 *f,
                                     const char *id, size_t len, const unsigned char *tweak,
                                     size_t tweak_len, veil_err *err) VEIL_WUR;

/* Days since 1970-01-01 of a proleptic Gregorian date, and back; and
 * whether y-m-d is a real date. Shared with date generalization. */
long veil_days_from_civil(int y, unsigned m, unsigned d);
void veil_civil_from_days(long z, int *y, unsigned *m, unsigned *d);
int veil_date_valid(int y, unsigned m, unsigned d);

#ifdef __cplusplus
}
#endif
#endif
