//! The output folder: what a render would change there, and writing it safely.
//!
//! A manifest (a dotfile) records what deployc wrote and a hash of each file.
//! That is how a render tells its own unchanged files from hand edits, and
//! files it generated and no longer produces from files it never touched.
//! It is committed with the artifacts, so it is laid out for git to merge,
//! and a manifest git could not merge is read from both sides.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::render::Artifact;

pub const MANIFEST: &str = ".deployc-manifest";
const TEMP_SUFFIX: &str = ".deployc-tmp";

/// What deployc generated into a folder.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The spec the files were rendered from.
    pub spec: String,
    /// File name → `sha256:<hex>` of its bytes.
    pub files: BTreeMap<String, String>,
    /// While a render writes: what each file will hold. A render cut short
    /// leaves this behind, and the next one adds to it, so every version a
    /// render may have left on disk is known to be ours.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, BTreeSet<String>>,
}

pub fn hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl Manifest {
    fn of<'a>(spec: &str, artifacts: impl IntoIterator<Item = &'a Artifact>) -> Manifest {
        Manifest {
            spec: spec.to_owned(),
            files: artifacts
                .into_iter()
                .map(|a| (a.file.clone(), hash(&a.bytes)))
                .collect(),
            pending: BTreeMap::new(),
        }
    }

    /// Whether deployc wrote `bytes` as `file`.
    fn generated(&self, file: &str, bytes: &[u8]) -> bool {
        let h = hash(bytes);
        self.files.get(file) == Some(&h) || self.pending.get(file).is_some_and(|p| p.contains(&h))
    }

    fn knows(&self, file: &str) -> bool {
        self.files.contains_key(file) || self.pending.contains_key(file)
    }

    /// JSON with each value on a line of its own, below its file name: git
    /// merges changes a line apart, but not changes to neighbouring lines,
    /// so two branches that changed different artifacts merge cleanly.
    fn to_bytes(&self) -> Vec<u8> {
        let mut text = format!("{{\n  \"spec\": {},\n  \"files\": ", to_json(&self.spec));
        write_entries(
            &mut text,
            self.files.iter().map(|(file, hash)| (file, to_json(hash))),
        );
        if !self.pending.is_empty() {
            text.push_str(",\n  \"pending\": ");
            write_entries(
                &mut text,
                self.pending.iter().map(|(file, hashes)| (file, to_json(hashes))),
            );
        }
        text.push_str("\n}\n");
        text.into_bytes()
    }

    /// The manifest in `bytes`. One with git's conflict markers is read as
    /// each side of the merge, and every hash of any side counts as deployc's.
    fn parse(bytes: &[u8]) -> Previous {
        let error = match serde_json::from_slice(bytes) {
            Ok(manifest) => return Previous::Read(manifest),
            Err(e) => e,
        };
        let Some(sides) = std::str::from_utf8(bytes).ok().and_then(conflict_sides) else {
            return Previous::Unreadable(error.to_string());
        };
        let Ok(sides) = sides
            .iter()
            .map(|side| serde_json::from_str::<Manifest>(side))
            .collect::<Result<Vec<Manifest>, _>>()
        else {
            return Previous::Unreadable(
                "it has merge conflict markers, and a side of the merge is not a manifest".into(),
            );
        };
        let mut sides = sides.into_iter();
        let mut merged = sides.next().expect("a conflict has two sides");
        for side in sides {
            let recorded = side
                .files
                .into_iter()
                .map(|(file, hash)| (file, BTreeSet::from([hash])))
                .chain(side.pending);
            for (file, hashes) in recorded {
                for hash in hashes {
                    if merged.files.get(&file) != Some(&hash) {
                        merged.pending.entry(file.clone()).or_default().insert(hash);
                    }
                }
            }
        }
        Previous::Merged(merged)
    }
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("manifest values serialise")
}

