#!/usr/bin/env python3
"""Schemathesis against a live `ctxd serve`, every check on, for a fixed time.

Started by `cargo xtask schemathesis` (and `cargo xtask ci`): it starts the given ctxd
binary on a fresh data directory (SQLite, or the Postgres database given), seeds
real resources (spaces, collections, processed sources with revisions and artifacts,
runs, a second API key, an upload), and binds every id path parameter to them, so
that generated requests reach the stateful routes instead of stopping at 404. The
run fails on any server error or response that disagrees with the OpenAPI document.

usage: attack.py --ctxd PATH --python PATH [--database-url URL] [--max-time S]

--python is an interpreter with schemathesis installed (xtask keeps one in a
virtualenv under target/).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base, key):
        self.base, self.key = base, key

    def call(self, method, path, body=None, key=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {key or self.key}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def must(self, method, path, body=None, status=(200, 201, 202)):
        code, answer = self.call(method, path, body)
        if code not in status:
            sys.exit(f"seeding failed: {method} {path} answered {code}: {answer}")
        return answer


def wait_processed(api, source_id):
    deadline = time.time() + 60
    while time.time() < deadline:
        source = api.must("GET", f"/v1/sources/{source_id}")
        if source["status"] in ("COMPLETED", "FAILED", "CANCELED"):
            return source
        time.sleep(0.1)
    sys.exit(f"seeding failed: source {source_id} was not processed")


def seed(api):
    """Real resources, several of each, since generated DELETEs remove some."""
    ids = {k: [] for k in ("spaceId", "collectionId", "sourceId", "runId", "artifactId", "keyId", "fileKey", "n")}
    document = "# Notes\n\nA paragraph about things.\n\n```python\ndef f(x):\n    return x + 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    for n in range(4):
        space = api.must("POST", "/v1/spaces", {"name": f"seed {n}"})["id"]
        ids["spaceId"].append(space)
        collection = api.must("POST", f"/v1/spaces/{space}/collections", {"name": "c"})["id"]
        ids["collectionId"].append(collection)
        for m in range(2):
            body = {"type": "CONTENT", "initial_data": {"data": f"{document}\nversion {n}.{m}\n"}, "collectionId": collection}
            source = api.must("POST", f"/v1/spaces/{space}/sources", body)
            done = wait_processed(api, source["id"])
            ids["sourceId"].append(source["id"])
            ids["runId"].append(done["last_run"]["id"])
            artifacts = api.must("GET", f"/v1/sources/{source['id']}/artifacts")["artifacts"]
            ids["artifactId"].extend(a["id"] for a in artifacts)
        ids["keyId"].append(api.must("POST", "/v1/api-keys", {"name": f"spare {n}"})["id"])
        upload = api.must("POST", "/v1/upload/s3", {"filename": f"f{n}.txt", "contentType": "text/plain", "size": 5})
        request = urllib.request.Request(upload["uploadUrl"], data=b"hello", method="PUT")
        request.add_header("Content-Type", "text/plain")
        urllib.request.urlopen(request, timeout=30).read()
        ids["fileKey"].append(upload["fileKey"])
    ids["n"] = [1, 2]
    return ids


def config(ids, key, base):
    """schemathesis.toml: the key, and the id parameters drawn from the seeded values
    most of the time (generated ones the rest, for the not-found paths)."""
    lines = [
        f'base-url = "{base}"',
        f'headers = {{ Authorization = "Bearer {key}" }}',
        "",
        "[generation]",
        "max-examples = 50",
        "",
    ]
    for name, values in ids.items():
        lines.append(f"[dictionaries.{name}]")
        lines.append(f"values = {json.dumps(values)}")
        lines.append("")
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.9 }}')
    lines.append("")
    # Semantic rules a schema cannot state: references to things that must exist and
    # be the caller's (a parent collection, composition members, an uploaded file
    # key), an expiry in the future, a source type that can be refreshed, a revision
    # with a previous one to compare with. ctxd answers them with a 400 naming the
    # field, as the contract's errors do.
    for name in [
        "POST /v1/spaces/{spaceId}/sources",
        "POST /v1/sources/{sourceId}/fast-forward",
        "PATCH /v1/sources/{sourceId}",
        "POST /v1/sources/{sourceId}/refresh",
        "POST /v1/spaces/{spaceId}/collections",
        "PATCH /v1/collections/{collectionId}",
        "POST /v1/api-keys",
        "GET /v1/sources/{sourceId}/revisions/{n}/diff",
    ]:
        lines += [
            "[[operations]]",
            f'include-name = "{name}"',
            'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "409"]',
            "",
        ]
    # A followed event stream stays open by design (until the server stops), which a
    # test client waiting for the whole response reads as a hang; its errors (ids,
    # parameters, other tenants) are tested in tests/it/events.rs and tenants.rs.
    lines += [
        "[[operations]]",
        'include-name = "GET /v1/sources/{sourceId}/events"',
        "enabled = false",
        "",
    ]
    # A declared size over uploads.max_bytes (a setting, so not in the document) is the
    # contract's 413.
    lines += [
        "[[operations]]",
        'include-name = "POST /v1/upload/s3"',
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "413"]',
        'checks.negative_data_rejection.expected-statuses = ["400", "401", "413", "415"]',
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ctxd", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--database-url")
    parser.add_argument("--max-time", type=int, default=120)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="ctxd-schemathesis-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTXD_") and k != "DATABASE_URL"}
    env.update(
        CTXD_RATE_LIMITS__PRO_PER_MINUTE="100000000",
        CTXD_GRPC__LISTEN="127.0.0.1:0",
        CTXD_WORKER__POLL_INTERVAL_MS="50",
        RUST_LOG="warn",
    )
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    log = open(os.path.join(data_dir, "serve.log"), "w")
    server = subprocess.Popen(
        [args.ctxd, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        key_file = os.path.join(data_dir, "first-api-key")
        while not os.path.exists(key_file):
            if time.time() > deadline or server.poll() is not None:
                sys.exit("ctxd serve did not start; see " + log.name)
            time.sleep(0.1)
        time.sleep(0.5)
        key = open(key_file).read().strip()
        api = Api(base, key)
        ids = seed(api)
        with open(os.path.join(data_dir, "schemathesis.toml"), "w") as f:
            f.write(config(ids, key, base))
        command = [
            args.python,
            "-m",
            "schemathesis.cli",
            "--config-file",
            os.path.join(data_dir, "schemathesis.toml"),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--max-time",
            str(args.max_time),
            # One worker: with two threads, hypothesis describing its filter lambdas
            # (ast.parse) crashed schemathesis on CPython 3.11 ("AST constructor
            # recursion depth mismatch"), a runtime error of the tool, not a finding.
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--seed",
            os.environ.get("CTXD_SCHEMATHESIS_SEED", "20261203"),
        ]
        print("$", " ".join(command), flush=True)
        # In the data directory: schemathesis keeps a cache where it runs.
        code = subprocess.call(command, cwd=data_dir)
        if server.poll() is not None:
            sys.exit(f"ctxd serve died during the run; see {log.name}")
        if code != 0:
            sys.exit(f"schemathesis found problems (exit {code}); server log: {log.name}")
        shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
