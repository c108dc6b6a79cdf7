// varlink-limit: the least a server can do per org.example.ping.Ping call, as the C row of Scripts/bench-varlink.sh
// (what the shared bench calls "the limit"): one connection at a time, blocking reads, no event loop, no JSON parser.
// Each NUL-terminated call is answered with {"parameters":{"pong":"<its ping>"}}, its ping copied from the first
// "ping":"…" in the call (no escapes). Everything else a server must do (IDL checks, other methods, errors, many
// connections) it does not, so no real server can beat it; a rate near it is a rate the kernel and the client set.
//
//   varlink-limit SOCKET-PATH
#define _GNU_SOURCE  // memmem
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "varlink-limit: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int write_all(int fd, const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t n = write(fd, bytes, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        bytes += n;
        count -= (size_t)n;
    }
    return 0;
}

// Appends the reply to the call in [call, call + length) to out; returns the reply's length.
static size_t reply(const char *call, size_t length, char *out) {
    static const char key[] = "\"ping\":\"";
    static const char head[] = "{\"parameters\":{\"pong\":\"";
    const char *ping = memmem(call, length, key, sizeof key - 1);
    size_t ping_length = 0;
    if (ping) {
        ping += sizeof key - 1;
        const char *end = memchr(ping, '"', (size_t)(call + length - ping));
        ping_length = end ? (size_t)(end - ping) : 0;
    }
    memcpy(out, head, sizeof head - 1);
    memcpy(out + sizeof head - 1, ping, ping_length);
    memcpy(out + sizeof head - 1 + ping_length, "\"}}", 4);  // with its NUL
    return sizeof head - 1 + ping_length + 4;
}

static void serve(int fd) {
    static char in[1 << 20], out[1 << 21];
    size_t held = 0;
    for (;;) {
        ssize_t n = read(fd, in + held, sizeof in - held);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        held += (size_t)n;
        size_t start = 0, written = 0;
        for (;;) {
            char *nul = memchr(in + start, 0, held - start);
            if (!nul) break;
            size_t length = (size_t)(nul - (in + start));
            if (written + length + 64 > sizeof out) break;
            written += reply(in + start, length, out + written);
            start += length + 1;
        }
        if (write_all(fd, out, written) < 0) return;
        memmove(in, in + start, held - start);
        held -= start;
        if (held == sizeof in) return;  // a call larger than the buffer: not a ping
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: varlink-limit SOCKET-PATH\n");
        return 2;
    }
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof address.sun_path) {
        fprintf(stderr, "varlink-limit: the path is too long\n");
        return 2;
    }
    strcpy(address.sun_path, argv[1]);
    unlink(argv[1]);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) die("bind");
    if (listen(listener, 16) < 0) die("listen");
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            die("accept");
        }
        serve(fd);
        close(fd);
    }
}
