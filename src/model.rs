//! The typed model of a spec: what `decode` builds from KDL and serde builds
//! from JSON. Field docs become the descriptions in `deployc schema`.

use schemars::JsonSchema;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::span::{Span, Spanned};
use crate::values::{
    AbsPath, Account, Backoff, Branch, CacheMode, Cpus, Duration, Engine, EnvKey, HealthFailure, HostOs,
    ImageRef, Lint, LogGroup, LogStream, Missing, Name, Order, Package, Progress, RegistryHost, RelPath,
    RestartPolicy, Size, SnsTopic, SsmRef, Text, Url,
};

/// One Docker Compose deployment, described for deployc.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[schemars(
    title = "deployc spec",
    description = "One Docker Compose deployment, as a JSON spec (a file ending in .json). This schema is for JSON specs and the editors that check them; a KDL spec writes some of these fields differently, and is described by the language reference: `deployc language`, or docs/language.md."
)]
pub struct Spec {
    /// The version of the spec language. Only 1 exists.
    pub version: Spanned<u32>,
    pub project: Project,
    /// The services, in build order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<Service>,
    #[serde(default)]
    pub build: Build,
    #[serde(default)]
    pub cache: Cache,
    /// Symlinks created under the project root before building.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symlinks: Vec<Symlinks>,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// What must hold once the deployment is up. Default: every service is running, checked for 5 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Bootstrapping an EC2 host with cloud-init user-data. Without it no user-data is rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    /// Shipping logs and metrics with the CloudWatch agent. Without it no agent config is rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<Cloudwatch>,
    /// Where failures, recoveries and rollbacks are announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// Registries the host logs in to before building and pulling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry: Vec<Registry>,
    /// Lints silenced on purpose, each with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<Allow>,
}

/// The deployment as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Project {
    /// The project name; it names the unit, the build script and the state directory.
    pub name: Spanned<Name>,
    /// The unit's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Spanned<Text>>,
    /// A documentation URL for the unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<Spanned<Url>>,
    /// Where the compose project lives on the host. Default: `/opt/<project>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<Spanned<AbsPath>>,
    /// The compose file, relative to `root`.
    #[serde(default = "default_compose_file")]
    pub compose_file: Spanned<RelPath>,
    /// The user the unit runs as.
    #[serde(default = "default_user")]
    pub user: Spanned<Account>,
    /// The group the unit runs as; it must be allowed to use the container engine's socket.
    /// Default: `docker`, or `root` with podman (whose socket belongs to root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Spanned<Account>>,
    /// Environment for the unit and the build script, in order.
    #[serde(default, skip_serializing_if = "Vars::is_empty")]
    pub env: Vars,
    /// A file of environment variables for Compose, relative to `root`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<Spanned<RelPath>>,
    #[serde(default)]
    pub restart: Restart,
}

impl Project {
    /// Where the project lives on the host: `root`, or `/opt/<project>`;
    /// `None` only before validation, for a project name that is not path-safe.
    pub fn root_or_default(&self) -> Option<AbsPath> {
        match &self.root {
            Some(root) => Some(root.value.clone()),
            None => format!("/opt/{}", *self.name).parse().ok(),
        }
    }
}

fn default_compose_file() -> Spanned<RelPath> {
    Spanned::unspanned("docker-compose.yml".parse().expect("a valid relative path"))
}

fn default_user() -> Spanned<Account> {
    Spanned::unspanned("root".parse().expect("a valid account"))
}

/// When systemd restarts the deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Restart {
    #[serde(default = "default_restart_policy")]
    pub policy: Spanned<RestartPolicy>,
    /// How long systemd waits before restarting.
    #[serde(default = "default_restart_delay")]
    pub delay: Spanned<Duration>,
}

impl Default for Restart {
    fn default() -> Self {
        Restart {
            policy: default_restart_policy(),
            delay: default_restart_delay(),
        }
    }
}

fn default_restart_policy() -> Spanned<RestartPolicy> {
    Spanned::unspanned(RestartPolicy::OnFailure)
}

fn default_restart_delay() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(30))
}

/// A compose service: built on the host (`build`) or pulled (`image`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    /// The compose service name.
    pub name: Spanned<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<ServiceBuild>,
    /// An external image to pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Spanned<ImageRef>>,
    /// Paths under the root that must exist before building.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Spanned<RelPath>>,
    /// Build arguments for this service only.
    #[serde(default, skip_serializing_if = "Vars::is_empty")]
    pub arg: Vars,
    /// This build's time limit. Default: `build.timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Spanned<Duration>>,
    /// The build's expected peak memory, counted against `min-free memory` for parallel builds;
    /// a hard limit where the engine can enforce one (podman).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Spanned<Size>>,
    /// The CPUs the build may use, where the engine can enforce it (podman).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Spanned<Cpus>>,
    /// A `build` or `image` was given and refused: it is not reported again as missing.
    #[serde(skip)]
    pub image_refused: bool,
}

