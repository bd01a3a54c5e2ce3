#!/usr/bin/env python3
"""Cross-region finding aggregation against a running `tributary up`, from Python.

Generates the gRPC stubs from the repository's proto/ at run time, then, as the operator and two
new accounts (random ids, so the scenario can run again on the same data directory):

1. creates a security account and a workload account and an API key for each;
2. enables the security account's hub in us-east-1 and eu-west-1;
3. has the workload account authorize the security account's Config aggregators from eu-west-1,
   and puts a Config aggregator over it;
4. creates a finding aggregator with home region us-east-1 linking eu-west-1;
5. imports a finding in eu-west-1 and waits until us-east-1 shows it aggregated;
6. resolves it in us-east-1 and waits until its origin collector in eu-west-1 shows the update.

Usage: python scenario.py [path/to/up.json]   (default: .tributary/up.json)

Exits with status 1 on the first failure, printing the gRPC code, the error's ErrorInfo reason and
its field violations (from the grpc-status-details-bin trailer).
"""

import importlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import grpc
import grpc_tools

HOME = "us-east-1"
LINKED = "eu-west-1"
WAIT_SECONDS = 90

# The google.rpc messages that error details carry, under a private package name so they never
# clash with another copy of google.rpc in the process. Only the field numbers matter on the wire.
ERROR_DETAILS_PROTO = """
syntax = "proto3";
package tributary_example.rpc;
import "google/protobuf/any.proto";
message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}
message ErrorInfo {
  string reason = 1;
  string domain = 2;
  map<string, string> metadata = 3;
}
message BadRequest {
  message FieldViolation {
    string field = 1;
    string description = 2;
  }
  repeated FieldViolation field_violations = 1;
}
"""


class ScenarioError(Exception):
    """A step that did not do what the scenario expects."""


