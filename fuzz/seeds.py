#!/usr/bin/env python3
"""Writes the seed corpora of the structured fuzz targets (fuzz/corpus/<target>/seed-*).

The seeds are realistic inputs written below as plain Python values: findings and GetFindings
requests as dicts with the proto field names (encoded with the field numbers and types read from
proto/), and page-token cases encoded the way the `arbitrary` crate (1.x) reads the target's
`Input` back. It needs nothing but Python 3. Run it from anywhere after changing a seed:
`python3 fuzz/seeds.py`; `cargo fuzz fmt -s none --dev page_token <seed>` shows how a page-token
seed decodes.
"""

import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"



def read_protos():
    """Message fields (name -> (number, type, repeated)) by full name, and enum values by name."""
    messages, enums = {}, {}
    for path in (ROOT / "proto").rglob("*.proto"):
        text = re.sub(r"//[^\n]*", "", path.read_text())
        package = re.search(r"\bpackage\s+([\w.]+)\s*;", text).group(1)
        for name, body in re.findall(r"\bmessage\s+(\w+)\s*\{([^{}]*)\}", text):
            fields = {}
            for label, kind, field, number in re.findall(
                r"(repeated\s+|optional\s+)?([\w.]+|map<\s*\w+\s*,\s*[\w.]+\s*>)\s+(\w+)\s*=\s*(\d+)\s*;",
                body,
            ):
                kind = kind.replace(" ", "")
                if "." not in kind and not kind.startswith("map<") and kind[0].isupper():
                    kind = f"{package}.{kind}"
                fields[field] = (int(number), kind, label.strip() == "repeated")
            messages[f"{package}.{name}"] = fields
        for name, body in re.findall(r"\benum\s+(\w+)\s*\{([^{}]*)\}", text):
            enums[f"{package}.{name}"] = {
                value: int(number) for value, number in re.findall(r"(\w+)\s*=\s*(\d+)", body)
            }
    return messages, enums


MESSAGES, ENUMS = read_protos()
MESSAGES["google.protobuf.Timestamp"] = {"seconds": (1, "int64", False), "nanos": (2, "int32", False)}


def varint(value):
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(number, wire):
    return varint(number << 3 | wire)


def delimited(number, payload):
    return key(number, 2) + varint(len(payload)) + payload


def struct_value(value):
    """A google.protobuf.Value."""
    if value is None:
        return key(1, 0) + varint(0)
    if isinstance(value, bool):
        return key(4, 0) + varint(int(value))
    if isinstance(value, (int, float)):
        return key(2, 1) + struct.pack("<d", float(value))
    if isinstance(value, str):
        return delimited(3, value.encode())
    if isinstance(value, dict):
        return delimited(5, struct_fields(value))
    return delimited(6, b"".join(delimited(1, struct_value(item)) for item in value))


def struct_fields(fields):
    """A google.protobuf.Struct."""
    return b"".join(
        delimited(1, delimited(1, name.encode()) + delimited(2, struct_value(value)))
        for name, value in fields.items()
    )


def scalar(number, kind, value):
    if kind in ("string", "bytes"):
        return delimited(number, value.encode() if isinstance(value, str) else value)
    if kind == "double":
        return key(number, 1) + struct.pack("<d", value)
    if kind == "float":
        return key(number, 5) + struct.pack("<f", value)
    return key(number, 0) + varint(int(value))


def field(number, kind, value):
    if kind.startswith("map<"):
        key_kind, value_kind = kind[4:-1].split(",")
        return b"".join(
            delimited(number, field(1, key_kind, name) + field(2, value_kind, item))
            for name, item in value.items()
        )
    if kind == "google.protobuf.Struct":
        return delimited(number, struct_fields(value))
    if kind in ENUMS:
        return key(number, 0) + varint(ENUMS[kind][value] if isinstance(value, str) else value)
    if kind in MESSAGES:
        return delimited(number, encode(kind, value))
    return scalar(number, kind, value)


def encode(message, values):
    fields = MESSAGES[message]
    if message == "google.protobuf.Timestamp" and isinstance(values, (int, float)):
        values = {"seconds": int(values)}
    out = b""
    for name, value in values.items():
        number, kind, repeated = fields[name]
        for item in value if repeated else [value]:
            out += field(number, kind, item)
    return out


