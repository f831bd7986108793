//! Secrets in a passphrase-protected file, for machines without a keyring.
//!
//! File format, version 1 (160 bytes, all integers big-endian):
//!
//! ```text
//! offset  len  field
//!      0    8  magic "WEFTKEY1" (the trailing digit is the format version)
//!      8    4  Argon2id m_cost, KiB
//!     12    4  Argon2id t_cost (iterations)
//!     16    4  Argon2id p_cost (lanes)
//!     20   16  salt (random per save)
//!     36   16  workspace id
//!     52   12  nonce (random per save)
//!     64   96  AES-256-GCM ciphertext + tag of:
//!              workspace key (32) ‖ device key seed (32) ‖ workspace id (16)
//! ```
//!
//! The AES key is Argon2id(passphrase, salt) with the stored parameters; the
//! associated data is bytes 0..52 (magic, parameters, salt, workspace id), so
//! lowering the parameters or swapping the salt or workspace id in the file
//! makes decryption fail instead of weakening it. The workspace id is in the
//! clear as well so a file for another workspace is reported as such rather
//! than as a wrong passphrase.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use weft_core::WorkspaceId;
use zeroize::Zeroizing;

use super::{SecretError, SecretStore, WorkspaceSecrets, secrets_from_halves};

const MAGIC: &[u8; 8] = b"WEFTKEY1";
/// Same prefix, any version digit: recognises a key file from a newer weft.
const MAGIC_FAMILY: &[u8; 7] = b"WEFTKEY";
const AAD_LEN: usize = 8 + 12 + 16 + 16;
const PLAINTEXT_LEN: usize = 32 + 32 + 16;
const FILE_LEN: usize = AAD_LEN + 12 + PLAINTEXT_LEN + 16;

/// Upper bounds on parameters read from a file. A damaged or hostile file
/// could otherwise ask for 4 TiB of memory or years of hashing.
const MAX_M_COST_KIB: u32 = 4 * 1024 * 1024; // 4 GiB
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 64;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// OWASP's Argon2id recommendation (19 MiB, 2 iterations, 1 lane), paid
    /// once per unlock.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    fn argon2(&self) -> Result<Argon2<'static>, SecretError> {
        let params =
            Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32)).map_err(|e| {
                SecretError::Kdf {
                    m_cost_kib: self.m_cost_kib,
                    t_cost: self.t_cost,
                    p_cost: self.p_cost,
                    detail: e.to_string(),
                }
            })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    fn derive(
        &self,
        passphrase: &str,
        salt: &[u8; 16],
    ) -> Result<Zeroizing<[u8; 32]>, SecretError> {
        let mut key = Zeroizing::new([0u8; 32]);
        self.argon2()?
            .hash_password_into(passphrase.as_bytes(), salt, key.as_mut_slice())
            .map_err(|e| SecretError::Kdf {
                m_cost_kib: self.m_cost_kib,
                t_cost: self.t_cost,
                p_cost: self.p_cost,
                detail: e.to_string(),
            })?;
        Ok(key)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Secrets of one workspace in one passphrase-protected file.
///
/// The passphrase is used as the UTF-8 bytes given, without Unicode
/// normalisation: the same passphrase typed on the same system always
/// produces the same bytes.
pub struct PassphraseFile {
    path: PathBuf,
    passphrase: Zeroizing<String>,
    params: KdfParams,
}

impl std::fmt::Debug for PassphraseFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseFile")
            .field("path", &self.path)
            .field("passphrase", &"[redacted]")
            .field("params", &self.params)
            .finish()
    }
}

/// The parsed clear-text part of a key file.
struct Parsed<'a> {
    params: KdfParams,
    salt: [u8; 16],
    workspace: WorkspaceId,
    nonce: [u8; 12],
    aad: &'a [u8],
    ciphertext: &'a [u8],
}

