#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Properties of page tokens: every issued token opens to exactly its position, and anything a
//! client changes in it, or sends in its place, is `InvalidNextTokenException`.

use proptest::prelude::*;
use serde_json::Value;
use tributary_runtime::{Error, error::reason, paging::PageTokens};

/// Keyset positions as the services issue them: sort values (text, integers, floats, null) then
/// the key.
fn position() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        any::<String>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(
            |float| serde_json::Number::from_f64(float).map_or(Value::Null, Value::Number)
        ),
        Just(Value::Null),
    ];
    prop::collection::vec(key, 0..6).prop_map(Value::Array)
}

fn is_invalid_token(result: Result<Option<Value>, Error>) -> bool {
    matches!(result, Err(Error::InvalidInput { reason, .. }) if reason == reason::INVALID_NEXT_TOKEN)
}

proptest! {
    #[test]
    fn issued_tokens_open_to_exactly_their_position(
        secret in prop::collection::vec(any::<u8>(), 0..80),
        scope in ".{0,40}",
        position in position(),
    ) {
        let tokens = PageTokens::new(&secret);
        let token = tokens.issue(&scope, &position);
        let opened: Option<Value> = tokens.open(&scope, &token).unwrap();
        prop_assert_eq!(opened, Some(position));
    }

    #[test]
    fn any_single_character_edit_is_rejected(
        position in position(),
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        edit in 0..3u8,
    ) {
        let tokens = PageTokens::new(b"deployment secret");
        let token = tokens.issue("GetFindings", &position);
        let mut characters: Vec<char> = token.chars().collect();
        match edit {
            0 => {
                let at = at.index(characters.len());
                prop_assume!(characters[at] != replacement);
                characters[at] = replacement;
            }
            1 => characters.insert(at.index(characters.len() + 1), replacement),
            _ => {
                characters.remove(at.index(characters.len()));
            }
        }
        let edited: String = characters.into_iter().collect();
        prop_assert!(is_invalid_token(tokens.open("GetFindings", &edited)), "{edited}");
    }

    #[test]
    fn tokens_stay_in_their_scope_and_deployment(
        position in position(),
        scope in ".{0,20}",
        other in ".{0,20}",
    ) {
        prop_assume!(scope != other);
        let tokens = PageTokens::new(b"deployment secret");
        let token = tokens.issue(&scope, &position);
        prop_assert!(is_invalid_token(tokens.open(&other, &token)));
        prop_assert!(is_invalid_token(PageTokens::new(b"another deployment").open(&scope, &token)));
    }

    #[test]
    fn strings_the_server_did_not_issue_are_rejected(sent in ".{1,200}") {
        let tokens = PageTokens::new(b"deployment secret");
        prop_assert!(is_invalid_token(tokens.open("GetFindings", &sent)));
    }
}
