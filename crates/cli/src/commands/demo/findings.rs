//! The demo's security findings, written as the ASFF JSON the AWS integrations send (Security Hub
//! control checks, GuardDuty, Inspector, Macie, IAM Access Analyzer) about the world's resources,
//! and mapped onto the typed finding like any import.

use serde_json::{Value, json};

use super::world::{Account, Resource, World};

/// The built-in products the findings come from: (product path, name).
pub const PRODUCTS: [(&str, &str); 5] = [
    ("aws/securityhub", "Security Hub"),
    ("aws/guardduty", "GuardDuty"),
    ("aws/inspector", "Inspector"),
    ("aws/macie", "Macie"),
    ("aws/access-analyzer", "IAM Access Analyzer"),
];

/// The product ARN of a built-in product in `region`.
pub fn product_arn(region: &str, path: &str) -> String {
    format!("arn:aws:securityhub:{region}::product/{path}")
}

const FSBP: &str = "standards/aws-foundational-security-best-practices/v/1.0.0";

/// Controls of the catalogue the demo checks: id, severity, title.
const CONTROLS: [(&str, &str, &str); 13] = [
    (
        "EC2.6",
        "MEDIUM",
        "VPC flow logging should be enabled in all VPCs",
    ),
    (
        "EC2.8",
        "HIGH",
        "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
    ),
    (
        "EC2.19",
        "CRITICAL",
        "Security groups should not allow unrestricted access to ports with high risk",
    ),
    (
        "S3.1",
        "MEDIUM",
        "S3 general purpose buckets should have block public access settings enabled",
    ),
    (
        "S3.5",
        "MEDIUM",
        "S3 general purpose buckets should require requests to use SSL",
    ),
    (
        "S3.8",
        "HIGH",
        "S3 general purpose buckets should block public access",
    ),
    (
        "RDS.2",
        "CRITICAL",
        "RDS DB instances should prohibit public access",
    ),
    (
        "RDS.3",
        "MEDIUM",
        "RDS DB instances should have encryption at-rest enabled",
    ),
    (
        "IAM.1",
        "HIGH",
        "IAM policies should not allow full administrative privileges",
    ),
    (
        "CloudTrail.1",
        "HIGH",
        "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events",
    ),
    (
        "Config.1",
        "MEDIUM",
        "AWS Config should be enabled and use the service-linked role for resource recording",
    ),
    ("GuardDuty.1", "HIGH", "GuardDuty should be enabled"),
    (
        "IAM.6",
        "CRITICAL",
        "Hardware MFA should be enabled for the root user",
    ),
];

const THREATS: [(&str, &str, &str, &str); 8] = [
    (
        "Recon:EC2/PortProbeUnprotectedPort",
        "LOW",
        "Unprotected port on EC2 instance {id} is being probed.",
        "TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort",
    ),
    (
        "UnauthorizedAccess:EC2/SSHBruteForce",
        "LOW",
        "{id} is performing SSH brute force attacks.",
        "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce",
    ),
    (
        "CryptoCurrency:EC2/BitcoinTool.B!DNS",
        "HIGH",
        "EC2 instance {id} is querying a domain name that is associated with Bitcoin-related activity.",
        "TTPs/Impact/CryptoCurrency:EC2-BitcoinTool.B!DNS",
    ),
    (
        "Backdoor:EC2/C&CActivity.B!DNS",
        "HIGH",
        "EC2 instance {id} is querying a domain name associated with a known command and control server.",
        "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS",
    ),
    (
        "Trojan:EC2/DNSDataExfiltration",
        "HIGH",
        "EC2 instance {id} is attempting to exfiltrate data through DNS queries.",
        "TTPs/Exfiltration/Trojan:EC2-DNSDataExfiltration",
    ),
    (
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        "CRITICAL",
        "Credentials created exclusively for EC2 instance {id} are being used from an external IP address.",
        "TTPs/Credential Access/UnauthorizedAccess:IAMUser-InstanceCredentialExfiltration.OutsideAWS",
    ),
    (
        "Discovery:S3/MaliciousIPCaller",
        "MEDIUM",
        "An API commonly used to discover resources in S3 bucket {id} was invoked from a known malicious IP address.",
        "TTPs/Discovery/Discovery:S3-MaliciousIPCaller",
    ),
    (
        "Policy:S3/BucketBlockPublicAccessDisabled",
        "LOW",
        "Block public access settings of S3 bucket {id} were disabled.",
        "Software and Configuration Checks/Policy:S3.BucketBlockPublicAccessDisabled",
    ),
];

