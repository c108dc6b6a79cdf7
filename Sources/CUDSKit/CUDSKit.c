#define _GNU_SOURCE
#include "CUDSKit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <string.h>
#include <spawn.h>
#include <sys/uio.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif
#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC 0
#endif

/* At most this many descriptors travel with one message (Linux's SCM_MAX_FD). */
#define CUDSKIT_MAX_PASSED 253

#if defined(__linux__)
#define CUDSKIT_CREDENTIALS_SPACE CMSG_SPACE(sizeof(struct ucred))
#else
#define CUDSKIT_CREDENTIALS_SPACE 0
#endif

long cudskit_send_with_descriptors(int fd, const void *buffer, unsigned long length, const int *fds, int nfds,
                                   int dontwait) {
    if (nfds > 0 && length == 0) {  // on a stream, descriptors travel with a byte
        errno = EINVAL;
        return -1;
    }
    return cudskit_send_message(fd, buffer, length, fds, nfds, NULL, 0, dontwait);
}

long cudskit_send_message(int fd, const void *buffer, unsigned long length, const int *fds, int nfds,
                          const void *address, unsigned int address_length, int dontwait) {
    if (nfds < 0 || nfds > CUDSKIT_MAX_PASSED) {
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
    message.msg_name = (void *)address;
    message.msg_namelen = address ? address_length : 0;
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
    struct cudskit_received info;
    long received = cudskit_receive_message(fd, buffer, length, fds, max_fds, NULL, 0, 0, &info);
    *nfds = info.descriptor_count;
    *truncated = info.descriptors_truncated;
    return received;
}

long cudskit_receive_message(int fd, void *buffer, unsigned long length, int *fds, int max_fds, void *address,
                             unsigned int address_capacity, int options, struct cudskit_received *info) {
    struct iovec iov = {.iov_base = buffer, .iov_len = length};
    union {
        char bytes[CMSG_SPACE(sizeof(int) * CUDSKIT_MAX_PASSED) + CUDSKIT_CREDENTIALS_SPACE];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    memset(info, 0, sizeof *info);
    info->process_id = -1;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_name = address;
    message.msg_namelen = address ? address_capacity : 0;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    // MSG_TRUNC on a packet socket returns the packet's real length; on a stream it would discard bytes.
    int flags = MSG_CMSG_CLOEXEC | ((options & CUDSKIT_RECEIVE_PACKET) ? MSG_TRUNC : 0)
        | ((options & CUDSKIT_RECEIVE_DONTWAIT) ? MSG_DONTWAIT : 0);
    ssize_t received;
    do {
        received = recvmsg(fd, &message, flags);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return received;
    info->descriptors_truncated = (message.msg_flags & MSG_CTRUNC) ? 1 : 0;
    info->message_truncated = (message.msg_flags & MSG_TRUNC) ? 1 : 0;
    info->address_length = address ? message.msg_namelen : 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET) continue;
#if defined(__linux__)
        if (header->cmsg_type == SCM_CREDENTIALS && header->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
            struct ucred credentials;
            memcpy(&credentials, CMSG_DATA(header), sizeof credentials);
            info->has_credentials = 1;
            info->process_id = credentials.pid;
            info->user_id = credentials.uid;
            info->group_id = credentials.gid;
            continue;
        }
#endif
        if (header->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int passed[CUDSKIT_MAX_PASSED];
        if (count > CUDSKIT_MAX_PASSED) count = CUDSKIT_MAX_PASSED;
        memcpy(passed, CMSG_DATA(header), sizeof(int) * count);  // CMSG_DATA need not be aligned for int
        for (int i = 0; i < count; i++) {
            if (info->descriptor_count < max_fds) {
                fds[info->descriptor_count++] = passed[i];
            } else {
                close(passed[i]);
                info->descriptors_truncated = 1;
            }
        }
    }
    return received;
}

int cudskit_set_pass_credentials(int fd) {
#if defined(__linux__)
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
#else
    (void)fd;
    return 0;
#endif
}

int cudskit_send_buffer_size(int fd) {
    int size = 0;
    socklen_t length = sizeof size;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &length) != 0) return -1;
    return size;
}

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>

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
    return epoll_ctl(epfd, op, fd, &event);
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

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

