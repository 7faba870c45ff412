//! SeaweedFS, a real distributed object store with an S3 gateway, for the
//! object store's tests: one server per test binary, started on first use
//! with an identity every request must be signed with, killed when the test
//! binary exits. `scripts/setup.sh` installs it (target/venv/bin/weed).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

/// The credentials the store accepts (and nothing unsigned).
pub const KEY: &str = "ferry-test-key";
pub const SECRET: &str = "ferry-test-secret";
/// The bucket every test uses, each under a prefix of its own.
pub const BUCKET: &str = "ferry";

/// A running SeaweedFS.
#[derive(Debug)]
pub struct Weed {
    /// Its S3 endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The same gateway over HTTPS, `https://127.0.0.1:PORT`.
    pub https_endpoint: String,
    /// The self-signed certificate (PEM) the HTTPS endpoint presents.
    pub https_cert: std::path::PathBuf,
    /// Its process.
    pub pid: u32,
}

static WEED: OnceLock<Weed> = OnceLock::new();
static PREFIXES: AtomicUsize = AtomicUsize::new(0);

/// The store, started on first use (within a bounded wait).
pub fn weed() -> &'static Weed {
    WEED.get_or_init(start)
}

/// A `s3://BUCKET/PREFIX` no other test of this run uses.
pub fn fresh_store() -> String {
    let n = PREFIXES.fetch_add(1, Ordering::Relaxed);
    format!("s3://{BUCKET}/t{}-{n}", std::process::id())
}

/// Gives a command the credentials and the endpoint, as a user would.
pub fn with_env(command: &mut Command) -> &mut Command {
    command
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", &weed().endpoint)
        .env_remove("AWS_REGION")
}

/// `N` different free ports whose gRPC twins (port + 10000, SeaweedFS's
/// default) are free too, all below the kernel's ephemeral range (32768
/// and up by default): between this check and SeaweedFS binding them, no
/// outgoing connection of another test can be given one of them.
fn free_ports<const N: usize>() -> [u16; N] {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new();
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    let mut ports = [0; N];
    let mut found = 0;
    for attempt in 0u32..100_000 {
        let port = 20000 + (random.hash_one(attempt) % 2700) as u16;
        if !ports[..found].contains(&port) && free(port) && free(port + 10000) {
            ports[found] = port;
            found += 1;
            if found == N {
                return ports;
            }
        }
    }
    panic!("no {N} free pairs of ports for SeaweedFS between 20000 and 32700");
}