impl Service {
    /// This service's build time limit: its own `timeout`, else the shared one.
    pub fn build_limit(&self, build: &Build) -> Duration {
        self.timeout.as_ref().map_or(*build.timeout, |t| **t)
    }
}

/// How a service's image is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceBuild {
    /// The Dockerfile, relative to the context.
    pub dockerfile: Spanned<RelPath>,
    /// The build context, relative to the root.
    #[serde(default = "default_context")]
    pub context: Spanned<RelPath>,
    /// The stage of a multi-stage Dockerfile to build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Spanned<Text>>,
}

fn default_context() -> Spanned<RelPath> {
    Spanned::unspanned(".".parse().expect("a valid relative path"))
}

/// How images are built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Build {
    #[serde(default)]
    pub order: Spanned<Order>,
    /// With `order "parallel"`: how many builds may run at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Spanned<u32>>,
    /// The time limit of each build that sets none itself.
    #[serde(default = "default_build_timeout")]
    pub timeout: Spanned<Duration>,
    #[serde(default)]
    pub progress: Spanned<Progress>,
    /// Where build logs go. Default: `/var/log/<project>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<Spanned<AbsPath>>,
    /// Where build logs go when `log-dir` is not writable. Default: `logs` in the
    /// project's state directory, which the unit can always write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_fallback: Option<Spanned<AbsPath>>,
    /// Free disk the preflight requires before any build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_free_disk: Option<Spanned<Size>>,
    /// Free memory the preflight requires before any build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_free_memory: Option<Spanned<Size>>,
    /// Patterns every build context's `.dockerignore` must list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Spanned<Text>>,
    /// Build arguments shared by every build.
    #[serde(default, skip_serializing_if = "Vars::is_empty")]
    pub arg: Vars,
    /// The container engine client.
    #[serde(default)]
    pub docker: Spanned<Engine>,
    /// How many tagged images and build logs of each built service the host keeps.
    #[serde(default = "default_keep")]
    pub keep: Spanned<u32>,
}

impl Build {
    /// The `ignored` patterns without the leading and trailing `/` that
    /// .dockerignore allows: `/vendor/` and `vendor` name the same folder.
    pub fn ignored_paths(&self) -> impl Iterator<Item = &str> {
        self.ignored
            .iter()
            .map(|p| p.as_str().trim_start_matches('/').trim_end_matches('/'))
    }
}

impl Default for Build {
    fn default() -> Self {
        Build {
            order: Spanned::default(),
            max: None,
            timeout: default_build_timeout(),
            progress: Spanned::default(),
            log_dir: None,
            log_fallback: None,
            min_free_disk: None,
            min_free_memory: None,
            ignored: Vec::new(),
            arg: Vars::default(),
            docker: Spanned::default(),
            keep: default_keep(),
        }
    }
}

fn default_keep() -> Spanned<u32> {
    Spanned::unspanned(5)
}

fn default_build_timeout() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(20 * 60))
}

/// The builder cache policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Cache {
    /// A service's first build on a host.
    #[serde(default = "default_first_build")]
    pub first_build: Spanned<CacheMode>,
    /// Every later build.
    #[serde(default = "default_rebuild")]
    pub rebuild: Spanned<CacheMode>,
    /// Skip a build when what the engine would send it (Dockerfile, context less
    /// the ignore file's patterns, options) is unchanged and its image still exists.
    #[serde(default = "default_skip_unchanged")]
    pub skip_unchanged: Spanned<bool>,
    /// Prune the builder cache when free disk is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_below: Option<Spanned<Size>>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            first_build: default_first_build(),
            rebuild: default_rebuild(),
            skip_unchanged: default_skip_unchanged(),
            prune_below: None,
        }
    }
}

fn default_first_build() -> Spanned<CacheMode> {
    Spanned::unspanned(CacheMode::NoCache)
}

fn default_rebuild() -> Spanned<CacheMode> {
    Spanned::unspanned(CacheMode::Cached)
}

fn default_skip_unchanged() -> Spanned<bool> {
    Spanned::unspanned(true)
}

/// Symlinks from a directory outside the root into the root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Symlinks {
    /// The directory the links point into.
    pub from: Spanned<AbsPath>,
    pub link: Vec<Link>,
}

