//! Scalar types of the spec language. Each one checks its own syntax when it
//! is built, from KDL or JSON alike, so a model that holds one holds a valid one.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// Characters allowed in paths. Paths reach unit files, bash and JSON; keeping
/// them to this set means no target needs quoting tricks for them.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '@' | '+')
}

fn is_noncharacter(c: char) -> bool {
    let code = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

/// Control characters, and the Unicode noncharacters (U+FDD0–U+FDEF and
/// U+xFFFE, U+xFFFF), which systemd refuses as not UTF-8 clean: it drops a
/// `Description=` holding one and will not load a unit whose `Environment=`
/// does.
fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_noncharacter(c))
}

/// The problem with free text that `has_control` refuses.
fn control_problem(s: &str) -> Problem {
    match s.chars().find(|&c| is_noncharacter(c)) {
        Some(c) if !s.chars().any(char::is_control) => Problem::NonCharacter {
            code_point: u32::from(c),
        },
        _ => Problem::ControlCharacter,
    }
}

macro_rules! string_newtype {
    ($(#[doc = $doc:literal])* $name:ident, $pattern:literal) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Problem;
            fn try_from(s: String) -> Result<Self, Problem> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": concat!($($doc),*).trim(),
                    "pattern": $pattern
                })
            }
        }
    };
}

string_newtype!(
    /// A project or service name: lowercase letters, digits, `_`, `.` and `-`, starting with a letter or digit.
    Name,
    r"^[a-z0-9][a-z0-9_.-]{0,63}$"
);

impl Name {
    /// Keeps an invalid name after its error was reported, so that later
    /// checks do not report the same service again as missing.
    pub(crate) fn recovered(s: &str) -> Self {
        Name(s.to_owned())
    }
}

impl FromStr for Name {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let mut chars = s.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
        if first_ok && rest_ok && s.len() <= 64 {
            Ok(Name(s.to_owned()))
        } else {
            Err(Problem::InvalidName { value: s.to_owned() })
        }
    }
}

string_newtype!(
    /// An environment variable or build argument name.
    EnvKey,
    r"^[A-Za-z_][A-Za-z0-9_]*$"
);

impl FromStr for EnvKey {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(EnvKey(s.to_owned()))
        } else {
            Err(Problem::InvalidEnvKey { value: s.to_owned() })
        }
    }
}

fn check_path_chars(s: &str) -> Result<(), Problem> {
    if let Some(bad) = s.chars().find(|&c| !is_path_char(c)) {
        return Err(Problem::InvalidPathChar {
            value: s.to_owned(),
            bad,
        });
    }
    if s.split('/').any(|part| part == "..") {
        return Err(Problem::PathParent { value: s.to_owned() });
    }
    Ok(())
}

string_newtype!(
    /// An absolute path on the host, such as `/opt/app`.
    AbsPath,
    r"^/[A-Za-z0-9._/@+-]*$"
);

impl FromStr for AbsPath {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        if !s.starts_with('/') {
            return Err(Problem::PathNotAbsolute { value: s.to_owned() });
        }
        check_path_chars(s)?;
        Ok(AbsPath(normalize_path(s)))
    }
}

impl AbsPath {
    /// `self/rel`, for a relative path that was validated on its own.
    pub fn join(&self, rel: &RelPath) -> AbsPath {
        if rel.0 == "." {
            return self.clone();
        }
        AbsPath(normalize_path(&format!("{}/{}", self.0, rel.0)))
    }

    pub fn join_str(&self, rel: &str) -> AbsPath {
        AbsPath(normalize_path(&format!("{}/{}", self.0, rel)))
    }

