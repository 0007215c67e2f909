//! Writing artifacts to the output folder.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::render::Artifact;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteStatus {
    Created,
    Updated,
    Unchanged,
}

impl WriteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteStatus::Created => "created",
            WriteStatus::Updated => "updated",
            WriteStatus::Unchanged => "unchanged",
        }
    }
}

fn mode(artifact: &Artifact) -> u32 {
    if artifact.executable { 0o755 } else { 0o644 }
}

/// Writes `artifact` into `dir` atomically: a temporary file in the same
/// folder, synced, then renamed over the old one. Unchanged files are not touched.
pub fn write_artifact(dir: &Path, artifact: &Artifact) -> io::Result<WriteStatus> {
    let path = dir.join(&artifact.file);
    let status = match fs::read(&path) {
        Ok(existing) if existing == artifact.bytes => {
            let current = fs::metadata(&path)?.permissions().mode() & 0o777;
            if current == mode(artifact) {
                return Ok(WriteStatus::Unchanged);
            }
            WriteStatus::Updated
        }
        Ok(_) => WriteStatus::Updated,
        Err(e) if e.kind() == io::ErrorKind::NotFound => WriteStatus::Created,
        Err(e) => return Err(e),
    };
    let temp = dir.join(format!(".{}.deployc-tmp", artifact.file));
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(&artifact.bytes)?;
        file.set_permissions(fs::Permissions::from_mode(mode(artifact)))?;
        file.sync_all()?;
        fs::rename(&temp, &path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    Ok(status)
}