const VULNERABILITIES: [(&str, &str, &str, &str, f64); 8] = [
    ("CVE-2023-44487", "nghttp2", "1.43.0", "1.57.0", 7.5),
    ("CVE-2023-4863", "libwebp", "1.0.3", "1.3.2", 8.8),
    ("CVE-2024-3094", "xz-libs", "5.6.0", "5.4.6", 10.0),
    ("CVE-2023-38545", "curl", "7.76.1", "8.4.0", 9.8),
    ("CVE-2022-3602", "openssl", "3.0.5", "3.0.7", 7.5),
    ("CVE-2023-2650", "openssl-libs", "3.0.8", "3.0.9", 6.5),
    ("CVE-2024-6387", "openssh-server", "8.7p1", "9.8p1", 8.1),
    ("CVE-2023-29491", "ncurses", "6.2", "6.4", 7.8),
];

/// The findings of `account` in `region`, about its `resources`, as ASFF JSON.
pub fn findings(
    world: &World,
    account: &Account,
    region: &str,
    resources: &[Resource],
) -> Vec<Value> {
    let mut rng = world.rng(&[&account.id, region, "findings"]);
    let target = world.scaled(50.0, 3);
    let mut findings = Vec::with_capacity(target);
    let instances: Vec<&Resource> = resources
        .iter()
        .filter(|resource| resource.asff_type == "AwsEc2Instance")
        .collect();
    let buckets: Vec<&Resource> = resources
        .iter()
        .filter(|resource| resource.asff_type == "AwsS3Bucket")
        .collect();
    let roles: Vec<&Resource> = resources
        .iter()
        .filter(|resource| resource.asff_type == "AwsIamRole")
        .collect();

    // Control checks first: one per checked control and resource, failed and passed.
    let mut checks: Vec<(&Resource, &str, bool)> = Vec::new();
    for resource in resources {
        for control in &resource.failed_controls {
            checks.push((resource, control, false));
        }
        for control in &resource.passed_controls {
            checks.push((resource, control, true));
        }
    }
    let control_budget = target * 2 / 5;
    for (resource, control, passed) in checks.into_iter().take(control_budget) {
        findings.push(control_finding(
            world,
            account,
            region,
            &mut rng,
            Some(resource),
            control,
            passed,
        ));
    }
    // Account-level controls (the resource is the account).
    for control in ["CloudTrail.1", "Config.1", "GuardDuty.1", "IAM.6"] {
        if findings.len() >= target {
            break;
        }
        let passed = rng.chance(0.6);
        findings.push(control_finding(
            world, account, region, &mut rng, None, control, passed,
        ));
    }
    let mut serial = 0;
    while findings.len() < target {
        serial += 1;
        let roll = rng.below(100);
        let finding = if roll < 40 && !instances.is_empty() {
            let resource = *rng.pick(&instances);
            inspector_finding(world, account, region, &mut rng, resource, serial)
        } else if roll < 75 && !(instances.is_empty() && buckets.is_empty()) {
            let resource = if buckets.is_empty() || (!instances.is_empty() && rng.chance(0.7)) {
                *rng.pick(&instances)
            } else {
                *rng.pick(&buckets)
            };
            guardduty_finding(world, account, region, &mut rng, resource, serial)
        } else if roll < 90 && !buckets.is_empty() {
            let resource = *rng.pick(&buckets);
            macie_finding(world, account, region, &mut rng, resource, serial)
        } else if let Some(resource) = roles.first().copied().or_else(|| buckets.first().copied()) {
            access_analyzer_finding(world, account, region, &mut rng, resource, serial)
        } else {
            let resource = *rng.pick(&instances);
            inspector_finding(world, account, region, &mut rng, resource, serial)
        };
        findings.push(finding);
    }
    findings
}

