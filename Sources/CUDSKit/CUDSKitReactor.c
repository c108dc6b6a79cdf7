#define _GNU_SOURCE
#include "CUDSKitReactor.h"

#include <poll.h>

#include <pthread.h>

#if defined(__linux__)
#include <sys/epoll.h>
const short cudskit_pollrdhup = POLLRDHUP;
const int cudskit_epoll_ctl_add = EPOLL_CTL_ADD;
const int cudskit_epoll_ctl_del = EPOLL_CTL_DEL;
const int cudskit_epoll_ctl_mod = EPOLL_CTL_MOD;
#else
const short cudskit_pollrdhup = 0;
const int cudskit_epoll_ctl_add = 0;
const int cudskit_epoll_ctl_del = 0;
const int cudskit_epoll_ctl_mod = 0;
#endif

uintptr_t cudskit_current_thread(void) { return (uintptr_t)pthread_self(); }
