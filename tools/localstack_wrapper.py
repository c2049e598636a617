"""Runs LocalStack (IAM, STS, S3, KMS) on a loopback port until standard input closes.

Usage: localstack_wrapper.py PORT STATE_DIR

The test harness holds the write end of our stdin, as with moto_wrapper.py.
The LocalStack runtime runs as our child, with everything it writes kept
under STATE_DIR. We print `ready PORT` once `GET /_localstack/health` answers
with every service running, or `failed: ...` and the end of its log. When
stdin closes (the harness exited, for whatever reason) we stop the runtime and
exit. If we are killed outright, the kernel kills the runtime too
(PR_SET_PDEATHSIG), so no LocalStack outlives the tests that started it.

The runtime is stopped with SIGKILL: its graceful shutdown (SIGTERM) takes more
than 10 s, and it has nothing to save, since all it wrote is in STATE_DIR, which
the harness removes.
"""
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

SERVICES = ["iam", "sts", "s3", "kms"]
START_TIMEOUT_S = 120
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGKILL when this wrapper dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def runtime_env(port: int, state_dir: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "SERVICES": ",".join(SERVICES),
            "LOCALSTACK_VOLUME_DIR": state_dir,
            # LocalStack takes any container for its own Docker image and then writes
            # under /var/lib/localstack and /tmp/localstack; as a host process it keeps
            # all its files under FILESYSTEM_ROOT instead.
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": os.path.join(state_dir, "fs"),
            # No DNS server of its own (it would try to take over name resolution),
            # no certificate download and no usage events: the tests run offline.
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            # Load the four services before reporting ready, so that the first
            # request of a test does not pay for it.
            "EAGER_SERVICE_LOADING": "1",
        }
    )
    return env


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_localstack/health", timeout=1) as answer:
            services = json.load(answer).get("services", {})
    except (OSError, ValueError):
        return False
    return all(services.get(s) in ("running", "available") for s in SERVICES)


def log_tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"(no log: {e})"


def stop(runtime: subprocess.Popen) -> None:
    if runtime.poll() is None:
        runtime.kill()
    runtime.wait()


def main() -> None:
    port, state_dir = int(sys.argv[1]), sys.argv[2]
    log_path = os.path.join(state_dir, "localstack.log")
    with open(log_path, "wb") as log:
        runtime = subprocess.Popen(
            [sys.executable, "-m", "localstack.runtime.main"],
            env=runtime_env(port, state_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    signal.signal(signal.SIGTERM, lambda *_: (stop(runtime), sys.exit(0)))

    deadline = time.monotonic() + START_TIMEOUT_S
    while not healthy(port):
        exited = runtime.poll()
        if exited is not None or time.monotonic() > deadline:
            stop(runtime)
            why = f"exited with {exited}" if exited is not None else f"was not ready after {START_TIMEOUT_S} s"
            print(f"failed: LocalStack {why}; the end of its log:", flush=True)
            print(log_tail(log_path), flush=True)
            sys.exit(1)
        time.sleep(0.1)
    print(f"ready {port}", flush=True)

    # Stop when stdin closes, or when the runtime dies by itself.
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    while not closed.wait(0.5):
        if runtime.poll() is not None:
            sys.exit(1)
    stop(runtime)


if __name__ == "__main__":
    main()
