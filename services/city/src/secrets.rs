//! Secrets the demo makes for itself (kept in its data folder, never in the
//! repository): the card-token hash key and the bureau's dashboard token.
use std::path::Path;

/// Reads `name` from `dir`, or creates it with 32 random bytes in hex.
pub fn load_or_create(dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut bytes = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    let value = hex::encode(bytes);
    std::fs::write(&path, &value)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(value)
}