ARN = "arn:aws:securityhub:us-east-1::product/aws/guardduty"
ACCOUNT = "111111111111"


def finding(**overrides):
    base = {
        "schema_version": "2018-10-08",
        "id": "arn:aws:guardduty:us-east-1:111111111111:detector/d1/finding/f1",
        "product_arn": ARN,
        "generator_id": "arn:aws:guardduty:us-east-1:111111111111:detector/d1",
        "aws_account_id": ACCOUNT,
        "types": ["TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort"],
        "created_at": 1_700_000_000,
        "updated_at": 1_700_000_600,
        "severity": {"label": "SEVERITY_LABEL_MEDIUM", "original": "5"},
        "title": "Unprotected port on EC2 instance i-0abc is being probed",
        "description": "EC2 instance has an unprotected port which is being probed by a known malicious host.",
        "resources": [
            {
                "type": "AwsEc2Instance",
                "id": "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc",
                "partition": "aws",
                "region": "us-east-1",
                "tags": {"env": "prod", "team": "payments"},
                "details": {
                    "AwsEc2Instance": {
                        "Type": "t3.micro",
                        "ImageId": "ami-0123456789",
                        "IpV4Addresses": ["10.0.1.12", "54.1.2.3"],
                        "IpV6Addresses": ["2001:db8::12"],
                        "KeyName": "deploy",
                        "VpcId": "vpc-1",
                        "SubnetId": "subnet-1",
                    },
                    "Other": {"note": "probed on 22"},
                },
            }
        ],
    }
    base.update(overrides)
    return base


FINDINGS = {
    "guardduty": finding(),
    "control": finding(
        id="arn:aws:securityhub:us-east-1:111111111111:subscription/cis/1.4/finding/c1",
        product_arn="arn:aws:securityhub:us-east-1::product/aws/securityhub",
        types=["Software and Configuration Checks/Industry and Regulatory Standards"],
        severity={"label": "SEVERITY_LABEL_HIGH", "normalized": 70, "product": 7.5},
        compliance={
            "status": "COMPLIANCE_STATUS_FAILED",
            "security_control_id": "S3.1",
            "associated_standards": [{"standards_id": "standards/aws-foundational-security-best-practices/v/1.0.0"}],
        },
        workflow={"status": "WORKFLOW_STATUS_NOTIFIED"},
        record_state="RECORD_STATE_ACTIVE",
        remediation={"recommendation": {"text": "Block public access", "url": "https://example.com/s3"}},
        resources=[{"type": "AwsS3Bucket", "id": "arn:aws:s3:::logs", "region": "us-east-1"}],
    ),
    "provider_fields": finding(
        id="custom-1",
        product_arn="arn:aws:securityhub:eu-west-1:222222222222:product/222222222222/default",
        aws_account_id="222222222222",
        severity=None,
        types=[],
        confidence=80,
        criticality=55,
        finding_provider_fields={
            "confidence": 90,
            "criticality": 60,
            "severity": {"normalized": 42, "original": "MEDIUM"},
            "types": ["Effects/Data Exposure"],
            "related_findings": [{"product_arn": ARN, "id": "related-1"}],
        },
        related_findings=[{"product_arn": ARN, "id": "related-2"}],
        product_fields={"scanner/version": "1.2.3", "rule": "no-public-buckets"},
        user_defined_fields={"ticket": "SEC-42"},
        note={"text": "Investigating", "updated_by": "alice", "updated_at": 1_700_000_700},
        verification_state="VERIFICATION_STATE_TRUE_POSITIVE",
        workflow_state="WORKFLOW_STATE_IN_PROGRESS",
        first_observed_at=1_699_999_000,
        last_observed_at={"seconds": 1_700_000_500, "nanos": 250_000_000},
        source_url="https://scanner.example.com/findings/custom-1",
        sample=True,
    ),
    "refused_schema": finding(schema_version="2020-01-01"),
    "refused_severity": finding(severity={"label": 9, "normalized": 120}),
    "refused_nul": finding(title="Unprotected port\0 on EC2 instance"),
}


