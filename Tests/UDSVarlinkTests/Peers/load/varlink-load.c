// varlink-load: a load client that costs little per call, the same for every server in Scripts/bench-varlink.sh, so
// that the bench measures servers rather than a client library. Calls org.example.ping.Ping with raw socket writes:
//
//   varlink-load --socket PATH --protocol varlink|framed --window N --calls COUNT
//
// Window 1 is "awaited": one call written, its reply read, repeat. Window N > 1 is "pipelined": N calls written in ONE
// write, then their N replies read, repeat. Protocol varlink: NUL-terminated JSON; every reply must be
// {"parameters":{"pong":"<its ping>"}} (whitespace outside strings ignored), in order. Protocol framed: the same call
// text as the payload of a 4-byte big-endian length-prefixed frame, against an echo server; every echo must equal its
// request. Each call of a window carries its own ping ("0".."N-1"), so a reply out of order fails. Prints calls/s; a
// failed check prints to stderr and exits 1.
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "varlink-load: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static void write_all(int fd, const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t n = write(fd, bytes, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("write");
        bytes += n;
        count -= (size_t)n;
    }
}

// The reply with the whitespace outside strings removed, in place; returns its new length.
static size_t compact(char *text, size_t length) {
    size_t out = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped) escaped = 0;
            else if (c == '\\') escaped = 1;
            else if (c == '"') in_string = 0;
        } else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            continue;
        } else if (c == '"') {
            in_string = 1;
        }
        text[out++] = c;
    }
    return out;
}

int main(int argc, char **argv) {
    const char *path = NULL, *protocol = "varlink";
    long window = 1, calls = 50000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--socket")) path = argv[i + 1];
        else if (!strcmp(argv[i], "--protocol")) protocol = argv[i + 1];
        else if (!strcmp(argv[i], "--window")) window = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--calls")) calls = atol(argv[i + 1]);
        else { fprintf(stderr, "varlink-load: unknown flag %s\n", argv[i]); return 64; }
    }
    int framed = !strcmp(protocol, "framed");
    if (!path || window < 1 || calls < 1 || (!framed && strcmp(protocol, "varlink"))) {
        fprintf(stderr, "usage: varlink-load --socket PATH --protocol varlink|framed --window N --calls COUNT\n");
        return 64;
    }

    // The window's requests, back to back, and what each reply must be.
    size_t request_capacity = (size_t)window * 96, request_length = 0;
    char *requests = malloc(request_capacity);
    char **expected = calloc((size_t)window, sizeof *expected);
    size_t *expected_length = calloc((size_t)window, sizeof *expected_length);
    if (!requests || !expected || !expected_length) die("malloc");
    for (long i = 0; i < window; i++) {
        char call[80], reply[80];
        int call_length = snprintf(call, sizeof call, "{\"method\":\"org.example.ping.Ping\",\"parameters\":{\"ping\":\"%ld\"}}", i);
        if (framed) {
            uint32_t prefix = htonl((uint32_t)call_length);
            memcpy(requests + request_length, &prefix, 4);
            memcpy(requests + request_length + 4, call, (size_t)call_length);
            request_length += 4 + (size_t)call_length;
            expected[i] = strdup(call);
            expected_length[i] = (size_t)call_length;
        } else {
            memcpy(requests + request_length, call, (size_t)call_length + 1);  // with its NUL
            request_length += (size_t)call_length + 1;
            int reply_length = snprintf(reply, sizeof reply, "{\"parameters\":{\"pong\":\"%ld\"}}", i);
            expected[i] = strdup(reply);
            expected_length[i] = (size_t)reply_length;
        }
    }

    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    socklen_t address_length = sizeof address;
    if (path[0] == '@') {  // abstract
        size_t n = strlen(path);
        memcpy(address.sun_path + 1, path + 1, n - 1);
        address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    }

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (connect(fd, (struct sockaddr *)&address, address_length) < 0) die("connect");

    size_t buffer_capacity = 1 << 20, buffered = 0;
    char *buffer = malloc(buffer_capacity);
    if (!buffer) die("malloc");
    long done = 0;
    while (done < calls) {
        long n = window;
        if (calls - done < n) n = calls - done;
        // A last, shorter window writes the first n requests only.
        size_t length = request_length;
        if (n < window) {
            length = 0;
            for (long i = 0; i < n; i++) length += framed ? 4 + expected_length[i] : strlen(requests + length) + 1;
        }
        write_all(fd, requests, length);
        long answered = 0;
        size_t scanned = 0;
        while (answered < n) {
            // Take every whole reply buffered so far.
            for (;;) {
                size_t begin = scanned, reply_length;
                if (framed) {
                    if (buffered - scanned < 4) break;
                    uint32_t prefix;
                    memcpy(&prefix, buffer + scanned, 4);
                    reply_length = ntohl(prefix);
                    if (buffered - scanned - 4 < reply_length) break;
                    begin += 4;
                    scanned += 4 + reply_length;
                } else {
                    char *nul = memchr(buffer + scanned, 0, buffered - scanned);
                    if (!nul) break;
                    reply_length = (size_t)(nul - (buffer + scanned));
                    scanned += reply_length + 1;
                    reply_length = compact(buffer + begin, reply_length);
                }
                if (answered >= n) { errno = 0; die("a reply to no call"); }
                if (reply_length != expected_length[answered] ||
                    memcmp(buffer + begin, expected[answered], reply_length)) {
                    fprintf(stderr, "varlink-load: reply %ld: expected %s, got %.*s\n", done + answered,
                            expected[answered], (int)reply_length, buffer + begin);
                    return 1;
                }
                answered++;
            }
            if (answered == n) break;
            // Keep the partial reply at the front, and read more.
            memmove(buffer, buffer + scanned, buffered - scanned);
            buffered -= scanned;
            scanned = 0;
            if (buffered == buffer_capacity) { errno = 0; die("a reply longer than 1 MiB"); }
            ssize_t got = read(fd, buffer + buffered, buffer_capacity - buffered);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) die("read");
            if (got == 0) { errno = 0; die("the server closed the connection"); }
            buffered += (size_t)got;
        }
        if (scanned != buffered) { errno = 0; die("more replies than calls"); }
        buffered = 0;
        done += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("%.0f\n", (double)calls / seconds);
    close(fd);
    return 0;
}
