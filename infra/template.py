"""The merge template for `chalice package --merge-template`.

Chalice declares the functions, the API, the schedules and the roles; this
adds what `.chalice/` cannot: every DynamoDB table (read off the PynamoDB
models, so the template and the code cannot disagree on a key or an index),
the jobs' dead-letter queue and on-failure destinations, the alarms, the
SSM parameter name of the phone-HMAC key, and the KMS key that seals
registrant signing secrets at rest (store/sealing.py; decision 0006) with
its alias, given to the API function only. Chalice deep-merges dicts and
replaces lists, so the stream handler's event source is pointed at the
idempotency table by reference here.
"""

from __future__ import annotations

from typing import Any

from chalicelib.store.models import EventItem, IdempotencyItem
from chalicelib.store.tables import TABLES

APP = "sales-office"
FUNCTIONS = {  # Chalice's logical ids
    "api_handler": "APIHandler",
    "expiry_sweep": "ExpirySweep",
    "monthly_reclaim": "MonthlyReclaim",
    "duplicate_watch": "DuplicateWatch",
    "idempotency_stream": "IdempotencyStream",
    "event_deliveries": "EventDeliveries",
    "delivery_retries": "DeliveryRetries",
}
JOBS = (
    "ExpirySweep",
    "MonthlyReclaim",
    "DuplicateWatch",
    "DeliveryRetries",
)  # async: retried, then the DLQ
STREAMED = IdempotencyItem  # the table whose TTL deletions the stream handler sees
# the events table's stream: each new event pushed to its registrant's endpoint
# (decision 0010); only the new image is needed
PUSHED = EventItem
# the functions that sign with registrant secrets, so open them (KMS Decrypt)
SIGNERS = ("api_handler", "event_deliveries", "delivery_retries")
SECRETS_KEY = "RegistrantSecretsKey"  # its logical id; .chalice/policy-api.json grants its use
ACCOUNT_ROOT = "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
API_5XX_PER_5_MINUTES = 5
DIMENSION_SETS_PER_ALARM = 4  # a table or an index: 2 metrics each, + their sum <= 10
NAMESPACE = "SalesOffice"


def logical_id(table: str) -> str:
    """customers -> CustomersTable"""
    return "".join(part.title() for part in table.split("_")) + "Table"


def merge_template(stage: str) -> dict[str, Any]:
    if stage == "local":
        raise ValueError("the local stage is never packaged: its credentials are fakes")
    resources: dict[str, Any] = {}
    for model, table in TABLES.items():
        resources[logical_id(table)] = _table(model, table, stage)
    resources.update(_dead_letters())
    resources.update(_alarms(stage))
    resources.update(_secrets_key(stage))
    resources.update(_delivery_alarms())
    stream = {
        "Properties": {
            "Events": {
                "IdempotencyStreamDynamodbEventSource": {
                    "Properties": {
                        "Stream": {"Fn::GetAtt": [logical_id(TABLES[STREAMED]), "StreamArn"]},
                        "StartingPosition": "TRIM_HORIZON",
                        # a record that keeps failing goes to the DLQ instead
                        # of holding its shard for the stream's 24 hours
                        "MaximumRetryAttempts": 3,
                        "BisectBatchOnFunctionError": True,
                        "DestinationConfig": {
                            "OnFailure": {
                                "Destination": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
                            }
                        },
                    }
                }
            }
        }
    }
    resources["IdempotencyStream"] = stream
    resources["EventDeliveries"] = _pushed_stream()
    for function in FUNCTIONS.values():
        environment = {
            "PHONE_HMAC_KEY_PARAMETER": {"Ref": "PhoneHmacKeyParameter"},
            # the tables are named after the stack: two projects (or a stack
            # recreated after a failed first deploy) never collide
            "TABLE_PREFIX": {"Ref": "AWS::StackName"},
        }
        if function in {FUNCTIONS[name] for name in SIGNERS}:  # they open registrant secrets
            environment["REGISTRANT_SECRETS_KEY_ID"] = {"Fn::GetAtt": [SECRETS_KEY, "Arn"]}
        entry = resources.setdefault(function, {"Properties": {}})
        entry["Properties"]["Environment"] = {"Variables": environment}
    return {
        "Parameters": {
            "PhoneHmacKeyParameter": {
                "Type": "String",
                "Default": f"/{APP}/{stage}/phone-hmac-key",
                "AllowedPattern": "^/[A-Za-z0-9_./-]+$",
                "Description": "SSM SecureString: the phone-HMAC key (set before deploying).",
            },
            "AlarmEmail": {
                "Type": "String",
                "Default": "",
                "Description": "Mailed when an alarm fires (empty: nobody; see the console).",
            },
        },
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}},
        "Resources": resources,
    }


