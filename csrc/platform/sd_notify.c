#include "sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int qie_sd_notify(const char* socket_path, const char* message, char* err, size_t err_len) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  const size_t len = strlen(socket_path);
  if (len < 2 || len >= sizeof addr.sun_path || (socket_path[0] != '/' && socket_path[0] != '@')) {
    snprintf(err, err_len, "NOTIFY_SOCKET '%s' is not an absolute or abstract socket path",
             socket_path);
    return -1;
  }
  memcpy(addr.sun_path, socket_path, len);
  if (socket_path[0] == '@') addr.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
  const socklen_t addr_len =
      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (socket_path[0] == '/' ? 1 : 0));

  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, err_len, "socket: %s", strerror(errno));
    return -1;
  }
  const size_t n = strlen(message);
  const ssize_t sent = sendto(fd, message, n, MSG_NOSIGNAL, (const struct sockaddr*)&addr, addr_len);
  const int saved = errno;
  close(fd);
  if (sent != (ssize_t)n) {
    snprintf(err, err_len, "sendto %s: %s", socket_path, sent < 0 ? strerror(saved) : "short write");
    return -1;
  }
  return 0;
}
