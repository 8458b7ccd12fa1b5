"""`make package STAGE=prod`: the template an operator deploys and the zip the
functions run. Packaged once for the module (chalice package, then the zip
compiled and trimmed: ~30 s), then read as CloudFormation and as a zip."""

from __future__ import annotations

import calendar
import importlib.util
import io
import json
import re
import subprocess
import sys
import zipfile
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.observability import count, flush_metrics, metrics
from chalicelib.rules.policy import Policy
from chalicelib.rules.reclaim import utc_cron
from chalicelib.store.models import IdempotencyItem
from chalicelib.store.tables import TABLES
from infra.template import FUNCTIONS, JOBS, logical_id, merge_template, ttl_attribute
from scripts.package import (
    NOT_IMPORTED,
    WITH_SOURCES,
    clients_in_code,
    kept_services,
    package,
    runtime_of,
)

ROOT = Path(__file__).resolve().parents[2]
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.package  # the module builds the package once: -m "not package"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package("prod", tmp_path_factory.mktemp("prod"))


@pytest.fixture(scope="module")
def template(packaged: Path) -> dict[str, Any]:
    return dict(json.loads(packaged.read_text()))


def of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True, check=False)


# -- the template as a whole ----------------------------------------------------------


def test_cfn_lint_accepts_the_prod_template(packaged):
    result = lint(packaged)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_broken_template(template, tmp_path):
    """The check above can fail: a wrong billing mode is an error."""
    broken = json.loads(json.dumps(template))
    broken["Resources"]["CustomersTable"]["Properties"]["BillingMode"] = "FREE"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert lint(path).returncode != 0


def test_the_deployment_zip_carries_linux_wheels(packaged):
    names = zipfile.ZipFile(packaged.with_name("deployment.zip")).namelist()
    assert "app.py" in names and "chalicelib/store/models.py" in names
    assert any(
        re.match(r"pydantic_core/_pydantic_core\.cpython-311-x86_64-linux-gnu\.so", n)
        for n in names
    )
    assert not any(n.startswith(("tests/", "infra/", "scripts/")) for n in names)


