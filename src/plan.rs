//! The resolved plan: every path, name, command line and limit decided once,
//! from a valid spec. Renderers only format it; none of them derives a path.

use serde::Serialize;

use crate::budget;
use crate::model::Spec;
use crate::validate::COMPOSE_PROJECT_VAR;
use crate::values::{AbsPath, CacheMode, Engine, HealthFailure, HostOs, Order, Progress, RestartPolicy};

/// Where deployc's own files go on the host.
const UNIT_DIR: &str = "/etc/systemd/system";
const SCRIPT_DIR: &str = "/usr/local/libexec/deployc";
const STATE_ROOT: &str = "deployc";
const CLOUDWATCH_ETC: &str = "/opt/aws/amazon-cloudwatch-agent/etc";
const CLOUDWATCH_CTL: &str = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl";
/// A start that keeps failing quickly is tried this many times before systemd gives up.
const START_LIMIT_BURST: u64 = 3;
/// Exit statuses of the build script that no retry can fix: usage (1) and preflight (4).
const NOT_RETRIED: [u8; 2] = [1, 4];

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// The spec's file name, for headers.
    pub spec_file: String,
    pub project: String,
    pub description: String,
    pub docs: Option<String>,
    pub files: Files,
    pub paths: Paths,
    pub user: String,
    pub group: String,
    pub is_root: bool,
    pub engine: EnginePlan,
    pub compose: ComposePlan,
    /// The unit's and the build script's environment, in order.
    pub env: Vec<EnvVar>,
    pub builds: Vec<BuildPlan>,
    /// Built service names, in build order.
    pub build_names: Vec<String>,
    /// External images, in spec order.
    pub pulls: Vec<String>,
    pub parallel: Option<u32>,
    pub log_dir: String,
    pub log_fallback: String,
    pub min_free_disk_kib: Option<u64>,
    pub min_free_memory_kib: Option<u64>,
    pub prune_below_kib: Option<u64>,
    /// Tagged images and build logs kept per built service.
    pub keep: u32,
    /// Patterns each build context's `.dockerignore` must list.
    pub ignored: Vec<String>,
    pub cache: CachePlan,
    pub links: Vec<LinkPlan>,
    pub timeouts: TimeoutPlan,
    pub restart: RestartPlan,
    pub health: HealthPlan,
    pub hardening: Hardening,
    pub host: Option<HostPlan>,
    pub cloudwatch: Option<CloudwatchPlan>,
    pub registries: Vec<RegistryPlan>,
    pub units: Units,
    pub notify: Option<NotifyPlan>,
    pub iam: Option<IamPlan>,
}

/// What the instance role must allow: exactly the AWS calls the deployment makes.
#[derive(Clone, Debug, Serialize)]
pub struct IamPlan {
    /// SSM parameter names read with `get-parameter --with-decryption`.
    pub parameters: Vec<String>,
    pub log_group: Option<String>,
    pub retention: bool,
    /// The namespace of the agent's metrics, when it collects any.
    pub metrics_namespace: Option<&'static str>,
    pub sns_topics: Vec<String>,
    /// `(region, account)` of each ECR registry.
    pub ecr: Vec<(String, String)>,
}

/// A systemd unit: its file name in the output folder, which is its unit
/// name, and where it is installed.
#[derive(Clone, Debug, Serialize)]
pub struct UnitFile {
    pub name: String,
    pub path: String,
}

impl UnitFile {
    fn new(name: String) -> UnitFile {
        UnitFile {
            path: format!("{UNIT_DIR}/{name}"),
            name,
        }
    }
}

/// The units beside the main one.
#[derive(Clone, Debug, Serialize)]
pub struct Units {
    /// Builds, pulls and brings up a new version while the running one serves.
    pub deploy: UnitFile,
    pub monitor: Option<MonitorPlan>,
    /// Sends notifications for the unit whose `OnFailure=` started it.
    pub notify: Option<NotifyUnit>,
    /// Copies the units' journal where the CloudWatch agent ships it, with `cloudwatch`.
    pub journal: Option<JournalPlan>,
}

/// A template unit, one instance per failed unit (`OnFailure=<prefix>%n.service`):
/// systemd passes a failed unit's `MONITOR_*` variables only to a unit that one
/// unit alone triggers, and the instance names the failed unit either way.
#[derive(Clone, Debug, Serialize)]
pub struct NotifyUnit {
    pub file: UnitFile,
    /// The template's name up to and including `@`.
    pub instance_prefix: String,
}

impl Units {
    /// Every unit file but the main one, in the order they are rendered.
    pub fn all(&self) -> Vec<&UnitFile> {
        let mut all = vec![&self.deploy];
        if let Some(monitor) = &self.monitor {
            all.extend([&monitor.service, &monitor.timer, &monitor.recover]);
        }
        all.extend(self.notify.as_ref().map(|notify| &notify.file));
        all.extend(self.journal.as_ref().map(|j| &j.unit));
        all
    }

    /// The units a bootstrap enables and starts after the main one.
    fn enabled_by_bootstrap(&self) -> Vec<String> {
        let mut enable: Vec<String> = self.journal.iter().map(|j| j.unit.name.clone()).collect();
        enable.extend(self.monitor.iter().map(|m| m.timer.name.clone()));
        enable
    }
}

