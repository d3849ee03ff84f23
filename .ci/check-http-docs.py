#!/usr/bin/env python3
"""Replays the `curl` session of Docs/http.md against a freshly started `healthsync serve` and checks every answer.

Each `$ command` of the session's console blocks is run from the repository root with the documented port and
/tmp paths replaced; its output must equal the documented output once volatile values are masked: times and
latencies (non-integral numbers, epoch seconds) become "<number>". Prometheus lines are compared as sets.

Usage: check-http-docs.py HEALTHSYNC_BINARY
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

DOC = "Docs/http.md"
DOC_PORT = "8089"
SESSION_START = "## A session with `curl`"
SESSION_END = "## API reference"


def session_commands(text):
    """The (command, expected output lines) pairs of the curl session's console blocks, the start-up block skipped."""
    section = text.split(SESSION_START, 1)[1].split(SESSION_END, 1)[0]
    blocks = re.findall(r"```console\n(.*?)```", section, re.S)
    pairs = []
    for block in blocks:
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if not line.startswith("$ "):
                i += 1
                continue
            command = [line[2:]]
            i += 1
            if "<<'EOF'" in line:
                while i < len(lines):
                    command.append(lines[i])
                    i += 1
                    if command[-1] == "EOF":
                        break
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                if lines[i].strip():
                    output.append(lines[i])
                i += 1
            pairs.append(("\n".join(command), output))
    return [(c, o) for c, o in pairs if "healthsync serve" not in c]


def mask(value):
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and value > 10**9):
        return "<number>"
    return value


def normalize(lines):
    """Comparable form of output lines: JSON bodies masked, the status suffix kept, metric lines as a set."""
    result = []
    metrics = set()
    for line in lines:
        if line.startswith("healthsync_"):
            metrics.add(line)
            continue
        body, _, status = line.rpartition(" -> ")
        if not _:
            body, status = line, ""
        body = body.strip()
        try:
            body = mask(json.loads(body)) if body else ""
        except json.JSONDecodeError:
            pass
        result.append((json.dumps(body, sort_keys=True), status))
    return result, metrics


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    binary = os.path.abspath(sys.argv[1])
    text = open(DOC, encoding="utf-8").read()
    commands = session_commands(text)
    if len(commands) < 15:
        sys.exit(f"found only {len(commands)} commands in {DOC}; did its layout change?")
    work = tempfile.mkdtemp(prefix="healthsync-docs-")
    port = str(free_port())
    server = subprocess.Popen(
        [binary, "serve", "--db", os.path.join(work, "hs.sqlite"), "--port", port, "--api-key", "secret"],
        stderr=open(os.path.join(work, "serve.log"), "w"),
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("healthsync serve did not start")
        failures = 0
        for command, expected in commands:
            runnable = command.replace(DOC_PORT, port).replace("/tmp/", work + "/")
            done = subprocess.run(["bash", "-c", runnable], capture_output=True, text=True, timeout=120)
            actual = [line for line in done.stdout.splitlines() if line.strip()]
            if normalize(actual) != normalize(expected):
                failures += 1
                print(f"MISMATCH: {command.splitlines()[0]}\n  documented: {expected}\n  actual:     {actual}")
        print(f"{len(commands)} documented commands replayed against healthsync serve, {failures} mismatches")
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=30)
        if status != 0:
            failures += 1
            print(f"healthsync serve exited {status} after SIGTERM, expected 0")
        sys.exit(1 if failures else 0)
    finally:
        if server.poll() is None:
            server.kill()


if __name__ == "__main__":
    main()
