#!/usr/bin/env python3
"""ctxd's MCP server driven by a client we did not write: the official MCP Python SDK.

Starts `ctxd serve` (SQLite, or PostgreSQL with --database-url) and a local origin,
then over Streamable HTTP: lists the tools, calls every one, reads and subscribes to a
resource and sees the update after a refresh (subscriptions/listen, and the legacy
resources/subscribe in a second session), gets the prompt, and checks the error
cases (bad arguments, an unknown tool and resource, another user's ids, an oversized
argument, a key revoked mid-session). Then `ctxd mcp` over stdio on the same database
while serve runs. Run by `cargo xtask mcp-client-check` (part of `cargo xtask ci`).
"""

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOOLS = {
    "add_source",
    "get_artifact",
    "get_content",
    "get_context",
    "list_sources",
    "list_spaces",
    "refresh_source",
    "search_artifacts",
    "source_status",
}

TRANSCRIPT = """**User:** How do we deploy the service?

**Assistant:** We decided to run it under systemd. The unit:

```ini
[Service]
ExecStart=/usr/bin/ctxd serve
```

Then `systemctl enable --now ctxd`.

**User:** Should the logs go to journald or to a file?
"""

# Seconds any one step may take before the check fails instead of hanging.
STEP = 60


class Origin:
    """A page whose text (and ETag) the check changes between fetches."""

    def __init__(self):
        self.version = 1
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = (
                    f"<html><head><title>Release notes</title></head><body><article><h1>Release notes</h1>"
                    f"<p>Version {origin.version} of the release notes says what changed in this version "
                    f"and why it matters to the people who run it.</p></article></body></html>"
                ).encode()
                etag = f'"v{origin.version}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notes"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def rest(base, key, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


def http_client(url, key, **kwargs):
    return Client(
        streamable_http_client(url, http_client=create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})),
        read_timeout_seconds=STEP,
        **kwargs,
    )


def text_of(result):
    return "\n".join(block.text for block in result.content if getattr(block, "text", None))


async def call(client, name, arguments, *, error=False):
    result = await asyncio.wait_for(client.call_tool(name, arguments), STEP)
    assert bool(result.is_error) == error, f"{name}({arguments}): is_error={result.is_error}: {text_of(result)}"
    return result


async def expect_mcp_error(action, what):
    try:
        await asyncio.wait_for(action, STEP)
    except Exception as error:  # the SDK raises MCPError (or an HTTP error) for protocol errors
        return error
    raise AssertionError(f"{what}: no error")


async def expect_rejected(client, name, arguments, mentions):
    """A call the server refuses, as a JSON-RPC error or as a tool error the model reads
    (newer SDKs report bad arguments the second way, so the model can correct itself);
    either way the message names the problem."""
    try:
        result = await asyncio.wait_for(client.call_tool(name, arguments), STEP)
    except Exception as error:
        message = str(error)
    else:
        assert result.is_error, f"{name}({arguments}) was accepted: {text_of(result)}"
        message = text_of(result)
    assert mentions in message, f"{name}({arguments}): {message}"
    return message


async def every_tool(client, origin):
    """Every tool once, the way an assistant would chain them; returns the ids made."""
    listed = await asyncio.wait_for(client.list_tools(), STEP)
    names = {tool.name for tool in listed.tools}
    assert names == TOOLS, names
    for tool in listed.tools:
        assert tool.input_schema.get("type") == "object", tool
        assert tool.description, tool.name

    added = await call(client, "add_source", {"space": "research", "text": TRANSCRIPT, "name": "deploy chat"})
    chat = added.structured_content["source_id"]
    assert added.structured_content["source"]["status"] == "COMPLETED", text_of(added)
    assert added.structured_content["context_tokens"] > 0
    assert "context tokens" in text_of(added)

    spaces = await call(client, "list_spaces", {})
    assert [s["name"] for s in spaces.structured_content["spaces"]] == ["research"], spaces.structured_content
    context = await call(client, "get_context", {"source_id": chat})
    assert context.structured_content["revision"] == 1
    lines = await call(client, "get_content", {"source_id": chat, "start_line": 1, "end_line": 3})
    assert lines.structured_content["end_line"] == 3 and "deploy" in text_of(lines), text_of(lines)
    found = await call(client, "search_artifacts", {"space": "research", "query": "ExecStart"})
    assert found.structured_content["total"] == 1, text_of(found)
    artifact = await call(client, "get_artifact", {"artifact_id": found.structured_content["artifacts"][0]["id"]})
    assert "[Service]" in text_of(artifact)
    sources = await call(client, "list_sources", {"space": "research", "status": "COMPLETED"})
    assert sources.structured_content["total"] == 1

    page = await call(client, "add_source", {"space": "research", "url": origin.url})
    notes = page.structured_content["source"]["id"]
    assert page.structured_content["source"]["revision"] == 1, text_of(page)
    status = await call(client, "source_status", {"source_id": notes})
    assert status.structured_content["revision_count"] == 1, status.structured_content
    return chat, notes