def generate_stubs(proto_root, out_dir):
    """Compiles every .proto under proto_root (and the error details) into out_dir."""
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    extra = os.path.join(out_dir, "_extra")
    os.makedirs(os.path.join(extra, "tributary_example"))
    with open(os.path.join(extra, "tributary_example", "rpc.proto"), "w") as f:
        f.write(ERROR_DETAILS_PROTO)
    files = [os.path.join("tributary_example", "rpc.proto")]
    for directory, _, names in os.walk(proto_root):
        for name in sorted(names):
            if name.endswith(".proto"):
                files.append(os.path.relpath(os.path.join(directory, name), proto_root))
    command = [
        sys.executable, "-m", "grpc_tools.protoc",
        f"-I{proto_root}", f"-I{extra}", f"-I{well_known}",
        f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
        *files,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ScenarioError(f"protoc failed:\n{result.stderr}")
    sys.path.insert(0, out_dir)


def load(module):
    return importlib.import_module(module)


def describe_error(error):
    """The gRPC code, ErrorInfo reason and field violations of a failed call."""
    rpc = load("tributary_example.rpc_pb2")
    text = f"{error.code().name}: {error.details()}"
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = rpc.Status.FromString(value)
        for detail in status.details:
            kind = detail.type_url.rsplit("/", 1)[-1]
            if kind == "google.rpc.ErrorInfo":
                info = rpc.ErrorInfo.FromString(detail.value)
                text += f"\n  reason: {info.reason} (domain {info.domain})"
            elif kind == "google.rpc.BadRequest":
                for violation in rpc.BadRequest.FromString(detail.value).field_violations:
                    text += f"\n  {violation.field}: {violation.description}"
    return text


def call(what, method, request, key):
    """Calls method with key as bearer token; a failure ends the scenario with its details."""
    try:
        return method(request, metadata=[("authorization", f"Bearer {key}")], timeout=30)
    except grpc.RpcError as error:
        raise ScenarioError(f"{what} failed: {describe_error(error)}") from None


def eventually(what, attempt):
    """Retries attempt() until it returns a value that is not None, or fails after a while."""
    deadline = time.monotonic() + WAIT_SECONDS
    last = None
    while time.monotonic() < deadline:
        last = attempt()
        if last is not None:
            return last
        time.sleep(0.5)
    raise ScenarioError(f"timed out after {WAIT_SECONDS}s waiting for {what}")


def step(text):
    print(f"==> {text}", flush=True)


def main():
    up_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(".tributary", "up.json")
    with open(up_path) as f:
        up = json.load(f)
    operator = up["operator_api_key"]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    with tempfile.TemporaryDirectory(prefix="tributary-stubs-") as stubs:
        step(f"generating stubs from {os.path.join(repo, 'proto')}")
        generate_stubs(os.path.join(repo, "proto"), stubs)
        run(up, operator)
    print("scenario passed")


def run(up, operator):
    access = load("tributary.membership.v1.access_pb2")
    access_grpc = load("tributary.membership.v1.access_pb2_grpc")
    orgs = load("tributary.membership.v1.organizations_pb2")
    orgs_grpc = load("tributary.membership.v1.organizations_pb2_grpc")
    hub = load("tributary.membership.v1.securityhub_pb2")
    hub_grpc = load("tributary.membership.v1.securityhub_pb2_grpc")
    auths = load("tributary.membership.v1.authorizations_pb2")
    auths_grpc = load("tributary.membership.v1.authorizations_pb2_grpc")
    config_aggs = load("tributary.aggregator.v1.config_aggregators_pb2")
    config_aggs_grpc = load("tributary.aggregator.v1.config_aggregators_pb2_grpc")
    finding_aggs = load("tributary.aggregator.v1.finding_aggregators_pb2")
    finding_aggs_grpc = load("tributary.aggregator.v1.finding_aggregators_pb2_grpc")
    findings = load("tributary.collector.v1.findings_pb2")
    findings_grpc = load("tributary.collector.v1.findings_pb2_grpc")

    membership = grpc.insecure_channel(up["membership"])
    aggregator = grpc.insecure_channel(up["aggregator"])
    collectors = {region: grpc.insecure_channel(address) for region, address in up["collectors"].items()}
    for region in (HOME, LINKED):
        if region not in collectors:
            raise ScenarioError(f"up.json has no collector for {region}")
    for name, channel in [("membership", membership), ("aggregator", aggregator)] + [
        (f"collector {region}", collectors[region]) for region in (HOME, LINKED)
    ]:
        try:
            grpc.channel_ready_future(channel).result(timeout=WAIT_SECONDS)
        except grpc.FutureTimeoutError:
            raise ScenarioError(f"{name} is not reachable") from None

    access_stub = access_grpc.AccessServiceStub(membership)
    org_stub = orgs_grpc.OrganizationServiceStub(membership)
    hub_stub = hub_grpc.SecurityHubMembersServiceStub(membership)
    auth_stub = auths_grpc.AggregationAuthorizationServiceStub(membership)
    config_stub = config_aggs_grpc.ConfigAggregatorServiceStub(aggregator)
    finding_agg_stub = finding_aggs_grpc.FindingAggregatorServiceStub(aggregator)
    collector_stubs = {region: findings_grpc.SecurityHubServiceStub(collectors[region]) for region in (HOME, LINKED)}

    who = call("WhoAmI", access_stub.WhoAmI, access.WhoAmIRequest(), operator)
    print(f"    operator key acts as {access.PrincipalKind.Name(who.principal.kind)}")

    security, workload = random.sample(range(10**11, 10**12), 2)
    security, workload = str(security), str(workload)
    keys = {}
    for account_id, name in [(security, "security"), (workload, "workload")]:
        step(f"creating account {account_id} ({name}) and a key for it")
        call(f"creating account {account_id}", org_stub.CreateAccount,
             orgs.CreateAccountRequest(account_id=account_id, name=name), operator)
        created = call(f"creating a key for {account_id}", access_stub.CreateApiKey,
                       access.CreateApiKeyRequest(name=f"{name} {account_id}", principal=access.Principal(
                           kind=access.PRINCIPAL_KIND_ACCOUNT, account_id=account_id)), operator)
        keys[account_id] = created.secret
        print(f"    key {created.api_key.key_id}")

    for region in (HOME, LINKED):
        step(f"enabling the hub of {security} in {region}")
        call(f"enabling the hub in {region}", hub_stub.EnableSecurityHub,
             hub.EnableSecurityHubRequest(region=region), keys[security])

    step(f"{workload} authorizes the Config aggregators of {security} in {HOME}, from {LINKED}")
    call("putting the aggregation authorization", auth_stub.PutAggregationAuthorization,
         auths.PutAggregationAuthorizationRequest(
             region=LINKED, authorized_account_id=security, authorized_aws_region=HOME),
         keys[workload])
    step(f"{security} puts a Config aggregator over {workload} in {LINKED}")
    put = call("putting the Config aggregator", config_stub.PutConfigurationAggregator,
               config_aggs.PutConfigurationAggregatorRequest(
                   region=HOME, configuration_aggregator_name="example",
                   account_aggregation_sources=[config_aggs.AccountAggregationSource(
                       account_ids=[workload], aws_regions=[LINKED])]),
               keys[security])
    print(f"    {put.configuration_aggregator.configuration_aggregator_arn}")

    step(f"creating a finding aggregator of {security}: home {HOME}, linking {LINKED}")
    created = call("creating the finding aggregator", finding_agg_stub.CreateFindingAggregator,
                   finding_aggs.CreateFindingAggregatorRequest(
                       region=HOME, region_linking_mode=finding_aggs.REGION_LINKING_MODE_SPECIFIED_REGIONS,
                       regions=[LINKED]),
                   keys[security])
    arn = created.finding_aggregator_arn
    print(f"    {arn}")

    # Without back-fill only findings written after a region is linked are aggregated, so wait
    # until replication of the linked region runs before importing.
    def linked():
        got = call("getting the finding aggregator", finding_agg_stub.GetFindingAggregator,
                   finding_aggs.GetFindingAggregatorRequest(finding_aggregator_arn=arn), keys[security])
        regions = {status.region for status in got.linked_region_status}
        return True if LINKED in regions else None

    step(f"waiting until {LINKED} replicates into {HOME}")
    eventually(f"{LINKED} to replicate", linked)

    finding_id = f"example-{security}-{int(time.time())}"
    product_arn = f"arn:aws:securityhub:{LINKED}:{security}:product/{security}/default"
    now = int(time.time())
    step(f"importing finding {finding_id} in {LINKED}")
    imported = call("importing the finding", collector_stubs[LINKED].BatchImportFindings,
                    findings.BatchImportFindingsRequest(findings=[findings.Finding(
                        schema_version="2018-10-08", id=finding_id, product_arn=product_arn,
                        generator_id="example-check", aws_account_id=security,
                        types=["Software and Configuration Checks"],
                        created_at={"seconds": now}, updated_at={"seconds": now},
                        severity=findings.FindingSeverity(label=findings.SEVERITY_LABEL_HIGH),
                        title="An example finding", description="Imported by examples/python.",
                        resources=[findings.FindingResource(type="Other", id=f"resource-{finding_id}")])]),
                    keys[security])
    if imported.failed_count:
        raise ScenarioError(f"the import failed: {imported.failed_findings}")

    by_id = findings.FindingFilters(id=[findings.StringFilter(
        value=finding_id, comparison=findings.STRING_FILTER_COMPARISON_EQUALS)])

    def aggregated():
        got = call("reading aggregated findings", finding_agg_stub.GetFindings,
                   finding_aggs.GetFindingsRequest(region=HOME, filters=by_id), keys[security])
        return got.findings[0] if got.findings else None

    step(f"waiting until {HOME} shows the finding aggregated")
    copy = eventually("the aggregated finding", aggregated)
    print(f"    aggregated copy: region {copy.region}, workflow {findings.WorkflowStatus.Name(copy.workflow.status)}")
    if copy.region != LINKED:
        raise ScenarioError(f"the copy's origin region is {copy.region!r}, not {LINKED}")

    step(f"resolving the finding in {HOME}")
    identifier = findings.FindingIdentifier(id=finding_id, product_arn=product_arn)
    updated = call("updating the aggregated finding", finding_agg_stub.BatchUpdateFindings,
                   finding_aggs.BatchUpdateFindingsRequest(
                       region=HOME, finding_identifiers=[identifier],
                       workflow=findings.FindingWorkflow(status=findings.WORKFLOW_STATUS_RESOLVED),
                       note=findings.FindingNoteUpdate(text="resolved from the home region",
                                                       updated_by="examples/python")),
                   keys[security])
    if updated.unprocessed_findings:
        raise ScenarioError(f"the update was not processed: {updated.unprocessed_findings}")

    def at_origin():
        got = call(f"reading the finding in {LINKED}", collector_stubs[LINKED].GetFindings,
                   findings.GetFindingsRequest(filters=by_id), keys[security])
        if got.findings and got.findings[0].workflow.status == findings.WORKFLOW_STATUS_RESOLVED:
            return got.findings[0]
        return None

    step(f"waiting until the origin collector in {LINKED} shows the update")
    origin = eventually("the update at the origin", at_origin)
    print(f"    origin: workflow {findings.WorkflowStatus.Name(origin.workflow.status)}, note {origin.note.text!r}")


if __name__ == "__main__":
    try:
        main()
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
