use super::named;
use crate::clock::UnixTime;

named! {
    /// A JWS algorithm ID tokens are signed with (RFC 7518 §3.1; EdDSA with Ed25519, RFC 8037).
    /// Each has keys of its own, rotated on their own.
    #[derive(Default, utoipa::ToSchema)]
    pub enum SigningAlg ("signing algorithm") {
        /// RSASSA-PKCS1-v1_5 with SHA-256, RSA-2048: the default, the algorithm OpenID Connect
        /// Core §15.1 requires of every provider and assumes for a client that names none
        /// (`id_token_signed_response_alg`).
        #[default]
        #[schema(rename = "RS256")]
        Rs256 = "RS256",
        /// ECDSA on P-256 with SHA-256.
        #[schema(rename = "ES256")]
        Es256 = "ES256",
        /// EdDSA on Ed25519.
        #[schema(rename = "EdDSA")]
        EdDsa = "EdDSA",
    }
}

/// A key that signs ID tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    /// When it was published.
    pub created_at: UnixTime,
    /// When it starts signing: after relying parties' cached copies of the key set have
    /// expired (see `keyring::ACTIVATION_DELAY`), or at once for the first key.
    pub signs_from: UnixTime,
    /// When a newer key takes over: it signs nothing from then on.
    pub retired_at: Option<UnixTime>,
    /// When it leaves the JWKS (every token it signed has expired by then).
    pub publish_until: Option<UnixTime>,
}

/// What a new signing key does to the keys before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirement {
    /// They sign until the new key starts signing, and stay published until `published_until`
    /// (when every token they signed has expired).
    Gradual { published_until: UnixTime },
    /// They stop signing and leave the key set at once, because they may be compromised:
    /// every token they signed stops verifying.
    Immediate,
}
