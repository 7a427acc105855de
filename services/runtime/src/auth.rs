//! Bearer tokens for bureau-only interfaces. Configuration holds only the
//! SHA-256 of each token (`kagoshima-ingest hash-token` prints one), with a name
//! that is logged for every authorised call.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// One client allowed in: its name and the hex SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub name: String,
    pub sha256: String,
    /// The devices this client may see, by vehicle-id prefix (a device
    /// vendor's `["tram-"]`); empty means every device. Only the services
    /// that deal with devices (ingest's diagnostics) look at it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token: send the header `authorization: Bearer <token>`")]
    Missing,
    #[error("the authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("unknown or revoked token")]
    Unknown,
}

/// The tokens a service accepts.
#[derive(Debug, Clone, Default)]
pub struct TokenSet {
    entries: Vec<(String, [u8; 32], DeviceScope)>,
}

/// A configured token hash is not 64 hex digits.
#[derive(Debug, thiserror::Error)]
#[error(
    "token {name:?}: sha256 must be 64 hex digits (make one with `kagoshima-ingest hash-token`)"
)]
pub struct BadTokenHash {
    pub name: String,
}

impl TokenSet {
    pub fn new(entries: &[TokenEntry]) -> Result<Self, BadTokenHash> {
        let entries = entries
            .iter()
            .map(|e| {
                let mut digest = [0u8; 32];
                hex::decode_to_slice(e.sha256.trim(), &mut digest).map_err(|_| BadTokenHash {
                    name: e.name.clone(),
                })?;
                Ok((e.name.clone(), digest, DeviceScope(e.devices.clone())))
            })
            .collect::<Result<_, _>>()?;
        Ok(TokenSet { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks an `authorization` header value; returns the client's name.
    pub fn verify(&self, header: Option<&str>) -> Result<&str, AuthError> {
        self.verify_scoped(header).map(|(name, _)| name)
    }

    /// As [`verify`](Self::verify), with the devices the client may see.
    pub fn verify_scoped(&self, header: Option<&str>) -> Result<(&str, &DeviceScope), AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Malformed)?;
        let digest = hash_token(token);
        self.entries
            .iter()
            .find(|(_, known, _)| bool::from(known.ct_eq(&digest)))
            .map(|(name, _, scope)| (name.as_str(), scope))
            .ok_or(AuthError::Unknown)
    }

    /// A tonic interceptor that refuses calls without a known token and logs
    /// who made each call it lets through.
    pub fn interceptor(
        self,
    ) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
        move |mut request: tonic::Request<()>| {
            let header = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            match self.verify_scoped(header) {
                Ok((name, scope)) => {
                    tracing::info!(client = name, "authorised grpc call");
                    let (name, scope) = (Caller(name.to_owned()), scope.clone());
                    request.extensions_mut().insert(name);
                    request.extensions_mut().insert(scope);
                    Ok(request)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "refused grpc call");
                    Err(tonic::Status::unauthenticated(e.to_string()))
                }
            }
        }
    }
}

/// The name of the authorised client, in a request's extensions.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// The devices the authorised client may see (vehicle-id prefixes; empty:
/// all), in a request's extensions beside [`Caller`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceScope(pub Vec<String>);

impl DeviceScope {
    pub fn allows(&self, vehicle_id: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| vehicle_id.starts_with(p.as_str()))
    }
}

/// The SHA-256 of a token, as stored in configuration.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn hash_token_hex(token: &str) -> String {
    hex::encode(hash_token(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> TokenSet {
        TokenSet::new(&[TokenEntry {
            name: "back-office".into(),
            sha256: hash_token_hex("s3cret-token"),
            devices: Vec::new(),
        }])
        .expect("valid")
    }

    #[test]
    fn accepts_known_and_refuses_others() {
        let s = set();
        assert_eq!(s.verify(Some("Bearer s3cret-token")), Ok("back-office"));
        assert_eq!(s.verify(None), Err(AuthError::Missing));
        assert_eq!(s.verify(Some("Basic abc")), Err(AuthError::Malformed));
        assert_eq!(s.verify(Some("Bearer wrong")), Err(AuthError::Unknown));
    }

    #[test]
    fn a_scoped_token_sees_only_its_devices() {
        let s = TokenSet::new(&[TokenEntry {
            name: "tram-vendor".into(),
            sha256: hash_token_hex("vendor-token"),
            devices: vec!["tram-".into()],
        }])
        .expect("valid");
        let (name, scope) = s.verify_scoped(Some("Bearer vendor-token")).expect("known");
        assert_eq!(name, "tram-vendor");
        assert!(scope.allows("tram-101") && !scope.allows("bus-201"));
        assert!(DeviceScope::default().allows("bus-201"));
    }

    #[test]
    fn rejects_bad_hashes() {
        assert!(
            TokenSet::new(&[TokenEntry {
                name: "x".into(),
                sha256: "zz".into(),
                devices: Vec::new(),
            }])
            .is_err()
        );
    }
}
