//! `ferry serve --tls-port`: the same protocol inside TLS, checked with TLS
//! implementations ferry did not write (Debian's `openssl s_client` and
//! Python's `ssl` module): every op's answer over TLS is byte for byte the
//! answer over plain TCP.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::capture::captured;
use common::{BIN, add_user, data, raw, wait_for};
use ferry_core::{Credentials, Limits, Request};
use md5::{Digest, Md5};

/// A `ferry serve` with a TLS port, killed on drop.
struct TlsServer {
    child: Child,
    /// The plain port's address, if there is one.
    plain: Option<SocketAddr>,
    tls: SocketAddr,
    /// The key fingerprint the banner shows.
    fingerprint: String,
    tmp: tempfile::TempDir,
}

impl TlsServer {
    fn start(extra: &[&str], prepare: impl FnOnce(&Path)) -> TlsServer {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("public")).unwrap();
        prepare(&root);
        Self::start_in(tmp, extra)
    }

    fn start_in(tmp: tempfile::TempDir, extra: &[&str]) -> TlsServer {
        let root = tmp.path().join("root");
        let log = std::fs::File::create(tmp.path().join("server.log")).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "0", "--bind", "127.0.0.1", "--root"])
            .arg(&root)
            .args(["--tls-port", "0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let (plain, tls, fingerprint) = banner(&mut child);
        TlsServer {
            child,
            plain,
            tls,
            fingerprint,
            tmp,
        }
    }

    fn root(&self) -> std::path::PathBuf {
        self.tmp.path().join("root")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("server.log")).unwrap_or_default()
    }

    fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let tmp = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.tmp, tmp)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a server's or a cache's banner: its plain address (if any), its
/// TLS address and the key fingerprint it shows; the rest of its output is
/// drained.
fn banner(child: &mut Child) -> (Option<SocketAddr>, SocketAddr, String) {
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut plain, mut tls, mut fingerprint) = (None, None, String::new());
    let mut line = String::new();
    while tls.is_none() {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no TLS banner");
        let Some(port) = line
            .split("on port ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|p| p.parse::<u16>().ok())
        else {
            continue;
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if line.contains("over TLS") {
            fingerprint = line
                .split("key ")
                .nth(1)
                .and_then(|rest| rest.split(')').next())
                .unwrap()
                .to_owned();
            tls = Some(addr);
        } else {
            plain = Some(addr);
        }
    }
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (plain, tls.unwrap(), fingerprint)
}

/// A `ferry cache` with a TLS port in front of `origin`, killed on drop.
struct TlsCache {
    child: Child,
    tls: SocketAddr,
    dir: tempfile::TempDir,
}

impl TlsCache {
    fn start(origin: &str, extra: &[&str]) -> TlsCache {
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("cache.log")).unwrap();
        let mut child = Command::new(BIN)
            .args([
                "cache",
                "0",
                "--bind",
                "127.0.0.1",
                "--tls-port",
                "0",
                "--origin",
                origin,
            ])
            .arg("--dir")
            .arg(dir.path().join("cache"))
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let (_, tls, _) = banner(&mut child);
        TlsCache { child, tls, dir }
    }

    fn cert(&self) -> String {
        self.dir
            .path()
            .join("cache/tls-cert.pem")
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("cache.log")).unwrap_or_default()
    }
}

impl Drop for TlsCache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `bytes` over TLS with `openssl s_client` (offering ALPN `alpn`)
/// and returns every byte the server sent back before it closed.
fn openssl(addr: SocketAddr, bytes: &[u8], alpn: &str) -> Vec<u8> {
    openssl_with(addr, bytes, &["-alpn", alpn])
}

