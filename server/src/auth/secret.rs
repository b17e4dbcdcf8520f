//! The server secret and the keyed hashes derived from it: code hashes, and the decoy phone
//! endings shown for unknown emails. Each use has its own label, so no two can collide.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// At least 32 random bytes, from `SERVER_SECRET` or the generated secret file.
#[derive(Clone)]
pub struct ServerSecret {
    /// HMAC keyed with the secret, cloned for each hash.
    keyed: HmacSha256,
}

pub const MIN_SECRET_BYTES: usize = 32;

impl ServerSecret {
    /// `None` if shorter than 32 bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        if bytes.len() < MIN_SECRET_BYTES {
            return None;
        }
        let keyed = HmacSha256::new_from_slice(&bytes).ok()?;
        Some(Self { keyed })
    }

    /// HMAC-SHA256 over `label`, then each part length-prefixed (so parts cannot run together).
    pub fn keyed_hash(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(label.as_bytes());
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused() {
        assert!(ServerSecret::from_bytes(vec![7; 31]).is_none());
        assert!(ServerSecret::from_bytes(vec![7; 32]).is_some());
    }

    #[test]
    fn labels_and_part_boundaries_change_the_hash() {
        let secret = ServerSecret::from_bytes(vec![1; 32]).expect("long enough");
        let a = secret.keyed_hash("code", &[b"ab", b"c"]);
        assert_ne!(a, secret.keyed_hash("code", &[b"a", b"bc"]));
        assert_ne!(a, secret.keyed_hash("decoy", &[b"ab", b"c"]));
        assert_eq!(a, secret.keyed_hash("code", &[b"ab", b"c"]));
    }
}

/// Where the secret came from, for the startup log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    File(std::path::PathBuf),
    Generated(std::path::PathBuf),
}

/// `SERVER_SECRET` if set (hex or base64); otherwise the secret file, created with 32 random bytes
/// (readable only by its owner) when it does not exist yet.
pub fn load_or_create(
    from_env: Option<&str>,
    file: &std::path::Path,
) -> anyhow::Result<(ServerSecret, SecretSource)> {
    use anyhow::Context;
    if let Some(value) = from_env {
        let secret = decode(value).and_then(ServerSecret::from_bytes).context(
            "SERVER_SECRET must be at least 32 bytes, written as hex or base64 \
             (e.g. the output of `openssl rand -hex 32`)",
        )?;
        return Ok((secret, SecretSource::Environment));
    }
    if file.exists() {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("could not read SERVER_SECRET_FILE {}", file.display()))?;
        let secret = decode(text.trim())
            .and_then(ServerSecret::from_bytes)
            .with_context(|| {
                format!(
                    "SERVER_SECRET_FILE {} does not hold at least 32 bytes of hex",
                    file.display()
                )
            })?;
        return Ok((secret, SecretSource::File(file.to_owned())));
    }
    let mut bytes = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    if let Some(parent) = file
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create the directory {}", parent.display()))?;
    }
    write_private(file, &hex::encode(&bytes))
        .with_context(|| format!("could not write SERVER_SECRET_FILE {}", file.display()))?;
    let secret = ServerSecret::from_bytes(bytes).context("a generated secret is 32 bytes")?;
    Ok((secret, SecretSource::Generated(file.to_owned())))
}

fn decode(value: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    hex::decode(value)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(value).ok())
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(value)
                .ok()
        })
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod loading_tests {
    use super::*;

    #[test]
    fn a_missing_secret_file_is_generated_once_and_then_reused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("nested").join("secret");
        let (first, source) = load_or_create(None, &file)?;
        assert_eq!(source, SecretSource::Generated(file.clone()));
        let (second, source) = load_or_create(None, &file)?;
        assert_eq!(source, SecretSource::File(file.clone()));
        assert_eq!(first.keyed_hash("x", &[]), second.keyed_hash("x", &[]));
        Ok(())
    }

    #[test]
    fn a_short_secret_in_the_environment_is_refused() {
        let error = load_or_create(Some("abcd"), std::path::Path::new("/nonexistent"))
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.contains("SERVER_SECRET"), "{error}");
        assert!(
            load_or_create(Some(&"ab".repeat(32)), std::path::Path::new("/nonexistent")).is_ok()
        );
    }
}