def string(value, comparison="STRING_FILTER_COMPARISON_EQUALS"):
    return {"value": value, "comparison": comparison}


REQUESTS = {
    "by_account_and_severity": {
        "filters": {
            "aws_account_id": [string(ACCOUNT), string("222222222222")],
            "severity_label": [string("HIGH"), string("CRITICAL")],
            "record_state": [string("ACTIVE")],
            "workflow_status": [string("NEW"), string("NOTIFIED")],
        },
        "page_size": 50,
        "sort_criteria": [{"field": "SeverityNormalized", "sort_order": "SORT_ORDER_DESCENDING"}],
    },
    "prefixes_and_negations": {
        "filters": {
            "title": [string("Unprotected", "STRING_FILTER_COMPARISON_PREFIX"),
                      string("Unprotected port 22", "STRING_FILTER_COMPARISON_NOT_EQUALS"),
                      string("Unprotected s", "STRING_FILTER_COMPARISON_PREFIX_NOT_EQUALS")],
            "type": [string("TTPs/", "STRING_FILTER_COMPARISON_PREFIX")],
            "resource_id": [string("i-0", "STRING_FILTER_COMPARISON_CONTAINS")],
            "description": [string("test", "STRING_FILTER_COMPARISON_NOT_CONTAINS")],
        },
        "sort_criteria": [{"field": "Title", "sort_order": "SORT_ORDER_ASCENDING"},
                          {"field": "UpdatedAt", "sort_order": "SORT_ORDER_DESCENDING"}],
        "page_token": '["Unprotected port", 1700000600000000, "111111111111", "' + ARN + '", "f1"]',
    },
    "numbers_dates_ips": {
        "filters": {
            "severity_normalized": [{"gte": 40, "lt": 70}, {"eq": 90}],
            "confidence": [{"gt": 50.5}],
            "updated_at": [{"date_range": {"value": 7, "unit": "DATE_RANGE_UNIT_DAYS",
                                            "comparison": "DATE_RANGE_COMPARISON_WITHIN"}}],
            "created_at": [{"start": 1_690_000_000, "end": {"seconds": 1_700_000_000, "nanos": 5}}],
            "first_observed_at": [{"date_range": {"value": 30, "comparison": "DATE_RANGE_COMPARISON_OLDER_THAN"}}],
            "resource_aws_ec2_instance_ip_v4_addresses": [{"cidr": "10.0.0.0/8"}, {"cidr": "54.1.2.3"}],
            "resource_aws_ec2_instance_ip_v6_addresses": [{"cidr": "2001:db8::/32"}],
            "sample": [{"value": False}],
        },
        "sort_criteria": [{"field": "Confidence", "sort_order": "SORT_ORDER_ASCENDING"}],
        "page_token": "[55.25, \"111111111111\", \"arn\", \"id\"]",
    },
    "maps": {
        "filters": {
            "resource_tags": [
                {"key": "env", "value": "prod", "comparison": "STRING_FILTER_COMPARISON_EQUALS"},
                {"key": "team", "value": "pay", "comparison": "STRING_FILTER_COMPARISON_CONTAINS"},
            ],
            "product_fields": [{"key": "rule", "value": "no-public-buckets",
                                "comparison": "STRING_FILTER_COMPARISON_NOT_EQUALS"}],
            "user_defined_fields": [{"key": "ticket", "value": "SEC",
                                     "comparison": "STRING_FILTER_COMPARISON_NOT_CONTAINS"}],
            "compliance_security_control_id": [string("S3.1")],
            "compliance_associated_standards_id": [string("standards/", "STRING_FILTER_COMPARISON_PREFIX")],
        },
    },
    "refused_mix": {
        "filters": {
            "title": [string("a", "STRING_FILTER_COMPARISON_CONTAINS"), string("b")],
            "resource_tags": [{"key": " ", "value": "x", "comparison": "STRING_FILTER_COMPARISON_PREFIX"}],
            "confidence": [{}],
            "resource_aws_ec2_instance_ip_v4_addresses": [{"cidr": "10.0.0.0/33"}],
        },
        "sort_criteria": [{"field": "Type"}],
    },
    "refused_nul": {
        "filters": {"title": [string("Unprotected\0")],
                    "resource_tags": [{"key": "env\0", "value": "prod", "comparison": "STRING_FILTER_COMPARISON_EQUALS"}]},
    },
}


