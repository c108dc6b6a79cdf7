#!/usr/bin/env python3
"""Answers one message per connection on a Unix-domain socket with the socket module, the way Python programs usually
do: a thread per connection reads until EOF, replies with the byte count and a newline (or, with --echo, the message
itself) and closes. SIGTERM or SIGINT closes the socket, removes its file and exits 0.

    server.py --path /tmp/app.sock
    server.py --path /tmp/app.sock --echo
"""
import argparse
import os
import signal
import socket
import sys
import threading


def serve(conn, echo):
    with conn:
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        message = b"".join(chunks)
        reply = message if echo else b"%d\n" % len(message)
        try:
            conn.sendall(reply)
        except OSError:
            pass  # the client closed without reading its reply


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True, help="the socket file to create (it must not exist)")
    parser.add_argument("--echo", action="store_true", help="reply with the message instead of its byte count")
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
            threading.Thread(target=serve, args=(conn, args.echo), daemon=True).start()
    finally:
        listener.close()
        os.unlink(args.path)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
