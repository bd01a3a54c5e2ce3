//! Page sizes and opaque, tamper-evident page tokens.
//!
//! A token is `base64url(version || position || tag)`, where `position` is the JSON of the keyset
//! position after the last returned row and `tag` is an HMAC-SHA256 over the call's scope (the call
//! name and its filters) and the position. A token edited by a client, issued by another
//! deployment, or replayed against another call or other filters fails the tag check.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Serialize, de::DeserializeOwned};
use sha2::Sha256;

use crate::error::{Error, Violations, reason};

const TOKEN_VERSION: u8 = 1;
const TAG_LENGTH: usize = 16;

/// Issues and opens page tokens with one deployment-wide secret.
#[derive(Clone)]
pub struct PageTokens {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PageTokens(..)")
    }
}

impl PageTokens {
    /// Creates the signer from a secret of any length.
    pub fn new(secret: &[u8]) -> Self {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .expect("HMAC accepts keys of any length");
        Self { mac }
    }

    /// Encodes the keyset position after the last row of a page.
    pub fn issue<P: Serialize>(&self, scope: &str, position: &P) -> String {
        let payload = serde_json::to_vec(position).expect("keyset positions serialize to JSON");
        let mut token = Vec::with_capacity(1 + payload.len() + TAG_LENGTH);
        token.push(TOKEN_VERSION);
        token.extend_from_slice(&payload);
        let tag = self.tag(scope, &token);
        token.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// Decodes a token from a request: `None` for the first page (empty token), the position for
    /// a token this deployment issued for `scope`, and `InvalidNextTokenException` otherwise.
    pub fn open<P: DeserializeOwned>(&self, scope: &str, token: &str) -> Result<Option<P>, Error> {
        if token.is_empty() {
            return Ok(None);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid_token())?;
        if bytes.len() < 1 + TAG_LENGTH || bytes[0] != TOKEN_VERSION {
            return Err(invalid_token());
        }
        let (signed, tag) = bytes.split_at(bytes.len() - TAG_LENGTH);
        let mut mac = self.mac.clone();
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(signed);
        mac.verify_truncated_left(tag)
            .map_err(|_| invalid_token())?;
        serde_json::from_slice(&signed[1..])
            .map(Some)
            .map_err(|_| invalid_token())
    }

    fn tag(&self, scope: &str, signed: &[u8]) -> [u8; TAG_LENGTH] {
        let mut mac = self.mac.clone();
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(signed);
        let digest = mac.finalize().into_bytes();
        let mut tag = [0; TAG_LENGTH];
        tag.copy_from_slice(&digest[..TAG_LENGTH]);
        tag
    }
}

fn invalid_token() -> Error {
    let mut violations = Violations::new();
    violations.add(
        "page_token",
        "is not a token this server issued for this call and these filters; pass the \
         next_page_token of the previous page unchanged, or an empty token to start over",
    );
    match violations.finish_with(reason::INVALID_NEXT_TOKEN) {
        Err(error) => error,
        Ok(()) => unreachable!("a violation was just recorded"),
    }
}

/// Which way a keyset column is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending: later rows have greater values.
    Ascending,
    /// Descending: later rows have smaller values.
    Descending,
}

/// The keyset condition "strictly after `position`" for rows ordered by the given columns, most
/// significant first: `(c1 beyond v1) OR (c1 = v1 AND ((c2 beyond v2) OR ...))`. Written out
/// rather than as a row-value comparison so mixed directions work and both SQLite and PostgreSQL
/// use the ordering index.
pub fn keyset_after<C>(position: Vec<(C, sea_orm::Value, Direction)>) -> sea_orm::Condition
where
    C: sea_orm::ColumnTrait,
{
    let mut condition: Option<sea_orm::Condition> = None;
    for (column, value, direction) in position.into_iter().rev() {
        let beyond = match direction {
            Direction::Ascending => column.gt(value.clone()),
            Direction::Descending => column.lt(value.clone()),
        };
        condition = Some(match condition {
            None => sea_orm::Condition::all().add(beyond),
            Some(rest) => sea_orm::Condition::any()
                .add(beyond)
                .add(sea_orm::Condition::all().add(column.eq(value)).add(rest)),
        });
    }
    condition.unwrap_or_else(sea_orm::Condition::all)
}

