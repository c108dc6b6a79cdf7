#!/usr/bin/env python3
"""Serves org.example.ping (Examples/VarlinkPing/org.example.ping.varlink) with PyPI's varlink, a thread per
connection, as the reference implementation's own examples do.

    ping_server.py unix:/tmp/ping.sock
"""
import os
import signal
import sys

import varlink

here = os.path.dirname(os.path.abspath(__file__))
service = varlink.Service(
    vendor="Python", product="ping_server", version="1", url="https://github.com/varlink/python",
    interface_dir=os.path.join(here, "..", "..", "..", "..", "Examples", "VarlinkPing"))


class Handler(varlink.RequestHandler):
    service = service


@service.interface("org.example.ping")
class Ping:
    def Ping(self, ping):
        return {"pong": ping}

    def Count(self, count, _more=False):
        for number in range(count):
            yield {"number": number, "_continues": number != count - 1}


def main():
    server = varlink.ThreadingServer(sys.argv[1], Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening on", sys.argv[1], flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
