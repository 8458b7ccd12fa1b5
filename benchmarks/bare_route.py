"""The bare Chalice route the cold and warm benchmarks compare the app with,
and what both need to call a Chalice app as Lambda does.

The bare app is one route, ``POST /v1/registrations``, written into a
temporary directory as its own ``app.py``: it imports chalice and boto3,
creates a plain boto3 DynamoDB client at its first request and makes the
DynamoDB calls it is given (``CALLS``: the exact operation and parameters
the app made, captured with a botocore ``provide-client-params`` hook), then
answers 201. It parses nothing, checks nothing and logs nothing: what the app
costs beyond it is what the app adds around the same DynamoDB calls.

Used by benchmarks/coldstart.py and benchmarks/warm.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

BARE_APP = '''"""A bare Chalice route (written by benchmarks/bare_route.py)."""

import boto3
from botocore import xform_name
from chalice import Chalice, Response

app = Chalice(app_name="bare")
CALLS = []  # [(operation, params)]: set by the benchmark before the request
_client = None


def dynamodb():
    global _client
    if _client is None:
        _client = boto3.client("dynamodb")
    return _client


@app.route("/v1/registrations", methods=["POST"], content_types=["*/*"])
def register():
    client = dynamodb()
    for operation, params in CALLS:
        getattr(client, xform_name(operation))(**params)
    return Response(
        body='{"ok": true}', status_code=201, headers={"Content-Type": "application/json"}
    )
'''


def write_bare_app(directory: Path) -> Path:
    """The bare app as ``directory/app.py``; ``directory`` is returned."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(BARE_APP)
    return directory


def api_event(path: str, headers: dict[str, str], body: bytes, method: str = "POST") -> dict:
    """An API Gateway (REST, proxy) event, as Lambda hands it to ``app.app``."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }


class LambdaContext:
    """What Lambda passes as ``context`` (the attributes Powertools and Chalice read)."""

    function_name = "sales-office-prod"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws-cn:lambda:cn-north-1:123456789012:function:sales-office-prod"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/sales-office-prod"
    log_stream_name = "bench"
    identity = None
    client_context = None

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


# -- captured calls -------------------------------------------------------------


def retarget(params: Any, names: dict[str, str]) -> Any:
    """``params`` with every table name found in ``names`` replaced (TableName
    values and RequestItems keys, at any depth): the same calls, other tables."""
    if isinstance(params, dict):
        out = {}
        for key, value in params.items():
            if key == "TableName" and isinstance(value, str):
                out[key] = names.get(value, value)
            elif key == "RequestItems" and isinstance(value, dict):
                out[key] = {names.get(t, t): retarget(v, names) for t, v in value.items()}
            else:
                out[key] = retarget(value, names)
        return out
    if isinstance(params, list):
        return [retarget(v, names) for v in params]
    return params


def dump_calls(calls: list[tuple[str, dict[str, Any]]], path: Path) -> None:
    path.write_text(json.dumps([[op, params] for op, params in calls], default=_bytes_out))


def load_calls(path: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(op, params) for op, params in json.loads(path.read_text(), object_hook=_bytes_in)]


def _bytes_out(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _bytes_in(doc: dict[str, Any]) -> Any:
    if set(doc) == {"__bytes__"}:
        return base64.b64decode(doc["__bytes__"])
    return doc


def copy_table_request(description: dict[str, Any], name: str) -> dict[str, Any]:
    """CreateTable parameters for a table like ``description`` (DescribeTable's
    ``Table``) named ``name``: keys, attributes, indexes and stream alike."""
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": description["KeySchema"],
        "AttributeDefinitions": description["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in description.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    local = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in description.get("LocalSecondaryIndexes", [])
    ]
    if local:
        request["LocalSecondaryIndexes"] = local
    stream = description.get("StreamSpecification")
    if stream and stream.get("StreamEnabled"):
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return request