/// [`openssl`] with other `s_client` options.
fn openssl_with(addr: SocketAddr, bytes: &[u8], options: &[&str]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet"])
        .args(options)
        .arg("-connect")
        .arg(addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl (Debian's openssl package; scripts/setup.sh installs it)");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    child.wait_with_output().unwrap().stdout
}

/// Sends `bytes` over TLS with Python's `ssl` module (ALPN `ferry`, no
/// certificate check) and returns what the server sent back.
fn python(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let script = r#"
import socket, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.set_alpn_protocols(["ferry"])
request = sys.stdin.buffer.read()
with socket.create_connection((host, port), timeout=20) as plain:
    with context.wrap_socket(plain, server_hostname=host) as tls:
        assert tls.selected_alpn_protocol() == "ferry", tls.selected_alpn_protocol()
        tls.sendall(request)
        reply = bytearray()
        while True:
            try:
                chunk = tls.recv(65536)
            except ssl.SSLEOFError:
                break
            if not chunk:
                break
            reply += chunk
sys.stdout.buffer.write(reply)
"#;
    let mut child = Command::new("python3")
        .args([
            "-c",
            script,
            &addr.ip().to_string(),
            &addr.port().to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python's ssl client failed");
    out.stdout
}

fn encoded(request: Request) -> Vec<u8> {
    let mut bytes = Vec::new();
    request.encode(&mut bytes);
    bytes
}

fn name(text: &str) -> ferry_core::Name {
    common::name(text)
}

/// Files of every size class: a small one, one of several TLS records, and
/// one over the size sent from the blocking pool (8 MiB).
fn prepare(root: &Path) {
    std::fs::write(root.join("public/a.txt"), b"hello over tls\n").unwrap();
    std::fs::write(root.join("public/b.txt"), b"bee\n").unwrap();
    std::fs::write(root.join("public/mid.bin"), data(300_000, 3)).unwrap();
    std::fs::write(root.join("public/big.bin"), data(9 << 20, 7)).unwrap();
    std::fs::create_dir_all(root.join("private/alice")).unwrap();
    std::fs::write(root.join("private/alice/diary.txt"), b"dear diary").unwrap();
    add_user(root, "alice", "wonderland");
}

/// The requests of every op, as a client sends them whole.
fn requests() -> Vec<(&'static str, Vec<u8>)> {
    let big = data(9 << 20, 7);
    let md5: [u8; 16] = Md5::digest(&big[..1000]).into();
    let mut auth = Vec::new();
    Credentials::new("alice", "wonderland", &Limits::default())
        .unwrap()
        .encode(&mut auth);
    let private_list = [auth.clone(), encoded(Request::List)].concat();
    let private_get = [
        auth,
        encoded(Request::Download {
            name: name("diary.txt"),
        }),
    ]
    .concat();
    vec![
        ("op 20 LIST", encoded(Request::List)),
        (
            "op 10 a.txt",
            encoded(Request::Download {
                name: name("a.txt"),
            }),
        ),
        (
            "op 10 mid.bin",
            encoded(Request::Download {
                name: name("mid.bin"),
            }),
        ),
        (
            "op 10 big.bin",
            encoded(Request::Download {
                name: name("big.bin"),
            }),
        ),
        (
            "op 10 missing",
            encoded(Request::Download {
                name: name("missing.txt"),
            }),
        ),
        (
            "op 40 big.bin from 1000",
            encoded(Request::Resume {
                name: name("big.bin"),
                position: 1000,
                md5,
            }),
        ),
        (
            "op 50 *.txt",
            encoded(Request::MGet {
                mask: common::mask("*.txt"),
            }),
        ),
        ("op 60 then op 20", private_list),
        ("op 60 then op 10", private_get),
    ]
}

#[test]
fn every_op_answers_over_tls_byte_for_byte_as_over_plain_tcp() {
    let server = TlsServer::start(&[], prepare);
    let plain = server.plain.unwrap();
    for (what, request) in requests() {
        let expected = raw(plain, &request);
        assert!(!expected.is_empty(), "{what}: no plain answer");
        let by_openssl = openssl(server.tls, &request, "ferry");
        assert!(
            by_openssl == expected,
            "{what}: openssl got {} bytes, plain {}",
            by_openssl.len(),
            expected.len()
        );
        let by_python = python(server.tls, &request);
        assert!(
            by_python == expected,
            "{what}: python got {} bytes, plain {}",
            by_python.len(),
            expected.len()
        );
    }
    // Uploads (op 30): the same answer, and the same bytes stored.
    let body = data(200_000, 9);
    for (port, file) in [(plain, "up-plain.bin"), (server.tls, "up-tls.bin")] {
        let mut request = encoded(Request::Upload { name: name(file) });
        request.extend((body.len() as u32).to_be_bytes());
        request.extend(&body);
        let reply = if port == plain {
            raw(port, &request)
        } else {
            openssl(port, &request, "ferry")
        };
        assert_eq!(reply, [0, 0], "{file}");
        assert_eq!(
            std::fs::read(server.root().join("public").join(file)).unwrap(),
            body
        );
    }
    let log = wait_for(|| server.log(), "tls ", 20);
    assert!(log.contains(" tls LIST ok"), "{log}");
    assert!(log.contains(" tls DOWNLOAD \"big.bin\" ok"), "{log}");
    assert!(
        log.contains(" tls UPLOAD \"up-tls.bin\" ok, stored"),
        "{log}"
    );
}

#[test]
fn the_fingerprint_shown_is_that_of_the_certificates_key_and_survives_a_restart() {
    let server = TlsServer::start(&[], prepare);
    let cert = server.root().join("tls-cert.pem");
    let key = server.root().join("tls-key.pem");
    // openssl's own SHA-256 of the DER public key, base64 without padding.
    let spki = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform DER \
             | openssl dgst -sha256 -binary | base64 | tr -d '=\\n'",
            cert.display()
        ))
        .output()
        .unwrap();
    let expected = format!("SHA256:{}", String::from_utf8(spki.stdout).unwrap());
    assert_eq!(server.fingerprint, expected);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is readable by its owner only");
    let names = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    let names = String::from_utf8(names.stdout).unwrap();
    assert!(
        names.contains("DNS:localhost") && names.contains("IP Address:127.0.0.1"),
        "{names}"
    );
    // The self-signed certificate given to the client with --ca: trusted,
    // nothing asked and nothing kept.
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "ls",
            "--ca",
            cert.to_str().unwrap(),
            &format!("tls://{}", server.tls),
        ])
        .env("XDG_DATA_HOME", data.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("a.txt"));
    assert!(!data.path().join("ferry/known_hosts").exists());
    // The same certificate after a restart: clients that trusted it still do.
    let before = std::fs::read(&cert).unwrap();
    let tmp = server.stop();
    let again = TlsServer::start_in(tmp, &[]);
    assert_eq!(again.fingerprint, expected);
    assert_eq!(
        std::fs::read(again.root().join("tls-cert.pem")).unwrap(),
        before
    );
}