/// Resolves a requested page size: 0 means `default`, above `max` (or negative) is
/// `InvalidLimitException`.
pub fn page_size(requested: i32, default: u32, max: u32) -> Result<u32, Error> {
    match u32::try_from(requested) {
        Ok(0) => Ok(default),
        Ok(size) if size <= max => Ok(size),
        _ => {
            let mut violations = Violations::new();
            violations.add(
                "page_size",
                format!("must be between 0 (default {default}) and {max}, got {requested}"),
            );
            violations
                .finish_with(reason::INVALID_LIMIT)
                .map(|()| default)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reason_of(error: Error) -> &'static str {
        match error {
            Error::InvalidInput { reason, .. } => reason,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn empty_token_is_the_first_page() {
        let tokens = PageTokens::new(b"secret");
        assert_eq!(tokens.open::<String>("ListRegions", "").unwrap(), None);
    }

    #[test]
    fn tokens_round_trip_within_their_scope() {
        let tokens = PageTokens::new(b"secret");
        let token = tokens.issue("ListApiKeys:false", &("key-1", 42));
        let position: Option<(String, i64)> = tokens.open("ListApiKeys:false", &token).unwrap();
        assert_eq!(position, Some(("key-1".to_string(), 42)));
    }

    #[test]
    fn tokens_do_not_cross_scopes_or_secrets() {
        let tokens = PageTokens::new(b"secret");
        let token = tokens.issue("ListApiKeys:false", &"key-1");
        let other_scope = tokens
            .open::<String>("ListApiKeys:true", &token)
            .unwrap_err();
        assert_eq!(reason_of(other_scope), reason::INVALID_NEXT_TOKEN);
        let other_secret = PageTokens::new(b"other")
            .open::<String>("ListApiKeys:false", &token)
            .unwrap_err();
        assert_eq!(reason_of(other_secret), reason::INVALID_NEXT_TOKEN);
    }

    #[test]
    fn garbage_is_an_invalid_token() {
        let tokens = PageTokens::new(b"secret");
        for garbage in ["x", "not base64!", "AAAA", "AQ"] {
            let error = tokens.open::<String>("ListRegions", garbage).unwrap_err();
            assert_eq!(reason_of(error), reason::INVALID_NEXT_TOKEN);
        }
    }

    #[test]
    fn page_size_defaults_and_limits() {
        assert_eq!(page_size(0, 50, 100).unwrap(), 50);
        assert_eq!(page_size(7, 50, 100).unwrap(), 7);
        assert_eq!(page_size(100, 50, 100).unwrap(), 100);
        assert_eq!(
            reason_of(page_size(101, 50, 100).unwrap_err()),
            reason::INVALID_LIMIT
        );
        assert_eq!(
            reason_of(page_size(-1, 50, 100).unwrap_err()),
            reason::INVALID_LIMIT
        );
    }

    proptest! {
        #[test]
        fn any_single_byte_change_is_detected(position in ".{0,40}", index in any::<prop::sample::Index>(), flip in 1u8..=255) {
            let tokens = PageTokens::new(b"secret");
            let token = tokens.issue("scope", &position);
            let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
            let at = index.index(bytes.len());
            bytes[at] ^= flip;
            let tampered = URL_SAFE_NO_PAD.encode(bytes);
            prop_assert!(tokens.open::<String>("scope", &tampered).is_err());
        }
    }

    #[test]
    fn float_positions_come_back_to_the_bit() {
        // Found by the page_token fuzz target: JSON's default float parsing came back one ULP
        // off for these, so a keyset page boundary on a float sort key moved.
        let tokens = PageTokens::new(b"secret");
        for float in [-2.914_503_412_229_772_3e303, 0.1 + 0.2, 5e-324, f64::MAX] {
            let token = tokens.issue("scope", &vec![serde_json::json!(float)]);
            let opened: Vec<f64> = tokens.open("scope", &token).unwrap().unwrap();
            assert_eq!(opened[0].to_bits(), float.to_bits(), "{float:e}");
        }
    }
}
