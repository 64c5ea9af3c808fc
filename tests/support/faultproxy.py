"""A fault-injection proxy for the AWS emulator, on loopback.

    faultproxy.py --port P --upstream http://127.0.0.1:M --seed S
                  [--rate 0.1] [--drop-creates 0.0] [--delay-ms 0] [--log FILE]
                  [--count FILE] [--buckets SCALE]

It forwards every request to the emulator, except that, drawn from a
random generator seeded with --seed:

- a fraction --rate of requests is answered without reaching the emulator:
  mostly a throttling error in the service's own format (EC2's
  RequestLimitExceeded, the query services' Throttling, the JSON services'
  ThrottlingException, S3's SlowDown) or a 500/503, and sometimes a dropped
  connection;
- a fraction --drop-creates of create calls (CreateVpc, AllocateAddress,
  RunInstances, EKS and EFS POSTs to a collection, ...) is forwarded, so
  the resource is made, and then the connection is closed without the
  answer: the dangerous case, where a client that sends it again makes a
  duplicate;
- every answer can be delayed by --delay-ms;
- with --buckets SCALE, throttling follows AWS's request-rate limits
  instead of a random fraction: a token bucket per service and call class,
  EC2's published ones (Describe and List: 100 burst, 20 a second; the
  DescribeInstances class: 50 and 10; changes: 50 and 5) and elsewhere the
  defaults Blueprint paces by (src/providers/pace.rs), each times SCALE; a
  request that finds its bucket empty is throttled. Every request is then
  logged to --log as "SERVICE OPERATION pass CLASS" or "... throttle".

The draws are a hash of the seed, the request (service, operation, path,
body) and how many times that same request came before: the same requests
meet the same faults whatever order their threads run in (requests that
carry a fresh idempotency token differ from run to run).

It prints "ready PORT" once listening, appends one line per injected
fault to --log (service, operation, fault), and keeps the number of
requests seen so far, and of those that change something (not Describe,
List, Get, ...), in --count ("REQUESTS WRITES"), for tests that kill a
client at a point of its work.
"""

import argparse
import hashlib
import http.client
import http.server
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse

COLLECTIONS = {
    # EKS
    "clusters", "node-groups", "fargate-profiles", "addons", "access-entries",
    # EFS
    "file-systems", "mount-targets", "access-points",
}


def service_of(headers):
    auth = headers.get("Authorization", "")
    m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    return m.group(1) if m else "?"


def operation_of(method, path, headers, body):
    target = headers.get("X-Amz-Target")
    if target:
        return "json", target.split(".")[-1]
    ctype = headers.get("Content-Type", "")
    if method == "POST" and "x-www-form-urlencoded" in ctype:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        return "query", form.get("Action", ["?"])[0]
    return "rest", f"{method} {urllib.parse.urlsplit(path).path}"


def is_create(protocol, op):
    if protocol in ("json", "query"):
        return op.startswith(("Create", "Allocate", "RunInstances"))
    method, _, path = op.partition(" ")
    last = path.rstrip("/").split("/")[-1]
    return method == "POST" and last in COLLECTIONS


def is_read(protocol, op):
    if protocol in ("json", "query"):
        return op.startswith(("Describe", "List", "Get", "Search", "Lookup", "Head"))
    return op.split(" ")[0] in ("GET", "HEAD")


EC2_HEAVY = {
    "DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces",
    "DescribeSecurityGroups", "DescribeSnapshots", "DescribeSpotInstanceRequests",
    "DescribeVolumes",
}
READS = ("Describe", "List", "Get", "Search", "Lookup", "Head", "BatchGet", "Query", "Scan")


def class_of(service, protocol, op):
    """The bucket of a call: read, heavy (EC2's DescribeInstances class) or change."""
    if protocol == "rest":
        return "read" if op.split(" ")[0] in ("GET", "HEAD") else "change"
    if service == "ec2" and op in EC2_HEAVY:
        return "heavy"
    return "read" if op.startswith(READS) else "change"


def limit(service, cls):
    """(burst, per second) of a bucket, as src/providers/pace.rs has them."""
    if service == "ec2":
        return {"read": (100, 20), "heavy": (50, 10), "change": (50, 5)}[cls]
    return (40, 20) if cls in ("read", "heavy") else (20, 10)


