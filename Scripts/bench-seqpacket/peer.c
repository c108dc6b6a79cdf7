// The reference for seqpacket ping-pong: what plain C does, blocking, one thread per connection.
//   peer server PATH                 echo every packet back as one packet, until SIGTERM
//   peer client PATH COUNT SIZE      COUNT round trips of SIZE bytes; prints "round trips/s"
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_un address_of(const char *path) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    return address;
}

static void *echo(void *argument) {
    int fd = (int)(long)argument;
    static __thread char buffer[1 << 18];
    for (;;) {
        ssize_t got = recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0) break;
        if (send(fd, buffer, (size_t)got, MSG_NOSIGNAL) != got) break;
    }
    close(fd);
    return NULL;
}

static const char *socket_path;
static void stop(int signal) {
    (void)signal;
    unlink(socket_path);
    _exit(0);
}

static int serve(const char *path) {
    socket_path = path;
    signal(SIGTERM, stop);
    int listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = address_of(path);
    unlink(path);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        pthread_t thread;
        pthread_create(&thread, NULL, echo, (void *)(long)fd);
        pthread_detach(thread);
    }
}

static int client(const char *path, long count, long size) {
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = address_of(path);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("connect");
        return 1;
    }
    char *payload = malloc((size_t)size), *reply = malloc((size_t)size + 1);
    for (long i = 0; i < size; i++) payload[i] = (char)(i * 7);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) {
        if (send(fd, payload, (size_t)size, MSG_NOSIGNAL) != size) { perror("send"); return 1; }
        ssize_t got = recv(fd, reply, (size_t)size + 1, 0);
        if (got != size || memcmp(payload, reply, (size_t)size) != 0) { fprintf(stderr, "bad echo\n"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%.0f round trips/s\n", (double)count / seconds);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "server") == 0) return serve(argv[2]);
    if (argc == 5 && strcmp(argv[1], "client") == 0) return client(argv[2], atol(argv[3]), atol(argv[4]));
    fprintf(stderr, "usage: peer server PATH | peer client PATH COUNT SIZE\n");
    return 64;
}
