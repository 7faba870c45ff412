//! Real captures for the decoder's tests: tcpdump records loopback
//! traffic while a test runs ferry.

use std::process::Command;

use super::wait_for;

/// Records loopback traffic on `ports` with tcpdump while `run` runs, and
/// returns the capture's bytes.
pub fn captured(ports: &[u16], run: impl FnOnce()) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (file, log) = (dir.path().join("cap.pcap"), dir.path().join("tcpdump.err"));
    let filter = ports
        .iter()
        .map(|p| format!("tcp port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut dump = Command::new("tcpdump")
        .args([
            "-i",
            "lo",
            "-U",
            "--immediate-mode",
            "-s",
            "0",
            "-Z",
            "root",
            "-w",
        ])
        .arg(&file)
        .arg(&filter)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("tcpdump (scripts/setup.sh installs it; it needs root)");
    let listening = wait_for(
        || std::fs::read_to_string(&log).unwrap_or_default(),
        "listening on",
        1,
    );
    assert!(
        listening.contains("listening on"),
        "tcpdump did not start: {listening}"
    );
    run();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &dump.id().to_string()])
        .status();
    let _ = dump.wait();
    std::fs::read(&file).unwrap()
}
