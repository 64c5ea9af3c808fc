#!/usr/bin/env python3
"""A chart repository over loopback with stand-in charts, for the tests and
the demo: the seed blueprints name real charts (cluster-autoscaler,
aws-load-balancer-controller, ...) that cannot be downloaded here, so each
NAME@VERSION given is served as a copy of the fixture chart
tests/fixtures/charts/NAME if there is one (velero: its CRDs), else of
tests/fixtures/charts/demo, renamed and re-versioned.

    chart_repo.py --helm .tools/helm --dir DIR NAME@VERSION...

Packages the charts into DIR, indexes them, prints
`chart repository at http://127.0.0.1:PORT` once serving, and serves until
killed.
"""
import argparse
import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "charts", "demo")


def stand_in(work, name, version):
    chart = os.path.join(work, f"{name}-{version}", name)
    own = os.path.join(HERE, "..", "fixtures", "charts", name)
    shutil.copytree(own if os.path.isdir(own) else FIXTURE, chart)
    path = os.path.join(chart, "Chart.yaml")
    with open(path) as f:
        text = f.read()
    text = re.sub(r"^name: .*$", f"name: {name}", text, flags=re.M)
    text = re.sub(r"^version: .*$", f"version: {version}", text, flags=re.M)
    text = text.replace("A small chart for Blueprint's Helm tests",
                        f"A stand-in for the {name} chart in Blueprint's tests")
    with open(path, "w") as f:
        f.write(text)
    return chart


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--helm", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("charts", nargs="+", metavar="NAME@VERSION")
    a = p.parse_args()
    repo = os.path.join(a.dir, "repo")
    work = os.path.join(a.dir, "work")
    os.makedirs(repo, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    for spec in a.charts:
        name, version = spec.split("@", 1)
        subprocess.run([a.helm, "package", stand_in(work, name, version), "-d", repo],
                       check=True, stdout=subprocess.DEVNULL)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}"
    subprocess.run([a.helm, "repo", "index", repo, "--url", url], check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=repo)
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    print(f"chart repository at {url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