def _table(model: Any, table: str, stage: str) -> dict[str, Any]:
    """A table as the model reads it; in prod kept through stack updates,
    deletion and rollbacks (Retain, deletion protection)."""
    schema = model._get_schema()
    properties: dict[str, Any] = {
        "TableName": {"Fn::Sub": f"${{AWS::StackName}}-{table}"},
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": schema["attribute_definitions"],
        "KeySchema": _hash_first(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
        "DeletionProtectionEnabled": stage == "prod",
    }
    indexes = [
        {
            "IndexName": index["index_name"],
            "KeySchema": _hash_first(index["key_schema"]),
            "Projection": index["projection"],
        }
        for index in schema["global_secondary_indexes"]
    ]
    if indexes:
        properties["GlobalSecondaryIndexes"] = indexes
    ttl = ttl_attribute(model)
    if ttl is not None:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
    if model is STREAMED:
        properties["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    if model is PUSHED:
        properties["StreamSpecification"] = {"StreamViewType": "NEW_IMAGE"}
    local_indexes = [
        {
            "IndexName": index["index_name"],
            "KeySchema": _hash_first(index["key_schema"]),
            "Projection": index["projection"],
        }
        for index in schema.get("local_secondary_indexes", [])
    ]
    if local_indexes:
        properties["LocalSecondaryIndexes"] = local_indexes
    retain = "Retain" if stage == "prod" else "Delete"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": retain,
        "UpdateReplacePolicy": retain,
        "Properties": properties,
    }


def ttl_attribute(model: Any) -> str | None:
    found = [
        attribute.attr_name
        for attribute in model.get_attributes().values()
        if type(attribute).__name__ == "TTLAttribute"
    ]
    return found[0] if found else None


def _hash_first(keys: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(keys, key=lambda k: k["KeyType"] != "HASH")


def _secrets_key(stage: str) -> dict[str, Any]:
    """The key that seals registrant signing secrets: rotated yearly by KMS,
    administered by the account (IAM policies grant its use), kept in prod
    through stack deletion (without it every stored secret is lost)."""
    retain = "Retain" if stage == "prod" else "Delete"
    return {
        SECRETS_KEY: {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": retain,
            "UpdateReplacePolicy": retain,
            "Properties": {
                "Description": {"Fn::Sub": "${AWS::StackName}: registrant signing secrets"},
                "KeySpec": "SYMMETRIC_DEFAULT",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "EnableKeyRotation": True,
                "PendingWindowInDays": 30 if stage == "prod" else 7,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TheAccountAdministersItAndIamGrantsItsUse",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Fn::Sub": ACCOUNT_ROOT}},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                },
            },
        },
        f"{SECRETS_KEY}Alias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {
                "AliasName": {"Fn::Sub": "alias/${AWS::StackName}-registrant-secrets"},
                "TargetKeyId": {"Ref": SECRETS_KEY},
            },
        },
    }


def _dead_letters() -> dict[str, Any]:
    resources: dict[str, Any] = {
        "JobsDeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        }
    }
    for job in JOBS:
        resources[f"{job}InvokeConfig"] = {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": job},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 2,
                "MaximumEventAgeInSeconds": 21600,
                "DestinationConfig": {
                    "OnFailure": {"Destination": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}}
                },
            },
        }
    return resources


def _alarm(name: str, description: str, **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
            "AlarmDescription": description,
            "ActionsEnabled": True,
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "TreatMissingData": "notBreaching",
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            **properties,
        },
    }


