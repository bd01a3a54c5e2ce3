"""Tests of the Helm chart in helm/tributary: lint, schema validation of every rendered manifest,
and assertions on the rendered objects for each value set in helm/tests/values/.

Needs helm-python-sdk (Helm's SDK: lint and offline render) and kubernetes-validate (Kubernetes
JSON schemas, offline); `helm/tests/check.sh` runs this file with the venv `.ci/run` prepares.
"""

import base64
import functools
import json
import re
import unittest
from pathlib import Path

import helm_python
import kubernetes_validate
import yaml

TESTS = Path(__file__).resolve().parent
CHART = TESTS.parent / "tributary"
VALUES = TESTS / "values"
RELEASE = "demo"
NAMESPACE = "tributary"
# The oldest Kubernetes the chart supports (native gRPC probes are GA) and the newest schema known.
KUBE_VERSIONS = ("1.27.0", "1.37.0")
# Custom resources have no schema in kubernetes-validate; their fields are asserted below.
CUSTOM_KINDS = {"ServiceMonitor", "PeerAuthentication"}
HOOK = "helm.sh/hook"


def value_sets():
    """The value sets under helm/tests/values, by file stem."""
    return {path.stem: yaml.safe_load(path.read_text()) or {} for path in sorted(VALUES.glob("*.yaml"))}


def render(values):
    """Renders the chart (a fresh install) and returns (objects, NOTES.txt)."""
    chart = helm_python.Chart.load(str(CHART))
    rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects, notes = [], ""
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects, notes


@functools.lru_cache(maxsize=None)
def rendered_set(name):
    return render(value_sets()[name])


def objects_of(name, kind=None):
    objects, _ = rendered_set(name)
    return [o for o in objects if kind is None or o["kind"] == kind]


def by_name(objects):
    return {o["metadata"]["name"]: o for o in objects}


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def hooks(obj):
    value = obj["metadata"].get("annotations", {}).get(HOOK, "")
    return set(filter(None, value.split(",")))


def is_hook(obj):
    return bool(hooks(obj))


def fails_to_render(values):
    """The error message when rendering fails, else None."""
    try:
        render(values)
    except helm_python.HelmError as error:
        return str(error)
    return None


FULLNAME = f"{RELEASE}-tributary"


class LintAndSchemas(unittest.TestCase):
    def test_lint_strict_reports_no_warning_or_error(self):
        report = helm_python.lint(str(CHART), strict=True)
        self.assertEqual(report["errors"], [])
        serious = [m for m in report["messages"] if m["severity"] >= 2]
        self.assertEqual(serious, [])

    def test_every_value_set_renders_manifests_valid_for_kubernetes(self):
        sets = value_sets()
        self.assertGreaterEqual(len(sets), 6)
        for name in sets:
            for obj in objects_of(name):
                if obj["kind"] in CUSTOM_KINDS:
                    continue
                for version in KUBE_VERSIONS:
                    with self.subTest(values=name, object=f'{obj["kind"]}/{obj["metadata"]["name"]}', kube=version):
                        kubernetes_validate.validate(obj, version, strict=True)

    def test_the_schema_refuses_unknown_values_and_bad_region_names(self):
        self.assertIn("additional properties", fails_to_render({"replica": 2}))
        self.assertIn("does not match pattern", fails_to_render({"regions": [{"name": "Frankfurt"}]}))
        self.assertIn("value must be one of", fails_to_render({"mesh": {"provider": "consul"}}))

    def test_every_value_in_values_yaml_is_documented(self):
        """Each leaf key has a comment right above it, or sits in a block documented as a whole."""
        lines = (CHART / "values.yaml").read_text().splitlines()
        key = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):(.*)$")
        ancestors = []  # (indent, documented with "# --")
        undocumented = []
        for number, line in enumerate(lines):
            match = key.match(line)
            if not match:
                continue
            indent, name, rest = len(match.group(1)), match.group(2), match.group(3).strip()
            while ancestors and ancestors[-1][0] >= indent:
                ancestors.pop()
            comment = []
            for above in reversed(lines[:number]):
                if not above.strip().startswith("#"):
                    break
                comment.insert(0, above.strip())
            documented = bool(comment)
            opens_with_marker = bool(comment) and comment[0].startswith("# --")
            whole_block = opens_with_marker or any(doc for _, doc in ancestors)
            following = next((text for text in lines[number + 1 :] if text.strip() and not text.strip().startswith("#")), "")
            following_indent = len(following) - len(following.lstrip())
            is_leaf = bool(rest) or following_indent <= indent
            if is_leaf and not (documented or whole_block):
                undocumented.append(f"line {number + 1}: {name}")
            ancestors.append((indent, opens_with_marker))
        self.assertEqual(undocumented, [])


