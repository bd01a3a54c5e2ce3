//! The demo world, generated deterministically from a seed: accounts of one organization, and per
//! account and region the resources Config recorded, the rules that evaluated them and the
//! results. Every part draws from its own random stream (seed, account, region, purpose), so the
//! world does not depend on the order it is generated or written in.

use std::collections::HashMap;

use serde_json::{Value, json};
use tributary_proto::{collector::v1 as collector_pb, types::v1 as types_pb};

/// A small deterministic generator (SplitMix64): the same seed always gives the same world, on
/// every platform and version, which a library generator does not promise.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A stream for `seed` and the labels naming what it generates.
    pub fn derive(seed: u64, labels: &[&str]) -> Self {
        // FNV-1a over the labels, mixed with the seed.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for label in labels {
            for byte in label.bytes().chain(std::iter::once(0xff)) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self(hash)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// True with probability `probability`.
    pub fn chance(&mut self, probability: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= probability
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `length` lowercase hex digits.
    pub fn hex(&mut self, length: usize) -> String {
        (0..length)
            .map(|_| char::from_digit(self.below(16) as u32, 16).unwrap_or('0'))
            .collect()
    }

    /// A UUID-shaped id.
    pub fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-a{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
}

/// What an account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The organization's management account.
    Management,
    /// The security tooling account: Security Hub administrator, Config delegated administrator,
    /// owner of the aggregators.
    Security,
    /// Shared infrastructure (logs, networking, shared services).
    Infrastructure,
    /// An application's stage.
    Workload,
}

/// One account of the demo organization.
#[derive(Debug, Clone)]
pub struct Account {
    /// The 12-digit id.
    pub id: String,
    /// The display name, e.g. `payments-prod`.
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// `prod`, `staging`, `dev` or `shared`.
    pub stage: &'static str,
    /// The owning team.
    pub team: &'static str,
}

/// The named accounts, in the order a smaller scale keeps them.
const ACCOUNTS: [(&str, Role, &str, &str); 20] = [
    ("org-management", Role::Management, "shared", "platform"),
    ("security-tooling", Role::Security, "shared", "security"),
    ("payments-prod", Role::Workload, "prod", "payments"),
    ("checkout-prod", Role::Workload, "prod", "checkout"),
    ("log-archive", Role::Infrastructure, "shared", "platform"),
    ("payments-staging", Role::Workload, "staging", "payments"),
    ("catalog-prod", Role::Workload, "prod", "catalog"),
    (
        "shared-services",
        Role::Infrastructure,
        "shared",
        "platform",
    ),
    ("checkout-staging", Role::Workload, "staging", "checkout"),
    ("network", Role::Infrastructure, "shared", "network"),
    ("search-prod", Role::Workload, "prod", "search"),
    ("identity-prod", Role::Workload, "prod", "identity"),
    ("catalog-staging", Role::Workload, "staging", "catalog"),
    ("analytics-prod", Role::Workload, "prod", "analytics"),
    ("payments-dev", Role::Workload, "dev", "payments"),
    ("ml-platform-prod", Role::Workload, "prod", "ml-platform"),
    ("billing-prod", Role::Workload, "prod", "billing"),
    ("mobile-api-prod", Role::Workload, "prod", "mobile-api"),
    (
        "notifications-prod",
        Role::Workload,
        "prod",
        "notifications",
    ),
    ("sandbox", Role::Workload, "dev", "platform"),
];

/// The demo world's shape.
#[derive(Debug, Clone)]
pub struct World {
    /// The seed everything derives from.
    pub seed: u64,
    /// How much of everything (1.0: 20 accounts, ~20 resources and ~50 findings per account and
    /// region).
    pub scale: f64,
    /// The accounts, management first, security second.
    pub accounts: Vec<Account>,
    /// The regions, home first.
    pub regions: Vec<String>,
    /// Seconds since the epoch that every generated time is before: the start of the current UTC
    /// day, so runs on one day write identical data.
    pub anchor: i64,
}

impl World {
    /// The world of `seed` and `scale` over `regions` (the first is home).
    pub fn new(seed: u64, scale: f64, regions: Vec<String>, now: i64) -> Self {
        let count = ((20.0 * scale).round() as usize).max(4);
        let mut rng = Rng::derive(seed, &["accounts"]);
        let mut used = std::collections::BTreeSet::new();
        let accounts = (0..count)
            .map(|index| {
                let id = loop {
                    let candidate = format!("{:012}", 100_000_000_000 + rng.below(899_999_999_999));
                    if used.insert(candidate.clone()) {
                        break candidate;
                    }
                };
                let (name, role, stage, team) =
                    ACCOUNTS
                        .get(index)
                        .copied()
                        .unwrap_or(("", Role::Workload, "dev", "platform"));
                let name = if name.is_empty() {
                    format!("workload-{index:03}")
                } else {
                    name.to_string()
                };
                Account {
                    id,
                    name,
                    role,
                    stage,
                    team,
                }
            })
            .collect();
        Self {
            seed,
            scale,
            accounts,
            regions,
            anchor: now - now.rem_euclid(86_400),
        }
    }

    /// The home region (aggregators live there; IAM is recorded there).
    pub fn home(&self) -> &str {
        &self.regions[0]
    }

    /// The management account.
    pub fn management(&self) -> &Account {
        &self.accounts[0]
    }

    /// The security tooling account.
    pub fn security(&self) -> &Account {
        &self.accounts[1]
    }

    /// `count` at this scale, at least `minimum`.
    pub fn scaled(&self, count: f64, minimum: usize) -> usize {
        ((count * self.scale).round() as usize).max(minimum)
    }

    /// A time `seconds_ago` before the anchor.
    pub fn time(&self, seconds_ago: i64) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: self.anchor - seconds_ago,
            nanos: 0,
        }
    }

    /// The same time as ASFF writes it.
    pub fn iso(&self, seconds_ago: i64) -> String {
        chrono::DateTime::from_timestamp(self.anchor - seconds_ago, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// A random stream for what `labels` name.
    pub fn rng(&self, labels: &[&str]) -> Rng {
        Rng::derive(self.seed, labels)
    }
}

/// A resource as generated: its configuration item and the facts rules and findings use.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The item Config recorded.
    pub item: collector_pb::ConfigurationItemInput,
    /// The ASFF resource type (`AwsEc2Instance`).
    pub asff_type: &'static str,
    /// The ASFF `Details` of the resource.
    pub details: Value,
    /// What each rule that evaluates the resource concluded, with an annotation.
    pub evaluations: Vec<(&'static str, collector_pb::ComplianceType, String)>,
    /// Failed control checks of the resource (security control ids).
    pub failed_controls: Vec<&'static str>,
    /// Passed control checks of the resource.
    pub passed_controls: Vec<&'static str>,
}

/// The Config rules every account has in every region: name, managed rule identifier, the
/// resource types it evaluates, and its description.
pub const RULES: [(&str, &str, &[&str], &str); 8] = [
    (
        "s3-bucket-versioning-enabled",
        "S3_BUCKET_VERSIONING_ENABLED",
        &["AWS::S3::Bucket"],
        "Checks that versioning is enabled for S3 buckets.",
    ),
    (
        "s3-bucket-server-side-encryption-enabled",
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        &["AWS::S3::Bucket"],
        "Checks that S3 buckets have default encryption enabled.",
    ),
    (
        "restricted-ssh",
        "INCOMING_SSH_DISABLED",
        &["AWS::EC2::SecurityGroup"],
        "Checks that security groups do not allow unrestricted incoming SSH traffic.",
    ),
    (
        "ec2-instance-no-public-ip",
        "EC2_INSTANCE_NO_PUBLIC_IP",
        &["AWS::EC2::Instance"],
        "Checks that EC2 instances do not have a public IPv4 address.",
    ),
    (
        "ec2-imdsv2-check",
        "EC2_IMDSV2_CHECK",
        &["AWS::EC2::Instance"],
        "Checks that EC2 instances use Instance Metadata Service Version 2.",
    ),
    (
        "rds-storage-encrypted",
        "RDS_STORAGE_ENCRYPTED",
        &["AWS::RDS::DBInstance"],
        "Checks that storage encryption is enabled for RDS DB instances.",
    ),
    (
        "required-tags",
        "REQUIRED_TAGS",
        &[
            "AWS::EC2::Instance",
            "AWS::S3::Bucket",
            "AWS::RDS::DBInstance",
        ],
        "Checks that resources carry the Owner and CostCenter tags.",
    ),
    (
        "iam-policy-no-statements-with-admin-access",
        "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        &["AWS::IAM::Role"],
        "Checks that IAM roles do not allow full administrative privileges.",
    ),
];

/// The conformance pack every account has in every region, over all the rules.
pub const CONFORMANCE_PACK: &str = "operational-best-practices";

/// Generates the resources of `account` in `region`.
pub fn resources(world: &World, account: &Account, region: &str) -> Vec<Resource> {
    let mut rng = world.rng(&[&account.id, region, "resources"]);
    let mut resources = Vec::new();
    let zones = ["a", "b", "c"];
    let vpc_id = format!("vpc-0{}", rng.hex(16));
    let second_octet = rng.below(200) + 16;
    let cidr = format!("10.{second_octet}.0.0/16");
    let subnets: Vec<String> = zones
        .iter()
        .map(|_| format!("subnet-0{}", rng.hex(16)))
        .collect();
    let base_tags = |rng: &mut Rng, name: &str, application: &str| -> Vec<types_pb::Tag> {
        let mut tags = vec![
            tag("Name", name),
            tag("Environment", account.stage),
            tag("Application", application),
        ];
        // Some resources miss the tags the required-tags rule asks for.
        if !rng.chance(0.2) {
            tags.push(tag("Owner", &format!("{}@example.com", account.team)));
            tags.push(tag("CostCenter", &format!("CC-{}", 1000 + rng.below(9000))));
        }
        tags
    };
    let has_required = |tags: &[types_pb::Tag]| {
        tags.iter().any(|tag| tag.key == "Owner") && tags.iter().any(|tag| tag.key == "CostCenter")
    };
    let required_tags = |tags: &[types_pb::Tag]| {
        if has_required(tags) {
            (
                "required-tags",
                collector_pb::ComplianceType::Compliant,
                "The resource has the required tags.".to_string(),
            )
        } else {
            (
                "required-tags",
                collector_pb::ComplianceType::NonCompliant,
                "The resource is missing the Owner or CostCenter tag.".to_string(),
            )
        }
    };

    // The VPC.
    let vpc_name = format!("{}-{}", account.name, region);
    resources.push(Resource {
        item: item(
            world,
            "AWS::EC2::VPC",
            &vpc_id,
            &vpc_name,
            &format!("arn:aws:ec2:{region}:{}:vpc/{vpc_id}", account.id),
            "",
            400 * 86_400,
            json!({
                "cidrBlock": cidr,
                "dhcpOptionsId": format!("dopt-0{}", rng.hex(16)),
                "state": "available",
                "vpcId": vpc_id,
                "ownerId": account.id,
                "instanceTenancy": "default",
                "isDefault": false,
                "cidrBlockAssociationSet": [{"associationId": format!("vpc-cidr-assoc-0{}", rng.hex(16)), "cidrBlock": cidr, "cidrBlockState": {"state": "associated"}}],
            }),
            vec![tag("Name", &vpc_name), tag("Environment", account.stage)],
            Vec::new(),
        ),
        asff_type: "AwsEc2Vpc",
        details: json!({"AwsEc2Vpc": {"State": "available", "CidrBlockAssociationSet": [{"CidrBlock": cidr}]}}),
        evaluations: Vec::new(),
        failed_controls: if rng.chance(0.4) { vec!["EC2.6"] } else { Vec::new() },
        passed_controls: Vec::new(),
    });

    // Security groups.
    let mut security_groups = Vec::new();
    for index in 0..world.scaled(3.0, 1) {
        let group_id = format!("sg-0{}", rng.hex(16));
        let purpose = ["web", "app", "bastion", "db", "batch", "internal-lb"][index % 6];
        let group_name = format!("{}-{purpose}", account.team);
        let ssh_open = purpose == "bastion" && rng.chance(0.6) || rng.chance(0.08);
        let mut permissions = vec![
            json!({"fromPort": 443, "toPort": 443, "ipProtocol": "tcp", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}),
        ];
        if ssh_open {
            permissions.push(json!({"fromPort": 22, "toPort": 22, "ipProtocol": "tcp", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}));
        } else {
            permissions.push(json!({"fromPort": 22, "toPort": 22, "ipProtocol": "tcp", "ipv4Ranges": [{"cidrIp": cidr}], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}));
        }
        let configuration = json!({
            "description": format!("{purpose} tier of {}", account.team),
            "groupName": group_name,
            "ipPermissions": permissions,
            "ownerId": account.id,
            "groupId": group_id,
            "ipPermissionsEgress": [{"ipProtocol": "-1", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": [], "prefixListIds": [], "userIdGroupPairs": []}],
            "vpcId": vpc_id,
        });
        let (compliance, annotation) = if ssh_open {
            (
                collector_pb::ComplianceType::NonCompliant,
                "Port 22 is open to 0.0.0.0/0.",
            )
        } else {
            (
                collector_pb::ComplianceType::Compliant,
                "SSH is restricted to the VPC.",
            )
        };
        security_groups.push(group_id.clone());
        resources.push(Resource {
            item: item(
                world,
                "AWS::EC2::SecurityGroup",
                &group_id,
                &group_name,
                &format!("arn:aws:ec2:{region}:{}:security-group/{group_id}", account.id),
                "",
                300 * 86_400,
                configuration,
                vec![tag("Name", &group_name), tag("Environment", account.stage)],
                vec![relationship("AWS::EC2::VPC", &vpc_id, "Is contained in Vpc")],
            ),
            asff_type: "AwsEc2SecurityGroup",
            details: json!({"AwsEc2SecurityGroup": {"GroupName": group_name, "GroupId": group_id, "OwnerId": account.id, "VpcId": vpc_id}}),
            evaluations: vec![("restricted-ssh", compliance, annotation.to_string())],
            failed_controls: if ssh_open { vec!["EC2.19"] } else { Vec::new() },
            passed_controls: if ssh_open { Vec::new() } else { vec!["EC2.19"] },
        });
    }

    // EC2 instances.
    let instance_count = if account.role == Role::Workload {
        world.scaled(if account.stage == "prod" { 9.0 } else { 5.0 }, 1)
    } else {
        world.scaled(2.0, 1)
    };
    let instance_types = [
        "t3.micro",
        "t3.medium",
        "m5.large",
        "m6i.xlarge",
        "c6g.2xlarge",
        "r6i.large",
    ];
    let images = [
        "ami-0c02fb55956c7d316",
        "ami-0b5eea76982371e91",
        "ami-06ca3ca175f37dd66",
        "ami-0fe472d8a85bc7b0e",
    ];
    for index in 0..instance_count {
        let instance_id = format!("i-0{}", rng.hex(16));
        let zone = index % zones.len();
        let instance_type = *rng.pick(&instance_types);
        let image_id = *rng.pick(&images);
        let private_ip = format!("10.{second_octet}.{}.{}", zone * 16 + 1, rng.below(250) + 4);
        let public = rng.chance(0.15);
        let public_ip = public.then(|| {
            format!(
                "54.{}.{}.{}",
                rng.below(255),
                rng.below(255),
                rng.below(255)
            )
        });
        let imdsv2 = rng.chance(0.7);
        let state = if rng.chance(0.9) {
            ("running", 16)
        } else {
            ("stopped", 80)
        };
        let group = rng.pick(&security_groups).clone();
        let application = format!(
            "{}-{}",
            account.team,
            ["api", "worker", "web", "cron"][index % 4]
        );
        let name = format!("{application}-{index:02}");
        let tags = base_tags(&mut rng, &name, &application);
        let launched = world.iso(rng.below(90 * 86_400) as i64 + 3_600);
        let profile = format!(
            "arn:aws:iam::{}:instance-profile/{}-instance",
            account.id, account.team
        );
        let configuration = json!({
            "amiLaunchIndex": 0,
            "architecture": if instance_type.starts_with("c6g") { "arm64" } else { "x86_64" },
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"attachTime": launched, "deleteOnTermination": true, "status": "attached", "volumeId": format!("vol-0{}", rng.hex(16))}}],
            "ebsOptimized": true,
            "iamInstanceProfile": {"arn": profile, "id": format!("AIPA{}", rng.hex(16).to_uppercase())},
            "imageId": image_id,
            "instanceId": instance_id,
            "instanceType": instance_type,
            "keyName": format!("{}-{}", account.team, account.stage),
            "launchTime": launched,
            "metadataOptions": {"httpEndpoint": "enabled", "httpPutResponseHopLimit": if imdsv2 { 1 } else { 2 }, "httpTokens": if imdsv2 { "required" } else { "optional" }, "state": "applied"},
            "monitoring": {"state": if account.stage == "prod" { "enabled" } else { "disabled" }},
            "networkInterfaces": [{"networkInterfaceId": format!("eni-0{}", rng.hex(16)), "privateIpAddress": private_ip, "subnetId": subnets[zone], "vpcId": vpc_id}],
            "placement": {"availabilityZone": format!("{region}{}", zones[zone]), "groupName": "", "tenancy": "default"},
            "privateDnsName": format!("ip-{}.{region}.compute.internal", private_ip.replace('.', "-")),
            "privateIpAddress": private_ip,
            "publicIpAddress": public_ip,
            "securityGroups": [{"groupId": group, "groupName": format!("{}-sg", account.team)}],
            "state": {"code": state.1, "name": state.0},
            "subnetId": subnets[zone],
            "vpcId": vpc_id,
            "tags": tags.iter().map(|tag| json!({"key": tag.key, "value": tag.value})).collect::<Vec<_>>(),
        });
        let mut evaluations = vec![
            if public {
                (
                    "ec2-instance-no-public-ip",
                    collector_pb::ComplianceType::NonCompliant,
                    "The instance has a public IPv4 address.".to_string(),
                )
            } else {
                (
                    "ec2-instance-no-public-ip",
                    collector_pb::ComplianceType::Compliant,
                    "No public IPv4 address.".to_string(),
                )
            },
            if imdsv2 {
                (
                    "ec2-imdsv2-check",
                    collector_pb::ComplianceType::Compliant,
                    "HttpTokens is required.".to_string(),
                )
            } else {
                (
                    "ec2-imdsv2-check",
                    collector_pb::ComplianceType::NonCompliant,
                    "HttpTokens is optional: IMDSv1 is allowed.".to_string(),
                )
            },
        ];
        evaluations.push(required_tags(&tags));
        let mut ipv4 = vec![private_ip.clone()];
        ipv4.extend(public_ip.clone());
        resources.push(Resource {
            item: item(
                world,
                "AWS::EC2::Instance",
                &instance_id,
                &name,
                &format!("arn:aws:ec2:{region}:{}:instance/{instance_id}", account.id),
                &format!("{region}{}", zones[zone]),
                rng.below(90 * 86_400) as i64 + 3_600,
                configuration,
                tags,
                vec![
                    relationship("AWS::EC2::SecurityGroup", &group, "Is associated with SecurityGroup"),
                    relationship("AWS::EC2::Subnet", &subnets[zone], "Is contained in Subnet"),
                    relationship("AWS::EC2::VPC", &vpc_id, "Is contained in Vpc"),
                ],
            ),
            asff_type: "AwsEc2Instance",
            details: json!({"AwsEc2Instance": {
                "Type": instance_type, "ImageId": image_id, "IpV4Addresses": ipv4,
                "KeyName": format!("{}-{}", account.team, account.stage),
                "IamInstanceProfileArn": profile, "VpcId": vpc_id, "SubnetId": subnets[zone],
                "LaunchedAt": launched,
                "MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": if imdsv2 { "required" } else { "optional" }},
                "NetworkInterfaces": [{"NetworkInterfaceId": format!("eni-0{}", rng.hex(16))}],
            }}),
            evaluations,
            failed_controls: if imdsv2 { Vec::new() } else { vec!["EC2.8"] },
            passed_controls: if imdsv2 { vec!["EC2.8"] } else { Vec::new() },
        });
    }

    // S3 buckets.
    let purposes = [
        "logs",
        "artifacts",
        "data",
        "backups",
        "static-assets",
        "exports",
    ];
    for index in 0..world.scaled(4.0, 1) {
        let name = format!(
            "{}-{}-{}-{}",
            account.name,
            purposes[index % purposes.len()],
            region,
            rng.hex(6)
        );
        let versioning = rng.chance(0.65);
        let encrypted = rng.chance(0.85);
        let blocks_public = rng.chance(0.8);
        let tags = base_tags(&mut rng, &name, &format!("{}-storage", account.team));
        let created = world.iso(rng.below(700 * 86_400) as i64 + 86_400);
        let owner_id = rng.hex(64);
        let configuration = json!({"name": name, "owner": {"displayName": format!("aws+{}", account.name), "id": owner_id}, "creationDate": created});
        let mut supplementary = HashMap::new();
        supplementary.insert(
            "BucketVersioningConfiguration".to_string(),
            json!({"status": if versioning { "Enabled" } else { "Off" }, "isMfaDeleteEnabled": null}).to_string(),
        );
        if encrypted {
            supplementary.insert(
                "ServerSideEncryptionConfiguration".to_string(),
                json!({"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyID": format!("arn:aws:kms:{region}:{}:key/{}", account.id, rng.uuid())}, "bucketKeyEnabled": true}]}).to_string(),
            );
        }
        supplementary.insert(
            "PublicAccessBlockConfiguration".to_string(),
            json!({"blockPublicAcls": blocks_public, "ignorePublicAcls": blocks_public, "blockPublicPolicy": blocks_public, "restrictPublicBuckets": blocks_public}).to_string(),
        );
        supplementary.insert(
            "BucketLoggingConfiguration".to_string(),
            json!({"destinationBucketName": format!("log-archive-access-logs-{region}"), "logFilePrefix": format!("{name}/")}).to_string(),
        );
        let mut evaluations = vec![
            (
                "s3-bucket-versioning-enabled",
                if versioning {
                    collector_pb::ComplianceType::Compliant
                } else {
                    collector_pb::ComplianceType::NonCompliant
                },
                if versioning {
                    "Versioning is enabled."
                } else {
                    "Versioning is not enabled."
                }
                .to_string(),
            ),
            (
                "s3-bucket-server-side-encryption-enabled",
                if encrypted {
                    collector_pb::ComplianceType::Compliant
                } else {
                    collector_pb::ComplianceType::NonCompliant
                },
                if encrypted {
                    "Default encryption uses aws:kms."
                } else {
                    "The bucket has no default encryption."
                }
                .to_string(),
            ),
        ];
        evaluations.push(required_tags(&tags));
        let mut s3_item = item(
            world,
            "AWS::S3::Bucket",
            &name,
            &name,
            &format!("arn:aws:s3:::{name}"),
            "Regional",
            rng.below(700 * 86_400) as i64 + 86_400,
            configuration,
            tags,
            Vec::new(),
        );
        s3_item.supplementary_configuration = supplementary;
        resources.push(Resource {
            item: s3_item,
            asff_type: "AwsS3Bucket",
            details: json!({"AwsS3Bucket": {
                "OwnerId": owner_id, "OwnerName": format!("aws+{}", account.name), "CreatedAt": created,
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": blocks_public, "BlockPublicPolicy": blocks_public, "IgnorePublicAcls": blocks_public, "RestrictPublicBuckets": blocks_public},
                "BucketVersioningConfiguration": {"Status": if versioning { "Enabled" } else { "Off" }},
            }}),
            evaluations,
            failed_controls: [(!blocks_public).then_some("S3.8"), (!blocks_public).then_some("S3.1"), rng.chance(0.3).then_some("S3.5")].into_iter().flatten().collect(),
            passed_controls: [blocks_public.then_some("S3.8"), blocks_public.then_some("S3.1")].into_iter().flatten().collect(),
        });
    }

    // RDS instances (workloads only).
    if account.role == Role::Workload {
        for index in 0..world.scaled(if account.stage == "prod" { 2.0 } else { 1.0 }, 0) {
            let identifier = format!(
                "{}-{}-{index}",
                account.team,
                ["orders", "ledger", "sessions"][index % 3]
            );
            let encrypted = rng.chance(0.8);
            let public = rng.chance(0.07);
            let engine = *rng.pick(&[
                ("postgres", "15.4"),
                ("mysql", "8.0.35"),
                ("aurora-postgresql", "15.4"),
            ]);
            let tags = base_tags(&mut rng, &identifier, &format!("{}-db", account.team));
            let group = rng.pick(&security_groups).clone();
            let configuration = json!({
                "dBInstanceIdentifier": identifier,
                "dBInstanceClass": *rng.pick(&["db.t4g.medium", "db.r6g.large", "db.m6g.xlarge"]),
                "engine": engine.0,
                "engineVersion": engine.1,
                "dBInstanceStatus": "available",
                "masterUsername": "app",
                "endpoint": {"address": format!("{identifier}.c{}.{region}.rds.amazonaws.com", rng.hex(10)), "port": if engine.0 == "mysql" { 3306 } else { 5432 }},
                "allocatedStorage": 20 * (1 + rng.below(25)),
                "backupRetentionPeriod": if account.stage == "prod" { 14 } else { 1 },
                "multiAZ": account.stage == "prod",
                "storageEncrypted": encrypted,
                "kmsKeyId": if encrypted { Value::String(format!("arn:aws:kms:{region}:{}:key/{}", account.id, rng.uuid())) } else { Value::Null },
                "publiclyAccessible": public,
                "dBSubnetGroup": {"dBSubnetGroupName": format!("{}-db", account.team), "vpcId": vpc_id},
                "vpcSecurityGroups": [{"vpcSecurityGroupId": group, "status": "active"}],
                "deletionProtection": account.stage == "prod",
                "storageType": "gp3",
            });
            let mut evaluations = vec![(
                "rds-storage-encrypted",
                if encrypted {
                    collector_pb::ComplianceType::Compliant
                } else {
                    collector_pb::ComplianceType::NonCompliant
                },
                if encrypted {
                    "Storage is encrypted."
                } else {
                    "Storage is not encrypted."
                }
                .to_string(),
            )];
            evaluations.push(required_tags(&tags));
            resources.push(Resource {
                item: item(
                    world,
                    "AWS::RDS::DBInstance",
                    &identifier,
                    &identifier,
                    &format!("arn:aws:rds:{region}:{}:db:{identifier}", account.id),
                    &format!("{region}a"),
                    rng.below(500 * 86_400) as i64 + 86_400,
                    configuration,
                    tags,
                    vec![relationship("AWS::EC2::SecurityGroup", &group, "Is associated with SecurityGroup")],
                ),
                asff_type: "AwsRdsDbInstance",
                details: json!({"AwsRdsDbInstance": {"DBInstanceIdentifier": identifier, "Engine": engine.0, "EngineVersion": engine.1, "StorageEncrypted": encrypted, "PubliclyAccessible": public}}),
                evaluations,
                failed_controls: [(!encrypted).then_some("RDS.3"), public.then_some("RDS.2")].into_iter().flatten().collect(),
                passed_controls: [encrypted.then_some("RDS.3"), (!public).then_some("RDS.2")].into_iter().flatten().collect(),
            });
        }
    }

    // IAM roles: global resources, recorded in the home region only.
    if region == world.home() {
        let roles = [
            (
                "OrganizationAccountAccessRole",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ),
            ("ReadOnlyAuditor", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
            ("deploy-pipeline", "arn:aws:iam::aws:policy/PowerUserAccess"),
            (
                "app-instance-role",
                "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            ),
            (
                "break-glass-admin",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ),
            (
                "data-pipeline",
                "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            ),
        ];
        for index in 0..world.scaled(5.0, 1) {
            let (role_name, policy_arn) = roles[index % roles.len()];
            let role_name = if index < roles.len() {
                role_name.to_string()
            } else {
                format!("{role_name}-{index}")
            };
            let role_id = format!("AROA{}", rng.hex(17).to_uppercase());
            let arn = format!("arn:aws:iam::{}:role/{role_name}", account.id);
            let admin = policy_arn.ends_with("/AdministratorAccess");
            let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", world.management().id)}, "Action": "sts:AssumeRole"}]});
            let configuration = json!({
                "path": "/",
                "roleName": role_name,
                "roleId": role_id,
                "arn": arn,
                "createDate": world.iso(rng.below(900 * 86_400) as i64 + 86_400),
                "assumeRolePolicyDocument": trust.to_string(),
                "instanceProfileList": [],
                "rolePolicyList": [],
                "attachedManagedPolicies": [{"policyName": policy_arn.rsplit('/').next().unwrap_or_default(), "policyArn": policy_arn}],
                "permissionsBoundary": null,
                "tags": [],
                "roleLastUsed": {"lastUsedDate": world.iso(rng.below(30 * 86_400) as i64), "region": region},
            });
            resources.push(Resource {
                item: item(
                    world,
                    "AWS::IAM::Role",
                    &role_id,
                    &role_name,
                    &arn,
                    "Not Applicable",
                    rng.below(900 * 86_400) as i64 + 86_400,
                    configuration,
                    Vec::new(),
                    Vec::new(),
                ),
                asff_type: "AwsIamRole",
                details: json!({"AwsIamRole": {"RoleName": role_name, "RoleId": role_id, "Path": "/", "AssumeRolePolicyDocument": trust.to_string(), "AttachedManagedPolicies": [{"PolicyArn": policy_arn}]}}),
                evaluations: vec![(
                    "iam-policy-no-statements-with-admin-access",
                    if admin { collector_pb::ComplianceType::NonCompliant } else { collector_pb::ComplianceType::Compliant },
                    if admin { "The role has AdministratorAccess attached." } else { "No statement grants full administrative access." }.to_string(),
                )],
                failed_controls: if admin { vec!["IAM.1"] } else { Vec::new() },
                passed_controls: if admin { Vec::new() } else { vec!["IAM.1"] },
            });
        }
    }
    resources
}

#[allow(clippy::too_many_arguments)] // One call per resource kind reads better than a builder.
fn item(
    world: &World,
    resource_type: &str,
    resource_id: &str,
    name: &str,
    arn: &str,
    availability_zone: &str,
    created_seconds_ago: i64,
    configuration: Value,
    tags: Vec<types_pb::Tag>,
    relationships: Vec<collector_pb::Relationship>,
) -> collector_pb::ConfigurationItemInput {
    collector_pb::ConfigurationItemInput {
        resource_type: resource_type.to_string(),
        resource_id: resource_id.to_string(),
        resource_name: name.to_string(),
        arn: arn.to_string(),
        availability_zone: availability_zone.to_string(),
        resource_creation_time: Some(world.time(created_seconds_ago)),
        configuration_item_status: collector_pb::ConfigurationItemStatus::Ok as i32,
        configuration_item_capture_time: Some(world.time(1_800)),
        configuration: configuration.to_string(),
        supplementary_configuration: HashMap::new(),
        tags,
        relationships,
    }
}

fn tag(key: &str, value: &str) -> types_pb::Tag {
    types_pb::Tag {
        key: key.to_string(),
        value: value.to_string(),
    }
}

fn relationship(resource_type: &str, resource_id: &str, name: &str) -> collector_pb::Relationship {
    collector_pb::Relationship {
        resource_type: resource_type.to_string(),
        resource_id: resource_id.to_string(),
        resource_name: String::new(),
        relationship_name: name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(seed: u64) -> World {
        World::new(
            seed,
            1.0,
            vec!["us-east-1".into(), "eu-west-1".into()],
            1_715_000_000,
        )
    }

    #[test]
    fn the_same_seed_gives_the_same_world() {
        let (first, second) = (world(7), world(7));
        let ids = |world: &World| {
            world
                .accounts
                .iter()
                .map(|a| a.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&first), ids(&second));
        assert_eq!(first.accounts.len(), 20);
        let account = &first.accounts[3];
        let items = |world: &World| {
            resources(world, account, "eu-west-1")
                .into_iter()
                .map(|resource| resource.item)
                .collect::<Vec<_>>()
        };
        assert_eq!(items(&first), items(&second));
        assert_ne!(ids(&first), ids(&world(8)));
    }

    #[test]
    fn iam_roles_are_recorded_in_the_home_region_only() {
        let world = world(1);
        let account = world.security().clone();
        let types = |region: &str| {
            resources(&world, &account, region)
                .into_iter()
                .map(|resource| resource.item.resource_type)
                .collect::<Vec<_>>()
        };
        assert!(
            types("us-east-1")
                .iter()
                .any(|kind| kind == "AWS::IAM::Role")
        );
        assert!(
            !types("eu-west-1")
                .iter()
                .any(|kind| kind == "AWS::IAM::Role")
        );
        for resource in resources(&world, &account, "us-east-1") {
            let configuration: Value =
                serde_json::from_str(&resource.item.configuration).expect("configuration is JSON");
            assert!(configuration.is_object());
        }
    }
}