/// `<root>/<path>` → `<from>/<path>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Link {
    pub path: Spanned<RelPath>,
    /// What to do when `<from>/<path>` does not exist.
    #[serde(default = "default_missing")]
    pub missing: Spanned<Missing>,
}

fn default_missing() -> Spanned<Missing> {
    Spanned::unspanned(Missing::Fail)
}

/// The unit's time limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Timeouts {
    /// The whole start: preflight, builds, pull, up and health. Default: the worst-case budget deployc computes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Spanned<Duration>>,
    /// How long the containers get to stop, all of them; what is left then is killed.
    #[serde(default = "default_stop")]
    pub stop: Spanned<Duration>,
    /// How long Compose lets each container stop before killing it; below `stop`.
    /// Default: each service's own `stop_grace_period` in the compose file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Spanned<Duration>>,
    /// The reload (`compose up` of the current images).
    #[serde(default = "default_reload")]
    pub reload: Spanned<Duration>,
    /// Pulling one external image.
    #[serde(default = "default_pull")]
    pub pull: Spanned<Duration>,
    /// `compose up`.
    #[serde(default = "default_up")]
    pub up: Spanned<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            start: None,
            stop: default_stop(),
            containers: None,
            reload: default_reload(),
            pull: default_pull(),
            up: default_up(),
        }
    }
}

fn default_stop() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(120))
}

fn default_reload() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(120))
}

fn default_pull() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(600))
}

fn default_up() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(300))
}

/// Health checks run after `up`, and by `<project>-build.sh health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Health {
    /// Services whose containers must be running.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running: Vec<Spanned<Name>>,
    /// URLs that must answer with the given status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpCheck>,
    /// How long the checks may take to pass.
    #[serde(default = "default_health_timeout")]
    pub timeout: Spanned<Duration>,
    /// How often they are tried.
    #[serde(default = "default_health_interval")]
    pub interval: Spanned<Duration>,
    /// What a start whose health checks fail does with the containers.
    #[serde(default)]
    pub on_failure: Spanned<HealthFailure>,
    /// How often a timer checks the running deployment and recovers it. Without it, nothing does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<Spanned<Duration>>,
    /// How many times the monitor may restart the unit within `within`.
    #[serde(default = "default_restarts")]
    pub restarts: Spanned<u32>,
    /// The window `restarts` counts in.
    #[serde(default = "default_within")]
    pub within: Spanned<Duration>,
}

fn default_restarts() -> Spanned<u32> {
    Spanned::unspanned(3)
}

fn default_within() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(3600))
}

pub fn default_health_timeout() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(300))
}

pub fn default_health_interval() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(5))
}

/// An HTTP check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpCheck {
    pub url: Spanned<Url>,
    /// The expected status code.
    #[serde(default = "default_status")]
    pub status: Spanned<u16>,
}

fn default_status() -> Spanned<u16> {
    Spanned::unspanned(200)
}

/// The EC2 host's bootstrap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Host {
    /// The distribution of the host: only its install steps are rendered, and the
    /// bootstrap refuses to run on another.
    #[serde(default)]
    pub os: Spanned<HostOs>,
    /// More packages to install, beside what the bootstrap installs itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Spanned<Package>>,
    /// The repository cloned into the project root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<Repo>,
    #[serde(default)]
    pub retry: Retry,
    /// How long to wait for the container engine to answer.
    #[serde(default = "default_docker_wait")]
    pub docker_wait: Spanned<Duration>,
    /// An SSM parameter whose value becomes the project's env-file (mode 0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<Spanned<SsmRef>>,
    /// The user-data log on the host.
    #[serde(default = "default_host_log")]
    pub log: Spanned<AbsPath>,
    /// Deliver `user-data.sh.gz` (cloud-init reads gzip user-data), written beside
    /// the readable `user-data.sh` that reviewers diff; `#false` delivers `user-data.sh`.
    #[serde(default = "default_gzip")]
    pub gzip: Spanned<bool>,
    #[serde(skip)]
    pub span: Span,
}

fn default_gzip() -> Spanned<bool> {
    Spanned::unspanned(true)
}

fn default_docker_wait() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(120))
}

fn default_host_log() -> Spanned<AbsPath> {
    Spanned::unspanned("/var/log/user-data.log".parse().expect("a valid absolute path"))
}

/// A git repository to clone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Repo {
    pub url: Spanned<Url>,
    #[serde(default = "default_branch")]
    pub branch: Spanned<Branch>,
    /// The SSM parameter holding an access token for the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Spanned<SsmRef>>,
}

fn default_branch() -> Spanned<Branch> {
    Spanned::unspanned("main".parse().expect("a valid branch"))
}

