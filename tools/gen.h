/* Synthetic citizens for `veil gen` (tools/cmd_gen.c). */
#ifndef VEIL_GEN_H
#define VEIL_GEN_H

#include <stdint.h>

typedef struct {
    char id[19];        /* 18-character resident ID, NUL-terminated */
    const char *region; /* region lived in now */
    int birth_year;
    int male;
} veil_gen_person;

/* GB 11643-1999 check character ('0'-'9' or 'X') of 17 digits. */
char veil_gen_check_digit(const char *first17);
/* Citizen j of the population for `seed`; distinct j give distinct IDs. */
void veil_gen_citizen(veil_gen_person *p, uint64_t seed, uint64_t j);

#endif
