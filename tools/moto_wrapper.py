"""Runs moto's server on a loopback port until standard input closes.

The test harness holds the write end of our stdin. When the harness exits,
for whatever reason, the pipe closes and this process stops the server and
exits, so no emulator outlives the tests that started it.
"""
import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"ready {port}", flush=True)
    sys.stdin.read()  # blocks until EOF
    server.stop()


if __name__ == "__main__":
    main()