/// Fields every finding has: schema, ids, times, workflow and record state.
#[allow(clippy::too_many_arguments)] // The common ASFF header has this many parts.
fn base(
    world: &World,
    account: &Account,
    region: &str,
    rng: &mut super::world::Rng,
    product: &str,
    id: String,
    generator_id: String,
    types: Vec<String>,
    label: &str,
    title: String,
    description: String,
) -> serde_json::Map<String, Value> {
    let created = rng.below(60 * 86_400) as i64 + 7_200;
    let updated = created - rng.below(created as u64 - 3_600) as i64;
    let workflow = match rng.below(100) {
        0..70 => "NEW",
        70..85 => "NOTIFIED",
        85..95 => "RESOLVED",
        _ => "SUPPRESSED",
    };
    let record_state = if rng.chance(0.05) {
        "ARCHIVED"
    } else {
        "ACTIVE"
    };
    let normalized = match label {
        "INFORMATIONAL" => 0,
        "LOW" => 30,
        "MEDIUM" => 50,
        "HIGH" => 70,
        _ => 90,
    };
    let mut finding = serde_json::Map::new();
    for (key, value) in [
        ("SchemaVersion", json!("2018-10-08")),
        ("Id", json!(id)),
        ("ProductArn", json!(product_arn(region, product))),
        ("GeneratorId", json!(generator_id)),
        ("AwsAccountId", json!(account.id)),
        ("Region", json!(region)),
        ("Types", json!(types)),
        ("FirstObservedAt", json!(world.iso(created))),
        ("LastObservedAt", json!(world.iso(updated))),
        ("CreatedAt", json!(world.iso(created))),
        ("UpdatedAt", json!(world.iso(updated))),
        (
            "Severity",
            json!({"Label": label, "Normalized": normalized, "Original": label}),
        ),
        ("Title", json!(title)),
        ("Description", json!(description)),
        ("Workflow", json!({"Status": workflow})),
        ("RecordState", json!(record_state)),
        (
            "FindingProviderFields",
            json!({"Severity": {"Label": label, "Original": label}, "Types": types}),
        ),
    ] {
        finding.insert(key.to_string(), value);
    }
    finding
}

fn resource_json(resource: &Resource, region: &str) -> Value {
    let tags: serde_json::Map<String, Value> = resource
        .item
        .tags
        .iter()
        .map(|tag| (tag.key.clone(), json!(tag.value)))
        .collect();
    json!({
        "Type": resource.asff_type,
        "Id": resource.item.arn,
        "Partition": "aws",
        "Region": region,
        "Tags": tags,
        "Details": resource.details,
    })
}