class Arbitrary:
    """Bytes that `arbitrary` 1.x decodes into given values: values are read from the front,
    collection lengths from the back (one byte each while the input is at most 256 bytes), and
    the last field takes the rest."""

    def __init__(self):
        self.front, self.lengths = bytearray(), bytearray()

    def u8(self, value):
        self.front += bytes([value])

    def u32(self, value):
        self.front += struct.pack("<I", value)

    def u64(self, value):
        self.front += struct.pack("<Q", value & (1 << 64) - 1)

    def variant(self, index, count):
        # derive(Arbitrary) picks variant (u32 * count) >> 32.
        self.u32(-(-(index << 32) // count))

    def string(self, text):
        encoded = text.encode()
        self.lengths.append(len(encoded))
        self.front += encoded

    def items(self, values, write):
        for value in values:
            self.u8(1)
            write(value)
        self.u8(0)

    def finish(self, rest):
        data = bytes(self.front) + rest.encode() + bytes(reversed(self.lengths))
        assert len(data) <= 256, "longer inputs read lengths as two bytes"
        return data


def page_token_input(secret, scope, other_scope, position, edits, sent):
    """The page_token target's `Input`; position keys are str, int, float, bool or None; edits are
    ("replace", at, char), ("insert", at, char), ("remove", at), ("truncate", length) or
    ("append", text)."""
    out = Arbitrary()
    out.items(secret, out.u8)
    out.string(scope)
    out.string(other_scope)

    def key(value):
        if isinstance(value, str):
            out.variant(0, 6)
            out.string(value)
        elif isinstance(value, bool):
            out.variant(4, 6)
            out.u8(int(value))
        elif isinstance(value, int):
            out.variant(1, 6)
            out.u64(value)
        elif isinstance(value, float):
            out.variant(3, 6)
            out.u64(struct.unpack("<Q", struct.pack("<d", value))[0])
        else:
            out.variant(5, 6)

    def edit(value):
        kinds = ["replace", "insert", "remove", "truncate", "append"]
        out.variant(kinds.index(value[0]), len(kinds))
        if value[0] == "append":
            out.string(value[1])
            return
        out.u64(value[1])
        if value[0] in ("replace", "insert"):
            out.u32(ord(value[2]))

    out.items(position, key)
    out.items(edits, edit)
    return out.finish(sent)


SECRET = list(b"deployment-secret")
SCOPE = "GetFindings:Some([\"111111111111\"]):[]:UpdatedAt:true"
PAGE_TOKENS = {
    "findings_by_update": (SECRET, SCOPE, "GetFindings:None:[]:UpdatedAt:true",
                           [1_700_000_600_000_000, "111111111111", ARN, "f1"], [("replace", 7, "A")], ""),
    "float_sort_key": (SECRET, "GetFindings:None:[]:SeverityProduct:true", "ListFindings",
                       [7.3, 0.1 + 0.2, "222222222222", "id"], [("insert", 3, "=")], "AQ"),
    "config_items": ([7] * 16, "ListDiscoveredResources:AWS::EC2::Instance", "x",
                     ["AWS::EC2::Instance", "i-0abc", None], [("remove", 0), ("append", "==")],
                     "not-a-token"),
    "select_position": ([], "SelectAggregateResourceConfig\u001f111111111111", "",
                        [True, -7, 2.5, "i-0abc"], [("truncate", 10)], "{}"),
}


def write(target, seeds, message):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for name, values in seeds.items():
        values = {field: value for field, value in values.items() if value is not None}
        (directory / f"seed-{name}").write_bytes(encode(message, values))


if __name__ == "__main__":
    write("finding_validation", FINDINGS, "tributary.collector.v1.Finding")
    write("finding_filters", REQUESTS, "tributary.collector.v1.GetFindingsRequest")
    directory = CORPUS / "page_token"
    directory.mkdir(parents=True, exist_ok=True)
    for name, case in PAGE_TOKENS.items():
        (directory / f"seed-{name}").write_bytes(page_token_input(*case))