/// The timer that checks the running deployment, and the unit that restarts it.
#[derive(Clone, Debug, Serialize)]
pub struct MonitorPlan {
    pub service: UnitFile,
    pub timer: UnitFile,
    pub recover: UnitFile,
    pub every_secs: u64,
    pub every: String,
    /// `TimeoutStartSec=` of one check: the health timeout, an `up`, and slack.
    pub timeout_secs: u64,
    pub restarts: u32,
    pub within_secs: u64,
    pub within: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct NotifyPlan {
    pub sns: Vec<SnsPlan>,
    /// SSM parameters holding webhook URLs.
    pub webhooks: Vec<String>,
    /// The notifier's sandbox: the main unit's, with the network it sends on.
    pub hardening: Hardening,
}

#[derive(Clone, Debug, Serialize)]
pub struct SnsPlan {
    pub topic: String,
    pub region: String,
}

/// Artifact file names in the output folder.
#[derive(Clone, Debug, Serialize)]
pub struct Files {
    pub unit: String,
    pub build_script: String,
    /// The readable user-data, always written with a host.
    pub user_data: Option<String>,
    /// The compressed user-data EC2 is given, when the spec gzips it.
    pub user_data_gz: Option<String>,
    pub cloudwatch: Option<String>,
}

impl Files {
    /// The user-data file EC2 is given.
    pub fn delivered_user_data(&self) -> Option<&String> {
        self.user_data_gz.as_ref().or(self.user_data.as_ref())
    }
}

/// Installed paths on the host.
#[derive(Clone, Debug, Serialize)]
pub struct Paths {
    pub root: String,
    pub unit_name: String,
    pub unit: String,
    pub build_script: String,
    pub build_script_dir: String,
    pub state_dir: String,
    /// `StateDirectory=`: the state directory relative to /var/lib.
    pub state_directory: String,
    pub lock: String,
    /// Holds one file per service that has been built on this host.
    pub markers_dir: String,
    pub fingerprints_dir: String,
    /// One file per built service listing its tags, oldest first.
    pub tags_dir: String,
    /// One file per link target that the script made as a copy.
    pub copies_dir: String,
    /// Present while the last health check failed.
    pub unhealthy_marker: String,
    /// One file per built service listing the tags that passed the health checks.
    pub good_dir: String,
    /// One file per built service holding the tag `:latest` points to.
    pub current_dir: String,
    /// The last failure the script reported, for notifications.
    pub last_failure: String,
    /// When the current start began, for its duration.
    pub start_time: String,
    /// Embedded Metric Format lines the CloudWatch agent ships, with `cloudwatch`.
    pub metrics_log: Option<String>,
    pub compose_file: String,
    pub env_file: Option<String>,
    /// The engine client's config folder in the unit: where it looks for plugins first.
    pub docker_config: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnginePlan {
    /// The client's command, which the units and the build script find on the same PATH.
    pub name: &'static str,
    /// The unit that serves its API.
    pub daemon_unit: &'static str,
    /// `info --format` template printing where images and the build cache live.
    pub data_root_format: &'static str,
    pub image_id_format: &'static str,
    /// `version --format` template printing the client's version.
    pub client_version_format: &'static str,
    /// `inspect --format` template: name, status, health (`none` without a
    /// healthcheck) and restart count of a container.
    pub container_state_format: &'static str,
    pub prune_args: Vec<&'static str>,
    pub is_podman: bool,
    /// How to get a Compose v2 that `<engine> compose` finds.
    pub compose_hint: &'static str,
    /// The oldest engine version whose `compose` works, as `major.minor`.
    pub min_version: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ComposePlan {
    pub project_name: String,
    /// Global options of `<engine> compose`, before the subcommand.
    pub options: Vec<String>,
    /// Options of `down`: a per-container limit only when the spec sets one,
    /// so each service's own `stop_grace_period` applies otherwise.
    pub down_options: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnvVar {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct BuildPlan {
    pub service: String,
    pub dockerfile: String,
    pub context: String,
    /// `--target` and `--build-arg KEY=value` options: shared arguments, then this service's.
    pub options: Vec<String>,
    pub timeout_secs: u64,
    /// The image as Compose names it, without tag.
    pub image: String,
    pub requires: Vec<String>,
    /// Resource limits the engine enforces on the build (podman's `--memory`, `--cpu-quota`).
    pub limits: Vec<String>,
    /// The ignore files the engine reads, most specific first.
    pub ignore_files: Vec<String>,
    pub marker: String,
    pub fingerprint: String,
    pub tags: String,
    /// The tags that passed the health checks, oldest first.
    pub good: String,
    /// The tag `:latest` points to.
    pub current: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CachePlan {
    pub first_build_no_cache: bool,
    pub rebuild_no_cache: bool,
    pub skip_unchanged: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct LinkPlan {
    pub target: String,
    pub source: String,
    pub missing: &'static str,
    /// The target is in a build context, and engines send a link out of the
    /// context as a link: the source is copied instead.
    pub copy: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimeoutPlan {
    pub start_secs: u64,
    pub start: String,
    pub budget: String,
    /// How long `down` may take before what is left is killed.
    pub stop_secs: u64,
    /// `TimeoutStopSec=`: the graceful stop, the kill, and slack.
    pub stop_limit_secs: u64,
    pub stop_budget: String,
    pub reload_secs: u64,
    pub pull_secs: u64,
    pub up_secs: u64,
    pub preflight_engine_secs: u64,
    pub prune_secs: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RestartPlan {
    pub policy: &'static str,
    pub delay_secs: u64,
    pub limit_interval_secs: u64,
    pub limit_burst: u64,
    pub prevent_exit_status: Vec<u8>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HealthPlan {
    pub running: Vec<String>,
    pub http: Vec<HttpPlan>,
    pub timeout_secs: u64,
    pub interval_secs: u64,
    /// `down`, `keep` or `rollback`: what a failed start does with the containers.
    pub on_failure: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct HttpPlan {
    pub url: String,
    pub status: u16,
}

/// Sandboxing choices that depend on the spec.
#[derive(Clone, Debug, Serialize)]
pub struct Hardening {
    /// `CapabilityBoundingSet=`: root keeps only reading every file, as the
    /// engine client must to send a build context that holds other users' files.
    pub capabilities: Vec<&'static str>,
    /// Nothing the unit runs itself needs the network: the engine socket is a file.
    pub private_network: bool,
    pub address_families: Vec<&'static str>,
    /// Every HTTP check targets this host.
    pub localhost_only: bool,
    /// `yes`, or `read-only` when a path the unit uses is under /home or /root.
    pub protect_home: &'static str,
    pub read_write_paths: Vec<String>,
    /// `LogsDirectory=`, when the log directory is under /var/log.
    pub logs_directory: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HostPlan {
    pub log: String,
    pub log_dir: String,
    pub os: OsPlan,
    /// The distribution's packages: what the deployment needs, then the spec's own.
    pub packages: Vec<String>,
    /// Installed only where no `aws` is: AMIs often carry the AWS CLI already.
    pub aws_package: Option<&'static str>,
    /// What the distribution does not package: pinned release binaries.
    pub downloads: Vec<DownloadPlan>,
    /// The CloudWatch agent's signed .deb, where no package has it.
    pub agent_deb: Option<AgentDebPlan>,
    /// Downloads anything: binaries or the agent.
    pub fetches: bool,
    /// A file holding a base URL that every download is fetched through
    /// instead (checksums and signatures are checked all the same).
    pub mirror_file: &'static str,
    /// Written when a bootstrap has finished: a later run only enables and starts the units.
    pub done_marker: String,
    /// The units the bootstrap enables and starts after the main one.
    pub enable: Vec<String>,
    pub attempts: u32,
    pub delay_secs: u64,
    pub backoff: &'static str,
    pub docker_wait_secs: u64,
    pub repo: Option<RepoPlan>,
    pub env_file: Option<EnvFilePlan>,
    /// Reads a token or an env-file from SSM.
    pub uses_ssm: bool,
    pub gzip: bool,
}

/// The distribution of a host, as the bootstrap checks and installs for it.
#[derive(Clone, Debug, Serialize)]
pub struct OsPlan {
    pub name: &'static str,
    /// `$ID $VERSION_ID` of /etc/os-release starts with this.
    pub release: &'static str,
    /// apt-get, else dnf.
    pub apt: bool,
}

/// A release binary the bootstrap downloads, checks against its sha256 and installs.
#[derive(Clone, Debug, Serialize)]
pub struct DownloadPlan {
    pub name: &'static str,
    pub path: String,
    /// Needed only with an engine client of this major version or newer (0: always).
    pub min_client: u32,
    pub x86_64: Binary,
    pub aarch64: Binary,
}

#[derive(Clone, Debug, Serialize)]
pub struct Binary {
    pub url: &'static str,
    pub sha256: &'static str,
}

/// The CloudWatch agent's .deb and its detached signature, verified with
/// AWS's key, which must have `fingerprint`.
#[derive(Clone, Debug, Serialize)]
pub struct AgentDebPlan {
    pub x86_64: Signed,
    pub aarch64: Signed,
    pub key: &'static str,
    pub fingerprint: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct Signed {
    pub url: &'static str,
    pub signature: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct RepoPlan {
    pub url: String,
    pub branch: String,
    pub token_parameter: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EnvFilePlan {
    pub parameter: String,
    pub path: String,
    pub dir: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CloudwatchPlan {
    pub config_path: String,
    pub config_dir: String,
    pub ctl: &'static str,
    pub log_group: String,
    pub retention_days: Option<i64>,
    pub files: Vec<CollectedFile>,
    pub metrics: Option<MetricsPlan>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CollectedFile {
    pub path: String,
    pub stream: String,
    /// A glob matching several files (one per build): each is shipped, not only the newest.
    pub many: bool,
}

/// `<project>-journal.service`: follows the journal of the deployment's units
/// into a file the CloudWatch agent ships, since preflight, pull and health
/// failures are in the journal and not in any build log.
#[derive(Clone, Debug, Serialize)]
pub struct JournalPlan {
    pub unit: UnitFile,
    /// `LogsDirectory=` of the follower, relative to /var/log.
    pub logs_directory: String,
    pub file: String,
    /// Where journalctl keeps its place, so a restart neither skips nor repeats lines.
    pub cursor: String,
    /// `--unit=` arguments: the main unit and the units beside it.
    pub unit_args: Vec<String>,
}

/// A registry login, with where its credentials come from.
#[derive(Clone, Debug, Serialize)]
pub struct RegistryPlan {
    pub host: String,
    /// Set for Amazon ECR: `aws ecr get-login-password --region`.
    pub ecr_region: Option<String>,
    pub user: Option<String>,
    /// The SSM parameter holding the password.
    pub parameter: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MetricsPlan {
    /// The agent's metrics namespace, which the IAM policy limits PutMetricData to.
    pub namespace: &'static str,
    pub interval_secs: u64,
    pub memory: bool,
    pub disk: Vec<String>,
}

/// Where downloaded CLI plugins go: the docker CLI (and podman compose) looks
/// there whatever DOCKER_CONFIG is, unlike ~/.docker, and no package owns it.
const CLI_PLUGINS: &str = "/usr/local/lib/docker/cli-plugins";
const MIRROR_FILE: &str = "/etc/deployc/download-mirror";

/// What each distribution packages, by its own names. `None`: not packaged
/// (or too old), so the pinned download below stands in. The one place
/// these facts live; docs/language.md's `os` table says the same for users.
struct Distro {
    os: HostOs,
    release: &'static str,
    apt: bool,
    docker: &'static str,
    podman: Option<&'static str>,
    compose: Option<&'static str>,
    /// AL2023's docker bundles buildx 0.12, too old for Compose 2.40.
    buildx: Option<&'static str>,
    aws: &'static str,
    agent: Option<&'static str>,
    /// What downloads need beside the base system.
    fetch: &'static [&'static str],
}

const DISTROS: [Distro; 3] = [
    Distro {
        os: HostOs::Al2023,
        release: "amzn 2023",
        apt: false,
        docker: "docker",
        podman: None,
        compose: None,
        buildx: None,
        aws: "awscli-2",
        agent: Some("amazon-cloudwatch-agent"),
        fetch: &[],
    },
    Distro {
        os: HostOs::Ubuntu,
        release: "ubuntu ",
        apt: true,
        docker: "docker.io",
        podman: Some("podman"),
        compose: Some("docker-compose-v2"),
        buildx: Some("docker-buildx"),
        aws: "awscli",
        agent: None,
        fetch: &["curl", "ca-certificates"],
    },
    Distro {
        os: HostOs::Debian,
        release: "debian ",
        apt: true,
        docker: "docker.io",
        podman: Some("podman"),
        compose: None,
        buildx: None,
        aws: "awscli",
        agent: None,
        fetch: &["curl", "ca-certificates"],
    },
];

/// Pinned releases: (name, file, min_client, x86-64, aarch64).
const COMPOSE: (&str, &str, u32, Binary, Binary) = (
    "Docker Compose v2.40.0",
    "docker-compose",
    0,
    Binary {
        url: "https://github.com/docker/compose/releases/download/v2.40.0/docker-compose-linux-x86_64",
        sha256: "bd5835ccbbf06a42dcb5294c65e34a4634b34447afb9ed6fc7adf18a000e0f99",
    },
    Binary {
        url: "https://github.com/docker/compose/releases/download/v2.40.0/docker-compose-linux-aarch64",
        sha256: "fa99ca94c96c8cae4024493581a20049764ce723558991d0d1526c1c7b791a79",
    },
);
/// Docker 23 and newer build with BuildKit only through buildx; older clients have it built in.
const BUILDX: (&str, &str, u32, Binary, Binary) = (
    "Docker buildx v0.29.1",
    "docker-buildx",
    23,
    Binary {
        url: "https://github.com/docker/buildx/releases/download/v0.29.1/buildx-v0.29.1.linux-amd64",
        sha256: "7d2d7d6d4680aa349614965aaa33ccec43f1a9a21e908a5ce4cb6adfa5ad5141",
    },
    Binary {
        url: "https://github.com/docker/buildx/releases/download/v0.29.1/buildx-v0.29.1.linux-arm64",
        sha256: "50e85c4e290b698908421161c1aee069bcc5d4a65b7b7201bfac3a176b223a7e",
    },
);
/// No apt repository carries the agent: AWS publishes a .deb, signed with this key.
const AGENT_DEB: AgentDebPlan = AgentDebPlan {
    x86_64: Signed {
        url: "https://amazoncloudwatch-agent.s3.amazonaws.com/debian/amd64/latest/amazon-cloudwatch-agent.deb",
        signature: "https://amazoncloudwatch-agent.s3.amazonaws.com/debian/amd64/latest/amazon-cloudwatch-agent.deb.sig",
    },
    aarch64: Signed {
        url: "https://amazoncloudwatch-agent.s3.amazonaws.com/debian/arm64/latest/amazon-cloudwatch-agent.deb",
        signature: "https://amazoncloudwatch-agent.s3.amazonaws.com/debian/arm64/latest/amazon-cloudwatch-agent.deb.sig",
    },
    key: "https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg",
    fingerprint: "937616F3450B7D806CBD9725D58167303B789C72",
};

fn download(
    (name, file, min_client, x86_64, aarch64): (&'static str, &str, u32, Binary, Binary),
) -> DownloadPlan {
    DownloadPlan {
        name,
        path: format!("{CLI_PLUGINS}/{file}"),
        min_client,
        x86_64,
        aarch64,
    }
}

/// The host's distribution, what it installs from packages and what it downloads.
/// `env_file`: the project's env-file on the host, which the bootstrap writes from SSM.
fn host_plan(
    spec: &Spec,
    host: &crate::model::Host,
    state_dir: &str,
    units: &Units,
    env_file: Option<&AbsPath>,
) -> HostPlan {
    let distro = DISTROS
        .iter()
        .find(|d| d.os == *host.os)
        .expect("every os has a row");
    let docker = *spec.build.docker == Engine::Docker;
    let mut packages: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !packages.iter().any(|p| p == name) {
            packages.push(name.to_owned());
        }
    };
    add(if docker {
        distro.docker
    } else {
        distro
            .podman
            .expect("validation refuses podman where it is not packaged")
    });
    let mut downloads = Vec::new();
    match distro.compose {
        Some(package) => add(package),
        None => downloads.push(download(COMPOSE)),
    }
    if docker {
        match distro.buildx {
            Some(package) => add(package),
            None => downloads.push(download(BUILDX)),
        }
    }
    if host.repo.is_some() {
        add("git");
    }
    let agent_deb = match (spec.cloudwatch.is_some(), distro.agent) {
        (false, _) => None,
        (true, Some(package)) => {
            add(package);
            None
        }
        (true, None) => {
            add("gnupg");
            Some(AGENT_DEB)
        }
    };
    let fetches = !downloads.is_empty() || agent_deb.is_some();
    if fetches {
        distro.fetch.iter().for_each(|p| add(p));
    }
    for package in &host.packages {
        add(package.as_str());
    }
    let uses_ssm = host.env_file.is_some() || host.repo.as_ref().is_some_and(|r| r.token.is_some());
    let needs_aws = uses_ssm || !spec.registry.is_empty() || spec.notify.is_some();
    HostPlan {
        log: host.log.to_string(),
        log_dir: parent(&host.log.value),
        os: OsPlan {
            name: host.os.as_str(),
            release: distro.release,
            apt: distro.apt,
        },
        packages,
        aws_package: needs_aws.then_some(distro.aws),
        downloads,
        agent_deb,
        fetches,
        mirror_file: MIRROR_FILE,
        done_marker: format!("{state_dir}/bootstrapped"),
        enable: units.enabled_by_bootstrap(),
        attempts: *host.retry.attempts,
        delay_secs: host.retry.delay.secs(),
        backoff: host.retry.backoff.as_str(),
        docker_wait_secs: host.docker_wait.secs(),
        repo: host.repo.as_ref().map(|r| RepoPlan {
            url: r.url.to_string(),
            branch: r.branch.to_string(),
            token_parameter: r.token.as_ref().map(|t| t.parameter().to_owned()),
        }),
        env_file: host.env_file.as_ref().and_then(|from| {
            env_file.map(|path| EnvFilePlan {
                parameter: from.parameter().to_owned(),
                path: path.to_string(),
                dir: parent(path),
            })
        }),
        uses_ssm,
        gzip: *host.gzip,
    }
}

/// The agent's own namespace for host metrics.
const METRICS_NAMESPACE: &str = "CWAgent";

/// The file of Embedded Metric Format lines, in the log directory.
const METRICS_LOG: &str = "deployc-metrics.log";

/// BuildKit's progress setting, read by `docker build` with or without buildx.
const BUILDKIT_PROGRESS_VAR: &str = "BUILDKIT_PROGRESS";

/// Compose's own rule for project names: lowercase, and only `a-z0-9_-`.
pub fn compose_project_name(spec: &Spec) -> String {
    match spec.project.env.get(COMPOSE_PROJECT_VAR) {
        Some(var) => var.value.to_string(),
        None => spec
            .project
            .name
            .as_str()
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
            .collect(),
    }
}

const CONTAINER_STATE_FORMAT: &str = "{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}}";

fn engine_plan(engine: Engine) -> EnginePlan {
    match engine {
        Engine::Docker => EnginePlan {
            name: "docker",
            daemon_unit: "docker.service",
            data_root_format: "{{.DockerRootDir}}",
            image_id_format: "{{.Id}}",
            client_version_format: "{{.Client.Version}}",
            container_state_format: CONTAINER_STATE_FORMAT,
            prune_args: vec!["builder", "prune", "--force"],
            is_podman: false,
            compose_hint: "install Docker Compose v2 where the docker CLI finds it also in this unit (not ~/.docker): its package (docker-compose-plugin, docker-compose-v2), or its binary as /usr/local/lib/docker/cli-plugins/docker-compose",
            min_version: None,
        },
        Engine::Podman => EnginePlan {
            name: "podman",
            daemon_unit: "podman.socket",
            data_root_format: "{{.Store.GraphRoot}}",
            image_id_format: "{{.Id}}",
            client_version_format: "{{.Client.Version}}",
            container_state_format: CONTAINER_STATE_FORMAT,
            prune_args: vec!["image", "prune", "--force"],
            is_podman: true,
            compose_hint: "podman compose needs podman 4.7 or newer and a compose provider (docker-compose or podman-compose) on PATH",
            min_version: Some("4.7"),
        },
    }
}

/// Limits for one build where the engine enforces them: podman runs each
/// build step in a container of its own. Docker's BuildKit takes no limits,
/// so its builds are bounded by how many run at once (`max`) instead.
fn build_limits(service: &crate::model::Service, engine: &EnginePlan) -> Vec<String> {
    if !engine.is_podman {
        return Vec::new();
    }
    let mut limits = Vec::new();
    if let Some(memory) = &service.memory {
        limits.push(format!("--memory={}", memory.bytes()));
    }
    if let Some(cpus) = &service.cpus {
        limits.extend([
            "--cpu-period=100000".to_owned(),
            format!("--cpu-quota={}", cpus.quota_per_100ms()),
        ]);
    }
    limits
}

/// The unit's group: the spec's, else the one that may use the engine's socket.
fn unit_group(spec: &Spec) -> String {
    match (&spec.project.group, *spec.build.docker) {
        (Some(group), _) => group.to_string(),
        (None, Engine::Docker) => "docker".to_owned(),
        // podman.socket belongs to root: root's group, since a podman-only host has no docker group.
        (None, Engine::Podman) => "root".to_owned(),
    }
}

/// The plan for a spec that validated without errors.
pub fn plan(spec: &Spec, spec_file: &str) -> Plan {
    let project = spec.project.name.to_string();
    let root: AbsPath = spec
        .project
        .root_or_default()
        .expect("a valid project name is path-safe");
    let state_directory = format!("{STATE_ROOT}/{project}");
    let state_dir = format!("/var/lib/{state_directory}");
    let unit_name = format!("{project}.service");
    let build_script_name = format!("{project}-build.sh");
    let compose_file = root.join(&spec.project.compose_file);
    let env_file = spec.project.env_file.as_ref().map(|f| root.join(f));
    let engine = engine_plan(*spec.build.docker);
    let compose_project = compose_project_name(spec);

    let mut compose_options = Vec::new();
    compose_options.extend([
        "--project-name".to_owned(),
        compose_project.clone(),
        "--project-directory".to_owned(),
        root.to_string(),
        "--file".to_owned(),
        compose_file.to_string(),
    ]);
    if let Some(env_file) = &env_file {
        compose_options.extend(["--env-file".to_owned(), env_file.to_string()]);
    }

    let docker_config = format!("{state_dir}/docker-config");
    let markers_dir = format!("{state_dir}/built");
    let fingerprints_dir = format!("{state_dir}/fingerprints");
    let tags_dir = format!("{state_dir}/tags");
    let good_dir = format!("{state_dir}/good");
    let current_dir = format!("{state_dir}/current");
    let mut env = vec![EnvVar {
        key: "DOCKER_CONFIG".into(),
        value: docker_config.clone(),
    }];
    if engine.is_podman {
        // Under the unit, podman talks to the podman service like the docker CLI
        // talks to dockerd, so the unit needs no privileges to build.
        env.push(EnvVar {
            key: "CONTAINER_HOST".into(),
            value: "unix:///run/podman/podman.sock".into(),
        });
    }
    if spec.project.env.get(COMPOSE_PROJECT_VAR).is_none() {
        env.push(EnvVar {
            key: COMPOSE_PROJECT_VAR.into(),
            value: compose_project.clone(),
        });
    }
    // BuildKit's own setting: a `--progress` flag is refused by a Docker CLI without buildx.
    if !engine.is_podman
        && *spec.build.progress == Progress::Plain
        && spec.project.env.get(BUILDKIT_PROGRESS_VAR).is_none()
    {
        env.push(EnvVar {
            key: BUILDKIT_PROGRESS_VAR.into(),
            value: "plain".into(),
        });
    }
    env.extend(spec.project.env.iter().map(|v| EnvVar {
        key: v.key.to_string(),
        value: v.value.to_string(),
    }));

    let builds: Vec<BuildPlan> = spec
        .service
        .iter()
        .filter_map(|service| {
            let build = service.build.as_ref()?;
            let context = root.join(&build.context);
            let dockerfile = context.join(&build.dockerfile);
            let timeout = service.build_limit(&spec.build);
            let mut options: Vec<String> = Vec::new();
            if let Some(target) = &build.target {
                options.extend(["--target".to_owned(), target.to_string()]);
            }
            let shared = spec
                .build
                .arg
                .iter()
                .filter(|v| service.arg.get(v.key.as_str()).is_none());
            for var in shared.chain(service.arg.iter()) {
                options.extend(["--build-arg".to_owned(), format!("{}={}", var.key, var.value)]);
            }
            let name = service.name.to_string();
            // Docker prefers <Dockerfile>.dockerignore; podman reads .containerignore first.
            let ignore_files = if engine.is_podman {
                vec![
                    context.join_str(".containerignore"),
                    context.join_str(".dockerignore"),
                ]
            } else {
                vec![
                    format!("{dockerfile}.dockerignore")
                        .parse()
                        .expect("a path plus a suffix"),
                    context.join_str(".dockerignore"),
                ]
            };
            Some(BuildPlan {
                image: format!("{compose_project}-{name}"),
                dockerfile: dockerfile.to_string(),
                ignore_files: ignore_files.iter().map(|f| f.to_string()).collect(),
                context: context.to_string(),
                options,
                timeout_secs: timeout.secs(),
                requires: service
                    .requires
                    .iter()
                    .map(|r| root.join(r).to_string())
                    .collect(),
                limits: build_limits(service, &engine),
                marker: format!("{markers_dir}/{name}"),
                fingerprint: format!("{fingerprints_dir}/{name}"),
                tags: format!("{tags_dir}/{name}"),
                good: format!("{good_dir}/{name}"),
                current: format!("{current_dir}/{name}"),
                service: name,
            })
        })
        .collect();
    let pulls = spec
        .service
        .iter()
        .filter_map(|s| s.image.as_ref().map(|image| image.to_string()))
        .collect();

    let log_dir = spec
        .build
        .log_dir
        .as_ref()
        .map(|l| l.value.clone())
        .unwrap_or_else(|| {
            format!("/var/log/{project}")
                .parse()
                .expect("project names are path-safe")
        });
    // The state directory: the unit's own (StateDirectory=), writable when nothing else is.
    let log_fallback = spec
        .build
        .log_fallback
        .as_ref()
        .map_or_else(|| format!("{state_dir}/logs"), |f| f.to_string());

    let budget = budget::start_budget(spec);
    let start = spec.timeouts.start.as_ref().map_or(budget.rounded(), |s| **s);
    let stop_budget = budget::stop_budget(spec);
    let restart_delay = spec.project.restart.delay.secs();
    let down_options = match &spec.timeouts.containers {
        Some(containers) => vec!["--timeout".to_owned(), containers.secs().to_string()],
        None => Vec::new(),
    };

    let health = match &spec.health {
        Some(h) => HealthPlan {
            running: h.running.iter().map(|r| r.to_string()).collect(),
            http: h
                .http
                .iter()
                .map(|c| HttpPlan {
                    url: c.url.to_string(),
                    status: *c.status,
                })
                .collect(),
            timeout_secs: h.timeout.secs(),
            interval_secs: h.interval.secs(),
            on_failure: h.on_failure.as_str(),
        },
        None => HealthPlan {
            running: spec.service.iter().map(|s| s.name.to_string()).collect(),
            http: Vec::new(),
            timeout_secs: crate::model::default_health_timeout().secs(),
            interval_secs: crate::model::default_health_interval().secs(),
            on_failure: HealthFailure::default().as_str(),
        },
    };

    let contexts: Vec<AbsPath> = spec
        .service
        .iter()
        .filter_map(|s| s.build.as_ref().map(|b| root.join(&b.context)))
        .collect();
    let links: Vec<LinkPlan> = spec
        .symlinks
        .iter()
        .flat_map(|group| {
            group.link.iter().map(|link| {
                let target = root.join(&link.path);
                LinkPlan {
                    copy: contexts.iter().any(|c| target.starts_with(c)),
                    target: target.to_string(),
                    source: group.from.join(&link.path).to_string(),
                    missing: link.missing.as_str(),
                }
            })
        })
        .collect();

    let hardening = hardening(spec, &root, &log_dir, &health);
    let notify = spec.notify.as_ref().map(|n| NotifyPlan {
        sns: n
            .sns
            .iter()
            .map(|t| SnsPlan {
                topic: t.to_string(),
                region: t.region().to_owned(),
            })
            .collect(),
        webhooks: n.webhook.iter().map(|w| w.parameter().to_owned()).collect(),
        hardening: hardening.with_network(),
    });

    let mut units = Units {
        deploy: UnitFile::new(format!("{project}-deploy.service")),
        monitor: spec.health.as_ref().and_then(|h| {
            let every = h.every.as_ref()?;
            Some(MonitorPlan {
                service: UnitFile::new(format!("{project}-monitor.service")),
                timer: UnitFile::new(format!("{project}-monitor.timer")),
                recover: UnitFile::new(format!("{project}-recover.service")),
                every_secs: every.secs(),
                every: every.to_string(),
                timeout_secs: h.timeout.secs() + spec.timeouts.up.secs() + budget::SLACK.secs(),
                restarts: *h.restarts,
                within_secs: h.within.secs(),
                within: h.within.to_string(),
            })
        }),
        notify: spec.notify.as_ref().map(|_| NotifyUnit {
            file: UnitFile::new(format!("{project}-notify@.service")),
            instance_prefix: format!("{project}-notify@"),
        }),
        journal: None,
    };
    // Every service unit's journal: the deployment's, and what runs beside it.
    units.journal = spec.cloudwatch.as_ref().map(|_| {
        let logs_directory = format!("{STATE_ROOT}/{project}");
        let unit_args = std::iter::once(&unit_name)
            .chain(units.all().into_iter().map(|u| &u.name))
            .filter(|name| name.ends_with(".service"))
            // A template's instances, by journalctl's glob.
            .map(|name| format!("--unit={}", name.replace("@.", "@*.")))
            .collect();
        JournalPlan {
            unit: UnitFile::new(format!("{project}-journal.service")),
            file: format!("/var/log/{logs_directory}/journal.log"),
            cursor: format!("/var/log/{logs_directory}/journal.cursor"),
            logs_directory,
            unit_args,
        }
    });
    let host = spec
        .host
        .as_ref()
        .map(|h| host_plan(spec, h, &state_dir, &units, env_file.as_ref()));

    let iam = iam_plan(spec);
    let cloudwatch = spec.cloudwatch.as_ref().map(|cw| {
        let mut files = Vec::new();
        if let Some(host) = &spec.host {
            files.push(CollectedFile {
                path: host.log.to_string(),
                stream: "{instance_id}/user-data".into(),
                many: false,
            });
        }
        if let Some(journal) = &units.journal {
            files.push(CollectedFile {
                path: journal.file.clone(),
                stream: "{instance_id}/journal".into(),
                many: false,
            });
        }
        for dir in [log_dir.as_str(), log_fallback.as_str()] {
            files.push(CollectedFile {
                path: format!("{dir}/build-*.log"),
                stream: "{instance_id}/build".into(),
                many: true,
            });
        }
        for file in &cw.file {
            let name = file.path.as_str().rsplit('/').next().unwrap_or("file");
            files.push(CollectedFile {
                path: file.path.to_string(),
                stream: file
                    .stream
                    .as_ref()
                    .map_or_else(|| format!("{{instance_id}}/{name}"), |s| s.to_string()),
                many: false,
            });
        }
        CloudwatchPlan {
            config_path: format!("{CLOUDWATCH_ETC}/{project}-cloudwatch-agent.json"),
            config_dir: CLOUDWATCH_ETC.to_owned(),
            ctl: CLOUDWATCH_CTL,
            log_group: cw.log_group.to_string(),
            retention_days: cw.retention_days.as_ref().map(|d| **d),
            files,
            metrics: cw.metrics.as_ref().map(|m| MetricsPlan {
                namespace: METRICS_NAMESPACE,
                interval_secs: m.interval.secs(),
                memory: m.memory,
                disk: m.disk.iter().map(|d| d.to_string()).collect(),
            }),
        }
    });

    Plan {
        spec_file: spec_file.to_owned(),
        description: spec.project.description.as_ref().map_or_else(
            || format!("{project} (Docker Compose, deployed by deployc)"),
            |d| d.to_string(),
        ),
        docs: spec.project.docs.as_ref().map(|d| d.to_string()),
        files: Files {
            unit: unit_name.clone(),
            build_script: build_script_name.clone(),
            user_data: spec.host.as_ref().map(|_| "user-data.sh".to_owned()),
            user_data_gz: spec
                .host
                .as_ref()
                .filter(|h| *h.gzip)
                .map(|_| "user-data.sh.gz".to_owned()),
            cloudwatch: spec
                .cloudwatch
                .as_ref()
                .map(|_| "cloudwatch-agent.json".to_owned()),
        },
        paths: Paths {
            root: root.to_string(),
            unit: format!("{UNIT_DIR}/{unit_name}"),
            unit_name,
            build_script: format!("{SCRIPT_DIR}/{build_script_name}"),
            build_script_dir: SCRIPT_DIR.to_owned(),
            lock: format!("{state_dir}/lock"),
            markers_dir,
            fingerprints_dir,
            tags_dir,
            copies_dir: format!("{state_dir}/copies"),
            unhealthy_marker: format!("{state_dir}/unhealthy"),
            good_dir,
            current_dir,
            last_failure: format!("{state_dir}/last-failure"),
            start_time: format!("{state_dir}/start-time"),
            metrics_log: spec
                .cloudwatch
                .as_ref()
                .map(|_| format!("{log_dir}/{METRICS_LOG}")),
            state_dir,
            state_directory,
            compose_file: compose_file.to_string(),
            env_file: env_file.map(|f| f.to_string()),
            docker_config,
        },
        user: spec.project.user.to_string(),
        group: unit_group(spec),
        is_root: spec.project.user.as_str() == "root",
        engine,
        compose: ComposePlan {
            project_name: compose_project,
            options: compose_options,
            down_options,
        },
        env,
        build_names: builds.iter().map(|b| b.service.clone()).collect(),
        builds,
        pulls,
        parallel: match *spec.build.order {
            Order::Parallel => spec.build.max.as_ref().map(|m| **m),
            Order::Sequential => None,
        },
        log_dir: log_dir.to_string(),
        log_fallback,
        min_free_disk_kib: spec.build.min_free_disk.as_ref().map(|s| s.kib()),
        min_free_memory_kib: spec.build.min_free_memory.as_ref().map(|s| s.kib()),
        prune_below_kib: spec.cache.prune_below.as_ref().map(|s| s.kib()),
        keep: *spec.build.keep,
        ignored: spec.build.ignored.iter().map(|p| p.to_string()).collect(),
        cache: CachePlan {
            first_build_no_cache: *spec.cache.first_build == CacheMode::NoCache,
            rebuild_no_cache: *spec.cache.rebuild == CacheMode::NoCache,
            skip_unchanged: *spec.cache.skip_unchanged,
        },
        links,
        timeouts: TimeoutPlan {
            start_secs: start.secs(),
            start: start.to_string(),
            budget: budget.breakdown(),
            stop_secs: spec.timeouts.stop.secs(),
            stop_limit_secs: stop_budget.total().secs(),
            stop_budget: stop_budget.breakdown(),
            reload_secs: spec.timeouts.reload.secs(),
            pull_secs: spec.timeouts.pull.secs(),
            up_secs: spec.timeouts.up.secs(),
            preflight_engine_secs: budget::ENGINE_ANSWER.secs(),
            prune_secs: budget::PRUNE.secs(),
        },
        restart: RestartPlan {
            policy: match *spec.project.restart.policy {
                RestartPolicy::No => "no",
                RestartPolicy::OnFailure => "on-failure",
                RestartPolicy::Always => unreachable!("validation rejects restart \"always\""),
            },
            delay_secs: restart_delay,
            // Holds the starts that fail early (the engine is down, a pull fails)
            // so such a loop stops, without refusing ordinary deploys for hours.
            limit_interval_secs: START_LIMIT_BURST * (restart_delay + budget::PREFLIGHT.secs())
                + budget::SLACK.secs(),
            limit_burst: START_LIMIT_BURST,
            prevent_exit_status: NOT_RETRIED.to_vec(),
        },
        health,
        hardening,
        host,
        cloudwatch,
        units,
        notify,
        iam,
        registries: spec
            .registry
            .iter()
            .map(|r| RegistryPlan {
                host: r.host.to_string(),
                ecr_region: r
                    .ecr
                    .then(|| r.host.ecr_region().expect("validated ECR host").to_owned()),
                user: r.user.as_ref().map(|u| u.to_string()),
                parameter: r.password.as_ref().map(|p| p.parameter().to_owned()),
            })
            .collect(),
        project,
    }
}

fn parent(path: &AbsPath) -> String {
    match path.as_str().rsplit_once('/') {
        Some(("", _)) | None => "/".to_owned(),
        Some((dir, _)) => dir.to_owned(),
    }
}

/// The AWS calls the deployment makes, or `None` when it makes none.
fn iam_plan(spec: &Spec) -> Option<IamPlan> {
    let mut parameters: Vec<String> = Vec::new();
    if let Some(host) = &spec.host {
        parameters.extend(
            host.repo
                .iter()
                .flat_map(|r| &r.token)
                .map(|t| t.parameter().to_owned()),
        );
        parameters.extend(host.env_file.iter().map(|f| f.parameter().to_owned()));
    }
    parameters.extend(
        spec.registry
            .iter()
            .flat_map(|r| &r.password)
            .map(|p| p.parameter().to_owned()),
    );
    parameters.extend(
        spec.notify
            .iter()
            .flat_map(|n| &n.webhook)
            .map(|w| w.parameter().to_owned()),
    );
    parameters.sort();
    parameters.dedup();
    let iam = IamPlan {
        parameters,
        log_group: spec.cloudwatch.as_ref().map(|cw| cw.log_group.to_string()),
        retention: spec
            .cloudwatch
            .as_ref()
            .is_some_and(|cw| cw.retention_days.is_some()),
        metrics_namespace: spec
            .cloudwatch
            .as_ref()
            .and_then(|cw| cw.metrics.as_ref())
            .map(|_| METRICS_NAMESPACE),
        sns_topics: spec
            .notify
            .iter()
            .flat_map(|n| &n.sns)
            .map(|t| t.to_string())
            .collect(),
        ecr: spec
            .registry
            .iter()
            .filter(|r| *r.ecr)
            .map(|r| {
                let host = r.host.as_str();
                let region = r.host.ecr_region().expect("validated ECR host");
                let account = host
                    .split('.')
                    .next()
                    .expect("an ECR host starts with its account");
                (region.to_owned(), account.to_owned())
            })
            .collect(),
    };
    let calls_aws = !iam.parameters.is_empty()
        || iam.log_group.is_some()
        || !iam.sns_topics.is_empty()
        || !iam.ecr.is_empty();
    calls_aws.then_some(iam)
}

impl Hardening {
    /// The same sandbox, for a unit that sends to hosts of any address.
    fn with_network(&self) -> Hardening {
        Hardening {
            private_network: false,
            address_families: vec!["AF_UNIX", "AF_INET", "AF_INET6"],
            localhost_only: false,
            ..self.clone()
        }
    }
}

fn hardening(spec: &Spec, root: &AbsPath, log_dir: &AbsPath, health: &HealthPlan) -> Hardening {
    // HTTP checks, and registry logins that fetch credentials from AWS.
    let needs_network = !health.http.is_empty() || !spec.registry.is_empty();
    let localhost_only = needs_network
        && spec.registry.is_empty()
        && spec.health.iter().flat_map(|h| &h.http).all(|c| {
            let host = c.url.host();
            host == "localhost" || host == "::1" || host.starts_with("127.")
        });
    let var_log: AbsPath = "/var/log".parse().expect("valid");
    let logs_directory = (log_dir.starts_with(&var_log) && log_dir != &var_log)
        .then(|| log_dir.as_str()["/var/log/".len()..].to_owned());
    let mut read_write_paths = vec![root.to_string()];
    if logs_directory.is_none() {
        // Optional ("-"): the build script falls back when it cannot write there.
        read_write_paths.push(format!("-{log_dir}"));
    }
    if let Some(fallback) = &spec.build.log_fallback {
        read_write_paths.push(format!("-{}", fallback.value));
    }
    let homes: Vec<AbsPath> = ["/home", "/root", "/run/user"]
        .iter()
        .map(|h| h.parse().expect("valid"))
        .collect();
    let mut used = vec![root.clone(), log_dir.clone()];
    used.extend(spec.symlinks.iter().map(|s| s.from.value.clone()));
    let under_home = used.iter().any(|p| homes.iter().any(|h| p.starts_with(h)));
    Hardening {
        capabilities: if spec.project.user.as_str() == "root" {
            vec!["CAP_DAC_READ_SEARCH"]
        } else {
            Vec::new()
        },
        private_network: !needs_network,
        address_families: if needs_network {
            vec!["AF_UNIX", "AF_INET", "AF_INET6"]
        } else {
            vec!["AF_UNIX"]
        },
        localhost_only,
        protect_home: if under_home { "read-only" } else { "yes" },
        read_write_paths,
        logs_directory,
    }
}
