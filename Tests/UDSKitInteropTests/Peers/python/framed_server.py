#!/usr/bin/env python3
"""Answers the framed protocol (a 4-byte big-endian length, then the payload) on a Unix-domain socket with the socket
module and struct, the way Python programs usually do: a thread per connection reads frames and writes each one back
(or, with --ack, its byte count in decimal and "\\n") until the client closes; with --pieces N it writes each reply N
bytes at a time, so that the client's reads end anywhere in a frame, its header included. SIGTERM or SIGINT closes the
socket, removes its file and exits 0.

    framed_server.py --path /tmp/app.sock
    framed_server.py --path /tmp/app.sock --ack
    framed_server.py --path /tmp/app.sock --pieces 3
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading

MAX_FRAME = 64 << 20


def recv_exactly(conn, count):
    chunks = []
    while count > 0:
        chunk = conn.recv(min(count, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def serve(conn, ack, pieces):
    with conn:
        try:
            while True:
                header = recv_exactly(conn, 4)
                if len(header) < 4:
                    if header:
                        print("framed_server: the client closed inside a header", file=sys.stderr)
                    return
                (length,) = struct.unpack(">I", header)
                if length > MAX_FRAME:
                    print(f"framed_server: frame of {length} bytes is too large", file=sys.stderr)
                    return
                payload = recv_exactly(conn, length)
                if len(payload) < length:
                    print("framed_server: the client closed inside a frame", file=sys.stderr)
                    return
                reply = b"%d\n" % length if ack else payload
                framed = struct.pack(">I", len(reply)) + reply
                step = pieces or len(framed)
                for start in range(0, len(framed), step):
                    conn.sendall(framed[start : start + step])
        except OSError:
            pass  # the client went away


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True, help="the socket file to create (it must not exist)")
    parser.add_argument("--ack", action="store_true", help="reply with each frame's byte count instead of the frame")
    parser.add_argument("--pieces", type=int, default=0, help="write each reply this many bytes at a time")
    args = parser.parse_args()

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(args.path)
    try:
        listener.listen(128)
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn, args.ack, args.pieces), daemon=True).start()
    finally:
        listener.close()
        os.unlink(args.path)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