/// How network steps of the bootstrap are retried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, the first one included.
    #[serde(default = "default_attempts")]
    pub attempts: Spanned<u32>,
    /// The delay before the second attempt.
    #[serde(default = "default_retry_delay")]
    pub delay: Spanned<Duration>,
    #[serde(default = "default_backoff")]
    pub backoff: Spanned<Backoff>,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: default_attempts(),
            delay: default_retry_delay(),
            backoff: default_backoff(),
        }
    }
}

/// Six attempts 5 s apart, doubling: 2m35s in all, longer than a new
/// instance role takes to reach a new instance.
fn default_attempts() -> Spanned<u32> {
    Spanned::unspanned(6)
}

fn default_retry_delay() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(5))
}

fn default_backoff() -> Spanned<Backoff> {
    Spanned::unspanned(Backoff::Exponential)
}

/// The CloudWatch agent's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Cloudwatch {
    pub log_group: Spanned<LogGroup>,
    /// How long CloudWatch keeps the logs, in days (one of the periods CloudWatch accepts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<Spanned<i64>>,
    /// More files to ship, beside the user-data log and the build logs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file: Vec<LogFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
}

/// A file shipped to the log group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogFile {
    pub path: Spanned<AbsPath>,
    /// The log stream. Default: `{instance_id}/<file name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<Spanned<LogStream>>,
}

/// Host metrics to collect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Metrics {
    #[serde(default = "default_metrics_interval")]
    pub interval: Spanned<Duration>,
    /// Collect memory use.
    #[serde(default)]
    pub memory: bool,
    /// Collect disk use of these mount points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disk: Vec<Spanned<AbsPath>>,
    #[serde(skip)]
    pub span: Span,
}

fn default_metrics_interval() -> Spanned<Duration> {
    Spanned::unspanned(Duration::from_secs(60))
}

/// Where failures, recoveries and rollbacks are announced. A failing
/// notification is logged and never changes the outcome it reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Notify {
    /// SNS topics to publish to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sns: Vec<Spanned<SnsTopic>>,
    /// SSM parameters holding Slack-compatible webhook URLs, which are secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook: Vec<Spanned<SsmRef>>,
    #[serde(skip)]
    pub span: Span,
    /// A destination was given and refused: the block is not reported again as empty.
    #[serde(skip)]
    pub refused: bool,
}

/// A container registry the host logs in to, with credentials it fetches itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Registry {
    /// The registry's host name, with its port if not the default.
    pub host: Spanned<RegistryHost>,
    /// An Amazon ECR registry: log in with `aws ecr get-login-password`.
    #[serde(default)]
    pub ecr: Spanned<bool>,
    /// The user name to log in with, beside `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Spanned<Text>>,
    /// The SSM parameter holding the password or token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Spanned<SsmRef>>,
    #[serde(skip)]
    pub span: Span,
}

/// A lint silenced on purpose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Allow {
    pub lint: Spanned<Lint>,
    /// Why: reviewers read it.
    pub reason: Spanned<Text>,
}

/// `KEY=value` pairs in the order written; a JSON object in JSON specs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Vars(pub Vec<Var>);

#[derive(Clone, Debug, PartialEq)]
pub struct Var {
    pub key: Spanned<EnvKey>,
    pub value: Spanned<Text>,
}

impl Vars {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Var> {
        self.0.iter()
    }

    pub fn get(&self, key: &str) -> Option<&Var> {
        self.0.iter().find(|v| v.key.as_str() == key)
    }
}

impl Serialize for Vars {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for var in &self.0 {
            map.serialize_entry(var.key.as_str(), var.value.as_str())?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Vars {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VarsVisitor;

        impl<'de> Visitor<'de> for VarsVisitor {
            type Value = Vars;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of variable names to string values")
            }

            // serde_json hands entries over in document order, which is the order we keep.
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Vars, A::Error> {
                let mut vars: Vec<Var> = Vec::new();
                while let Some((key, value)) = access.next_entry::<EnvKey, Text>()? {
                    if vars.iter().any(|v| *v.key == key) {
                        return Err(serde::de::Error::custom(format!("`{key}` is set twice")));
                    }
                    vars.push(Var {
                        key: Spanned::unspanned(key),
                        value: Spanned::unspanned(value),
                    });
                }
                Ok(Vars(vars))
            }
        }

        deserializer.deserialize_map(VarsVisitor)
    }
}

impl JsonSchema for Vars {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Vars".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let value = generator.subschema_for::<Text>();
        schemars::json_schema!({
            "type": "object",
            "description": "Variables in the order written: names of letters, digits and `_`, values without control characters.",
            "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
            "additionalProperties": value
        })
    }
}
