/* A plugin loaded with dlopen: has a constructor, TLS, data relocations, and calls back
 * into the host executable (which is linked with --export-dynamic). */
#include <stdio.h>
void host_log(const char *msg);
static int loaded;
static __thread int plugin_tls = 7;
static const char *const names[] = {"alpha", "beta", "gamma"};
__attribute__((constructor)) static void plugin_init(void) { loaded = 1; }
int plugin_compute(int x) {
    char msg[64];
    snprintf(msg, sizeof msg, "plugin computing %d (%s)", x, names[x % 3]);
    host_log(msg);
    plugin_tls += x;
    return x * 100 + loaded + plugin_tls;
}