#[allow(clippy::too_many_arguments)] // Control, resource and outcome are all needed.
fn control_finding(
    world: &World,
    account: &Account,
    region: &str,
    rng: &mut super::world::Rng,
    resource: Option<&Resource>,
    control: &str,
    passed: bool,
) -> Value {
    let (_, severity, title) = CONTROLS
        .iter()
        .find(|(id, _, _)| *id == control)
        .copied()
        .unwrap_or((control, "MEDIUM", "Control check"));
    let resource_key = resource.map_or_else(
        || format!("AWS::::Account:{}", account.id),
        |resource| resource.item.arn.clone(),
    );
    let mut id_rng = world.rng(&[&account.id, region, control, &resource_key]);
    let id = format!(
        "arn:aws:securityhub:{region}:{}:security-control/{control}/finding/{}",
        account.id,
        id_rng.uuid()
    );
    let label = if passed { "INFORMATIONAL" } else { severity };
    let mut finding = base(
        world,
        account,
        region,
        rng,
        "aws/securityhub",
        id,
        format!("security-control/{control}"),
        vec!["Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices".to_string()],
        label,
        format!("{control} {title}"),
        format!(
            "This AWS control checks the following: {title}. The check {} for {resource_key}.",
            if passed { "passed" } else { "failed" }
        ),
    );
    let url = format!("https://docs.aws.amazon.com/console/securityhub/{control}/remediation");
    finding.insert("Remediation".into(), json!({"Recommendation": {"Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.", "Url": url}}));
    finding.insert("ProductFields".into(), json!({
        "StandardsArn": format!("arn:aws:securityhub:::{FSBP}"),
        "ControlId": control,
        "RecommendationUrl": url,
        "RelatedAWSResources:0/type": "AWS::Config::ConfigRule",
        "RelatedAWSResources:0/name": format!("securityhub-{}-{}", control.to_lowercase().replace('.', "-"), id_rng.hex(8)),
        "Resources:0/Id": resource_key,
    }));
    finding.insert("Compliance".into(), json!({
        "Status": if passed { "PASSED" } else if rng.chance(0.05) { "WARNING" } else { "FAILED" },
        "SecurityControlId": control,
        "AssociatedStandards": [{"StandardsId": FSBP}],
        "StatusReasons": if passed { json!([]) } else { json!([{"ReasonCode": "CONFIG_EVALUATIONS_EMPTY", "Description": "AWS Config evaluated the resource as NON_COMPLIANT."}]) },
    }));
    finding.insert("Resources".into(), json!([match resource {
        Some(resource) => resource_json(resource, region),
        None => json!({"Type": "AwsAccount", "Id": format!("AWS::::Account:{}", account.id), "Partition": "aws", "Region": region}),
    }]));
    // Passed checks are archived by their provider in AWS only when the resource goes away.
    finding.insert("RecordState".into(), json!("ACTIVE"));
    Value::Object(finding)
}

fn guardduty_finding(
    world: &World,
    account: &Account,
    region: &str,
    rng: &mut super::world::Rng,
    resource: &Resource,
    serial: usize,
) -> Value {
    let is_bucket = resource.asff_type == "AwsS3Bucket";
    let candidates: Vec<_> = THREATS
        .iter()
        .filter(|(kind, ..)| kind.contains(":S3/") == is_bucket)
        .collect();
    let (kind, severity, text, asff_type) = **rng.pick(&candidates);
    let detector = world.rng(&[&account.id, region, "detector"]).hex(32);
    let id = format!(
        "arn:aws:guardduty:{region}:{}:detector/{detector}/finding/{}",
        account.id,
        world
            .rng(&[&account.id, region, "guardduty", &serial.to_string()])
            .hex(32)
    );
    let description = text.replace("{id}", &resource.item.resource_id);
    let remote_ip = format!(
        "{}.{}.{}.{}",
        45 + rng.below(150),
        rng.below(255),
        rng.below(255),
        rng.below(255)
    );
    let mut finding = base(
        world,
        account,
        region,
        rng,
        "aws/guardduty",
        id,
        format!(
            "arn:aws:guardduty:{region}:{}:detector/{detector}",
            account.id
        ),
        vec![asff_type.to_string()],
        severity,
        format!("{kind} activity on {}", resource.item.resource_name),
        format!(
            "{description} This activity is unusual for the resource and may indicate that it is compromised. Review the resource's activity in CloudTrail and VPC flow logs."
        ),
    );
    finding.insert("Confidence".into(), json!(50 + rng.below(50)));
    finding.insert(
        "SourceUrl".into(),
        json!(format!(
            "https://console.aws.amazon.com/guardduty/home?region={region}#/findings?fId={detector}"
        )),
    );
    finding.insert("Remediation".into(), json!({"Recommendation": {"Text": "Investigate the activity; if it is not expected, isolate the resource and rotate its credentials.", "Url": "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_remediate.html"}}));
    finding.insert("ProductFields".into(), json!({
        "detectorId": detector,
        "action/actionType": if is_bucket { "AWS_API_CALL" } else { "NETWORK_CONNECTION" },
        "action/networkConnectionAction/remoteIpDetails/ipAddressV4": remote_ip,
        "action/networkConnectionAction/remoteIpDetails/country/countryName": *rng.pick(&["Netherlands", "Brazil", "Viet Nam", "Romania", "United States"]),
        "resourceRole": "TARGET",
        "count": (1 + rng.below(40)).to_string(),
        "archived": "false",
    }));
    finding.insert("Resources".into(), json!([resource_json(resource, region)]));
    // Real GuardDuty findings carry these; Tributary's finding does not, and an import skips them.
    finding.insert(
        "Network".into(),
        json!({"Direction": "OUT", "Protocol": "TCP", "RemoteIpV4": remote_ip, "RemotePort": 443}),
    );
    finding.insert("Action".into(), json!({"ActionType": "NETWORK_CONNECTION"}));
    Value::Object(finding)
}

