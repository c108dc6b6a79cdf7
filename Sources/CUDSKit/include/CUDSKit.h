// C declarations that Swift's Glibc module does not export: epoll, eventfd, accept4, pipe2 and peer credentials.
// epoll_event is packed on x86_64, so Swift never touches it: these wrappers take and return plain values.
#ifndef CUDSKIT_H
#define CUDSKIT_H

#include <spawn.h>
#include <stdint.h>

#include "CUDSKitReactor.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Whether this platform has epoll (Linux). Elsewhere the functions below fail with ENOSYS.
int cudskit_has_epoll(void);

int cudskit_epoll_create(void);
/// op: cudskit_epoll_ctl_add, _del or _mod (CUDSKitReactor.h). events: bits as below.
int cudskit_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for events; fills data[i] and events[i] for each ready descriptor; returns how many, or -1.
int cudskit_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms);

extern const uint32_t cudskit_epollin;
extern const uint32_t cudskit_epollout;
extern const uint32_t cudskit_epollerr;
extern const uint32_t cudskit_epollhup;
extern const uint32_t cudskit_epollrdhup;
extern const uint32_t cudskit_epollexclusive;

/// A non-blocking event descriptor for waking a loop (eventfd on Linux).
int cudskit_eventfd(void);
int cudskit_eventfd_signal(int fd);
int cudskit_eventfd_drain(int fd);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC.
int cudskit_accept_nonblocking(int fd);

/// The peer's pid, uid and gid (SO_PEERCRED on Linux; getpeereid on Darwin, pid -1).
int cudskit_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);

#ifdef __cplusplus
}
#endif

#endif

#ifdef __cplusplus
extern "C" {
#endif
/// Opens a directory for use as a path prefix only (O_PATH | O_DIRECTORY | O_CLOEXEC on Linux): no read
/// permission on it is needed.
int cudskit_open_directory_path(const char *path);

/// Sends up to len bytes with the descriptors fds[0..<nfds] attached (SCM_RIGHTS); never raises SIGPIPE.
/// Returns the bytes sent, or -1 with errno.
long cudskit_send_with_descriptors(int fd, const void *buffer, unsigned long length, const int *fds, int nfds,
                                   int dontwait);

/// Receives up to length bytes and the descriptors that came with them (close-on-exec). Up to max_fds go into
/// fds and *nfds; any more are closed, and *truncated is set (also when the kernel cut the control data short,
/// MSG_CTRUNC). Returns the bytes received (0 at end of stream), or -1 with errno.
long cudskit_receive_with_descriptors(int fd, void *buffer, unsigned long length, int *fds, int max_fds, int *nfds,
                                      int *truncated);

/// What `cudskit_receive_message` learned besides the bytes.
struct cudskit_received {
    int descriptor_count;
    /// More descriptors came than max_fds (the rest were closed), or the kernel cut the control data (MSG_CTRUNC).
    int descriptors_truncated;
    /// A packet or datagram was longer than the buffer; the return value is its real length (MSG_TRUNC).
    int message_truncated;
    unsigned int address_length;
    /// The sender's credentials came with the message (SCM_CREDENTIALS, after SO_PASSCRED; Linux).
    int has_credentials;
    int32_t process_id;
    uint32_t user_id;
    uint32_t group_id;
};

/// Options for `cudskit_receive_message`.
#define CUDSKIT_RECEIVE_PACKET 1
#define CUDSKIT_RECEIVE_DONTWAIT 2

/// sendmsg of up to length bytes with descriptors fds[0..<nfds] (SCM_RIGHTS) to address (NULL: the connected peer);
/// never raises SIGPIPE. Returns the bytes sent, or -1 with errno.
long cudskit_send_message(int fd, const void *buffer, unsigned long length, const int *fds, int nfds,
                          const void *address, unsigned int address_length, int dontwait);

/// recvmsg into buffer, taking passed descriptors (close-on-exec; up to max_fds, the rest closed), the sender's
/// address (when address is not NULL) and credentials. With CUDSKIT_RECEIVE_PACKET, returns the packet's real
/// length even when it was longer than length (then info->message_truncated is set and the rest is gone).
long cudskit_receive_message(int fd, void *buffer, unsigned long length, int *fds, int max_fds, void *address,
                             unsigned int address_capacity, int options, struct cudskit_received *info);

/// Asks the kernel to attach the sender's credentials to every message received on fd (SO_PASSCRED; no-op off Linux).
int cudskit_set_pass_credentials(int fd);

/// The socket's send buffer size in bytes (SO_SNDBUF), or -1.
int cudskit_send_buffer_size(int fd);

/// A pidfd for the peer process of a connected Unix socket (SO_PEERPIDFD, Linux 6.5+), close-on-exec; -1 with
/// errno where the kernel does not offer one.
int cudskit_peer_pidfd(int fd);

/// The peer's group IDs: supplementary groups on Linux (SO_PEERGROUPS, Linux 4.13+), the group list of
/// LOCAL_PEERCRED on Darwin (the effective group first, at most 16). Writes up to capacity of them into groups and
/// returns how many the peer has, which may be more than capacity (call again with room for that many); -1 with
/// errno.
int cudskit_peer_groups(int fd, uint32_t *groups, int capacity);

/// The inode number of a pidfd for this process (pidfd_open(getpid()) and fstat), which systemd passes as
/// LISTEN_PIDFDID. Returns 0, or -1 with errno (ENOSYS where there are no pidfds).
int cudskit_own_pidfd_inode(uint64_t *inode);

/// fchmod on a socket that is not bound yet: on Linux the socket file bind creates then has this mode (the
/// umask does not apply). Returns 0, or -1 with errno; ENOSYS off Linux.
int cudskit_socket_fchmod(int fd, unsigned int mode);

/// fchown(fd, -1, gid) on a socket that is not bound yet: on Linux the file bind creates then has this group.
/// Returns 0, or -1 with errno; ENOSYS off Linux.
int cudskit_socket_fchown_group(int fd, uint32_t gid);

/// The number of CPUs in this process's affinity mask (sched_getaffinity), or 0 if unknown.
int cudskit_usable_cpus(void);

/// A pipe whose ends are both close-on-exec (pipe2 with O_CLOEXEC on Linux): fds[0] reads, fds[1] writes.
/// Returns 0, or -1 with errno.
int cudskit_pipe_cloexec(int fds[2]);

/// Adds a file action that closes every descriptor from lowfd up in the child, close-on-exec or not
/// (posix_spawn_file_actions_addclosefrom_np, glibc 2.34 and later). Returns 0, or an error number: ENOSYS where the
/// C library lacks it.
int cudskit_spawn_close_from(posix_spawn_file_actions_t *actions, int lowfd);

/// Adds a file action that makes path the child's working directory (posix_spawn_file_actions_addchdir_np, glibc 2.29
/// and later, macOS 10.15 and later). Returns 0, or an error number: ENOSYS where the C library lacks it.
int cudskit_spawn_chdir(posix_spawn_file_actions_t *actions, const char *path);

/// Thread Sanitizer's happens-before annotations (__tsan_release, __tsan_acquire) on `address`: a release on one
/// thread makes everything it did before visible to an acquire of the same address on another, as far as TSan
/// knows. Empty functions unless this target is built with -fsanitize=thread. See ThreadSanitizer.swift for why.
void cudskit_tsan_release(const void *address);
void cudskit_tsan_acquire(const void *address);
#ifdef __cplusplus
}
#endif
