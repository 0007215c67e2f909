//! What an EC2 deployment is given besides the units: user-data that fits EC2
//! for every `host { os }`, the CloudWatch agent config's semantics, and the
//! IAM policy, computed by the library (no root, nothing run).

use std::io::Read;

use serde_json::{Value, json};

use crate::support::repo_file;

/// EC2's limit on user-data, in bytes.
const LIMIT: usize = 16_384;

/// About the largest deployment one host bootstraps: four services, three of
/// them built, a private repository, an env-file from SSM, CloudWatch with
/// metrics, a monitor with rollback and notifications.
fn four_services(os: &str) -> String {
    format!(
        r#"version 1
project "shop" {{
    root "/opt/shop"
    env-file ".env"
}}
service "api" {{
    build "Dockerfile" context="." target="production"
    requires "requirements.txt"
    timeout "15m"
}}
service "worker" {{
    build "Dockerfile.worker" context="."
    timeout "15m"
}}
service "scheduler" {{
    build "Dockerfile.scheduler" context="."
    timeout "10m"
}}
service "redis" {{ image "redis:7.4-alpine"; }}
build {{
    log-dir "/var/log/shop"
    min-free disk="5G" memory="1G"
    ignored ".env"
}}
health {{
    running "api" "worker" "scheduler" "redis"
    http "http://localhost:8000/health" status=200
    on-failure "rollback"
    every "5m"
}}
notify {{
    sns "arn:aws:sns:eu-west-1:123456789012:shop-deploys"
    webhook "ssm:/shop/slack-webhook"
}}
host {{
    os "{os}"
    repo "https://github.com/acme/shop" branch="main" token="ssm:/shop/github-token"
    env-file from="ssm:/shop/prod/env"
}}
cloudwatch {{
    log-group "/shop/prod" retention-days=30
    file "/opt/shop/deploy.log"
    metrics {{ memory; disk "/"; }}
}}
"#
    )
}

/// The artifacts of a spec that must compile, by file name.
fn render(spec: &str) -> Vec<(String, Vec<u8>)> {
    let compiled = deployc::compile("deploy.kdl", spec.as_bytes());
    let errors: Vec<String> = compiled
        .checked
        .diagnostics
        .iter()
        .map(|d| deployc::diagnostic::render_human(d, &compiled.checked.source, false))
        .collect();
    let artifacts = compiled
        .artifacts
        .unwrap_or_else(|| panic!("the spec does not compile:\n{}", errors.join("\n")));
    artifacts.into_iter().map(|a| (a.file, a.bytes)).collect()
}

fn file<'a>(artifacts: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    artifacts
        .iter()
        .find(|(f, _)| f == name)
        .map(|(_, b)| b.as_slice())
}