/// `{ "key":\n value, ... }`, each key and each value on a line of its own.
fn write_entries<'a>(text: &mut String, entries: impl Iterator<Item = (&'a String, String)>) {
    let mut entries = entries.peekable();
    if entries.peek().is_none() {
        text.push_str("{}");
        return;
    }
    text.push('{');
    let mut first = true;
    for (key, value) in entries {
        let separator = if first { "" } else { "," };
        first = false;
        let key = serde_json::to_string(key).expect("file names serialise");
        text.push_str(&format!("{separator}\n    {key}:\n      {value}"));
    }
    text.push_str("\n  }");
}

/// Whether `bytes` hold the markers git leaves around a conflict it could not merge.
fn has_conflict_markers(bytes: &[u8]) -> bool {
    let mut lines = bytes.split(|b| *b == b'\n');
    lines.any(|line| line.starts_with(b"<<<<<<< ")) && lines.any(|line| line.starts_with(b">>>>>>> "))
}

/// The versions of a file that holds git's conflict markers: ours, theirs,
/// and the merge base when git wrote it (`merge.conflictStyle diff3`).
/// `None` when there are no markers.
fn conflict_sides(text: &str) -> Option<Vec<String>> {
    #[derive(Clone, Copy)]
    enum Part {
        Common,
        Ours,
        Base,
        Theirs,
    }
    if !has_conflict_markers(text.as_bytes()) {
        return None;
    }
    let (mut ours, mut base, mut theirs) = (String::new(), String::new(), String::new());
    let mut has_base = false;
    let mut part = Part::Common;
    for line in text.split_inclusive('\n') {
        let marker = match part {
            Part::Common if line.starts_with("<<<<<<< ") => Some(Part::Ours),
            Part::Ours if line.starts_with("||||||| ") => {
                has_base = true;
                Some(Part::Base)
            }
            Part::Ours | Part::Base if line.trim_end() == "=======" => Some(Part::Theirs),
            Part::Theirs if line.starts_with(">>>>>>> ") => Some(Part::Common),
            _ => None,
        };
        match (marker, part) {
            (Some(next), _) => part = next,
            (None, Part::Common) => {
                ours.push_str(line);
                base.push_str(line);
                theirs.push_str(line);
            }
            (None, Part::Ours) => ours.push_str(line),
            (None, Part::Base) => base.push_str(line),
            (None, Part::Theirs) => theirs.push_str(line),
        }
    }
    let mut sides = vec![ours, theirs];
    if has_base {
        sides.push(base);
    }
    Some(sides)
}

/// The manifest a survey found in the folder.
#[derive(Debug, PartialEq)]
enum Previous {
    Missing,
    Read(Manifest),
    /// Read from both sides of a merge conflict.
    Merged(Manifest),
    /// Not a manifest; says why.
    Unreadable(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Create,
    Update,
    Unchanged,
    Remove,
}

impl ChangeKind {
    pub fn past_tense(self) -> &'static str {
        match self {
            ChangeKind::Create => "created",
            ChangeKind::Update => "updated",
            ChangeKind::Unchanged => "unchanged",
            ChangeKind::Remove => "removed",
        }
    }
}

/// One file of the folder and what a render does to it.
#[derive(Clone, Debug)]
pub struct Change {
    pub file: String,
    pub kind: ChangeKind,
    /// What is on disk now.
    pub old: Option<Vec<u8>>,
    /// What the render writes (`None` for a removal).
    pub new: Option<Artifact>,
}

/// What a render must not overwrite or remove without `--force`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// Generated by deployc, then edited.
    HandEdited(String),
    /// Holds git's conflict markers: a merge of two renders.
    MergeConflicted(String),
    /// There before deployc, and not generated by it.
    NotGenerated(String),
    /// The folder holds the artifacts of another spec, named here: rendering
    /// would remove them. `--force` takes the folder over (a renamed spec).
    OtherSpec(String),
    /// The manifest cannot be read, for the reason given, so nothing in the
    /// folder is known to be deployc's. `--force` writes it afresh.
    UnreadableManifest(String),
}

impl Conflict {
    /// The file in conflict, if the conflict is about one file.
    pub fn file(&self) -> Option<&str> {
        match self {
            Conflict::HandEdited(f) | Conflict::MergeConflicted(f) | Conflict::NotGenerated(f) => Some(f),
            Conflict::OtherSpec(_) | Conflict::UnreadableManifest(_) => None,
        }
    }
}