int cudskit_peer_groups(int fd, uint32_t *groups, int capacity) {
    socklen_t length = (socklen_t)(capacity > 0 ? capacity : 0) * sizeof(uint32_t);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, capacity > 0 ? groups : NULL, &length) != 0) {
        if (errno == ERANGE) return (int)(length / sizeof(uint32_t));  // more than capacity: this many
        return -1;
    }
    return (int)(length / sizeof(uint32_t));
}

int cudskit_own_pidfd_inode(uint64_t *inode) {
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pidfd < 0) return -1;
    struct stat status;
    int result = fstat(pidfd, &status);
    int saved = errno;
    close(pidfd);
    if (result != 0) {
        errno = saved;
        return -1;
    }
    *inode = (uint64_t)status.st_ino;
    return 0;
}

int cudskit_socket_fchmod(int fd, unsigned int mode) { return fchmod(fd, (mode_t)mode); }

int cudskit_socket_fchown_group(int fd, uint32_t gid) { return fchown(fd, (uid_t)-1, (gid_t)gid); }

#else  // Darwin and others: no epoll; the server's reactor is Linux-only for now.
#include <sys/param.h>
#include <sys/ucred.h>
#include <sys/un.h>

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

/* Not built on Linux; written against <sys/ucred.h>: LOCAL_PEERCRED fills a struct xucred whose cr_groups holds
   cr_ngroups IDs (at most NGROUPS, 16), the effective group first. */
int cudskit_peer_groups(int fd, uint32_t *groups, int capacity) {
    struct xucred credentials;
    socklen_t length = sizeof credentials;
    memset(&credentials, 0, sizeof credentials);
    if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &credentials, &length) != 0) return -1;
    if (credentials.cr_version != XUCRED_VERSION) {
        errno = EINVAL;
        return -1;
    }
    int count = credentials.cr_ngroups;
    if (count < 0) count = 0;
    if (count > NGROUPS) count = NGROUPS;
    for (int i = 0; i < count && i < capacity; i++) groups[i] = (uint32_t)credentials.cr_groups[i];
    return count;
}

int cudskit_own_pidfd_inode(uint64_t *inode) {
    (void)inode;
    errno = ENOSYS;
    return -1;
}

int cudskit_socket_fchmod(int fd, unsigned int mode) {
    (void)fd;
    (void)mode;
    errno = ENOSYS;  // fchmod on a socket does nothing useful before bind here: the file takes the umask's mode
    return -1;
}

int cudskit_socket_fchown_group(int fd, uint32_t gid) {
    (void)fd;
    (void)gid;
    errno = ENOSYS;
    return -1;
}
#endif

int cudskit_pipe_cloexec(int fds[2]) {
#ifdef __linux__
    return pipe2(fds, O_CLOEXEC);
#else
    /* No pipe2 before macOS 15: a spawn on another thread may inherit these until FD_CLOEXEC is set, unless it
       uses POSIX_SPAWN_CLOEXEC_DEFAULT (as uds does). */
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int cudskit_spawn_close_from(posix_spawn_file_actions_t *actions, int lowfd) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return posix_spawn_file_actions_addclosefrom_np(actions, lowfd);
#else
    (void)actions;
    (void)lowfd;
    return ENOSYS;
#endif
}

int cudskit_spawn_chdir(posix_spawn_file_actions_t *actions, const char *path) {
#if (defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))) || defined(__APPLE__)
    return posix_spawn_file_actions_addchdir_np(actions, path);
#else
    (void)actions;
    (void)path;
    return ENOSYS;
#endif
}

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
