"""A small HTTP proxy on loopback, as corporate networks have: CONNECT
tunnels (https) and absolute-form requests (`GET http://host:port/path`,
plain http, forwarded one request a connection), to loopback targets only.
It logs each target to a file (`CONNECT host:port` or `FORWARD host:port`
lines) and refuses everything else.

    python connect_proxy.py PORT_FILE LOG_FILE

It listens on a free 127.0.0.1 port and writes that port to PORT_FILE.
"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(reader, writer, log):
    head = await reader.readuntil(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) == 3 and parts[1].startswith("http://"):
        await forward(reader, writer, head, parts, log)
        return
    if len(parts) != 3 or parts[0] != "CONNECT":
        writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    host, _, port = parts[1].rpartition(":")
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    with open(log, "a") as f:
        f.write(f"CONNECT {host}:{port}\n")
    up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await writer.drain()
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def forward(reader, writer, head, parts, log):
    """One plain-http request in absolute form, sent on in origin form."""
    from urllib.parse import urlsplit
    url = urlsplit(parts[1])
    if url.hostname not in ("127.0.0.1", "localhost"):
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    with open(log, "a") as f:
        f.write(f"FORWARD {url.hostname}:{url.port}\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    kept = []
    for h in lines[1:]:
        name = h.split(":", 1)[0].strip().lower()
        if name == "content-length":
            length = int(h.split(":", 1)[1])
        if name in ("connection", "proxy-connection", "keep-alive") or not h:
            continue
        kept.append(h)
    body = await reader.readexactly(length) if length else b""
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    out = f"{parts[0]} {target} {parts[2]}\r\n" + "\r\n".join(kept) + "\r\nConnection: close\r\n\r\n"
    up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
    up_writer.write(out.encode("latin-1") + body)
    await up_writer.drain()
    await pipe(up_reader, writer)
    up_writer.close()


async def main():
    port_file, log = sys.argv[1], sys.argv[2]
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, log), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    import os
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


asyncio.run(main())
