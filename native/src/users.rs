//! The credentials file and `ferry user ...`.
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
use ferry_core::{Limits, check_component};

use crate::cli::UserCommand;

/// The users file of a root folder.
pub fn users_path(root: &Path) -> PathBuf {
    root.join("users")
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
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, hash)) = line.split_once(':') else {
            bail!(
                "{}:{}: expected `name:hash`; fix or remove that line",
                path.display(),
                i + 1
            );
        };
        users.push((name.to_owned(), hash.to_owned()));
    }
    Ok(users)
}

fn hash_password(pass: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(pass.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?;
    Ok(hash.to_string())
}

fn save(path: &Path, users: &[(String, String)]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    for (name, hash) in users {
        writeln!(file, "{name}:{hash}")?;
    }
    file.sync_all()?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

fn read_password(prompt_for: &str) -> anyhow::Result<String> {
    if let Ok(pass) = std::env::var("FERRY_PASSWORD") {
        return Ok(pass);
    }
    let first = rpassword::prompt_password(format!("Password for {prompt_for}: "))
        .context("cannot read a password (no terminal?); set FERRY_PASSWORD instead")?;
    let second = rpassword::prompt_password("Again: ")?;
    if first != second {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

fn check_user_name(name: &str) -> anyhow::Result<()> {
    let limits = Limits::default();
    check_component(name, limits.max_user_len).with_context(|| {
        format!(
            "\"{}\" cannot be a user name",
            ferry_core::escape(name.as_bytes())
        )
    })
}

/// Runs `ferry user ...`.
pub fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::List(root) => {
            if !root.root.is_dir() {
                bail!(
                    "the root folder {} does not exist; create it or run `ferry serve` once",
                    root.root.display()
                );
            }
            for (name, _) in load(&users_path(&root.root))? {
                println!("{name}");
            }
        }
        UserCommand::Add(args) => {
            check_user_name(&args.name)?;
            let root = &args.root.root;
            if !root.is_dir() {
                bail!(
                    "the root folder {} does not exist; create it or run `ferry serve` once",
                    root.display()
                );
            }
            let path = users_path(root);
            let mut users = load(&path)?;
            if users.iter().any(|(n, _)| n == &args.name) {
                bail!(
                    "user {} exists already; use `ferry user passwd` to change the password",
                    args.name
                );
            }
            let pass = read_password(&args.name)?;
            check_password(&pass)?;
            users.push((args.name.clone(), hash_password(&pass)?));
            save(&path, &users)?;
            fs::create_dir_all(root.join("private").join(&args.name))?;
            eprintln!("added user {}", args.name);
        }
        UserCommand::Passwd(args) => {
            let path = users_path(&args.root.root);
            let mut users = load(&path)?;
            let Some(entry) = users.iter_mut().find(|(n, _)| n == &args.name) else {
                bail!("no user {}; use `ferry user add` to create one", args.name);
            };
            let pass = read_password(&args.name)?;
            check_password(&pass)?;
            entry.1 = hash_password(&pass)?;
            save(&path, &users)?;
            eprintln!("changed the password of {}", args.name);
        }
        UserCommand::Del(args) => {
            let path = users_path(&args.root.root);
            let mut users = load(&path)?;
            let before = users.len();
            users.retain(|(n, _)| n != &args.name);
            if users.len() == before {
                bail!("no user {}", args.name);
            }
            save(&path, &users)?;
            eprintln!("removed user {} (their private folder is kept)", args.name);
        }
    }
    Ok(())
}

fn check_password(pass: &str) -> anyhow::Result<()> {
    let max = Limits::default().max_pass_len as usize;
    if pass.is_empty() || pass.len() > max {
        bail!("a password must have 1 to {max} bytes");
    }
    Ok(())
}
