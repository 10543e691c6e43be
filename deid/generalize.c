/* Numeric intervals, top/bottom coding and date truncation. */
#include "veil/generalize.h"

#include <gmp.h>
#include <stdlib.h>
#include <string.h>

#include "veil/fixed.h"
#include "veil/resident_id.h"

struct veil_gen_num {
    unsigned scale;
    int has_w, has_top, has_bottom;
    mpz_t w, origin, top, bottom, v, lo;
    char *top_text, *bottom_text;
};

void veil_gen_num_free(veil_gen_num *g)
{
    if (g == NULL)
        return;
    mpz_clears(g->w, g->origin, g->top, g->bottom, g->v, g->lo, NULL);
    free(g->top_text);
    free(g->bottom_text);
    free(g);
}

static veil_status parse(mpz_t out, const char *text, unsigned scale, const char *what,
                         veil_err *err)
{
    veil_status st = veil_fixed_parse(out, text, strlen(text), scale, err);
    return st == VEIL_OK ? st : veil_err_prefix(err, "\"%s\"", what);
}

veil_status veil_gen_num_new(veil_gen_num **out, const char *interval, const char *origin,
                             const char *top, const char *bottom, unsigned scale, veil_err *err)
{
    *out = NULL;
    if (interval == NULL && top == NULL && bottom == NULL)
        return veil_err_set(err, VEIL_ERR_USAGE,
                            "numeric generalization needs \"interval\", \"top\" or \"bottom\"");
    if (scale > VEIL_SCALE_MAX)
        return veil_err_set(err, VEIL_ERR_USAGE, "\"scale\" %u is above %d", scale, VEIL_SCALE_MAX);
    veil_gen_num *g = calloc(1, sizeof *g);
    if (g == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    mpz_inits(g->w, g->origin, g->top, g->bottom, g->v, g->lo, NULL);
    g->scale = scale;
    veil_status st = VEIL_OK;
    if (interval != NULL && (st = parse(g->w, interval, scale, "interval", err)) == VEIL_OK) {
        g->has_w = 1;
        if (mpz_sgn(g->w) <= 0)
            st = veil_err_set(err, VEIL_ERR_USAGE, "\"interval\" must be positive");
    }
    if (st == VEIL_OK && origin != NULL)
        st = parse(g->origin, origin, scale, "origin", err);
    if (st == VEIL_OK && top != NULL && (st = parse(g->top, top, scale, "top", err)) == VEIL_OK) {
        g->has_top = 1;
        if ((g->top_text = veil_fixed_format(g->top, scale)) == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    if (st == VEIL_OK && bottom != NULL &&
        (st = parse(g->bottom, bottom, scale, "bottom", err)) == VEIL_OK) {
        g->has_bottom = 1;
        if ((g->bottom_text = veil_fixed_format(g->bottom, scale)) == NULL)
            st = veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    }
    if (st == VEIL_OK && g->has_top && g->has_bottom && mpz_cmp(g->bottom, g->top) >= 0)
        st = veil_err_set(err, VEIL_ERR_USAGE, "\"bottom\" must be below \"top\"");
    if (st != VEIL_OK) {
        veil_gen_num_free(g);
        return st;
    }
    *out = g;
    return VEIL_OK;
}

static veil_status append_num(veil_deid_buf *out, const mpz_t v, unsigned scale, veil_err *err)
{
    char *s = veil_fixed_format(v, scale);
    if (s == NULL)
        return veil_err_set(err, VEIL_ERR_NOMEM, "out of memory");
    veil_status st = veil_deid_buf_append(out, s, strlen(s), err);
    free(s);
    return st;
}

veil_status veil_gen_num_apply(veil_deid_buf *out, veil_gen_num *g, const char *in, size_t len,
                               veil_err *err)
{
    veil_deid_buf_reset(out);
    veil_status st = veil_fixed_parse(g->v, in, len, g->scale, err);
    if (st != VEIL_OK)
        return st;
    if (g->has_top && mpz_cmp(g->v, g->top) >= 0) {
        if ((st = veil_deid_buf_append(out, ">=", 2, err)) != VEIL_OK)
            return st;
        return veil_deid_buf_append(out, g->top_text, strlen(g->top_text), err);
    }
    if (g->has_bottom && mpz_cmp(g->v, g->bottom) < 0) {
        if ((st = veil_deid_buf_append(out, "<", 1, err)) != VEIL_OK)
            return st;
        return veil_deid_buf_append(out, g->bottom_text, strlen(g->bottom_text), err);
    }
    if (!g->has_w)
        return veil_deid_buf_append(out, in, len, err);
    mpz_sub(g->lo, g->v, g->origin);
    mpz_fdiv_q(g->lo, g->lo, g->w);
    mpz_mul(g->lo, g->lo, g->w);
    mpz_add(g->lo, g->lo, g->origin);
    if ((st = veil_deid_buf_append(out, "[", 1, err)) != VEIL_OK ||
        (st = append_num(out, g->lo, g->scale, err)) != VEIL_OK ||
        (st = veil_deid_buf_append(out, ",", 1, err)) != VEIL_OK)
        return st;
    mpz_add(g->lo, g->lo, g->w);
    if ((st = append_num(out, g->lo, g->scale, err)) != VEIL_OK)
        return st;
    return veil_deid_buf_append(out, ")", 1, err);
}

veil_status veil_gen_date(veil_deid_buf *out, veil_date_level level, const char *in, size_t len,
                          veil_err *err)
{
    veil_deid_buf_reset(out);
    int ok = len == 10 && in[4] == '-' && in[7] == '-';
    for (size_t i = 0; ok && i < 10; i++)
        if (i != 4 && i != 7 && (in[i] < '0' || in[i] > '9'))
            ok = 0;
    if (ok) {
        int y = (in[0] - '0') * 1000 + (in[1] - '0') * 100 + (in[2] - '0') * 10 + (in[3] - '0');
        unsigned m = (unsigned)((in[5] - '0') * 10 + (in[6] - '0'));
        unsigned d = (unsigned)((in[8] - '0') * 10 + (in[9] - '0'));
        ok = veil_date_valid(y, m, d);
    }
    if (!ok)
        return veil_err_set(err, VEIL_ERR_INPUT, "not a date YYYY-MM-DD");
    size_t keep = level == VEIL_DATE_YEAR ? 4 : level == VEIL_DATE_MONTH ? 7 : 10;
    return veil_deid_buf_append(out, in, keep, err);
}
