#!/usr/bin/env python3
"""Load on omega-gateway from WebSocket drones (python3-websockets), WebSocket to WebSocket.

    /usr/bin/python3 bench/gateway_load.py build/native-release/apps/gateway/omega-gateway

Starts the gateway (--port 0), then:
  ping-pong   one pair, one frame in flight: round trips in --seconds, RTT P50/P99
  one-way     --pairs sender->receiver pairs, each sender keeps --window frames in flight
              (the receiver acknowledges every --window/2 frames by a frame back):
              frames delivered per second in total
for 64 B and 1 KiB payloads. The clients are Python: they, not the gateway, are most likely
the limit, so the figures are lower bounds for the gateway. Prints a table; never a test.
"""
import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gateway"))
import gateway_test as gt  # noqa: E402  (frames, the gateway process wrapper)


async def ping_pong(g, size, seconds):
    a = await gt.drone(g, 1)
    b = await gt.drone(g, 2)
    payload = b"p" * size
    ping = gt.ovp(1, 2, payload)
    pong = gt.ovp(2, 1, payload)
    rtts = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter_ns()
        await a.send(ping)
        await b.recv()
        await b.send(pong)
        await a.recv()
        rtts.append(time.perf_counter_ns() - t0)
    await a.close()
    await b.close()
    rtts.sort()
    return len(rtts), rtts[len(rtts) // 2] / 1000, rtts[int(len(rtts) * 0.99)] / 1000


async def one_way(g, pairs, size, seconds, window):
    payload = b"o" * size
    counts = [0] * pairs
    stop = time.perf_counter() + seconds

    async def pair(i):
        s_id, r_id = 100 + 2 * i, 101 + 2 * i
        s = await gt.drone(g, s_id)
        r = await gt.drone(g, r_id)
        frame = gt.ovp(s_id, r_id, payload)
        ack = gt.ovp(r_id, s_id, b"a")
        credit = window

        async def receiver():
            n = 0
            while True:
                await r.recv()
                n += 1
                counts[i] = n
                if n % (window // 2) == 0:
                    await r.send(ack)

        rx = asyncio.create_task(receiver())
        while time.perf_counter() < stop:
            while credit > 0:
                await s.send(frame)
                credit -= 1
            await s.recv()  # an ack: window/2 more may go
            credit += window // 2
        rx.cancel()
        await s.close()
        await r.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(pair(i) for i in range(pairs)))
    return sum(counts) / (time.perf_counter() - t0)


def cpu_seconds(pid):
    """utime + stime of a process, from /proc (clock ticks -> seconds)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gateway")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--window", type=int, default=64)
    args = p.parse_args()
    with gt.gateway(os.path.abspath(args.gateway), "--rate", "1000000", "--burst", "1000000") as g:
        print(f"omega-gateway load, WebSocket -> gateway -> WebSocket on loopback, {args.seconds:g} s per row; "
              "clients: python3-websockets (lower bounds)")
        print("gateway CPU: the gateway process's user+system time over the row's wall time; "
              "per frame: that time over the frames it bridged")
        print(f"{'test':<28}{'ops':>10}{'ops/s':>12}{'RTT P50 us':>12}{'RTT P99 us':>12}{'gw CPU':>8}"
              f"{'gw us/frame':>12}")

        def row(label, ops, seconds, p50, p99, cpu, frames):
            p = f"{p50:>12.1f}{p99:>12.1f}" if p50 is not None else f"{'':>12}{'':>12}"
            print(f"{label:<28}{ops:>10.0f}{ops / seconds:>12.0f}{p}{100 * cpu / seconds:>7.0f}%"
                  f"{1e6 * cpu / max(frames, 1):>12.2f}")

        bridged = 'omega_gateway_frames_bridged_total{path="ws_to_ws"}'
        for size in (64, 1024):
            c0, f0, t0 = cpu_seconds(g.proc.pid), g.metric(bridged), time.perf_counter()
            n, p50, p99 = asyncio.run(ping_pong(g, size, args.seconds))
            row(f"ping-pong {size} B", n, time.perf_counter() - t0, p50, p99, cpu_seconds(g.proc.pid) - c0,
                g.metric(bridged) - f0)
        for size in (64, 1024):
            c0, f0, t0 = cpu_seconds(g.proc.pid), g.metric(bridged), time.perf_counter()
            rate = asyncio.run(one_way(g, args.pairs, size, args.seconds, args.window))
            wall = time.perf_counter() - t0
            row(f"one-way {size} B x{args.pairs} pairs", rate * wall, wall, None, None, cpu_seconds(g.proc.pid) - c0,
                g.metric(bridged) - f0)
        m = g.metrics()
        print("gateway: frames bridged ws_to_ws=%d, dropped slow_reader=%d, hostile closes=%d" % (
            m['omega_gateway_frames_bridged_total{path="ws_to_ws"}'],
            m['omega_gateway_frames_dropped_total{reason="slow_reader"}'],
            sum(v for k, v in m.items() if k.startswith("omega_gateway_hostile_closes_total"))))


if __name__ == "__main__":
    main()