async def resources_and_updates(client, origin, notes):
    """A resource listed, read, subscribed to, and its update seen after a refresh."""
    uri = f"ctxd://sources/{notes}/context"
    listed = await asyncio.wait_for(client.list_resources(), STEP)
    assert uri in {str(resource.uri) for resource in listed.resources}, listed
    templates = await asyncio.wait_for(client.list_resource_templates(), STEP)
    assert {t.uri_template for t in templates.resource_templates} == {
        "ctxd://sources/{id}/context",
        "ctxd://sources/{id}/content",
    }
    read = await asyncio.wait_for(client.read_resource(uri), STEP)
    assert "Release notes" in read.contents[0].text, read

    async with client.listen(resource_subscriptions=[uri]) as subscription:
        origin.version += 1
        refreshed = await call(client, "refresh_source", {"source_id": notes})
        assert refreshed.structured_content["source"]["revision"] == 2, text_of(refreshed)
        event = await asyncio.wait_for(subscription.__anext__(), STEP)
        assert str(event.uri) == uri, event
    read = await asyncio.wait_for(client.read_resource(uri), STEP)
    assert f"Version {origin.version}" in read.contents[0].text, read.contents[0].text


async def legacy_subscription(url, key, origin, notes):
    """A client of the 2025 protocol: resources/subscribe and notifications/resources/updated."""
    uri = f"ctxd://sources/{notes}/content"
    updated = asyncio.Event()

    async def on_message(message):
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/resources/updated" and str(root.params.uri) == uri:
            updated.set()

    # The SDK warns that resources/subscribe is gone in 2026-07-28: exactly the point.
    warnings.filterwarnings("ignore", message="resources/subscribe is removed")
    async with http_client(url, key, mode="legacy", message_handler=on_message) as client:
        await asyncio.wait_for(client.subscribe_resource(uri), STEP)
        origin.version += 1
        await call(client, "refresh_source", {"source_id": notes})
        await asyncio.wait_for(updated.wait(), STEP)


async def prompt(client, chat, notes):
    prompts = await asyncio.wait_for(client.list_prompts(), STEP)
    assert [p.name for p in prompts.prompts] == ["pack_context"], prompts
    packed = await asyncio.wait_for(client.get_prompt("pack_context", {"source_ids": f"{chat}, {notes}"}), STEP)
    text = packed.messages[0].content.text
    assert "deploy chat" in text and "context tokens" in text, text
    assert packed.description.startswith("2 source(s)"), packed.description


async def errors(client, chat):
    """Bad input is a clear error, and the session goes on."""
    bad_id = await call(client, "get_context", {"source_id": "not-an-id"}, error=True)
    assert "source_id" in text_of(bad_id), text_of(bad_id)
    missing = await call(client, "get_context", {"source_id": "0192f1e0-0000-7000-8000-000000000000"}, error=True)
    assert "not found" in text_of(missing), text_of(missing)
    huge = await call(client, "add_source", {"space": "research", "text": "x" * (11 * 1024 * 1024)}, error=True)
    assert "max_content_bytes" in text_of(huge), text_of(huge)[:300]
    await expect_rejected(client, "no_such_tool", {}, "no_such_tool")
    await expect_rejected(client, "get_context", {"source_id": 42}, "source_id")
    await expect_rejected(client, "get_context", {}, "source_id")
    await expect_rejected(client, "get_context", {"source_id": chat, "colour": "red"}, "colour")
    await expect_mcp_error(client.read_resource("ctxd://sources/nope/context"), "an unknown resource")
    await expect_mcp_error(client.get_prompt("pack_context", {}), "a prompt without its argument")
    still = await call(client, "get_context", {"source_id": chat})
    assert still.structured_content["revision"] == 1


