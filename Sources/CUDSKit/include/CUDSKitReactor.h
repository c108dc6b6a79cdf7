// C declarations for the reactor that Swift's Glibc module does not export: the epoll_ctl operations and the
// calling thread's identity (for the reactor's in-loop assertion).
#ifndef CUDSKIT_REACTOR_H
#define CUDSKIT_REACTOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// EPOLL_CTL_ADD, EPOLL_CTL_DEL and EPOLL_CTL_MOD (0 where there is no epoll).
extern const int cudskit_epoll_ctl_add;
extern const int cudskit_epoll_ctl_del;
extern const int cudskit_epoll_ctl_mod;

/// POLLRDHUP (Linux; 0 elsewhere): Glibc's module leaves it out, as it needs _GNU_SOURCE.
extern const short cudskit_pollrdhup;

/// The calling thread, as `pthread_self()`, for comparing threads.
uintptr_t cudskit_current_thread(void);

#ifdef __cplusplus
}
#endif

#endif
