"""Runs trafilatura on the pages the extract benchmark names, for comparison.

Reads JSON lines {"id", "path", "url"} on stdin (path: a gzip-compressed HTML file)
and prints JSON lines {"id", "text", "ms"}: the extracted text and the time spent in
trafilatura.extract alone (decompression and decoding excluded, as for ctxd). The
first argument, if any, is a JSON object of keyword arguments for extract
(`{"include_comments": false}`).
"""

import gzip
import json
import sys
import time

import trafilatura

options = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
for line in sys.stdin:
    item = json.loads(line)
    with gzip.open(item["path"]) as f:
        html = f.read().decode("utf-8", "replace")
    started = time.perf_counter()
    text = trafilatura.extract(html, url=item.get("url") or None, **options) or ""
    ms = (time.perf_counter() - started) * 1000.0
    print(json.dumps({"id": item["id"], "text": text, "ms": ms}), flush=True)
