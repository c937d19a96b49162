#!/usr/bin/env python3
"""A hostile local user of kplugd's control socket, for test_local_users.py: run as an
unprivileged uid (setpriv), it does one attack and prints what it saw as JSON lines.
"ready" is printed once the attack is in place; the attack then holds for HOLD seconds.

usage: attacker.py MODE SOCKET [N] [HOLD]
  lines        the request lines that used to crash kplugd, on one connection
  long         N connections, each sending one line longer than the limit
  flood        N connections at once, held (as many as the kernel lets us open)
  partial      N connections, each holding 61 KB of a line without its newline
  subscribers  N connections subscribed to events, never reading
  halfclose    N times: subscribe, read a little, half-close, then close during a burst
"""
import json
import os
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def read_line(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = s.recv(1)
        except ConnectionResetError:  # closed by kplugd with our bytes unread: closed all the same
            chunk = b""
        if not chunk:
            return None
        data += chunk
    return data.decode(errors="replace").rstrip("\n")


def say(**what):
    print(json.dumps(what), flush=True)


def hold(seconds):
    say(ready=True)
    time.sleep(seconds)


def lines(path):
    s = connect(path)
    for line in (b'{"request":1}', b'{"request":["status"]}', b'{"request":"settle","timeout":"soon"}',
                 b'{"request":"settle","timeout":1e308}', b'{"request":"status","x":{"y":[1,2,{}]}}',
                 b'\xff\xfe{"request":"status"}', b'{"request":"\xff"}', b'', b'[]', b'null',
                 b'{"request":"reload"}'):
        s.sendall(line + b"\n")
        say(sent=line.decode(errors="replace"), reply=read_line(s))
    s.sendall(b'{"request":"status"}\n')
    reply = json.loads(read_line(s))
    say(status_after=reply.get("ok"))


def long_lines(path, n):
    errors = closed = 0
    for _ in range(n):
        s = connect(path)
        try:
            s.sendall(b"x" * (70 * 1024))
        except OSError:
            pass  # kplugd may close before it has read everything
        reply = read_line(s)
        if reply and "longer than" in reply:
            errors += 1
        if read_line(s) is None:
            closed += 1
        s.close()
    say(error_replies=errors, closed=closed)


def flood(path, n, seconds, payload=b"", subscribe=False):
    held, refused = [], 0
    for _ in range(n):
        try:
            s = connect(path)
        except OSError as e:
            refused += 1
            say(connect_error=str(e)) if refused == 1 else None
            continue
        try:
            if subscribe:
                s.sendall(b'{"request":"events"}\n')
            if payload:
                s.sendall(payload)
        except OSError:
            pass
        held.append(s)
    say(opened=len(held), refused=refused)
    hold(seconds)
    busy = idle_closed = still_open = 0
    for s in held:
        s.setblocking(False)
        try:
            data = s.recv(65536)
            text = data.decode(errors="replace")
            if "busy" in text:
                busy += 1
            elif "no complete request" in text or data == b"":
                idle_closed += 1
            else:
                still_open += 1
        except BlockingIOError:
            still_open += 1
        except OSError:
            idle_closed += 1
        s.close()
    say(busy=busy, idle_closed=idle_closed, still_open=still_open)


def halfclose(path, n, seconds):
    say(ready=True)
    deadline = time.monotonic() + seconds
    done = 0
    while done < n or time.monotonic() < deadline:
        s = connect(path)
        s.sendall(b'{"request":"events"}\n')
        read_line(s)
        s.settimeout(0.2)
        try:
            s.recv(100)
        except OSError:
            pass
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.05)
        s.close()
        done += 1
        if done >= n and time.monotonic() >= deadline:
            break
    say(halfclosed=done)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    say(uid=os.getuid())
    if mode == "lines":
        lines(path)
    elif mode == "long":
        long_lines(path, n)
    elif mode == "flood":
        flood(path, n, seconds)
    elif mode == "partial":
        flood(path, n, seconds, payload=b"x" * (61 * 1024))
    elif mode == "subscribers":
        flood(path, n, seconds, subscribe=True)
    elif mode == "halfclose":
        halfclose(path, n, seconds)
    say(done=True)


if __name__ == "__main__":
    main()