    /// Whether `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &AbsPath) -> bool {
        other.0 == "/"
            || self.0 == other.0
            || self
                .0
                .strip_prefix(&other.0)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// Drops `.` components, repeated and trailing slashes, so one directory has one spelling.
fn normalize_path(s: &str) -> String {
    let absolute = s.starts_with('/');
    let parts: Vec<&str> = s.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

string_newtype!(
    /// A path relative to the project root (or to a build context), such as `cmd` or `docker/Dockerfile`.
    RelPath,
    r"^[A-Za-z0-9._@+-][A-Za-z0-9._/@+-]*$"
);

impl FromStr for RelPath {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        if s.is_empty() {
            return Err(Problem::EmptyValue);
        }
        if s.starts_with('/') {
            return Err(Problem::PathNotRelative { value: s.to_owned() });
        }
        check_path_chars(s)?;
        Ok(RelPath(normalize_path(s)))
    }
}

string_newtype!(
    /// Free text: any characters but control characters (no newlines or tabs).
    Text,
    r"^[^\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]*$"
);

impl FromStr for Text {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        if has_control(s) {
            Err(control_problem(s))
        } else {
            Ok(Text(s.to_owned()))
        }
    }
}

string_newtype!(
    /// An `http://` or `https://` URL without whitespace or quotes.
    Url,
    r"^https?://[^\s'\u0022\\]+$"
);

impl FromStr for Url {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| {
            !r.is_empty()
                && !r.starts_with('/')
                && !r
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | '\\'))
        });
        if ok {
            Ok(Url(s.to_owned()))
        } else {
            Err(Problem::InvalidUrl { value: s.to_owned() })
        }
    }
}

impl Url {
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// `user[:password]@` before the host, which would put a credential in the URL.
    pub fn has_userinfo(&self) -> bool {
        let rest = self.0.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority.contains('@')
    }

    /// The host part, without port or brackets.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or(v6);
        }
        authority.split(':').next().unwrap_or(authority)
    }
}

string_newtype!(
    /// A reference to an AWS SSM parameter: `ssm:/path/to/parameter`.
    SsmRef,
    r"^ssm:/?[A-Za-z0-9_.\-/]+$"
);

impl FromStr for SsmRef {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let ok = s.strip_prefix("ssm:").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 2048
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
        });
        if ok {
            Ok(SsmRef(s.to_owned()))
        } else {
            Err(Problem::InvalidSsmRef { value: s.to_owned() })
        }
    }
}

impl SsmRef {
    /// The parameter name, as `aws ssm get-parameter --name` takes it.
    pub fn parameter(&self) -> &str {
        &self.0["ssm:".len()..]
    }
}

string_newtype!(
    /// An Amazon SNS topic's ARN: `arn:aws:sns:<region>:<account>:<topic>`.
    SnsTopic,
    r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
);

impl SnsTopic {
    /// The topic's region, which `aws sns publish` must be given.
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).expect("a validated ARN")
    }
}

impl FromStr for SnsTopic {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let parts: Vec<&str> = s.split(':').collect();
        let name = parts.get(5).map(|n| n.strip_suffix(".fifo").unwrap_or(n));
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[1].chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && parts[2] == "sns"
            && !parts[3].is_empty()
            && parts[3]
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && parts[4].len() == 12
            && parts[4].chars().all(|c| c.is_ascii_digit())
            && name.is_some_and(|n| {
                (1..=256).contains(&n.len())
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            });
        if ok {
            Ok(SnsTopic(s.to_owned()))
        } else {
            Err(Problem::InvalidSnsTopic { value: s.to_owned() })
        }
    }
}

/// A number of CPUs, such as 2 or 0.5, kept in thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpus(u32);

impl Cpus {
    /// The most a build may be given: far more than any host has.
    const MAX_MILLIS: u32 = 1024 * 1000;

    pub fn from_millis(millis: u32) -> Result<Self, Problem> {
        if (1..=Self::MAX_MILLIS).contains(&millis) {
            Ok(Cpus(millis))
        } else {
            Err(Problem::InvalidCpus {
                value: format!("{}", f64::from(millis) / 1000.0),
            })
        }
    }

