#!/usr/bin/env python3
"""Realistic mixed log lines for benchmarks: nginx access, JSON application logs and
syslog, each with a unique sequence number (seq=N) so deliveries can be checked exactly.

usage: gen_data.py OUT_FILE SIZE_MIB [--seed N]
Prints the number of lines written. Deterministic for a given size and seed.
"""

import argparse
import random
import sys

PATHS = ["/api/orders", "/api/orders/{}", "/api/cart", "/static/app.{}.js", "/login", "/healthz", "/api/search?q={}"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
          "curl/8.5.0", "kube-probe/1.28", "Go-http-client/1.1"]
SERVICES = ["checkout", "cart", "search", "auth", "inventory"]
MESSAGES = ["order created", "payment authorized", "cache miss", "retrying upstream call", "user logged in",
            "slow query detected", "item reserved", "token refreshed"]
PROGRAMS = ["sshd", "CRON", "systemd", "kernel", "sudo", "dockerd"]


def lines(rng):
    seq = 0
    while True:
        seq += 1
        kind = seq % 10
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if kind < 5:
            path = rng.choice(PATHS).format(rng.randrange(100000))
            status = rng.choice((200, 200, 200, 201, 204, 301, 404, 500))
            yield (f'{ip} - - [22/Nov/2026:13:{seq // 60000 % 60:02d}:{seq // 1000 % 60:02d} +0000] '
                   f'"GET {path} HTTP/1.1" {status} {rng.randrange(100, 90000)} "-" "{rng.choice(AGENTS)}" '
                   f'rt={rng.random():.3f} seq={seq}\n')
        elif kind < 8:
            yield ('{"ts":"2026-11-22T13:%02d:%02d.%03dZ","level":"%s","service":"%s","msg":"%s",'
                   '"trace_id":"%032x","user_id":%d,"duration_ms":%d,"seq":%d}\n' % (
                       seq // 60000 % 60, seq // 1000 % 60, seq % 1000, rng.choice(("info", "info", "warn", "error")),
                       rng.choice(SERVICES), rng.choice(MESSAGES), rng.getrandbits(128), rng.randrange(10**6),
                       rng.randrange(2000), seq))
        else:
            prog = rng.choice(PROGRAMS)
            yield (f"Nov 22 13:{seq // 60000 % 60:02d}:{seq // 1000 % 60:02d} web-{rng.randrange(20):02d} "
                   f"{prog}[{rng.randrange(1, 65535)}]: session {rng.randrange(10**6)} opened for user "
                   f"u{rng.randrange(1000)} from {ip} seq={seq}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("size_mib", type=float)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    target = int(a.size_mib * 1024 * 1024)
    written = count = 0
    buf = []
    with open(a.out, "w") as f:
        for line in lines(rng):
            buf.append(line)
            written += len(line)
            count += 1
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf.clear()
            if written >= target:
                break
        f.write("".join(buf))
    print(count)


if __name__ == "__main__":
    sys.exit(main())