fn inspector_finding(
    world: &World,
    account: &Account,
    region: &str,
    rng: &mut super::world::Rng,
    resource: &Resource,
    serial: usize,
) -> Value {
    let (cve, package, installed, fixed, score) = *rng.pick(&VULNERABILITIES);
    let severity = match score {
        s if s >= 9.0 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        _ => "LOW",
    };
    let id = format!(
        "arn:aws:inspector2:{region}:{}:finding/{}",
        account.id,
        world
            .rng(&[&account.id, region, "inspector", &serial.to_string()])
            .hex(32)
    );
    let mut finding = base(
        world,
        account,
        region,
        rng,
        "aws/inspector",
        id,
        "AWSInspector".to_string(),
        vec!["Software and Configuration Checks/Vulnerabilities/CVE".to_string()],
        severity,
        format!("{cve} - {package}"),
        format!(
            "A vulnerability in {package} {installed} was found on {}. {cve} has a CVSS v3 base score of {score}: a remote attacker may be able to cause a denial of service or execute code. The package is installed from the operating system's repositories and is loaded by running services.",
            resource.item.resource_id
        ),
    );
    finding.insert("Remediation".into(), json!({"Recommendation": {"Text": format!("Update {package} to {fixed} or later: run the package manager's update for {package} and restart the services that use it."), "Url": format!("https://nvd.nist.gov/vuln/detail/{cve}")}}));
    finding.insert(
        "ProductFields".into(),
        json!({
            "inspector/vulnerabilityId": cve,
            "inspector/packageName": package,
            "inspector/installedVersion": installed,
            "inspector/fixedInVersion": fixed,
            "inspector/cvss3BaseScore": score.to_string(),
            "inspector/exploitAvailable": if score >= 9.0 { "YES" } else { "NO" },
            "inspector/fixAvailable": "YES",
        }),
    );
    finding.insert("Resources".into(), json!([resource_json(resource, region)]));
    finding.insert("Vulnerabilities".into(), json!([{
        "Id": cve,
        "VulnerablePackages": [{"Name": package, "Version": installed, "FixedInVersion": fixed, "PackageManager": "OS"}],
        "Cvss": [{"Version": "3.1", "BaseScore": score, "Source": "NVD"}],
        "ReferenceUrls": [format!("https://nvd.nist.gov/vuln/detail/{cve}")],
        "FixAvailable": "YES",
    }]));
    Value::Object(finding)
}