/// What rendering `artifacts` into a folder would do.
#[derive(Clone, Debug)]
pub struct Survey {
    pub dir: PathBuf,
    pub changes: Vec<Change>,
    pub conflicts: Vec<Conflict>,
    /// The manifest holds git's conflict markers: it was read from both
    /// sides, and a render writes it again.
    pub manifest_conflicted: bool,
    previous: Option<Manifest>,
    /// The spec the new manifest names.
    spec: String,
}

impl Survey {
    /// The manifest a render writes. Made only when it is written: hashing
    /// every artifact was most of what `check` and `diff` of many specs did
    /// to compare a folder, and they compare bytes.
    fn manifest(&self) -> Manifest {
        Manifest::of(&self.spec, self.changes.iter().filter_map(|c| c.new.as_ref()))
    }

    /// Whether rendering would change any file.
    pub fn differs(&self) -> bool {
        self.changes.iter().any(|c| c.kind != ChangeKind::Unchanged)
    }
}

fn mode(artifact: &Artifact) -> u32 {
    if artifact.executable { 0o755 } else { 0o644 }
}

fn read_if_exists(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn read_manifest(dir: &Path) -> io::Result<Previous> {
    Ok(match read_if_exists(&dir.join(MANIFEST))? {
        None => Previous::Missing,
        Some(bytes) => Manifest::parse(&bytes),
    })
}

/// The gzip'd user-data `file` in `dir`, with the script it holds, when the
/// manifest records deployc writing exactly these bytes; anything else is
/// compressed again by the render that compares with it.
pub fn previous_gzip(dir: &Path, file: &str) -> Option<crate::render::Compressed> {
    let Ok(Previous::Read(manifest)) = read_manifest(dir) else {
        return None;
    };
    let bytes = read_if_exists(&dir.join(file)).ok()??;
    if manifest.files.get(file) != Some(&hash(&bytes)) {
        return None;
    }
    let mut script = String::new();
    io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut script).ok()?;
    Some(crate::render::Compressed { script, bytes })
}

/// Compares a render of `spec` with the folder. Reads only.
pub fn survey(dir: &Path, spec: &str, artifacts: &[Artifact]) -> io::Result<Survey> {
    let mut conflicts = Vec::new();
    let mut manifest_conflicted = false;
    let previous = match read_manifest(dir)? {
        Previous::Missing => None,
        Previous::Read(manifest) => Some(manifest),
        Previous::Merged(manifest) => {
            manifest_conflicted = true;
            Some(manifest)
        }
        Previous::Unreadable(reason) => {
            conflicts.push(Conflict::UnreadableManifest(reason));
            None
        }
    };
    // Without a manifest that can be read, every file may be deployc's: the
    // unreadable manifest is the one conflict, not each file.
    let manifest_known = conflicts.is_empty();
    if let Some(previous) = previous.as_ref().filter(|m| m.spec != spec) {
        conflicts.push(Conflict::OtherSpec(previous.spec.clone()));
    }
    let generated = |file: &str, bytes: &[u8]| previous.as_ref().is_some_and(|m| m.generated(file, bytes));
    let known = |file: &str| previous.as_ref().is_some_and(|m| m.knows(file));
    let mut changes = Vec::new();
    for artifact in artifacts {
        let path = dir.join(&artifact.file);
        let old = read_if_exists(&path)?;
        let kind = match &old {
            None => ChangeKind::Create,
            Some(bytes) if *bytes == artifact.bytes => {
                let current = fs::metadata(&path)?.permissions().mode() & 0o777;
                if current == mode(artifact) {
                    ChangeKind::Unchanged
                } else {
                    ChangeKind::Update
                }
            }
            Some(bytes) => {
                if manifest_known && !generated(&artifact.file, bytes) {
                    let file = artifact.file.clone();
                    conflicts.push(if has_conflict_markers(bytes) {
                        Conflict::MergeConflicted(file)
                    } else if known(&file) {
                        Conflict::HandEdited(file)
                    } else {
                        Conflict::NotGenerated(file)
                    });
                }
                ChangeKind::Update
            }
        };
        changes.push(Change {
            file: artifact.file.clone(),
            kind,
            old,
            new: Some(artifact.clone()),
        });
    }
    if let Some(previous) = &previous {
        let recorded: std::collections::BTreeSet<&String> =
            previous.files.keys().chain(previous.pending.keys()).collect();
        for file in recorded {
            if artifacts.iter().any(|a| &a.file == file) || !is_plain_name(file) {
                continue;
            }
            let Some(old) = read_if_exists(&dir.join(file))? else {
                continue;
            };
            if !previous.generated(file, &old) {
                conflicts.push(if has_conflict_markers(&old) {
                    Conflict::MergeConflicted(file.clone())
                } else {
                    Conflict::HandEdited(file.clone())
                });
            }
            changes.push(Change {
                file: file.clone(),
                kind: ChangeKind::Remove,
                old: Some(old),
                new: None,
            });
        }
    }
    Ok(Survey {
        dir: dir.to_path_buf(),
        changes,
        conflicts,
        manifest_conflicted,
        spec: spec.to_owned(),
        previous,
    })
}

