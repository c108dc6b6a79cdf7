#define _GNU_SOURCE
#include "CUDSKit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <string.h>
#include <sys/uio.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC 0
#endif

/* At most this many descriptors travel with one message (Linux's SCM_MAX_FD). */
#define CUDSKIT_MAX_PASSED 253

long cudskit_send_with_descriptors(int fd, const void *buffer, unsigned long length, const int *fds, int nfds,
                                   int dontwait) {
    if (nfds < 0 || nfds > CUDSKIT_MAX_PASSED || (nfds > 0 && length == 0)) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {.iov_base = (void *)buffer, .iov_len = length};
    union {
        char bytes[CMSG_SPACE(sizeof(int) * CUDSKIT_MAX_PASSED)];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * nfds);
    }
    ssize_t sent;
    do {
        sent = sendmsg(fd, &message, MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
    } while (sent < 0 && errno == EINTR);
    return sent;
}

long cudskit_receive_with_descriptors(int fd, void *buffer, unsigned long length, int *fds, int max_fds, int *nfds,
                                      int *truncated) {
    struct iovec iov = {.iov_base = buffer, .iov_len = length};
    union {
        char bytes[CMSG_SPACE(sizeof(int) * CUDSKIT_MAX_PASSED)];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    ssize_t received;
    do {
        received = recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    *nfds = 0;
    *truncated = (message.msg_flags & MSG_CTRUNC) ? 1 : 0;
    if (received < 0) return received;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *passed = (int *)CMSG_DATA(header);
        for (int i = 0; i < count; i++) {
            if (*nfds < max_fds) {
                fds[(*nfds)++] = passed[i];
            } else {
                close(passed[i]);
                *truncated = 1;
            }
        }
    }
    return received;
}

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sched.h>

int cudskit_has_epoll(void) { return 1; }

const uint32_t cudskit_epollin = EPOLLIN;
const uint32_t cudskit_epollout = EPOLLOUT;
const uint32_t cudskit_epollerr = EPOLLERR;
const uint32_t cudskit_epollhup = EPOLLHUP;
const uint32_t cudskit_epollrdhup = EPOLLRDHUP;
const uint32_t cudskit_epollexclusive = EPOLLEXCLUSIVE;

int cudskit_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cudskit_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = data;
    int how = op == 1 ? EPOLL_CTL_ADD : op == 2 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    return epoll_ctl(epfd, how, fd, &event);
}

int cudskit_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event ready[256];
    if (max > 256) max = 256;
    int count = epoll_wait(epfd, ready, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        data[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

int cudskit_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int cudskit_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t written;
    do { written = write(fd, &one, sizeof one); } while (written < 0 && errno == EINTR);
    return written == sizeof one || errno == EAGAIN ? 0 : -1;
}

int cudskit_eventfd_drain(int fd) {
    uint64_t value;
    ssize_t got;
    do { got = read(fd, &value, sizeof value); } while (got < 0 && errno == EINTR);
    return got < 0 && errno != EAGAIN ? -1 : 0;
}

int cudskit_open_directory_path(const char *path) { return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); }

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int cudskit_peer_pidfd(int fd) {
    int pidfd = -1;
    socklen_t length = sizeof pidfd;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &length) != 0) return -1;
    return pidfd;
}

int cudskit_usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}

int cudskit_accept_nonblocking(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int cudskit_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred cred;
    socklen_t length = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

#else  // Darwin and others: no epoll; the server's reactor is Linux-only for now.

int cudskit_has_epoll(void) { return 0; }
const uint32_t cudskit_epollin = 1, cudskit_epollout = 4, cudskit_epollerr = 8, cudskit_epollhup = 16,
               cudskit_epollrdhup = 0x2000, cudskit_epollexclusive = 1u << 28;
int cudskit_epoll_create(void) { errno = ENOSYS; return -1; }
int cudskit_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) { errno = ENOSYS; return -1; }
int cudskit_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms) { errno = ENOSYS; return -1; }
int cudskit_eventfd(void) { errno = ENOSYS; return -1; }
int cudskit_eventfd_signal(int fd) { errno = ENOSYS; return -1; }
int cudskit_eventfd_drain(int fd) { errno = ENOSYS; return -1; }

int cudskit_usable_cpus(void) { return 0; }

int cudskit_peer_pidfd(int fd) { errno = ENOSYS; return -1; }

int cudskit_open_directory_path(const char *path) { return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

int cudskit_accept_nonblocking(int fd) {
    int accepted = accept(fd, NULL, NULL);
    if (accepted >= 0) {
        fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK);
        fcntl(accepted, F_SETFD, FD_CLOEXEC);
        int one = 1;
        setsockopt(accepted, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    }
    return accepted;
}

int cudskit_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    uid_t u; gid_t g;
    if (getpeereid(fd, &u, &g) != 0) return -1;
    *pid = -1; *uid = u; *gid = g;
    return 0;
}
#endif

/* Thread Sanitizer annotations: real only when this file is built with TSan (swift build --sanitize=thread builds
   C targets with -fsanitize=thread too), so that other builds neither need nor reference the TSan runtime. */
#if defined(__SANITIZE_THREAD__)
#define CUDSKIT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CUDSKIT_TSAN 1
#endif
#endif

#ifdef CUDSKIT_TSAN
void __tsan_release(void *address);
void __tsan_acquire(void *address);
void cudskit_tsan_release(const void *address) { __tsan_release((void *)address); }
void cudskit_tsan_acquire(const void *address) { __tsan_acquire((void *)address); }
#else
void cudskit_tsan_release(const void *address) { (void)address; }
void cudskit_tsan_acquire(const void *address) { (void)address; }
#endif
