//! Every problem deployc reports about a spec: its stable code, its severity,
//! and all of its wording. Nothing else in the crate phrases a diagnostic.

use std::borrow::Cow;
use std::fmt;

use crate::values::{Duration, Lint};

/// Block comments and `/-` runs deeper than this are not a spec.
pub const MAX_NESTING: usize = 16;
/// The language opens at most two `{` blocks at once (`cloudwatch { metrics { } }`);
/// one more is allowed. The KDL parser's error recovery doubles its time with
/// each block left open, so this is kept small.
pub const MAX_BLOCKS: usize = 3;
/// Every `{` in the text, strings and comments included, may be open at most
/// this many at once: room for a few stray braces in text, and a bound on
/// blocks the parser sees where a simple scan sees a string.
pub const MAX_OPEN_BRACES: usize = 6;
/// EC2 refuses user-data larger than this.
pub const USER_DATA_LIMIT: usize = 16_384;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    // Reading the file.
    EmptySpec,
    NotUtf8 {
        offset: usize,
    },
    TooLarge {
        size: usize,
    },
    TooDeep {
        what: crate::parse::Deep,
    },
    Syntax {
        message: String,
        help: Option<String>,
    },
    Json {
        message: String,
    },
    ParseTimedOut,

    // The shape of the document.
    UnknownNode {
        name: String,
        parent: &'static str,
        suggestion: Option<&'static str>,
    },
    UnknownProperty {
        name: String,
        node: String,
        suggestion: Option<&'static str>,
    },
    UnexpectedArgument {
        node: String,
        takes: &'static str,
    },
    MissingArgument {
        node: String,
        what: &'static str,
    },
    MissingProperty {
        node: String,
        property: &'static str,
    },
    WrongType {
        expected: &'static str,
        found: String,
    },
    DuplicateProperty {
        name: String,
    },
    DuplicateNode {
        name: String,
    },
    MissingNode {
        name: &'static str,
        parent: &'static str,
    },
    UnexpectedChildren {
        node: String,
    },
    TypeAnnotation,
    VersionNotFirst,
    QuotedVar {
        key: String,
        value: String,
    },

    // Single values.
    InvalidName {
        value: String,
    },
    InvalidEnvKey {
        value: String,
    },
    PathNotAbsolute {
        value: String,
    },
    PathNotRelative {
        value: String,
    },
    InvalidPathChar {
        value: String,
        bad: char,
    },
    PathParent {
        value: String,
    },
    EmptyValue,
    ControlCharacter,
    NonCharacter {
        code_point: u32,
    },
    InvalidDuration {
        value: String,
    },
    ZeroDuration {
        what: &'static str,
    },
    InvalidSize {
        value: String,
    },
    InvalidKeyword {
        value: String,
        expected: &'static [&'static str],
    },
    InvalidRetention {
        value: i128,
    },
    OutOfRange {
        what: &'static str,
        min: i128,
        max: i128,
        value: i128,
    },
    InvalidUrl {
        value: String,
    },
    InvalidSsmRef {
        value: String,
    },
    InvalidImage {
        value: String,
    },
    InvalidAccount {
        value: String,
    },
    InvalidPackage {
        value: String,
    },
    InvalidBranch {
        value: String,
    },
    InvalidLogGroup {
        value: String,
    },
    InvalidLogStream {
        value: String,
    },
    InvalidRegistry {
        value: String,
    },
    InvalidSnsTopic {
        value: String,
    },
    InvalidCpus {
        value: String,
    },
    DuplicateKey {
        key: String,
    },

    // The spec as a whole.
    UnsupportedVersion {
        version: i128,
    },
    DuplicateService {
        name: String,
    },
    BuildAndImage {
        service: String,
    },
    NeitherBuildNorImage {
        service: String,
    },
    UnknownService {
        name: String,
        suggestion: Option<String>,
    },
    RestartAlways,
    ParallelWithoutMax,
    MaxWithoutParallel,
    SsmNotSupportedHere,
    EnvFileWithoutTarget,
    TokenNeedsHttps,
    DuplicateLink {
        path: String,
    },
    LogDirIsFallback,
    NothingToMeasure,
    InvalidComposeProject {
        value: String,
    },
    AllowNotALint {
        name: String,
        suggestion: Option<&'static str>,
    },
    AllowAnError {
        name: String,
    },
    DuplicateAllow {
        lint: Lint,
    },
    RegistryCredentials {
        host: String,
    },
    RollbackWithoutBuilds,
    PrivateTmpLogs {
        dir: String,
    },
    NothingToNotify,
    /// Amazon Linux 2023 packages no podman.
    PodmanOnAl2023,
    NotEcr {
        host: String,
    },
    DuplicateRegistry {
        host: String,
    },
    InvalidImageName {
        image: String,
    },

    // Lints.
    StartBudget {
        start: String,
        budget: String,
        /// Each stage of the worst-case start and its limit, in order.
        stages: Vec<(String, Duration)>,
    },
    ContainerStopNotBelowStop {
        containers: String,
        stop: String,
    },
    EnvFileInContext {
        env_file: String,
        service: String,
        pattern: String,
    },
    LiteralSecret {
        what: String,
    },
    UserDataTooLarge {
        size: usize,
        gzipped: bool,
        /// What the script carries and its size, largest first.
        parts: Vec<(&'static str, usize)>,
    },
    ParallelMemory {
        max: u32,
        peak: String,
        available: String,
    },
    ArgOverride {
        key: String,
        shared: String,
        service_value: String,
    },
    UnpinnedImage {
        image: String,
    },
    UnusedAllow {
        lint: Lint,
    },
    MissingIgnore {
        /// Why the build is a Go build with `vendor/` in its context.
        reason: IgnoreReason,
    },
    MemoryEstimates {
        missing: Vec<String>,
        built: usize,
    },

    // The artifacts on disk.
    ArtifactEdited {
        path: String,
    },
    ArtifactNotGenerated {
        path: String,
    },
    ArtifactMergeConflicted {
        path: String,
    },
    ArtifactStale {
        path: String,
        change: &'static str,
    },
    FolderOfAnotherSpec {
        dir: String,
        /// The spec the folder's manifest names.
        owner: String,
        spec: String,
        /// A folder of its own to suggest.
        own_folder: String,
    },
    OutputMissing {
        dir: String,
        spec: String,
    },
    ManifestUnreadable {
        path: String,
        reason: String,
    },
}

