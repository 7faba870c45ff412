//! A program on a pseudo-terminal, driven like a person at a keyboard:
//! the shell's line editing, Tab, arrow keys and Ctrl-C need a real one.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::pty::OpenptFlags;

/// A child on the slave side of a fresh pseudo-terminal, its own session
/// with the terminal as its controlling one (so Ctrl-C is a SIGINT).
pub struct Pty {
    master: File,
    pub child: Child,
    /// Everything the program wrote so far.
    pub seen: String,
    /// Where the next `expect` starts looking.
    mark: usize,
}

impl Pty {
    pub fn spawn(program: &str, args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Pty {
        let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        rustix::pty::grantpt(&master).unwrap();
        rustix::pty::unlockpt(&master).unwrap();
        let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
        let slave = File::options()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        let mut command = Command::new("setsid");
        command
            .arg("--ctty")
            .arg(program)
            .args(args)
            .current_dir(dir)
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap();
        let master = File::from(master);
        rustix::io::ioctl_fionbio(&master, true).unwrap();
        Pty {
            master,
            child,
            seen: String::new(),
            mark: 0,
        }
    }

    /// Types `keys`.
    pub fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }

    /// Reads until `text` appears after what `expect` already matched, or
    /// panics after 20 s with everything seen.
    pub fn expect(&mut self, text: &str) {
        let started = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(at) = self.seen[self.mark..].find(text) {
                self.mark += at + text.len();
                return;
            }
            match self.master.read(&mut buf) {
                Ok(n) if n > 0 => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "never saw {text:?}; the terminal shows:\n{}",
                self.seen
            );
        }
    }

    /// Waits (bounded) for the program to exit; its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        let started = Instant::now();
        loop {
            // Keep reading, or a full terminal buffer would block it.
            let mut buf = [0u8; 4096];
            if let Ok(n) = self.master.read(&mut buf) {
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "still running:\n{}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