    /// From a count that may have a fraction; finer than a thousandth is refused.
    pub fn from_f64(value: f64) -> Result<Self, Problem> {
        let millis = value * 1000.0;
        if value.is_finite() && millis.fract() == 0.0 && (1.0..=f64::from(Self::MAX_MILLIS)).contains(&millis)
        {
            Ok(Cpus(millis as u32))
        } else {
            Err(Problem::InvalidCpus {
                value: value.to_string(),
            })
        }
    }

    /// `--cpu-quota` for a `--cpu-period` of 100 ms.
    pub fn quota_per_100ms(self) -> u64 {
        u64::from(self.0) * 100
    }
}

impl fmt::Display for Cpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", f64::from(self.0) / 1000.0)
    }
}

impl Serialize for Cpus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(f64::from(self.0) / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Cpus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Cpus::from_f64(value).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Cpus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Cpus".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "description": "A number of CPUs, such as 2 or 0.5, in steps of a thousandth.",
            "exclusiveMinimum": 0,
            "maximum": 1024
        })
    }
}

string_newtype!(
    /// A container image reference, such as `postgres:16.4` or `ghcr.io/acme/api@sha256:...`.
    ImageRef,
    r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$"
);

impl FromStr for ImageRef {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let ok = s.len() <= 255
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | ':' | '@' | '-'));
        if ok {
            Ok(ImageRef(s.to_owned()))
        } else {
            Err(Problem::InvalidImage { value: s.to_owned() })
        }
    }
}

impl ImageRef {
    /// The tag, if the reference has one (`postgres:16.4` → `16.4`).
    pub fn tag(&self) -> Option<&str> {
        let without_digest = self.0.split('@').next().unwrap_or(&self.0);
        let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
        last.split_once(':').map(|(_, tag)| tag)
    }

    pub fn has_digest(&self) -> bool {
        self.0.contains('@')
    }
}

string_newtype!(
    /// A Unix user or group name.
    Account,
    r"^[a-z_][a-z0-9_-]{0,31}$"
);

impl FromStr for Account {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let mut chars = s.chars();
        let ok = s.len() <= 32
            && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
        if ok {
            Ok(Account(s.to_owned()))
        } else {
            Err(Problem::InvalidAccount { value: s.to_owned() })
        }
    }
}

string_newtype!(
    /// A package name for the host's package manager.
    Package,
    r"^[A-Za-z0-9][A-Za-z0-9.+_:~-]*$"
);

impl FromStr for Package {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '_' | ':' | '~' | '-'));
        if ok {
            Ok(Package(s.to_owned()))
        } else {
            Err(Problem::InvalidPackage { value: s.to_owned() })
        }
    }
}

string_newtype!(
    /// A git branch name.
    Branch,
    r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$"
);

impl FromStr for Branch {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let ok = s
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
            && !s.contains("..")
            && !s.ends_with('/')
            && !s.ends_with(".lock");
        if ok {
            Ok(Branch(s.to_owned()))
        } else {
            Err(Problem::InvalidBranch { value: s.to_owned() })
        }
    }
}

string_newtype!(
    /// A container registry's host name, with an optional port: `ghcr.io`, `registry.example.com:5000`.
    RegistryHost,
    r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$"
);

impl RegistryHost {
    /// The AWS region of an Amazon ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`).
    pub fn ecr_region(&self) -> Option<&str> {
        let rest = self.0.split_once(".dkr.ecr.")?.1;
        let region = rest.strip_suffix(".amazonaws.com")?;
        (!region.is_empty() && !region.contains('.')).then_some(region)
    }
}

impl FromStr for RegistryHost {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let (name, port) = match s.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (s, None),
        };
        let name_ok = name.len() <= 253
            && !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            });
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
        if name_ok && port_ok {
            Ok(RegistryHost(s.to_owned()))
        } else {
            Err(Problem::InvalidRegistry { value: s.to_owned() })
        }
    }
}

string_newtype!(
    /// A CloudWatch Logs log group name.
    LogGroup,
    r"^[.\-_/#A-Za-z0-9]{1,512}$"
);