impl Problem {
    pub fn code(&self) -> &'static str {
        use Problem::*;
        match self {
            EmptySpec => "E0001",
            NotUtf8 { .. } => "E0002",
            TooLarge { .. } => "E0003",
            TooDeep { .. } => "E0004",
            Syntax { .. } => "E0005",
            Json { .. } => "E0006",
            ParseTimedOut => "E0007",
            UnknownNode { .. } => "E0101",
            UnknownProperty { .. } => "E0102",
            UnexpectedArgument { .. } => "E0103",
            MissingArgument { .. } => "E0104",
            MissingProperty { .. } => "E0105",
            WrongType { .. } => "E0106",
            DuplicateProperty { .. } => "E0107",
            DuplicateNode { .. } => "E0108",
            MissingNode { .. } => "E0109",
            UnexpectedChildren { .. } => "E0110",
            TypeAnnotation => "E0111",
            VersionNotFirst => "E0112",
            QuotedVar { .. } => "E0113",
            InvalidName { .. } => "E0201",
            InvalidEnvKey { .. } => "E0202",
            PathNotAbsolute { .. } => "E0203",
            PathNotRelative { .. } => "E0204",
            InvalidPathChar { .. } | PathParent { .. } => "E0205",
            EmptyValue => "E0206",
            ControlCharacter => "E0207",
            NonCharacter { .. } => "E0222",
            InvalidDuration { .. } => "E0208",
            ZeroDuration { .. } => "E0209",
            InvalidSize { .. } => "E0210",
            InvalidKeyword { .. } => "E0211",
            InvalidRetention { .. } => "E0212",
            OutOfRange { .. } => "E0213",
            InvalidUrl { .. } => "E0214",
            InvalidSsmRef { .. } => "E0215",
            InvalidImage { .. } => "E0216",
            InvalidAccount { .. } => "E0217",
            InvalidPackage { .. } => "E0218",
            InvalidBranch { .. } => "E0219",
            InvalidLogGroup { .. } | InvalidLogStream { .. } => "E0220",
            InvalidRegistry { .. } => "E0223",
            InvalidSnsTopic { .. } => "E0224",
            InvalidCpus { .. } => "E0225",
            DuplicateKey { .. } => "E0221",
            UnsupportedVersion { .. } => "E0301",
            DuplicateService { .. } => "E0302",
            BuildAndImage { .. } => "E0303",
            NeitherBuildNorImage { .. } => "E0304",
            UnknownService { .. } => "E0305",
            RestartAlways => "E0306",
            ParallelWithoutMax => "E0307",
            MaxWithoutParallel => "E0308",
            SsmNotSupportedHere => "E0309",
            EnvFileWithoutTarget => "E0310",
            TokenNeedsHttps => "E0311",
            DuplicateLink { .. } => "E0312",
            LogDirIsFallback => "E0313",
            NothingToMeasure => "E0314",
            InvalidComposeProject { .. } => "E0315",
            AllowNotALint { .. } => "E0316",
            AllowAnError { .. } => "E0317",
            DuplicateAllow { .. } => "E0318",
            InvalidImageName { .. } => "E0319",
            RegistryCredentials { .. } => "E0320",
            NotEcr { .. } => "E0321",
            DuplicateRegistry { .. } => "E0322",
            RollbackWithoutBuilds => "E0323",
            PrivateTmpLogs { .. } => "E0325",
            NothingToNotify => "E0324",
            PodmanOnAl2023 => "E0326",
            StartBudget { .. } => "E0401",
            ContainerStopNotBelowStop { .. } => "E0402",
            LiteralSecret { .. } => "E0403",
            UserDataTooLarge { .. } => "E0404",
            EnvFileInContext { .. } => "E0405",
            ParallelMemory { .. } => "W0501",
            ArgOverride { .. } => "W0502",
            UnpinnedImage { .. } => "W0503",
            UnusedAllow { .. } => "W0504",
            MissingIgnore { .. } => "W0505",
            MemoryEstimates { .. } => "W0506",
            ArtifactEdited { .. } | ArtifactMergeConflicted { .. } => "E0601",
            ArtifactNotGenerated { .. } => "E0602",
            ArtifactStale { .. } => "W0603",
            FolderOfAnotherSpec { .. } => "E0604",
            OutputMissing { .. } => "W0605",
            ManifestUnreadable { .. } => "E0606",
        }
    }

    pub fn severity(&self) -> Severity {
        if self.code().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    /// The lint this warning belongs to, which `allow` can silence.
    pub fn lint(&self) -> Option<Lint> {
        match self {
            Problem::ParallelMemory { .. } => Some(Lint::ParallelMemory),
            Problem::ArgOverride { .. } => Some(Lint::ArgOverride),
            Problem::UnpinnedImage { .. } => Some(Lint::UnpinnedImage),
            Problem::MissingIgnore { .. } => Some(Lint::MissingIgnore),
            Problem::MemoryEstimates { .. } => Some(Lint::MemoryEstimates),
            _ => None,
        }
    }

    /// The one-line summary, with text from the spec escaped.
    pub fn message(&self) -> String {
        escape_controls(&self.message_text(), Newlines::Escape).into_owned()
    }

    /// Text under the caret, with text from the spec escaped.
    pub fn label(&self) -> Option<String> {
        self.label_text()
            .map(|text| escape_controls(&text, Newlines::Escape).into_owned())
    }

    /// Supporting detail, shown between the source and the help; may span
    /// lines. Text from the spec in it is escaped, newlines included.
    pub fn note(&self) -> Option<String> {
        self.note_text()
            .map(|text| escape_controls(&text, Newlines::Keep).into_owned())
    }

    /// How to fix it, with text from the spec escaped.
    pub fn help(&self) -> Option<String> {
        self.help_text()
            .map(|text| escape_controls(&text, Newlines::Escape).into_owned())
    }

    fn message_text(&self) -> String {
        use Problem::*;
        match self {
            EmptySpec => "the spec is empty".into(),
            ParseTimedOut => format!(
                "the KDL parser gave up on this spec after {}s",
                crate::parse::PARSE_DEADLINE.as_secs()
            ),
            NotUtf8 { offset } => format!("the spec is not valid UTF-8 (first bad byte at offset {offset})"),
            TooLarge { size } => format!(
                "the spec is {} bytes, more than the {} bytes a spec may have",
                size,
                crate::parse::MAX_SPEC_BYTES
            ),
            TooDeep { what } => match what {
                crate::parse::Deep::Nodes => format!("more than {MAX_BLOCKS} `{{` blocks are open at once"),
                crate::parse::Deep::Braces => {
                    format!(
                        "more than {MAX_OPEN_BRACES} `{{` are open at once, counting those in strings and comments"
                    )
                }
                crate::parse::Deep::Comments => {
                    format!("block comments nest more than {MAX_NESTING} levels deep")
                }
                crate::parse::Deep::Slashdashes => format!("more than {MAX_NESTING} `/-` in a row"),
            },
            Syntax { message, .. } if message.contains("unspecified error") => {
                "invalid KDL: unexpected input".into()
            }
            Syntax { message, .. } => format!("invalid KDL: {}", lowercase_first(message)),
            Json { message } => format!("invalid JSON spec: {message}"),
            UnknownNode { name, parent, .. } => format!("unknown node `{name}` in {parent}"),
            UnknownProperty { name, node, .. } => format!("unknown property `{name}` on `{node}`"),
            UnexpectedArgument { node, .. } => format!("unexpected argument to `{node}`"),
            MissingArgument { node, what } => format!("`{node}` needs an argument: {what}"),
            MissingProperty { node, property } => format!("`{node}` needs the property `{property}`"),
            WrongType { expected, found } => format!("expected {expected}, found {found}"),
            DuplicateProperty { name } => format!("property `{name}` is given twice"),
            DuplicateNode { name } => format!("`{name}` is given twice"),
            MissingNode { name, parent } => format!("{parent} has no `{name}`"),
            UnexpectedChildren { node } => format!("`{node}` takes no children"),
            TypeAnnotation => "type annotations are not part of the spec language".into(),
            VersionNotFirst => "`version` must be the first node".into(),
            QuotedVar { .. } => "a quoted `NAME=value` is one string, not a variable".into(),
            InvalidName { value } if value.is_empty() => "the name is empty".into(),
            InvalidName { value } => format!("invalid name `{value}`"),
            InvalidEnvKey { value } => format!("invalid variable name `{value}`"),
            PathNotAbsolute { value } => format!("`{value}` is not an absolute path"),
            PathNotRelative { value } => format!("`{value}` must be a relative path"),
            InvalidPathChar { value, bad } => format!("path `{value}` contains {}", describe_char(*bad)),
            PathParent { value } => format!("path `{value}` contains `..`"),
            EmptyValue => "empty value".into(),
            ControlCharacter => "the value contains a control character".into(),
            NonCharacter { code_point } => {
                format!("the value contains U+{code_point:04X}, a Unicode noncharacter")
            }
            InvalidDuration { value } => format!("invalid duration `{value}`"),
            ZeroDuration { what } => format!("{what} cannot be zero"),
            InvalidSize { value } => format!("invalid size `{value}`"),
            InvalidKeyword { value, .. } => format!("invalid value `{value}`"),
            InvalidRetention { value } => format!("CloudWatch cannot keep logs for {value} days"),
            OutOfRange {
                what,
                min,
                max,
                value,
            } => {
                format!("{what} must be between {min} and {max}, not {value}")
            }
            InvalidUrl { value } => format!("invalid URL `{value}`"),
            // Not echoed unless it is a reference: a literal here may be the secret itself.
            InvalidSsmRef { value } if value.starts_with("ssm:") => {
                format!("invalid SSM reference `{value}`")
            }
            InvalidSsmRef { .. } => "expected an `ssm:` reference, not a literal value".into(),
            InvalidImage { value } => format!("invalid image reference `{value}`"),
            InvalidAccount { value } => format!("invalid user or group name `{value}`"),
            InvalidPackage { value } => format!("invalid package name `{value}`"),
            InvalidBranch { value } => format!("invalid branch name `{value}`"),
            InvalidLogGroup { value } => format!("invalid log group name `{value}`"),
            InvalidLogStream { value } => format!("invalid log stream name `{value}`"),
            InvalidRegistry { value } => format!("invalid registry `{value}`"),
            InvalidSnsTopic { value } => format!("invalid SNS topic ARN `{value}`"),
            InvalidCpus { value } => format!("invalid number of CPUs `{value}`"),
            DuplicateKey { key } => format!("`{key}` is set twice"),
            UnsupportedVersion { version } => format!("unsupported spec version {version}"),
            DuplicateService { name } => format!("service `{name}` is defined twice"),
            BuildAndImage { service } => format!("service `{service}` has both `build` and `image`"),
            NeitherBuildNorImage { service } => {
                format!("service `{service}` has neither `build` nor `image`")
            }
            UnknownService { name, .. } => format!("no service named `{name}`"),
            RestartAlways => "`restart \"always\"` is not possible for this unit".into(),
            ParallelWithoutMax => "parallel builds need a limit".into(),
            MaxWithoutParallel => "`max` only applies to parallel builds".into(),
            SsmNotSupportedHere => "SSM references are not read here".into(),
            EnvFileWithoutTarget => "`env-file from=` needs the project's `env-file`".into(),
            TokenNeedsHttps => "a repository token needs an https:// URL".into(),
            DuplicateLink { path } => format!("`{path}` is linked twice"),
            LogDirIsFallback => "the log directory and its fallback are the same".into(),
            NothingToMeasure => "`metrics` selects nothing to collect".into(),
            InvalidComposeProject { value } => format!("`{value}` is not a valid Compose project name"),
            AllowNotALint { name, .. } => format!("`{name}` is not a lint"),
            AllowAnError { name } => format!("`{name}` is an error, not a lint"),
            DuplicateAllow { lint } => format!("`{lint}` is allowed twice"),
            RegistryCredentials { host } => format!("`registry \"{host}\"` needs one way to log in"),
            NotEcr { host } => format!("`{host}` is not an Amazon ECR registry"),
            DuplicateRegistry { host } => format!("registry `{host}` is given twice"),
            RollbackWithoutBuilds => {
                "`on-failure \"rollback\"` has nothing to roll back: no service is built here".into()
            }
            NothingToNotify => "`notify` names nowhere to send notifications".into(),
            PodmanOnAl2023 => "Amazon Linux 2023 has no podman package".into(),
            PrivateTmpLogs { dir } => {
                format!("build logs in `{dir}` vanish when the unit stops: its /tmp is its own")
            }
            InvalidImageName { image } => {
                format!("the image of this service would be `{image}`, which Docker refuses")
            }
            StartBudget { start, budget, .. } => {
                format!("start timeout {start} is shorter than the worst-case start, {budget}")
            }
            ContainerStopNotBelowStop { containers, stop } => {
                format!("containers get {containers} to stop, which is not below the stop timeout {stop}")
            }
            LiteralSecret { what } => format!("{what} looks like a secret written into the spec"),
            EnvFileInContext {
                env_file, service, ..
            } => format!(
                "the env-file `{env_file}` is in the build context of `{service}`, so its build would be sent the secrets"
            ),
            UserDataTooLarge { size, .. } => format!(
                "user-data is {size} bytes, {} over EC2's limit of {USER_DATA_LIMIT} bytes",
                size - USER_DATA_LIMIT
            ),
            ParallelMemory { max, peak, available } => format!(
                "{max} parallel builds may need {peak} of memory, more than `min-free memory` ({available})"
            ),
            ArgOverride {
                key,
                shared,
                service_value,
            } => format!(
                "build argument `{key}` is \"{service_value}\" here but \"{shared}\" for every other build"
            ),
            UnpinnedImage { image } => format!("image `{image}` is not pinned"),
            UnusedAllow { lint } => format!("`allow \"{lint}\"` silences nothing"),
            MissingIgnore {
                reason: IgnoreReason::ModMod,
            } => "Go builds here use `-mod=mod`, yet `vendor/` is still sent with their context".into(),
            MissingIgnore {
                reason: IgnoreReason::VendorOnDisk { service },
            } => format!(
                "the build context of `{service}` has a `vendor/` directory, and builds would send it"
            ),
            MemoryEstimates { missing, built } if missing.len() == *built => {
                "the parallel builds give no `memory` estimates".into()
            }
            MemoryEstimates { missing, built } => format!(
                "{} of the {built} parallel builds {} no `memory` estimate",
                missing.len(),
                if missing.len() == 1 { "gives" } else { "give" }
            ),
            ArtifactEdited { path } => format!("`{path}` was edited by hand since it was generated"),
            ArtifactNotGenerated { path } => format!("`{path}` exists but was not generated by deployc"),
            ArtifactMergeConflicted { path } => format!("`{path}` holds git's merge conflict markers"),
            ArtifactStale { path, change } => {
                format!("`{path}` is out of date: `deployc render` would have {change} it")
            }
            FolderOfAnotherSpec { dir, owner, spec, .. } => {
                format!("`{dir}` holds the artifacts of `{owner}`, not of `{spec}`")
            }
            OutputMissing { dir, spec } => {
                format!("`{dir}` does not exist: `{spec}` has not been rendered there")
            }
            ManifestUnreadable { path, reason } => {
                format!("`{path}` is not a manifest deployc can read: {reason}")
            }
        }
    }

    fn label_text(&self) -> Option<String> {
        use Problem::*;
        let text = match self {
            UnknownNode { .. } | UnknownProperty { .. } => "not known here",
            UnexpectedArgument { .. } => "not expected",
            DuplicateProperty { .. } | DuplicateNode { .. } | DuplicateKey { .. } => "given again here",
            DuplicateService { .. } => "defined again here",
            DuplicateLink { .. } => "linked again here",
            ZeroDuration { .. } => "zero",
            UnknownService { .. } => "not a service of this spec",
            LiteralSecret { .. } => "literal secret (masked)",
            MemoryEstimates { .. } => "builds run in parallel here",
            StartBudget { .. } => "too short",
            _ => return None,
        };
        Some(text.to_owned())
    }

    fn note_text(&self) -> Option<String> {
        use Problem::*;
        match self {
            StartBudget { stages, .. } => Some(budget_table(stages)),
            UserDataTooLarge { parts, gzipped, .. } => {
                let listed: Vec<String> = parts
                    .iter()
                    .map(|(part, size)| format!("{part} {size} bytes"))
                    .collect();
                let when = if *gzipped { " before compression" } else { "" };
                Some(format!("it carries{when}: {}", listed.join(", ")))
            }
            MemoryEstimates { missing, .. } => {
                let missing: Vec<String> = missing.iter().map(|name| one_line(name)).collect();
                Some(format!("no estimate: {}", list(&missing)))
            }
            MissingIgnore {
                reason: IgnoreReason::VendorOnDisk { .. },
            } => Some("vendor/ is copied into every build context that holds it; several parallel builds copying it at once can run the host out of memory".into()),
            MissingIgnore {
                reason: IgnoreReason::ModMod,
            } => Some("with `-mod=mod` Go reads the module cache, so vendor/ is dead weight in every build context".into()),
            _ => None,
        }
    }

    fn help_text(&self) -> Option<String> {
        use Problem::*;
        let text = match self {
            EmptySpec => "a spec starts with `version 1` and a `project` node; see the examples folder".into(),
            ParseTimedOut => "the parser's error recovery is slow on some broken input, such as `/-` before a block that is never closed; fix the syntax near unclosed `{` and `/-`".into(),
            NotUtf8 { .. } => "save the spec as UTF-8 text".into(),
            TooLarge { .. } => "a spec describes one deployment in a few KiB; is this the right file?".into(),
            TooDeep {
                what: crate::parse::Deep::Nodes,
            } => format!("the language opens at most 2 blocks at once and deployc accepts {MAX_BLOCKS}; close the blocks"),
            TooDeep {
                what: crate::parse::Deep::Braces,
            } => "unclosed `{` in strings or comments count too, because the KDL parser's error recovery may read them as blocks; balance or remove the stray braces".into(),
            TooDeep { .. } => format!(
                "deployc accepts {MAX_NESTING} levels of block comments or `/-` in a row; is this the right file?"
            ),
            Syntax { help, .. } => return help.clone(),
            Json { .. } => "see `deployc schema` for the fields of a JSON spec".into(),
            UnknownNode { suggestion: Some(s), .. } | UnknownProperty { suggestion: Some(s), .. } => {
                format!("did you mean `{s}`?")
            }
            UnknownNode { parent, .. } => format!(
                "remove it; the language reference (`deployc language`, docs/language.md) lists what {parent} may contain"
            ),
            UnknownProperty { node, .. } => format!(
                "remove it; the language reference (`deployc language`, docs/language.md) lists the properties of `{node}`"
            ),
            UnexpectedArgument { node, takes } => format!("`{node}` takes {takes}"),
            MissingArgument { node, what } if what.contains("KEY=") => {
                format!("write `NAME=\"value\"` pairs after the node name, such as `{node} LOG_LEVEL=\"info\"`")
            }
            MissingArgument { node, .. } => format!("write it after the node name: `{node} \"...\"`"),
            MissingProperty { node, property } => format!("add `{property}=\"...\"` to `{node}`"),
            WrongType { expected, .. } if expected.contains("duration") => {
                "durations are strings with units, such as \"90s\", \"20m\" or \"1h30m\"".into()
            }
            WrongType { expected, .. } if expected.contains("size") => {
                "sizes are strings with units, such as \"512M\" or \"10G\"".into()
            }
            WrongType { expected, .. } if expected.contains("string") => "put the value in double quotes".into(),
            WrongType { expected, .. } if expected.contains("boolean") => "write `#true` or `#false`".into(),
            WrongType { .. } => return None,
            DuplicateProperty { .. } => "remove one of them".into(),
            DuplicateNode { name } => format!("`{name}` may appear once here; remove one"),
            MissingNode { name: "version", .. } => "start the spec with `version 1`".into(),
            MissingNode { name, .. } => format!("add a `{name}` node"),
            UnexpectedChildren { .. } => "remove the `{ ... }` block".into(),
            TypeAnnotation => "remove the `(...)` type annotation".into(),
            VersionNotFirst => "move `version 1` to the top of the file".into(),
            QuotedVar { key, value } => format!("quote only the value: `{key}=\"{value}\"`"),
            InvalidName { .. } => "names use lowercase letters, digits, `_`, `.` and `-`, start with a letter or digit, and have at most 64 characters".into(),
            InvalidEnvKey { .. } => "variable names use letters, digits and `_`, and do not start with a digit".into(),
            PathNotAbsolute { .. } => "write the full path, starting with `/`".into(),
            PathNotRelative { .. } => "this path is relative to the project root; remove the leading `/`".into(),
            InvalidPathChar { .. } => "paths may use letters, digits and `.`, `_`, `-`, `/`, `@`, `+`; rename the directory or use a symlink".into(),
            PathParent { .. } => "paths may not climb out of where they are resolved; write the path without `..`".into(),
            EmptyValue => "give a value".into(),
            ControlCharacter => "remove newlines, tabs and other control characters".into(),
            NonCharacter { code_point } => format!(
                "remove U+{code_point:04X}: systemd drops a description that holds one, and refuses a unit whose environment does"
            ),
            InvalidDuration { .. } => "write a duration with units, largest first, such as \"90s\", \"20m\" or \"1h30m\"".into(),
            ZeroDuration { .. } => "give a limit greater than zero, such as \"30s\"".into(),
            InvalidSize { .. } => "write a size with a unit, such as \"512M\" or \"10G\"".into(),
            InvalidKeyword { value, expected } => match crate::suggest::closest(value, expected.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? expected one of {}", list(expected)),
                None => format!("expected one of {}", list(expected)),
            },
            InvalidRetention { value } => format!(
                "the agent accepts {}; the nearest is {}",
                RETENTION_DAYS.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
                nearest_retention(*value)
            ),
            OutOfRange { .. } => return None,
            InvalidUrl { .. } => "write a full http:// or https:// URL, without spaces or quotes".into(),
            InvalidSsmRef { .. } => "write `ssm:` and the parameter name, such as \"ssm:/app/prod/token\"".into(),
            InvalidImage { .. } => "write an image reference such as \"postgres:16.4\"".into(),
            InvalidAccount { .. } => "user and group names use lowercase letters, digits, `_` and `-`".into(),
            InvalidPackage { .. } => "write the name the host's package manager knows, such as \"git\"".into(),
            InvalidBranch { .. } => "write a plain branch name such as \"main\"".into(),
            InvalidLogGroup { .. } => "log group names use letters, digits and `.`, `-`, `_`, `/`, `#`".into(),
            InvalidLogStream { .. } => "log stream names may not contain `:` or `*`".into(),
            InvalidSnsTopic { .. } => "write the topic's ARN, such as \"arn:aws:sns:eu-west-1:123456789012:deploys\"".into(),
            InvalidCpus { .. } => "write a number of CPUs greater than zero, such as `2` or `0.5`".into(),
            InvalidRegistry { .. } => "write the registry's host name, with its port if not the default, such as \"ghcr.io\" or \"123456789012.dkr.ecr.eu-west-1.amazonaws.com\"".into(),
            DuplicateKey { .. } => "remove one of them".into(),
            UnsupportedVersion { .. } => "this deployc understands `version 1`".into(),
            DuplicateService { .. } => "service names must be unique; rename or remove one".into(),
            BuildAndImage { .. } => "a service is either built here (`build`) or pulled (`image`); remove one".into(),
            NeitherBuildNorImage { service } => format!(
                "add `build \"Dockerfile\"` to build it, or `image \"name:tag\"` to pull it, in `service \"{service}\"`"
            ),
            UnknownService { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            UnknownService { .. } => "name a `service` defined in this spec".into(),
            RestartAlways => "the unit is Type=oneshot, which systemd refuses to restart \"always\"; use \"on-failure\" (containers restart through the compose file's `restart:`)".into(),
            ParallelWithoutMax => "say how many builds may run at once, such as `order \"parallel\" max=3`: unbounded parallel builds exhaust memory".into(),
            MaxWithoutParallel => "use `order \"parallel\" max=N`, or remove `max`".into(),
            SsmNotSupportedHere => "values here are written into the artifacts as they are; put secrets in `host { env-file from=\"ssm:...\" }`".into(),
            EnvFileWithoutTarget => "add `env-file \".env\"` to `project` to say where the file goes".into(),
            TokenNeedsHttps => "the token is given to git over HTTPS; use the repository's https:// URL".into(),
            DuplicateLink { .. } => "remove one of the `link` nodes".into(),
            LogDirIsFallback => "the fallback is used when the log directory is not writable; pick another directory such as \"/tmp\"".into(),
            NothingToMeasure => "add `memory` or `disk \"/\"` inside `metrics`, or remove it".into(),
            InvalidComposeProject { .. } => "Compose project names use lowercase letters, digits, `_` and `-`, and start with a letter or digit".into(),
            AllowNotALint { suggestion: Some(s), .. } => format!("did you mean `{s}`? lints are {}", list(Lint::WORDS)),
            AllowNotALint { .. } => format!("lints are {}", list(Lint::WORDS)),
            AllowAnError { .. } => format!("only warnings can be allowed: {}", list(Lint::WORDS)),
            DuplicateAllow { .. } => "remove one of them".into(),
            RegistryCredentials { .. } => "use `ecr=#true` for Amazon ECR, or `user=\"...\" password=\"ssm:/...\"` for a registry that takes a password or token".into(),
            NotEcr { .. } => "ECR registries are named `<account>.dkr.ecr.<region>.amazonaws.com`; for another registry use `user=\"...\" password=\"ssm:/...\"`".into(),
            DuplicateRegistry { .. } => "remove one of them".into(),
            PrivateTmpLogs { .. } => "pick a directory outside /tmp and /var/tmp, or leave `fallback=` out: by default logs fall back to the project's state directory".into(),
            NothingToNotify => "add `sns \"arn:aws:sns:...\"` or `webhook \"ssm:/...\"` inside `notify`, or remove it".into(),
            PodmanOnAl2023 => "build with `docker \"docker\"` there, or bootstrap an Ubuntu or Debian host (`os \"ubuntu\"`)".into(),
            RollbackWithoutBuilds => "rollback brings back images built on this host; pulled images keep the tags the spec pins. Use \"down\" or \"keep\"".into(),
            InvalidImageName { .. } => "built images are named `<compose project>-<service>`, as Compose names them; Docker wants lowercase letters and digits separated by single `.`, `_`, `__` or dashes, so rename the service or the project".into(),
            StartBudget { budget, .. } => format!(
                "set `start \"{budget}\"` or longer, or leave `start` out and deployc uses the budget"
            ),
            ContainerStopNotBelowStop { .. } => "give containers less time than systemd gives the whole stop, such as `stop \"2m\" containers=\"90s\"`".into(),
            EnvFileInContext { pattern, .. } => format!(
                "add `ignored \"{pattern}\"` to `build`: the engine then leaves the file out, and the preflight checks that the context's ignore file lists it; `COPY . .` would otherwise bake the secrets into the image"
            ),
            LiteralSecret { .. } => "keep secrets in SSM: `token=\"ssm:/...\"` for the repository, `env-file from=\"ssm:/...\"` for the services".into(),
            UserDataTooLarge { gzipped: false, .. } => "remove `gzip #false` from `host`: cloud-init reads gzip'd user-data, and the scripts shrink to about a third".into(),
            UserDataTooLarge { gzipped: true, .. } => "move services into their own spec, each with its own `host`".into(),
            ParallelMemory { .. } => "lower `max`, or raise `min-free memory` to what the builds need at once".into(),
            ArgOverride { key, .. } => format!(
                "remove the service's `{key}` so every build uses the shared value, or silence this with `allow \"arg-override\" reason=\"...\"`"
            ),
            UnpinnedImage { .. } => "pin a tag or digest, such as \"postgres:16.4\", or `allow \"unpinned-image\" reason=\"...\"`".into(),
            UnusedAllow { .. } => "remove the `allow`".into(),
            MissingIgnore { .. } => "add `ignored \"vendor/\"` to `build`, and the preflight checks that every context's .dockerignore lists it; or `allow \"missing-ignore\" reason=\"...\"`".into(),
            MemoryEstimates { .. } => "give each built service its expected peak, such as `memory \"2G\"`, so `max` can be checked against `min-free memory`; or `allow \"memory-estimates\" reason=\"...\"`".into(),
            ArtifactEdited { .. } => "move the change into the spec and run `deployc render --force`; hand edits are lost at the next render".into(),
            ArtifactNotGenerated { .. } => "move it away, or let deployc own it with `deployc render --force`".into(),
            ArtifactMergeConflicted { .. } => "resolve the conflicts in the spec, then run `deployc render --force`: artifacts are rendered again from the merged spec, not merged by hand".into(),
            ArtifactStale { .. } => "run `deployc render` and commit the result; `deployc diff` shows the change".into(),
            FolderOfAnotherSpec { owner, spec, own_folder, .. } => format!(
                "give `{spec}` a folder of its own, such as `-o {own_folder}`; if `{spec}` replaces `{owner}` (a renamed spec), `deployc render --force` takes the folder over and removes what `{owner}` rendered"
            ),
            OutputMissing { .. } => "run `deployc render` and commit the folder with the spec; `deployc check --spec-only` checks the spec alone".into(),
            ManifestUnreadable { .. } => "`deployc render --force` writes the folder and its manifest afresh from the spec, overwriting artifacts that differ from it".into(),
        };
        Some(text)
    }
}

/// Whether escaping keeps line breaks: a note's own lines are deployc's wording.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Newlines {
    Keep,
    Escape,
}

