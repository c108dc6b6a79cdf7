"""Talks to a UDSKit server from Python: one acknowledged message, then (with --framed) a framed session."""
import socket
import struct
import sys


def send_message(path: str, message: bytes) -> bytes:
    """One message per connection: write, half-close, read the reply to the end."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(message)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        return reply


def request_frames(path: str, messages: list[bytes]) -> list[bytes]:
    """Framed: each message a 4-byte big-endian length then the bytes; one reply frame each, in order."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        replies = []
        for message in messages:
            sock.sendall(struct.pack(">I", len(message)) + message)
            (length,) = struct.unpack(">I", receive_exactly(sock, 4))
            replies.append(receive_exactly(sock, length))
        return replies


def receive_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: client.py SOCKET MESSAGE... [--framed]")
    path, args = sys.argv[1], [a for a in sys.argv[2:] if a != "--framed"]
    if "--framed" in sys.argv:
        for reply in request_frames(path, [a.encode() for a in args]):
            print(reply.decode(errors="replace"))
    else:
        message = " ".join(args).encode()
        reply = send_message(path, message)
        if reply != f"{len(message)}\n".encode():
            sys.exit(f"not acknowledged: {reply!r}")
        print(f"acknowledged {len(message)} bytes")