impl FromStr for LogGroup {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let ok = !s.is_empty()
            && s.len() <= 512
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'));
        if ok {
            Ok(LogGroup(s.to_owned()))
        } else {
            Err(Problem::InvalidLogGroup { value: s.to_owned() })
        }
    }
}

string_newtype!(
    /// A CloudWatch Logs stream name; `{instance_id}`, `{hostname}`, `{local_hostname}` and `{ip_address}` are filled in by the agent.
    LogStream,
    r"^[^:*\u0000-\u001f\u007f]{1,512}$"
);

impl FromStr for LogStream {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let ok = !s.is_empty() && s.len() <= 512 && !has_control(s) && !s.contains([':', '*']);
        if ok {
            Ok(LogStream(s.to_owned()))
        } else {
            Err(Problem::InvalidLogStream { value: s.to_owned() })
        }
    }
}

/// A length of time, written like `"90s"`, `"20m"` or `"1h30m"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Duration(u64);

impl Duration {
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs)
    }

    pub fn secs(self) -> u64 {
        self.0
    }
}

impl FromStr for Duration {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let invalid = || Problem::InvalidDuration { value: s.to_owned() };
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut last_unit_rank = 0;
        for c in s.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let (rank, factor) = match c {
                'd' => (4, 86_400),
                'h' => (3, 3_600),
                'm' => (2, 60),
                's' => (1, 1),
                _ => return Err(invalid()),
            };
            // Units must be written largest first, each at most once: "1h30m", not "30m1h".
            if digits.is_empty() || (last_unit_rank != 0 && rank >= last_unit_rank) {
                return Err(invalid());
            }
            last_unit_rank = rank;
            let n: u64 = digits.parse().map_err(|_| invalid())?;
            total = n
                .checked_mul(factor)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(invalid)?;
            digits.clear();
        }
        if !digits.is_empty() || total > 365 * 86_400 {
            return Err(invalid());
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, self.0 % 3600 / 60, self.0 % 60);
        if self.0 == 0 {
            return f.write_str("0s");
        }
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for Duration {
    type Error = Problem;
    fn try_from(s: String) -> Result<Self, Problem> {
        s.parse()
    }
}

impl From<Duration> for String {
    fn from(d: Duration) -> String {
        d.to_string()
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A length of time: whole numbers with units d, h, m, s, largest first, such as \"90s\", \"20m\" or \"1h30m\".",
            "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
        })
    }
}

/// An amount of bytes, written like `"512M"` or `"10G"` (powers of 1024).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Size(u64);

const SIZE_UNITS: [(char, u64); 4] = [('T', 1 << 40), ('G', 1 << 30), ('M', 1 << 20), ('K', 1 << 10)];

impl Size {
    pub fn bytes(self) -> u64 {
        self.0
    }

    pub fn kib(self) -> u64 {
        self.0 / 1024
    }
}

impl FromStr for Size {
    type Err = Problem;
    fn from_str(s: &str) -> Result<Self, Problem> {
        let invalid = || Problem::InvalidSize { value: s.to_owned() };
        let body = s
            .strip_suffix(['B', 'b'])
            .filter(|b| b.ends_with(|c: char| c.is_ascii_alphabetic()))
            .unwrap_or(s);
        let unit = body.chars().last().ok_or_else(invalid)?.to_ascii_uppercase();
        let factor = SIZE_UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, f)| *f)
            .ok_or_else(invalid)?;
        let digits = &body[..body.len() - 1];
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        let n: u64 = digits.parse().map_err(|_| invalid())?;
        n.checked_mul(factor).map(Size).ok_or_else(invalid)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, factor) in SIZE_UNITS {
            if self.0.is_multiple_of(factor) {
                return write!(f, "{}{unit}", self.0 / factor);
            }
        }
        write!(f, "{}K", self.0.div_ceil(1024))
    }
}

impl TryFrom<String> for Size {
    type Error = Problem;
    fn try_from(s: String) -> Result<Self, Problem> {
        s.parse()
    }
}

impl From<Size> for String {
    fn from(s: Size) -> String {
        s.to_string()
    }
}

