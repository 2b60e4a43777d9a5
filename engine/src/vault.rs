//! Exchange credentials at rest: AES-256-GCM under a key derived from the `MASTER_KEY` secret,
//! with the bot id as associated data (a ciphertext copied to another bot does not decrypt).
//!
//! Why here and not in the Durable Object: the format and the rotation rule are decisions, tested
//! natively; the object only supplies the random nonce and stores the blob.
//!
//! Key derivation: `key = SHA-256("keel-credentials-v1" ‖ 0x00 ‖ MASTER_KEY)`; the key id is the
//! first 8 hex digits of `SHA-256("keel-key-id" ‖ 0x00 ‖ key)`, stored with the blob so a rotation
//! knows which key sealed it.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// API key and secret of one exchange account. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCredentials {
    /// Exchange API key.
    pub api_key: String,
    /// Exchange API secret.
    pub api_secret: String,
}

impl std::fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiCredentials { api_key: <redacted>, api_secret: <redacted> }")
    }
}

/// The stored form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedCredentials {
    /// Format version.
    pub v: u32,
    /// Which master key sealed it.
    pub key_id: String,
    /// 96-bit nonce, hex.
    pub nonce: String,
    /// Ciphertext with tag, hex.
    pub ciphertext: String,
}

/// Why credentials could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// `MASTER_KEY` missing or too short.
    #[error("MASTER_KEY must be set to at least 32 characters (wrangler secret put MASTER_KEY)")]
    WeakMasterKey,
    /// The blob was sealed by a key we do not hold.
    #[error("credentials sealed by key {0}, which is neither MASTER_KEY nor MASTER_KEY_PREVIOUS")]
    UnknownKey(String),
    /// Tampered blob, wrong bot, or wrong key.
    #[error("credentials do not decrypt (tampered, or sealed for another bot)")]
    Decrypt,
    /// Malformed stored blob.
    #[error("malformed credentials blob: {0}")]
    Malformed(String),
    /// Fields empty or oversize.
    #[error("invalid credentials: {0}")]
    Invalid(&'static str),
}

/// A derived master key.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey {{ id: {} }}", self.id)
    }
}

impl MasterKey {
    /// Derives the key from the secret's text.
    ///
    /// # Errors
    /// [`VaultError::WeakMasterKey`] under 32 characters.
    pub fn derive(secret: &str) -> Result<Self, VaultError> {
        if secret.len() < 32 {
            return Err(VaultError::WeakMasterKey);
        }
        let mut h = Sha256::new();
        h.update(b"keel-credentials-v1\0");
        h.update(secret.as_bytes());
        let key: [u8; 32] = h.finalize().into();
        let mut hid = Sha256::new();
        hid.update(b"keel-key-id\0");
        hid.update(key);
        let id = hex::encode(&hid.finalize()[..4]);
        Ok(Self { key, id })
    }

    /// The key id stored beside each blob.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Seals credentials for one bot.
///
/// # Errors
/// [`VaultError::Invalid`] on empty or oversize fields.
pub fn seal(
    key: &MasterKey,
    bot_id: &str,
    creds: &ApiCredentials,
    nonce: [u8; 12],
) -> Result<SealedCredentials, VaultError> {
    if creds.api_key.trim().is_empty() || creds.api_secret.trim().is_empty() {
        return Err(VaultError::Invalid(
            "api_key and api_secret must not be empty",
        ));
    }
    if creds.api_key.len() > 512 || creds.api_secret.len() > 4096 {
        return Err(VaultError::Invalid("api_key or api_secret too long"));
    }
    let plain = serde_json::to_vec(creds).map_err(|e| VaultError::Malformed(e.to_string()))?;
    let cipher = Aes256Gcm::new_from_slice(&key.key).map_err(|_| VaultError::WeakMasterKey)?;
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: bot_id.as_bytes(),
            },
        )
        .map_err(|_| VaultError::Decrypt)?;
    Ok(SealedCredentials {
        v: 1,
        key_id: key.id.clone(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ct),
    })
}

/// Opens a blob with whichever of the given keys sealed it.
///
/// # Errors
/// [`VaultError`] when no key matches or the blob does not decrypt for this bot.
pub fn open(
    keys: &[&MasterKey],
    bot_id: &str,
    sealed: &SealedCredentials,
) -> Result<ApiCredentials, VaultError> {
    let key = keys
        .iter()
        .find(|k| k.id == sealed.key_id)
        .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
    let nonce = hex::decode(&sealed.nonce).map_err(|e| VaultError::Malformed(e.to_string()))?;
    if nonce.len() != 12 {
        return Err(VaultError::Malformed("nonce must be 12 bytes".into()));
    }
    let ct = hex::decode(&sealed.ciphertext).map_err(|e| VaultError::Malformed(e.to_string()))?;
    let cipher = Aes256Gcm::new_from_slice(&key.key).map_err(|_| VaultError::WeakMasterKey)?;
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: bot_id.as_bytes(),
            },
        )
        .map_err(|_| VaultError::Decrypt)?;
    serde_json::from_slice(&plain).map_err(|e| VaultError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> ApiCredentials {
        ApiCredentials {
            api_key: "key-123".into(),
            api_secret: "secret-456".into(),
        }
    }

    #[test]
    fn round_trip_and_binding_to_bot() {
        let k = MasterKey::derive(&"m".repeat(40)).unwrap();
        let s = seal(&k, "bot-a", &creds(), [7; 12]).unwrap();
        assert_eq!(open(&[&k], "bot-a", &s).unwrap(), creds());
        assert_eq!(open(&[&k], "bot-b", &s), Err(VaultError::Decrypt));
        assert!(!s.ciphertext.contains(&hex::encode("secret-456")));
    }

    #[test]
    fn rotation_opens_with_previous_key_only_by_id() {
        let old = MasterKey::derive(&"o".repeat(40)).unwrap();
        let new = MasterKey::derive(&"n".repeat(40)).unwrap();
        let s = seal(&old, "bot", &creds(), [1; 12]).unwrap();
        assert_eq!(
            open(&[&new], "bot", &s),
            Err(VaultError::UnknownKey(old.id().to_string()))
        );
        let opened = open(&[&new, &old], "bot", &s).unwrap();
        let resealed = seal(&new, "bot", &opened, [2; 12]).unwrap();
        assert_eq!(resealed.key_id, new.id());
        assert_eq!(open(&[&new], "bot", &resealed).unwrap(), creds());
    }

    #[test]
    fn tampering_and_weak_keys_are_refused() {
        assert_eq!(
            MasterKey::derive("short").unwrap_err(),
            VaultError::WeakMasterKey
        );
        let k = MasterKey::derive(&"m".repeat(40)).unwrap();
        let mut s = seal(&k, "bot", &creds(), [3; 12]).unwrap();
        s.ciphertext.replace_range(
            0..2,
            if &s.ciphertext[0..2] == "00" {
                "01"
            } else {
                "00"
            },
        );
        assert_eq!(open(&[&k], "bot", &s), Err(VaultError::Decrypt));
        let empty = ApiCredentials {
            api_key: " ".into(),
            api_secret: "x".into(),
        };
        assert!(matches!(
            seal(&k, "bot", &empty, [0; 12]),
            Err(VaultError::Invalid(_))
        ));
    }
}
