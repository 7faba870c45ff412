//! The ready-made demo folder `ferry serve` uses when no root is given.

use std::fs;
use std::path::Path;

use anyhow::Context;

/// Creates `root` with a few sample files if it does not exist yet.
pub fn ensure(root: &Path) -> anyhow::Result<()> {
    if root.exists() {
        return Ok(());
    }
    let public = root.join("public");
    fs::create_dir_all(public.join("docs"))
        .with_context(|| format!("creating the demo folder {}", root.display()))?;
    fs::create_dir_all(root.join("private"))?;
    fs::write(
        public.join("hello.txt"),
        "Hello from ferry!\n\nTry: ferry get HOST:PORT hello.txt\n",
    )?;
    fs::write(
        public.join("docs/protocol-summary.txt"),
        "op 10 DOWNLOAD, 20 LIST, 30 UPLOAD, 40 RESUME, 50 MGET, 60 AUTH\n",
    )?;
    let numbers: String = (1..=1000).map(|i| format!("{i},{}\n", i * i)).collect();
    fs::write(public.join("docs/squares.csv"), numbers)?;
    // A binary file of 1 MiB + 1 byte, to watch a progress bar and to
    // interrupt and resume.
    let blob: Vec<u8> = (0..(1 << 20) + 1)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    fs::write(public.join("sample.bin"), blob)?;
    fs::write(root.join("users"), "")?;
    log::info!(
        "created the demo folder {} (add users with `ferry user add NAME --root {}`)",
        root.display(),
        root.display()
    );
    Ok(())
}
