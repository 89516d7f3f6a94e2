"""A gRPC client made by another toolchain talks to ctxd.

Run by `cargo xtask ci`: generates Python stubs from proto/ with grpcio-tools,
then against a running `ctxd serve` creates a space and a URI source served by a
local origin, watches it to COMPLETED, refreshes it and watches that run to its
end (UNCHANGED: the origin did not change). It also lists the services through
grpcio-reflection, whose client speaks reflection v1alpha.

Usage: grpc_client_check.py PROTO_DIR OUT_DIR GRPC_ADDRESS API_KEY
"""

import http.server
import importlib.resources
import sys
import threading

from grpc_tools import protoc

proto_dir, out_dir, address, api_key = sys.argv[1:5]
files = [f"ctxd/v1/{name}.proto" for name in ("common", "spaces", "collections", "api_keys", "artifacts", "sources")]
wkt = str(importlib.resources.files("grpc_tools") / "_proto")
code = protoc.main(["protoc", f"-I{proto_dir}", f"-I{wkt}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *files])
if code != 0:
    sys.exit(f"protoc failed with {code}")
sys.path.insert(0, out_dir)

import grpc  # noqa: E402
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (  # noqa: E402
    ProtoReflectionDescriptorDatabase,
)

from ctxd.v1 import sources_pb2, sources_pb2_grpc, spaces_pb2, spaces_pb2_grpc  # noqa: E402


class Origin(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the stdlib's name)
        body = b"# Notes\n\nWe decided to use Postgres for the queue.\n"
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/markdown")
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
threading.Thread(target=origin.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{origin.server_address[1]}/notes.md"

metadata = [("authorization", f"Bearer {api_key}")]
channel = grpc.insecure_channel(address)
grpc.channel_ready_future(channel).result(timeout=20)
listed = set(ProtoReflectionDescriptorDatabase(channel).get_services())
for service in ("ctxd.v1.SourcesService", "ctxd.v1.SpacesService", "grpc.health.v1.Health"):
    assert service in listed, (service, listed)
spaces = spaces_pb2_grpc.SpacesServiceStub(channel)
sources = sources_pb2_grpc.SourcesServiceStub(channel)

space = spaces.CreateSpace(spaces_pb2.CreateSpaceRequest(name="python client"), metadata=metadata)
source = sources.CreateSource(
    sources_pb2.CreateSourceRequest(space_id=space.id, input=sources_pb2.SourceInput(url=url)), metadata=metadata
)


def watch_to_the_end(source_id):
    """Every status the watch reports, until it ends."""
    seen = []
    request = sources_pb2.WatchSourceRequest(id=source_id)
    for update in sources.WatchSource(request, metadata=metadata, timeout=60):
        seen.append(sources_pb2.SourceStatus.Name(update.status))
    return seen, update


seen, last = watch_to_the_end(source.id)
assert seen[-1] == "SOURCE_STATUS_COMPLETED", seen
assert sources_pb2.RunOutcome.Name(last.last_run.outcome) == "RUN_OUTCOME_CHANGED", last.last_run
context = sources.GetContext(sources_pb2.GetContextRequest(source_id=source.id), metadata=metadata)
assert any("Postgres" in d for d in context.decisions), context.decisions

refreshed = sources.RefreshSource(sources_pb2.RefreshSourceRequest(id=source.id), metadata=metadata)
assert sources_pb2.RunKind.Name(refreshed.last_run.kind) == "RUN_KIND_REFRESH"
seen, last = watch_to_the_end(source.id)
assert seen[-1] == "SOURCE_STATUS_COMPLETED", seen
assert sources_pb2.RunOutcome.Name(last.last_run.outcome) == "RUN_OUTCOME_UNCHANGED", last.last_run

try:
    sources.GetSource(sources_pb2.SourceRequest(id=source.id))
    sys.exit("a call without a key was accepted")
except grpc.RpcError as error:
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.code()

print(f"python gRPC client: {len(listed)} services listed by reflection, created, watched {seen}, refreshed UNCHANGED, unauthenticated refused")