async def another_user(url, base, ctxd, data_dir, env, chat):
    """Bob cannot read Alice's source; his key revoked mid-session is refused at once."""
    bob_key = subprocess.run(
        [ctxd, "keys", "create", "--user", "bob", "--data-dir", data_dir],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    async with http_client(url, bob_key) as bob:
        foreign = await call(bob, "get_context", {"source_id": chat}, error=True)
        assert "not found" in text_of(foreign), text_of(foreign)
        await expect_mcp_error(bob.read_resource(f"ctxd://sources/{chat}/context"), "another user's resource")
        mine = rest(base, bob_key, "GET", "/v1/api-keys")["api_keys"][0]["id"]
        rest(base, bob_key, "DELETE", f"/v1/api-keys/{mine}")
        error = await expect_mcp_error(bob.call_tool("list_spaces", {}), "a revoked key")
        print(f"  a revoked key is refused: {type(error).__name__}: {str(error)[:120]}")


async def over_stdio(ctxd, data_dir, env, chat):
    """`ctxd mcp` on the database `ctxd serve` is using."""
    params = StdioServerParameters(command=ctxd, args=["mcp", "--data-dir", data_dir], env=env)
    async with Client(params, read_timeout_seconds=STEP) as client:
        spaces = await call(client, "list_spaces", {})
        assert "research" in [s["name"] for s in spaces.structured_content["spaces"]], spaces.structured_content
        context = await call(client, "get_context", {"source_id": chat})
        assert context.structured_content["revision"] == 1
        added = await call(client, "add_source", {"space": "stdio", "text": "# Over stdio\n\nA note added over stdio."})
        assert added.structured_content["source"]["status"] == "COMPLETED", text_of(added)
        await call(client, "get_context", {"source_id": "nope"}, error=True)


async def check(url, base, key, ctxd, data_dir, env):
    origin = Origin()
    async with http_client(url, key) as client:
        chat, notes = await every_tool(client, origin)
        print("  every tool answered")
        await resources_and_updates(client, origin, notes)
        print("  a subscribed resource was updated after a refresh (subscriptions/listen)")
        await prompt(client, chat, notes)
        await errors(client, chat)
        print("  bad input got clear errors and the session went on")
    await legacy_subscription(url, key, origin, notes)
    print("  resources/subscribe got notifications/resources/updated (2025 protocol)")
    await another_user(url, base, ctxd, data_dir, env, chat)
    await over_stdio(ctxd, data_dir, env, chat)
    print("  ctxd mcp over stdio answered next to ctxd serve")


class SdkWarnings(logging.Handler):
    """Keeps the warnings the MCP SDK logs (a session it could not close, for one):
    each is something ctxd answered that the SDK did not take as it should."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        if record.name.startswith("mcp"):
            self.messages.append(record.getMessage())


def main():
    sdk_warnings = SdkWarnings()
    logging.getLogger().addHandler(sdk_warnings)
    parser = argparse.ArgumentParser()
    parser.add_argument("--ctxd", required=True)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="ctxd-mcp-check-")
    with socket_port() as port:
        pass
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTXD_") and k != "DATABASE_URL"}
    env.update(
        CTXD_FETCH__ALLOW_PRIVATE_NETWORKS="true",
        CTXD_WORKER__POLL_INTERVAL_MS="50",
        CTXD_GRPC__LISTEN="127.0.0.1:0",
        CTXD_RATE_LIMITS__PRO_PER_MINUTE="100000",
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
    try:
        key_file = os.path.join(data_dir, "first-api-key")
        deadline = time.time() + 60
        while not os.path.exists(key_file):
            if time.time() > deadline or server.poll() is not None:
                sys.exit("ctxd serve did not start; see " + log.name)
            time.sleep(0.1)
        time.sleep(0.3)
        key = open(key_file).read().strip()
        base = f"http://127.0.0.1:{port}"
        asyncio.run(check(f"{base}/mcp", base, key, args.ctxd, data_dir, env))
        if server.poll() is not None:
            sys.exit(f"ctxd serve died during the check; see {log.name}")
        if sdk_warnings.messages:
            sys.exit(f"the MCP SDK logged warnings: {sdk_warnings.messages}")
        print("MCP client check passed")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


class socket_port:
    """A free TCP port on loopback."""

    def __enter__(self):
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        return self.socket.getsockname()[1]

    def __exit__(self, *exc):
        self.socket.close()


if __name__ == "__main__":
    main()