/// A manifest entry names a file in the folder itself, never a path elsewhere.
fn is_plain_name(file: &str) -> bool {
    !file.is_empty() && file != "." && file != ".." && !file.contains('/') && file != MANIFEST
}

/// The temporary file a new version of `path` is written to before it is renamed over it.
fn temporary_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}{TEMP_SUFFIX}"))
}

/// Writes `bytes` to the temporary file of `path`, synced; removes it on failure.
fn stage(path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
    let temp = temporary_for(path);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()
    })();
    match result {
        Ok(()) => Ok(temp),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Writes `bytes` to `path` atomically: staged, renamed over the old file, and the folder synced.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let temp = stage(path, bytes, mode)?;
    fs::rename(&temp, path).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })?;
    sync_folder(path)
}

fn sync_folder(path: &Path) -> io::Result<()> {
    fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

/// Removes the temporary files of a render that was killed before renaming them.
fn remove_leftover_temporaries(dir: &Path) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(TEMP_SUFFIX) && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Removes the staged files of a render that failed before replacing anything; returns its error.
fn discard(staged: &[(PathBuf, PathBuf)], error: io::Error) -> io::Error {
    for (temp, _) in staged {
        let _ = fs::remove_file(temp);
    }
    error
}

/// Carries out a survey. With conflicts and no `force`, writes nothing.
///
/// The manifest is written twice: first with the new hashes pending beside the
/// old ones, last with the new ones only. Killed anywhere in between, the
/// folder holds each file old or new, and the next render knows both as its own.
pub fn apply(survey: &Survey, force: bool) -> io::Result<()> {
    assert!(
        force || survey.conflicts.is_empty(),
        "conflicts are refused before applying"
    );
    remove_leftover_temporaries(&survey.dir)?;
    let manifest = survey.manifest();
    if survey.previous.as_ref() == Some(&manifest) && !survey.differs() && !survey.manifest_conflicted {
        return Ok(());
    }
    fs::create_dir_all(&survey.dir)?;
    // Every new file is staged before anything is replaced, so a full disk
    // or any failed write leaves the folder as it was.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for change in &survey.changes {
        if let (ChangeKind::Create | ChangeKind::Update, Some(artifact)) = (&change.kind, &change.new) {
            let path = survey.dir.join(&change.file);
            match stage(&path, &artifact.bytes, mode(artifact)) {
                Ok(temp) => staged.push((temp, path)),
                Err(e) => return Err(discard(&staged, e)),
            }
        }
    }
    let manifest_path = survey.dir.join(MANIFEST);
    if survey.differs() {
        let mut pending = survey.previous.clone().unwrap_or_default();
        pending.spec.clone_from(&manifest.spec);
        for (file, hash) in &manifest.files {
            pending
                .pending
                .entry(file.clone())
                .or_default()
                .insert(hash.clone());
        }
        write_atomically(&manifest_path, &pending.to_bytes(), 0o644).map_err(|e| discard(&staged, e))?;
    }
    // Renames and removals take no space; past the pending manifest, an
    // interruption leaves each file old or new, and both known.
    for (temp, path) in &staged {
        fs::rename(temp, path)?;
    }
    for change in survey.changes.iter().filter(|c| c.kind == ChangeKind::Remove) {
        match fs::remove_file(survey.dir.join(&change.file)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    write_atomically(&manifest_path, &manifest.to_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(file: &str, text: &str) -> Artifact {
        Artifact {
            file: file.into(),
            bytes: text.as_bytes().to_vec(),
            executable: false,
        }
    }

    #[test]
    fn a_second_render_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = [artifact("a.service", "one\n")];
        let first = survey(dir.path(), "x.kdl", &artifacts).unwrap();
        assert_eq!(first.changes[0].kind, ChangeKind::Create);
        apply(&first, false).unwrap();
        let second = survey(dir.path(), "x.kdl", &artifacts).unwrap();
        assert!(!second.differs());
        assert_eq!(second.previous.as_ref(), Some(&second.manifest()));
    }

    #[test]
    fn hand_edits_and_foreign_files_are_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        apply(
            &survey(dir.path(), "x.kdl", &[artifact("a.service", "one\n")]).unwrap(),
            false,
        )
        .unwrap();
        fs::write(dir.path().join("a.service"), "edited\n").unwrap();
        fs::write(dir.path().join("b.sh"), "mine\n").unwrap();
        let next = [artifact("a.service", "two\n"), artifact("b.sh", "generated\n")];
        let s = survey(dir.path(), "x.kdl", &next).unwrap();
        assert_eq!(
            s.conflicts,
            vec![
                Conflict::HandEdited("a.service".into()),
                Conflict::NotGenerated("b.sh".into())
            ]
        );
    }

    #[test]
    fn files_no_longer_produced_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let both = [artifact("a.service", "a\n"), artifact("user-data.sh", "u\n")];
        apply(&survey(dir.path(), "x.kdl", &both).unwrap(), false).unwrap();
        fs::write(dir.path().join("notes.txt"), "mine\n").unwrap();
        let s = survey(dir.path(), "x.kdl", &both[..1]).unwrap();
        assert_eq!(s.changes[1].kind, ChangeKind::Remove);
        apply(&s, false).unwrap();
        assert!(!dir.path().join("user-data.sh").exists());
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn an_interrupted_render_is_not_taken_for_a_hand_edit() {
        let dir = tempfile::tempdir().unwrap();
        let one = [artifact("a.service", "one\n")];
        let two = [artifact("a.service", "two\n")];
        apply(&survey(dir.path(), "x.kdl", &one).unwrap(), false).unwrap();
        // Cut short after the pending manifest and the new file, before the final manifest.
        let s = survey(dir.path(), "x.kdl", &two).unwrap();
        let mut pending = s.previous.clone().unwrap();
        for (file, hash) in &s.manifest().files {
            pending
                .pending
                .entry(file.clone())
                .or_default()
                .insert(hash.clone());
        }
        fs::write(dir.path().join(MANIFEST), pending.to_bytes()).unwrap();
        fs::write(dir.path().join("a.service"), "two\n").unwrap();
        // Both the spec that was being rendered and the one before are fine next.
        assert!(survey(dir.path(), "x.kdl", &two).unwrap().conflicts.is_empty());
        assert!(survey(dir.path(), "x.kdl", &one).unwrap().conflicts.is_empty());
    }

    #[test]
    fn the_manifest_puts_each_hash_on_a_line_of_its_own() {
        let manifest = Manifest::of("x.kdl", &[artifact("a.service", "a\n"), artifact("b.sh", "b\n")]);
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        let expected = format!(
            "{{\n  \"spec\": \"x.kdl\",\n  \"files\": {{\n    \"a.service\":\n      \"{}\",\n    \"b.sh\":\n      \"{}\"\n  }}\n}}\n",
            hash(b"a\n"),
            hash(b"b\n")
        );
        assert_eq!(text, expected);
        assert_eq!(Manifest::parse(text.as_bytes()), Previous::Read(manifest));

        let empty = Manifest::of("x.kdl", []);
        assert_eq!(Manifest::parse(&empty.to_bytes()), Previous::Read(empty));
        let mut pending = Manifest::of("x.kdl", &[artifact("a.service", "a\n")]);
        pending
            .pending
            .insert("a.service".into(), BTreeSet::from([hash(b"b\n"), hash(b"c\n")]));
        assert_eq!(Manifest::parse(&pending.to_bytes()), Previous::Read(pending));
    }

    #[test]
    fn a_manifest_with_conflict_markers_knows_the_files_of_every_side() {
        let [base, ours, theirs, other] = ["0\n", "1\n", "2\n", "b\n"].map(|text| hash(text.as_bytes()));
        let text = format!(
            "{{\n  \"spec\": \"x.kdl\",\n  \"files\": {{\n    \"a.service\":\n<<<<<<< HEAD\n      \"{ours}\",\n||||||| base\n      \"{base}\",\n=======\n      \"{theirs}\",\n>>>>>>> branch\n    \"b.sh\":\n      \"{other}\"\n  }}\n}}\n"
        );
        let Previous::Merged(merged) = Manifest::parse(text.as_bytes()) else {
            panic!("not read as a merge: {text}");
        };
        assert_eq!(merged.spec, "x.kdl");
        for version in ["0\n", "1\n", "2\n"] {
            assert!(merged.generated("a.service", version.as_bytes()), "{version:?}");
        }
        assert!(merged.generated("b.sh", b"b\n"));
        assert!(!merged.generated("a.service", b"edited\n"));

        let broken = text.replace(&format!("\"{theirs}\","), "oops");
        assert!(matches!(
            Manifest::parse(broken.as_bytes()),
            Previous::Unreadable(reason) if reason.contains("conflict markers")
        ));
    }

    #[test]
    fn a_conflicted_manifest_is_written_again_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = [artifact("a.service", "one\n")];
        apply(&survey(dir.path(), "x.kdl", &artifacts).unwrap(), false).unwrap();
        let clean = fs::read(dir.path().join(MANIFEST)).unwrap();
        let conflicted = String::from_utf8(clean.clone())
            .unwrap()
            .replace("    \"a.service\":\n", "    \"a.service\":\n<<<<<<< HEAD\n")
            .replace("\"\n  }", "\"\n=======\n      \"sha256:00\"\n>>>>>>> other\n  }");
        fs::write(dir.path().join(MANIFEST), &conflicted).unwrap();

        let s = survey(dir.path(), "x.kdl", &artifacts).unwrap();
        assert!(s.manifest_conflicted && s.conflicts.is_empty() && !s.differs());
        apply(&s, false).unwrap();
        assert_eq!(fs::read(dir.path().join(MANIFEST)).unwrap(), clean);
    }

    #[test]
    fn an_unreadable_manifest_is_the_one_conflict_and_force_writes_it_afresh() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MANIFEST), "not json\n").unwrap();
        fs::write(dir.path().join("a.service"), "old\n").unwrap();
        let artifacts = [artifact("a.service", "new\n")];
        let s = survey(dir.path(), "x.kdl", &artifacts).unwrap();
        assert!(
            matches!(s.conflicts.as_slice(), [Conflict::UnreadableManifest(_)]),
            "{:?}",
            s.conflicts
        );
        apply(&s, true).unwrap();
        let again = survey(dir.path(), "x.kdl", &artifacts).unwrap();
        assert!(again.conflicts.is_empty() && !again.differs());
    }

    #[test]
    fn the_folder_of_another_spec_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        apply(
            &survey(dir.path(), "x.kdl", &[artifact("x.service", "x\n")]).unwrap(),
            false,
        )
        .unwrap();
        let s = survey(dir.path(), "y.kdl", &[artifact("y.service", "y\n")]).unwrap();
        assert_eq!(s.conflicts, vec![Conflict::OtherSpec("x.kdl".into())]);
    }
}
