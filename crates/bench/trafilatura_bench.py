"""Runs trafilatura (or rs-trafilatura) on the pages the extract benchmark names, for
comparison.

Reads JSON lines {"id", "path", "url"} on stdin (path: a gzip-compressed HTML file)
and prints JSON lines {"id", "text", "ms"}: the extracted text and the time spent in
the library's extract alone (decompression and decoding excluded, as for ctxd). The
first argument, if any, is a JSON object of keyword arguments for extract
(`{"include_comments": false}`); its key "library", if given, names the library
instead: "rs_trafilatura", whose extract returns a result whose main_content is the
text.
"""

import gzip
import importlib
import json
import sys
import time

options = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
library = options.pop("library", "trafilatura")
module = importlib.import_module(library)


def extract(html, url):
    if library == "rs_trafilatura":
        return module.extract(html, url=url, **options).main_content
    return module.extract(html, url=url, **options)


for line in sys.stdin:
    item = json.loads(line)
    with gzip.open(item["path"]) as f:
        html = f.read().decode("utf-8", "replace")
    started = time.perf_counter()
    text = extract(html, item.get("url") or None) or ""
    ms = (time.perf_counter() - started) * 1000.0
    print(json.dumps({"id": item["id"], "text": text, "ms": ms}), flush=True)
