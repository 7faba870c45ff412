//! `ferry shell`: the interactive client of the assignments, with line
//! editing and history. Every command runs on a fresh connection.

use ferry_core::{Credentials, Limits};
use ferry_storage::Folder;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::client::{self, Remote};
use crate::error::ClientError;

const HELP: &str = "\
Commands (any letter case; each runs on a fresh connection):
  LIST               list the server's files
  DOWNLOAD name      download a file into the local folder (resumes a .part)
  UPLOAD name        upload a file of the local folder
  RESUME name        continue an interrupted download
  MGET mask          download every file matching a glob, e.g. *.jpg or **/*.txt
  LOGIN user         log in: later commands act in your private folder
  LOGOUT             back to the public folder
  HELP               this text
  QUIT               leave";

/// Runs the shell until QUIT or the end of input.
pub fn run(mut remote: Remote, folder: Folder) -> Result<(), ClientError> {
    let mut editor = DefaultEditor::new()
        .map_err(|e| ClientError::Local(format!("cannot start the shell: {e}")))?;
    println!(
        "ferry shell for {}; type HELP for the commands",
        remote.addr
    );
    loop {
        let prompt = match &remote.auth {
            Some(c) => format!("ferry {}> ", c.user()),
            None => "ferry> ".to_owned(),
        };
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(ClientError::Local(format!("cannot read the command: {e}"))),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        let (command, argument) = match line.split_once(char::is_whitespace) {
            Some((c, a)) => (c, a.trim()),
            None => (line, ""),
        };
        let needs = |what: &str| -> Result<(), ClientError> {
            if argument.is_empty() {
                Err(ClientError::Usage(format!(
                    "{} needs {what}",
                    command.to_uppercase()
                )))
            } else {
                Ok(())
            }
        };
        let result = match command.to_ascii_uppercase().as_str() {
            "QUIT" | "EXIT" => break,
            "HELP" | "?" => {
                println!("{HELP}");
                Ok(())
            }
            "LIST" | "LS" => smol::block_on(client::ls(&remote, false)),
            "DOWNLOAD" | "GET" => needs("a file name").and_then(|()| {
                let options = client::GetOptions::default();
                smol::block_on(client::get(&remote, &folder, argument, argument, options))
            }),
            "UPLOAD" | "PUT" => needs("a file name")
                .and_then(|()| smol::block_on(client::put(&remote, &folder, argument, None))),
            "RESUME" => needs("a file name").and_then(|()| {
                let options = client::GetOptions {
                    force_resume: true,
                    ..client::GetOptions::default()
                };
                smol::block_on(client::get(&remote, &folder, argument, argument, options))
            }),
            "MGET" => needs("a mask").and_then(|()| {
                let options = client::GetOptions::default();
                smol::block_on(client::mget(&remote, &folder, argument, options))
            }),
            "LOGIN" => needs("a user name").and_then(|()| login(&mut remote, argument)),
            "LOGOUT" => {
                remote.auth = None;
                println!("logged out: commands act on the public folder");
                Ok(())
            }
            _ => Err(ClientError::Usage(format!(
                "unknown command {}; type HELP",
                ferry_core::escape(command.as_bytes())
            ))),
        };
        if let Err(e) = result {
            eprintln!("error: {e}");
        }
    }
    Ok(())
}

fn login(remote: &mut Remote, user: &str) -> Result<(), ClientError> {
    let pass = password(user)?;
    let credentials = Credentials::new(user, &pass, &Limits::default())
        .map_err(|e| ClientError::Usage(format!("cannot log in as that user: {e}")))?;
    let mut trial = remote.clone();
    trial.auth = Some(credentials);
    let entries = smol::block_on(client::list(&trial))?;
    println!(
        "logged in as {user}: {} files in your private folder",
        entries.len()
    );
    *remote = trial;
    Ok(())
}

/// A password from `FERRY_PASSWORD`, or a prompt that does not echo.
pub fn password(user: &str) -> Result<String, ClientError> {
    if let Ok(pass) = std::env::var("FERRY_PASSWORD") {
        return Ok(pass);
    }
    rpassword::prompt_password(format!("password for {user}: ")).map_err(|e| {
        ClientError::Usage(format!(
            "cannot read a password ({e}); set FERRY_PASSWORD instead"
        ))
    })
}
