//! `ferry user ...`: adds, lists, changes and removes the users of a root
//! folder's users file, or of a bucket's (`--store`).

use std::fs;
use std::path::Path;

use anyhow::{Context, bail};
use ferry_core::{Limits, check_component};
use ferry_server::users::{
    USERS_FILE, Users, hash_password, load, parse, render, save, users_path,
};

use crate::cli::UserCommand;

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

/// What to say of a root folder that is not there.
fn missing_root(root: &Path) -> String {
    format!(
        "the root folder {} does not exist: give --root the folder `ferry serve` serves \
         (without --root, `ferry serve` makes ./ferry-demo), or create it with \
         `mkdir -p {}/public`",
        root.display(),
        root.display()
    )
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
                bail!("{}", missing_root(&root.root));
            }
            for (name, _) in load(&users_path(&root.root))? {
                println!("{name}");
            }
        }
        UserCommand::Add(args) => {
            check_user_name(&args.name)?;
            let root = &args.root.root;
            if !root.is_dir() {
                bail!("{}", missing_root(root));
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
fn in_bucket(command: UserCommand, location: &ferry_server::s3::Location) -> anyhow::Result<()> {
    use ferry_server::s3::{Put, S3, S3Error, Small};
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
    let Some((done, change, made)) = bucket_change(command, &read)? else {
        return Ok(());
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

/// A change to a bucket's users file.
type Change = Box<dyn Fn(&mut Users) -> anyhow::Result<()>>;
/// Whether a users file holds a change already (a try whose answer was
/// lost made it).
type Made = Box<dyn Fn(&Users) -> bool>;

/// What `command` says once its change is stored, the change, and how to
/// tell it was made; `None` for `list`, which only reads (and prints).
fn bucket_change(
    command: UserCommand,
    read: &dyn Fn() -> anyhow::Result<(Users, Option<String>)>,
) -> anyhow::Result<Option<(String, Change, Made)>> {
    Ok(Some(match command {
        UserCommand::List(_) => {
            for (name, _) in read()?.0 {
                println!("{name}");
            }
            return Ok(None);
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
    }))
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