#[test]
fn a_given_certificate_is_served_and_tls_only_closes_the_plain_port() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("c.pem"), certs.path().join("k.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let server = TlsServer::start(
        &["--tls-cert", cert_arg, "--tls-key", key_arg, "--tls-only"],
        prepare,
    );
    assert_eq!(server.plain, None, "--tls-only: no plain port");
    assert!(
        !server.root().join("tls-cert.pem").exists(),
        "nothing self-signed made"
    );
    let served = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect {} -alpn ferry </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256",
            server.tls
        ))
        .output()
        .unwrap();
    let given = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(!given.stdout.is_empty());
    assert_eq!(
        served.stdout, given.stdout,
        "the given certificate is the one served"
    );
    let reply = openssl(
        server.tls,
        &encoded(Request::Download {
            name: name("a.txt"),
        }),
        "ferry",
    );
    assert_eq!(&reply[5..], b"hello over tls\n");
    // That certificate is self-signed and marked as a CA (openssl's
    // default): trusted on first use by its key all the same.
    let data = tempfile::tempdir().unwrap();
    let address = format!("tls://{}", server.tls);
    let out = ferry(data.path(), &["ls", &address]);
    assert_eq!(out.status.code(), Some(9));
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let key = said
        .split("--fingerprint ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no fingerprint offered: {said}"));
    let added = ferry(
        data.path(),
        &["known-hosts", "add", &address, "--fingerprint", key],
    );
    assert!(added.status.success());
    let out = ferry(data.path(), &["ls", &address]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_client_offering_another_protocol_is_refused() {
    let server = TlsServer::start(&[], prepare);
    let reply = openssl(server.tls, &encoded(Request::List), "http/1.1");
    assert!(reply.is_empty(), "no ferry answer to an HTTPS client");
    let log = wait_for(|| server.log(), "failed: TLS", 1);
    assert!(log.contains("tls - failed: TLS"), "{log}");
}

#[test]
fn the_wrong_port_is_named_both_ways() {
    let server = TlsServer::start(&[], prepare);
    // A plain client on the TLS port is told, and the server logs it.
    let out = Command::new(BIN)
        .args(["ls", &server.tls.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("this port speaks TLS: use tls://HOST:PORT"),
        "{said}"
    );
    let log = wait_for(|| server.log(), "looks like plain ferry", 1);
    assert!(
        log.contains("looks like plain ferry: this port speaks TLS"),
        "{log}"
    );
    // A TLS client on the plain port: logged in words.
    let _ = openssl(server.plain.unwrap(), &encoded(Request::List), "ferry");
    let log = wait_for(|| server.log(), "looks like TLS", 1);
    assert!(
        log.contains("looks like TLS: this port speaks plain ferry; use --tls-port"),
        "{log}"
    );
}

/// Runs the ferry client with its known hosts in `data` and no terminal.
/// (Alice's password is given for the commands that log in with --user.)
fn ferry(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("XDG_DATA_HOME", data)
        .env("FERRY_PASSWORD", "wonderland")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_client_trusts_a_key_once_and_refuses_a_changed_one() {
    let server = TlsServer::start(&[], prepare);
    let known = tempfile::tempdir().unwrap();
    let data = known.path();
    let address = format!("tls://{}", server.tls);
    // Unknown, and no terminal to ask: exit 9, with the fingerprint and the
    // command that trusts it.
    let out = ferry(data, &["ls", &address]);
    assert_eq!(out.status.code(), Some(9));
    let said = String::from_utf8_lossy(&out.stderr);
    let add = format!(
        "ferry known-hosts add {address} --fingerprint {}",
        server.fingerprint
    );
    assert!(said.contains(&add), "{said}");
    let out = ferry(
        data,
        &[
            "known-hosts",
            "add",
            &address,
            "--fingerprint",
            &server.fingerprint,
        ],
    );
    assert!(out.status.success());
    // Trusted now: the same bytes as the plain port gives.
    let out = ferry(data, &["get", &address, "big.bin", "-o", "-"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout == common::data(9 << 20, 7),
        "big.bin over TLS differs"
    );
    let listed = ferry(data, &["known-hosts", "list"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed, format!("{address} {}\n", server.fingerprint));
    // A new key for the same address: refused loudly, with both keys.
    let tmp = server.stop();
    std::fs::remove_file(tmp.path().join("root/tls-cert.pem")).unwrap();
    std::fs::remove_file(tmp.path().join("root/tls-key.pem")).unwrap();
    let renewed = TlsServer::start_in(tmp, &[]);
    assert_ne!(
        renewed.fingerprint,
        listed.split(' ').nth(1).unwrap().trim()
    );
    let address = format!("tls://{}", renewed.tls);
    let _ = ferry(
        data,
        &[
            "known-hosts",
            "add",
            &address,
            "--fingerprint",
            listed.split(' ').nth(1).unwrap().trim(),
        ],
    );
    let out = ferry(data, &["ls", &address]);
    assert_eq!(out.status.code(), Some(9));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("has CHANGED") && said.contains(&renewed.fingerprint),
        "{said}"
    );
}

#[test]
fn on_a_terminal_the_client_asks_once_and_remembers() {
    let server = TlsServer::start(&[], prepare);
    let data = tempfile::tempdir().unwrap();
    let address = format!("tls://{}", server.tls);
    let dir = tempfile::tempdir().unwrap();
    let env = [("XDG_DATA_HOME", data.path().to_str().unwrap())];
    let mut ls = common::pty::Pty::spawn(BIN, &["ls", &address], dir.path(), &env);
    ls.expect(&server.fingerprint);
    ls.expect("Trust it from now on? [y/N]");
    ls.send("y\r");
    ls.expect("a.txt");
    assert_eq!(ls.wait(), Some(0));
    // Remembered: no question the second time, even without a terminal.
    let out = ferry(data.path(), &["ls", &address]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("a.txt"));
}

#[test]
fn with_ca_the_certificate_must_name_the_host() {
    // A CA, and a server certificate it signs for one name and 127.0.0.1.
    let certs = tempfile::tempdir().unwrap();
    let at = |name: &str| certs.path().join(name).to_str().unwrap().to_owned();
    let (ca, ca_key, cert, key) = (at("ca.pem"), at("ca.key"), at("c.pem"), at("k.pem"));
    let (csr, ext, expired) = (at("c.csr"), at("ext.cnf"), at("expired.pem"));
    std::fs::write(&ext, "subjectAltName=DNS:files.example.org,IP:127.0.0.1\n").unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    for args in [
        [
            &["req", "-x509"][..],
            &ec,
            &["-days", "2", "-subj", "/CN=test CA"],
        ]
        .concat()
        .into_iter()
        .chain(["-keyout", &ca_key, "-out", &ca])
        .collect::<Vec<_>>(),
        [&["req"][..], &ec, &["-subj", "/CN=files.example.org"]]
            .concat()
            .into_iter()
            .chain(["-keyout", &key, "-out", &csr])
            .collect(),
        vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
        // The same key and names, expired yesterday.
        vec![
            "x509", "-req", "-in", &csr, "-CA", &ca, "-CAkey", &ca_key, "-days", "-1", "-extfile",
            &ext, "-out", &expired,
        ],
    ] {
        let made = Command::new("openssl")
            .args(&args)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(made.success(), "openssl {args:?}");
    }
    let (cert_arg, key_arg) = (cert.as_str(), key.as_str());
    let server = TlsServer::start(&["--tls-cert", cert_arg, "--tls-key", key_arg], prepare);
    let data = tempfile::tempdir().unwrap();
    let port = server.tls.port();
    // Named in the certificate: trusted through --ca, nothing asked or kept.
    let good = format!("tls://127.0.0.1:{port}");
    let out = ferry(
        data.path(),
        &["get", "--ca", &ca, &good, "a.txt", "-o", "-"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello over tls\n");
    assert!(!data.path().join("ferry/known_hosts").exists());
    // `localhost` is not among its names: refused, exit 9.
    let wrong = format!("tls://localhost:{port}");
    let out = ferry(data.path(), &["ls", "--ca", &ca, &wrong]);
    assert_eq!(out.status.code(), Some(9));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("not trusted") && said.contains("NotValidForName"),
        "{said}"
    );
    // An expired certificate, however well signed: refused, exit 9.
    drop(server);
    let server = TlsServer::start(&["--tls-cert", &expired, "--tls-key", key_arg], prepare);
    let good = format!("tls://127.0.0.1:{}", server.tls.port());
    let out = ferry(data.path(), &["ls", "--ca", &ca, &good]);
    assert_eq!(out.status.code(), Some(9));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("not trusted") && said.contains("Expired"),
        "{said}"
    );
}

#[test]
fn a_cache_tier_speaks_tls_on_both_hops_logins_included() {
    let origin = TlsServer::start(&[], prepare);
    let origin_ca = origin.root().join("tls-cert.pem");
    let cache = TlsCache::start(
        &format!("tls://{}", origin.tls),
        &["--origin-ca", origin_ca.to_str().unwrap()],
    );
    let data = tempfile::tempdir().unwrap();
    let address = format!("tls://{}", cache.tls);
    let ca = cache.cert();
    // A public file, filled from the origin over TLS.
    let out = ferry(
        data.path(),
        &["get", "--ca", &ca, &address, "mid.bin", "-o", "-"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout == common::data(300_000, 3),
        "mid.bin through the cache differs"
    );
    // A private file: the login relayed, encrypted on both hops.
    let private = [
        "get",
        "--ca",
        &ca,
        "--user",
        "alice",
        &address,
        "diary.txt",
        "-o",
        "-",
    ];
    let out = ferry(data.path(), &private);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"dear diary");
    let log = wait_for(|| cache.log(), "AUTH user=alice", 1);
    assert!(
        log.contains(" tls AUTH user=alice PASS login relayed to the origin"),
        "{log}"
    );
    let log = wait_for(|| origin.log(), "user=alice", 1);
    assert!(
        log.contains(" tls DOWNLOAD \"diary.txt\" user=alice ok"),
        "{log}"
    );
    assert!(log.contains(" tls RESUME \"mid.bin\""), "{log}");
}

#[test]
fn a_cache_does_not_relay_a_login_over_tls_to_a_plain_origin() {
    let origin = TlsServer::start(&[], prepare);
    let cache = TlsCache::start(&origin.plain.unwrap().to_string(), &[]);
    let data = tempfile::tempdir().unwrap();
    let address = format!("tls://{}", cache.tls);
    let out = ferry(
        data.path(),
        &["ls", "--ca", &cache.cert(), "--user", "alice", &address],
    );
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = wait_for(|| cache.log(), "not relayed", 1);
    assert!(
        log.contains(
            "refused: a login over TLS (user \"alice\") is not relayed to a plain-text origin"
        ),
        "{log}"
    );
    assert!(
        !origin.log().contains("alice"),
        "the origin never saw the login"
    );
}

#[test]
fn a_handshake_that_never_finishes_is_cut_at_the_request_timeout() {
    let server = TlsServer::start(&["--request-timeout", "1"], prepare);
    let mut stream = std::net::TcpStream::connect(server.tls).unwrap();
    // The first bytes of a ClientHello, and then nothing.
    stream.write_all(&[0x16, 0x03, 0x01]).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut reply = Vec::new();
    let read = std::io::Read::read_to_end(&mut stream, &mut reply);
    assert!(read.is_ok(), "the server closed the connection: {read:?}");
    let log = wait_for(|| server.log(), "request timeout", 1);
    assert!(
        log.contains("tls - error: the request was not complete within the request timeout"),
        "{log}"
    );
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_capture_of_a_tls_tier_holds_neither_the_password_nor_the_file() {
    let secret = b"the diary's secret line, 0123456789abcdef".repeat(20);
    let origin = TlsServer::start(&[], |root| {
        prepare(root);
        std::fs::write(root.join("private/alice/secret.txt"), &secret).unwrap();
    });
    let origin_ca = origin.root().join("tls-cert.pem");
    let cache = TlsCache::start(
        &format!("tls://{}", origin.tls),
        &["--origin-ca", origin_ca.to_str().unwrap()],
    );
    let data = tempfile::tempdir().unwrap();
    let get = |address: String, ca: Option<String>| {
        let mut args = vec!["get", "--user", "alice"];
        if let Some(ca) = &ca {
            args.extend(["--ca", ca.as_str()]);
        }
        args.extend([address.as_str(), "secret.txt", "-o", "-"]);
        let out = ferry(data.path(), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == secret, "the private file arrived whole");
    };
    // Plain first, as a control: the capture does see what crosses in the
    // clear.
    let plain = origin.plain.unwrap();
    let clear = captured(&[plain.port()], || get(plain.to_string(), None));
    assert!(holds(&clear, b"wonderland") && holds(&clear, &secret[..64]));
    // Client to cache and cache to origin, both over TLS.
    let ports = [cache.tls.port(), origin.tls.port()];
    let address = format!("tls://{}", cache.tls);
    let encrypted = captured(&ports, || get(address, Some(cache.cert())));
    assert!(
        encrypted.len() > secret.len(),
        "the capture holds the transfer"
    );
    assert!(
        !holds(&encrypted, b"wonderland"),
        "the password crossed in the clear"
    );
    assert!(
        !holds(&encrypted, &secret[..64]),
        "the file crossed in the clear"
    );
    assert!(
        !holds(&encrypted, b"alice"),
        "the user name crossed in the clear"
    );
}

#[test]
fn an_upload_refused_early_is_told_over_tls_as_over_plain_tcp() {
    let server = TlsServer::start(&["--quota-size", "1MiB"], prepare);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("huge.bin"), common::data(5 << 20, 4)).unwrap();
    std::fs::write(dir.path().join("a.txt"), b"another a").unwrap();
    let ca = server.root().join("tls-cert.pem");
    let put = |address: String, file: &str| {
        let mut command = Command::new(BIN);
        command
            .args(["put", &address, file, "--dir"])
            .arg(dir.path());
        if address.starts_with("tls://") {
            command.arg("--ca").arg(&ca);
        }
        let out = command.stdin(Stdio::null()).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (plain, tls) = (
        server.plain.unwrap().to_string(),
        format!("tls://{}", server.tls),
    );
    for file in ["a.txt", "huge.bin"] {
        // Refused at the first status (the name exists), or while the body
        // is on its way (over the quota): the same words and exit code.
        let over_plain = put(plain.clone(), file);
        let over_tls = put(tls.clone(), file);
        assert_eq!(over_plain.0, Some(5), "{file}: {}", over_plain.1);
        assert_eq!(over_tls, over_plain, "{file}");
    }
    assert!(!server.root().join("public/huge.bin").exists());
}

#[test]
fn captures_of_every_cipher_suite_open_with_the_peers_key_log() {
    // openssl, not ferry, negotiates and writes the key log: the decoder
    // opens what another implementation sealed, with each TLS 1.3 suite.
    let server = TlsServer::start(&[], prepare);
    let file = data(300_000, 3);
    let md5 = format!("{:x}", Md5::digest(&file));
    let request = encoded(Request::Download {
        name: name("mid.bin"),
    });
    let dir = tempfile::tempdir().unwrap();
    let port = server.tls.port().to_string();
    let decode = |capture: &Path, keys: Option<&Path>| -> serde_json::Value {
        let mut command = Command::new(BIN);
        command.args(["decode", "--json", "--port", &port]);
        if let Some(keys) = keys {
            command.arg("--keylog").arg(keys);
        }
        let out = command.arg(capture).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    for suite in [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ] {
        let keys = dir.path().join(format!("{suite}.keys"));
        let options = [
            "-alpn",
            "ferry",
            "-ciphersuites",
            suite,
            "-keylogfile",
            keys.to_str().unwrap(),
        ];
        let mut reply = Vec::new();
        let capture = captured(&[server.tls.port()], || {
            reply = openssl_with(server.tls, &request, &options);
        });
        assert_eq!(
            reply.len(),
            5 + file.len(),
            "{suite}: the whole answer arrived"
        );
        let path = dir.path().join(format!("{suite}.pcap"));
        std::fs::write(&path, capture).unwrap();
        let t = decode(&path, Some(&keys));
        let c = &t["connections"][0];
        assert_eq!(c["tls"]["cipher_suite"], suite);
        assert_eq!(c["tls"]["version"], "TLS 1.3");
        let inside: Vec<&serde_json::Value> = c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["layer"] == "decrypted")
            .collect();
        let summaries: Vec<&str> = inside
            .iter()
            .map(|m| m["summary"].as_str().unwrap())
            .collect();
        assert_eq!(
            summaries,
            [
                "DOWNLOAD \"mid.bin\"",
                "status 0: the file follows, 300000 bytes",
                "download: 300000 bytes of file data"
            ],
            "{suite}"
        );
        assert_eq!(
            inside[2]["payload"]["md5"],
            md5.as_str(),
            "{suite}: byte for byte"
        );
        // 300000 bytes need at least 19 records of 16 KiB, each its own message.
        let records = c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["layer"] == "tls" && m["direction"] == "to_client")
            .count();
        assert!(records >= 19, "{suite}: {records} records");
        assert!(inside[2]["records"].as_array().unwrap().len() >= 19);
    }
    // A HelloRetryRequest (the client's key share is for a group the server
    // does not take): the second ClientHello and the rest still open.
    let keys = dir.path().join("retry.keys");
    let options = [
        "-alpn",
        "ferry",
        "-groups",
        "P-521:X25519",
        "-keylogfile",
        keys.to_str().unwrap(),
    ];
    let capture = captured(&[server.tls.port()], || {
        assert_eq!(
            openssl_with(server.tls, &request, &options).len(),
            5 + file.len()
        );
    });
    let path = dir.path().join("retry.pcap");
    std::fs::write(&path, capture).unwrap();
    let t = decode(&path, Some(&keys));
    let c = &t["connections"][0];
    let summaries: Vec<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries.contains(&"TLS HelloRetryRequest: the server asks for a key share in x25519"),
        "{summaries:#?}"
    );
    assert_eq!(
        summaries
            .iter()
            .filter(|s| s.starts_with("TLS ClientHello"))
            .count(),
        2,
        "{summaries:#?}"
    );
    assert!(
        summaries.contains(&"download: 300000 bytes of file data"),
        "{summaries:#?}"
    );
    // TLS 1.2: its handshake is shown, and the decoder says it opens 1.3 only.
    let keys = dir.path().join("tls12.keys");
    let options = [
        "-alpn",
        "ferry",
        "-tls1_2",
        "-keylogfile",
        keys.to_str().unwrap(),
    ];
    let capture = captured(&[server.tls.port()], || {
        assert_eq!(
            openssl_with(server.tls, &request, &options).len(),
            5 + file.len()
        );
    });
    let path = dir.path().join("tls12.pcap");
    std::fs::write(&path, capture).unwrap();
    let t = decode(&path, Some(&keys));
    let c = &t["connections"][0];
    assert_eq!(c["tls"]["version"], "TLS 1.2");
    let lesson = c["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "encrypted")
        .unwrap();
    let lesson = lesson["en"].as_str().unwrap();
    assert!(
        lesson.contains(
            "decryption covers TLS 1.3 only. The key log holds its TLS 1.2 master secret."
        ),
        "{lesson}"
    );
    // Without its key log, it is not sent to look for one.
    let bare = decode(&path, None);
    let lesson = bare["connections"][0]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "encrypted")
        .unwrap()["en"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        lesson.ends_with("decryption covers TLS 1.3 only."),
        "{lesson}"
    );
    assert!(!lesson.contains("--keylog"), "{lesson}");
    // After each side's change_cipher_spec, its records are encrypted.
    let summaries: Vec<&str> = c["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries.contains(&"TLS change_cipher_spec: from here on this side encrypts"),
        "{summaries:#?}"
    );
    assert!(
        summaries
            .iter()
            .any(|s| s.starts_with("TLS ServerHello: TLS 1.2, TLS_ECDHE_ECDSA_WITH_")),
        "{summaries:#?}"
    );
}