impl JsonSchema for Size {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An amount of bytes: a whole number with unit K, M, G or T (powers of 1024), such as \"512M\" or \"10G\".",
            "pattern": "^[0-9]+[KMGTkmgt][Bb]?$"
        })
    }
}

/// Implements the keyword enums of the language: parsing with the list of
/// accepted words (for diagnostics), display, and the kebab-case serde names.
macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant),+
        }

        impl $name {
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl FromStr for $name {
            type Err = Problem;
            fn from_str(s: &str) -> Result<Self, Problem> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(Problem::InvalidKeyword {
                        value: s.to_owned(),
                        expected: Self::WORDS,
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// How built services are built: one after another, or several at once.
    #[derive(Default)]
    Order {
        /// One build at a time, in spec order.
        #[default]
        Sequential = "sequential",
        /// Up to `max` builds at once, started in spec order.
        Parallel = "parallel",
    }
);

keyword_enum!(
    /// When systemd restarts the deployment after a failed start.
    RestartPolicy {
        /// Never restart.
        No = "no",
        /// Restart when a stage fails (build, pull, start or health check).
        OnFailure = "on-failure",
        /// Restart whenever the unit stops (not possible for a oneshot unit).
        Always = "always",
    }
);

keyword_enum!(
    /// What to do when a symlink's source does not exist.
    Missing {
        /// Stop the preflight (exit 4).
        Fail = "fail",
        /// Create an empty directory in its place and go on.
        EmptyDir = "empty-dir",
        /// Leave it out and go on.
        Skip = "skip",
    }
);

keyword_enum!(
    /// Whether a build may use the builder cache.
    CacheMode {
        /// Build from scratch (`--no-cache`).
        NoCache = "no-cache",
        /// Reuse cached layers.
        Cached = "cached",
    }
);

keyword_enum!(
    /// How the delay between retries grows.
    Backoff {
        /// The same delay every time.
        Constant = "constant",
        /// delay, 2×delay, 3×delay, …
        Linear = "linear",
        /// delay, 2×delay, 4×delay, …
        Exponential = "exponential",
    }
);

keyword_enum!(
    /// The distribution a `host` runs: which packages and downloads its bootstrap installs.
    #[derive(Default)]
    HostOs {
        /// Amazon Linux 2023, EC2's default: dnf.
        #[default]
        Al2023 = "al2023",
        /// Ubuntu 22.04 or 24.04: apt.
        Ubuntu = "ubuntu",
        /// Debian 12 or 13: apt.
        Debian = "debian",
    }
);

keyword_enum!(
    /// The container engine's command-line client.
    #[derive(Default)]
    Engine {
        /// Docker, with the Compose v2 plugin for `up` and `down`.
        #[default]
        Docker = "docker",
        /// Podman; builds need nothing but `podman` itself.
        Podman = "podman",
    }
);

keyword_enum!(
    /// How build progress is printed.
    #[derive(Default)]
    Progress {
        /// Full, uninterleaved output: every step and its complete output.
        #[default]
        Plain = "plain",
        /// The engine's default.
        Auto = "auto",
    }
);

keyword_enum!(
    /// What a start whose health checks fail does with the containers it started.
    #[derive(Default)]
    HealthFailure {
        /// Stop and remove them: the unit failed, so nothing of it runs.
        #[default]
        Down = "down",
        /// Leave them running, degraded, for someone to look at; the unit still fails.
        Keep = "keep",
        /// Bring back the images that last passed the health checks, and check again.
        Rollback = "rollback",
    }
);

keyword_enum!(
    /// A lint that `allow` can silence.
    Lint {
        /// Parallel builds whose expected memory exceeds `min-free memory`.
        ParallelMemory = "parallel-memory",
        /// A service build argument overriding a shared one with another value.
        ArgOverride = "arg-override",
        /// An external image without a pinned tag or digest.
        UnpinnedImage = "unpinned-image",
        /// A Go build whose context would carry `vendor/`.
        MissingIgnore = "missing-ignore",
        /// Parallel builds without the `memory` estimates their budget needs.
        MemoryEstimates = "memory-estimates",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_canonically() {
        let cases = [
            ("90s", 90, "1m30s"),
            ("20m", 1200, "20m"),
            ("1h30m", 5400, "1h30m"),
            ("1d", 86400, "24h"),
        ];
        for (text, secs, canonical) in cases {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.secs(), secs, "{text}");
            assert_eq!(d.to_string(), canonical);
            assert_eq!(canonical.parse::<Duration>().unwrap(), d);
        }
        for bad in ["", "90", "m", "1x", "30m1h", "1h1h", "-5s", "1.5h"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn sizes_parse_and_print_canonically() {
        assert_eq!("512M".parse::<Size>().unwrap().bytes(), 512 << 20);
        assert_eq!("10G".parse::<Size>().unwrap().to_string(), "10G");
        assert_eq!("1024M".parse::<Size>().unwrap().to_string(), "1G");
        assert_eq!("2gb".parse::<Size>().unwrap().to_string(), "2G");
        for bad in ["", "10", "G", "1.5G", "10X", "-1G"] {
            assert!(bad.parse::<Size>().is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn paths_are_checked_and_normalised() {
        assert_eq!(
            "/opt//app/./x/".parse::<AbsPath>().unwrap().as_str(),
            "/opt/app/x"
        );
        assert!("opt/app".parse::<AbsPath>().is_err());
        assert!("/opt/../etc".parse::<AbsPath>().is_err());
        assert!("/opt/my app".parse::<AbsPath>().is_err());
        assert!("/opt/%i".parse::<AbsPath>().is_err());
        assert_eq!("./cmd/".parse::<RelPath>().unwrap().as_str(), "cmd");
        assert_eq!(".".parse::<RelPath>().unwrap().as_str(), ".");
        assert!("/cmd".parse::<RelPath>().is_err());
        let root: AbsPath = "/opt/app".parse().unwrap();
        assert_eq!(root.join(&".".parse().unwrap()).as_str(), "/opt/app");
        assert!(root.join_str("x").starts_with(&root));
        assert!(!"/opt/apple".parse::<AbsPath>().unwrap().starts_with(&root));
    }

    #[test]
    fn text_refuses_what_systemd_cannot_read() {
        assert!("caf\u{e9} \u{1f980} $(x) %n".parse::<Text>().is_ok());
        for bad in [
            "a\nb",
            "\u{0}",
            "\u{85}",
            "\u{fdd0}",
            "\u{fffe}",
            "x\u{ffff}",
            "\u{10ffff}",
        ] {
            assert!(bad.parse::<Text>().is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn image_tags_and_url_parts() {
        let image: ImageRef = "registry:5000/postgres".parse().unwrap();
        assert_eq!(image.tag(), None);
        assert_eq!("postgres:16.4".parse::<ImageRef>().unwrap().tag(), Some("16.4"));
        let url: Url = "https://user:pw@github.com/acme/x".parse().unwrap();
        assert!(url.has_userinfo());
        assert_eq!(url.host(), "github.com");
        assert_eq!("http://[::1]:8080/h".parse::<Url>().unwrap().host(), "::1");
    }

    #[test]
    fn registry_hosts_and_ecr_regions() {
        let ecr: RegistryHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com".parse().unwrap();
        assert_eq!(ecr.ecr_region(), Some("eu-west-1"));
        assert_eq!("ghcr.io".parse::<RegistryHost>().unwrap().ecr_region(), None);
        assert!("127.0.0.1:5000".parse::<RegistryHost>().is_ok());
        for bad in [
            "",
            "GHCR.io",
            "ghcr.io/x",
            "-a.io",
            "a..io",
            "a.io:",
            "a.io:0",
            "a.io:70000",
            "https://a.io",
        ] {
            assert!(bad.parse::<RegistryHost>().is_err(), "{bad:?} should be rejected");
        }
    }
}