fn text(artifacts: &[(String, Vec<u8>)], name: &str) -> String {
    let bytes = file(artifacts, name).unwrap_or_else(|| panic!("no {name}"));
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// The instance role's policy (`deployc iam-policy`) of a spec that compiles.
fn policy_of(spec: &str) -> Option<Value> {
    let compiled = deployc::compile("deploy.kdl", spec.as_bytes());
    let plan = compiled.plan.as_ref().expect("the spec compiles");
    deployc::render::iam_policy(plan).map(|text| serde_json::from_str(&text).expect("JSON"))
}

fn json_of(artifacts: &[(String, Vec<u8>)], name: &str) -> Value {
    serde_json::from_str(&text(artifacts, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn four_services_with_everything_fit_ec2_with_the_defaults_on_every_os() {
    for (os, own, foreign) in [
        ("al2023", "dnf install -y", "apt-get"),
        ("ubuntu", "apt-get -o DPkg::Lock::Timeout=600", "dnf "),
        ("debian", "apt-get -o DPkg::Lock::Timeout=600", "dnf "),
    ] {
        let artifacts = render(&four_services(os));
        let gz = file(&artifacts, "user-data.sh.gz").expect("gzip is the default");
        assert!(gz.len() <= LIMIT, "{os}: {} bytes", gz.len());
        eprintln!("four services on {os}: user-data.sh.gz is {} bytes", gz.len());
        let mut script = String::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut script)
            .expect("gzip");
        assert_eq!(
            script,
            text(&artifacts, "user-data.sh"),
            "{os}: reviewers read what EC2 runs"
        );
        assert!(script.contains(own), "{os}: its own install steps");
        assert!(!script.contains(foreign), "{os}: only its own install steps");
        let downloads = script.contains("github.com/docker/compose/releases/download/v2.40.0/");
        assert_eq!(
            downloads,
            os != "ubuntu",
            "{os}: compose is downloaded where it is not packaged"
        );
    }
}

#[test]
fn every_example_with_a_host_fits_ec2() {
    let mut hosts = 0;
    for entry in std::fs::read_dir(repo_file("examples")).unwrap() {
        let path = entry.unwrap().path();
        let artifacts = render(&std::fs::read_to_string(&path).unwrap());
        if let Some(gz) = file(&artifacts, "user-data.sh.gz") {
            hosts += 1;
            assert!(gz.len() <= LIMIT, "{}: {} bytes", path.display(), gz.len());
        }
    }
    assert!(hosts > 0, "an example has a host");
}

#[test]
fn the_agent_ships_every_build_log_the_journal_and_the_fallback_folder() {
    let artifacts = render(&four_services("al2023"));
    let config = json_of(&artifacts, "cloudwatch-agent.json");
    let files = config["logs"]["logs_collected"]["files"]["collect_list"]
        .as_array()
        .expect("a collect_list");
    let path = |f: &Value| f["file_path"].as_str().unwrap().to_owned();
    let paths: Vec<String> = files.iter().map(path).collect();
    assert_eq!(
        paths,
        [
            "/var/log/user-data.log",
            "/var/log/deployc/shop/journal.log",
            "/var/log/shop/build-*.log",
            "/var/lib/deployc/shop/logs/build-*.log",
            "/opt/shop/deploy.log",
        ],
        "the bootstrap, the units' journal, builds in the log folder and its fallback, the spec's file"
    );
    for f in files {
        // A glob without it follows only the newest file: one build's log.
        let many = path(f).contains('*');
        assert_eq!(f.get("publish_multi_logs") == Some(&json!(true)), many, "{f}");
        assert_eq!(f.get("publish_multi_logs").is_some(), many, "{f}");
        // The agent's default is true, and its schema has no such key.
        assert!(f.get("from_beginning").is_none(), "{f}");
        assert_eq!(f["log_group_name"], "/shop/prod");
        assert_eq!(f["retention_in_days"], 30);
    }
    let unit = text(&artifacts, "shop-journal.service");
    assert!(
        unit.contains(
            " /var/log/deployc/shop/journal.log /var/log/deployc/shop/journal.cursor --unit=shop.service --unit=shop-deploy.service --unit=shop-monitor.service --unit=shop-recover.service \"--unit=shop-notify@*.service\"\n"
        ),
        "the follower writes the shipped file, from every service unit and each notify instance:\n{unit}"
    );
    assert!(unit.contains("\nLogsDirectory=deployc/shop\n") && unit.contains("\nDynamicUser=yes\n"));
    let script = text(&artifacts, "user-data.sh");
    assert!(script.contains("-a append-config -m ec2 -s -c \"file:$CLOUDWATCH_CONFIG\""));
    assert!(
        !script.contains("fetch-config"),
        "fetch-config replaces the agent's other configs"
    );
    let follower = script
        .find("systemctl enable --now shop-journal.service")
        .expect("started");
    let unit_start = script
        .find("if ! systemctl enable --now \"$UNIT\"")
        .expect("the unit started");
    assert!(
        follower < unit_start,
        "a failing first start reaches CloudWatch too"
    );
}

#[test]
fn the_iam_policy_allows_exactly_what_the_spec_uses() {
    let spec = four_services("ubuntu").replace(
        "host {",
        "registry \"123456789012.dkr.ecr.eu-west-1.amazonaws.com\" ecr=#true\n\
         registry \"ghcr.io\" user=\"bot\" password=\"ssm:/shop/ghcr-token\"\nhost {",
    );
    let artifacts = render(&spec);
    let policy = policy_of(&spec).expect("the spec calls AWS");
    let namespace = json_of(&artifacts, "cloudwatch-agent.json")["metrics"]["namespace"].clone();
    assert_eq!(
        policy,
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadParameters",
                    "Effect": "Allow",
                    "Action": ["ssm:GetParameter"],
                    "Resource": [
                        "arn:aws:ssm:*:*:parameter/shop/ghcr-token",
                        "arn:aws:ssm:*:*:parameter/shop/github-token",
                        "arn:aws:ssm:*:*:parameter/shop/prod/env",
                        "arn:aws:ssm:*:*:parameter/shop/slack-webhook"
                    ]
                },
                {
                    "Sid": "DecryptParameters",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": ["*"],
                    "Condition": { "StringLike": { "kms:ViaService": "ssm.*.amazonaws.com" } }
                },
                {
                    "Sid": "ShipLogs",
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                        "logs:PutRetentionPolicy"
                    ],
                    "Resource": [
                        "arn:aws:logs:*:*:log-group:/shop/prod",
                        "arn:aws:logs:*:*:log-group:/shop/prod:*"
                    ]
                },
                {
                    "Sid": "PutMetrics",
                    "Effect": "Allow",
                    "Action": ["cloudwatch:PutMetricData"],
                    "Resource": ["*"],
                    "Condition": { "StringEquals": { "cloudwatch:namespace": namespace } }
                },
                {
                    "Sid": "Notify",
                    "Effect": "Allow",
                    "Action": ["sns:Publish"],
                    "Resource": ["arn:aws:sns:eu-west-1:123456789012:shop-deploys"]
                },
                {
                    "Sid": "LogInToEcr",
                    "Effect": "Allow",
                    "Action": ["ecr:GetAuthorizationToken"],
                    "Resource": ["*"]
                },
                {
                    "Sid": "PullFromEcr",
                    "Effect": "Allow",
                    "Action": [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage"
                    ],
                    "Resource": ["arn:aws:ecr:eu-west-1:123456789012:repository/*"]
                }
            ]
        })
    );
}

