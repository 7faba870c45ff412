//! The credentials file (`ferry user ...` in the binary edits it).
//!
//! `DIR/users` holds one line per user, `name:PHC-string`, where the PHC
//! string is an Argon2id hash with its own random salt. Passwords are never
//! stored or logged in the clear. The file lives beside, never inside, the
//! served folders, and is rewritten atomically with mode 0600.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};

/// Users and their password hashes, as a users file lists them.
pub type Users = Vec<(String, String)>;

/// The users file's name, in a root folder or under a bucket's prefix.
pub const USERS_FILE: &str = "users";

/// The users file of a root folder.
pub fn users_path(root: &Path) -> PathBuf {
    root.join(USERS_FILE)
}

/// Reads `name:hash` lines; blank lines and `#` comments are skipped.
pub fn load(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the users file {}", path.display()));
        }
    };
    parse(&text, &path.display().to_string())
}

/// The users of a users file's text; `source` names it in errors.
pub fn parse(text: &str, source: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, hash)) = line.split_once(':') else {
            bail!(
                "{source}:{}: expected `name:hash`; fix or remove that line",
                i + 1
            );
        };
        users.push((name.to_owned(), hash.to_owned()));
    }
    Ok(users)
}

/// A users file's text.
pub fn render(users: &[(String, String)]) -> String {
    users
        .iter()
        .map(|(name, hash)| format!("{name}:{hash}\n"))
        .collect()
}

/// An Argon2id PHC string for `pass`, with a fresh random salt.
pub fn hash_password(pass: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(pass.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?;
    Ok(hash.to_string())
}

/// Replaces the users file at `path` atomically, mode 0600.
pub fn save(path: &Path, users: &[(String, String)]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(render(users).as_bytes())?;
    file.sync_all()?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