# -- tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(TABLES), ids=lambda m: TABLES[m])
def test_every_table_is_declared_as_the_code_reads_it(template, model):
    """On-demand, PITR, encrypted, deletion-protected and retained in prod,
    named as the app's TABLE_PREFIX says, with every index of the model and
    the TTL attribute where the model has one."""
    table = TABLES[model]
    resource = template["Resources"][logical_id(table)]
    props = resource["Properties"]
    assert props["TableName"] == {"Fn::Sub": f"${{AWS::StackName}}-{table}"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    schema = model._get_schema()
    declared = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(declared) == {i["index_name"] for i in schema["global_secondary_indexes"]}
    for index in declared.values():
        assert index["KeySchema"][0]["KeyType"] == "HASH"
    assert props["KeySchema"][0]["KeyType"] == "HASH"
    ttl = ttl_attribute(model)
    if ttl is None:
        assert "TimeToLiveSpecification" not in props
    else:
        assert props["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}


def test_the_api_is_regional(template):
    """China's regions have no edge-optimized endpoints."""
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == "REGIONAL"


def test_only_prod_tables_are_protected_from_deletion():
    dev = merge_template("dev")["Resources"]
    assert all(
        dev[logical_id(t)]["Properties"]["DeletionProtectionEnabled"] is False
        for t in TABLES.values()
    )


def test_the_stream_handler_reads_the_idempotency_tables_stream_by_reference(template):
    table = logical_id(TABLES[IdempotencyItem])
    spec = template["Resources"][table]["Properties"]["StreamSpecification"]
    assert spec == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    events = template["Resources"]["IdempotencyStream"]["Properties"]["Events"]
    (source,) = events.values()
    assert source["Type"] == "DynamoDB"
    assert source["Properties"]["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
    failed = source["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert failed == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}


# -- schedules ----------------------------------------------------------------------------

RATE = re.compile(r"rate\((1 (minute|hour|day)|[1-9][0-9]* (minutes|hours|days))\)")
CRON = re.compile(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)")


def schedules(template: dict[str, Any]) -> dict[str, str]:
    found = {}
    for name, function in of_type(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "Schedule":
                found[name] = event["Properties"]["Schedule"]
    return found


def reclaim_runs_in_shanghai(expression: str, years: range) -> set[datetime]:
    """When EventBridge (UTC) fires ``cron(m h L * ? *)``, in Shanghai time."""
    match = CRON.fullmatch(expression)
    assert match, expression
    minute, hour, day, month, weekday, year = match.groups()
    assert (day, month, weekday, year) == ("L", "*", "?", "*")
    fired = set()
    for y in years:
        for m in range(1, 13):
            last = calendar.monthrange(y, m)[1]
            utc = datetime(y, m, last, int(hour), int(minute), tzinfo=UTC)
            fired.add(utc.astimezone(SHANGHAI))
    return fired


def test_every_schedule_is_a_valid_utc_expression_at_the_rulebooks_hour(template):
    """EventBridge reads schedules in UTC: the hourly jobs are rates; the
    reclaim (R-RECLAIM-1) fires at 02:00 on every 1st in Shanghai, leap
    Februaries included."""
    found = schedules(template)
    assert found == {
        "ExpirySweep": "rate(1 hour)",
        "DuplicateWatch": "rate(1 hour)",
        "MonthlyReclaim": "cron({} {} {} * ? *)".format(*utc_cron(Policy())),
        # pushed events' retries and what the stream missed (decision 0010)
        "DeliveryRetries": "rate(1 minute)",
    }
    for expression in (found["ExpirySweep"], found["DuplicateWatch"], found["DeliveryRetries"]):
        assert RATE.fullmatch(expression)
    runs = reclaim_runs_in_shanghai(found["MonthlyReclaim"], range(2027, 2029))
    assert {(r.day, r.hour, r.minute) for r in runs} == {(1, 2, 0)}
    assert len({(r.year, r.month) for r in runs}) == 24


# -- reliability ---------------------------------------------------------------------------


@pytest.mark.parametrize("job", JOBS)
def test_each_job_runs_alone_and_fails_into_the_dead_letter_queue(template, job):
    resources = template["Resources"]
    assert resources[job]["Properties"]["ReservedConcurrentExecutions"] == 1
    config = resources[f"{job}InvokeConfig"]["Properties"]
    assert config["FunctionName"] == {"Ref": job}
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}


def test_alarms_watch_dead_letters_5xx_throttles_and_probing(template):
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    expected = {"JobsDeadLetterAlarm", "Api5xxAlarm", "DuplicateProbeAlarm"} | {
        f"{logical_id(t)}ThrottleAlarm" for t in TABLES.values()
    }
    # pushed events (decision 0010): either delivering function failing, a delivery dead-lettered
    expected |= {
        "EventDeliveriesErrorsAlarm",
        "DeliveryRetriesErrorsAlarm",
        "DeliveriesDeadLetteredAlarm",
    }
    # a table with more indexes than one alarm can watch has a second alarm
    assert set(alarms) - {a for a in alarms if a.endswith("ThrottleAlarm2")} == expected
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    api = alarms["Api5xxAlarm"]["Properties"]["Dimensions"]
    assert {"Name": "Stage", "Value": "prod"} in api
    assert {"Name": "ApiName", "Value": CONFIG["app_name"]} in api


def test_the_probe_alarm_watches_the_metric_the_code_emits(template, monkeypatch):
    """R-DUP-1 probing: the alarm's namespace, name and dimensions are those
    of the EMF line the duplicate watch prints."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv(
        "POWERTOOLS_SERVICE_NAME", CONFIG["environment_variables"]["POWERTOOLS_SERVICE_NAME"]
    )
    out = io.StringIO()
    metrics.clear_metrics()  # nothing another test left
    with redirect_stdout(out):
        count("DuplicateProbeSuspected")
        flush_metrics()  # as the job's middleware does when the run ends
    emf = json.loads(out.getvalue())
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    alarm = template["Resources"]["DuplicateProbeAlarm"]["Properties"]
    assert alarm["Namespace"] == directive["Namespace"]
    assert alarm["MetricName"] == directive["Metrics"][0]["Name"]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        name: emf[name] for name in directive["Dimensions"][0]
    }


# -- secrets and roles ----------------------------------------------------------------------


def test_no_local_secret_reaches_the_packaged_template(packaged, template):
    text = packaged.read_text()
    for marker in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", '"PHONE_HMAC_KEY"', "local-fake"):
        assert marker not in text
    for function in of_type(template, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["PHONE_HMAC_KEY_PARAMETER"] == {"Ref": "PhoneHmacKeyParameter"}
        assert variables["STAGE"] == "prod"
        assert variables["TABLE_PREFIX"] == {"Ref": "AWS::StackName"}  # the tables' names
    assert (
        template["Parameters"]["PhoneHmacKeyParameter"]["Default"]
        == "/sales-office/prod/phone-hmac-key"
    )


def test_the_local_stage_is_never_packaged(tmp_path):
    with pytest.raises(SystemExit, match="never packaged"):
        package("local", tmp_path)


def test_every_function_has_its_own_role_with_its_policy_file(template):
    functions = of_type(template, "AWS::Serverless::Function")
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    assert len(roles) == len(functions)
    for name, function in functions.items():
        role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
        (document,) = [p["PolicyDocument"] for p in role["Properties"]["Policies"]]
        chalice_name = {v: k for k, v in FUNCTIONS.items()}[name]
        policy_file = CONFIG["lambda_functions"][chalice_name]["iam_policy_file"]
        assert document == json.loads((ROOT / ".chalice" / policy_file).read_text())
        for statement in document["Statement"]:
            assert all("*" not in action for action in statement["Action"])


def test_packaging_offline_names_the_wheels_that_are_missing(tmp_path, monkeypatch):
    """PIP_NO_INDEX with a wheel folder that lacks a pinned requirement: a
    plain message, before chalice fails somewhere inside pip."""
    (tmp_path / "boto3-1.44.8-py3-none-any.whl").write_bytes(b"")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(SystemExit, match="lacks aws-lambda-powertools==") as refused:
        package("prod", tmp_path / "out")
    assert "boto3" not in str(refused.value)


def test_each_throttle_alarm_watches_its_table_and_every_index(template):
    resources = template["Resources"]
    for model, table in TABLES.items():
        name = f"{logical_id(table)}ThrottleAlarm"
        alarms = [resources[a]["Properties"] for a in resources if a in (name, f"{name}2")]
        watched = [
            next(
                (
                    d["Value"]
                    for d in m["MetricStat"]["Metric"]["Dimensions"]
                    if d["Name"] == "GlobalSecondaryIndexName"
                ),
                None,
            )
            for alarm in alarms
            for m in alarm["Metrics"]
            if "MetricStat" in m
        ]
        indexes = {i["index_name"] for i in model._get_schema()["global_secondary_indexes"]}
        assert sorted(watched, key=str) == sorted(2 * [None, *indexes], key=str), table
        for alarm in alarms:
            assert len(alarm["Metrics"]) <= 10  # CloudWatch's limit per alarm


def test_the_deployment_zip_carries_the_console(packaged):
    names = zipfile.ZipFile(packaged.with_name("deployment.zip")).namelist()
    for name in ("index.html", "console.js", "console.css"):
        assert f"chalicelib/console/static/{name}" in names


# -- the deployment zip: bytecode, service models, the clients it can make ------------------

# the goal is 8 MB; with every source beside its bytecode the zip is
# 10.4 MB (22.2 MB as chalice makes it): this budget catches growth
ZIP_BUDGET_MB = 8.0
# every AWS client the functions make, and where (kept_services derives the
# same set from the code; this list is the one a reader checks it against)
APP_CLIENTS = {
    "dynamodb": "the store's one PynamoDB connection (chalicelib/store/tables.py)",
    "ssm": "the phone-HMAC key, read with botocore (chalicelib/settings.py)",
    "kms": "registrant secrets sealed at rest (chalicelib/store/sealing.py)",
    "xray": "aws_xray_sdk's sampling poller, built with Powertools' Tracer",
}
# botocore's own: its assume-role and web-identity credential providers
BOTOCORE_CLIENTS = {"sts"}
# run in a fresh interpreter with only the unzipped zip on sys.path: imports
# the app, makes every client as the app makes it, sends one call through
# each (stopped before the network), reports what was compiled from source
# and what came from outside the zip
FROM_THE_ZIP = r"""
import json, sys
tree = sys.argv[1]
sys.path.insert(0, tree)
from importlib.machinery import SourceFileLoader
compiled = []
source_to_code = SourceFileLoader.source_to_code
def counted(self, data, path, *args, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, *args, **kwargs)
SourceFileLoader.source_to_code = counted

import app
import botocore.httpsession, botocore.session
from aws_xray_sdk.core import xray_recorder
from chalicelib.observability import tracer
from chalicelib.settings import _parameter
from chalicelib.store import sealing, store

class Stopped(Exception):
    pass

def stop(session, request, **kwargs):  # every client's call ends here, signed and unsent
    raise Stopped(request.url)

botocore.httpsession.URLLib3Session.send = stop
tracer()  # Powertools' Tracer, as the functions build it when tracing is on
sts = botocore.session.get_session().create_client("sts", "cn-north-1")
calls = {  # each client as the app makes it, one call through each
    "dynamodb": lambda: store()._connection.client.describe_limits(),
    "kms": lambda: sealing._kms.client().list_keys(),
    "ssm": lambda: _parameter("/sales-office/prod/phone-hmac-key"),
    "xray": lambda: xray_recorder.sampler._connector._xray_client.get_sampling_rules(),
    "sts": lambda: sts.get_caller_identity(),
}
sent = {}
for name, call in calls.items():
    try:
        call()
    except Stopped as url:
        sent[name] = str(url)
try:
    botocore.session.get_session().create_client("s3", "cn-north-1")
    s3 = "made"
except Exception as exc:
    s3 = type(exc).__name__
files = {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""}
print(json.dumps({
    "app": app.__file__, "sent": sent, "s3": s3,
    "compiled": [p for p in compiled if p.startswith(tree)],
    "outside": sorted(f for f in files if not f.startswith((tree, sys.base_prefix))),
    "boto3": sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "s3transfer")),
    "modules": sum(1 for f in files if f.startswith(tree)),
}))
"""


def prod_environment() -> dict[str, str]:
    """The prod functions' environment (.chalice/config.json), with fake
    credentials and the key given directly (no SSM to read it from here)."""
    return {
        **CONFIG["environment_variables"],
        **CONFIG["stages"]["prod"]["environment_variables"],
        "TABLE_PREFIX": "so-prod",
        "AWS_DEFAULT_REGION": "cn-north-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PHONE_HMAC_KEY": "zip-test-phone-hmac-key-0123456789",
        "REGISTRANT_SECRETS_KEY_ID": "alias/so-prod-registrant-secrets",
    }


@pytest.fixture(scope="module")
def deployment_zip(packaged: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(packaged.with_name("deployment.zip"))


@pytest.fixture(scope="module")
def unzipped(deployment_zip: zipfile.ZipFile, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("task")  # what Lambda unpacks into /var/task
    deployment_zip.extractall(tree)
    return tree


def test_every_module_in_the_zip_has_its_unchecked_hash_bytecode(packaged, deployment_zip):
    """The app's and Chalice's modules: beside every .py, in __pycache__ as
    the import system looks for it, bytecode of the functions' Python,
    hash-based and unchecked (flags 0b01: Lambda never compares it with the
    source) for exactly that source. Every other module: its bytecode alone,
    where its source would be (decision 0011)."""
    runtime = runtime_of(packaged)
    assert runtime == f"python{sys.version_info.major}.{sys.version_info.minor}"
    tag = sys.implementation.cache_tag  # cpython-311, as this interpreter's MAGIC_NUMBER
    names = set(deployment_zip.namelist())
    sources = sorted(n for n in names if n.endswith(".py"))
    assert "app.py" in sources and "chalicelib/store/repository.py" in sources
    assert "chalice/app.py" in sources
    assert [s for s in sources if not s.startswith(WITH_SOURCES)] == []
    wrong = []
    for source in sources:
        folder, _, file = source.rpartition("/")
        pyc = f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc".lstrip("/")
        if pyc not in names:
            wrong.append(f"{source}: no {pyc}")
            continue
        header = deployment_zip.read(pyc)[:16]
        if header[:4] != importlib.util.MAGIC_NUMBER:
            wrong.append(f"{pyc}: another Python's bytecode")
        elif int.from_bytes(header[4:8], "little") != 0b01:
            wrong.append(f"{pyc}: not unchecked-hash")
        elif header[8:] != importlib.util.source_hash(deployment_zip.read(source)):
            wrong.append(f"{pyc}: compiled from another source")
    sourceless = sorted(n for n in names if n.endswith(".pyc") and "__pycache__" not in n)
    assert len(sourceless) > 700 and "pynamodb/models.pyc" in sourceless
    for pyc in sourceless:
        if deployment_zip.read(pyc)[:4] != importlib.util.MAGIC_NUMBER:
            wrong.append(f"{pyc}: another Python's bytecode")
    assert wrong == []


def test_no_package_the_functions_never_import_is_shipped(deployment_zip):
    names = deployment_zip.namelist()
    assert [n for n in names if n.split("/")[0].startswith(NOT_IMPORTED)] == []


def test_the_zip_stays_within_its_size_budget(packaged):
    size = packaged.with_name("deployment.zip").stat().st_size / 1e6
    assert size <= ZIP_BUDGET_MB, f"{size:.1f} MB"


def test_the_zip_keeps_only_the_service_models_the_functions_use(deployment_zip):
    """botocore/data/<service>/ for the services the functions make clients
    for, and the files every client needs; no other service's model."""
    names = deployment_zip.namelist()
    kept = {n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 2}
    assert kept == set(APP_CLIENTS) | BOTOCORE_CLIENTS
    for shared in ("endpoints.json", "partitions.json", "sdk-default-configuration.json"):
        assert f"botocore/data/{shared}" in names
    assert "botocore/data/_retry.json" in names
    for service in kept:
        files = {n.rsplit("/", 1)[1] for n in names if n.startswith(f"botocore/data/{service}/")}
        assert {"service-2.json.gz", "endpoint-rule-set-1.json.gz"} <= files, service


def test_the_kept_services_are_the_clients_the_code_makes():
    assert clients_in_code() == set(APP_CLIENTS)
    assert kept_services() == set(APP_CLIENTS) | BOTOCORE_CLIENTS


def test_a_new_client_in_the_code_would_be_kept(tmp_path):
    """The scan can find more: a client made by name, over lines, or by a
    library the app calls."""
    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "app.py").write_text('import boto3\nSQS = boto3.client(\n    "sqs")\n')
    (tmp_path / "chalicelib" / "mail.py").write_text(
        "from pynamodb.models import Model\n"
        "session.create_client('sesv2', region_name=r)\n"
        "value = parameters.get_parameters('/x')\n"
    )
    assert clients_in_code(tmp_path) == {"sqs", "sesv2", "dynamodb", "ssm"}
    assert kept_services(tmp_path) == {"sqs", "sesv2", "dynamodb", "ssm", "sts"}


def test_every_client_the_app_makes_works_from_the_zip_alone(unzipped):
    """A fresh interpreter (-I -S: no site-packages, no PYTHON* settings)
    with only the unzipped zip on sys.path imports the app from bytecode
    alone, makes each client as the app does and sends a call through each
    (stopped before the network); a service the app never uses is absent."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", FROM_THE_ZIP, str(unzipped)],
        env=prod_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["app"] == str(unzipped / "app.py")
    assert report["outside"] == []
    assert report["boto3"] == []  # left out of the zip: nothing may import it
    assert report["compiled"] == []  # every module of the zip came from its bytecode
    assert report["modules"] > 300
    assert report["sent"] == {
        **{s: f"https://{s}.cn-north-1.amazonaws.com.cn/" for s in ("dynamodb", "kms", "ssm")},
        "xray": "http://127.0.0.1:2000/GetSamplingRules",  # through the X-Ray daemon
        "sts": "https://sts.cn-north-1.amazonaws.com.cn/",
    }
    assert set(report["sent"]) == set(APP_CLIENTS) | BOTOCORE_CLIENTS
    assert report["s3"] == "UnknownServiceError"
