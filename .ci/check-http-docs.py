#!/usr/bin/env python3
"""Replays the `curl` sessions of Docs/http.md, Docs/reporters.md and Docs/metrics.md, each against a freshly started
`healthsync serve`, and checks every answer.

Each page's session starts with its `healthsync serve` command, whose options (but --db and --port) the server is
started with. Each `$ command` of the session's console blocks is run from the repository root with the documented
port and /tmp paths replaced; its output must equal the documented output once volatile values are masked: times and
latencies (non-integral numbers, epoch seconds, ISO-8601 times) become "<number>". Prometheus lines are compared as
sets.

Usage: check-http-docs.py HEALTHSYNC_BINARY
"""
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# Each page and the fewest commands its session must have (a smaller count means its layout changed).
DOCS = [("Docs/http.md", 15), ("Docs/reporters.md", 6), ("Docs/metrics.md", 6)]
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


def serve_options(text):
    """The options of the session's documented `healthsync serve` command, without --db and --port."""
    section = text.split(SESSION_START, 1)[1].split(SESSION_END, 1)[0]
    match = re.search(r"^\$ .*healthsync serve (.*)$", section, re.M)
    if not match:
        sys.exit("the session does not start healthsync serve")
    words = shlex.split(match.group(1))
    options = []
    i = 0
    while i < len(words):
        if words[i] in ("--db", "--port"):
            i += 2
            continue
        options.append(words[i])
        i += 1
    return options


def mask(value):
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and value > 10**9):
        return "<number>"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
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


def replay(binary, doc, minimum):
    """Replays one page's session; returns the number of mismatches."""
    text = open(doc, encoding="utf-8").read()
    commands = session_commands(text)
    if len(commands) < minimum:
        sys.exit(f"found only {len(commands)} commands in {doc}; did its layout change?")
    work = tempfile.mkdtemp(prefix="healthsync-docs-")
    port = str(free_port())
    options = [option.replace("/tmp/", work + "/") for option in serve_options(text)]
    server = subprocess.Popen(
        [binary, "serve", "--db", os.path.join(work, "hs.sqlite"), "--port", port] + options,
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
            sys.exit(f"healthsync serve did not start for {doc}")
        failures = 0
        for command, expected in commands:
            runnable = command.replace(DOC_PORT, port).replace("/tmp/", work + "/")
            done = subprocess.run(["bash", "-c", runnable], capture_output=True, text=True, timeout=120)
            actual = [line for line in done.stdout.splitlines() if line.strip()]
            if normalize(actual) != normalize(expected):
                failures += 1
                print(f"MISMATCH in {doc}: {command.splitlines()[0]}\n  documented: {expected}\n  actual:     {actual}")
        print(f"{doc}: {len(commands)} documented commands replayed against healthsync serve, {failures} mismatches")
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=30)
        if status != 0:
            failures += 1
            print(f"healthsync serve exited {status} after SIGTERM, expected 0")
        return failures
    finally:
        if server.poll() is None:
            server.kill()


def main():
    binary = os.path.abspath(sys.argv[1])
    only = sys.argv[2:]
    failures = sum(replay(binary, doc, minimum) for doc, minimum in DOCS if not only or doc in only)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
