"""Runs this app through azure-functions-runtime (the worker library Azure uses from Python 3.13 on), as the
Functions host's proxy worker does: WorkerInitRequest (its own indexing of function_app.py), FunctionsMetadata
(the bindings the host would register), then InvocationRequests built from the host protocol's messages, through
the library's own request and response conversion.

    python -m tests.worker.harness < invocations.json > results.json

A separate process: the library imports function_app itself, and an app object may be indexed only once.
stdin: [{"function": name, "binding": arg name, "http": {method, url, headers, query, params, body}} |
        {"function", "binding", "bytes": base64, "metadata": {name: string or JSON object}} |
        {"function", "binding", "json": text}]
stdout: {"metadata": [{name, function_id, bindings: {name: {type, direction}}, raw_bindings: [dict]}],
         "results": [{"status": "Success"|"Failure", "exception": text, "http": {status, headers, body}}]}
"""
from __future__ import annotations

import asyncio
import base64
import importlib
import json
import sys
import tempfile
import types
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = Path(__file__).resolve().parent / "protos"
FILES = ["FunctionRpc.proto", "identity/ClaimsIdentityRpc.proto", "rpc_shared/NullableTypes.proto"]


def compile_protos() -> types.ModuleType:
    """The host protocol's messages, compiled now: one namespace, as the proxy worker passes `protos`."""
    import grpc_tools
    from grpc_tools import protoc
    out = Path(tempfile.mkdtemp(prefix="protos-"))
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{Path(grpc_tools.__file__).parent / '_proto'}", f"--python_out={out}"]
    if protoc.main(args + FILES) != 0:
        raise RuntimeError("protoc failed")
    for pkg in ("identity", "rpc_shared"):
        (out / pkg / "__init__.py").touch()
    sys.path.insert(0, str(out))
    ns = types.ModuleType("protos")
    for module in ("FunctionRpc_pb2", "identity.ClaimsIdentityRpc_pb2", "rpc_shared.NullableTypes_pb2"):
        mod = importlib.import_module(module)
        for name in dir(mod):
            if not name.startswith("_"):
                setattr(ns, name, getattr(mod, name))
    return ns


class Message:
    """The envelope handle_event's functions read: `.request` (a StreamingMessage) and `.properties`."""

    def __init__(self, request, properties=None):
        self.request, self.properties = request, properties or {}


def typed(protos, spec: dict):
    if "http" in spec:
        h = spec["http"]
        body = base64.b64decode(h.get("body", ""))
        return protos.TypedData(http=protos.RpcHttp(
            method=h["method"], url=h["url"], headers=h.get("headers", {}), query=h.get("query", {}),
            params=h.get("params", {}), body=protos.TypedData(bytes=body)))
    if "bytes" in spec:
        return protos.TypedData(bytes=base64.b64decode(spec["bytes"]))
    return protos.TypedData(json=spec["json"])


def http_out(protos, typed_data) -> dict | None:
    if typed_data is None or typed_data.WhichOneof("data") != "http":
        return None
    h = typed_data.http
    body = h.body
    kind = body.WhichOneof("data")
    raw = body.bytes if kind == "bytes" else (body.string.encode() if kind == "string" else b"")
    return {"status": int(h.status_code or "200"), "headers": dict(h.headers), "body": raw.decode()}


async def run(invocations: list[dict]) -> dict:
    from azure_functions_runtime import handle_event
    protos = compile_protos()
    init = protos.StreamingMessage(worker_init_request=protos.WorkerInitRequest(
        function_app_directory=str(ROOT), capabilities={}))
    response = await handle_event.worker_init_request(Message(init, {"host": "127.0.0.1", "protos": protos}))
    if response.result.status != protos.StatusResult.Success:
        return {"init_error": response.result.exception.message}
    meta = await handle_event.functions_metadata_request(Message(protos.StreamingMessage()))
    metadata = [{"name": m.name, "function_id": m.function_id,
                 "bindings": {k: {"type": b.type, "direction": int(b.direction)} for k, b in m.bindings.items()},
                 "raw_bindings": [json.loads(r) for r in m.raw_bindings]}
                for m in meta.function_metadata_results]
    ids = {m["name"]: m["function_id"] for m in metadata}
    results = []
    for spec in invocations:
        metadata_in = {k: protos.TypedData(string=v) if isinstance(v, str) else protos.TypedData(json=json.dumps(v))
                       for k, v in spec.get("metadata", {}).items()}
        request = protos.StreamingMessage(invocation_request=protos.InvocationRequest(
            invocation_id=str(uuid.uuid4()), function_id=ids[spec["function"]],
            input_data=[protos.ParameterBinding(name=spec["binding"], data=typed(protos, spec))],
            trigger_metadata=metadata_in))
        answer = await handle_event.invocation_request(Message(request))
        results.append({"status": protos.StatusResult.Status.Name(answer.result.status),
                        "exception": answer.result.exception.message,
                        "http": http_out(protos, answer.return_value if answer.HasField("return_value") else None)})
    return {"metadata": metadata, "results": results}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    out = asyncio.run(run(json.load(sys.stdin)))
    sys.stdout.flush()
    print("\n@@RESULT@@" + json.dumps(out))
