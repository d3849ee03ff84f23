#!/usr/bin/env python3
"""Writes a day (or more) of one-minute snapshots as JSON Lines, for `healthsync audit`, its screenshot and its
measurements (Docs/audit.md, Docs/render-audit-screenshot.sh).

Deterministic (seeded). Per day, starting at --start (epoch seconds, default 2024-01-01T00:00:00Z):

- urn:health:sample:cluster, REPEAT_SNAPSHOTS, repeat 60 s: --checks check states snapshotted every minute.
  Churn: every minute each check state has a 0.2 % chance of an incident (DEVIATING or CRITICAL for 1 to 30
  minutes). Five check states flap (health changes every minute) from 10:00 to 12:00. Snapshots are missing from
  06:00 to 06:10 (a late window). The 15:00 snapshot is truncated (the last 50 check states are left out and come
  back at 15:01: suspicious deletions). The 18:00 snapshot gets no stop_snapshot and leaves out 20 check states;
  the next one comes at 18:05, so the automatic stop at 18:02 deletes them (a missing stop, suspicious deletions).
- urn:health:sample:pods, REPEAT_SNAPSHOTS, sub-streams pod-1 to pod-3 (repeat 60 s, expiry 300 s), 20 check states
  each; pod-3 stops sending at 20:00 and expires at 20:05.
- urn:health:sample:states, REPEAT_STATES (repeat 60 s, expiry 180 s), 10 check states; silent from 09:00 to 09:05
  (late, and its check states expire).

Usage: audit-sample.py [--checks N] [--days D] [--start EPOCH] [--day-offset K] > sample.jsonl
(--day-offset K writes only day K of a longer series, to append days to a database one file at a time.)
"""

import argparse
import json
import random
import sys


def state(check_id, name, health, element):
    return {"checkStateId": check_id, "name": name, "health": health, "topologyElementIdentifier": element}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--start", type=int, default=1_704_067_200)
    parser.add_argument("--day-offset", type=int, default=None)
    args = parser.parse_args()

    rng = random.Random(20240101)
    checks = args.checks
    ids = [f"svc-{i:04d}" for i in range(checks)]
    names = [f"service {i:04d} latency" for i in range(checks)]
    elements = [f"urn:host:/node-{i % 40:02d}/svc-{i:04d}" for i in range(checks)]
    incident_until = [0] * checks
    incident_health = ["CLEAR"] * checks
    flappers = set(range(7, checks, max(1, checks // 5)))
    out = sys.stdout
    days = range(args.days) if args.day_offset is None else range(args.day_offset, args.day_offset + 1)
    # The random incidents of earlier days are drawn even when only a later day is written, so that the series
    # written one day at a time equals the one written at once.
    for day in range(max(days) + 1):
        write = day in days
        base = args.start + day * 86_400
        for minute in range(1_440):
            now = base + minute * 60
            healths = []
            for i in range(checks):
                if incident_until[i] <= minute + day * 1_440 and rng.random() < 0.002:
                    incident_until[i] = minute + day * 1_440 + rng.randint(1, 30)
                    incident_health[i] = "CRITICAL" if rng.random() < 0.3 else "DEVIATING"
                health = incident_health[i] if incident_until[i] > minute + day * 1_440 else "CLEAR"
                if i in flappers and 600 <= minute < 720:
                    health = "CRITICAL" if minute % 2 else "CLEAR"
                healths.append(health)
            if not write:
                continue
            messages = []
            hour = minute // 60
            if not (360 <= minute < 370) and not (1_081 <= minute < 1_085):
                carried = range(checks)
                if minute == 900:
                    carried = range(checks - 50)
                if minute == 1_080:
                    carried = range(checks - 20)
                message = {
                    "stream": {"urn": "urn:health:sample:cluster"},
                    "start_snapshot": {"repeat_interval_s": 60},
                    "check_states": [state(ids[i], names[i], healths[i], elements[i]) for i in carried],
                }
                if minute != 1_080:
                    message["stop_snapshot"] = {}
                messages.append(message)
            for pod in (1, 2, 3):
                if pod == 3 and hour >= 20:
                    continue
                pod_states = []
                for j in range(20):
                    health = "CLEAR"
                    if pod == 2 and j == 3 and 13 <= hour < 14:
                        health = "DEVIATING"
                    pod_states.append(state(f"pod-{pod}-c{j:02d}", f"pod {pod} check {j}", health, f"pod-{pod}"))
                messages.append({
                    "stream": {"urn": "urn:health:sample:pods", "sub_stream_id": f"pod-{pod}"},
                    "start_snapshot": {"repeat_interval_s": 60, "expiry_interval_s": 300},
                    "check_states": pod_states,
                    "stop_snapshot": {},
                })
            if not (540 <= minute < 545):
                messages.append({
                    "stream": {"urn": "urn:health:sample:states"},
                    "consistency_model": "REPEAT_STATES",
                    "expiry": {"repeat_interval_s": 60, "expiry_interval_s": 180},
                    "check_states": [
                        state(f"disk-{k}", f"disk {k}", "CRITICAL" if k == 2 and 720 <= minute < 740 else "CLEAR",
                              f"host-{k}")
                        for k in range(10)
                    ],
                })
            envelope = {"collection_timestamp": now, "internalHostname": "sample-agent", "health": messages}
            out.write(json.dumps(envelope, separators=(",", ":")))
            out.write("\n")


if __name__ == "__main__":
    main()