fn macie_finding(
    world: &World,
    account: &Account,
    region: &str,
    rng: &mut super::world::Rng,
    resource: &Resource,
    serial: usize,
) -> Value {
    let (kind, severity, types) = *rng.pick(&[
        ("SensitiveData:S3Object/Personal", "HIGH", "Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal"),
        ("SensitiveData:S3Object/Financial", "HIGH", "Sensitive Data Identifications/Financial/SensitiveData:S3Object-Financial"),
        ("SensitiveData:S3Object/Credentials", "CRITICAL", "Sensitive Data Identifications/Passwords/SensitiveData:S3Object-Credentials"),
        ("Policy:IAMUser/S3BucketEncryptionDisabled", "LOW", "Software and Configuration Checks/AWS Security Best Practices/Policy:IAMUser-S3BucketEncryptionDisabled"),
    ]);
    let id = world
        .rng(&[&account.id, region, "macie", &serial.to_string()])
        .hex(32);
    let object = format!(
        "exports/{}/part-{:05}.csv",
        world
            .iso(rng.below(30 * 86_400) as i64)
            .get(..10)
            .unwrap_or("2024-01-01"),
        rng.below(100)
    );
    let job = format!(
        "arn:aws:macie:{region}:{}:classification-job/{}",
        account.id,
        rng.hex(32)
    );
    let occurrences = 1 + rng.below(5_000);
    let mut finding = base(
        world,
        account,
        region,
        rng,
        "aws/macie",
        id,
        job,
        vec![types.to_string()],
        severity,
        format!("The S3 object contains sensitive data ({kind})"),
        format!(
            "The object {object} in bucket {} contains {} occurrences of sensitive data of type {kind}.",
            resource.item.resource_id, occurrences
        ),
    );
    finding.insert(
        "ProductFields".into(),
        json!({
            "S3Object.Path": format!("{}/{object}", resource.item.resource_id),
            "S3Object.Extension": "csv",
            "OriginType": "SENSITIVE_DATA_DISCOVERY_JOB",
            "Count": "1",
        }),
    );
    finding.insert("Resources".into(), json!([resource_json(resource, region)]));
    finding.insert("Sample".into(), json!(false));
    Value::Object(finding)
}

fn access_analyzer_finding(
    world: &World,
    account: &Account,
    region: &str,
    rng: &mut super::world::Rng,
    resource: &Resource,
    serial: usize,
) -> Value {
    let external = format!("{:012}", 100_000_000_000 + rng.below(899_999_999_999));
    let id = format!(
        "arn:aws:access-analyzer:{region}:{}:analyzer/organization-analyzer/arn:aws:{}/{}",
        account.id,
        resource.item.resource_id,
        world
            .rng(&[&account.id, region, "analyzer", &serial.to_string()])
            .uuid()
    );
    let mut finding = base(
        world,
        account,
        region,
        rng,
        "aws/access-analyzer",
        id,
        format!("{}/{}", resource.asff_type, resource.item.arn),
        vec!["Effects/Data Exposure/External Access Granted".to_string()],
        "LOW",
        format!(
            "{}/{} allows cross-account access",
            resource.asff_type, resource.item.arn
        ),
        format!(
            "{} {} allows access from account {external}, which is outside the zone of trust of the organization.",
            resource.asff_type, resource.item.resource_name
        ),
    );
    finding.insert(
        "ProductFields".into(),
        json!({
            "ResourceOwnerAccount": account.id,
            "Principal": format!("{{\"AWS\":\"{external}\"}}"),
            "Action": "sts:AssumeRole",
            "IsPublic": "false",
        }),
    );
    finding.insert("Remediation".into(), json!({"Recommendation": {"Text": "If the access is not intended, remove the statement that grants it from the resource policy.", "Url": "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings-remediation.html"}}));
    finding.insert("Resources".into(), json!([resource_json(resource, region)]));
    Value::Object(finding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{asff::finding_from_asff, commands::demo::world::resources};
    use prost::Message;

    #[test]
    fn demo_findings_are_realistic_asff_of_one_to_four_kilobytes() {
        let world = World::new(
            3,
            1.0,
            vec!["us-east-1".into(), "eu-west-1".into()],
            1_715_000_000,
        );
        let account = world.accounts[2].clone();
        let owned = resources(&world, &account, "eu-west-1");
        let generated = findings(&world, &account, "eu-west-1", &owned);
        assert_eq!(generated.len(), 50);
        let mut ids = std::collections::BTreeSet::new();
        let mut products = std::collections::BTreeSet::new();
        for value in &generated {
            let mapped = finding_from_asff(value).expect("demo findings map");
            let size = mapped.finding.encoded_len();
            assert!((700..=4096).contains(&size), "{size} bytes: {value}");
            assert!(ids.insert(mapped.finding.id.clone()), "duplicate id");
            products.insert(mapped.finding.product_arn.clone());
        }
        assert!(products.len() >= 3, "{products:?}");
        assert_eq!(generated, findings(&world, &account, "eu-west-1", &owned));
    }
}
