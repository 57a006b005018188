#!/usr/bin/env python3
"""Prints a TCP port that is free now, taken below the kernel's ephemeral range: a port from that range (what
binding port 0 gives) can be handed out again as the source port of the agent's own connection to the hub before
the agent's channel binds it."""
import random
import socket

try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
for _ in range(200):
    port = random.randint(10000, max(10001, low - 1))
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", port))
        print(port)
        break
    except OSError:
        continue
    finally:
        s.close()
else:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()