fn start() -> Weed {
    let bin = std::env::var_os("FERRY_WEED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/venv/bin/weed"
            ))
        });
    assert!(
        bin.exists(),
        "{} is missing: scripts/setup.sh installs SeaweedFS",
        bin.display()
    );
    // Folders of earlier runs whose test binary is gone.
    for entry in std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("ferry-weed-")
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = std::env::temp_dir().join(format!("ferry-weed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = dir.join("s3.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"identities":[{{"name":"ferry","credentials":[{{"accessKey":"{KEY}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        ),
    )
    .unwrap();
    let [master, volume, filer, s3, https] = free_ports();
    // A certificate for the HTTPS port, made by openssl (not by ferry).
    let (cert, key) = (dir.join("s3-cert.pem"), dir.join("s3-key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl (scripts/setup.sh installs it)");
    assert!(
        made.success(),
        "openssl could not make the gateway's certificate"
    );
    let mut command = Command::new(bin);
    command
        .arg("server")
        .arg(format!("-dir={}", dir.join("data").display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        .arg(format!("-master.port={master}"))
        .arg(format!("-volume.port={volume}"))
        .arg(format!("-filer.port={filer}"))
        .args(["-s3", &format!("-s3.port={s3}")])
        .arg(format!("-s3.port.https={https}"))
        .arg(format!("-s3.cert.file={}", cert.display()))
        .arg(format!("-s3.key.file={}", key.display()))
        .arg(format!("-s3.config={}", config.display()))
        .args([
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=0",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("weed.log")).unwrap());
    // Killed when the thread that started it ends: a thread that never does,
    // so the store lives exactly as long as the test binary.
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = command.spawn().expect("weed starts");
        tx.send(child.id()).unwrap();
        let _keep = child;
        loop {
            std::thread::park();
        }
    });
    let pid = rx.recv().unwrap();
    let weed = Weed {
        endpoint: format!("http://127.0.0.1:{s3}"),
        https_endpoint: format!("https://127.0.0.1:{https}"),
        https_cert: cert,
        pid,
    };
    // Bounded: it answers within seconds, and can take a while to accept
    // writes (its first volumes grow on demand).
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match create_bucket(&weed.endpoint) {
            Ok(()) => return weed,
            Err(e) if Instant::now() > deadline => panic!(
                "SeaweedFS did not come up in 90 s ({e}); its log: {}",
                std::fs::read_to_string(dir.join("weed.log")).unwrap_or_default()
            ),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Creates the bucket with a signed request (done already is fine).
fn create_bucket(endpoint: &str) -> Result<(), String> {
    let bucket = Bucket::new(
        endpoint.parse().unwrap(),
        UrlStyle::Path,
        BUCKET.to_owned(),
        "us-east-1".to_owned(),
    )
    .unwrap();
    let credentials = Credentials::new(KEY, SECRET);
    let url = bucket
        .create_bucket(&credentials)
        .sign(Duration::from_secs(60));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let response = agent
        .put(url.as_str())
        .send_empty()
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200 | 409 => {
            // Writable yet? A first object proves it.
            let url = bucket
                .put_object(Some(&credentials), "ready")
                .sign(Duration::from_secs(60));
            let put = agent
                .put(url.as_str())
                .send("ok")
                .map_err(|e| e.to_string())?;
            match put.status().as_u16() {
                200 => Ok(()),
                other => Err(format!("a first PUT answered {other}")),
            }
        }
        other => Err(format!("CreateBucket answered {other}")),
    }
}

/// The test bucket, and a client for it.
fn client() -> (Bucket, Credentials, ureq::Agent) {
    let bucket = Bucket::new(
        weed().endpoint.parse().unwrap(),
        UrlStyle::Path,
        BUCKET.to_owned(),
        "us-east-1".to_owned(),
    )
    .unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    (bucket, Credentials::new(KEY, SECRET), agent)
}

/// The key of `rel` in `store` (`s3://BUCKET/PREFIX`).
fn key(store: &str, rel: &str) -> String {
    let prefix = store
        .strip_prefix(&format!("s3://{BUCKET}/"))
        .expect("a store of the test bucket");
    format!("{prefix}/{rel}")
}

/// The object at `rel` in `store`, if any.
pub fn get(store: &str, rel: &str) -> Option<Vec<u8>> {
    let (bucket, credentials, agent) = client();
    let url = bucket
        .get_object(Some(&credentials), &key(store, rel))
        .sign(Duration::from_secs(300));
    let response = agent.get(url.as_str()).call().unwrap();
    match response.status().as_u16() {
        200 => Some(response.into_body().read_to_vec().unwrap()),
        404 => None,
        other => panic!("GET {rel}: {other}"),
    }
}

/// Writes `bytes` at `rel` in `store`.
pub fn put(store: &str, rel: &str, bytes: &[u8]) {
    let (bucket, credentials, agent) = client();
    let url = bucket
        .put_object(Some(&credentials), &key(store, rel))
        .sign(Duration::from_secs(300));
    let response = agent.put(url.as_str()).send(bytes).unwrap();
    assert_eq!(response.status().as_u16(), 200, "PUT {rel}");
}

/// Copies a root folder's regular files (public/, private/<user>/) and its
/// users file into `store` (`s3://BUCKET/PREFIX`), as `ferry serve --store`
/// lays them out. Symlinks, FIFOs and the like have no place in a bucket.
pub fn mirror(root: &std::path::Path, store: &str) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                if rel.starts_with("public/") || rel.starts_with("private/") || rel == "users" {
                    put(store, &rel, &std::fs::read(&path).unwrap());
                }
            }
        }
    }
}