class Buckets:
    def __init__(self, scale):
        self.scale, self.lock, self.state = scale, threading.Lock(), {}

    def take(self, service, cls):
        """Whether a token was there (and is now taken)."""
        burst, rate = limit(service, cls)
        burst, rate = max(burst * self.scale, 1), rate * self.scale
        now = time.monotonic()
        with self.lock:
            tokens, at = self.state.get((service, cls), (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            ok = tokens >= 1
            self.state[(service, cls)] = (tokens - 1 if ok else tokens, now)
            return ok


def throttle(service, protocol):
    """(status, headers, body) of a throttling error as the service sends it."""
    if service == "ec2":
        return 503, {"Content-Type": "text/xml"}, (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error>"
            "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
            "</Error></Errors><RequestID>fault</RequestID></Response>")
    if service == "s3":
        return 503, {"Content-Type": "application/xml"}, (
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            "<RequestId>fault</RequestId></Error>")
    if protocol == "query":
        return 400, {"Content-Type": "text/xml"}, (
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            "<Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>")
    if protocol == "json":
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, (
            "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}")
    return 429, {"Content-Type": "application/json",
                 "x-amzn-ErrorType": "ThrottlingException"}, "{\"message\":\"Rate exceeded\"}"


def server_error(service, protocol, status):
    code = "InternalError" if status == 500 else "ServiceUnavailable"
    if service == "ec2":
        return status, {"Content-Type": "text/xml"}, (
            f"<Response><Errors><Error><Code>{code}</Code><Message>injected</Message>"
            "</Error></Errors><RequestID>fault</RequestID></Response>")
    if service == "s3":
        return status, {"Content-Type": "application/xml"}, (
            f"<Error><Code>{code}</Code><Message>injected</Message></Error>")
    if protocol == "query":
        return status, {"Content-Type": "text/xml"}, (
            f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
            "<Message>injected</Message></Error><RequestId>fault</RequestId></ErrorResponse>")
    if protocol == "json":
        return status, {"Content-Type": "application/x-amz-json-1.1"}, (
            f"{{\"__type\":\"{code}\",\"message\":\"injected\"}}")
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, (
        "{\"message\":\"injected\"}")


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _record(self, service, op, fault):
        cfg = self.server.cfg
        with cfg.lock:
            cfg.faults += not fault.startswith("pass")
            if cfg.log:
                with open(cfg.log, "a") as f:
                    f.write(f"{service} {op} {fault}\n")

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _send(self, status, headers, body):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        cfg = self.server.cfg
        body = self._body()
        service = service_of(self.headers)
        protocol, op = operation_of(self.command, self.path, self.headers, body)
        key = f"{service} {op} {self.path} ".encode() + body
        with cfg.lock:
            n = cfg.seen.get(key, 0)
            cfg.seen[key] = n + 1
            cfg.requests += 1
            cfg.writes += not is_read(protocol, op)
            if cfg.count:
                with open(cfg.count + ".tmp", "w") as f:
                    f.write(f"{cfg.requests} {cfg.writes}")
                os.replace(cfg.count + ".tmp", cfg.count)
        digest = hashlib.sha256(f"{cfg.seed}:{n}:".encode() + key).digest()
        roll, kind_roll, drop_roll = (int.from_bytes(digest[i:i + 8], "big") / 2**64
                                      for i in (0, 8, 16))
        if cfg.delay:
            time.sleep(cfg.delay)
        if cfg.buckets:
            cls = class_of(service, protocol, op)
            if not cfg.buckets.take(service, cls):
                self._record(service, op, "throttle")
                return self._send(*throttle(service, protocol))
            self._record(service, op, f"pass {cls}")
        elif roll < cfg.rate:
            if kind_roll < 0.45:
                self._record(service, op, "throttle")
                return self._send(*throttle(service, protocol))
            if kind_roll < 0.9:
                status = 500 if kind_roll < 0.675 else 503
                self._record(service, op, f"http-{status}")
                return self._send(*server_error(service, protocol, status))
            self._record(service, op, "drop-before")
            return self._drop()
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "transfer-encoding", "content-length")}
        headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(cfg.upstream.hostname, cfg.upstream.port, timeout=120)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if is_create(protocol, op) and drop_roll < cfg.drop_creates:
            self._record(service, op, "drop-after")
            return self._drop()
        out = {k: v for k, v in resp.getheaders()
               if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date")}
        self._send(resp.status, out, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Config:
    pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=0.1)
    p.add_argument("--drop-creates", type=float, default=0.0)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--log")
    p.add_argument("--count")
    p.add_argument("--buckets", type=float)
    a = p.parse_args()
    cfg = Config()
    cfg.upstream = urllib.parse.urlsplit(a.upstream)
    cfg.seed, cfg.seen = a.seed, {}
    cfg.rate, cfg.drop_creates, cfg.delay = a.rate, a.drop_creates, a.delay_ms / 1000
    cfg.log, cfg.lock, cfg.faults = a.log, threading.Lock(), 0
    cfg.count, cfg.requests, cfg.writes = a.count, 0, 0
    cfg.buckets = Buckets(a.buckets) if a.buckets else None
    srv = Server(("127.0.0.1", a.port), Proxy)
    srv.cfg = cfg
    print(f"ready {a.port}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
