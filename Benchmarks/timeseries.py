#!/usr/bin/env python3
"""Measures GET /metrics/health and `healthsync export` on a database of many check states (Docs/timeseries.md).

Generates a payload of STREAMS streams of CHECKS check states each (100 x 1000 = 100,000 by default), replays it
with ROUNDS further snapshots in which a fifth of the check states change health (the event record), then:

- runs `healthsync export` in each format into a file and reports events per second and the peak memory;
- starts `healthsync serve` on the database, scrapes /metrics/health SCRAPES times with curl and reports the time
  of the scrapes, the body size, and the server's resident memory before and after (VmRSS, and VmHWM: the peak).

Usage: timeseries.py HEALTHSYNC_BINARY [--streams N] [--checks N] [--rounds N] [--scrapes N]
Build the binary in release first: swift build -c release --product healthsync
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

# Two hours ago: recent enough that serve's event retention and expiry keep everything.
START = int(time.time()) - 7200


def payload(path, streams, checks, rounds):
    """Writes the JSON Lines payload: one envelope per stream and round; returns the number of envelopes."""
    healths = ["CLEAR", "DEVIATING", "CRITICAL"]
    count = 0
    with open(path, "w") as out:
        for round_ in range(rounds + 1):
            for stream in range(streams):
                states = []
                for check in range(checks):
                    # Round 0: all CLEAR; then a fifth of the check states change health each round.
                    changed = round_ > 0 and (check + round_) % 5 == 0
                    health = healths[(check + round_) % 3] if changed else "CLEAR"
                    states.append({
                        "checkStateId": f"check-{check}", "name": f"check {check}", "health": health,
                        "topologyElementIdentifier": f"urn:host:/bench-{stream}-{check % 50}",
                    })
                envelope = {
                    "collection_timestamp": START + round_ * 60 + stream * 0.01,
                    "internalHostname": "bench", "events": {}, "metrics": [], "service_checks": [], "topologies": [],
                    "health": [{
                        "stream": {"urn": f"urn:health:bench:stream-{stream}"},
                        "start_snapshot": {"repeat_interval_s": 60}, "check_states": states, "stop_snapshot": {},
                    }],
                }
                out.write(json.dumps(envelope) + "\n")
                count += 1
    return count


def proc_status(pid):
    """VmRSS and VmHWM of a process, in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


def timed(command):
    """Runs `command` under /usr/bin/time; returns (seconds, peak resident MB, stdout)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M"] + command, capture_output=True, text=True, check=True)
    seconds, peak = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(peak) / 1024, result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--scrapes", type=int, default=5)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="healthsync-timeseries-")
    database = os.path.join(work, "health.sqlite")
    source = os.path.join(work, "payload.jsonl")
    envelopes = payload(source, args.streams, args.checks, args.rounds)
    seconds, peak, _ = timed([args.binary, "replay", "--db", database, source])
    print(f"replay: {envelopes} envelopes, {args.streams * args.checks} check states, {seconds:.1f} s")

    for format_ in ["openmetrics", "influx", "opentsdb"]:
        output = os.path.join(work, f"export.{format_}")
        seconds, peak, stdout = timed(
            [args.binary, "export", "--db", database, "--format", format_, "--output", output])
        events = int(re.search(r"from (\d+) events?", stdout).group(1))
        size = os.path.getsize(output) / 1e6
        print(f"export {format_}: {events} events in {seconds:.2f} s = {events / seconds:,.0f} events/s, "
              f"{size:.0f} MB, peak RSS {peak:.0f} MB")

    log = open(os.path.join(work, "serve.log"), "w+")
    serve = subprocess.Popen(
        [args.binary, "serve", "--db", database, "--host", "127.0.0.1", "--port", "0", "--api-key", "bench",
         "--log-level", "info"], stdout=subprocess.DEVNULL, stderr=log)
    try:
        port = None
        for _ in range(600):
            log.seek(0)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read())
            if match:
                port = int(match.group(1))
                break
            time.sleep(0.1)
        if port is None:
            sys.exit("serve did not start")
        before = proc_status(serve.pid)
        print(f"serve before scrapes: VmRSS {before['VmRSS']:.1f} MB, VmHWM {before['VmHWM']:.1f} MB")
        for accept in ["text/plain", "application/openmetrics-text"]:
            times = []
            for _ in range(args.scrapes):
                result = subprocess.run(
                    ["curl", "-s", "-o", "/dev/null", "-H", f"Accept: {accept}", "-w", "%{time_total} %{size_download}",
                     f"http://127.0.0.1:{port}/metrics/health"], capture_output=True, text=True, check=True)
                total, size = result.stdout.split()
                times.append(float(total))
            times.sort()
            print(f"scrape ({accept}): median {times[len(times) // 2] * 1000:.0f} ms, min {times[0] * 1000:.0f} ms, "
                  f"max {times[-1] * 1000:.0f} ms, {int(size) / 1e6:.1f} MB")
        after = proc_status(serve.pid)
        print(f"serve after scrapes: VmRSS {after['VmRSS']:.1f} MB, VmHWM {after['VmHWM']:.1f} MB "
              f"(peak +{after['VmHWM'] - before['VmHWM']:.1f} MB)")
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait()

    subprocess.run(["rm", "-rf", work], check=True)


if __name__ == "__main__":
    main()