#[test]
fn a_policy_is_written_only_for_what_calls_aws() {
    let minimal = std::fs::read_to_string(repo_file("examples/minimal.kdl")).unwrap();
    assert!(policy_of(&minimal).is_none(), "no AWS call, no policy");

    let public_repo = "version 1\nproject \"shop\"\nservice \"web\" { image \"nginx:1.27\"; }\n\
                       host { repo \"https://github.com/acme/shop\"; }\n";
    let artifacts = render(public_repo);
    assert!(file(&artifacts, "user-data.sh").is_some());
    assert!(
        policy_of(public_repo).is_none(),
        "a public clone calls no AWS API"
    );

    let logs_only = "version 1\nproject \"shop\"\nservice \"web\" { image \"nginx:1.27\"; }\n\
                     cloudwatch { log-group \"/shop\"; }\n";
    let policy = policy_of(logs_only).expect("shipping logs calls AWS");
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{policy}");
    assert_eq!(
        statements[0]["Action"],
        json!([
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams"
        ]),
        "no retention, no PutRetentionPolicy"
    );
}

/// The policy is for the infrastructure code, not the host: the output
/// folder holds only what the host runs or reads, which every validator of
/// such a folder knows how to check.
#[test]
fn the_policy_is_not_an_artifact_of_the_output_folder() {
    let spec = four_services("al2023");
    assert!(policy_of(&spec).is_some());
    let artifacts = render(&spec);
    let names: Vec<&str> = artifacts.iter().map(|(f, _)| f.as_str()).collect();
    let host_files = |name: &&str| {
        name.ends_with(".service")
            || name.ends_with(".timer")
            || name.ends_with(".sh")
            || name.ends_with(".sh.gz")
            || *name == "cloudwatch-agent.json"
    };
    assert!(names.iter().all(host_files), "{names:?}");
}

/// Each example's policy, as `deployc iam-policy` prints it: reviewed here
/// like the golden artifacts (`cargo insta review` after an intended change).
#[test]
fn every_example_s_policy() {
    for spec in crate::support::files_in("examples", "kdl") {
        let bytes = std::fs::read(repo_file(&spec)).unwrap();
        let compiled = deployc::compile(&spec, &bytes);
        let plan = compiled.plan.as_ref().expect("the example compiles");
        let name = spec.trim_start_matches("examples/").trim_end_matches(".kdl");
        let policy = deployc::render::iam_policy(plan).unwrap_or_else(|| "(none: no AWS call)\n".into());
        insta::assert_snapshot!(format!("iam_policy_{name}"), policy);
    }
}
