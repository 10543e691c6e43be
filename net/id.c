/* Party and session ids. */
#include <string.h>

#include "veil/net.h"

int veil_net_id_ok(const char *id, size_t max)
{
    size_t n = id == NULL ? 0 : strlen(id);
    if (n == 0 || n > max || id[0] == '.' || id[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}