impl PassphraseFile {
    /// A key file at `path`, protected by `passphrase`, with
    /// [`KdfParams::DEFAULT`] for new saves.
    pub fn new(path: PathBuf, passphrase: Zeroizing<String>) -> Self {
        Self {
            path,
            passphrase,
            params: KdfParams::DEFAULT,
        }
    }

    /// Uses `params` for future saves (loading always uses the parameters
    /// recorded in the file). Tests use cheap ones.
    pub fn with_params(mut self, params: KdfParams) -> Self {
        self.params = params;
        self
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&self, detail: impl Into<String>) -> SecretError {
        SecretError::Corrupt {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }

    fn io(&self, source: io::Error) -> SecretError {
        SecretError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads the file, or `None` if it does not exist. Reads at most a little
    /// more than a valid file's size, so pointing this at a huge file is cheap.
    fn read(&self) -> Result<Option<Vec<u8>>, SecretError> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let mut buf = Vec::with_capacity(FILE_LEN);
        f.take(FILE_LEN as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| self.io(e))?;
        Ok(Some(buf))
    }

    fn parse<'a>(&self, bytes: &'a [u8]) -> Result<Parsed<'a>, SecretError> {
        if !bytes.starts_with(MAGIC_FAMILY) {
            return Err(self.corrupt("it does not start with WEFTKEY (not a weft key file)"));
        }
        if !bytes.starts_with(MAGIC) {
            return Err(self.corrupt(format!(
                "unsupported key file version {:?}; this build reads WEFTKEY1 (written by a newer weft?)",
                String::from_utf8_lossy(&bytes[7..8.min(bytes.len())])
            )));
        }
        if bytes.len() != FILE_LEN {
            let found = if bytes.len() > FILE_LEN {
                "longer than that".to_owned()
            } else {
                format!("{} bytes long", bytes.len())
            };
            return Err(self.corrupt(format!(
                "a version-1 key file is exactly {FILE_LEN} bytes, this one is {found}"
            )));
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let params = KdfParams {
            m_cost_kib: u32_at(8),
            t_cost: u32_at(12),
            p_cost: u32_at(16),
        };
        if params.m_cost_kib > MAX_M_COST_KIB
            || params.t_cost > MAX_T_COST
            || params.p_cost > MAX_P_COST
        {
            return Err(self.corrupt(format!(
                "Argon2id parameters {params:?} exceed the limits (m_cost <= {MAX_M_COST_KIB} KiB, t_cost <= {MAX_T_COST}, p_cost <= {MAX_P_COST})"
            )));
        }
        // Parameters argon2 itself refuses (m_cost below 8 KiB per lane, zero
        // iterations) can only come from damage, not from any weft.
        params
            .argon2()
            .map_err(|e| self.corrupt(format!("unusable Argon2id parameters: {e}")))?;
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&bytes[20..36]);
        let mut ws = [0u8; 16];
        ws.copy_from_slice(&bytes[36..52]);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&bytes[52..64]);
        Ok(Parsed {
            params,
            salt,
            workspace: WorkspaceId::from_bytes(ws),
            nonce,
            aad: &bytes[..AAD_LEN],
            ciphertext: &bytes[AAD_LEN + 12..],
        })
    }

    fn check_workspace(
        &self,
        expected: &WorkspaceId,
        found: WorkspaceId,
    ) -> Result<(), SecretError> {
        if &found == expected {
            Ok(())
        } else {
            Err(SecretError::WrongWorkspace {
                path: self.path.clone(),
                expected: *expected,
                found,
            })
        }
    }

    /// Writes `bytes` to the key file atomically: a temporary file in the
    /// same directory (created 0600), fsync, rename over the target, fsync the
    /// directory. A crash leaves either the old file or the new one, never a
    /// torn key file (which would lose the workspace's keys).
    fn write_atomic(&self, bytes: &[u8]) -> Result<(), SecretError> {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = self.path.file_name().ok_or_else(|| {
            self.io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has no file name",
            ))
        })?;
        if !dir.exists() {
            create_private_dir(&dir).map_err(|source| SecretError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(SecretError::Random)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            hex::encode(suffix)
        ));
        let result = (|| {
            let mut opts = OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &self.path)?;
            sync_dir(&dir)
        })();
        if let Err(source) = result {
            // The temporary holds only ciphertext, but don't leave litter.
            let _ = fs::remove_file(&tmp);
            return Err(SecretError::Io {
                path: self.path.clone(),
                source,
            });
        }
        Ok(())
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Makes the rename durable: on Linux a rename is only on disk once the
/// directory itself is synced.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows cannot open a directory as a file to sync it; NTFS journals the
/// rename's metadata itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