def _throttles(where: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Read and write throttles of each dimension set, and their sum."""
    metrics: list[dict[str, Any]] = [
        {
            "Id": f"m{n}",
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/DynamoDB",
                    "MetricName": metric,
                    "Dimensions": dimensions,
                },
                "Period": 300,
                "Stat": "Sum",
            },
        }
        for n, (dimensions, metric) in enumerate(
            (d, m) for d in where for m in ("ReadThrottleEvents", "WriteThrottleEvents")
        )
    ]
    throttled = {
        "Id": "throttled",
        "Expression": " + ".join(f"FILL({m['Id']}, 0)" for m in metrics),
        "Label": "throttled requests",
        "ReturnData": True,
    }
    return [*metrics, throttled]


def _alarms(stage: str) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "AlarmSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": "AlarmTopic"},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
            },
        },
        "JobsDeadLetterAlarm": _alarm(
            "jobs-dead-letters",
            "A scheduled job failed three times; its event is in the DLQ (docs/deploy.md).",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[
                {"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}}
            ],
            Statistic="Maximum",
            Period=300,
            Threshold=1,
        ),
        "Api5xxAlarm": _alarm(
            "api-5xx",
            f"{API_5XX_PER_5_MINUTES}+ server errors from the API in 5 minutes (docs/deploy.md).",
            Namespace="AWS/ApiGateway",
            MetricName="5XXError",
            Dimensions=[{"Name": "ApiName", "Value": APP}, {"Name": "Stage", "Value": stage}],
            Statistic="Sum",
            Period=300,
            Threshold=API_5XX_PER_5_MINUTES,
        ),
        "DuplicateProbeAlarm": _alarm(
            "duplicate-probe",
            "A registrant's share of duplicate refusals in the last hour passed the threshold: "
            "someone may be probing which phones are registered (docs/deploy.md).",
            Namespace=NAMESPACE,
            MetricName="DuplicateProbeSuspected",
            Dimensions=[{"Name": "service", "Value": APP}],
            Statistic="Sum",
            Period=3600,
            Threshold=1,
        ),
    }
    for model, table in TABLES.items():
        name = {"Ref": logical_id(table)}
        # the table's own throttles and each index's (an index throttles apart)
        where: list[list[dict[str, Any]]] = [[{"Name": "TableName", "Value": name}]] + [
            [
                {"Name": "TableName", "Value": name},
                {"Name": "GlobalSecondaryIndexName", "Value": index["index_name"]},
            ]
            for index in model._get_schema()["global_secondary_indexes"]
        ]
        # CloudWatch allows 10 metrics per alarm: the sum and 4 × (read, write)
        for part, start in enumerate(range(0, len(where), DIMENSION_SETS_PER_ALARM)):
            suffix = str(part + 1) if part else ""
            resources[f"{logical_id(table)}ThrottleAlarm{suffix}"] = _alarm(
                f"{table}-throttled" + (f"-{suffix}" if suffix else ""),
                f"DynamoDB throttled requests on {table} (docs/deploy.md).",
                Metrics=_throttles(where[start : start + DIMENSION_SETS_PER_ALARM]),
                Threshold=1,
            )
    return resources


# -- events pushed to registrants (decision 0010) --------------------------------


def _pushed_stream() -> dict[str, Any]:
    """The delivering function fed from the events table's stream: a batch
    that keeps failing is split, retried 3 times, then sent to the DLQ
    (the minute's job queues its events anyway, from the endpoint's
    watermark)."""
    return {
        "Properties": {
            "Events": {
                "EventDeliveriesDynamodbEventSource": {
                    "Properties": {
                        "Stream": {"Fn::GetAtt": [logical_id(TABLES[PUSHED]), "StreamArn"]},
                        "StartingPosition": "LATEST",
                        "MaximumRetryAttempts": 3,
                        "BisectBatchOnFunctionError": True,
                        "DestinationConfig": {
                            "OnFailure": {
                                "Destination": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
                            }
                        },
                    }
                }
            }
        }
    }


def _delivery_alarms() -> dict[str, Any]:
    functions = [{"Ref": FUNCTIONS[name]} for name in ("event_deliveries", "delivery_retries")]
    return {
        f"{logical}ErrorsAlarm": _alarm(
            f"{name.replace('_', '-')}-errors",
            f"The {name} function failed (a store, KMS or code failure, not an endpoint's "
            "answer); a batch that keeps failing goes to the DLQ (docs/deploy.md).",
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": function}],
            Statistic="Sum",
            Period=300,
            Threshold=1,
        )
        for (name, logical), function in zip(
            (("event_deliveries", "EventDeliveries"), ("delivery_retries", "DeliveryRetries")),
            functions,
            strict=True,
        )
    } | {
        "DeliveriesDeadLetteredAlarm": _alarm(
            "deliveries-dead-lettered",
            "An event could not be delivered to a registrant's endpoint for 24 hours, or the "
            "endpoint answered 410 Gone: see the delivery log (事件推送) and replay it.",
            Namespace=NAMESPACE,
            MetricName="EventDeliveryDeadLettered",
            Dimensions=[{"Name": "service", "Value": APP}],
            Statistic="Sum",
            Period=3600,
            Threshold=1,
        )
    }
