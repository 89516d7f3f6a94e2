//! Files only their owner may read: the first API key and the upload signing key.

use std::{io::Write, path::Path};

/// Creates or truncates `path` with mode 0600 (on Unix) and writes `contents`. The mode
/// is set when the file is created, so the secret is never readable by others, not
/// even for a moment.
///
/// # Errors
/// The file cannot be created or written.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.flush()
}
