#!/usr/bin/env python3
"""Talks the framed protocol (a 4-byte big-endian length, then the payload) to a Unix-domain-socket server over one
connection with the socket module and struct, the way Python programs usually do.

    framed_client.py --path /tmp/app.sock a bb ccc                                 # one frame each, print replies
    framed_client.py --path /tmp/app.sock --count 100 --sizes 0,1,102400 --expect echo
    framed_client.py --path /tmp/app.sock --mode pipelined --count 10000 --sizes 0,300 --expect echo
    framed_client.py --path /tmp/app.sock --count 1000 --text --print               # "frame 0" … "frame 999"
    framed_client.py --path /tmp/app.sock --bad oversize --max-size 1000           # a bad frame beside a good one

Generated frame i of size s holds byte (7*i + j) mod 256 at offset j, or with --text, "frame i " repeated and cut to
s (just "frame i" without --sizes). Replies are checked against --expect: echo (the frame itself), ack (its byte count
in decimal and "\\n") or any. With --print each reply is printed on its own line; otherwise one summary line,
"ok frames=N bytes=B". In --mode pipelined a thread reads the replies while the main thread writes every frame, so
that neither side can block the other for good. A reply that does not match, or a connection that ends early, exits 1.

--bad oversize|truncated opens a good connection and checks a frame on it; opens a second connection and sends a
frame longer than --max-size, or part of a frame and then shuts down its writing side; reads that connection until
the server closes it; then checks another frame on the good connection (against --expect). It prints "pid P", then
"bad: eof" (or "bad: reset", or "bad: reply …") and "good: ok".
"""
import argparse
import os
import socket
import struct
import sys
import threading

MAX_FRAME = 64 << 20


def recv_exactly(sock, count):
    """Reads count bytes; returns fewer only if the stream ends first."""
    chunks = []
    while count > 0:
        chunk = sock.recv(min(count, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def read_frame(sock):
    """The next frame's payload; raises EOFError if the stream ends before a whole frame."""
    header = recv_exactly(sock, 4)
    if len(header) < 4:
        raise EOFError("the server closed the connection" if not header else "the stream ended inside a header")
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME:
        raise ValueError(f"reply frame of {length} bytes is too large")
    payload = recv_exactly(sock, length)
    if len(payload) < length:
        raise EOFError(f"reply cut short: {len(payload)} of {length} bytes")
    return payload


def generate(i, size, text):
    if text:
        base = b"frame %d" % i
        if size is None:
            return base
        return ((base + b" ") * (size // (len(base) + 1) + 1))[:size]
    return bytes((7 * i + j) & 0xFF for j in range(size)) if size < 4096 else fast_pattern(i, size)


def fast_pattern(i, size):
    cycle = bytes((7 * i + j) & 0xFF for j in range(256))
    return (cycle * (size // 256 + 1))[:size]


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(120)
    sock.connect(path)
    return sock


def expected(payload, expect):
    """The reply --expect asks for, or None for any."""
    if expect == "echo":
        return payload
    if expect == "ack":
        return b"%d\n" % len(payload)
    return None


def fail(message):
    sys.stdout.flush()
    print(f"framed_client: {message}", file=sys.stderr)
    sys.exit(1)


def exchange(args, frames):
    out = sys.stdout.buffer
    total = 0

    def check(i, reply):
        nonlocal total
        want = expected(frames[i], args.expect)
        if want is not None and reply != want:
            fail(f"reply {i}: got {len(reply)} bytes {reply[:40]!r}, want {len(want)} bytes {want[:40]!r}")
        total += len(reply)
        if args.print:
            out.write(reply + b"\n")

    with connect(args.path) as sock:
        if args.mode == "pingpong":
            for i, payload in enumerate(frames):
                sock.sendall(frame(payload))
                try:
                    reply = read_frame(sock)
                except (EOFError, OSError, ValueError) as error:
                    fail(f"read reply {i}: {error}")
                check(i, reply)
        else:
            replies = []
            failure = []

            def read_all():
                try:
                    for _ in frames:
                        replies.append(read_frame(sock))
                except (EOFError, OSError, ValueError) as error:
                    failure.append(error)

            reader = threading.Thread(target=read_all)
            reader.start()
            batch = []
            for payload in frames:
                batch.append(frame(payload))
                if len(batch) == 256:
                    sock.sendall(b"".join(batch))
                    batch = []
            sock.sendall(b"".join(batch))
            reader.join()
            for i, reply in enumerate(replies):
                check(i, reply)
            if failure:
                fail(f"read reply {len(replies)}: {failure[0]}")
    if not args.print:
        out.write(b"ok frames=%d bytes=%d\n" % (len(frames), total))


def bad_beside_good(args):
    print(f"pid {os.getpid()}", flush=True)
    with connect(args.path) as good:
        good.sendall(frame(b"before"))
        before = read_frame(good)
        with connect(args.path) as bad:
            if args.bad == "oversize":
                bad.sendall(struct.pack(">I", args.max_size + 1) + b"\0" * 100)
            else:
                bad.sendall(struct.pack(">I", 80) + b"\1\2\3")
                bad.shutdown(socket.SHUT_WR)
            try:
                rest = bad.recv(65536)
                print("bad: eof" if not rest else f"bad: reply {rest!r}", flush=True)
            except ConnectionResetError:
                print("bad: reset", flush=True)
        good.sendall(frame(b"after"))
        after = read_frame(good)
        for payload, reply in [(b"before", before), (b"after", after)]:
            want = expected(payload, args.expect)
            if want is not None and reply != want:
                fail(f"the good connection got {reply!r} for {payload!r}, want {want!r}")
    print("good: ok", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True)
    parser.add_argument("--mode", choices=["pingpong", "pipelined"], default="pingpong")
    parser.add_argument("--count", type=int, help="generate this many frames (instead of one per FRAME)")
    parser.add_argument("--sizes", help="comma-separated sizes of the generated frames, used in turn")
    parser.add_argument("--text", action="store_true", help='generate text frames ("frame i")')
    parser.add_argument("--expect", choices=["echo", "ack", "any"], default="any")
    parser.add_argument("--print", action="store_true", help="print each reply on its own line, not a summary")
    parser.add_argument("--bad", choices=["oversize", "truncated"])
    parser.add_argument("--max-size", type=int, default=1000, help="the server's frame limit, for --bad oversize")
    parser.add_argument("frames", nargs="*")
    args = parser.parse_args()

    if args.bad:
        return bad_beside_good(args)
    if args.count is not None:
        sizes = [int(size) for size in args.sizes.split(",")] if args.sizes else [None]
        if sizes[0] is None and not args.text:
            parser.error("binary frames need --sizes")
        frames = [generate(i, sizes[i % len(sizes)], args.text) for i in range(args.count)]
    else:
        frames = [f.encode() for f in args.frames]
    exchange(args, frames)


if __name__ == "__main__":
    main()
