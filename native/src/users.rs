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
fn render(users: &[(String, String)]) -> String {
    users
        .iter()
        .map(|(name, hash)| format!("{name}:{hash}\n"))
        .collect()
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
    file.write_all(render(users).as_bytes())?;
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
    let store = match &command {
        UserCommand::List(root) => &root.store,
        UserCommand::Add(args) | UserCommand::Passwd(args) | UserCommand::Del(args) => {
            &args.root.store
        }
    };
    if let Some(location) = crate::config::bucket(store)? {
        return in_bucket(command, &location);
    }
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

/// `ferry user ... --store s3://...`: the users file in the bucket, every
/// change a conditional PUT on the version read, so two admins changing
/// users at once never lose one another's change (the second one reads
/// again and applies its change to the new file).
fn in_bucket(command: UserCommand, location: &crate::s3::Location) -> anyhow::Result<()> {
    use crate::s3::{Put, S3, S3Error, Small};
    let s3 = S3::new(location, USER_TIMEOUT)?;
    s3.check()?;
    let key = s3.key(USERS_FILE);
    let read = || -> anyhow::Result<(Users, Option<String>)> {
        match s3.read_small(&key, None)? {
            Small::Read { bytes, etag } => Ok((
                parse(&String::from_utf8_lossy(&bytes), &s3.shown)?,
                Some(etag),
            )),
            _ => Ok((Vec::new(), None)),
        }
    };
    type Change = Box<dyn Fn(&mut Users) -> anyhow::Result<()>>;
    type Made = Box<dyn Fn(&Users) -> bool>;
    // What is said once the change is stored, the change, and whether a
    // users file holds it already (a try whose answer was lost made it).
    let (done, change, made): (String, Change, Made) = match command {
        UserCommand::List(_) => {
            for (name, _) in read()?.0 {
                println!("{name}");
            }
            return Ok(());
        }
        UserCommand::Add(args) => {
            check_user_name(&args.name)?;
            if read()?.0.iter().any(|(n, _)| n == &args.name) {
                bail!(
                    "user {} exists already; use `ferry user passwd` to change the password",
                    args.name
                );
            }
            let pass = read_password(&args.name)?;
            check_password(&pass)?;
            let (name, hash) = (args.name.clone(), hash_password(&pass)?);
            let made = holds(&name, &hash);
            let change = move |users: &mut Users| {
                if users.iter().any(|(n, _)| n == &name) {
                    bail!("user {name} was added meanwhile by someone else");
                }
                users.push((name.clone(), hash.clone()));
                Ok(())
            };
            (format!("added user {}", args.name), Box::new(change), made)
        }
        UserCommand::Passwd(args) => {
            if !read()?.0.iter().any(|(n, _)| n == &args.name) {
                bail!("no user {}; use `ferry user add` to create one", args.name);
            }
            let pass = read_password(&args.name)?;
            check_password(&pass)?;
            let (name, hash) = (args.name.clone(), hash_password(&pass)?);
            let made = holds(&name, &hash);
            let change = move |users: &mut Users| {
                let Some(entry) = users.iter_mut().find(|(n, _)| n == &name) else {
                    bail!("user {name} was removed meanwhile by someone else");
                };
                entry.1 = hash.clone();
                Ok(())
            };
            (
                format!("changed the password of {}", args.name),
                Box::new(change),
                made,
            )
        }
        UserCommand::Del(args) => {
            let name = args.name.clone();
            let gone = args.name.clone();
            let made: Made = Box::new(move |users| users.iter().all(|(n, _)| *n != gone));
            let change = move |users: &mut Users| {
                let before = users.len();
                users.retain(|(n, _)| n != &name);
                if users.len() == before {
                    bail!("no user {name}");
                }
                Ok(())
            };
            (
                format!("removed user {} (their private folder is kept)", args.name),
                Box::new(change),
                made,
            )
        }
    };
    for _ in 0..CONFLICT_RETRIES {
        let (mut users, etag) = read()?;
        change(&mut users)?;
        let text = render(&users).into_bytes();
        let when = etag.as_deref().map_or(Put::IfAbsent, Put::IfStill);
        match s3.put_bytes(&key, text, when) {
            Ok(_) => {
                eprintln!("{done} in {}", s3.shown);
                return Ok(());
            }
            // Someone else changed the file since it was read, or a try
            // whose answer was lost (a reset) stored this change: the file
            // as it is now tells which.
            Err(S3Error::Changed) => {
                if made(&read()?.0) {
                    eprintln!("{done} in {}", s3.shown);
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(e).context("cannot write the users file"),
        }
    }
    bail!("the users file in {} keeps changing; try again", s3.shown)
}

/// Whether a users file holds `name` with the password hash `hash` (a
/// hash's salt makes it this change's own).
fn holds(name: &str, hash: &str) -> Box<dyn Fn(&Users) -> bool> {
    let (name, hash) = (name.to_owned(), hash.to_owned());
    Box::new(move |users| users.iter().any(|(n, h)| *n == name && *h == hash))
}

/// How long `ferry user` waits for the object store without progress.
const USER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Times a change to a bucket's users file is tried again after losing a
/// race with another admin.
const CONFLICT_RETRIES: usize = 16;

fn check_password(pass: &str) -> anyhow::Result<()> {
    let max = Limits::default().max_pass_len as usize;
    if pass.is_empty() || pass.len() > max {
        bail!("a password must have 1 to {max} bytes");
    }
    Ok(())
}