impl SecretStore for PassphraseFile {
    fn save(&self, ws: &WorkspaceId, s: &WorkspaceSecrets) -> Result<(), SecretError> {
        if self.passphrase.is_empty() {
            return Err(SecretError::EmptyPassphrase);
        }
        // Never overwrite another workspace's keys: that would lose them.
        if let Some(existing) = self.read()?
            && let Ok(p) = self.parse(&existing)
        {
            self.check_workspace(ws, p.workspace)?;
        }
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut salt).map_err(SecretError::Random)?;
        getrandom::fill(&mut nonce).map_err(SecretError::Random)?;
        let key = self.params.derive(&self.passphrase, &salt)?;

        let mut out = Vec::with_capacity(FILE_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.params.m_cost_kib.to_be_bytes());
        out.extend_from_slice(&self.params.t_cost.to_be_bytes());
        out.extend_from_slice(&self.params.p_cost.to_be_bytes());
        out.extend_from_slice(&salt);
        out.extend_from_slice(ws.as_bytes());
        out.extend_from_slice(&nonce);

        // The plaintext lives only in this wiped buffer, and is encrypted in
        // place before anything reaches the file.
        let mut body = Zeroizing::new(Vec::with_capacity(PLAINTEXT_LEN + 16));
        body.extend_from_slice(s.workspace_key.expose_secret());
        body.extend_from_slice(s.device_key.expose_seed());
        body.extend_from_slice(ws.as_bytes());
        cipher(&key)
            .encrypt_in_place(&Nonce::from(nonce), &out[..AAD_LEN], &mut *body)
            .map_err(|_| self.corrupt("AES-256-GCM refused to encrypt 80 bytes (a bug)"))?;
        out.extend_from_slice(&body);
        self.write_atomic(&out)
    }

    fn load(&self, ws: &WorkspaceId) -> Result<WorkspaceSecrets, SecretError> {
        let bytes = self.read()?.ok_or_else(|| SecretError::Missing {
            workspace: *ws,
            entry: "the file itself (it does not exist)".to_owned(),
            store: self.describe(),
        })?;
        let p = self.parse(&bytes)?;
        self.check_workspace(ws, p.workspace)?;
        let key = p.params.derive(&self.passphrase, &p.salt)?;
        let mut body = Zeroizing::new(p.ciphertext.to_vec());
        cipher(&key)
            .decrypt_in_place(&Nonce::from(p.nonce), p.aad, &mut *body)
            .map_err(|_| SecretError::WrongPassphrase {
                path: self.path.clone(),
            })?;
        if &body[64..80] != ws.as_bytes() {
            return Err(self.corrupt("the encrypted workspace id does not match the file header"));
        }
        Ok(secrets_from_halves(&body[..32], &body[32..64]))
    }

    fn delete(&self, ws: &WorkspaceId) -> Result<(), SecretError> {
        let Some(existing) = self.read()? else {
            return Ok(());
        };
        // Refuse to delete a file that provably holds another workspace's
        // keys; a damaged file for this path may be removed.
        if let Ok(p) = self.parse(&existing) {
            self.check_workspace(ws, p.workspace)?;
        }
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(e)),
        }
    }

    fn describe(&self) -> String {
        format!("passphrase-protected key file {}", self.path.display())
    }
}
