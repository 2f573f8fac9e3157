"""bench/contenders/python_stdlib.py: http.client on one kept-alive
connection and json.loads, then the walk every contender does.

  python3 python_stdlib.py <url> <iterations> [rss]
"""
import http.client
import json
import sys
import time
import urllib.parse

url = urllib.parse.urlsplit(sys.argv[1])
n = int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else ""
conn = http.client.HTTPConnection(url.hostname, url.port)


def once():
    conn.request("GET", url.path)
    response = conn.getresponse()
    text = response.read()
    assert response.status == 200
    d = json.loads(text)
    failed = 0
    for job in d["ingestion_jobs"]:
        for record in job["records"]:
            if record["status"] == "failed":
                failed += 1
    return failed


if mode == "rss":
    once()
    with open("/proc/self/status") as f:
        print("rss " + [l.split()[1] for l in f if l.startswith("VmHWM:")][0])
    sys.exit(0)
once()
out = []
for _ in range(n):
    t0 = time.perf_counter()
    once()
    out.append("%.9f" % (time.perf_counter() - t0))
print("\n".join(out))