class Workloads(unittest.TestCase):
    def test_probes_are_grpc_health_checks_on_the_grpc_port(self):
        # With native TLS the kubelet cannot speak gRPC to the listener, so it connects over TCP.
        for name, values in value_sets().items():
            tls = values.get("tls", {}).get("enabled", False)
            action = "tcpSocket" if tls else "grpc"
            for deployment in objects_of(name, "Deployment"):
                for container in pod_spec(deployment)["containers"]:
                    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
                    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                        with self.subTest(values=name, deployment=deployment["metadata"]["name"], probe=probe):
                            self.assertEqual(set(container[probe]) & {"grpc", "httpGet", "exec", "tcpSocket"}, {action})
                            self.assertEqual(container[probe][action]["port"], ports["grpc"])
                            self.assertNotIn("service", container[probe][action])

    def test_services_name_their_ports_with_app_protocols(self):
        for name in value_sets():
            deployments = by_name(objects_of(name, "Deployment"))
            for service in objects_of(name, "Service"):
                with self.subTest(values=name, service=service["metadata"]["name"]):
                    ports = {p["name"]: p for p in service["spec"]["ports"]}
                    self.assertEqual(set(ports), {"grpc", "metrics"})
                    self.assertEqual(ports["grpc"]["appProtocol"], "grpc")
                    self.assertEqual(ports["grpc"]["targetPort"], "grpc")
                    self.assertEqual(ports["metrics"]["appProtocol"], "http")
                    self.assertEqual(ports["metrics"]["targetPort"], "metrics")
                    # Each Service fronts the Deployment of the same name and selects only its pods.
                    deployment = deployments[service["metadata"]["name"]]
                    self.assertEqual(service["spec"]["selector"], deployment["spec"]["selector"]["matchLabels"])
                    self.assertEqual(
                        {k: v for k, v in deployment["spec"]["template"]["metadata"]["labels"].items() if k in service["spec"]["selector"]},
                        service["spec"]["selector"],
                    )

    def test_exactly_one_collector_deployment_and_service_per_region(self):
        for name, values in value_sets().items():
            regions = [r["name"] for r in values.get("regions", [{"name": "us-east-1"}])]
            for kind in ("Deployment", "Service"):
                collectors = [o for o in objects_of(name, kind) if o["metadata"]["labels"]["app.kubernetes.io/component"] == "collector"]
                with self.subTest(values=name, kind=kind):
                    self.assertEqual(
                        sorted(o["metadata"]["labels"]["tributary.io/region"] for o in collectors),
                        sorted(regions),
                    )
                    self.assertEqual(
                        sorted(o["metadata"]["name"] for o in collectors),
                        sorted(f"{FULLNAME}-collector-{region}" for region in regions),
                    )
            for deployment in objects_of(name, "Deployment"):
                labels = deployment["metadata"]["labels"]
                container = pod_spec(deployment)["containers"][0]
                env = env_of(container)
                if labels["app.kubernetes.io/component"] == "collector":
                    self.assertEqual(env["TRIBUTARY_REGION"]["value"], labels["tributary.io/region"])
                    self.assertEqual(container["command"], ["/usr/local/bin/tributary-collector"])
                else:
                    self.assertNotIn("TRIBUTARY_REGION", env)
        components = sorted(o["metadata"]["labels"]["app.kubernetes.io/component"] for o in objects_of("sqlite-dev", "Deployment"))
        self.assertEqual(components, ["aggregator", "collector", "membership"])

    def test_services_listen_on_all_interfaces_and_serve_metrics(self):
        for deployment in objects_of("postgres-scaled", "Deployment"):
            container = pod_spec(deployment)["containers"][0]
            env = env_of(container)
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            self.assertEqual(env["TRIBUTARY_LISTEN"]["value"], f"0.0.0.0:{ports['grpc']}")
            self.assertEqual(env["TRIBUTARY_METRICS_LISTEN"]["value"], f"0.0.0.0:{ports['metrics']}")
            self.assertEqual(container["args"], ["serve"])
            if deployment["metadata"]["labels"]["app.kubernetes.io/component"] != "membership":
                self.assertEqual(
                    env["TRIBUTARY_MEMBERSHIP_ENDPOINT"]["value"],
                    f"http://{FULLNAME}-membership.{NAMESPACE}.svc.cluster.local:50051",
                )

    def test_pods_are_locked_down(self):
        for name in value_sets():
            for workload in objects_of(name, "Deployment") + objects_of(name, "Job"):
                spec = pod_spec(workload)
                with self.subTest(values=name, workload=workload["metadata"]["name"]):
                    self.assertTrue(spec["securityContext"]["runAsNonRoot"])
                    self.assertGreater(spec["securityContext"]["runAsUser"], 0)
                    self.assertEqual(spec["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
                    self.assertIs(spec["automountServiceAccountToken"], False)
                    # Service links would inject TRIBUTARY_* variables the services read as settings.
                    self.assertIs(spec["enableServiceLinks"], False)
                    for container in spec["containers"]:
                        context = container["securityContext"]
                        self.assertIs(context["readOnlyRootFilesystem"], True)
                        self.assertIs(context["allowPrivilegeEscalation"], False)
                        self.assertIs(context["runAsNonRoot"], True)
                        self.assertEqual(context["capabilities"], {"drop": ["ALL"]})
                        self.assertTrue(container["resources"]["requests"])

    def test_sqlite_runs_single_replicas_on_their_own_volumes(self):
        claims = by_name(objects_of("sqlite-dev", "PersistentVolumeClaim"))
        for deployment in objects_of("sqlite-dev", "Deployment"):
            name = deployment["metadata"]["name"]
            self.assertEqual(deployment["spec"]["replicas"], 1)
            self.assertEqual(deployment["spec"]["strategy"], {"type": "Recreate"})
            volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
            self.assertEqual(volumes["data"]["persistentVolumeClaim"]["claimName"], f"{name}-data")
            self.assertIn(f"{name}-data", claims)
            env = env_of(pod_spec(deployment)["containers"][0])
            self.assertRegex(env["TRIBUTARY_DATABASE_URL"]["value"], r"^sqlite:///data/[a-z0-9-]+\.db$")
            self.assertEqual(env["TRIBUTARY_MIGRATE_ON_START"]["value"], "true")
        self.assertEqual(objects_of("postgres-scaled", "PersistentVolumeClaim"), [])

    def test_sqlite_with_more_than_one_replica_fails_to_render(self):
        for values in (
            {"aggregator": {"replicas": 2}},
            {"membership": {"replicas": 3}},
            {"collector": {"replicas": 2}},
            {"regions": [{"name": "us-east-1"}, {"name": "eu-west-1", "replicas": 2}]},
            {"aggregator": {"autoscaling": {"enabled": True}}},
            {"regions": [{"name": "us-east-1", "autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 1}}]},
        ):
            with self.subTest(values=values):
                self.assertIn("SQLite allows one replica only", fails_to_render(values) or "rendered")

    def test_bad_combinations_fail_with_a_message(self):
        postgres = {"database": {"backend": "postgres"}}
        cases = {
            "needs database.url or database.existingSecret": postgres,
            "is listed twice": {"regions": [{"name": "us-east-1"}, {"name": "us-east-1"}]},
            "exclusive": {"mesh": {"provider": "linkerd"}, "tls": {"enabled": True, "secretName": "x"}},
            "needs tls.secretName": {"tls": {"enabled": True}},
            "needs mesh.provider: istio": {"mesh": {"istio": {"peerAuthentication": True}}},
            "at least 16": {"auth": {"operatorKey": "short"}},
            "longer than 63": {"fullnameOverride": "x" * 40, "regions": [{"name": "ap-southeast-2"}]},
        }
        for message, values in cases.items():
            with self.subTest(message=message):
                self.assertIn(message, fails_to_render(values) or "rendered")


class Secrets(unittest.TestCase):
    def secret_values(self, name):
        """Every URL and key value the value set or the chart-managed Secrets contain."""
        values = value_sets()[name]
        found = set()

        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in ("url", "operatorKey", "serviceKey") and value:
                        found.add(value)
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(values)
        for secret in objects_of(name, "Secret"):
            for encoded in secret.get("data", {}).values():
                found.add(base64.b64decode(encoded).decode())
        return found

    def test_no_url_or_key_appears_in_any_deployment_or_job(self):
        checked = 0
        for name in value_sets():
            secrets = self.secret_values(name)
            checked += len(secrets)
            for workload in objects_of(name, "Deployment") + objects_of(name, "Job"):
                text = json.dumps(workload)
                with self.subTest(values=name, workload=workload["metadata"]["name"]):
                    for secret in secrets:
                        self.assertNotIn(secret, text)
                    self.assertNotIn("postgres://", text)
        self.assertGreater(checked, 10)

    def test_urls_and_keys_come_from_secret_references(self):
        for name, values in value_sets().items():
            postgres = values.get("database", {}).get("backend") == "postgres"
            for workload in objects_of(name, "Deployment") + objects_of(name, "Job"):
                for container in pod_spec(workload)["containers"]:
                    env = env_of(container)
                    secret_names = ["TRIBUTARY_SERVICE_API_KEY", "TRIBUTARY_BOOTSTRAP_KEY", "TRIBUTARY_BOOTSTRAP_SERVICE_KEY", "TRIBUTARY_OPERATOR_KEY"]
                    if postgres:
                        secret_names.append("TRIBUTARY_DATABASE_URL")
                    for variable in secret_names:
                        if variable in env:
                            with self.subTest(values=name, workload=workload["metadata"]["name"], variable=variable):
                                self.assertNotIn("value", env[variable])
                                self.assertIn("secretKeyRef", env[variable]["valueFrom"])

    def test_database_urls_point_at_the_right_secret_and_key(self):
        deployments = by_name(objects_of("postgres-scaled", "Deployment"))

        def reference(name):
            env = env_of(pod_spec(deployments[name])["containers"][0])
            return env["TRIBUTARY_DATABASE_URL"]["valueFrom"]["secretKeyRef"]

        managed = f"{FULLNAME}-database"
        self.assertEqual(reference(f"{FULLNAME}-membership"), {"name": managed, "key": "membership"})
        self.assertEqual(reference(f"{FULLNAME}-aggregator"), {"name": "tributary-aggregator-db", "key": "url"})
        self.assertEqual(reference(f"{FULLNAME}-collector-eu-west-1"), {"name": managed, "key": "collector-eu-west-1"})
        self.assertEqual(
            reference(f"{FULLNAME}-collector-ap-southeast-2"),
            {"name": "tributary-ap-southeast-2-db", "key": "database-url"},
        )
        secret = by_name(objects_of("postgres-scaled", "Secret"))[managed]
        urls = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
        # Only URLs given in values land in the chart's Secret.
        self.assertEqual(set(urls), {"membership", "collector-us-east-1", "collector-eu-west-1"})
        self.assertTrue(urls["collector-eu-west-1"].endswith("/collector_eu_west_1"))
        # It is a hook so the pre-install migration Jobs can read it, created before them.
        self.assertEqual(hooks(secret), {"pre-install", "pre-upgrade"})
        self.assertLess(int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]), 0)

    def test_keys_are_given_or_generated_and_kept(self):
        keys = by_name(objects_of("postgres-scaled", "Secret"))[f"{FULLNAME}-keys"]
        decoded = {key: base64.b64decode(value).decode() for key, value in keys["data"].items()}
        self.assertEqual(decoded, {"operator-key": "operator-key-from-values-0001", "service-key": "service-key-from-values-0002"})
        self.assertEqual(keys["metadata"]["annotations"]["helm.sh/resource-policy"], "keep")
        generated = by_name(objects_of("sqlite-dev", "Secret"))[f"{FULLNAME}-keys"]
        for value in generated["data"].values():
            self.assertRegex(base64.b64decode(value).decode(), r"^trb_[A-Za-z0-9]{43}$")
        # With an existing Secret the chart renders none and every reference names it.
        self.assertEqual(objects_of("headless", "Secret"), [])
        membership = by_name(objects_of("headless", "Deployment"))[f"{FULLNAME}-membership"]
        env = env_of(pod_spec(membership)["containers"][0])
        self.assertEqual(env["TRIBUTARY_BOOTSTRAP_KEY"]["valueFrom"]["secretKeyRef"], {"name": "tributary-keys", "key": "operator-key"})
        self.assertEqual(env["TRIBUTARY_BOOTSTRAP_SERVICE_KEY"]["valueFrom"]["secretKeyRef"], {"name": "tributary-keys", "key": "service-key"})


class Jobs(unittest.TestCase):
    def migration_jobs(self, name):
        return [j for j in objects_of(name, "Job") if j["metadata"]["name"].endswith("-migrate")]

    def test_postgres_migrates_in_pre_install_hook_jobs_one_per_service(self):
        deployments = objects_of("postgres-scaled", "Deployment")
        jobs = by_name(self.migration_jobs("postgres-scaled"))
        self.assertEqual(sorted(jobs), sorted(f'{d["metadata"]["name"]}-migrate' for d in deployments))
        for deployment in deployments:
            service = pod_spec(deployment)["containers"][0]
            job = jobs[f'{deployment["metadata"]["name"]}-migrate']
            migrate = pod_spec(job)["containers"][0]
            with self.subTest(job=job["metadata"]["name"]):
                self.assertEqual(hooks(job), {"pre-install", "pre-upgrade"})
                self.assertIn("before-hook-creation", job["metadata"]["annotations"]["helm.sh/hook-delete-policy"])
                self.assertEqual(migrate["command"], service["command"])
                self.assertEqual(migrate["args"], ["migrate"])
                self.assertEqual(pod_spec(job)["restartPolicy"], "Never")
                # Same database, same region as the service it migrates.
                for variable in ("TRIBUTARY_DATABASE_URL", "TRIBUTARY_REGION"):
                    self.assertEqual(env_of(migrate).get(variable), env_of(service).get(variable))
                self.assertEqual(env_of(service)["TRIBUTARY_MIGRATE_ON_START"]["value"], "false")
                # Migration Jobs only reach the database: never in the mesh.
                self.assertEqual(job["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"], "disabled")

    def test_job_pods_are_never_selected_as_service_pods(self):
        """A Service, budget or autoscaler counting a Job's pod would route calls to it or skew scaling."""
        for name in value_sets():
            selectors = [d["spec"]["selector"]["matchLabels"] for d in objects_of(name, "Deployment")]
            for job in objects_of(name, "Job"):
                labels = job["spec"]["template"]["metadata"]["labels"]
                for selector in selectors:
                    with self.subTest(values=name, job=job["metadata"]["name"], selector=selector):
                        self.assertFalse(selector.items() <= labels.items())

    def test_sqlite_migrates_at_start_without_jobs(self):
        self.assertEqual(self.migration_jobs("sqlite-dev"), [])
        self.assertEqual(self.migration_jobs("native-tls"), [])
        objects, _ = render({**value_sets()["linkerd"], "migrations": {"enabled": False}})
        self.assertFalse([o for o in objects if o["kind"] == "Job" and o["metadata"]["name"].endswith("-migrate")])
        for deployment in (o for o in objects if o["kind"] == "Deployment"):
            self.assertEqual(env_of(pod_spec(deployment)["containers"][0])["TRIBUTARY_MIGRATE_ON_START"]["value"], "true")

    def test_regions_are_registered_after_install_with_their_collector_endpoints(self):
        for name, values in value_sets().items():
            jobs = by_name(objects_of(name, "Job"))
            job = jobs[f"{FULLNAME}-register-regions"]
            self.assertEqual(hooks(job), {"post-install", "post-upgrade"})
            containers = pod_spec(job)["containers"]
            regions = values.get("regions", [{"name": "us-east-1"}])
            self.assertEqual(len(containers), len(regions))
            tls = values.get("tls", {}).get("enabled", False)
            for region, container in zip(regions, containers):
                with self.subTest(values=name, region=region["name"]):
                    args = container["args"]
                    self.assertEqual(args[-2:], [f"{FULLNAME}-membership.{NAMESPACE}.svc.cluster.local:50051", "tributary.membership.v1.RegionService/RegisterRegion"])
                    body = json.loads(args[args.index("-d") + 1])
                    scheme = "https" if tls else "http"
                    self.assertEqual(
                        body,
                        {
                            "region_name": region["name"],
                            "collector_endpoint": f"{scheme}://{FULLNAME}-collector-{region['name']}.{NAMESPACE}.svc.cluster.local:50061",
                            "opt_in": region.get("optIn", False),
                        },
                    )
                    self.assertEqual(args[args.index("-H") + 1], "authorization: Bearer $(TRIBUTARY_OPERATOR_KEY)")
                    self.assertEqual("-plaintext" in args, not tls)
                    key = env_of(container)["TRIBUTARY_OPERATOR_KEY"]["valueFrom"]["secretKeyRef"]
                    self.assertEqual(key["key"], "operator-key")
        objects, notes = render({"regionRegistration": {"enabled": False}, "regions": [{"name": "eu-west-1"}]})
        self.assertFalse([o for o in objects if o["kind"] == "Job"])
        self.assertIn("tributary.membership.v1.RegionService/RegisterRegion", notes)
        self.assertIn(f"http://{FULLNAME}-collector-eu-west-1.{NAMESPACE}.svc.cluster.local:50061", notes)


class Scaling(unittest.TestCase):
    def test_replicas_and_autoscalers(self):
        deployments = by_name(objects_of("postgres-scaled", "Deployment"))
        self.assertEqual(deployments[f"{FULLNAME}-aggregator"]["spec"]["replicas"], 3)
        self.assertEqual(deployments[f"{FULLNAME}-membership"]["spec"]["replicas"], 1)
        self.assertEqual(deployments[f"{FULLNAME}-collector-ap-southeast-2"]["spec"]["replicas"], 2)
        autoscalers = by_name(objects_of("postgres-scaled", "HorizontalPodAutoscaler"))
        autoscaled = {f"{FULLNAME}-collector-us-east-1", f"{FULLNAME}-collector-eu-west-1"}
        self.assertEqual(set(autoscalers), autoscaled)
        for name in autoscaled:
            # The autoscaler owns the replica count.
            self.assertNotIn("replicas", deployments[name]["spec"])
            spec = autoscalers[name]["spec"]
            self.assertEqual(spec["scaleTargetRef"], {"apiVersion": "apps/v1", "kind": "Deployment", "name": name})
            self.assertEqual((spec["minReplicas"], spec["maxReplicas"]), (2, 8))
        region = by_name(objects_of("postgres-scaled", "Deployment"))[f"{FULLNAME}-collector-ap-southeast-2"]
        self.assertEqual(pod_spec(region)["containers"][0]["resources"], {"requests": {"cpu": "500m", "memory": "512Mi"}})
        self.assertEqual(pod_spec(region)["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"], region["spec"]["selector"]["matchLabels"])

    def test_rolling_updates_keep_capacity_on_postgres(self):
        for deployment in objects_of("postgres-scaled", "Deployment"):
            self.assertEqual(deployment["spec"]["strategy"]["rollingUpdate"], {"maxSurge": 1, "maxUnavailable": 0})

    def test_one_disruption_budget_per_deployment(self):
        for name in value_sets():
            deployments = by_name(objects_of(name, "Deployment"))
            budgets = by_name(objects_of(name, "PodDisruptionBudget"))
            self.assertEqual(set(budgets), set(deployments))
            for budget_name, budget in budgets.items():
                self.assertEqual(budget["spec"]["selector"], deployments[budget_name]["spec"]["selector"])
                self.assertEqual(budget["spec"]["maxUnavailable"], 1)

    def test_headless_services(self):
        for service in objects_of("headless", "Service"):
            self.assertEqual(service["spec"]["clusterIP"], "None")
        for service in objects_of("postgres-scaled", "Service"):
            self.assertNotIn("clusterIP", service["spec"])


class Monitoring(unittest.TestCase):
    def test_service_monitor_scrapes_the_metrics_port_of_every_service(self):
        [monitor] = objects_of("postgres-scaled", "ServiceMonitor")
        self.assertEqual(monitor["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(monitor["metadata"]["labels"]["release"], "prometheus")
        spec = monitor["spec"]
        self.assertEqual(spec["namespaceSelector"], {"matchNames": [NAMESPACE]})
        self.assertEqual([(e["port"], e["path"]) for e in spec["endpoints"]], [("metrics", "/metrics")])
        services = objects_of("postgres-scaled", "Service")
        selected = [s for s in services if spec["selector"]["matchLabels"].items() <= s["metadata"]["labels"].items()]
        self.assertEqual(len(selected), len(services))
        self.assertEqual(objects_of("sqlite-dev", "ServiceMonitor"), [])

    def test_network_policies(self):
        policies = by_name(objects_of("postgres-scaled", "NetworkPolicy"))
        deployments = by_name(objects_of("postgres-scaled", "Deployment"))
        self.assertEqual(set(policies), set(deployments))
        aggregator_labels = deployments[f"{FULLNAME}-aggregator"]["spec"]["template"]["metadata"]["labels"]
        for name, policy in policies.items():
            spec = policy["spec"]
            self.assertEqual(spec["podSelector"], deployments[name]["spec"]["selector"])
            self.assertEqual(spec["policyTypes"], ["Ingress"])
            rules = {rule["ports"][0]["port"]: rule for rule in spec["ingress"]}
            self.assertEqual(rules["metrics"]["from"], [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}])
            component = deployments[name]["metadata"]["labels"]["app.kubernetes.io/component"]
            if component == "collector":
                peers = rules["grpc"]["from"]
                # The aggregator's pods, and the extra clients from values; nobody else.
                self.assertEqual(len(peers), 2)
                self.assertTrue(peers[0]["podSelector"]["matchLabels"].items() <= aggregator_labels.items())
                self.assertEqual(peers[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"], "aggregator")
                self.assertEqual(peers[1], {"namespaceSelector": {"matchLabels": {"team": "ingest"}}})
            else:
                self.assertNotIn("from", rules["grpc"])


class Mesh(unittest.TestCase):
    def test_linkerd_injects_services_and_keeps_migrations_out(self):
        for deployment in objects_of("linkerd", "Deployment"):
            self.assertEqual(deployment["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"], "enabled")
        jobs = by_name(objects_of("linkerd", "Job"))
        registration = jobs.pop(f"{FULLNAME}-register-regions")["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(registration["linkerd.io/inject"], "enabled")
        # A native sidecar stops with the Job's containers.
        self.assertEqual(registration["config.beta.linkerd.io/proxy-enable-native-sidecar"], "true")
        self.assertTrue(jobs)
        for job in jobs.values():
            self.assertEqual(job["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"], "disabled")
        for deployment in objects_of("sqlite-dev", "Deployment"):
            self.assertNotIn("annotations", deployment["spec"]["template"]["metadata"])

    def test_istio_injects_and_requires_mutual_tls(self):
        for deployment in objects_of("istio", "Deployment"):
            metadata = deployment["spec"]["template"]["metadata"]
            self.assertEqual(metadata["labels"]["sidecar.istio.io/inject"], "true")
            self.assertEqual(metadata["annotations"]["sidecar.istio.io/inject"], "true")
        [peer] = objects_of("istio", "PeerAuthentication")
        self.assertEqual(peer["apiVersion"], "security.istio.io/v1")
        self.assertEqual(peer["spec"]["mtls"], {"mode": "STRICT"})
        self.assertEqual(peer["spec"]["portLevelMtls"], {9464: {"mode": "PERMISSIVE"}})
        for deployment in objects_of("istio", "Deployment"):
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            self.assertTrue(peer["spec"]["selector"]["matchLabels"].items() <= labels.items())
        for job in objects_of("istio", "Job"):
            labels = job["spec"]["template"]["metadata"]["labels"]
            expected = "true" if job["metadata"]["name"].endswith("register-regions") else "false"
            self.assertEqual(labels["sidecar.istio.io/inject"], expected)
        self.assertEqual(objects_of("linkerd", "PeerAuthentication"), [])

    def test_native_tls_mounts_the_certificate_and_sets_the_tls_settings(self):
        for deployment in objects_of("native-tls", "Deployment"):
            spec = pod_spec(deployment)
            container = spec["containers"][0]
            env = env_of(container)
            with self.subTest(deployment=deployment["metadata"]["name"]):
                self.assertEqual(env["TRIBUTARY_TLS__CERT_FILE"]["value"], "/etc/tributary/tls/tls.crt")
                self.assertEqual(env["TRIBUTARY_TLS__KEY_FILE"]["value"], "/etc/tributary/tls/tls.key")
                self.assertEqual(env["TRIBUTARY_TLS__CLIENT_CA_FILE"]["value"], "/etc/tributary/tls/ca.crt")
                volumes = {v["name"]: v for v in spec["volumes"]}
                self.assertEqual(volumes["tls"]["secret"]["secretName"], "tributary-tls")
                mounts = {m["name"]: m for m in container["volumeMounts"]}
                self.assertEqual(mounts["tls"], {"name": "tls", "mountPath": "/etc/tributary/tls", "readOnly": True})
                if "TRIBUTARY_MEMBERSHIP_ENDPOINT" in env:
                    self.assertTrue(env["TRIBUTARY_MEMBERSHIP_ENDPOINT"]["value"].startswith("https://"))
        for deployment in objects_of("sqlite-dev", "Deployment"):
            self.assertFalse([n for n in env_of(pod_spec(deployment)["containers"][0]) if n.startswith("TRIBUTARY_TLS__")])


class Notes(unittest.TestCase):
    def test_notes_tell_how_to_call_the_services(self):
        _, notes = rendered_set("postgres-scaled")
        self.assertIn(f"kubectl -n {NAMESPACE} port-forward svc/{FULLNAME}-membership 50051:50051", notes)
        self.assertIn("grpcurl -plaintext", notes)
        self.assertIn("buf curl --protocol grpc --http2-prior-knowledge", notes)
        self.assertIn(f"get secret {FULLNAME}-keys -o jsonpath='{{.data.operator-key}}'", notes)
        for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
            self.assertIn(f"{FULLNAME}-collector-{region}:50061", notes)


if __name__ == "__main__":
    unittest.main()
