/* GB 11643 resident ID validation and format-preserving encryption. */
#include "veil/resident_id.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const int WEIGHTS[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char CHECK[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};

char veil_resident_id_check_char(const char *first17)
{
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (first17[i] - '0') * WEIGHTS[i];
    return CHECK[sum % 11];
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
long veil_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

void veil_civil_from_days(long z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = (long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

int veil_date_valid(int y, unsigned m, unsigned d)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

static unsigned digits(const char *s, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

veil_status veil_resident_id_validate(char out[VEIL_RESIDENT_ID_LEN + 1], const char *s, size_t len,
                                      veil_err *err)
{
    if (len != VEIL_RESIDENT_ID_LEN)
        return veil_err_set(err, VEIL_ERR_INPUT, "not a resident ID: %zu characters, not 18", len);
    for (int i = 0; i < 17; i++)
        if (s[i] < '0' || s[i] > '9')
            return veil_err_set(err, VEIL_ERR_INPUT,
                                "not a resident ID: character %d is not a digit", i + 1);
    char last = s[17] == 'x' ? 'X' : s[17];
    if (!((last >= '0' && last <= '9') || last == 'X'))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "not a resident ID: the check character is not a digit or X");
    if (s[0] == '0')
        return veil_err_set(err, VEIL_ERR_INPUT, "not a resident ID: region code starts with 0");
    int y = (int)digits(s + 6, 4);
    unsigned m = digits(s + 10, 2), d = digits(s + 12, 2);
    if (y < VEIL_RESIDENT_ID_YEAR_MIN || y > VEIL_RESIDENT_ID_YEAR_MAX || !veil_date_valid(y, m, d))
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "not a resident ID: birth date %.8s is not a date in 1900..2099",
                            s + 6);
    char want = veil_resident_id_check_char(s);
    if (want != last)
        return veil_err_set(err, VEIL_ERR_INPUT,
                            "not a resident ID: check character is %c, expected %c", last, want);
    memcpy(out, s, 17);
    out[17] = last;
    out[18] = '\0';
    return VEIL_OK;
}

static const long DAY0 = -25567; /* 1900-01-01 */

static uint32_t to_index(const char *id)
{
    int y = (int)digits(id + 6, 4);
    long day = veil_days_from_civil(y, digits(id + 10, 2), digits(id + 12, 2)) - DAY0;
    return (uint32_t)day * 1000u + digits(id + 14, 3);
}

static void from_index(char *id, uint32_t x)
{
    int y;
    unsigned m, d;
    veil_civil_from_days((long)(x / 1000u) + DAY0, &y, &m, &d);
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%04d%02u%02u%03u", y, m, d, x % 1000u);
    memcpy(id + 6, tmp, 11);
    id[17] = veil_resident_id_check_char(id);
    id[18] = '\0';
}

/* The FF1 tweak: region code, then the caller's tweak. */
static veil_status walk(char out[VEIL_RESIDENT_ID_LEN + 1], veil_ff1 *f, const char *id, size_t len,
                        const unsigned char *tweak, size_t tweak_len, int decrypt, veil_err *err)
{
    char canon[VEIL_RESIDENT_ID_LEN + 1];
    unsigned char tw[6 + 256];
    veil_status st = veil_resident_id_validate(canon, id, len, err);
    if (st != VEIL_OK)
        return st;
    if (veil_ff1_radix(f) != 10)
        return veil_err_set(err, VEIL_ERR_USAGE, "resident ID FPE needs a radix-10 FF1 key");
    if (tweak_len > 256)
        return veil_err_set(err, VEIL_ERR_USAGE, "resident ID FPE: tweak longer than 256 bytes");
    memcpy(tw, canon, 6);
    if (tweak_len > 0)
        memcpy(tw + 6, tweak, tweak_len);
    uint32_t x = to_index(canon);
    uint16_t num[8];
    /* Cycle walking: a permutation of [0, 10^8) restricted to the domain
     * by re-applying it until the value falls inside; expected 1.37 steps. */
    do {
        for (int i = 7; i >= 0; i--, x /= 10)
            num[i] = (uint16_t)(x % 10);
        st = decrypt ? veil_ff1_decrypt(num, f, num, 8, tw, 6 + tweak_len, err)
                     : veil_ff1_encrypt(num, f, num, 8, tw, 6 + tweak_len, err);
        if (st != VEIL_OK)
            return st;
        x = 0;
        for (int i = 0; i < 8; i++)
            x = x * 10 + num[i];
    } while (x >= VEIL_RESIDENT_ID_DOMAIN);
    memcpy(out, canon, 6);
    from_index(out, x);
    return VEIL_OK;
}

veil_status veil_resident_id_encrypt(char out[VEIL_RESIDENT_ID_LEN + 1], veil_ff1 *f,
                                     const char *id, size_t len, const unsigned char *tweak,
                                     size_t tweak_len, veil_err *err)
{
    return walk(out, f, id, len, tweak, tweak_len, 0, err);
}

veil_status veil_resident_id_decrypt(char out[VEIL_RESIDENT_ID_LEN + 1], veil_ff1 *f,
                                     const char *id, size_t len, const unsigned char *tweak,
                                     size_t tweak_len, veil_err *err)
{
    return walk(out, f, id, len, tweak, tweak_len, 1, err);
}
