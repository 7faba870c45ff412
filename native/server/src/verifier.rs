//! Password checks on a few long-lived threads, each reusing one block of
//! Argon2 memory: however many logins arrive, memory stays at the workers'
//! blocks (about 19 MiB each with the default parameters) instead of a
//! fresh allocation per check, which the allocator keeps per thread.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use smol::channel::{Receiver, Sender};

/// Most Argon2 memory one check may ask for (the users file names it).
const MAX_BLOCKS: usize = 256 * 1024; // 256 MiB of 1 KiB blocks

/// A check to run: the stored hash, the password offered, and where to
/// send the verdict.
struct Job {
    hash: String,
    pass: String,
    reply: Sender<anyhow::Result<bool>>,
}

/// The pool of checking threads.
#[derive(Debug, Clone)]
pub struct Verifier {
    jobs: Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl Verifier {
    /// Starts `workers` checking threads.
    pub fn start(workers: usize) -> anyhow::Result<Verifier> {
        let (jobs, queue) = smol::channel::unbounded::<Job>();
        for i in 0..workers.max(1) {
            let queue: Receiver<Job> = queue.clone();
            std::thread::Builder::new()
                .name(format!("ferry-argon2-{i}"))
                .spawn(move || {
                    let mut memory: Vec<Block> = Vec::new();
                    while let Ok(job) = queue.recv_blocking() {
                        let verdict = check(&job.hash, &job.pass, &mut memory);
                        let _ = job.reply.try_send(verdict);
                    }
                })?;
        }
        Ok(Verifier { jobs })
    }

    /// Whether `pass` matches the stored `hash` (a PHC string); `None` for
    /// an unknown user still costs a whole check, against a dummy hash, so
    /// timing does not tell users apart.
    pub async fn verify(&self, hash: Option<String>, pass: &str) -> anyhow::Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy().to_owned());
        let (reply, verdict) = smol::channel::bounded(1);
        self.jobs
            .send(Job {
                hash,
                pass: pass.to_owned(),
                reply,
            })
            .await
            .map_err(|_| anyhow::anyhow!("the password checkers stopped"))?;
        let ok = verdict
            .recv()
            .await
            .map_err(|_| anyhow::anyhow!("a password checker stopped"))??;
        Ok(ok && known)
    }
}

/// Checks one password with the worker's reused `memory`.
fn check(hash: &str, pass: &str, memory: &mut Vec<Block>) -> anyhow::Result<bool> {
    let parsed =
        PasswordHash::new(hash).map_err(|e| anyhow::anyhow!("bad hash in the users file: {e}"))?;
    let params = Params::try_from(&parsed)
        .map_err(|e| anyhow::anyhow!("bad Argon2 parameters in the users file: {e}"))?;
    let algorithm = Algorithm::try_from(parsed.algorithm)
        .map_err(|e| anyhow::anyhow!("not an Argon2 hash in the users file: {e}"))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| anyhow::anyhow!("bad Argon2 version in the users file: {e}"))?
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("a hash in the users file lacks its salt or its output");
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("bad salt in the users file: {e}"))?;
    let blocks = params.block_count();
    anyhow::ensure!(
        blocks <= MAX_BLOCKS,
        "a hash in the users file asks for {blocks} KiB of memory; at most {MAX_BLOCKS} are allowed"
    );
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(pass.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .map_err(|e| anyhow::anyhow!("the password check failed: {e}"))?;
    // `Output`'s equality is constant-time.
    let computed = argon2::password_hash::Output::new(&out)
        .map_err(|e| anyhow::anyhow!("the password check failed: {e}"))?;
    Ok(computed == expected)
}

/// A hash of nothing anyone knows, made once, for unknown users.
fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(b"not a password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_agrees_with_the_reference_verifier() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let hash = Argon2::default()
            .hash_password(b"right", &salt)
            .unwrap()
            .to_string();
        let pool = Verifier::start(2).unwrap();
        smol::block_on(async {
            assert!(pool.verify(Some(hash.clone()), "right").await.unwrap());
            assert!(!pool.verify(Some(hash.clone()), "wrong").await.unwrap());
            assert!(!pool.verify(None, "right").await.unwrap());
            assert!(pool.verify(Some("garbage".into()), "x").await.is_err());
        });
    }
}
