/* systemd's readiness protocol, without libsystemd: one datagram to NOTIFY_SOCKET. */
#ifndef QIE_PLATFORM_SD_NOTIFY_H
#define QIE_PLATFORM_SD_NOTIFY_H

#include <stddef.h>

/* Sends `message` (e.g. "READY=1", several assignments separated by newlines) as one
 * datagram to the unix socket `socket_path` (a leading '@' names an abstract
 * socket). Returns 0, or -1 with a reason in err. */
int qie_sd_notify(const char* socket_path, const char* message, char* err, size_t err_len);

#endif