/// Text as a diagnostic or message shows it: control characters (an escape
/// sequence can retitle or clear the terminal), bidirectional overrides
/// (which reorder what is read) and line separators are written as Rust
/// escapes, such as `\u{1b}`, so the reader sees what is there.
pub fn escape_controls(text: &str, newlines: Newlines) -> Cow<'_, str> {
    let escaped = |c: char| match c {
        '\n' => newlines == Newlines::Escape,
        c => c.is_control() || is_invisible_format(c),
    };
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if !escaped(c) {
                    c.to_string()
                } else if c.is_control() {
                    // `\n`, `\t`, `\r`, or `\u{1b}`
                    c.escape_debug().to_string()
                } else {
                    c.escape_unicode().to_string()
                }
            })
            .collect(),
    )
}

/// Characters that change how the text around them is shown: bidirectional
/// marks, embeddings, overrides and isolates, and the Unicode line and
/// paragraph separators.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

fn one_line(text: &str) -> String {
    escape_controls(text, Newlines::Escape).into_owned()
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i128; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

fn nearest_retention(value: i128) -> i128 {
    RETENTION_DAYS
        .iter()
        .copied()
        .min_by_key(|d| (d - value).abs())
        .unwrap_or(30)
}

/// Why a build counts as a Go build that would send `vendor/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IgnoreReason {
    /// A `GOFLAGS` build argument with `-mod=mod`.
    ModMod,
    /// A `vendor/` directory in the service's build context on this machine.
    VendorOnDisk { service: String },
}

/// The worst-case start as a table: each stage, its limit, and when it ends at the latest.
fn budget_table(stages: &[(String, Duration)]) -> String {
    // Stage names hold service names, which may be invalid ones kept after
    // their own error: a newline in one would break the table.
    let stages: Vec<(String, &Duration)> = stages
        .iter()
        .map(|(name, limit)| (one_line(name), limit))
        .collect();
    let width = stages
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    let mut lines = vec![format!(
        "worst-case start, each stage at its limit:\n{:<width$}  {:>7}  {:>7}",
        "stage", "limit", "ends by"
    )];
    let mut elapsed = 0;
    for (name, limit) in &stages {
        elapsed += limit.secs();
        lines.push(format!(
            "{name:<width$}  {:>7}  {:>7}",
            limit.to_string(),
            Duration::from_secs(elapsed).to_string()
        ));
    }
    lines.join("\n")
}

fn list<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| format!("`{}`", w.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c
            .to_lowercase()
            .chain(chars)
            .collect::<String>()
            .trim_end_matches('.')
            .to_owned(),
        None => String::new(),
    }
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}
